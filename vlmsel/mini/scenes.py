"""Generated scenes of the mini world: seeded 64x64 RGB images with known attributes.

A *scene* is a small, fully described picture: a background (plain colour or a texture such as
stripes of a given orientation) with either a few coloured shapes on it or one handwritten digit
taken from scikit-learn's bundled digits (``sklearn.datasets.load_digits``, no download). A scene is
first *sampled* as plain data (:class:`Scene`, every attribute named) from a
:class:`SceneDistribution` with a seeded ``numpy.random.Generator``, then *rendered* to pixels by
:func:`render`. The same seed always gives the same scenes and the same pixels.

The caption generator (:mod:`vlmsel.mini.captions`) describes a :class:`Scene` in words and the
tasks (:mod:`vlmsel.mini.tasks`) label scenes by one attribute, so images, captions and labels
always agree. Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

IMAGE_SIZE = 64
"""Side of every generated image, in pixels."""

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "cross", "ring")
"""Object shapes, in a fixed order (labels of the shape tasks index this tuple)."""

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.86, 0.14, 0.14),
    "orange": (0.97, 0.55, 0.10),
    "yellow": (0.93, 0.86, 0.15),
    "green": (0.15, 0.66, 0.22),
    "cyan": (0.15, 0.80, 0.84),
    "blue": (0.15, 0.30, 0.88),
    "purple": (0.56, 0.22, 0.76),
    "pink": (0.97, 0.50, 0.72),
}
"""Object colours (RGB in [0, 1]); backgrounds use muted greys, never these."""

COUNT_WORDS: dict[int, str] = {1: "one", 2: "two", 3: "three", 4: "four"}
"""Number of shapes in a scene and its word."""

SIZES: dict[str, float] = {"small": 5.0, "medium": 8.5, "large": 13.5}
"""Object size class -> radius in pixels (jittered by +-10 % when sampled)."""

POSITIONS: dict[str, tuple[float, float]] = {
    "left": (15.0, 32.0),
    "right": (49.0, 32.0),
    "top": (32.0, 15.0),
    "bottom": (32.0, 49.0),
    "middle": (32.0, 32.0),
}
"""Anchor (x, y) of a single object, in pixels (jittered when sampled)."""

BACKGROUNDS: tuple[str, ...] = ("plain", "striped", "dotted", "checkered", "grid", "noisy")
"""Background textures."""

ORIENTATIONS: dict[str, tuple[float, float]] = {
    "horizontal": (0.0, 1.0),
    "vertical": (1.0, 0.0),
    "rising": (0.7071067811865476, 0.7071067811865476),
    "falling": (0.7071067811865476, -0.7071067811865476),
}
"""Stripe orientation -> unit normal (nx, ny) of the stripes; "rising" runs bottom-left to top-right."""

DIGIT_WORDS: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
"""Digit value -> word."""

N_DIGITS_TRAIN = 1200
"""scikit-learn digits with index < this are used for pretraining, the rest (597) only by the tasks."""


@dataclass(frozen=True)
class SceneObject:
    """One coloured shape: centre ``(x, y)`` and ``radius`` in pixels, ``outline`` draws only its edge."""

    shape: str
    colour: str
    rgb: tuple[float, float, float]
    x: float
    y: float
    radius: float
    outline: bool = False


@dataclass(frozen=True)
class Scene:
    """A fully described scene; :func:`render` turns it into pixels.

    ``objects`` is empty for a digit scene; ``digit`` (0-9) and ``digit_index`` (row of
    ``load_digits``) are ``None`` for a shape scene. ``size`` and ``position`` are the size class and
    anchor of a single-object scene (``None`` when the scene has several objects). ``seed`` drives the
    pixel noise and the noisy background, so rendering is deterministic.
    """

    background: str
    orientation: str | None
    bg_rgb: tuple[float, float, float]
    texture_rgb: tuple[float, float, float]
    period: float
    phase: float
    objects: tuple[SceneObject, ...] = ()
    size: str | None = None
    position: str | None = None
    digit: int | None = None
    digit_index: int | None = None
    digit_colour: str | None = None
    digit_rgb: tuple[float, float, float] | None = None
    digit_xy: tuple[float, float] | None = None
    digit_scale: float | None = None
    pixel_noise: float = 0.03
    seed: int = 0

    @property
    def count(self) -> int:
        """Number of shapes (0 for a digit scene)."""
        return len(self.objects)

    @property
    def shapes(self) -> tuple[str, ...]:
        return tuple(o.shape for o in self.objects)

    @property
    def colours(self) -> tuple[str, ...]:
        return tuple(o.colour for o in self.objects)

    @property
    def kind(self) -> str:
        """``"digit"`` or ``"shapes"``."""
        return "digit" if self.digit is not None else "shapes"


@dataclass(frozen=True)
class SceneDistribution:
    """Which scenes to sample: the allowed values of every attribute (sampled uniformly).

    Every task and every pretraining mixture has its own distribution. Shape scenes have ``count``
    objects that all share one shape and one colour when ``same_shape`` / ``same_colour`` (the
    default: the scene then has one well-defined shape and colour), else independent ones.

    Attributes
    ----------
    digit_prob : probability that a scene is a digit scene instead of shapes (default 0).
    digit_pool : ``"train"`` (``load_digits`` rows < :data:`N_DIGITS_TRAIN`) or ``"test"`` (the rest).
    digit_scale : range of the digit's side in pixels.
    colour_jitter : +- uniform jitter added to each RGB channel of an object colour.
    position_jitter : +- uniform jitter of a single object's anchor, in pixels.
    outline_prob : probability that shapes are drawn as outlines only.
    pixel_noise : range of the Gaussian pixel-noise standard deviation (in [0, 1] intensity units).
    texture_contrast : range of the brightness difference between a texture's two colours.
    bg_level : range of the background grey level.
    """

    shapes: tuple[str, ...] = SHAPES
    colours: tuple[str, ...] = tuple(COLOURS)
    counts: tuple[int, ...] = (1, 2, 3, 4)
    sizes: tuple[str, ...] = tuple(SIZES)
    positions: tuple[str, ...] = tuple(POSITIONS)
    backgrounds: tuple[str, ...] = BACKGROUNDS
    orientations: tuple[str, ...] = tuple(ORIENTATIONS)
    digits: tuple[int, ...] = tuple(range(10))
    digit_prob: float = 0.0
    digit_pool: str = "train"
    digit_scale: tuple[float, float] = (26.0, 40.0)
    same_shape: bool = True
    same_colour: bool = True
    colour_jitter: float = 0.06
    position_jitter: float = 4.0
    outline_prob: float = 0.0
    pixel_noise: tuple[float, float] = (0.01, 0.04)
    texture_contrast: tuple[float, float] = (0.15, 0.3)
    bg_level: tuple[float, float] = (0.08, 0.5)

    def fix(self, **values) -> "SceneDistribution":
        """A copy with some attributes replaced (e.g. ``dist.fix(shapes=("circle",))``)."""
        return dataclasses.replace(self, **values)

    def __post_init__(self) -> None:
        checks = {
            "shapes": (self.shapes, SHAPES),
            "colours": (self.colours, tuple(COLOURS)),
            "counts": (self.counts, tuple(COUNT_WORDS)),
            "sizes": (self.sizes, tuple(SIZES)),
            "positions": (self.positions, tuple(POSITIONS)),
            "backgrounds": (self.backgrounds, BACKGROUNDS),
            "orientations": (self.orientations, tuple(ORIENTATIONS)),
            "digits": (self.digits, tuple(range(10))),
        }
        for name, (values, allowed) in checks.items():
            if not values:
                raise ValueError(f"SceneDistribution.{name} is empty")
            bad = [v for v in values if v not in allowed]
            if bad:
                raise ValueError(f"SceneDistribution.{name}: unknown value(s) {bad}; allowed: {list(allowed)}")
        if self.digit_pool not in ("train", "test"):
            raise ValueError(f"SceneDistribution.digit_pool must be 'train' or 'test', got {self.digit_pool!r}")
        if not 0.0 <= self.digit_prob <= 1.0:
            raise ValueError(f"SceneDistribution.digit_prob must be in [0, 1], got {self.digit_prob}")


# ----------------------------------------------------------------------------------------------
# digits


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype(np.float32), data.target.astype(np.int64)


@functools.lru_cache(maxsize=2)
def digit_indices(pool: str) -> dict[int, np.ndarray]:
    """Rows of ``load_digits`` in ``pool`` (``"train"`` / ``"test"``), grouped by digit value."""
    _, target = _digits()
    rows = np.arange(len(target))
    rows = rows[rows < N_DIGITS_TRAIN] if pool == "train" else rows[rows >= N_DIGITS_TRAIN]
    return {d: rows[target[rows] == d] for d in range(10)}


# ----------------------------------------------------------------------------------------------
# sampling


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _pick(rng: np.random.Generator, values: tuple):
    return values[int(rng.integers(len(values)))]


def _jitter_rgb(rng: np.random.Generator, rgb: tuple[float, float, float], amount: float) -> tuple[float, float, float]:
    out = np.clip(np.asarray(rgb) + rng.uniform(-amount, amount, size=3), 0.0, 1.0)
    return tuple(float(v) for v in out)


def _background(rng: np.random.Generator, dist: SceneDistribution) -> dict:
    level = _uniform(rng, dist.bg_level)
    tint = rng.uniform(-0.05, 0.05, size=3)
    bg = np.clip(level + tint, 0.0, 1.0)
    contrast = _uniform(rng, dist.texture_contrast)
    sign = 1.0 if level + contrast <= 0.85 else -1.0
    tex = np.clip(bg + sign * contrast + rng.uniform(-0.03, 0.03, size=3), 0.0, 1.0)
    background = _pick(rng, dist.backgrounds)
    orientation = _pick(rng, dist.orientations) if background == "striped" else None
    return dict(
        background=background,
        orientation=orientation,
        bg_rgb=tuple(float(v) for v in bg),
        texture_rgb=tuple(float(v) for v in tex),
        period=float(rng.uniform(6.0, 10.0)),
        phase=float(rng.uniform(0.0, 1.0)),
    )


def _place(rng: np.random.Generator, radii: list[float]) -> list[tuple[float, float]] | None:
    """Rejection-sample non-overlapping centres inside the image; ``None`` when it fails."""
    centres: list[tuple[float, float]] = []
    for r in radii:
        for _ in range(100):
            x, y = rng.uniform(r + 1, IMAGE_SIZE - r - 1, size=2)
            if all((x - cx) ** 2 + (y - cy) ** 2 >= (r + cr + 2) ** 2 for (cx, cy), cr in zip(centres, radii)):
                centres.append((float(x), float(y)))
                break
        else:
            return None
    return centres


def sample_scene(rng: np.random.Generator, dist: SceneDistribution = SceneDistribution()) -> Scene:
    """Draw one scene from ``dist`` with ``rng`` (the only source of randomness)."""
    bg = _background(rng, dist)
    noise = _uniform(rng, dist.pixel_noise)
    seed = int(rng.integers(2**31 - 1))
    if dist.digit_prob > 0 and rng.random() < dist.digit_prob:
        digit = int(_pick(rng, dist.digits))
        rows = digit_indices(dist.digit_pool)[digit]
        colour = _pick(rng, dist.colours)
        scale = _uniform(rng, dist.digit_scale)
        half = scale / 2
        xy = (float(rng.uniform(half, IMAGE_SIZE - half)), float(rng.uniform(half, IMAGE_SIZE - half)))
        return Scene(
            **bg,
            digit=digit,
            digit_index=int(rows[int(rng.integers(len(rows)))]),
            digit_colour=colour,
            digit_rgb=_jitter_rgb(rng, COLOURS[colour], dist.colour_jitter),
            digit_xy=xy,
            digit_scale=scale,
            pixel_noise=noise,
            seed=seed,
        )
    count = int(_pick(rng, dist.counts))
    outline = bool(dist.outline_prob > 0 and rng.random() < dist.outline_prob)
    shape0, colour0 = _pick(rng, dist.shapes), _pick(rng, dist.colours)
    shapes = [shape0 if dist.same_shape or i == 0 else _pick(rng, dist.shapes) for i in range(count)]
    colours = [colour0 if dist.same_colour or i == 0 else _pick(rng, dist.colours) for i in range(count)]
    if count == 1:
        size = _pick(rng, dist.sizes)
        position = _pick(rng, dist.positions)
        radius = SIZES[size] * float(rng.uniform(0.9, 1.1))
        ax, ay = POSITIONS[position]
        j = dist.position_jitter
        lo, hi = radius + 1, IMAGE_SIZE - radius - 1
        x = float(np.clip(ax + rng.uniform(-j, j), lo, hi))
        y = float(np.clip(ay + rng.uniform(-j, j), lo, hi))
        centres, radii = [(x, y)], [radius]
    else:
        size, position = None, None
        centres = None
        while centres is None:  # shrink until the objects fit side by side
            base = _pick(rng, ("small", "medium") if count <= 2 else ("small",))
            radii = [SIZES[base] * float(rng.uniform(0.85, 1.15)) for _ in range(count)]
            centres = _place(rng, radii)
    objects = tuple(
        SceneObject(
            shape=s,
            colour=c,
            rgb=_jitter_rgb(rng, COLOURS[c], dist.colour_jitter),
            x=cx,
            y=cy,
            radius=r,
            outline=outline,
        )
        for s, c, (cx, cy), r in zip(shapes, colours, centres, radii)
    )
    return Scene(**bg, objects=objects, size=size, position=position, pixel_noise=noise, seed=seed)


def sample_scenes(n: int, seed: int, dist: SceneDistribution = SceneDistribution()) -> list[Scene]:
    """``n`` scenes from ``dist``; the same ``seed`` always gives the same list."""
    rng = np.random.default_rng(seed)
    return [sample_scene(rng, dist) for _ in range(n)]


# ----------------------------------------------------------------------------------------------
# groups of scenes that differ in one attribute (hard negatives for contrastive training)

ATTRIBUTES: dict[str, str] = {
    "shape": "shapes",
    "colour": "colours",
    "count": "counts",
    "size": "sizes",
    "position": "positions",
    "background": "backgrounds",
    "orientation": "orientations",
    "digit": "digits",
}
"""Attribute a scene group may vary -> the :class:`SceneDistribution` field listing its values."""


def applicable_attributes(scene: Scene) -> list[str]:
    """The attributes of :data:`ATTRIBUTES` that ``scene`` has (a digit scene has no shape, ...)."""
    out = ["colour", "background"]
    if scene.background == "striped":
        out.append("orientation")
    if scene.digit is not None:
        return out + ["digit"]
    out += ["shape", "count"]
    if scene.count == 1:
        out += ["size", "position"]
    return out


def pinned(scene: Scene, dist: SceneDistribution) -> SceneDistribution:
    """``dist`` restricted to the discrete attributes of ``scene`` (continuous details stay random)."""
    fix: dict = dict(colours=(scene.digit_colour if scene.digit is not None else scene.colours[0],),
                     backgrounds=(scene.background,))
    if scene.orientation is not None:
        fix["orientations"] = (scene.orientation,)
    if scene.digit is not None:
        return dist.fix(digit_prob=1.0, digits=(scene.digit,), **fix)
    fix.update(digit_prob=0.0, shapes=(scene.shapes[0],), counts=(scene.count,), same_shape=True, same_colour=True,
               outline_prob=1.0 if scene.objects[0].outline else 0.0)
    if scene.count == 1:
        fix.update(sizes=(scene.size,), positions=(scene.position,))
    return dist.fix(**fix)


def sample_group(
    rng: np.random.Generator, dist: SceneDistribution, attribute: str, size: int
) -> tuple[list[Scene], str]:
    """``size`` scenes that share every discrete attribute but ``attribute`` (all different values).

    The first scene is drawn from ``dist``; each other one from ``dist`` pinned to the first scene's
    attributes except ``attribute``, which takes another value (positions, tints and noise are
    redrawn). When the first scene lacks ``attribute`` (a digit has no shape), another applicable
    attribute is used. Returns the scenes and the attribute actually varied.
    """
    if attribute not in ATTRIBUTES:
        raise ValueError(f"unknown attribute {attribute!r}; allowed: {list(ATTRIBUTES)}")
    base_dist = dist  # draw the first scene among those that have the attribute, where dist allows it
    if attribute in ("shape", "count", "size", "position") and dist.digit_prob < 1:
        base_dist = base_dist.fix(digit_prob=0.0)
    if attribute in ("size", "position") and 1 in dist.counts:
        base_dist = base_dist.fix(counts=(1,))
    if attribute == "orientation" and "striped" in dist.backgrounds:
        base_dist = base_dist.fix(backgrounds=("striped",))
    if attribute == "digit" and dist.digit_prob > 0:
        base_dist = base_dist.fix(digit_prob=1.0)
    base = sample_scene(rng, base_dist)
    options = applicable_attributes(base)
    if attribute not in options:
        attribute = options[int(rng.integers(len(options)))]
    field_name = ATTRIBUTES[attribute]
    current = {
        "shape": base.shapes[0] if base.objects else None, "colour": base.digit_colour or (base.colours or (None,))[0],
        "count": base.count, "size": base.size, "position": base.position, "background": base.background,
        "orientation": base.orientation, "digit": base.digit,
    }[attribute]
    others = [v for v in getattr(dist, field_name) if v != current]
    pinned_dist = pinned(base, dist)
    scenes = [base]
    if not others:  # the distribution allows one value only: the group differs in details alone
        return scenes + [sample_scene(rng, pinned_dist) for _ in range(size - 1)], attribute
    picks = rng.permutation(len(others))
    for j in range(size - 1):
        value = others[int(picks[j % len(others)])]
        fix = {field_name: (value,)}
        if attribute == "background" and value == "striped" and base.orientation is None:
            fix["orientations"] = dist.orientations
        if attribute == "count" and base.count > 1:  # a single object needs a size and a position
            fix.update(sizes=dist.sizes, positions=dist.positions)
        scenes.append(sample_scene(rng, pinned_dist.fix(**fix)))
    return scenes, attribute


# ----------------------------------------------------------------------------------------------
# rendering

_YY, _XX = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32) + 0.5


def shape_mask(shape: str, x: float, y: float, radius: float, outline: bool = False) -> np.ndarray:
    """Boolean mask (64, 64) of a shape centred at ``(x, y)`` with ``radius`` pixels."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; allowed: {list(SHAPES)}")
    dx, dy = _XX - x, _YY - y
    mask = _solid(shape, dx, dy, radius)
    if outline:
        mask &= ~_solid(shape, dx, dy, radius - 2.0)
    return mask


