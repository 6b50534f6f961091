"""Traffic signs: GTSRB-like photographs of European road signs, cropped around one sign.

Imitates the German Traffic Sign Recognition Benchmark: a small, often blurry crop of a real
street photograph with one sign filling most of it. Ten kinds of sign (``sign``): a red octagon
with a white STOP, an inverted yield triangle, the red no-entry disc with its white bar, a speed
limit (white disc, red ring, a black number: ``limit`` in words, 20 to 100), a warning triangle
with a black "!", four blue mandatory discs with white arrows (turn left and turn right as bent
arrows, ahead only, keep right as an arrow pointing down to the right) and the roundabout disc with
three curved arrows. What varies, drawn from the seed alone so that two pictures differing in one
attribute share everything else: the sign's size (40-85 % of the frame), position, rotation
(+-10 degrees) and perspective squash; faded or dirty paint and a shadow across the sign; the
background (sky with clouds, foliage, a building wall, a road with its verge, an urban blur);
a pole, an extra plate or a second sign partly in frame; lighting from dark to over-exposed,
colour cast and haze; motion blur, defocus, low resolution and sensor noise.

Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vlmsel.mini.domains.base import (
    CARRIERS,
    IMAGE_SIZE,
    Domain,
    article,
    check_split,
    to_uint8,
    vocabulary,
    with_carrier,
)

SIGNS = (
    "stop",
    "yield",
    "no entry",
    "speed limit",
    "warning",
    "turn left",
    "turn right",
    "ahead only",
    "keep right",
    "roundabout",
)
LIMITS = ("twenty", "thirty", "fifty", "sixty", "eighty", "hundred")
_NUMBERS = dict(zip(LIMITS, ("20", "30", "50", "60", "80", "100")))

_SS = 2  # supersampling factor of the drawn layers
_BIG = IMAGE_SIZE * _SS  # side of the supersampled canvas
_T = 192  # side of a sign template
_R = 92.0  # radius of the sign in its template

_RED = (200, 22, 30)
_BLUE = (18, 70, 170)
_WHITE = (244, 244, 240)
_BLACK = (18, 18, 20)


# ----------------------------------------------------------------------------------------------
# sign templates (canonical, upright, cached)


@lru_cache(maxsize=None)
def _font() -> ImageFont.FreeTypeFont:
    import matplotlib

    path = Path(matplotlib.__file__).parent / "mpl-data/fonts/ttf/DejaVuSans-Bold.ttf"
    return ImageFont.truetype(str(path), 120)


def _text_mask(text: str, width: float, height: float) -> Image.Image:
    """``text`` in DejaVuSans-Bold, cropped to its ink and stretched to ``width`` x ``height`` (an L mask)."""
    font = _font()
    l, t, r, b = font.getbbox(text)
    im = Image.new("L", (int(r - l + 4), int(b - t + 4)), 0)
    ImageDraw.Draw(im).text((2 - l, 2 - t), text, fill=255, font=font)
    im = im.crop(im.getbbox())
    return im.resize((max(1, int(round(width))), max(1, int(round(height)))), Image.Resampling.LANCZOS)


def _paste_centred(img: Image.Image, mask: Image.Image, colour: tuple[int, int, int], cx: float, cy: float) -> None:
    img.paste(colour, (int(round(cx - mask.width / 2)), int(round(cy - mask.height / 2))), mask)


def _polygon(points: np.ndarray) -> list[tuple[float, float]]:
    return [tuple(p) for p in points.tolist()]


def _regular(n: int, radius: float, phase: float, c: float = _T / 2) -> np.ndarray:
    a = np.deg2rad(phase) + 2 * np.pi * np.arange(n) / n
    return np.stack([c + radius * np.cos(a), c + radius * np.sin(a)], axis=1)


def _triangle(draw: ImageDraw.ImageDraw, radius: float, down: bool, fill, corner: float) -> None:
    """An equilateral triangle with rounded corners, ``radius`` = distance centre-vertex (~ visual)."""
    c = _T / 2
    phase = 90.0 if down else -90.0
    inner = _regular(3, radius - 2 * corner, phase, c)
    inner[:, 1] += (-1 if down else 1) * radius * 0.12  # centre the triangle's box in the template
    pts = _polygon(inner)
    draw.polygon(pts, fill=fill)
    draw.line(pts + [pts[0]], fill=fill, width=int(round(2 * corner * 1.9)), joint="curve")
    for p in pts:
        draw.ellipse([p[0] - corner * 1.9, p[1] - corner * 1.9, p[0] + corner * 1.9, p[1] + corner * 1.9], fill=fill)


def _disc(draw: ImageDraw.ImageDraw, radius: float, fill) -> None:
    c = _T / 2
    draw.ellipse([c - radius, c - radius, c + radius, c + radius], fill=fill)


def _arrow(draw: ImageDraw.ImageDraw, angle: float, fill, length: float = 1.25, shaft: float = 0.22) -> None:
    """A straight arrow through the centre pointing at ``angle`` degrees clockwise from up."""
    c, r = _T / 2, _R
    head_len, head_w = 0.48, 0.62
    y0, y1 = length / 2, -length / 2
    pts = np.array(
        [
            [-shaft / 2, y0],
            [-shaft / 2, y1 + head_len],
            [-head_w / 2, y1 + head_len],
            [0.0, y1],
            [head_w / 2, y1 + head_len],
            [shaft / 2, y1 + head_len],
            [shaft / 2, y0],
        ]
    )
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    draw.polygon(_polygon(c + r * pts @ rot.T), fill=fill)


def _bent_arrow(draw: ImageDraw.ImageDraw, side: int, fill) -> None:
    """An arrow going up from the bottom and turning to the left (``side=-1``) or right (``+1``)."""
    c, r = _T / 2, _R
    w = 0.22 * r
    x0, y_bot, y_turn = c - side * 0.2 * r, c + 0.62 * r, c - 0.12 * r
    x_end = c + side * 0.28 * r
    draw.line([(x0, y_bot), (x0, y_turn), (x_end, y_turn)], fill=fill, width=int(round(w)), joint="curve")
    draw.ellipse([x0 - w / 2, y_turn - w / 2, x0 + w / 2, y_turn + w / 2], fill=fill)
    hl, hw = 0.42 * r, 0.3 * r
    draw.polygon([(x_end, y_turn - hw), (x_end + side * hl, y_turn), (x_end, y_turn + hw)], fill=fill)


def _roundabout(draw: ImageDraw.ImageDraw, fill) -> None:
    c, r = _T / 2, _R
    rr, w = 0.5 * r, 0.17 * r
    box = [c - rr, c - rr, c + rr, c + rr]
    for k in range(3):
        start = -90.0 + 120.0 * k + 28.0  # PIL angles: degrees clockwise from 3 o'clock
        draw.arc(box, start, start + 84.0, fill=fill, width=int(round(w)))
        # arrowhead at the start, pointing counter-clockwise (decreasing PIL angle)
        t = np.deg2rad(start)
        p = np.array([c + rr * np.cos(t), c + rr * np.sin(t)]) + 0.0
        tangent = np.array([np.sin(t), -np.cos(t)])
        radial = np.array([np.cos(t), np.sin(t)])
        p = p - radial * w * 0.1
        tip = p + tangent * 0.3 * r
        draw.polygon(_polygon(np.array([p + radial * 0.22 * r, tip, p - radial * 0.22 * r])), fill=fill)


@lru_cache(maxsize=None)
def _template(sign: str, limit: str = "") -> Image.Image:
    """The canonical sign, ``_T`` x ``_T``, centred, radius ``_R``, premultiplied RGBa (for warping)."""
    img = Image.new("RGBA", (_T, _T), (*_WHITE, 0))
    draw = ImageDraw.Draw(img)
    c, r = _T / 2, _R
    if sign == "stop":
        draw.polygon(_polygon(_regular(8, r, 22.5)), fill=_WHITE)
        draw.polygon(_polygon(_regular(8, r * 0.92, 22.5)), fill=_RED)
        _paste_centred(img, _text_mask("STOP", 1.42 * r, 0.5 * r), _WHITE, c, c)
    elif sign in ("yield", "warning"):
        down = sign == "yield"
        _triangle(draw, r * 1.08, down, _WHITE, 5.0)
        _triangle(draw, r * 1.0, down, _RED, 7.0)
        _triangle(draw, r * 0.62, down, _WHITE, 2.0)
        if sign == "warning":
            cy = c + 0.14 * r
            bar = np.array([[-0.085, -0.4], [0.085, -0.4], [0.05, 0.12], [-0.05, 0.12]]) * r + [c, cy]
            draw.polygon(_polygon(bar), fill=_BLACK)
            d = 0.075 * r
            draw.ellipse([c - d, cy + 0.22 * r - d, c + d, cy + 0.22 * r + d], fill=_BLACK)
    elif sign == "no entry":
        _disc(draw, r, _WHITE)
        _disc(draw, r * 0.95, _RED)
        draw.rectangle([c - 0.66 * r, c - 0.15 * r, c + 0.66 * r, c + 0.15 * r], fill=_WHITE)
    elif sign == "speed limit":
        _disc(draw, r, _WHITE)
        _disc(draw, r * 0.97, _RED)
        _disc(draw, r * 0.76, _WHITE)
        text = _NUMBERS[limit]
        height = 0.68 * r
        width = min(0.42 * r * len(text), 1.18 * r)
        _paste_centred(img, _text_mask(text, width, height), _BLACK, c, c)
    else:  # blue mandatory signs
        _disc(draw, r, _WHITE)
        _disc(draw, r * 0.95, _BLUE)
        if sign == "turn left":
            _bent_arrow(draw, -1, _WHITE)
        elif sign == "turn right":
            _bent_arrow(draw, +1, _WHITE)
        elif sign == "ahead only":
            _arrow(draw, 0.0, _WHITE)
        elif sign == "keep right":
            _arrow(draw, 135.0, _WHITE, length=1.2)
        elif sign == "roundabout":
            _roundabout(draw, _WHITE)
        else:
            raise ValueError(f"domain 'signs': no sign {sign!r}; signs: {list(SIGNS)}")
    return img.convert("RGBa")


@lru_cache(maxsize=None)
def _plate() -> Image.Image:
    """A white supplementary plate with a black edge, premultiplied like the templates."""
    plate = Image.new("RGBA", (_T, _T), (*_WHITE, 0))
    d = ImageDraw.Draw(plate)
    d.rectangle([_T * 0.04, _T * 0.32, _T * 0.96, _T * 0.68], fill=_BLACK)
    d.rectangle([_T * 0.06, _T * 0.34, _T * 0.94, _T * 0.66], fill=_WHITE)
    return plate.convert("RGBa")


def _premultiplied(layer: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """A supersampled RGBa layer at 64 px: premultiplied colour (64, 64, 3) and coverage (64, 64, 1)."""
    small = np.asarray(layer.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX), dtype=np.float32) * np.float32(
        1 / 255
    )
    return small[..., :3], small[..., 3:]


# ----------------------------------------------------------------------------------------------
# geometry


def _homography(src: np.ndarray, dst: np.ndarray) -> tuple[float, ...]:
    """PIL PERSPECTIVE coefficients mapping output points ``dst`` to input points ``src`` (4 x 2 each)."""
    a = np.zeros((8, 8))
    b = np.zeros(8)
    for i, ((x, y), (u, v)) in enumerate(zip(dst, src)):
        a[2 * i] = [x, y, 1, 0, 0, 0, -u * x, -u * y]
        a[2 * i + 1] = [0, 0, 0, x, y, 1, -v * x, -v * y]
        b[2 * i], b[2 * i + 1] = u, v
    return tuple(np.linalg.solve(a, b).tolist())


@lru_cache(maxsize=None)
def _sprite(kind: str, limit: str = "", half: bool = False) -> Image.Image:
    """The template of a sign (or ``kind="plate"``), at full or half size (a small sign warped from
    the half-size one aliases less)."""
    template = _plate() if kind == "plate" else _template(kind, limit)
    return template.resize((_T // 2, _T // 2), Image.Resampling.BOX) if half else template


def _place(
    kind: str,
    limit: str,
    cx: float,
    cy: float,
    radius: float,
    angle: float,
    sx: float,
    sy: float,
    keystone: tuple[float, float] = (0.0, 0.0),
) -> Image.Image:
    """``template`` warped onto the supersampled canvas: centre, radius, rotation, squash, keystone."""
    half = radius < 0.45 * _R
    template, t = _sprite(kind, limit, half), (_T // 2 if half else _T)
    s = radius / _R * _T / t
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    src = np.array([[0, 0], [t, 0], [t, t], [0, t]], dtype=float)
    local = (src - t / 2) * s * np.array([sx, sy])
    kx, ky = keystone  # one side of the sign farther away than the other
    local[:, 1] *= 1 + kx * np.sign(local[:, 0])
    local[:, 0] *= 1 + ky * np.sign(local[:, 1])
    dst = local @ rot.T + [cx, cy]
    return template.transform(
        (_BIG, _BIG), Image.Transform.PERSPECTIVE, _homography(src, dst), Image.Resampling.BILINEAR
    )


# ----------------------------------------------------------------------------------------------
# backgrounds and smooth noise (64 x 64, float in [0, 1])


@lru_cache(maxsize=None)
def _upsampler(n: int, size: int = IMAGE_SIZE) -> np.ndarray:
    """(size, n) smooth interpolation weights from an n-point grid to ``size`` pixel centres."""
    u = np.clip((np.arange(size) + 0.5) / size * n - 0.5, 0, n - 1)
    i0 = np.minimum(np.floor(u).astype(int), n - 2) if n > 1 else np.zeros(size, int)
    f = u - i0
    f = f * f * (3 - 2 * f)
    m = np.zeros((size, n), np.float32)
    m[np.arange(size), i0] += 1 - f
    if n > 1:
        m[np.arange(size), i0 + 1] += f
    return m


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Smooth noise (64, 64), std ~ 1, interpolated from a random n x n grid."""
    u = _upsampler(n)
    return u @ rng.standard_normal((n, n)).astype(np.float32) @ u.T


