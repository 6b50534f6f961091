"""Captions of the mini world: describe a generated scene in words, in one of several styles.

Real CLIP models learn from web alt-text that mentions some attributes of an image and not others,
and each pretraining corpus stresses different things. The mini world imitates that with *caption
styles*: ``"full"`` names every attribute of a scene, ``"colour"`` / ``"shape"`` / ``"count"`` /
``"texture"`` / ``"layout"`` name one aspect, ``"sparse"`` names one random attribute (like short
alt-text) and ``"noisy"`` is a full caption with dropped and replaced words. A pretraining mixture
(:mod:`vlmsel.mini.training`) is a weighting of these styles. Every word any caption, class name or
prompt template uses is in :data:`VOCABULARY`, the fixed word list of the tokenizer
(:mod:`vlmsel.mini.tokenizer`). Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import numpy as np

from vlmsel.mini.scenes import (
    BACKGROUNDS,
    COLOURS,
    COUNT_WORDS,
    DIGIT_WORDS,
    ORIENTATIONS,
    POSITIONS,
    SHAPES,
    SIZES,
    Scene,
)

PLURALS: dict[str, str] = {
    "circle": "circles",
    "square": "squares",
    "triangle": "triangles",
    "diamond": "diamonds",
    "cross": "crosses",
    "ring": "rings",
}

POSITION_PHRASES: dict[str, str] = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "middle": "in the middle",
}

CARRIERS: tuple[str, ...] = ("", "a picture of", "an image of", "a photo of", "a drawing of")
"""Phrases a caption may start with (prompt templates use the same ones)."""

_FUNCTION_WORDS = (
    "a", "an", "the", "of", "on", "at", "in", "with", "and", "picture", "image", "photo", "drawing",
    "background", "stripes", "digit", "number", "handwritten", "shape", "shapes", "object", "objects",
    "some", "outline",
)  # fmt: skip

VOCABULARY: tuple[str, ...] = tuple(
    dict.fromkeys(
        _FUNCTION_WORDS
        + SHAPES
        + tuple(PLURALS.values())
        + tuple(COLOURS)
        + tuple(COUNT_WORDS.values())
        + tuple(SIZES)
        + tuple(POSITIONS)
        + BACKGROUNDS
        + tuple(ORIENTATIONS)
        + DIGIT_WORDS
    )
)
"""Every word of the mini world, in a fixed order (the tokenizer's ids follow it)."""

CAPTION_STYLES: tuple[str, ...] = ("full", "colour", "shape", "count", "texture", "layout", "sparse", "noisy")
"""The caption styles :func:`caption` knows."""


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


# Every helper below draws the same random numbers whatever the scene, so that captions of scenes
# made with the same generator seed share their phrasing and differ only in attribute words.


def _background_phrase(scene: Scene, rng: np.random.Generator) -> str:
    u = rng.random()
    if scene.background == "striped" and u < 0.6:
        return f"on a background with {scene.orientation} stripes"
    if scene.background == "striped":
        return f"on a striped background with {scene.orientation} stripes"
    return f"on a {scene.background} background"


def _noun(scene: Scene, rng: np.random.Generator, *, shape: bool, colour: bool, count: bool, size: bool) -> str:
    """The noun phrase of a shape scene, naming only the requested attributes."""
    n = scene.count
    u_count, u_outline, u_generic = rng.random(3)
    words: list[str] = []
    if count and (n > 1 or u_count < 0.5):
        words.append(COUNT_WORDS[n])
    if size and scene.size is not None:
        words.append(scene.size)
    if colour:
        cols = list(dict.fromkeys(scene.colours))
        words.append(" and ".join(cols))
    if scene.objects and scene.objects[0].outline and u_outline < 0.5:
        words.append("outline")
    if shape and len(set(scene.shapes)) == 1:
        words.append(scene.shapes[0] if n == 1 else PLURALS[scene.shapes[0]])
    else:
        generic = "shape" if u_generic < 0.5 else "object"
        words.append(generic if n == 1 else generic + "s")
    if n == 1 and not words[0] in COUNT_WORDS.values():
        words.insert(0, _article(words[0]))
    return " ".join(words)


def _digit_phrase(scene: Scene, rng: np.random.Generator, *, colour: bool) -> str:
    word = DIGIT_WORDS[scene.digit]
    col = f"{scene.digit_colour} " if colour else ""
    form = int(rng.integers(3))
    if form == 0:
        return f"the {col}digit {word}"
    if form == 1:
        return f"a {col}handwritten {word}"
    return f"the {col}number {word}"


def _with_carrier(text: str, rng: np.random.Generator) -> str:
    carrier = CARRIERS[int(rng.integers(len(CARRIERS)))]
    return f"{carrier} {text}".strip()


def caption(scene: Scene, style: str, rng: np.random.Generator) -> str:
    """One caption of ``scene`` in ``style`` (one of :data:`CAPTION_STYLES`), randomised by ``rng``.

    Examples: ``full`` -> "a photo of two red circles on a dotted background";
    ``colour`` -> "red shapes"; ``texture`` -> "an image of a background with vertical stripes".
    """
    if style not in CAPTION_STYLES:
        raise ValueError(f"unknown caption style {style!r}; allowed: {list(CAPTION_STYLES)}")
    if style == "noisy":
        return add_word_noise(caption(scene, "full", rng), rng)
    if style == "sparse":
        return _sparse(scene, rng)
    digit = scene.digit is not None
    if style == "full":
        if digit:
            text = f"{_digit_phrase(scene, rng, colour=True)} {_background_phrase(scene, rng)}"
        else:
            text = _noun(scene, rng, shape=True, colour=True, count=True, size=True)
            if scene.position is not None:
                text += " " + POSITION_PHRASES[scene.position]
            text += " " + _background_phrase(scene, rng)
        return _with_carrier(text, rng)
    if style == "colour":
        if digit:
            text = f"a {scene.digit_colour} digit"
        else:
            text = _noun(scene, rng, shape=False, colour=True, count=False, size=False)
        return _with_carrier(text, rng)
    if style == "shape":
        text = _digit_phrase(scene, rng, colour=False) if digit else _noun(
            scene, rng, shape=True, colour=False, count=False, size=False
        )
        return _with_carrier(text, rng)
    if style == "count":
        if digit:
            text = "a digit"
        else:
            text = _noun(scene, rng, shape=rng.random() < 0.3, colour=False, count=True, size=False)
            if scene.count == 1 and not text.startswith("one"):
                text = "one " + text.split(" ", 1)[1]
        return _with_carrier(text, rng)
    if style == "texture":
        thing = "a digit" if digit else ("a shape" if scene.count == 1 else "some shapes")
        if rng.random() < 0.5:
            bg = scene.background if scene.background != "striped" else f"{scene.orientation} striped"
            return _with_carrier(f"a {bg} background", rng)
        return _with_carrier(f"{thing} {_background_phrase(scene, rng)}", rng)
    # layout: size and position of a single object; count otherwise
    if digit:
        return _with_carrier("a digit", rng)
    text = _noun(scene, rng, shape=False, colour=False, count=scene.count > 1, size=True)
    if scene.position is not None:
        text += " " + POSITION_PHRASES[scene.position]
    return _with_carrier(text, rng)


def _sparse(scene: Scene, rng: np.random.Generator) -> str:
    """One randomly chosen attribute, like a short alt-text."""
    if scene.digit is not None:
        options = [
            lambda: _digit_phrase(scene, rng, colour=False),
            lambda: f"a {scene.digit_colour} digit",
            lambda: f"a digit {_background_phrase(scene, rng)}",
        ]
    else:
        options = [
            lambda: _noun(scene, rng, shape=True, colour=False, count=False, size=False),
            lambda: _noun(scene, rng, shape=False, colour=True, count=False, size=False),
            lambda: _noun(scene, rng, shape=False, colour=False, count=True, size=False),
            lambda: f"a shape {_background_phrase(scene, rng)}",
        ]
        if scene.position is not None:
            options.append(lambda: "a shape " + POSITION_PHRASES[scene.position])
            options.append(lambda: _noun(scene, rng, shape=False, colour=False, count=False, size=True))
    return _with_carrier(options[int(rng.integers(len(options)))](), rng)


def add_word_noise(text: str, rng: np.random.Generator, drop: float = 0.25, replace: float = 0.15) -> str:
    """Drop each word with probability ``drop`` and replace it by a random vocabulary word with ``replace``."""
    out = []
    for w in text.split():
        u = rng.random()
        if u < drop:
            continue
        if u < drop + replace:
            w = VOCABULARY[int(rng.integers(len(VOCABULARY)))]
        out.append(w)
    return " ".join(out) if out else text.split()[0]


def captions(scenes: list[Scene], styles: dict[str, float], rng: np.random.Generator) -> list[str]:
    """One caption per scene, the style of each drawn from the weights ``styles`` (style -> weight)."""
    bad = [s for s in styles if s not in CAPTION_STYLES]
    if bad:
        raise ValueError(f"unknown caption style(s) {bad}; allowed: {list(CAPTION_STYLES)}")
    names = list(styles)
    p = np.asarray([styles[s] for s in names], dtype=float)
    if (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"caption style weights must be >= 0 with a positive sum, got {styles}")
    p = p / p.sum()
    picks = rng.choice(len(names), size=len(scenes), p=p)
    return [caption(s, names[k], rng) for s, k in zip(scenes, picks)]
