"""Handwritten digits of the mini world, in the manner of MNIST and SVHN.

Every picture shows one real handwritten digit from scikit-learn's bundled digits
(``sklearn.datasets.load_digits``: 1,797 scans of 8x8 pixels, no download), smoothly upsampled
(bicubic) to a glyph 30-48 px tall, rotated by up to 15 degrees, sheared, stretched, made thinner
or bolder and moved off-centre. Split ``"train"`` draws its digits from the rows with index < 1200,
split ``"eval"`` from the rows >= 1200, so pretraining never sees an evaluation digit; the seed picks
the row among that split's scans of the requested digit. Three styles change everything else:

- ``ink`` (MNIST-like): black, blue-black or dark blue ink on off-white, cream or yellowish paper,
  sometimes ruled or squared, with paper grain and uneven lighting;
- ``chalk``: grainy white, pale yellow or pale blue strokes on a dark green, slate grey or black
  blackboard with chalk smudges;
- ``plate`` (SVHN-like house-number photos): a plate or wall of any colour under gradient lighting,
  the digit in a contrasting colour, parts of the neighbouring digits cut by the frame on the left
  and right, blur and sensor noise.

Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

import numpy as np
from PIL import Image
from scipy import ndimage

from vlmsel.mini.domains.base import IMAGE_SIZE, Domain, check_split, pick, to_uint8, vocabulary, with_carrier

DIGITS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
STYLES: tuple[str, ...] = ("ink", "chalk", "plate")

#: scikit-learn digit rows with an index below this form split "train", the others split "eval".
TRAIN_ROWS = 1200

_PAPERS = ((0.95, 0.95, 0.93), (0.96, 0.92, 0.82), (0.97, 0.94, 0.72))  # off-white, cream, yellowish
_INKS = ((0.05, 0.05, 0.07), (0.08, 0.10, 0.22), (0.10, 0.16, 0.48))  # black, blue-black, dark blue
_BOARDS = ((0.11, 0.24, 0.17), (0.20, 0.22, 0.25), (0.06, 0.06, 0.07))  # dark green, slate grey, black
_CHALKS = ((0.96, 0.96, 0.93), (0.96, 0.92, 0.62), (0.72, 0.86, 0.98))  # white, pale yellow, pale blue


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: images (1797, 8, 8) float32 in [0, 1] and labels (1797,)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)


@functools.lru_cache(maxsize=2)
def split_rows(split: str) -> tuple[np.ndarray, ...]:
    """For each digit 0-9, the scikit-learn row indices that ``split`` draws from."""
    check_split(split)
    _, target = _digits()
    idx = np.arange(len(target))
    keep = idx < TRAIN_ROWS if split == "train" else idx >= TRAIN_ROWS
    return tuple(idx[keep & (target == d)] for d in range(10))


def pick_row(digit: int, u: float, split: str) -> int:
    """The scikit-learn row of ``digit`` at fraction ``u`` in [0, 1) of the split's rows."""
    rows = split_rows(split)[digit]
    return int(rows[min(int(u * len(rows)), len(rows) - 1)])


def _coords() -> tuple[np.ndarray, np.ndarray]:
    c = np.arange(IMAGE_SIZE, dtype=np.float32) + 0.5
    return np.meshgrid(c, c)


_X, _Y = _coords()


_UP = 4  # the 8x8 scans are padded by 2 px and upsampled 4x (bicubic) before the affine map
_PAD = 2


