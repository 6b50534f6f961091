"""Tiny open_clip models, generated image folders and a small source profile store for the selection tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

TEXT_CFG = {"context_length": 16, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1}
#: A 4-block ViT and a 5-bottleneck ModifiedResNet (softmax_z needs more than 2 blocks to tell tasks apart).
SELECT_CONFIGS = {
    "vlmsel_sel_vit": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 4, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": TEXT_CFG,
    },
    "vlmsel_sel_rn": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": [2, 1, 1, 1], "width": 8},
        "text_cfg": TEXT_CFG,
    },
}
#: Three models (two random ViTs differ by their init seed, which hashes the full name), with GFLOPs set.
SELECT_ZOO = [
    {"arch": "vlmsel_sel_vit", "pretrained": "a", "family": "ViT", "image_gflops": 0.02, "params_M": 0.1},
    {"arch": "vlmsel_sel_vit", "pretrained": "b", "family": "ViT", "image_gflops": 0.05, "params_M": 0.1},
    {"arch": "vlmsel_sel_rn", "pretrained": "a", "family": "ResNet", "image_gflops": 0.01, "params_M": 0.2},
]
SOURCES = ["src0", "src1", "src2"]
N_SRC = 6
N_STEPS = 4


def register_select_configs(folder: Path) -> None:
    from vlmsel.data.zoo import register_model_configs

    folder.mkdir(parents=True, exist_ok=True)
    for name, cfg in SELECT_CONFIGS.items():
        (folder / f"{name}.json").write_text(json.dumps(cfg))
    register_model_configs(folder)


def make_images(folder: Path, n: int, kind: int, seed: int = 0, size=(40, 36), fmt: str = "png") -> Path:
    """``n`` generated images of one of three distributions: 0 smooth gradients, 1 noise, 2 stripes."""
    rng = np.random.default_rng(1000 * kind + seed)
    folder.mkdir(parents=True, exist_ok=True)
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    for i in range(n):
        if kind == 0:
            base = np.stack([xx, yy, 0.5 * (xx + yy)], -1) * rng.uniform(0.5, 1.0, 3)
        elif kind == 1:
            base = rng.random((h, w, 3))
        else:
            f = rng.uniform(3, 8)
            base = (0.5 + 0.5 * np.sin(2 * np.pi * f * xx))[..., None] * rng.uniform(0.3, 1.0, 3)
        arr = (np.clip(base, 0, 1) * 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"img{seed}_{i:02d}.{fmt}")
    return folder


def accuracy_table(models: list[str], sources: list[str]) -> pd.DataFrame:
    """Made-up accuracies (models x sources), a Latin square: model ``i`` is best on source ``i`` and
    every model has the same average rank, so only the target's resemblance to a source decides."""
    m = len(models)
    acc = np.array([[0.9 - 0.2 * ((i - j) % m) for j in range(len(sources))] for i in range(m)])
    return pd.DataFrame(acc, index=pd.Index(models, name="model"), columns=pd.Index(sources, name="dataset"))


def build_world(base: Path, zoo_items: list[dict] | None = None, sources: list[str] | None = None,
                n_src: int = N_SRC, n_steps: int = N_STEPS) -> dict:
    """Source folders (one image distribution each) profiled into a store for tiny models (random init)."""
    from vlmsel.data.tasks import open_task
    from vlmsel.profiles.compute import ProfileSettings, run_profiles
    from vlmsel.data.zoo import load_zoo

    zoo_items = SELECT_ZOO if zoo_items is None else zoo_items
    sources = SOURCES if sources is None else sources
    register_select_configs(base / "configs")
    zoo = load_zoo(zoo_items)
    folders = {s: make_images(base / s, n_src, kind=i) for i, s in enumerate(sources)}
    tasks = [open_task(s, path=p) for s, p in folders.items()]
    settings = ProfileSettings(n_images=n_src, n_steps=n_steps, pretrained=False, internal_batch_size=16)
    run_profiles(zoo, tasks, base / "store", settings, device="cpu", show_progress=False)
    acc = accuracy_table([e.name for e in zoo], sources)
    acc_csv = base / "acc.csv"
    acc.to_csv(acc_csv)
    zoo_csv = base / "zoo.csv"
    pd.DataFrame(zoo_items).to_csv(zoo_csv, index=False)
    return {"zoo": zoo, "folders": folders, "store": base / "store", "acc": acc, "acc_csv": acc_csv,
            "zoo_csv": zoo_csv, "configs": base / "configs", "base": base}
