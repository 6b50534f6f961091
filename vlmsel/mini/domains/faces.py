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
from typing import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vlmsel.mini.domains.base import IMAGE_SIZE, Domain, article, check_split

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
    words = tuple(
        dict.fromkeys(
            " ".join(_LEAD).split()
            + " ".join(p for ps in _POSE_PHRASES.values() for p in ps).split()
            + list(EXPRESSIONS)
            + list(POSES)
            + "a an face person human looking with expression of".split()
        )
    )

    # -- pixels --------------------------------------------------------------------------------
    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        check_split(split)
        rng = np.random.default_rng(seed)
        # every nuisance first, in a fixed order, whatever the attributes
        u = rng.random(64).tolist()  # generic uniforms, used by index below
        n = rng.standard_normal(8).tolist()
        clutter = rng.random((6, 7))
        noise_seed = int(rng.integers(2**31))

        b = (29.0 + 7.0 * u[0]) * _SS  # head half-height, px
        a = b * (0.70 + 0.14 * u[1])  # head half-width
        eye_y = (23.0 + 7.0 * u[2]) * _SS  # eye line, px from the top
        cx = _S / 2 + (u[3] - 0.5) * 14.0 * _SS
        rot = 0.13 * n[0]
        skin = 0.42 + 0.42 * u[4]
        hair_v = float(np.clip(0.04 + 0.75 * u[5] ** 1.5, 0.0, 0.9))
        hair_style = int(u[6] * 4)  # short, long, fringe, almost none
        hairline = -0.50 - 0.15 * u[7]
        light = 0.60 * (u[8] - 0.5) * 2.0  # side light strength and side
        yaw_mag = 0.45 + 0.22 * u[9]
        yaw_front = 0.08 * (u[10] - 0.5) * 2.0
        strength = 0.65 + 0.55 * u[11]  # how strong the expression is
        gaze = 0.04 * (u[12] - 0.5)
        bg0, bg1 = 0.1 + 0.8 * u[13], 0.1 + 0.8 * u[14]
        bg_angle = 2 * math.pi * u[15]
        glasses = u[16] < 0.14
        hand = u[17] < 0.12
        hand_side = -1.0 if u[18] < 0.5 else 1.0
        open_smile = u[19] < 0.5
        bared = u[20] < 0.35
        blur_sigma = 0.25 + 0.85 * u[21]
        contrast = 0.55 + 0.5 * u[22]
        gamma = 0.8 + 0.45 * u[23]
        noise_sd = 0.008 + 0.03 * u[24]
        jpeg_q = int(20 + 70 * u[25]) if u[26] < 0.6 else 0
        brow_w = (2.2 + 1.8 * u[27]) * _SS
        brow_dark = 0.25 + 0.35 * u[28]
        neck_w = 0.50 + 0.15 * u[29]
        ear_size = 0.16 + 0.06 * u[30]
        eye_sep = 0.36 + 0.06 * u[31]
        mouth_v = 0.56 + 0.08 * u[32]
        glasses_dark = 0.1 + 0.3 * u[33]
        clothes = 0.1 + 0.7 * u[34]
        lip_dark = 0.45 + 0.2 * u[35]
        brow_len = 0.40 + 0.08 * u[36]
        shade_top = 0.15 * (u[37] - 0.3)

        expr = attrs["expression"]
        yaw = yaw_mag * _YAW[attrs["pose"]] if attrs["pose"] != "front" else yaw_front
        p = dict(_NEUTRAL)
        for key, value in _EXPRESSION[expr].items():
            p[key] = _NEUTRAL[key] + strength * (value - _NEUTRAL[key])
        p["mouth_w"] = _NEUTRAL["mouth_w"] + (p["mouth_w"] - _NEUTRAL["mouth_w"]) * min(strength, 1.0)

        cy = eye_y + 0.05 * b  # head centre a little below the eye line
        cr, sr = math.cos(rot), math.sin(rot)

        def screen(x, y):
            x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
            return list(zip((cx + cr * x - sr * y).tolist(), (cy + sr * x + cr * y).tolist()))

        def face(alpha, v):  # a point on the turning head (alpha: radians, v: half-heights from the centre)
            alpha = np.asarray(alpha, dtype=np.float64)
            x = a * 1.02 * np.sin(np.minimum(np.maximum(alpha + yaw, -1.45), 1.45))
            return screen(x, b * np.asarray(v, dtype=np.float64))

        def region(alpha, v_top, v_bottom):  # the area between two curves over the same alphas
            alpha = np.asarray(alpha, dtype=np.float64)
            return face(np.concatenate([alpha, alpha[::-1]]), np.concatenate([v_top, np.asarray(v_bottom)[::-1]]))

        def g(level: float) -> int:
            return int(min(max(float(level), 0.0), 1.0) * 255 + 0.5)

        # background: a gradient with a little clutter
        xs = np.arange(_S, dtype=np.float32) / _S
        ramp = np.cos(bg_angle) * xs[None, :] + np.sin(bg_angle) * xs[:, None]
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        canvas = Image.fromarray(((bg0 + (bg1 - bg0) * ramp) * 255).astype(np.uint8), mode="L")
        draw = ImageDraw.Draw(canvas)
        for c in clutter:
            if c[0] < 0.55:
                x0, y0 = c[1] * _S, c[2] * _S
                w, h = (0.1 + 0.5 * c[3]) * _S, (0.1 + 0.5 * c[4]) * _S
                fill = g(0.1 + 0.8 * c[5])
                if c[6] < 0.5:
                    draw.rectangle([x0, y0, x0 + w, y0 + h], fill=fill)
                else:
                    draw.ellipse([x0, y0, x0 + w, y0 + h], fill=fill)

        # clothes and neck
        draw.ellipse([cx - 2.2 * a, cy + 1.25 * b, cx + 2.2 * a, cy + 3.2 * b], fill=g(clothes))
        neck_x = np.array([-1.0, 1.0, 1.1, -1.1]) * neck_w * a
        draw.polygon(screen(neck_x, np.array([0.4, 0.4, 1.6, 1.6]) * b), fill=g(skin * 0.78))

        # hair behind the head (long hair)
        t = np.linspace(0.0, 2 * math.pi, 48, endpoint=False)
        if hair_style == 1:
            below = (0.9 + 0.5 * u[38]) * b  # how far down the hair falls
            hy = np.where(np.sin(t) < 0, 1.10 * b * np.sin(t), below * np.abs(np.sin(t)) ** 0.6)
            hx = 1.17 * a * np.cos(t) * (1.0 - 0.12 * np.clip(np.sin(t), 0, 1) ** 4)
            draw.polygon(screen(hx - 0.25 * a * math.sin(yaw), hy), fill=g(hair_v))

        def ear(side: float, ex: float, ew: float) -> None:
            tt = np.linspace(0.0, 2 * math.pi, 16, endpoint=False)
            draw.polygon(screen(ex + side * ew * np.cos(tt), (0.03 + 0.17 * np.sin(tt)) * b), fill=g(skin * 0.9))
            inner = screen(ex + side * ew * 0.45 * np.cos(tt[4:13]), (0.03 + 0.10 * np.sin(tt[4:13])) * b)
            draw.line(inner, fill=g(skin * 0.65), width=_SS)

        # ears of a frontal head stick out behind it
        if abs(yaw) < 0.2:
            for side in (-1.0, 1.0):
                ear(side, side * a * 0.93, ear_size * a)

        # the head: an egg, narrower at the chin, the jaw following the turn
        sin_t = np.sin(t)
        low = np.clip(sin_t, 0.0, 1.0)
        high = np.clip(-sin_t, 0.0, 1.0)
        hx = a * np.cos(t) * (1.0 - 0.20 * low**2) + a * math.sin(yaw) * (0.24 * low**2 - 0.08 * high)
        hy = b * sin_t * (1.0 + 0.04 * low)
        draw.polygon(screen(hx, hy), fill=g(skin))
        draw.ellipse(_bbox(face([-0.3, 0.3, 0.0, 0.0], [-0.5, -0.5, -0.64, -0.36])), fill=g(min(0.98, skin * 1.06)))
        if abs(yaw) >= 0.2:  # a turned head shows one ear, on its side (the other hides behind it)
            side = -math.copysign(1.0, yaw)
            ear(side, side * a * math.cos(abs(yaw)) * 0.92, ear_size * a * 0.75)

        # hair on the head
        if hair_style != 3 or u[39] < 0.5:
            side_lim = math.pi / 2 - 0.05
            al = np.linspace(-side_lim - yaw, side_lim - yaw, 17)
            line_v = (hairline if hair_style != 2 else -0.33 - 0.08 * u[40]) + 0.16 * al**2
            if hair_style == 3:
                line_v = -0.80 + 0.05 * al**2
            hair_pts = face(al, line_v)[::-1]
            top = np.linspace(math.pi, 2 * math.pi, 17)
            scale = 1.05 if hair_style != 3 else 1.0
            hair_pts = screen(a * scale * np.cos(top), b * scale * 1.03 * np.sin(top)) + hair_pts
            draw.polygon(hair_pts, fill=g(hair_v if hair_style != 3 else 0.5 * hair_v + 0.5 * skin * 0.8))

        sk = skin
        # eye sockets (a shadow around each eye)
        for side in (-1.0, 1.0):
            arc = np.cos(np.linspace(-1.5, 1.5, 13))
            socket = region(side * eye_sep + 0.24 * np.linspace(-1, 1, 13), -0.02 - 0.14 * arc, 0.04 + 0.09 * arc)
            draw.polygon(socket, fill=g(sk * 0.86))

        # eyes
        uu = np.linspace(-1.0, 1.0, 11)
        for side in (-1.0, 1.0):
            ac = side * eye_sep
            half_w = 0.15
            droop = 0.0
            if expr == "sad":
                droop = 0.02 * strength
            up = -p["eye_up"] * (1.0 - uu**2) ** 0.7 + side * uu * droop
            lo = p["eye_low"] * (1.0 - uu**2) ** 0.9 + side * uu * droop * 0.5
            al = ac + uu * half_w
            draw.polygon(region(al, up, lo), fill=g(min(0.97, sk * 1.15 + 0.12)))
            # the iris, cut (roughly) by the lids: no taller than the opening
            ia = ac + gaze
            (mx, my), = face([ia], [(p["eye_low"] - p["eye_up"]) / 2])
            rx = max(0.062 * a * math.cos(min(abs(ia + yaw), 1.4)), 1.0)
            ry = max(min(0.062 * a, 0.9 * b * (p["eye_up"] + p["eye_low"]) / 2), 1.0)
            draw.ellipse([mx - rx, my - ry, mx + rx, my + ry], fill=g(sk * 0.28))
            draw.line(face(al, up - 0.008), fill=g(sk * 0.22), width=max(2, int(1.3 * _SS)))
            if expr == "happy" and strength > 0.8:  # lower lid pushed up: a crescent
                draw.line(face(al, lo + 0.012), fill=g(sk * 0.6), width=_SS)

        # brows
        for side in (-1.0, 1.0):
            s_ = np.linspace(0.0, 1.0, 9)
            al = side * (0.10 + s_ * brow_len)
            v = p["brow_in"] + (p["brow_out"] - p["brow_in"]) * s_ - p["brow_arch"] * np.sin(math.pi * s_)
            width = int(brow_w * (1.2 if expr == "angry" else 1.0))
            draw.line(face(al, v), fill=g(min(sk * brow_dark, hair_v * 0.8 + sk * 0.2)), width=width, joint="curve")

        # nose: a shadow on one side, nostrils, and the tip pointing where the face looks
        nose_side = 1.0 if light < 0 else -1.0
        if abs(yaw) > 0.2:
            nose_side = math.copysign(1.0, -yaw)
        tip_shift = 0.22 * math.sin(yaw)  # the tip stands out of the face: it moves further when turned
        ridge = np.array([0.06, 0.07, 0.10]) * nose_side + np.array([0.0, tip_shift, tip_shift])
        draw.line(face(ridge, [0.05, 0.27, 0.36]), fill=g(sk * 0.74), width=int(1.6 * _SS))
        for side in (-1.0, 1.0):
            nx = side * 0.08 + tip_shift
            nostril = face([nx - 0.035, nx + 0.035, nx, nx], [0.39, 0.39, 0.37, 0.41])
            draw.ellipse(_bbox(nostril), fill=g(sk * 0.45))

        # light on the forehead and the nose bridge, shadow under the nose and the lower lip
        draw.line(face([tip_shift * 0.3, tip_shift * 0.8], [0.08, 0.3]), fill=g(sk * 1.1), width=int(1.5 * _SS))
        draw.line(face([tip_shift - 0.08, tip_shift + 0.08], [0.445, 0.445]), fill=g(sk * 0.8), width=_SS)
        chin = face([-0.12, 0.0, 0.12], np.array([0.13, 0.15, 0.13]) + mouth_v)
        draw.line(chin, fill=g(sk * 0.85), width=_SS)

        # expression cues around the mouth and the forehead
        if p["folds"] > 0.5:
            for side in (-1.0, 1.0):
                fold = face(np.array([0.16, 0.26, 0.30]) * side, [0.34, 0.46, mouth_v + 0.02])
                draw.line(fold, fill=g(sk * 0.80), width=_SS)
        if p["forehead"] > 0.5:
            for k in range(2):
                al = np.linspace(-0.35, 0.35, 9)
                draw.line(face(al, -0.60 - 0.08 * k + 0.05 * al**2), fill=g(sk * 0.88), width=_SS)
        if p["frown_line"] > 0.5:
            for side in (-1.0, 1.0):
                draw.line(face([side * 0.04, side * 0.05], [-0.30, -0.16]), fill=g(sk * 0.7), width=_SS)

        # mouth
        mw = p["mouth_w"]
        mu = np.linspace(-1.0, 1.0, 15)
        al = mu * mw
        lip = g(sk * lip_dark)
        if p["o_mouth"] > 0.5:  # surprised: an open O
            tt = np.linspace(0, 2 * math.pi, 20, endpoint=False)
            oh = 0.10 + 0.06 * min(strength, 1.1)
            outer = face(np.cos(tt) * (mw + 0.03), mouth_v + 0.02 + np.sin(tt) * (oh + 0.03))
            inner = face(np.cos(tt) * mw, mouth_v + 0.02 + np.sin(tt) * oh)
            draw.polygon(outer, fill=lip)
            draw.polygon(inner, fill=g(sk * 0.18))
        elif expr == "happy" and open_smile:  # an open smile with teeth
            upper = mouth_v - p["mouth_curve"] * (mu**2) * 0.9
            lower = mouth_v + 0.06 + p["mouth_curve"] * (1 - mu**2) * 0.6
            draw.polygon(region(al, upper, lower), fill=g(sk * 0.2))
            draw.polygon(region(al * 0.85, upper + 0.005, upper + 0.05), fill=g(min(0.95, sk * 1.15 + 0.1)))
            draw.line(face(al, lower), fill=lip, width=int(1.5 * _SS))
        elif expr == "angry" and bared:  # bared, clenched teeth
            upper = mouth_v - 0.035 + 0.02 * mu**2
            lower = mouth_v + 0.045 - 0.02 * mu**2
            teeth = region(al, upper, lower)
            draw.polygon(teeth, fill=g(min(0.95, sk * 1.1 + 0.08)))
            draw.line(face(al, (upper + lower) / 2), fill=g(sk * 0.4), width=max(1, _SS // 2))
            draw.line(teeth + teeth[:1], fill=lip, width=int(1.3 * _SS))
        else:  # a closed mouth: smile, frown, tight or flat line
            v = mouth_v - p["mouth_curve"] * (mu**2 - 0.3)
            draw.line(face(al, v), fill=lip, width=int((1.8 + 0.8 * u[41]) * _SS * p["lip_w"]), joint="curve")
            lower_lip = face(al * 0.6, v + 0.06 - 0.06 * p["mouth_curve"] * (mu**2 - 0.3))
            draw.line(lower_lip, fill=g(sk * 0.88), width=_SS)

        # glasses
        if glasses:
            gd = g(glasses_dark)
            for side in (-1.0, 1.0):
                al = side * eye_sep + 0.21 * np.cos(np.linspace(0, 2 * math.pi, 17))
                v = 0.005 + 0.13 * np.sin(np.linspace(0, 2 * math.pi, 17))
                draw.line(face(al, v), fill=gd, width=int(1.2 * _SS))
            draw.line(face([-eye_sep + 0.21, eye_sep - 0.21], [-0.02, -0.02]), fill=gd, width=int(1.2 * _SS))

        # a hand in front of the face, from below on one side
        if hand:
            hx0 = hand_side * (0.55 + 0.3 * u[42]) * a
            hy0 = (0.75 + 0.35 * u[43]) * b
            hw, hh = (0.45 + 0.2 * u[44]) * a, (0.55 + 0.2 * u[45]) * b
            tt = np.linspace(0, 2 * math.pi, 20, endpoint=False)
            palm = screen(hx0 + hw * np.cos(tt), hy0 + hh * np.sin(tt))
            draw.polygon(palm, fill=g(min(0.95, skin * (0.9 + 0.25 * u[46]))))
            for k in range(3):  # the gaps between fingers
                fx = hx0 + (k - 1) * hw * 0.45
                gap = screen([fx, fx + hand_side * 0.1 * a], [hy0 - hh * 0.9, hy0 - hh * 0.2])
                draw.line(gap, fill=g(skin * 0.7), width=_SS)

        # shading: side light, darker towards the rim of the head, a little from above
        img = np.asarray(canvas.filter(ImageFilter.GaussianBlur(blur_sigma * _SS)), dtype=np.float32) * (1.0 / 255.0)
        X = (xs[None, :] * _S - cx)
        Y = (xs[:, None] * _S - cy)
        xl = (cr * X + sr * Y) / a
        yl = (-sr * X + cr * Y) / b
        rho2 = xl * xl + yl * yl
        inside = np.clip((1.25 - rho2) * 2.0, 0.0, 1.0)
        shade = 1.0 + inside * (light * np.clip(xl, -1.2, 1.2) - 0.38 * np.clip(rho2, 0, 1.2) ** 2 - shade_top * yl)
        img = img * shade
        # down to 64 px, low contrast, gamma, noise, JPEG
        img = 0.25 * (img[0::2, 0::2] + img[1::2, 0::2] + img[0::2, 1::2] + img[1::2, 1::2])
        m = float(img.mean())
        img = np.clip(m + contrast * (img - m), 0.0, 1.0) ** gamma
        img = img + noise_sd * np.random.default_rng(noise_seed).standard_normal(img.shape, dtype=np.float32)
        out = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        if jpeg_q:
            buf = io.BytesIO()
            Image.fromarray(out, mode="L").save(buf, format="JPEG", quality=jpeg_q)
            out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
        return np.repeat(out[:, :, None], 3, axis=2)

    # -- words ---------------------------------------------------------------------------------
    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        named = set(named)
        lead = _LEAD[int(rng.integers(len(_LEAD)))]
        if "expression" in named:
            e = attrs["expression"]
            forms = (f"{article(e)} {e} face", f"a person looking {e}", f"a face with {article(e)} {e} expression",
                     f"{article(e)} {e} person", f"{article(e)} {e} human face")  # fmt: skip
            subject = forms[int(rng.integers(len(forms)))]
        else:
            subject = ("a face", "a person", "a human face")[int(rng.integers(3))]
        text = f"{lead} {subject}".strip()
        if "pose" in named:
            phrases = _POSE_PHRASES[attrs["pose"]]
            text = f"{text} {phrases[int(rng.integers(len(phrases)))]}"
        if not lead and "face" not in text:
            text = f"a photo of {text}"
        return text


def _bbox(points: list[tuple[float, float]]) -> list[float]:
    """The bounding box [x0, y0, x1, y1] of points (at least 1 px wide and high)."""
    xs = [q[0] for q in points]
    ys = [q[1] for q in points]
    return [min(xs), min(ys), max(max(xs), min(xs) + 1.0), max(max(ys), min(ys) + 1.0)]
