"""Textures: full-frame close-up photos of patterned surfaces, the mini world's DTD.

Every picture is a surface filling the whole frame, drawn procedurally: one of eight patterns
(stripes, a checkerboard, dots, zigzags, a grid of lines, waves, marble veins, a honeycomb) in two
tones of one colour family. What varies besides the two attributes: the pattern's scale (a period of
about 5-16 pixels), orientation and phase; its irregularity (wobbly stripes, jittered and unequal
dots, uneven line widths); the two shades (light or dark, more or less saturated, sometimes washed
towards cream); and a photographic look on top: a slight perspective tilt and a smooth warp, a
lighting gradient, vignetting, relief shading, fabric weave and grain noise, and a slight blur.
The pattern and the colour are drawn independently of each other and of every nuisance, so two
pictures with the same seed that differ in one attribute share scale, pose, lighting and noise.

Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import colorsys
from typing import Mapping, Sequence

import numpy as np
from PIL import Image

from vlmsel.mini.domains.base import (
    CARRIERS,
    IMAGE_SIZE,
    Domain,
    article,
    blur,
    check_split,
    to_uint8,
    vocabulary,
    with_carrier,
)

TEXTURES = ("striped", "checkered", "dotted", "zigzag", "grid", "wavy", "marbled", "honeycomb")
COLOURS = ("red", "blue", "green", "brown", "grey", "yellow")

# colour family -> (hue range, saturation range, value range of the light tone), HSV in [0, 1]
_FAMILIES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "red": ((-0.035, 0.025), (0.5, 0.92), (0.55, 0.95)),
    "blue": ((0.54, 0.68), (0.35, 0.88), (0.5, 0.95)),
    "green": ((0.22, 0.42), (0.35, 0.85), (0.4, 0.88)),
    "brown": ((0.045, 0.10), (0.4, 0.75), (0.38, 0.7)),
    "grey": ((0.0, 1.0), (0.0, 0.12), (0.45, 0.95)),
    "yellow": ((0.115, 0.165), (0.5, 0.95), (0.75, 1.0)),
}

# pattern period multiplier per texture (so that the deciding details span several pixels)
_SCALE = {
    "striped": 1.1,
    "checkered": 1.7,
    "dotted": 1.25,
    "zigzag": 1.15,
    "grid": 1.35,
    "wavy": 1.15,
    "marbled": 2.2,
    "honeycomb": 1.3,
}

_NOUNS = ("texture", "pattern", "surface")
_CARRIERS = CARRIERS + ("a close up of", "a close up photo of")


def _smooth_noise(values: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """A small random grid upsampled bicubically to (size, size): smooth noise of unit-ish scale."""
    img = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), mode="F")
    return np.asarray(img.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)


def _step(d: np.ndarray, e: float) -> np.ndarray:
    """Anti-aliased step: 1 where ``d`` > 0, 0 where ``d`` < 0, a ramp of width ``e`` between."""
    return np.clip(0.5 + d / e, 0.0, 1.0)


def _bands(s: np.ndarray, duty: float, e: float) -> np.ndarray:
    """1 on the bands ``|frac(s) - 0.5| < duty / 2`` (one band per unit of ``s``)."""
    return _step(duty / 2 - np.abs(s - np.floor(s) - 0.5), e)


def _tones(colour: str, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The light and the dark tone of a colour family from 9 uniforms ``c``."""
    (h0, h1), (s0, s1), (v0, v1) = _FAMILIES[colour]
    out = []
    for k, light in ((0, True), (3, False)):
        h = (h0 + c[k] * (h1 - h0)) % 1.0
        s = s0 + c[k + 1] * (s1 - s0)
        v = v0 + c[k + 2] * (v1 - v0)
        if not light:  # darker and a bit more saturated
            v *= 0.3 + 0.25 * c[6]
            s = min(1.0, s * (1.0 + 0.2 * c[7]))
        out.append(np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32))
    light_rgb, dark = out
    wash = 0.45 * max(0.0, c[8] - 0.6) / 0.4  # sometimes the light tone fades towards cream
    light = light_rgb * (1 - wash) + np.array([0.95, 0.92, 0.85], dtype=np.float32) * wash
    return light, dark


