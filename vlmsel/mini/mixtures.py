"""Pretraining mixtures of the mini zoo: how much of each image domain a model sees, and how it is captioned.

Real CLIP models differ most in *what* they were trained on: LAION and DataComp scrape the web (many
domains, noisy alt-text), OpenAI's WIT stresses photographs of people, signs and text, a few models
see far more of one kind of image, some are trained on little data and some for long. The mini
world's mixtures copy these differences with **image-domain proportions** (weights over
:data:`vlmsel.mini.domains.DOMAINS`), the amount of data (distinct pictures), the training length
and the caption quality:

- ``focused`` captions name the attribute a group of hard negatives varies (with probability
  ``full_prob`` every applicable attribute): clean, informative alt-text;
- ``noisy``: focused captions with a quarter of the words dropped and some replaced;
- ``sparse``: one random applicable attribute per caption, not necessarily the varied one (weak
  supervision, like short alt-text).

Every mixture sees every domain a little (weight >= 0.25 against 1 for a generalist), so every model
has heard every class word; specialists see their domains 10-20 times more often than the rest.
Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmsel.mini.captions import CAPTION_MODES as _CAPTION_MODES
from vlmsel.mini.domains import DOMAINS

CAPTION_MODES = tuple(m for m in _CAPTION_MODES if m != "full")
"""The caption modes a mixture may use, those of :func:`vlmsel.mini.captions.caption` except ``"full"``
(a mixture names every attribute with probability ``full_prob`` instead)."""


@dataclass(frozen=True)
class Mixture:
    """A pretraining mixture.

    Attributes
    ----------
    domains : (domain, weight) pairs: a group of pictures comes from a domain with probability
        proportional to its weight (domains not listed get ``rest``).
    rest : the weight of every domain not in ``domains``.
    captions : one of :data:`CAPTION_MODES`. full_prob : probability that a group's captions name every
        applicable attribute instead of the varied one.
    pool_size : distinct pictures (``pool_size // group_size`` groups of hard negatives).
    steps : optimisation steps (batch 64). group_size : pictures per group.
    """

    name: str
    description: str
    domains: tuple[tuple[str, float], ...] = ()
    rest: float = 1.0
    captions: str = "focused"
    full_prob: float = 0.3
    pool_size: int = 12000
    steps: int = 1400
    group_size: int = 4

    def weights(self) -> dict[str, float]:
        """Domain -> probability (sums to 1), every domain of the world included."""
        raw = {d: self.rest for d in DOMAINS} | dict(self.domains)
        total = sum(raw.values())
        return {d: w / total for d, w in raw.items()}

    def __post_init__(self) -> None:
        bad = [d for d, _ in self.domains if d not in DOMAINS]
        if bad:
            raise ValueError(f"mixture {self.name!r}: unknown domain(s) {bad}; domains: {list(DOMAINS)}")
        if self.captions not in CAPTION_MODES:
            raise ValueError(f"mixture {self.name!r}: captions must be one of {CAPTION_MODES}, got {self.captions!r}")
        if min([self.rest, *(w for _, w in self.domains)]) < 0:
            raise ValueError(f"mixture {self.name!r}: domain weights must be >= 0")


MIXTURES: dict[str, Mixture] = {
    m.name: m
    for m in (
        Mixture("web", "every domain equally, focused captions (a generalist, like LAION)"),
        Mixture("web-long", "as web, trained 1.5 times as long", steps=2100),
        Mixture("web-small", "as web, but only 1,600 distinct pictures (little data)", pool_size=1600),
        Mixture(
            "web-noisy",
            "as web, a quarter of the caption words dropped and some replaced (noisy alt-text)",
            captions="noisy",
        ),
        Mixture("web-sparse", "as web, one random attribute per caption (short alt-text)", captions="sparse"),
        Mixture(
            "openai",
            "web-like, more text, faces and signs, little aerial, 3-D and medical imagery (like WIT)",
            domains=(
                ("text", 2.0),
                ("faces", 2.0),
                ("signs", 2.0),
                ("aerial", 0.5),
                ("scenes3d", 0.5),
                ("cells", 0.25),
            ),
        ),
        Mixture(
            "docs",
            "mostly digits and text (documents and screenshots)",
            domains=(("handwriting", 3.0), ("text", 3.0)),
            rest=0.25,
        ),
        Mixture(
            "earth",
            "mostly aerial and satellite images, and textures",
            domains=(("aerial", 3.0), ("textures", 2.0)),
            rest=0.25,
        ),
        Mixture("med", "mostly microscopy, some textures", domains=(("cells", 4.0), ("textures", 1.0)), rest=0.25),
        Mixture(
            "street",
            "mostly traffic signs and faces (street photos)",
            domains=(("signs", 3.0), ("faces", 2.0)),
            rest=0.25,
        ),
        Mixture(
            "synth",
            "mostly 3-D renderings and rendered text (synthetic data)",
            domains=(("scenes3d", 3.0), ("text", 1.5)),
            rest=0.25,
        ),
    )
}
"""Every pretraining mixture by name."""


def get_mixture(name: str) -> Mixture:
    try:
        return MIXTURES[name]
    except KeyError:
        raise KeyError(f"unknown pretraining mixture {name!r}; mixtures: {list(MIXTURES)}") from None