_X, _Y = np.meshgrid((np.arange(IMAGE_SIZE) + 0.5) / IMAGE_SIZE, (np.arange(IMAGE_SIZE) + 0.5) / IMAGE_SIZE)
_X = _X.astype(np.float32)
_Y = _Y.astype(np.float32)


def _sky(rng: np.random.Generator) -> np.ndarray:
    """A blue or overcast sky, lighter towards the horizon, with clouds."""
    top = np.array([0.30, 0.50, 0.85]) + rng.normal(0, 0.06, 3)
    bottom = np.array([0.75, 0.83, 0.92]) + rng.normal(0, 0.04, 3)
    overcast = rng.random() < 0.35
    if overcast:
        grey = rng.uniform(0.55, 0.9)
        top = top * 0.25 + grey * 0.75
        bottom = bottom * 0.25 + grey * 0.8
    t = np.clip(_Y * rng.uniform(0.6, 1.4) + rng.uniform(-0.3, 0.2), 0, 1)[..., None]
    img = top * (1 - t) + bottom * t
    cloud = np.clip(_noise(rng, 5) * 0.6 + _noise(rng, 11) * 0.3 + rng.uniform(-0.8, 0.4), 0, 1)[..., None]
    return img * (1 - cloud) + cloud * rng.uniform(0.8, 1.0)


