"""What the profile-store tests share: small stores written through the real ``write_profile``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vlmsel.profiles.store import write_profile

#: The result fields every entry of a test store agrees on (``write_entry(..., n_steps=50)`` changes one).
SETTINGS = {
    "n_images": 3,
    "seed": 0,
    "n_steps": 4,
    "method": "gausslegendre",
    "rule": "left",
    "baseline": "zeros",
    "objective": "norm",
    "granularity": "block",
    "weights": "random-init",
    "precision": "fp32",
    "autocast": False,
    "quick_gelu": False,
}
VERSIONS = {"vlmsel": "0.1.0", "torch": "2.0", "open_clip": "2.24"}


def write_entry(
    store: Path, model: str, dataset: str, seed: int = 0, images: str = "img", block: str = "b", **changes
) -> None:
    """One entry of 3 images x 4 blocks (random arrays of ``seed``) with :data:`SETTINGS` and ``changes``."""
    rng = np.random.default_rng(seed)
    n, l = 3, 4
    arrays = {k: rng.random((n, l)) for k in ("abs", "l2", "signed", "branch")}
    arrays.update(
        f_x=np.ones(n),
        f_baseline=np.zeros(n),
        block_names=[f"{block}{i}" for i in range(l)],
        image_ids=[f"i{i}" for i in range(n)],
    )
    manifest = {
        **SETTINGS,
        "versions": dict(VERSIONS),
        "image_sha256": [f"{images}{i}" for i in range(n)],
        "created": "2026-01-01T00:00:00+00:00",
        **changes,
    }
    write_profile(store, model, dataset, arrays, manifest)


def write_store(folder: Path, entries=(("m1 a", "d1"), ("m1 a", "d2"), ("m2 b", "d1")), **changes) -> Path:
    """A store of ``entries`` ((model, dataset) pairs; entry ``i`` drawn with seed ``i``); returns ``folder``."""
    for i, (m, d) in enumerate(entries):
        write_entry(folder, m, d, seed=i, **changes)
    return folder
