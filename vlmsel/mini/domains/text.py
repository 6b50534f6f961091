"""Rendered text of the mini world: one large letter as on a screen, like rendered SST2 or screenshots.

Every picture shows one letter (b, d, e, g, h, k, m, r, s or x; never "a", which captions use as the
article) in upper or lower case, rendered crisply and anti-aliased (drawn at 3x and box-downsampled)
with a font of one of four families from matplotlib's bundled fonts: ``serif`` (DejaVu Serif, DejaVu
Serif Bold, Computer Modern cmr10, STIX General), ``sans`` (DejaVu Sans, DejaVu Sans Bold, cmss10),
``typewriter`` (cmtt10, DejaVu Sans Mono, DejaVu Sans Mono Bold) or ``italic`` (DejaVu Serif Italic,
DejaVu Sans Oblique, cmti10, STIX General Italic). Every font is scaled to the same capital height
(30-46 px, drawn per seed), so lower-case letters without ascenders are smaller, as in real text; the
glyph's ink box is centred with a few pixels of jitter and turned by at most 5 degrees. Backgrounds
are screen-like: white, light grey, dark mode or a coloured UI panel, sometimes a card behind the
letter, a title-bar stripe or faint lines of small neighbouring text; the text colour keeps a
contrast with the background; light noise. The pictures are flat, sharp-edged and uniform in colour,
clearly unlike the handwriting domain.

Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import functools
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
    pick,
    to_uint8,
    vocabulary,
    with_carrier,
)

FONTS: dict[str, tuple[str, ...]] = {
    "serif": ("DejaVuSerif", "DejaVuSerif-Bold", "cmr10", "STIXGeneral"),
    "sans": ("DejaVuSans", "DejaVuSans-Bold", "cmss10"),
    "typewriter": ("cmtt10", "DejaVuSansMono", "DejaVuSansMono-Bold"),
    "italic": ("DejaVuSerif-Italic", "DejaVuSans-Oblique", "cmti10", "STIXGeneralItalic"),
}
"""Font family -> matplotlib's bundled font files (without ``.ttf``) it draws from."""

LETTERS: tuple[str, ...] = ("b", "d", "e", "g", "h", "k", "m", "r", "s", "x")
CASES: tuple[str, ...] = ("upper", "lower")

_SUPER = 3  # drawing resolution: 3x, box-downsampled to 64 px
_REF_CAP = 150  # capital height (px) of the cached glyph masks
_VOWEL_SOUND = set("aefhilmnorsx")  # letters whose name starts with a vowel sound: "an s", "a k"
_LINE_WORDS = (
    "the of and to in is it that for on with as by this be are from or at an was which not but "
    "menu file edit view help open save close window search settings page next back home user "
    "results value total item list name date time status report"
).split()


def font_dir() -> Path:
    """matplotlib's bundled TrueType folder (the only fonts the mini world uses)."""
    import matplotlib

    return Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"


@functools.lru_cache(maxsize=None)
def _font(name: str, cap: int) -> ImageFont.FreeTypeFont:
    """Font file ``name`` at the size whose capital "H" is ``cap`` px tall (the Computer Modern
    fonts of matplotlib have smaller capitals per em than DejaVu, so sizes are matched on "H")."""
    path = font_dir() / f"{name}.ttf"
    if not path.is_file():
        raise FileNotFoundError(f"text domain: matplotlib has no font {path.name} in {path.parent}")
    probe = ImageFont.truetype(str(path), 100)
    top, bottom = probe.getbbox("H")[1], probe.getbbox("H")[3]
    return ImageFont.truetype(str(path), max(4, round(100 * cap / (bottom - top))))


