"""The real open_clip architectures of every tower family, with random weights: the engine finds the right
blocks and produces finite conductances (N = 1 image, 2 steps; no weights are downloaded).

Block counts as in the shared NOTES: ViT-B-32 and coca_ViT-B-32 12 resblocks, RN50 3/4/6/3 bottlenecks,
convnext_base_w 3/3/27/3 ConvNeXt blocks, EVA02-B-16 and ViT-B-16-SigLIP 12 timm blocks.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

open_clip = pytest.importorskip("open_clip")
pytest.importorskip("timm")

from vlmsel.conductance import block_conductance, discover_blocks  # noqa: E402

ARCHS = {
    # name: (blocks, stages, first block name, kind, block-0 output shape without batch)
    "ViT-B-32": (12, 12, "visual.transformer.resblocks.0", "residual", (50, 768)),
    "coca_ViT-B-32": (12, 12, "visual.transformer.resblocks.0", "residual", (50, 768)),
    "RN50": (16, 4, "visual.layer1.0", "bottleneck", (256, 56, 56)),
    "convnext_base_w": (36, 4, "visual.trunk.stages.0.blocks.0", "residual", (128, 64, 64)),
    "EVA02-B-16": (12, 12, "visual.trunk.blocks.0", "residual", (197, 768)),
    "ViT-B-16-SigLIP": (12, 12, "visual.trunk.blocks.0", "residual", (196, 768)),
}


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # faster than 2 when the 2 cores are shared
    yield
    torch.set_num_threads(old)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ARCHS))
def test_real_architecture_random_weights(name):
    n_blocks, n_stages, first, kind, shape0 = ARCHS[name]
    torch.manual_seed(0)
    logging.getLogger().setLevel(logging.ERROR)  # "No pretrained weights loaded" is expected
    model = open_clip.create_model(name, pretrained=None)
    blocks = discover_blocks(model)
    assert len(blocks) == n_blocks
    assert blocks[0].name == first and blocks[0].kind == kind
    assert model.get_submodule(blocks[-1].name) is blocks[-1].module
    assert len(discover_blocks(model, granularity="stage")) == n_stages
    size = model.visual.preprocess_cfg["size"]
    size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(1))
    res = block_conductance(model, x, n_steps=2, internal_batch_size=3, neuron_block=0)
    assert list(res.block_names) == [b.name for b in blocks]
    for k in ("abs", "l2", "signed"):
        assert res.scalars[k].shape == (1, n_blocks)
        assert np.isfinite(res.scalars[k]).all(), k
    assert (res.scalars["abs"] >= res.scalars["l2"]).all() and (res.scalars["l2"] >= 0).all()
    assert np.isfinite(res.scalars["branch"]).all() == (kind == "residual")
    assert np.isfinite(res.f_x).all() and (res.f_x > 0).all() and np.isfinite(res.f_baseline).all()
    assert res.neuron_conductance.shape == (1,) + shape0
    assert model.training  # create_model returns a model in train mode; the engine restores it