def _foliage(rng: np.random.Generator) -> np.ndarray:
    """Trees and hedges: blotches of greens at several scales, sky between the leaves."""
    base = np.array([0.16, 0.30, 0.10]) * rng.uniform(0.6, 1.4) + rng.normal(0, 0.03, 3)
    light = _noise(rng, 6) * 0.5 + _noise(rng, 14) * 0.35 + _noise(rng, 28) * 0.2
    hue = _noise(rng, 5)
    img = base * np.exp(0.45 * light)[..., None]
    img = img + (hue[..., None] * np.array([0.05, 0.03, -0.01]))
    gaps = np.clip((_noise(rng, 9) - rng.uniform(0.9, 2.2)) * 2.0, 0, 1)[..., None]
    return img * (1 - gaps) + gaps * np.array([0.72, 0.80, 0.9])


def _wall(rng: np.random.Generator) -> np.ndarray:
    """A brick, concrete or plaster wall, sometimes with a dark window or door."""
    palette = np.array([[0.55, 0.28, 0.2], [0.6, 0.6, 0.58], [0.78, 0.7, 0.55], [0.45, 0.45, 0.5], [0.7, 0.45, 0.35]])
    colour = palette[rng.integers(len(palette))] * rng.uniform(0.7, 1.2) + rng.normal(0, 0.03, 3)
    shade = 1 + 0.08 * _noise(rng, 8) + 0.06 * _noise(rng, 24)
    img = colour * shade[..., None]
    pitch = rng.uniform(3.0, 6.0)
    phase = rng.uniform(0, pitch)
    rows = (_Y * IMAGE_SIZE + phase) / pitch
    course = np.floor(rows)
    mortar_h = np.abs(rows - np.round(rows)) < 0.12
    cols = (_X * IMAGE_SIZE + (course % 2) * pitch) / (pitch * 2)
    mortar_v = np.abs(cols - np.round(cols)) < 0.06
    strength = rng.uniform(0.0, 0.25) if rng.random() < 0.6 else 0.0
    img = img * (1 - strength * (mortar_h | mortar_v))[..., None]
    if rng.random() < 0.5:  # a window or a door
        x0, y0 = rng.uniform(-0.2, 0.8, 2)
        w, h = rng.uniform(0.2, 0.5, 2)
        win = ((_X > x0) & (_X < x0 + w) & (_Y > y0) & (_Y < y0 + h)).astype(np.float32)[..., None]
        img = img * (1 - win) + win * (np.array([0.12, 0.14, 0.18]) * rng.uniform(0.5, 2.5))
    return img


