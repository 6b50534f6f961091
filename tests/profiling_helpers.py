"""Tiny open_clip architectures and generated image folders shared by the profiling tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

TEXT_CFG = {"context_length": 16, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1}
#: Two families: a ViT (2 residual blocks) and a ModifiedResNet (4 bottlenecks).
TINY_CONFIGS = {
    "vlmsel_test_vit": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": TEXT_CFG,
    },
    "vlmsel_test_rn": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": [1, 1, 1, 1], "width": 8},
        "text_cfg": TEXT_CFG,
    },
}
TINY_MODELS = ["vlmsel_test_vit random", "vlmsel_test_rn random"]


def write_tiny_configs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, cfg in TINY_CONFIGS.items():
        (folder / f"{name}.json").write_text(json.dumps(cfg))
    return folder


def register_tiny_configs(folder: Path) -> None:
    from vlmsel.data.zoo import register_model_configs

    register_model_configs(write_tiny_configs(folder))


def make_task(folder: Path, n: int, seed: int, size=(40, 36)) -> Path:
    """``n`` random RGB PNGs; tasks made with different seeds have different brightness and texture."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    scale = 0.3 + 0.7 * (seed % 3) / 2
    for i in range(n):
        arr = (rng.random((size[1], size[0], 3)) * 255 * scale).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"img{i:02d}.png")
    return folder
