"""Faces of the mini world: FER2013-like grayscale close-ups of faces with an expression and a head pose.

Imitates FER2013 (the LOVM facial-expression task): a 48-px grayscale face crop, here 64 px, all
three channels equal as when FER2013 is read as RGB. A face fills most of the frame (the top of the
head is often cut off): an egg-shaped head of varying width and height and skin brightness, shaded by
a light from a random side, hair of one of several shapes (short, long behind the head, a fringe,
almost none) and darknesses, ears, a neck, eyebrows, eyes with lids and irises, a nose with nostrils
and a mouth. ``expression`` changes the mouth (a smile, sometimes open with teeth; a frown; an open
"O"; a tight line or bared teeth; a flat line), the brows (raised and arched for surprise, angled
down towards the nose for anger, raised at the inner ends for sadness) and the eyes (wide open for
surprise, narrowed for happiness and anger), plus small cues (smile folds, a frown line, forehead
lines), each at a random strength, so some faces show a faint expression. ``pose`` turns the head
(the features are drawn on a turning cylinder: they shift sideways and the far half narrows; the
nose points the way the face looks, one ear hides). Nuisances: head size, crop and position, a
small rotation, background gradient and clutter, occasional glasses or a hand in front of the face,
blur, noise, low contrast and JPEG artefacts. Drawn with PIL at twice the resolution and averaged
down.

Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import io
import math
from typing import Mapping, NamedTuple, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vlmsel.mini.domains.base import IMAGE_SIZE, Domain, article, check_split, vocabulary

EXPRESSIONS: tuple[str, ...] = ("happy", "sad", "surprised", "angry", "neutral")
POSES: tuple[str, ...] = ("left", "front", "right")

_SS = 2
_S = IMAGE_SIZE * _SS

# Expression geometry in face units (v: head half-heights, downwards from the eye line; alpha:
# radians around the head). Each expression's values are blended with the neutral ones by a random
# strength, so expressions range from faint to strong.
_NEUTRAL = {
    "brow_in": -0.27, "brow_out": -0.27, "brow_arch": 0.035, "eye_up": 0.060, "eye_low": 0.040,
    "mouth_w": 0.30, "mouth_curve": 0.0, "mouth_open": 0.0, "o_mouth": 0.0, "teeth": 0.0,
    "folds": 0.0, "forehead": 0.0, "frown_line": 0.0, "lip_w": 1.0,
}  # fmt: skip
_EXPRESSION = {
    "happy": {"brow_in": -0.29, "brow_out": -0.29, "brow_arch": 0.05, "eye_up": 0.052, "eye_low": 0.010,
              "mouth_w": 0.40, "mouth_curve": 0.13, "folds": 1.0},
    "sad": {"brow_in": -0.38, "brow_out": -0.22, "brow_arch": 0.0, "eye_up": 0.045, "eye_low": 0.035,
            "mouth_w": 0.28, "mouth_curve": -0.11},
    "surprised": {"brow_in": -0.44, "brow_out": -0.42, "brow_arch": 0.09, "eye_up": 0.105, "eye_low": 0.065,
                  "mouth_w": 0.12, "o_mouth": 1.0, "forehead": 1.0},
    "angry": {"brow_in": -0.15, "brow_out": -0.33, "brow_arch": -0.01, "eye_up": 0.030, "eye_low": 0.032,
              "mouth_w": 0.25, "mouth_curve": -0.025, "frown_line": 1.0, "lip_w": 1.6},
    "neutral": {},
}  # fmt: skip

_YAW = {"left": -1.0, "front": 0.0, "right": 1.0}

_LEAD = ("", "a photo of", "a picture of", "an image of", "a black and white photo of", "a grayscale photo of",
         "a close up photo of", "a cropped photo of")  # fmt: skip
_POSE_PHRASES = {
    "left": ("turned to the left", "facing left", "with the head turned left"),
    "right": ("turned to the right", "facing right", "with the head turned right"),
    "front": ("facing the front", "seen from the front", "facing front"),
}


class Faces(Domain):
    """FER2013-like grayscale face crops: which expression, which way the head is turned."""

    name = "faces"
    description = (
        "FER2013-like grayscale close-ups of faces with one of five expressions and the head turned left, "
        "to the front or right; head shape, skin, hair, lighting, crop, rotation, background, glasses, "
        "hands, blur, noise and contrast vary."
    )
    attributes = {"expression": EXPRESSIONS, "pose": POSES}
    words = vocabulary(
        _LEAD, *_POSE_PHRASES.values(), EXPRESSIONS, POSES, "a an face person human looking with expression of"
    )

    # -- pixels --------------------------------------------------------------------------------
    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        check_split(split)
        return _Portrait(attrs, np.random.default_rng(seed)).paint()

    # -- words ---------------------------------------------------------------------------------
    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        chosen = set(named)
        lead = _LEAD[int(rng.integers(len(_LEAD)))]
        if "expression" in chosen:
            e = attrs["expression"]
            forms = (f"{article(e)} {e} face", f"a person looking {e}", f"a face with {article(e)} {e} expression",
                     f"{article(e)} {e} person", f"{article(e)} {e} human face")  # fmt: skip
            subject = forms[int(rng.integers(len(forms)))]
        else:
            subject = ("a face", "a person", "a human face")[int(rng.integers(3))]
        text = f"{lead} {subject}".strip()
        if "pose" in chosen:
            phrases = _POSE_PHRASES[attrs["pose"]]
            text = f"{text} {phrases[int(rng.integers(len(phrases)))]}"
        if not lead and "face" not in text:
            text = f"a photo of {text}"
        return text


class _Draws(NamedTuple):
    """The uniform draws of one face, in [0, 1), in the order they are drawn (see :data:`_N_UNIFORMS`)."""

    head_height: float
    head_width: float
    eye_line: float
    centre_x: float
    skin: float
    hair_darkness: float
    hair_style: float
    hairline: float
    light: float
    yaw: float  # how far a turned head turns
    yaw_front: float  # the small turn of a frontal head
    strength: float  # of the expression
    gaze: float
    background_0: float
    background_1: float
    background_angle: float
    glasses: float
    hand: float
    hand_side: float
    open_smile: float
    bared_teeth: float
    blur: float
    contrast: float
    gamma: float
    noise: float
    jpeg_quality: float
    jpeg: float
    brow_width: float
    brow_darkness: float
    neck_width: float
    ear_size: float
    eye_separation: float
    mouth_line: float
    glasses_darkness: float
    clothes: float
    lip_darkness: float
    brow_length: float
    shade_top: float
    hair_length: float  # how far long hair falls
    thin_hair: float  # whether almost-bald hair is drawn
    fringe: float
    lip_width: float
    hand_x: float
    hand_y: float
    hand_width: float
    hand_height: float
    hand_skin: float


_N_UNIFORMS = 64
"""Uniforms drawn per face: the fields of :class:`_Draws`, then unused ones, drawn all the same so that
the draws after them (the normals, the clutter, the noise seed) stay what they are."""

_XS = np.arange(_S, dtype=np.float32) / _S  # canvas pixel positions, as fractions of its side


def _grey(level: float) -> int:
    """A grey level in [0, 1] (clipped) as a PIL fill, 0-255."""
    return int(min(max(float(level), 0.0), 1.0) * 255 + 0.5)


def _expression_geometry(expr: str, strength: float) -> dict[str, float]:
    """The face-unit geometry of ``expr`` (:data:`_EXPRESSION`), blended with the neutral one by ``strength``."""
    p = dict(_NEUTRAL)
    for key, value in _EXPRESSION[expr].items():
        p[key] = _NEUTRAL[key] + strength * (value - _NEUTRAL[key])
    p["mouth_w"] = _NEUTRAL["mouth_w"] + (p["mouth_w"] - _NEUTRAL["mouth_w"]) * min(strength, 1.0)
    return p


class _Portrait:
    """One face being drawn: its draws, the head's geometry on the supersampled canvas (``_S`` px, grey
    levels) and one step per part of the picture, called by :meth:`paint` in painting order."""

    def __init__(self, attrs: Mapping[str, str], rng: np.random.Generator):
        # every nuisance first, in a fixed order, whatever the attributes
        u = self.u = _Draws(*rng.random(_N_UNIFORMS).tolist()[: len(_Draws._fields)])
        rot = 0.13 * rng.standard_normal(8).tolist()[0]  # the head's tilt (8 normals drawn, 1 used)
        self.clutter = rng.random((6, 7))
        self.noise_seed = int(rng.integers(2**31))

        self.expr = attrs["expression"]
        self.strength = 0.65 + 0.55 * u.strength  # how strong the expression is
        self.p = _expression_geometry(self.expr, self.strength)
        yaw_mag = 0.45 + 0.22 * u.yaw
        self.yaw = yaw_mag * _YAW[attrs["pose"]] if attrs["pose"] != "front" else 0.08 * (u.yaw_front - 0.5) * 2.0
        self.b = (29.0 + 7.0 * u.head_height) * _SS  # head half-height, px
        self.a = self.b * (0.70 + 0.14 * u.head_width)  # head half-width
        eye_y = (23.0 + 7.0 * u.eye_line) * _SS  # eye line, px from the top
        self.cx = _S / 2 + (u.centre_x - 0.5) * 14.0 * _SS
        self.cy = eye_y + 0.05 * self.b  # head centre a little below the eye line
        self.cr, self.sr = math.cos(rot), math.sin(rot)
        self.skin = 0.42 + 0.42 * u.skin
        self.hair_v = float(np.clip(0.04 + 0.75 * u.hair_darkness**1.5, 0.0, 0.9))
        self.hair_style = int(u.hair_style * 4)  # short, long, fringe, almost none
        self.light = 0.60 * (u.light - 0.5) * 2.0  # side light strength and side
        self.ear_size = 0.16 + 0.06 * u.ear_size
        self.eye_sep = 0.36 + 0.06 * u.eye_separation
        self.mouth_v = 0.56 + 0.08 * u.mouth_line
        self.tip_shift = 0.22 * math.sin(self.yaw)  # the nose tip stands out: it moves further when turned

    # -- the head's geometry ---------------------------------------------------------------------
    def screen(self, x, y) -> list[tuple[float, float]]:
        """Canvas points of offsets ``(x, y)`` (px) from the head's centre, turned with the head's rotation."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        return list(zip((self.cx + self.cr * x - self.sr * y).tolist(), (self.cy + self.sr * x + self.cr * y).tolist()))

    def face(self, alpha, v) -> list[tuple[float, float]]:
        """Points on the turning head: ``alpha`` radians around it, ``v`` half-heights from its centre."""
        alpha = np.asarray(alpha, dtype=np.float64)
        x = self.a * 1.02 * np.sin(np.minimum(np.maximum(alpha + self.yaw, -1.45), 1.45))
        return self.screen(x, self.b * np.asarray(v, dtype=np.float64))

    def region(self, alpha, v_top, v_bottom) -> list[tuple[float, float]]:
        """The area between two curves over the same alphas (a polygon)."""
        alpha = np.asarray(alpha, dtype=np.float64)
        return self.face(np.concatenate([alpha, alpha[::-1]]), np.concatenate([v_top, np.asarray(v_bottom)[::-1]]))

    # -- painting --------------------------------------------------------------------------------
    def paint(self) -> np.ndarray:
        """The picture, uint8 (64, 64, 3), all channels equal."""
        canvas = self._background()
        self.draw = ImageDraw.Draw(canvas)
        self._clothes_and_neck()
        if self.hair_style == 1:
            self._long_hair()
        if abs(self.yaw) < 0.2:  # ears of a frontal head stick out behind it
            for side in (-1.0, 1.0):
                self._ear(side, side * self.a * 0.93, self.ear_size * self.a)
        self._head()
        if self.hair_style != 3 or self.u.thin_hair < 0.5:
            self._hair()
        self._eyes()
        self._brows()
        self._nose()
        self._cues()
        self._mouth()
        if self.u.glasses < 0.14:
            self._glasses()
        if self.u.hand < 0.12:
            self._hand()
        return self._camera(canvas)

    def _background(self) -> Image.Image:
        """The canvas: a gradient with a little clutter (rectangles and ellipses)."""
        u = self.u
        bg0, bg1 = 0.1 + 0.8 * u.background_0, 0.1 + 0.8 * u.background_1
        bg_angle = 2 * math.pi * u.background_angle
        ramp = np.cos(bg_angle) * _XS[None, :] + np.sin(bg_angle) * _XS[:, None]
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        canvas = Image.fromarray(((bg0 + (bg1 - bg0) * ramp) * 255).astype(np.uint8), mode="L")
        draw = ImageDraw.Draw(canvas)
        for c in self.clutter:
            if c[0] < 0.55:
                x0, y0 = c[1] * _S, c[2] * _S
                w, h = (0.1 + 0.5 * c[3]) * _S, (0.1 + 0.5 * c[4]) * _S
                fill = _grey(0.1 + 0.8 * c[5])
                if c[6] < 0.5:
                    draw.rectangle([x0, y0, x0 + w, y0 + h], fill=fill)
                else:
                    draw.ellipse([x0, y0, x0 + w, y0 + h], fill=fill)
        return canvas

    def _clothes_and_neck(self) -> None:
        a, b, cx, cy = self.a, self.b, self.cx, self.cy
        clothes = _grey(0.1 + 0.7 * self.u.clothes)
        self.draw.ellipse([cx - 2.2 * a, cy + 1.25 * b, cx + 2.2 * a, cy + 3.2 * b], fill=clothes)
        neck_x = np.array([-1.0, 1.0, 1.1, -1.1]) * (0.50 + 0.15 * self.u.neck_width) * a
        self.draw.polygon(self.screen(neck_x, np.array([0.4, 0.4, 1.6, 1.6]) * b), fill=_grey(self.skin * 0.78))

    def _long_hair(self) -> None:
        """Long hair, behind the head."""
        a, b = self.a, self.b
        t = np.linspace(0.0, 2 * math.pi, 48, endpoint=False)
        below = (0.9 + 0.5 * self.u.hair_length) * b  # how far down the hair falls
        hy = np.where(np.sin(t) < 0, 1.10 * b * np.sin(t), below * np.abs(np.sin(t)) ** 0.6)
        hx = 1.17 * a * np.cos(t) * (1.0 - 0.12 * np.clip(np.sin(t), 0, 1) ** 4)
        self.draw.polygon(self.screen(hx - 0.25 * a * math.sin(self.yaw), hy), fill=_grey(self.hair_v))

    def _ear(self, side: float, ex: float, ew: float) -> None:
        tt = np.linspace(0.0, 2 * math.pi, 16, endpoint=False)
        outer = self.screen(ex + side * ew * np.cos(tt), (0.03 + 0.17 * np.sin(tt)) * self.b)
        self.draw.polygon(outer, fill=_grey(self.skin * 0.9))
        inner = self.screen(ex + side * ew * 0.45 * np.cos(tt[4:13]), (0.03 + 0.10 * np.sin(tt[4:13])) * self.b)
        self.draw.line(inner, fill=_grey(self.skin * 0.65), width=_SS)

    def _head(self) -> None:
        """The head: an egg, narrower at the chin, the jaw following the turn; a turned head shows one ear."""
        a, b, yaw, skin = self.a, self.b, self.yaw, self.skin
        t = np.linspace(0.0, 2 * math.pi, 48, endpoint=False)
        sin_t = np.sin(t)
        low = np.clip(sin_t, 0.0, 1.0)
        high = np.clip(-sin_t, 0.0, 1.0)
        hx = a * np.cos(t) * (1.0 - 0.20 * low**2) + a * math.sin(yaw) * (0.24 * low**2 - 0.08 * high)
        hy = b * sin_t * (1.0 + 0.04 * low)
        self.draw.polygon(self.screen(hx, hy), fill=_grey(skin))
        self.draw.ellipse(
            _bbox(self.face([-0.3, 0.3, 0.0, 0.0], [-0.5, -0.5, -0.64, -0.36])), fill=_grey(min(0.98, skin * 1.06))
        )
        if abs(yaw) >= 0.2:  # the other ear hides behind the head
            side = -math.copysign(1.0, yaw)
            self._ear(side, side * a * math.cos(abs(yaw)) * 0.92, self.ear_size * a * 0.75)

    def _hair(self) -> None:
        """Hair on the head down to its hairline (lower for a fringe; almost none: a thin cap)."""
        u, yaw, style = self.u, self.yaw, self.hair_style
        hairline = -0.50 - 0.15 * u.hairline
        side_lim = math.pi / 2 - 0.05
        al = np.linspace(-side_lim - yaw, side_lim - yaw, 17)
        line_v = (hairline if style != 2 else -0.33 - 0.08 * u.fringe) + 0.16 * al**2
        if style == 3:
            line_v = -0.80 + 0.05 * al**2
        hair_pts = self.face(al, line_v)[::-1]
        top = np.linspace(math.pi, 2 * math.pi, 17)
        scale = 1.05 if style != 3 else 1.0
        hair_pts = self.screen(self.a * scale * np.cos(top), self.b * scale * 1.03 * np.sin(top)) + hair_pts
        fill = self.hair_v if style != 3 else 0.5 * self.hair_v + 0.5 * self.skin * 0.8
        self.draw.polygon(hair_pts, fill=_grey(fill))

    def _eyes(self) -> None:
        """Eye sockets (a shadow around each eye), then each eye: its white, the iris, the upper lid, and
        for a strong smile the lower lid pushed up."""
        p, sk, eye_sep = self.p, self.skin, self.eye_sep
        for side in (-1.0, 1.0):
            arc = np.cos(np.linspace(-1.5, 1.5, 13))
            socket = self.region(side * eye_sep + 0.24 * np.linspace(-1, 1, 13), -0.02 - 0.14 * arc, 0.04 + 0.09 * arc)
            self.draw.polygon(socket, fill=_grey(sk * 0.86))
        uu = np.linspace(-1.0, 1.0, 11)
        gaze = 0.04 * (self.u.gaze - 0.5)
        droop = 0.02 * self.strength if self.expr == "sad" else 0.0
        for side in (-1.0, 1.0):
            ac = side * eye_sep
            up = -p["eye_up"] * (1.0 - uu**2) ** 0.7 + side * uu * droop
            lo = p["eye_low"] * (1.0 - uu**2) ** 0.9 + side * uu * droop * 0.5
            al = ac + uu * 0.15
            self.draw.polygon(self.region(al, up, lo), fill=_grey(min(0.97, sk * 1.15 + 0.12)))
            # the iris, cut (roughly) by the lids: no taller than the opening
            ia = ac + gaze
            ((mx, my),) = self.face([ia], [(p["eye_low"] - p["eye_up"]) / 2])
            rx = max(0.062 * self.a * math.cos(min(abs(ia + self.yaw), 1.4)), 1.0)
            ry = max(min(0.062 * self.a, 0.9 * self.b * (p["eye_up"] + p["eye_low"]) / 2), 1.0)
            self.draw.ellipse([mx - rx, my - ry, mx + rx, my + ry], fill=_grey(sk * 0.28))
            self.draw.line(self.face(al, up - 0.008), fill=_grey(sk * 0.22), width=max(2, int(1.3 * _SS)))
            if self.expr == "happy" and self.strength > 0.8:  # lower lid pushed up: a crescent
                self.draw.line(self.face(al, lo + 0.012), fill=_grey(sk * 0.6), width=_SS)

    def _brows(self) -> None:
        u, p, sk = self.u, self.p, self.skin
        brow_w = (2.2 + 1.8 * u.brow_width) * _SS
        brow_dark = 0.25 + 0.35 * u.brow_darkness
        brow_len = 0.40 + 0.08 * u.brow_length
        for side in (-1.0, 1.0):
            s_ = np.linspace(0.0, 1.0, 9)
            al = side * (0.10 + s_ * brow_len)
            v = p["brow_in"] + (p["brow_out"] - p["brow_in"]) * s_ - p["brow_arch"] * np.sin(math.pi * s_)
            width = int(brow_w * (1.2 if self.expr == "angry" else 1.0))
            fill = _grey(min(sk * brow_dark, self.hair_v * 0.8 + sk * 0.2))
            self.draw.line(self.face(al, v), fill=fill, width=width, joint="curve")

    def _nose(self) -> None:
        """The nose: a shadow on one side, nostrils, the tip pointing where the face looks; light on the
        forehead and the nose bridge, shadow under the nose and under the lower lip."""
        sk, yaw, tip_shift = self.skin, self.yaw, self.tip_shift
        nose_side = 1.0 if self.light < 0 else -1.0
        if abs(yaw) > 0.2:
            nose_side = math.copysign(1.0, -yaw)
        ridge = np.array([0.06, 0.07, 0.10]) * nose_side + np.array([0.0, tip_shift, tip_shift])
        self.draw.line(self.face(ridge, [0.05, 0.27, 0.36]), fill=_grey(sk * 0.74), width=int(1.6 * _SS))
        for side in (-1.0, 1.0):
            nx = side * 0.08 + tip_shift
            nostril = self.face([nx - 0.035, nx + 0.035, nx, nx], [0.39, 0.39, 0.37, 0.41])
            self.draw.ellipse(_bbox(nostril), fill=_grey(sk * 0.45))
        bridge = self.face([tip_shift * 0.3, tip_shift * 0.8], [0.08, 0.3])
        self.draw.line(bridge, fill=_grey(sk * 1.1), width=int(1.5 * _SS))
        self.draw.line(self.face([tip_shift - 0.08, tip_shift + 0.08], [0.445, 0.445]), fill=_grey(sk * 0.8), width=_SS)
        chin = self.face([-0.12, 0.0, 0.12], np.array([0.13, 0.15, 0.13]) + self.mouth_v)
        self.draw.line(chin, fill=_grey(sk * 0.85), width=_SS)

    def _cues(self) -> None:
        """Expression cues around the mouth and on the forehead: smile folds, forehead lines, a frown line."""
        p, sk = self.p, self.skin
        if p["folds"] > 0.5:
            for side in (-1.0, 1.0):
                fold = self.face(np.array([0.16, 0.26, 0.30]) * side, [0.34, 0.46, self.mouth_v + 0.02])
                self.draw.line(fold, fill=_grey(sk * 0.80), width=_SS)
        if p["forehead"] > 0.5:
            for k in range(2):
                al = np.linspace(-0.35, 0.35, 9)
                self.draw.line(self.face(al, -0.60 - 0.08 * k + 0.05 * al**2), fill=_grey(sk * 0.88), width=_SS)
        if p["frown_line"] > 0.5:
            for side in (-1.0, 1.0):
                self.draw.line(self.face([side * 0.04, side * 0.05], [-0.30, -0.16]), fill=_grey(sk * 0.7), width=_SS)

    def _mouth(self) -> None:
        """An open O (surprise), an open smile with teeth, bared clenched teeth (anger), or a closed mouth:
        a smile, a frown, a tight or a flat line."""
        u, p, sk, expr, mouth_v = self.u, self.p, self.skin, self.expr, self.mouth_v
        mw = p["mouth_w"]
        mu = np.linspace(-1.0, 1.0, 15)
        al = mu * mw
        lip = _grey(sk * (0.45 + 0.2 * u.lip_darkness))
        if p["o_mouth"] > 0.5:
            tt = np.linspace(0, 2 * math.pi, 20, endpoint=False)
            oh = 0.10 + 0.06 * min(self.strength, 1.1)
            outer = self.face(np.cos(tt) * (mw + 0.03), mouth_v + 0.02 + np.sin(tt) * (oh + 0.03))
            inner = self.face(np.cos(tt) * mw, mouth_v + 0.02 + np.sin(tt) * oh)
            self.draw.polygon(outer, fill=lip)
            self.draw.polygon(inner, fill=_grey(sk * 0.18))
        elif expr == "happy" and u.open_smile < 0.5:
            upper = mouth_v - p["mouth_curve"] * (mu**2) * 0.9
            lower = mouth_v + 0.06 + p["mouth_curve"] * (1 - mu**2) * 0.6
            self.draw.polygon(self.region(al, upper, lower), fill=_grey(sk * 0.2))
            teeth = self.region(al * 0.85, upper + 0.005, upper + 0.05)
            self.draw.polygon(teeth, fill=_grey(min(0.95, sk * 1.15 + 0.1)))
            self.draw.line(self.face(al, lower), fill=lip, width=int(1.5 * _SS))
        elif expr == "angry" and u.bared_teeth < 0.35:
            upper = mouth_v - 0.035 + 0.02 * mu**2
            lower = mouth_v + 0.045 - 0.02 * mu**2
            teeth = self.region(al, upper, lower)
            self.draw.polygon(teeth, fill=_grey(min(0.95, sk * 1.1 + 0.08)))
            self.draw.line(self.face(al, (upper + lower) / 2), fill=_grey(sk * 0.4), width=max(1, _SS // 2))
            self.draw.line(teeth + teeth[:1], fill=lip, width=int(1.3 * _SS))
        else:
            v = mouth_v - p["mouth_curve"] * (mu**2 - 0.3)
            width = int((1.8 + 0.8 * u.lip_width) * _SS * p["lip_w"])
            self.draw.line(self.face(al, v), fill=lip, width=width, joint="curve")
            lower_lip = self.face(al * 0.6, v + 0.06 - 0.06 * p["mouth_curve"] * (mu**2 - 0.3))
            self.draw.line(lower_lip, fill=_grey(sk * 0.88), width=_SS)

    def _glasses(self) -> None:
        dark, eye_sep = _grey(0.1 + 0.3 * self.u.glasses_darkness), self.eye_sep
        for side in (-1.0, 1.0):
            al = side * eye_sep + 0.21 * np.cos(np.linspace(0, 2 * math.pi, 17))
            v = 0.005 + 0.13 * np.sin(np.linspace(0, 2 * math.pi, 17))
            self.draw.line(self.face(al, v), fill=dark, width=int(1.2 * _SS))
        self.draw.line(self.face([-eye_sep + 0.21, eye_sep - 0.21], [-0.02, -0.02]), fill=dark, width=int(1.2 * _SS))

    def _hand(self) -> None:
        """A hand in front of the face, from below on one side."""
        u, a, b, skin = self.u, self.a, self.b, self.skin
        hand_side = -1.0 if u.hand_side < 0.5 else 1.0
        hx0 = hand_side * (0.55 + 0.3 * u.hand_x) * a
        hy0 = (0.75 + 0.35 * u.hand_y) * b
        hw, hh = (0.45 + 0.2 * u.hand_width) * a, (0.55 + 0.2 * u.hand_height) * b
        tt = np.linspace(0, 2 * math.pi, 20, endpoint=False)
        palm = self.screen(hx0 + hw * np.cos(tt), hy0 + hh * np.sin(tt))
        self.draw.polygon(palm, fill=_grey(min(0.95, skin * (0.9 + 0.25 * u.hand_skin))))
        for k in range(3):  # the gaps between fingers
            fx = hx0 + (k - 1) * hw * 0.45
            gap = self.screen([fx, fx + hand_side * 0.1 * a], [hy0 - hh * 0.9, hy0 - hh * 0.2])
            self.draw.line(gap, fill=_grey(skin * 0.7), width=_SS)

    def _camera(self, canvas: Image.Image) -> np.ndarray:
        """Blur; shading (side light, darker towards the rim of the head, a little from above); down to
        64 px; low contrast, gamma, noise, JPEG. Returns the picture (:meth:`paint`)."""
        u, cr, sr = self.u, self.cr, self.sr
        blur_sigma = 0.25 + 0.85 * u.blur
        img = np.asarray(canvas.filter(ImageFilter.GaussianBlur(blur_sigma * _SS)), dtype=np.float32) * (1.0 / 255.0)
        X = _XS[None, :] * _S - self.cx
        Y = _XS[:, None] * _S - self.cy
        xl = (cr * X + sr * Y) / self.a
        yl = (-sr * X + cr * Y) / self.b
        rho2 = xl * xl + yl * yl
        inside = np.clip((1.25 - rho2) * 2.0, 0.0, 1.0)
        shade_top = 0.15 * (u.shade_top - 0.3)
        img = img * (
            1.0 + inside * (self.light * np.clip(xl, -1.2, 1.2) - 0.38 * np.clip(rho2, 0, 1.2) ** 2 - shade_top * yl)
        )
        img = 0.25 * (img[0::2, 0::2] + img[1::2, 0::2] + img[0::2, 1::2] + img[1::2, 1::2])
        m = float(img.mean())
        contrast, gamma = 0.55 + 0.5 * u.contrast, 0.8 + 0.45 * u.gamma
        img = np.clip(m + contrast * (img - m), 0.0, 1.0) ** gamma
        noise_sd = 0.008 + 0.03 * u.noise
        img = img + noise_sd * np.random.default_rng(self.noise_seed).standard_normal(img.shape, dtype=np.float32)
        out = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        jpeg_q = int(20 + 70 * u.jpeg_quality) if u.jpeg < 0.6 else 0
        if jpeg_q:
            buf = io.BytesIO()
            Image.fromarray(out, mode="L").save(buf, format="JPEG", quality=jpeg_q)
            out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
        return np.repeat(out[:, :, None], 3, axis=2)


def _bbox(points: list[tuple[float, float]]) -> list[float]:
    """The bounding box [x0, y0, x1, y1] of points (at least 1 px wide and high)."""
    xs = [q[0] for q in points]
    ys = [q[1] for q in points]
    return [min(xs), min(ys), max(max(xs), min(xs) + 1.0), max(max(ys), min(ys) + 1.0)]