def _pattern(
    texture: str,
    u: np.ndarray,
    v: np.ndarray,
    e: float,
    q: np.ndarray,
    table: np.ndarray,
    marble: np.ndarray,
    jit: np.ndarray,
) -> np.ndarray:
    """The pattern's mask in [0, 1] (1 = the second tone) at pattern coordinates ``(u, v)``.

    ``q`` are 8 uniforms shaping the pattern, ``table`` random per-cell values (4, 8, 8), ``marble``
    a turbulence field and ``jit`` a smooth irregularity field, both in pixels of the picture.
    """
    tau = 2 * np.pi
    if texture == "striped":
        s = u + (0.02 + 0.05 * q[0]) * np.sin(tau * (v * (0.06 + 0.12 * q[1]) + q[2])) + 0.05 * jit
        m = _bands(s, 0.35 + 0.3 * q[3], e)
        if q[4] > 0.6:  # a thin pinstripe in the gaps
            m = np.maximum(m, 0.8 * _bands(s + 0.5, 0.08 + 0.05 * q[5], e))
        return m
    if texture == "checkered":
        u = u + 0.04 * jit
        a, b = _bands(u, 0.5, e), _bands(v, 0.5, e)
        return a * (1 - b) + b * (1 - a)
    if texture == "dotted":
        if q[0] > 0.5:  # hexagonal packing: every other row shifted by half a period
            u = u + 0.5 * (np.floor(v) % 2)
        iu, iv = np.floor(u).astype(np.int64) % 8, np.floor(v).astype(np.int64) % 8
        du = u - np.floor(u) - 0.5 - 0.24 * (table[0, iu, iv] - 0.5)
        dv = v - np.floor(v) - 0.5 - 0.24 * (table[1, iu, iv] - 0.5)
        r = (0.2 + 0.14 * q[1]) * (1 + 0.35 * (table[2, iu, iv] - 0.5))
        return _step(r - np.sqrt(du * du + dv * dv), e)
    if texture == "zigzag":
        f = 0.32 + 0.25 * q[0]
        t = v * f + q[1]
        tri = 2 * np.abs(t - np.floor(t) - 0.5)  # triangle wave in [0, 1], sharp corners
        s = u + (0.75 + 0.6 * q[2]) * tri + 0.05 * jit
        return _bands(s, 0.4 + 0.2 * q[3], e * (1 + 1.5 * f))
    if texture == "grid":
        w = 0.07 + 0.09 * q[0]
        lu = _bands(u + 0.5, 2 * w, e)
        lv = _bands(v + 0.5, 2 * w * (0.7 + 0.6 * q[1]), e)
        return np.maximum(lu, lv)
    if texture == "wavy":
        f = 0.16 + 0.16 * q[0]
        s = u + (0.28 + 0.3 * q[1]) * np.sin(tau * (v * f + q[2])) + 0.05 * jit
        return _bands(s, 0.4 + 0.25 * q[3], e * (1 + 1.5 * f))
    if texture == "marbled":
        s = 0.5 * u + (0.8 + 0.9 * q[0]) * marble
        veins = (1 - np.abs(np.sin(np.pi * s))) ** (1.5 + 2.5 * q[1])
        fine = (1 - np.abs(np.sin(np.pi * (2.3 * s + 0.7 * jit)))) ** 10
        cloud = np.clip(0.5 + 0.45 * jit, 0, 1)
        return np.clip(0.75 * veins + 0.3 * q[3] * fine + 0.45 * cloud * (0.3 + q[2]), 0, 1)
    if texture == "honeycomb":
        s3 = np.sqrt(3.0)
        ax, ay = u - np.floor(u) - 0.5, v - s3 * np.floor(v / s3) - s3 / 2
        bu, bv = u - 0.5, v - s3 / 2
        bx, by = bu - np.floor(bu) - 0.5, bv - s3 * np.floor(bv / s3) - s3 / 2
        near_a = ax * ax + ay * ay < bx * bx + by * by
        gx, gy = np.abs(np.where(near_a, ax, bx)), np.abs(np.where(near_a, ay, by))
        hexd = np.maximum(0.5 * gx + (s3 / 2) * gy, gx)  # 0.5 on the cell walls
        w = 0.05 + 0.06 * q[0]
        return _step(hexd - (0.5 - w), e)
    raise ValueError(f"unknown texture {texture!r}")