def _road(rng: np.random.Generator) -> np.ndarray:
    """Asphalt with a lane marking and a green verge below a horizon of sky or trees."""
    horizon = rng.uniform(0.35, 0.7)
    upper = _sky(rng) if rng.random() < 0.5 else _foliage(rng)
    asphalt = rng.uniform(0.25, 0.5) + rng.normal(0, 0.02, 3)
    ground = asphalt * (1 + 0.1 * _noise(rng, 20) + 0.05 * rng.standard_normal((IMAGE_SIZE, IMAGE_SIZE)))[..., None]
    depth = np.clip((_Y - horizon) / (1 - horizon + 1e-3), 0, 1)
    lane = rng.uniform(0.2, 0.8)
    line_x = lane + depth * rng.uniform(-0.6, 0.6)  # a lane marking running towards the camera
    marking = (np.abs(_X - line_x) < 0.01 + 0.03 * depth) & (depth > 0)
    ground = np.where(marking[..., None], np.array([0.85, 0.85, 0.8]) * rng.uniform(0.7, 1.0), ground)
    verge = (_Y > horizon) & (_Y < horizon + rng.uniform(0.02, 0.12))
    ground = np.where(verge[..., None], np.array([0.25, 0.35, 0.15]) * rng.uniform(0.6, 1.3), ground)
    soft = np.clip((_Y - horizon) * IMAGE_SIZE / 1.5 + 0.5, 0, 1)[..., None]
    return upper * (1 - soft) + ground * soft


