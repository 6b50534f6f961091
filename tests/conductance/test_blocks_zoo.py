"""Block discovery for every architecture of the 121-model open_clip results table (58 configs).

Only the visual tower is built, on PyTorch's "meta" device (shapes without memory or initialisation), so
even the multi-billion-parameter towers take a second. Expected counts: ``vision_layers`` of the config for
open_clip ViTs, the sum of the four stage depths for ModifiedResNets, and timm's depths for the timm trunks
(eva02_base 12, eva02_large 24, eva_giant 40, eva02_enormous 64; SigLIP base 12, large 24, so400m 27;
convnext_base / large 3+3+27+3, convnext_xxlarge 3+4+30+3).
"""

from __future__ import annotations

import logging

import pytest
import torch

open_clip = pytest.importorskip("open_clip")
pytest.importorskip("timm")

from open_clip.model import _build_vision_tower  # noqa: E402

from vlmsel.conductance import discover_blocks  # noqa: E402

VIT, RESNET, CONVNEXT, EVA, SIGLIP = "transformer.resblocks", "layer", "trunk.stages", "trunk.blocks", "trunk.blocks"
# arch: (blocks, stages, name prefix of the first block)
ZOO = {
    "EVA01-g-14": (40, 40, EVA),
    "EVA01-g-14-plus": (40, 40, EVA),
    "EVA02-B-16": (12, 12, EVA),
    "EVA02-E-14": (64, 64, EVA),
    "EVA02-E-14-plus": (64, 64, EVA),
    "EVA02-L-14": (24, 24, EVA),
    "EVA02-L-14-336": (24, 24, EVA),
    "RN101": (33, 4, RESNET),
    "RN101-quickgelu": (33, 4, RESNET),
    "RN50": (16, 4, RESNET),
    "RN50-quickgelu": (16, 4, RESNET),
    "RN50x16": (40, 4, RESNET),
    "RN50x4": (26, 4, RESNET),
    "RN50x64": (64, 4, RESNET),
    "ViT-B-16": (12, 12, VIT),
    "ViT-B-16-plus-240": (12, 12, VIT),
    "ViT-B-16-quickgelu": (12, 12, VIT),
    "ViT-B-32": (12, 12, VIT),
    "ViT-B-32-256": (12, 12, VIT),
    "ViT-B-32-quickgelu": (12, 12, VIT),
    "ViT-H-14": (32, 32, VIT),
    "ViT-H-14-378-quickgelu": (32, 32, VIT),
    "ViT-H-14-CLIPA": (32, 32, VIT),
    "ViT-H-14-CLIPA-336": (32, 32, VIT),
    "ViT-H-14-quickgelu": (32, 32, VIT),
    "ViT-L-14": (24, 24, VIT),
    "ViT-L-14-336": (24, 24, VIT),
    "ViT-L-14-CLIPA": (24, 24, VIT),
    "ViT-L-14-CLIPA-336": (24, 24, VIT),
    "ViT-L-14-quickgelu": (24, 24, VIT),
    "ViT-bigG-14": (48, 48, VIT),
    "ViT-bigG-14-CLIPA": (48, 48, VIT),
    "ViT-bigG-14-CLIPA-336": (48, 48, VIT),
    "ViT-g-14": (40, 40, VIT),
    "coca_ViT-B-32": (12, 12, VIT),
    "coca_ViT-L-14": (24, 24, VIT),
    "nllb-clip-base": (12, 12, VIT),
    "nllb-clip-large": (32, 32, VIT),
    "roberta-ViT-B-32": (12, 12, VIT),
    "xlm-roberta-base-ViT-B-32": (12, 12, VIT),
    "xlm-roberta-large-ViT-H-14": (32, 32, VIT),
    "ViT-B-16-SigLIP": (12, 12, SIGLIP),
    "ViT-B-16-SigLIP-256": (12, 12, SIGLIP),
    "ViT-B-16-SigLIP-384": (12, 12, SIGLIP),
    "ViT-B-16-SigLIP-512": (12, 12, SIGLIP),
    "ViT-B-16-SigLIP-i18n-256": (12, 12, SIGLIP),
    "ViT-L-16-SigLIP-256": (24, 24, SIGLIP),
    "ViT-L-16-SigLIP-384": (24, 24, SIGLIP),
    "ViT-SO400M-14-SigLIP": (27, 27, SIGLIP),
    "ViT-SO400M-14-SigLIP-384": (27, 27, SIGLIP),
    "nllb-clip-base-siglip": (12, 12, SIGLIP),
    "nllb-clip-large-siglip": (27, 27, SIGLIP),
    "convnext_base": (36, 4, CONVNEXT),
    "convnext_base_w": (36, 4, CONVNEXT),
    "convnext_base_w_320": (36, 4, CONVNEXT),
    "convnext_large_d": (36, 4, CONVNEXT),
    "convnext_large_d_320": (36, 4, CONVNEXT),
    "convnext_xxlarge": (40, 4, CONVNEXT),
}


def test_zoo_table_is_the_121_model_table():
    import csv
    import os
    from pathlib import Path

    data = os.environ.get("VLMSEL_DATA_DIR")
    path = Path(data or "") / "openclip" / "derived" / "openclip_models_121.csv"
    if not data or not path.exists():
        pytest.skip("VLMSEL_DATA_DIR does not hold openclip/derived/openclip_models_121.csv")
    with open(path, newline="") as fh:
        archs = {row["arch"] for row in csv.DictReader(fh)}
    assert archs == set(ZOO)


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(ZOO))
def test_blocks_of_every_zoo_architecture(arch):
    n_blocks, n_stages, prefix = ZOO[arch]
    logging.getLogger().setLevel(logging.ERROR)
    cfg = open_clip.get_model_config(arch)
    with torch.device("meta"):
        tower = _build_vision_tower(cfg["embed_dim"], cfg["vision_cfg"], quick_gelu=cfg.get("quick_gelu", False))
    blocks = discover_blocks(tower)
    assert len(blocks) == n_blocks
    assert len(discover_blocks(tower, granularity="stage")) == n_stages
    assert blocks[0].name.startswith(prefix)
    assert len({b.name for b in blocks}) == n_blocks
    for b in blocks:
        assert tower.get_submodule(b.name) is b.module
    kinds = {b.kind for b in blocks}
    assert kinds == ({"bottleneck"} if prefix == RESNET else {"residual"})