class Textures(Domain):
    """Close-up photos of patterned surfaces (the mini world's DTD): a pattern in a colour."""

    name = "textures"
    description = (
        "Full-frame close-up photos of surface textures (stripes, checks, dots, zigzags, grids, "
        "waves, marble, honeycomb) in two shades of one colour, with random scale, orientation, "
        "irregularity, perspective, lighting, weave and grain."
    )
    attributes = {"texture": TEXTURES, "colour": COLOURS}
    words = vocabulary(CARRIERS, _CARRIERS, _NOUNS, TEXTURES, COLOURS, "a an in with of", sort=True)

    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        check_split(split)
        texture, colour = attrs["texture"], attrs["colour"]
        if texture not in TEXTURES or colour not in COLOURS:
            raise ValueError(f"textures: unknown attribute values {dict(attrs)}")
        n = IMAGE_SIZE
        rng = np.random.default_rng(seed)
        # --- every nuisance, drawn in a fixed order whatever the attributes
        period = float(np.exp(rng.uniform(np.log(5.5), np.log(12.5))))
        theta = rng.uniform(0, np.pi)
        phase = rng.uniform(0, 8, size=2)
        tilt, tilt_dir = rng.uniform(-0.35, 0.35), rng.uniform(0, 2 * np.pi)
        warp_amp = rng.uniform(0.0, 1.6)
        warp = rng.standard_normal((2, 4, 4))
        q = rng.random(8)
        table = rng.random((4, 8, 8))
        turb = [rng.standard_normal((k, k)) for k in (3, 5, 9)]
        jit_grid = rng.standard_normal((6, 6))
        c = rng.random(9)
        swap = rng.random() < 0.5
        light = rng.uniform(0.0, 0.35), rng.uniform(0, 2 * np.pi)
        vignette = rng.uniform(0.0, 0.45)
        exposure = rng.uniform(0.7, 1.15)
        wb = 1 + rng.uniform(-0.16, 0.16, size=3)  # coloured light
        relief = rng.uniform(0.0, 0.25), int(rng.integers(4))
        weave = (rng.random() < 0.35) * rng.uniform(0.02, 0.06), rng.uniform(2.2, 3.4)
        grain = rng.uniform(0.008, 0.035)
        noise = rng.standard_normal((n, n, 2)).astype(np.float32)
        sigma = rng.uniform(0.3, 0.85)

        # --- pattern coordinates: perspective tilt, smooth warp, rotation, scale, phase
        cc = np.arange(n, dtype=np.float32) - (n - 1) / 2
        x, y = np.meshgrid(cc, cc)
        w = 1 + tilt * (x * np.cos(tilt_dir) + y * np.sin(tilt_dir)) / (n / 2)
        x, y = x / w, y / w
        x = x + warp_amp * _smooth_noise(warp[0])
        y = y + warp_amp * _smooth_noise(warp[1])
        p = period * _SCALE[texture]
        u = (x * np.cos(theta) + y * np.sin(theta)) / p + phase[0]
        v = (-x * np.sin(theta) + y * np.cos(theta)) / p + phase[1]
        marble = _smooth_noise(turb[0]) + 0.5 * _smooth_noise(turb[1]) + 0.25 * _smooth_noise(turb[2])
        jit = _smooth_noise(jit_grid)
        m = _pattern(texture, u, v, 1.1 / p, q, table, marble, jit)

        # --- two tones, relief shading, weave, lighting, grain, blur
        a, b = _tones(colour, c)
        if swap:
            a, b = b, a
        img = a[None, None, :] * (1 - m[..., None]) + b[None, None, :] * m[..., None]
        shift = ((0, 1), (1, 0), (0, -1), (-1, 0))[relief[1]]
        img = img * (1 + relief[0] * (m - np.roll(m, shift, axis=(0, 1))))[..., None]
        if weave[0] > 0:
            g = np.arange(n, dtype=np.float32) * (2 * np.pi / weave[1])
            img = img * (1 + weave[0] * np.sin(g)[None, :, None] * np.sin(g)[:, None, None])
        xn, yn = x / (n / 2), y / (n / 2)
        gain = exposure * (1 + light[0] * (xn * np.cos(light[1]) + yn * np.sin(light[1])))
        gain = gain * (1 - vignette * 0.5 * (xn * xn + yn * yn))
        img = img * gain[..., None] * wb
        img = blur(img, sigma)
        img = img + grain * noise[..., :1] + 0.4 * grain * noise[..., 1:]
        return to_uint8(img)

    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        tex = attrs["texture"] if "texture" in named else None
        col = attrs["colour"] if "colour" in named else None
        noun = _NOUNS[int(rng.integers(len(_NOUNS)))]
        form = int(rng.integers(2))
        if tex and col:
            text = f"{tex} {noun} in {col}" if form == 0 else f"{col} {tex} {noun}"
        elif tex:
            text = f"{tex} {noun}" if form == 0 or noun == "pattern" else f"{noun} with {article(tex)} {tex} pattern"
        elif col:
            text = f"{col} {noun}" if form == 0 else f"{noun} in {col}"
        else:
            text = noun
        return with_carrier(f"{article(text)} {text}", rng, _CARRIERS)
