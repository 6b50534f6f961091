"""Pictures of the mini world for the book's figures: samples of every domain and of every task.

Plain data for :func:`vlmsel.plotting.image_grid` (rows of (image, caption) pairs). Taught in the
interlude :ref:`mini-tour`; the domains and tasks themselves are built in the lab :ref:`ch-mini-world`.
"""

from __future__ import annotations

import numpy as np

from vlmsel.mini.domains import DOMAINS
from vlmsel.mini.tasks import make_task_data


def domain_samples(n: int, rng: np.random.Generator) -> list[tuple[str, list[tuple[np.ndarray, str]]]]:
    """Per domain, ``n`` random pictures captioned with the value of the domain's richest attribute.

    Returns a list of (row label ``"domain\\n(attribute)"``, [(uint8 image (64, 64, 3), caption), ...]).
    A picture without that attribute (histology has no blood cell) is captioned by its last attribute.
    """
    rows = []
    for dom in DOMAINS.values():
        key = max(dom.attributes, key=lambda a: len(dom.attributes[a]))
        pics = []
        for _ in range(n):
            attrs = dom.sample(rng)
            image = dom.render(attrs, seed=int(rng.integers(2**31)))
            pics.append((image, str(attrs.get(key) or list(attrs.values())[-1])))
        rows.append((f"{dom.name}\n({key})", pics))
    return rows


def task_samples(names: list[str], n: int, seed: int = 0) -> list[tuple[str, list[tuple[np.ndarray, str]]]]:
    """Per task, its first ``n`` evaluation pictures captioned with their class names (balanced labels)."""
    rows = []
    for name in names:
        data = make_task_data(name, n=n, seed=seed)
        classes = data.classnames
        rows.append((name, [(img, classes[int(k)]) for img, k in zip(data.images, data.labels)]))
    return rows


__all__ = ["domain_samples", "task_samples"]
