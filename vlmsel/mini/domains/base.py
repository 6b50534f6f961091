"""What an image domain of the mini world is: attributes, a sampler, a renderer and captions.

A *domain* is one kind of picture, drawn by its own generator: handwritten digits, rendered text,
textures, aerial maps, 3-D scenes, faces, traffic signs, microscopy. Like a real benchmark's image
domains (LOVM's photographs, satellite images, medical images, renderings, digits), the domains differ
in every low-level statistic (colours, edges, layout), and inside a domain the pictures vary a lot
(sub-styles, backgrounds, noise, pose).

A domain has *attributes*: named, discrete facts about a picture that a caption can say and a task
can ask (``digit = "seven"``, ``land = "forest"``). A picture is fully described by its attribute
values plus an integer ``seed`` for everything else (nuisances: position, jitter, colour shifts,
noise). :meth:`Domain.render` is a pure function of ``(attrs, seed, split)``, so two pictures that
share a seed and differ in one attribute differ only in what that attribute controls, as far as the
generator allows: these are the *hard negatives* of contrastive pretraining
(:func:`vlmsel.mini.training`). ``split`` is ``"train"`` (pretraining) or ``"eval"`` (the tasks'
evaluation splits); a domain built on a finite source (scikit-learn's digits) draws the two from
disjoint parts of it, a purely procedural domain ignores it (seeds keep the splits apart).

Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

import numpy as np

IMAGE_SIZE = 64
"""Side of every mini-world image, in pixels (RGB, uint8)."""

SPLITS = ("train", "eval")

CARRIERS: tuple[str, ...] = ("", "a picture of", "an image of", "a photo of")
"""Phrases a caption may start with (shared by every domain and by the prompt templates)."""


class Domain:
    """Base class of the mini world's image domains.

    Subclasses set ``name``, ``description``, ``attributes`` and ``words`` (:func:`vocabulary`), and
    implement :meth:`render` and :meth:`caption`; they override :meth:`applicable` (and then
    :meth:`sample`) when some attributes only apply to some pictures.

    Attributes
    ----------
    name : short identifier (``"handwriting"``).
    description : one sentence for the book (what the pictures are, what varies).
    attributes : attribute name -> its values, each value a word or short phrase that captions and
        class names use (``{"digit": ("zero", ..., "nine"), "style": ("ink", "chalk", "plate")}``).
    words : every word :meth:`caption` can emit (the tokenizer's vocabulary is built from all domains').
    """

    name: str = ""
    description: str = ""
    attributes: dict[str, tuple[str, ...]] = {}
    words: tuple[str, ...] = ()

    # -- sampling ------------------------------------------------------------------------------
    def applicable(self, attrs: Mapping[str, str]) -> tuple[str, ...]:
        """The attributes that mean something for a picture with these values (default: all)."""
        return tuple(self.attributes)

    def valid(self, attrs: Mapping[str, str]) -> bool:
        """Whether these values go together (default: always; a domain with impossible pairs overrides it)."""
        return True

    def sample(
        self, rng: np.random.Generator, constraints: Mapping[str, Sequence[str]] | None = None
    ) -> dict[str, str]:
        """Draw attribute values uniformly; ``constraints`` maps an attribute to its allowed values.

        Returns only the applicable attributes (:meth:`applicable`). Attributes are drawn in the
        order of ``attributes``, so a subclass whose applicability depends on an earlier
        attribute (a ``style``) works with this default as long as it lists that attribute first.
        """
        constraints = dict(constraints or {})
        unknown = sorted(set(constraints) - set(self.attributes))
        if unknown:
            raise KeyError(f"domain {self.name!r} has no attribute(s) {unknown}; attributes: {list(self.attributes)}")
        attrs: dict[str, str] = {}
        for attr, values in self.attributes.items():
            allowed = tuple(constraints.get(attr, values))
            bad = [v for v in allowed if v not in values]
            if bad or not allowed:
                raise ValueError(
                    f"domain {self.name!r}: {attr} has no value(s) {bad or '(empty)'}; values: {list(values)}"
                )
            attrs[attr] = allowed[int(rng.integers(len(allowed)))]
        keep = self.applicable(attrs)
        return {a: v for a, v in attrs.items() if a in keep}

    def vary(self, attrs: Mapping[str, str], attr: str, value: str) -> dict[str, str]:
        """``attrs`` with ``attr`` set to ``value`` (a hard negative's attributes)."""
        if attr not in self.attributes or value not in self.attributes[attr]:
            raise ValueError(f"domain {self.name!r}: no value {value!r} for attribute {attr!r}")
        out = dict(attrs)
        out[attr] = value
        return out

    # -- pixels and words ----------------------------------------------------------------------
    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        """The picture: uint8 array (IMAGE_SIZE, IMAGE_SIZE, 3), a pure function of the arguments."""
        raise NotImplementedError

    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        """A caption that names the domain's kind of picture and the attributes in ``named`` (a subset
        of the applicable ones), phrased at random with ``rng``; every word is in ``words``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<domain {self.name}: {', '.join(f'{a} ({len(v)})' for a, v in self.attributes.items())}>"


# ----------------------------------------------------------------------------------------------
# helpers the generators share


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    """One of ``options``, drawn uniformly with ``rng`` (one integer draw)."""
    return options[int(rng.integers(len(options)))]


def with_carrier(text: str, rng: np.random.Generator, carriers: Sequence[str] = CARRIERS) -> str:
    """``text`` preceded by a random carrier phrase ("a photo of ...") or by nothing."""
    return f"{pick(rng, carriers)} {text}".strip()


_WORD = re.compile(r"[a-z0-9]+")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def vocabulary(*texts: str | Iterable[str], sort: bool = False) -> tuple[str, ...]:
    """The words of ``texts`` once each: a domain's ``words``.

    Parameters
    ----------
    texts : phrases, or iterables of phrases (caption templates, attribute values); a ``{placeholder}``
        of a template is not a word.
    sort : sorted alphabetically, else in the order of their first use (the tokenizer's ids follow the
        order, :data:`vlmsel.mini.captions.VOCABULARY`).
    """
    words: list[str] = []
    for group in texts:
        for text in [group] if isinstance(group, str) else group:
            words.extend(_WORD.findall(_PLACEHOLDER.sub(" ", text)))
    unique = tuple(dict.fromkeys(words))
    return tuple(sorted(unique)) if sort else unique


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def to_uint8(img: np.ndarray) -> np.ndarray:
    """float image in [0, 1], (H, W, 3) or (H, W) -> uint8 (H, W, 3)."""
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def grid(size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(x, y)`` in [0, 1), each (size, size)."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(c, c)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an (H, W) or (H, W, C) float image (separable, reflect padding)."""
    if sigma <= 0:
        return img
    r = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    out = np.asarray(img, dtype=np.float32)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        p = np.pad(out, pad, mode="reflect")
        out = sum(k[i] * np.take(p, np.arange(i, i + out.shape[axis]), axis=axis) for i in range(len(k)))
    return out