@functools.lru_cache(maxsize=None)
def glyph_mask(name: str, char: str) -> Image.Image:
    """Coverage mask ("L") of ``char`` in font ``name``, cropped to its ink, capital height
    ``_REF_CAP``. Cropping to the rendered ink (not to the font's metrics) sidesteps the
    BaKoMa/Computer Modern fonts' odd ascents and offsets."""
    font = _font(name, _REF_CAP)
    side = 4 * _REF_CAP
    img = Image.new("L", (side, side), 0)
    ImageDraw.Draw(img).text((side // 4, side // 4), char, fill=255, font=font)
    box = img.getbbox()
    if box is None or box[2] - box[0] < 8 or box[3] - box[1] < 8:
        raise ValueError(f"text domain: font {name} has no usable glyph for {char!r}")
    return img.crop(box)


@functools.lru_cache(maxsize=1)
def _small_lines() -> tuple[np.ndarray, ...]:
    """Ten strips (6, 160) of small UI text (coverage in [0, 1]), drawn once, for faint neighbours."""
    rng = np.random.default_rng(12345)
    font = ImageFont.truetype(str(font_dir() / "DejaVuSans.ttf"), 5 * _SUPER)
    strips = []
    for _ in range(10):
        words = " ".join(_LINE_WORDS[int(i)] for i in rng.integers(len(_LINE_WORDS), size=12))
        img = Image.new("L", (160 * _SUPER, 6 * _SUPER), 0)
        ImageDraw.Draw(img).text((0, 0), words, fill=255, font=font)
        strips.append(np.asarray(img.resize((160, 6), Image.Resampling.BOX), np.float32) / 255.0)
    return tuple(strips)


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    rgb = np.clip(np.abs((h * 6.0 + np.array([0.0, 4.0, 2.0])) % 6.0 - 3.0) - 1.0, 0.0, 1.0)
    return (v * (1.0 - s + s * rgb)).astype(np.float32)


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _background(rng: np.random.Generator) -> np.ndarray:
    scheme = rng.random()
    grey, tint = rng.uniform(0.0, 1.0), rng.uniform(-0.02, 0.02, 3)
    hue, sat = rng.random(), rng.uniform(0.25, 0.75)
    if scheme < 0.3:  # white page
        bg = 0.96 + 0.04 * grey + 0.5 * tint
    elif scheme < 0.5:  # light grey window
        bg = 0.8 + 0.13 * grey + tint
    elif scheme < 0.75:  # dark mode
        bg = 0.08 + 0.14 * grey + np.array([0.0, 0.01, 0.03]) + tint
    else:  # coloured panel
        bg = _hsv(hue, sat, 0.35 + 0.6 * grey)
    return np.clip(np.asarray(bg, np.float32), 0.0, 1.0)


def _text_colour(rng: np.random.Generator, bg: np.ndarray) -> np.ndarray:
    coloured, hue, sat, lev = rng.random() < 0.4, rng.random(), rng.uniform(0.4, 1.0), rng.random()
    light = _luma(bg) < 0.5
    v = 0.85 + 0.15 * lev if light else 0.05 + 0.3 * lev
    fg = _hsv(hue, sat if coloured else 0.0, v) if coloured else np.full(3, v, np.float32)
    if coloured and not light:
        fg = _hsv(hue, sat, 0.2 + 0.45 * lev)
    if abs(_luma(fg) - _luma(bg)) < 0.4:  # keep the contrast of real interfaces
        fg = np.full(3, 0.98 if light else 0.04, np.float32)
    return fg


def _shade(c: np.ndarray, amount: float) -> np.ndarray:
    """``c`` made a little lighter (amount > 0) or darker (< 0)."""
    return np.clip(c + amount * (1.0 - c if amount > 0 else c), 0.0, 1.0).astype(np.float32)


class Text(Domain):
    """One rendered letter in a serif, sans, typewriter or italic font, on a screen-like background."""

    name = "text"
    description = (
        "one rendered letter in upper or lower case in a serif, sans, typewriter or italic font, as on "
        "a screen; font file, size, position, small rotation, background, panels and colours vary"
    )
    attributes = {"font": tuple(FONTS), "letter": LETTERS, "case": CASES}
    _carriers = CARRIERS + ("a rendering of", "a screenshot of")
    words = vocabulary(
        _carriers, "the letter character case in font typeface single rendered", FONTS, LETTERS, CASES, sort=True
    )

    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        check_split(split)  # procedural: the seeds keep the splits apart
        family = FONTS[attrs["font"]]
        char = attrs["letter"].upper() if attrs["case"] == "upper" else attrs["letter"]
        rng = np.random.default_rng(seed)
        n = IMAGE_SIZE
        # every nuisance is drawn in the same order whatever the attribute values
        bg = _background(rng)
        fg = _text_colour(rng, bg)
        u_font = rng.random()
        bar, bar_h, bar_c = rng.random() < 0.4, int(rng.integers(5, 10)), rng.uniform(-0.35, 0.35)
        card, card_m, card_c = rng.random() < 0.35, rng.integers(2, 9, size=4), rng.uniform(-0.25, 0.25)
        n_lines, line_ids = int(rng.choice(4, p=(0.35, 0.25, 0.25, 0.15))), rng.integers(10, size=3)
        line_y, line_x, line_a = rng.uniform(0.0, 1.0, 3), rng.integers(0, 96, size=3), rng.uniform(0.15, 0.35)
        cap = rng.uniform(30.0, 46.0)
        jx, jy = rng.uniform(-4.0, 4.0), rng.uniform(-4.0, 4.0)
        angle = np.deg2rad(rng.uniform(-5.0, 5.0)) * (rng.random() < 0.5)
        noise = rng.uniform(0.003, 0.012) * (rng.random() < 0.4)  # most screenshots are clean

        top = bar_h if bar else 0
        img = np.broadcast_to(bg, (n, n, 3)).copy()
        if card:  # a card or button of another shade behind the letter
            l, r, t, b = card_m
            img[top + t : n - b, l : n - r] = _shade(bg, card_c)
            img[top + t : n - b, l] = img[top + t : n - b, n - r - 1] = _shade(bg, -0.2)
            img[top + t, l : n - r] = img[n - b - 1, l : n - r] = _shade(bg, -0.2)
        if bar:  # a window's title bar
            img[:bar_h] = _shade(bg, bar_c)
        strips = _small_lines()
        for k in range(n_lines):  # faint neighbouring lines of small text
            y = top + int(line_y[k] * (n - top - 6))
            a = strips[int(line_ids[k])][:, line_x[k] : line_x[k] + n] * line_a
            img[y : y + 6] += a[..., None] * (fg - img[y : y + 6])

        # the letter: cached mask, scaled, turned and centred in one affine map, at 3x
        mask = glyph_mask(family[min(int(u_font * len(family)), len(family) - 1)], char)
        cap = min(cap, 0.7 * (n - top))
        w, h = mask.size
        f = min(cap * _SUPER / _REF_CAP, 0.9 * n * _SUPER / w)  # a wide bold "M" still fits
        cx, cy = (n / 2 + jx) * _SUPER, ((n + top) / 2 + jy) * _SUPER
        ca, sa = np.cos(angle), np.sin(angle)
        # output (x, y) -> source: s = c_src + R(-angle) (p - c_dst) / f
        a_, b_ = ca / f, sa / f
        d_, e_ = -sa / f, ca / f
        data = (a_, b_, w / 2 - a_ * cx - b_ * cy, d_, e_, h / 2 - d_ * cx - e_ * cy)
        big = mask.transform((n * _SUPER, n * _SUPER), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
        alpha = np.asarray(big.resize((n, n), Image.Resampling.BOX), np.float32) / 255.0
        img += alpha[..., None] * (fg - img)
        img += noise * rng.standard_normal((n, n, 1)).astype(np.float32)
        return to_uint8(img)

    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        ltr = attrs["letter"] if "letter" in named else None
        c = attrs["case"] if "case" in named else None
        if ltr and c:
            core = pick(
                rng,
                (f"the {c} case letter {ltr}", f"{article(c)} {c} case letter {ltr}", f"{article(c)} {c} case {ltr}"),
            )
        elif ltr:
            core = pick(
                rng,
                (
                    f"the letter {ltr}",
                    f"a letter {ltr}",
                    f"the character {ltr}",
                    f"{'an' if ltr in _VOWEL_SOUND else 'a'} {ltr} character",
                ),
            )
        elif c:
            core = pick(rng, (f"{article(c)} {c} case letter", f"{article(c)} {c} case character"))
        else:
            core = pick(rng, ("a letter", "a single letter", "a character", "a rendered letter"))
        if "font" in named:
            font = attrs["font"]
            core += pick(rng, (f" in {article(font)} {font} font", f" in {article(font)} {font} typeface"))
        return with_carrier(core, rng, self._carriers)
