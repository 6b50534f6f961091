"""Shards: a plan of (model, dataset) entries split into N parts of about equal cost, deterministically.

N independent jobs (a Slurm array, N machines, N processes) each take one shard and together cover the
plan once; nothing coordinates them beyond the per-entry claims of the store they write
(:func:`vlmsel.files.try_claim`). The split depends only on the plan and its costs, never on what is
already done, so jobs started at different times agree on it. ``vlmsel profile --shard`` and
``vlmsel zeroshot --shard`` use it (:func:`vlmsel.profiles.compute.shard_plan`,
:func:`vlmsel.data.zeroshot.run_zero_shot`).

Taught in the chapter :ref:`ch-paper-scale`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)``: shard I (0-based, ``0 <= I < N``) of N. Raises ValueError naming the text."""
    index, sep, count = str(text).partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = -1
    if not sep or n < 1 or not 0 <= i < n:
        raise ValueError(f"shard {text!r} is not I/N with 0 <= I < N (for example 0/4, the first of 4 shards)")
    return i, n


def partition(keys: Sequence[tuple[str, str]], costs: Sequence[float], n_shards: int) -> list[int]:
    """The shard (``0 .. n_shards-1``) of each ``(model, dataset)`` key, balancing the summed ``costs``.

    Deterministic and independent of the order of ``keys``. Each model's datasets (sorted by name) are
    cut into as few contiguous chunks as keep every chunk under a quarter of a shard's fair share, and
    the chunks go, largest first, to the least loaded shard (longest-processing-time first): the
    largest shard exceeds the fair share by at most a quarter of it, and a shard loads few models.
    Unknown (NaN) costs count as the mean of the known ones.
    """
    if n_shards < 1:
        raise ValueError(f"the number of shards must be at least 1; got {n_shards}")
    if len(keys) != len(costs):
        raise ValueError(f"{len(keys)} keys but {len(costs)} costs")
    known = [float(c) for c in costs if not math.isnan(float(c))]
    fill = float(np.mean(known)) if known else 1.0
    cost = {tuple(k): (fill if math.isnan(float(c)) else max(float(c), 0.0)) for k, c in zip(keys, costs)}
    if len(cost) != len(keys):
        raise ValueError("a (model, dataset) is listed more than once")
    share = sum(cost.values()) / n_shards
    by_model: dict[str, list[str]] = {}
    for model, dataset in sorted(cost):
        by_model.setdefault(model, []).append(dataset)
    units = []  # (cost, model, datasets)
    for model, sets in by_model.items():
        total = sum(cost[(model, d)] for d in sets)
        k = min(len(sets), max(1, math.ceil(4 * total / share))) if share > 0 else len(sets)
        for chunk in np.array_split(np.arange(len(sets)), k):
            names = [sets[i] for i in chunk]
            units.append((sum(cost[(model, d)] for d in names), model, names))
    units.sort(key=lambda u: (-u[0], u[1], u[2]))
    load = [0.0] * n_shards
    shard_of: dict[tuple[str, str], int] = {}
    for c, model, names in units:
        target = min(range(n_shards), key=lambda i: (load[i], i))
        load[target] += c
        for d in names:
            shard_of[(model, d)] = target
    return [shard_of[(k[0], k[1])] for k in keys]