def _urban(rng: np.random.Generator) -> np.ndarray:
    """Blurred facades, shop fronts and trees side by side (vertical bands of muted colours)."""
    n = int(rng.integers(3, 7))
    edges = np.sort(rng.uniform(0, 1, n))
    grey = rng.uniform(0.25, 0.75, (n + 1, 1))
    tint = rng.normal(0, 0.07, (n + 1, 3))
    colours = np.clip(grey + tint, 0.05, 0.95)
    idx = np.searchsorted(edges, _X + 0.05 * _noise(rng, 3))
    img = colours[idx]
    return img * (1 + 0.1 * _noise(rng, 10))[..., None]


_BACKGROUNDS = (_sky, _foliage, _wall, _road, _urban)


def _motion_blur(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    steps = max(2, int(round(length)) + 1)
    dx, dy = np.cos(angle), np.sin(angle)
    pad = int(np.ceil(length / 2)) + 1
    p = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    out = np.zeros_like(img)
    for t in np.linspace(-length / 2, length / 2, steps):
        ox, oy = int(round(t * dx)), int(round(t * dy))
        out += p[pad + oy : pad + oy + IMAGE_SIZE, pad + ox : pad + ox + IMAGE_SIZE]
    return out / steps


def _gauss(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur by separable matrix products (fast at 64 px)."""
    if sigma <= 0.05:
        return img
    return _sep(_blur_matrix(round(float(sigma), 2)), img)


def _sep(m: np.ndarray, img: np.ndarray) -> np.ndarray:
    """``m`` applied along both image axes, channel by channel: out[y, x] = sum m[y, i] m[x, j] img[i, j].

    (Per-channel products stay below OpenBLAS's threading threshold: a multi-threaded product of
    this size is slow on a loaded machine.)"""
    img = np.asarray(img, dtype=np.float32)
    return np.stack([m @ img[:, :, c] @ m.T for c in range(img.shape[2])], axis=2)


@lru_cache(maxsize=256)
def _blur_matrix(sigma: float, size: int = IMAGE_SIZE) -> np.ndarray:
    i = np.arange(size)
    k = np.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)
    return (k / k.sum(axis=1, keepdims=True)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# one photograph


class _Photo:
    """One sign picture: its nuisances, drawn from the seed in a fixed order that does not depend on the
    attributes, and the steps that photograph a sign with them (:meth:`photograph`)."""

    def __init__(self, rng: np.random.Generator):
        self.bg_kind = int(rng.integers(len(_BACKGROUNDS)))
        self.bg_seed = int(rng.integers(2**31))
        fill = float(rng.uniform(0.40, 0.85))  # the sign's larger extent / the frame
        self.radius = fill * _BIG / 2
        margin = (1 - fill) / 2 * _BIG
        self.cx = _BIG / 2 + float(rng.uniform(-0.6, 0.6)) * margin + float(rng.normal(0, 1.0))
        self.cy = _BIG / 2 + float(rng.uniform(-0.6, 0.6)) * margin + float(rng.normal(0, 1.0))
        self.angle = float(rng.uniform(-10, 10))
        sx, sy = float(rng.uniform(0.72, 1.0)), float(rng.uniform(0.9, 1.0))
        if rng.random() < 0.25:
            sx, sy = sy, sx
        self.sx, self.sy = sx / max(sx, sy), sy / max(sx, sy)
        self.keystone = (float(rng.uniform(-0.07, 0.07)), float(rng.uniform(-0.07, 0.07)))
        self.extra = float(rng.random())  # < 0.4 a pole, < 0.55 a plate below, < 0.8 a second sign
        self.other = SIGNS[int(rng.integers(len(SIGNS)))]
        self.other_limit = LIMITS[int(rng.integers(len(LIMITS)))]
        self.other_dir = (
            float(rng.uniform(0, 2 * np.pi)) if rng.random() < 0.4 else float(rng.choice([-0.5, 0.5]) * np.pi)
        )
        self.other_scale = float(rng.uniform(0.7, 1.0))
        self.pole_grey = float(rng.uniform(0.3, 0.7))
        self.fade = float(rng.uniform(0.0, 0.45)) if rng.random() < 0.5 else 0.0
        self.paint_gain = rng.normal(1.0, 0.05, 3).astype(np.float32)
        self.dirt = float(rng.uniform(0.0, 0.25))
        self.dirt_grid = rng.standard_normal((6, 6)).astype(np.float32)
        self.shadow_dir = float(rng.uniform(0, 2 * np.pi))
        self.shadow = float(rng.uniform(0.0, 0.5)) if rng.random() < 0.5 else 0.0
        self.bg_sigma = float(rng.uniform(0.0, 1.5))
        gain = float(np.exp(rng.uniform(np.log(0.3), np.log(1.9))))
        self.gamma = float(rng.uniform(0.75, 1.35))
        self.cast = (rng.normal(1.0, 0.06, 3) * gain).astype(np.float32)
        self.haze = float(rng.uniform(0.0, 0.3)) if rng.random() < 0.4 else 0.0
        self.haze_colour = (rng.uniform(0.5, 0.9) + rng.normal(0, 0.03, 3)).astype(np.float32)
        self.motion = float(rng.uniform(1.0, 3.5)) if rng.random() < 0.3 else 0.0
        self.motion_angle = float(rng.uniform(0, np.pi))
        self.defocus = float(rng.uniform(0.0, 0.8))
        self.lowres = int(rng.integers(26, 48)) if rng.random() < 0.3 else 0
        self.noise = float(rng.uniform(0.005, 0.05))
        self.noise_seed = int(rng.integers(2**31))

    def photograph(self, sign: str, limit: str) -> np.ndarray:
        """The picture of ``sign`` (``limit``: its number, for a speed limit), uint8 (64, 64, 3)."""
        bg = _gauss(_BACKGROUNDS[self.bg_kind](np.random.default_rng(self.bg_seed)).astype(np.float32), self.bg_sigma)
        c, a = self._foreground(sign, limit)
        return self._camera(bg * (1 - a) + self._weathered(c))

    def _foreground(self, sign: str, limit: str) -> tuple[np.ndarray, np.ndarray]:
        """The sign over what stands behind it (a pole, a plate below it or a second sign), premultiplied:
        colour (64, 64, 3) and coverage (64, 64, 1)."""
        c, a = _premultiplied(
            _place(sign, limit, self.cx, self.cy, self.radius, self.angle, self.sx, self.sy, self.keystone)
        )
        behind = self._behind()
        if behind is not None:
            c = c + behind[0] * (1 - a)
            a = a + behind[1] * (1 - a)
        return c, a

    def _behind(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The pole, the plate or the second sign (as :meth:`_foreground`), or None."""
        cx, cy, radius, angle, sx, sy = self.cx, self.cy, self.radius, self.angle, self.sx, self.sy
        rad = np.deg2rad(angle)
        down = np.array([-np.sin(rad), np.cos(rad)])
        if self.extra < 0.4:
            across = np.array([down[1], -down[0]]) * radius * 0.11
            p0 = np.array([cx, cy])
            p1 = p0 + down * _BIG * 1.5
            mask = Image.new("L", (_BIG, _BIG), 0)
            quad = (p0 + across, p1 + across, p1 - across, p0 - across)
            ImageDraw.Draw(mask).polygon([tuple(q) for q in quad], fill=255)
            pa = (
                np.asarray(mask.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX), dtype=np.float32)[..., None]
                / 255.0
            )
            return pa * np.float32(self.pole_grey), pa
        if self.extra < 0.55:
            off = radius * sy + radius * 0.4
            return _premultiplied(
                _place("plate", "", cx + off * down[0], cy + off * down[1], radius * 0.9, angle, sx, sy)
            )
        if self.extra < 0.8:
            r2 = radius * self.other_scale
            dist = (radius + r2) * 1.04
            second = self.other_limit if self.other == "speed limit" else ""
            return _premultiplied(
                _place(
                    self.other,
                    second,
                    cx + dist * np.cos(self.other_dir),
                    cy + dist * np.sin(self.other_dir),
                    r2,
                    angle,
                    sx,
                    sy,
                )
            )
        return None

    def _weathered(self, c: np.ndarray) -> np.ndarray:
        """The premultiplied colour ``c`` of the signs as painted: faded, the paint's colour, dirt, a shadow
        across the sign."""
        lum = c.mean(axis=2, keepdims=True)
        c = (c * (1 - self.fade) + lum * self.fade) * self.paint_gain
        u = _upsampler(6)
        shade = 1 - self.dirt * np.clip(u @ self.dirt_grid @ u.T * 0.5 + 0.5, 0, 1)
        if self.shadow > 0:
            s = (_X - 0.5) * np.cos(self.shadow_dir) + (_Y - 0.5) * np.sin(self.shadow_dir)
            shade = shade * (1 - self.shadow * np.clip(s * 4 + 0.5, 0, 1))
        return c * shade[..., None]

    def _camera(self, img: np.ndarray) -> np.ndarray:
        """The scene as the camera takes it: lighting, cast, haze, blur, resolution, noise; uint8."""
        img = np.clip(img * self.cast, 0, 1) ** self.gamma
        if self.haze > 0:
            img = img * (1 - self.haze) + self.haze * self.haze_colour
        if self.motion > 0:
            img = _motion_blur(img, self.motion, self.motion_angle)
        img = _gauss(img, self.defocus * (0.5 if self.lowres else 1.0))
        if self.lowres:
            img = _sep(_upsampler(self.lowres), _sep(_box_matrix(self.lowres).T, img))
        noise = np.random.default_rng(self.noise_seed).standard_normal(img.shape, dtype=np.float32)
        return to_uint8(img + noise * np.float32(self.noise))


# ----------------------------------------------------------------------------------------------
# the domain

_ARTICLE = re.compile(r"\b(a) ([a-z]+)")

_SIGN_ONLY = (
    "a {sign} sign",
    "a traffic sign: {sign}",
    "a {sign} traffic sign",
    "a road sign: {sign}",
    "a traffic sign showing {sign}",
)
_WITH_LIMIT = (
    "a speed limit sign of {limit}",
    "a traffic sign with a speed limit of {limit}",
    "a {limit} speed limit sign",
    "a road sign: speed limit {limit}",
    "a speed limit of {limit} traffic sign",
)
_PLAIN = ("a traffic sign", "a road sign", "a street sign")


class Signs(Domain):
    """GTSRB-like crops of European traffic signs (see the module docstring)."""

    name = "signs"
    description = (
        "GTSRB-like photographs of European traffic signs (stop, yield, no entry, speed limits, warning, "
        "blue arrow signs, roundabout) filling most of a small crop, with varied size, pose, backgrounds, "
        "poles and neighbouring signs, lighting, blur and noise."
    )
    attributes = {"sign": SIGNS, "limit": LIMITS}
    words = vocabulary(CARRIERS, SIGNS, LIMITS, _SIGN_ONLY, _WITH_LIMIT, _PLAIN, "an")

    def applicable(self, attrs: Mapping[str, str]) -> tuple[str, ...]:
        return ("sign", "limit") if attrs.get("sign") == "speed limit" else ("sign",)

    # -- pixels ----------------------------------------------------------------------------
    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        check_split(split)
        sign = attrs.get("sign")
        if sign not in SIGNS:
            raise ValueError(f"domain 'signs': no sign {sign!r}; signs: {list(SIGNS)}")
        limit = attrs.get("limit", "") if sign == "speed limit" else ""
        if sign == "speed limit" and limit not in LIMITS:
            raise ValueError(f"domain 'signs': a speed limit needs a limit in {list(LIMITS)}, got {limit!r}")
        return _Photo(np.random.default_rng(seed)).photograph(sign, limit)

    # -- words -----------------------------------------------------------------------------
    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        chosen = set(named)
        if "limit" in chosen:
            text = _WITH_LIMIT[int(rng.integers(len(_WITH_LIMIT)))].format(limit=attrs["limit"])
        elif "sign" in chosen:
            text = _SIGN_ONLY[int(rng.integers(len(_SIGN_ONLY)))].format(sign=attrs["sign"])
        else:
            text = _PLAIN[int(rng.integers(len(_PLAIN)))]
        text = _ARTICLE.sub(lambda m: f"{article(m.group(2))} {m.group(2)}", text)
        return with_carrier(text, rng)


@lru_cache(maxsize=None)
def _box_matrix(n: int, size: int = IMAGE_SIZE) -> np.ndarray:
    """(size, n) area-averaging weights from ``size`` pixels down to ``n`` (used transposed)."""
    edges = np.linspace(0, size, n + 1)
    lo, hi = edges[:-1], edges[1:]
    px = np.arange(size)
    overlap = np.clip(np.minimum(px[:, None] + 1, hi[None, :]) - np.maximum(px[:, None], lo[None, :]), 0, None)
    return (overlap / overlap.sum(axis=0, keepdims=True)).astype(np.float32)