def _glyph(row: int, cx: float, cy: float, size: float, angle: float, shear: float, aspect: float) -> np.ndarray:
    """Intensity (64, 64) in about [0, 1] of scikit-learn digit ``row`` drawn ``size`` px tall around
    (cx, cy), rotated by ``angle`` (radians), sheared and stretched horizontally by ``aspect``."""
    side = 8 + 2 * _PAD
    src = Image.fromarray(np.pad(_digits()[0][row], _PAD)).resize((side * _UP, side * _UP), Image.Resampling.BICUBIC)
    # output pixel p -> source pixel s (centred on the scan):  p = c + k R(angle) Sh(shear) diag(aspect, 1) s,
    # inverted, then moved to the upsampled scan's coordinates (col = UP * (s + 4 + PAD))
    k = size / 8.0
    ca, sa = np.cos(angle), np.sin(angle)
    ux, uy = (ca + shear * sa) / (k * aspect), (sa - shear * ca) / (k * aspect)
    vx, vy = -sa / k, ca / k
    off = _UP * (4 + _PAD)
    data = (_UP * ux, _UP * uy, off - _UP * (ux * cx + uy * cy), _UP * vx, _UP * vy, off - _UP * (vx * cx + vy * cy))
    out = src.transform((IMAGE_SIZE, IMAGE_SIZE), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
    return np.asarray(out, np.float32)


def _stroke(intensity: np.ndarray, thresh: float, soft: float) -> np.ndarray:
    """Soft threshold of a glyph's intensity: ink coverage in [0, 1] (lower ``thresh`` = bolder)."""
    return np.clip((intensity - thresh) / soft + 0.5, 0.0, 1.0)


def _lowfreq(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Smooth random field (64, 64) in about [-1, 1] (a cells x cells grid, bicubic-upsampled)."""
    z = Image.fromarray(rng.standard_normal((cells, cells)).astype(np.float32))
    return np.asarray(z.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC), np.float32)


def _jitter(rng: np.random.Generator, rgb: Sequence[float], amount: float) -> np.ndarray:
    return np.clip(np.asarray(rgb, np.float32) + rng.uniform(-amount, amount, 3).astype(np.float32), 0.0, 1.0)


def _gradient(rng: np.random.Generator, amount: float) -> np.ndarray:
    """Linear lighting ramp (64, 64) around 1 with random direction, +-``amount`` at the edges."""
    t = rng.uniform(0.0, 2.0 * np.pi)
    ramp = ((_X - 32.0) * np.cos(t) + (_Y - 32.0) * np.sin(t)) / 32.0
    return 1.0 + amount * ramp.astype(np.float32)


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    rgb = np.clip(np.abs((h * 6.0 + np.array([0.0, 4.0, 2.0])) % 6.0 - 3.0) - 1.0, 0.0, 1.0)
    return (v * (1.0 - s + s * rgb)).astype(np.float32)


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _ink(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    paper = _jitter(rng, _PAPERS[int(rng.integers(3))], 0.03)
    ink = _jitter(rng, _INKS[int(rng.integers(3))], 0.03)
    img = np.broadcast_to(paper, (IMAGE_SIZE, IMAGE_SIZE, 3)).copy()
    ruling = rng.random()
    period, phase = rng.uniform(7.0, 12.0), rng.uniform(0.0, 12.0)
    line_rgb = _jitter(rng, (0.55, 0.68, 0.85) if rng.random() < 0.7 else (0.7, 0.7, 0.7), 0.05)
    lines = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    if ruling < 0.3:  # ruled paper
        lines = np.maximum(lines, np.clip(1.0 - np.abs(((_Y + phase) % period) - period / 2) / 0.7, 0, 1))
    elif ruling < 0.55:  # squared paper
        for c in (_X, _Y):
            lines = np.maximum(lines, np.clip(1.0 - np.abs(((c + phase) % period) - period / 2) / 0.6, 0, 1))
    lines *= rng.uniform(0.35, 0.7)
    img += lines[..., None] * (line_rgb - img)
    # paper grain: fine fibres plus blotches; uneven lighting
    grain = ndimage.gaussian_filter(rng.standard_normal((IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32), 0.7)
    img *= (_gradient(rng, rng.uniform(0.03, 0.15)) * (1.0 + 0.03 * _lowfreq(rng, 4)))[..., None]
    img += (rng.uniform(0.015, 0.04) * grain)[..., None]
    # ink: pressure varies along the stroke
    a = alpha * np.clip(rng.uniform(0.8, 1.0) + 0.12 * _lowfreq(rng, 5), 0.4, 1.0)
    img += a[..., None] * (ink - img)
    return ndimage.gaussian_filter(img, (rng.uniform(0.2, 0.6),) * 2 + (0,))


def _chalk(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    board = _jitter(rng, _BOARDS[int(rng.integers(3))], 0.03)
    chalk = _jitter(rng, _CHALKS[int(rng.integers(3))], 0.03)
    img = np.broadcast_to(board, (IMAGE_SIZE, IMAGE_SIZE, 3)).copy()
    # smudges of wiped chalk: smooth whitish clouds, a few wiping streaks
    smudge = np.clip(_lowfreq(rng, 5), 0.0, None) * rng.uniform(0.05, 0.16)
    t = rng.uniform(-0.4, 0.4)
    streak = np.sin(((_Y + t * _X) / rng.uniform(5.0, 11.0)) + rng.uniform(0, 6.3)) * 0.5 + 0.5
    smudge = smudge + streak * np.clip(_lowfreq(rng, 3), 0, None) * rng.uniform(0.0, 0.08)
    img += smudge[..., None] * (np.array([0.85, 0.87, 0.85], np.float32) - img)
    img *= _gradient(rng, rng.uniform(0.0, 0.15))[..., None]
    img += (0.015 * rng.standard_normal((IMAGE_SIZE, IMAGE_SIZE))).astype(np.float32)[..., None]
    # grainy chalk: strokes broken up by the board's texture
    grain = ndimage.gaussian_filter(rng.random((IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32), (0.6, 1.1))
    grain = np.clip((grain - rng.uniform(0.42, 0.48)) * 12.0 + 0.5, 0.0, 1.0)
    a = alpha * (0.45 + 0.55 * grain) * rng.uniform(0.75, 0.95)
    img += a[..., None] * (chalk - img)
    return ndimage.gaussian_filter(img, (rng.uniform(0.2, 0.5),) * 2 + (0,))


def _plate(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    bg = _hsv(rng.random(), rng.uniform(0.0, 0.85), rng.uniform(0.15, 0.95))
    fg_dark = _luma(bg) > 0.5 if rng.random() < 0.9 else _luma(bg) <= 0.5
    fg = _hsv(rng.random(), rng.uniform(0.0, 0.9), rng.uniform(0.0, 0.25) if fg_dark else rng.uniform(0.8, 1.0))
    if abs(_luma(fg) - _luma(bg)) < 0.3:  # keep the digit readable
        fg = np.full(3, 0.05 if _luma(bg) > 0.5 else 0.97, np.float32)
    img = np.broadcast_to(bg, (IMAGE_SIZE, IMAGE_SIZE, 3)).copy()
    # the plate's edge and the wall behind it, at the top or bottom, sometimes
    edge = rng.random()
    wall = _hsv(rng.random(), rng.uniform(0.0, 0.5), rng.uniform(0.1, 0.9))
    ey = rng.uniform(3.0, 9.0)
    if edge < 0.35:
        band = np.clip((ey - (_Y if edge < 0.175 else IMAGE_SIZE - _Y)) / 1.0 + 0.5, 0, 1)
        img += band[..., None] * (wall - img)
    img += alpha[..., None] * (fg - img)
    light = _gradient(rng, rng.uniform(0.1, 0.4)) * (1.0 + 0.08 * _lowfreq(rng, 3))
    img *= light[..., None]
    img = ndimage.gaussian_filter(img, (rng.uniform(0.5, 1.4),) * 2 + (0,))
    noise = rng.uniform(0.015, 0.05) * rng.standard_normal((IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.float32)
    return img + noise


# caption phrasings: style named (or None) -> (without the digit, with the digit "{d}")
_PHRASES: dict[str | None, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ink": (
        ("a handwritten digit in ink on paper", "a digit written in ink on paper", "a handwritten digit in ink"),
        (
            "a handwritten digit {d} in ink on paper",
            "the digit {d} written in ink on paper",
            "a handwritten {d} in ink",
        ),
    ),
    "chalk": (
        (
            "a chalk drawing of a digit on a blackboard",
            "a digit written in chalk",
            "a handwritten digit in chalk on a blackboard",
        ),
        (
            "a chalk drawing of the digit {d} on a blackboard",
            "the digit {d} written in chalk",
            "a handwritten {d} in chalk on a blackboard",
        ),
    ),
    "plate": (
        ("a number on a house plate", "a house number on a plate", "a digit on a house plate"),
        ("the number {d} on a house plate", "a house number {d} on a plate", "the digit {d} on a house plate"),
    ),
    None: (
        ("a digit", "a single digit", "a number"),
        ("the digit {d}", "a digit {d}", "the number {d}", "a single digit {d}"),
    ),
}


class Handwriting(Domain):
    """Real handwritten digits in ink on paper, in chalk on a blackboard, or on a house-number plate."""

    name = "handwriting"
    description = (
        "real handwritten digits (scikit-learn's 8x8 scans, upsampled) in ink on paper, in chalk on a "
        "blackboard or as a house-number photo; size, slant, thickness, position, paper, colours, "
        "lighting, blur and noise vary"
    )
    attributes = {"style": STYLES, "digit": DIGITS}
    words = vocabulary(
        "a picture of an image of a photo of the handwritten digit number in on paper written chalk "
        "drawing blackboard house plate single ink",
        DIGITS,
        sort=True,
    )

    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        check_split(split)
        style = attrs["style"]
        digit = DIGITS.index(attrs["digit"])
        rng = np.random.default_rng(seed)
        # the glyph's nuisances: drawn first, in the same order for every style and digit
        u_row = rng.random()
        size = rng.uniform(30.0, 48.0)
        angle = np.deg2rad(rng.uniform(-15.0, 15.0))
        shear = rng.uniform(-0.3, 0.3)
        aspect = rng.uniform(0.85, 1.2)
        cx, cy = 32.0 + rng.uniform(-5.0, 5.0), 32.0 + rng.uniform(-4.0, 4.0)
        thresh = rng.uniform(0.3, 0.6)
        nb_digits = rng.integers(10, size=2)
        nb_u = rng.random(2)
        nb_on = rng.random(2) < 0.85
        nb_gap = rng.uniform(6.3, 7.8)  # centre distance of neighbouring digits, in source pixels
        glyph = _glyph(pick_row(digit, u_row, split), cx, cy, size, angle, shear, aspect)
        if style == "plate":
            off = nb_gap * size / 8.0 * aspect
            for side, nd, u, on in zip((-1.0, 1.0), nb_digits, nb_u, nb_on):
                if on:
                    nbx, nby = cx + side * off * np.cos(angle), cy + side * off * np.sin(angle)
                    glyph = np.maximum(glyph, _glyph(pick_row(int(nd), u, split), nbx, nby, size, angle, shear, aspect))
            alpha = _stroke(glyph, thresh - 0.1, 0.18)
            img = _plate(rng, alpha)
        elif style == "ink":
            img = _ink(rng, _stroke(glyph, thresh, 0.16))
        elif style == "chalk":
            img = _chalk(rng, _stroke(glyph + 0.25 * (glyph > 0.15) * (rng.random(glyph.shape) - 0.5), thresh, 0.2))
        else:
            raise ValueError(f"handwriting: unknown style {style!r}")
        return to_uint8(img)

    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        style = attrs["style"] if "style" in named else None
        digit = attrs["digit"] if "digit" in named else None
        templates = _PHRASES[style][digit is not None]
        return with_carrier(pick(rng, templates).format(d=digit), rng)
