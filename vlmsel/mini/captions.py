"""Captions of the mini world: what a pretraining picture's alt-text says, and the tokenizer's words.

Each domain phrases its own captions (:meth:`vlmsel.mini.domains.base.Domain.caption`: "a satellite
image of a river", "a blood smear with a lymphocyte"). This module decides *which* attributes a
caption names (:func:`caption`, following a mixture's caption mode, :mod:`vlmsel.mini.mixtures`),
adds word noise for noisy alt-text (:func:`add_word_noise`), and fixes :data:`VOCABULARY`, the word
list of the tokenizer (:mod:`vlmsel.mini.tokenizer`): every word a domain can say, then every word
of the tasks' class names and prompt templates. Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np

from vlmsel.mini.domains import DOMAINS, get_domain

_WORD = re.compile(r"[^a-z0-9<>]+")


def words_of(text: str) -> list[str]:
    """The words of ``text`` as the tokenizer splits it (lower case, letters and digits)."""
    return [w for w in _WORD.split(text.lower()) if w]


def _vocabulary() -> tuple[str, ...]:
    from vlmsel.mini.tasks import TASKS

    words: list[str] = []
    for dom in DOMAINS.values():
        for w in dom.words:
            words.extend(words_of(w))
        for values in dom.attributes.values():
            for v in values:
                words.extend(words_of(v))
    for task in TASKS.values():
        for text in (*task.classnames, *task.templates):
            words.extend(words_of(text.replace("{c}", " ")))
    return tuple(dict.fromkeys(words))


VOCABULARY: tuple[str, ...] = _vocabulary()
"""Every word of the mini world, in a fixed order (the tokenizer's ids follow it)."""

CAPTION_MODES = ("focused", "noisy", "sparse", "full")


def caption(
    domain: str, attrs: Mapping[str, str], varied: str | None, mode: str, rng: np.random.Generator, full: bool = False
) -> str:
    """The caption of one picture.

    ``mode`` ``"focused"`` names the ``varied`` attribute (the one a group of hard negatives differs in),
    or every applicable attribute when ``full``; ``"noisy"`` is a focused caption with word noise;
    ``"sparse"`` names one applicable attribute drawn with ``rng``; ``"full"`` names every applicable one.
    Pictures of one group must get generators in the same state (same seed) so that their captions share
    the phrasing and differ only in the varied attribute's words.
    """
    if mode not in CAPTION_MODES:
        raise ValueError(f"unknown caption mode {mode!r}; allowed: {list(CAPTION_MODES)}")
    dom = get_domain(domain)
    applicable = [a for a in dom.applicable(attrs) if a in attrs]
    u = rng.random()
    if mode == "full" or (full and mode != "sparse"):
        named: Sequence[str] = applicable
    elif mode == "sparse":
        named = [applicable[int(u * len(applicable)) % len(applicable)]]
    else:
        named = [varied] if varied in applicable else applicable[:1]
    text = dom.caption(attrs, named, rng)
    if mode == "noisy":
        text = add_word_noise(text, rng)
    return text


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
