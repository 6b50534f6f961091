"""What the book's chapters share (vlmsel.chapters): the world a page shows and reproducible runs."""

from __future__ import annotations

import random

import numpy as np
import pytest

from vlmsel.chapters import World, open_world, reproducible
from vlmsel.profiles.registry import registry


def _mini_store_ready() -> bool:
    try:
        from pathlib import Path

        return (Path(registry()["mini"].path) / "store.json").is_file()
    except Exception:
        return False


@pytest.mark.skipif(not _mini_store_ready(), reason="the mini profile store is not built")
def test_open_world_mini_by_default_by_name_and_by_folder():
    w = open_world()
    assert isinstance(w, World) and w.label == "mini world"
    assert w.benchmark.name == "mini" and w.models == w.benchmark.models and w.datasets == w.benchmark.datasets
    assert len(w.models) >= 2 and len(w.datasets) >= 3
    assert all(w.store.has(m, d) for m in w.models for d in w.datasets)
    assert (w.stored_images, w.n_images, w.n_steps) == (100, 25, 8)  # the method pools 25 of the 100 stored
    assert w.description.startswith("**the mini world**") and "the published store `mini`" in w.description
    assert (
        f"{len(w.models)} tiny CLIP models" in w.description and "25 images per task of the 100 stored" in w.description
    )
    by_name = open_world("mini", "mini")
    assert by_name.models == w.models and by_name.description == w.description
    by_folder = open_world("mini", registry()["mini"].path)
    assert by_folder.models == w.models and "the store `profiles`" in by_folder.description
    assert set(w.dropped_models).isdisjoint(w.models)


def test_open_world_without_a_store():
    with pytest.raises(FileNotFoundError, match="no published profile store for benchmark 'lovm'"):
        open_world("lovm")


def test_reproducible_seeds_the_global_generators():
    rng = reproducible(7)
    a = (random.random(), np.random.random(), rng.random())
    rng = reproducible(7)
    assert (random.random(), np.random.random(), rng.random()) == a
    assert reproducible(7).random() == np.random.default_rng(7).random()
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        reproducible(3, threads=1)
        assert torch.get_num_threads() == 1
        x = torch.rand(2)
        reproducible(3)
        assert torch.equal(torch.rand(2), x)
    finally:
        torch.set_num_threads(before)