def _solid(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    if r <= 0:
        return np.zeros(dx.shape, dtype=bool)
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        s = 0.85 * r
        return (np.abs(dx) <= s) & (np.abs(dy) <= s)
    if shape == "diamond":
        return np.abs(dx) + np.abs(dy) <= 1.2 * r
    if shape == "triangle":  # apex up, base at dy = 0.75 r
        top, base = -r, 0.75 * r
        return (dy >= top) & (dy <= base) & (np.abs(dx) <= (dy - top) * 0.62)
    if shape == "cross":
        arm = max(0.32 * r, 1.0)
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))
    if shape == "ring":
        d2 = dx * dx + dy * dy
        inner = 0.55 * r
        return (d2 <= r * r) & (d2 >= inner * inner)
    raise ValueError(f"unknown shape {shape!r}")


def _texture(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """Float mask (64, 64) in [0, 1]: where the texture colour replaces the background colour."""
    p, ph = scene.period, scene.phase
    if scene.background == "plain":
        return np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    if scene.background == "striped":
        nx, ny = ORIENTATIONS[scene.orientation]
        u = (_XX * nx + _YY * ny) / p + ph
        return ((u % 1.0) < 0.5).astype(np.float32)
    off = ph * p
    if scene.background == "dotted":
        fx = (_XX + off) % p - p / 2
        fy = (_YY + off) % p - p / 2
        return (fx * fx + fy * fy <= (0.22 * p) ** 2).astype(np.float32)
    if scene.background == "checkered":
        q = p * 0.75
        return (((np.floor((_XX + off) / q) + np.floor((_YY + off) / q)) % 2) == 1).astype(np.float32)
    if scene.background == "grid":
        return ((((_XX + off) % p) < 1.5) | (((_YY + off) % p) < 1.5)).astype(np.float32)
    if scene.background == "noisy":
        return (rng.random((IMAGE_SIZE, IMAGE_SIZE)) < 0.5).astype(np.float32)
    raise ValueError(f"unknown background {scene.background!r}; allowed: {list(BACKGROUNDS)}")


def _digit_alpha(index: int, scale: float, x: float, y: float) -> np.ndarray:
    """Alpha map (64, 64) of ``load_digits()`` row ``index`` scaled to ``scale`` px, centred at (x, y)."""
    images, _ = _digits()
    img = images[index]  # (8, 8) in [0, 1]
    # bilinear sampling of the 8x8 glyph on the canvas grid
    u = (_XX - (x - scale / 2)) / scale * 8 - 0.5
    v = (_YY - (y - scale / 2)) / scale * 8 - 0.5
    inside = (u > -1) & (u < 8) & (v > -1) & (v < 8)
    padded = np.pad(img, 1)
    u1, v1 = np.clip(u + 1, 0, 9 - 1e-4), np.clip(v + 1, 0, 9 - 1e-4)
    u0, v0 = np.floor(u1).astype(int), np.floor(v1).astype(int)
    fu, fv = u1 - u0, v1 - v0
    val = (
        padded[v0, u0] * (1 - fu) * (1 - fv)
        + padded[v0, u0 + 1] * fu * (1 - fv)
        + padded[v0 + 1, u0] * (1 - fu) * fv
        + padded[v0 + 1, u0 + 1] * fu * fv
    )
    return np.where(inside, val, 0.0).astype(np.float32)


def render(scene: Scene) -> np.ndarray:
    """Pixels of ``scene``: uint8 array (64, 64, 3), RGB. Deterministic (noise seeded by ``scene.seed``)."""
    rng = np.random.default_rng(scene.seed)
    tex = _texture(scene, rng)[..., None]
    bg = np.asarray(scene.bg_rgb, np.float32)
    img = bg + tex * (np.asarray(scene.texture_rgb, np.float32) - bg)
    for obj in scene.objects:
        mask = shape_mask(obj.shape, obj.x, obj.y, obj.radius, obj.outline)
        img[mask] = obj.rgb
    if scene.digit is not None:
        alpha = _digit_alpha(scene.digit_index, scene.digit_scale, *scene.digit_xy)[..., None]
        img = (1.0 - alpha) * img + alpha * np.asarray(scene.digit_rgb, np.float32)
    if scene.pixel_noise > 0:
        img += np.float32(scene.pixel_noise) * rng.standard_normal(img.shape, dtype=np.float32)
    img *= 255.0
    img += 0.5
    return np.clip(img, 0.0, 255.0).astype(np.uint8)


def render_batch(scenes: list[Scene]) -> np.ndarray:
    """Pixels of many scenes: uint8 array (N, 64, 64, 3)."""
    out = np.empty((len(scenes), IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    for i, s in enumerate(scenes):
        out[i] = render(s)
    return out
