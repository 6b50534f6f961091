"""What the book's chapters share: the world a page shows, and reproducible runs.

Every results chapter reads a profile store and a benchmark and cuts the benchmark to what the store
covers; :func:`open_world` does that once and returns a :class:`World` with the sentence that names
it on the page. :func:`reproducible` fixes the seeds and threads a chapter runs with.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vlmsel.data.benchmarks import Benchmark, load_benchmark
from vlmsel.method.options import DEFAULT_SOURCE_IMAGES
from vlmsel.profiles.registry import open_store, store_for_zoo
from vlmsel.profiles.store import ProfileStore


@dataclass(frozen=True)
class World:
    """A benchmark cut to what a profile store covers.

    Attributes
    ----------
    benchmark : the ground truth on the covered models and datasets (:meth:`Benchmark.covered_by`).
    store : the profile store.
    dropped_models : models of the benchmark left out (not profiled on every covered dataset).
    description : one sentence naming the world, for the page (Markdown).
    label : a short name for figure titles (``"mini world"``, ``"openclip48 (real profiles)"``).
    """

    benchmark: Benchmark
    store: ProfileStore
    dropped_models: tuple[str, ...]
    description: str
    label: str

    @property
    def models(self) -> list[str]:
        return self.benchmark.models

    @property
    def datasets(self) -> list[str]:
        return self.benchmark.datasets

    @property
    def stored_images(self) -> int:
        """Images per task in the store (from the first entry's manifest)."""
        return int(self.store.manifest(self.models[0], self.datasets[0])["n_images"])

    @property
    def n_images(self) -> int:
        """Images per task the method pools, the store's but at most ``MethodOptions.source_images`` (25,
        the paper's N). Chapters pass it to ``store.task_profiles`` and ``store.block_scalars``."""
        return min(self.stored_images, DEFAULT_SOURCE_IMAGES)

    @property
    def n_steps(self) -> int:
        """Integration steps of the store's profiles (from the first entry's manifest)."""
        return int(self.store.manifest(self.models[0], self.datasets[0])["n_steps"])


def open_world(benchmark: str = "mini", profile_store: str | os.PathLike | None = None) -> World:
    """Open a benchmark and its profile store, cut to the models and datasets the store covers.

    Parameters
    ----------
    benchmark : a benchmark name (:func:`vlmsel.data.benchmarks.benchmark_names`).
    profile_store : a store folder or a published store's name; None: the benchmark's published store
        (the mini world ships one).
    """
    full = load_benchmark(benchmark)
    published = store_for_zoo(benchmark) if profile_store is None else None
    if profile_store is None and published is None:
        raise FileNotFoundError(f"no published profile store for benchmark {benchmark!r}: pass profile_store=")
    store = open_store(profile_store, zoo=benchmark)
    if published is not None:
        where = f"the published store `{published.name}`"
    elif not Path(str(profile_store)).is_dir():
        where = f"the published store `{profile_store}`"
    else:
        where = f"the store `{Path(str(profile_store)).name}`"
    bench = full.covered_by(store)
    dropped = tuple(m for m in full.models if m not in bench.models and m in set(store.models))
    n_m, n_d = len(bench.models), len(bench.datasets)
    first = store.manifest(bench.models[0], bench.datasets[0])
    pooled = min(int(first["n_images"]), DEFAULT_SOURCE_IMAGES)
    stored = f" of the {first['n_images']} stored" if pooled < int(first["n_images"]) else ""
    settings = f"{pooled} images per task{stored}, {first['n_steps']} integration steps"
    if benchmark == "mini":
        description = (
            f"**the mini world**: {n_m} tiny CLIP models trained in this project, on {n_d} generated "
            f"tasks; profiles from {where} ({settings})."
        )
        label = "mini world"
    else:
        description = (
            f"**real open_clip profiles** from {where}: {n_m} models of the "
            f"`{benchmark}` benchmark on {n_d} datasets ({settings})."
        )
        label = f"{benchmark} (real profiles)"
    return World(bench, store, dropped, description, label)


def reproducible(seed: int = 0, threads: int | None = None) -> np.random.Generator:
    """Seed Python's and NumPy's global generators (and torch's, with ``threads`` torch threads, when
    torch is installed and already imported) and return a fresh ``numpy.random.Generator(seed)``."""
    random.seed(seed)
    np.random.seed(seed)
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)
        if threads is not None:
            torch.set_num_threads(threads)
    return np.random.default_rng(seed)
