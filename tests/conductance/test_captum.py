"""The conductance engine against independent references on tiny random-init open_clip models.

Every open_clip tower family the zoo uses is built tiny (a few thousand parameters, 32-64 px images) and run
in float64: open_clip ViT (with LayerScale, so ``ls_1``/``ls_2`` are real modules), a ViT with CoCa's
attentional pooler, ModifiedResNet, and timm ConvNeXt, EVA and SigLIP-style ViT trunks inside an open_clip
``TimmModel``. References: captum's ``LayerConductance`` one block at a time (same alphas), and a
brute-force loop that evaluates every path point in its own forward pass.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import torch

pytest.importorskip("captum")
open_clip = pytest.importorskip("open_clip")
timm = pytest.importorskip("timm")

import open_clip.timm_model as oc_timm  # noqa: E402
from open_clip.model import CLIP, set_model_preprocess_cfg  # noqa: E402

from vlmsel.conductance import (  # noqa: E402
    block_conductance,
    discover_blocks,
    make_baseline,
    path_alphas,
    zs_max_logit,
)
from vlmsel.conductance.objectives import embedding_norm  # noqa: E402
from vlmsel.conductance.reference import captum_block_conductance  # noqa: E402

TEXT_CFG = dict(context_length=8, vocab_size=50, width=16, heads=1, layers=1)


def _timm_clip(model_name: str, timm_kwargs: dict, pool: str, proj, image_size: int = 32) -> CLIP:
    """An open_clip CLIP whose TimmModel trunk is ``timm.create_model(model_name, **timm_kwargs)`` (tiny)."""
    real_create = oc_timm.timm.create_model

    def create(name, **kw):
        return real_create(name, **{**kw, **timm_kwargs})

    with mock.patch.object(oc_timm.timm, "create_model", create):
        return CLIP(
            embed_dim=16,
            vision_cfg=dict(image_size=image_size, timm_model_name=model_name, timm_pool=pool, timm_proj=proj),
            text_cfg=TEXT_CFG,
        )


def _build(family: str) -> tuple[torch.nn.Module, int]:
    torch.manual_seed(0)
    if family == "vit":
        vc = dict(image_size=32, layers=3, width=32, patch_size=8, head_width=16, ls_init_value=0.5)
        m, size = CLIP(embed_dim=16, vision_cfg=vc, text_cfg=TEXT_CFG), 32
    elif family == "vit_attn_pool":
        vc = dict(
            image_size=32,
            layers=2,
            width=32,
            patch_size=8,
            head_width=16,
            attentional_pool=True,
            attn_pooler_queries=4,
            attn_pooler_heads=2,
        )
        m, size = CLIP(embed_dim=16, vision_cfg=vc, text_cfg=TEXT_CFG), 32
    elif family == "resnet":
        vc = dict(image_size=64, layers=[2, 1, 1, 1], width=8)
        m, size = CLIP(embed_dim=16, vision_cfg=vc, text_cfg=TEXT_CFG), 64
    elif family == "convnext":
        m, size = _timm_clip("convnext_atto", dict(depths=(1, 2, 1, 1), dims=(8, 16, 24, 32)), "", "linear"), 32
    elif family == "eva":
        kw = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2)
        m, size = _timm_clip("eva02_tiny_patch14_224", kw, "token", None), 32
    elif family == "siglip":
        kw = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2)
        m, size = _timm_clip("vit_base_patch16_siglip_224", kw, "map", "none"), 32
    else:
        raise ValueError(family)
    _trained_like(m)
    # what open_clip.create_model records (the "black" baseline reads it)
    set_model_preprocess_cfg(m, {"mean": open_clip.OPENAI_DATASET_MEAN, "std": open_clip.OPENAI_DATASET_STD})
    return m.double().eval(), size


def _trained_like(model: torch.nn.Module) -> None:
    """Give every bias and BatchNorm statistic a non-trivial value, as training does.

    Random init sets biases to zero, which makes some towers exactly scale invariant along the zero-baseline
    path: a ConvNeXt stem is conv + LayerNorm, so F(αx) is constant for every α > 0 and all conductance
    vanishes (it sits in the jump at α = 0). Trained weights have biases; so do these test models.
    """
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.copy_(0.1 * torch.randn(mod.running_mean.shape, generator=g))
                mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=g))


FAMILIES = ["vit", "vit_attn_pool", "resnet", "convnext", "eva", "siglip"]
EXPECTED_BLOCKS = {"vit": 3, "vit_attn_pool": 2, "resnet": 5, "convnext": 5, "eva": 2, "siglip": 2}
_CACHE: dict = {}


def _model(family):
    if family not in _CACHE:
        _CACHE[family] = _build(family)
    return _CACHE[family]


def _images(size: int, n: int = 2, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g, dtype=torch.float64)


def _scalars_from_neurons(c: torch.Tensor) -> dict[str, np.ndarray]:
    flat = c.reshape(c.shape[0], -1).double()
    return {
        "abs": flat.abs().sum(1).numpy(),
        "l2": torch.linalg.vector_norm(flat, dim=1).numpy(),
        "signed": flat.sum(1).numpy(),
    }


@pytest.fixture(autouse=True)
def _few_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_trapezoid"])
@pytest.mark.parametrize("family", FAMILIES)
def test_every_block_matches_captum(family, method):
    model, size = _model(family)
    x = _images(size)
    blocks = discover_blocks(model)
    assert len(blocks) == EXPECTED_BLOCKS[family]
    mid = len(blocks) // 2
    # internal_batch_size 4 with 5 points per image: chunks split paths and hold several images
    res = block_conductance(model, x, n_steps=4, method=method, internal_batch_size=4, neuron_block=mid)
    assert res.scalars["abs"].shape == (2, len(blocks))
    for l, block in enumerate(blocks):
        ref = captum_block_conductance(model, x, block, n_steps=4, method=method, internal_batch_size=6)
        want = _scalars_from_neurons(ref)
        for k in ("abs", "l2", "signed"):
            np.testing.assert_allclose(
                res.scalars[k][:, l], want[k], rtol=1e-9, atol=1e-12, err_msg=f"{block.name} {k}"
            )
        if l == mid:
            assert res.neuron_conductance.shape == tuple(ref.shape)
            np.testing.assert_allclose(res.neuron_conductance, ref.numpy(), rtol=1e-9, atol=1e-12)
    branch_defined = ~np.isnan(res.scalars["branch"][0])
    assert branch_defined.tolist() == [b.kind == "residual" for b in blocks]
    assert (family == "resnet") == (not branch_defined.any())


@pytest.mark.parametrize("family", ["resnet", "convnext"])
def test_stage_granularity_matches_captum(family):
    model, size = _model(family)
    x = _images(size)
    stages = discover_blocks(model, granularity="stage")
    assert len(stages) == 4 and all(b.kind == "stage" for b in stages)
    res = block_conductance(model, x, n_steps=3, granularity="stage", internal_batch_size=5)
    assert np.isnan(res.scalars["branch"]).all()
    for l, block in enumerate(stages):
        want = _scalars_from_neurons(captum_block_conductance(model, x, block, n_steps=3, internal_batch_size=8))
        np.testing.assert_allclose(res.scalars["abs"][:, l], want["abs"], rtol=1e-9)
        np.testing.assert_allclose(res.scalars["signed"][:, l], want["signed"], rtol=1e-9, atol=1e-12)


def _brute_force(model, x, xb, alphas, objective=embedding_norm, with_ls=False):
    """Evaluate every path point alone: block outputs h, gradients g, and (ViT) ls_1 + ls_2 outputs, per α."""
    blocks = discover_blocks(model)
    H, G, LS = [], [], []
    for a in alphas:
        xp = (xb + a * (x - xb)).requires_grad_(True)
        outs, ls = {}, {}
        handles = []
        for i, b in enumerate(blocks):
            handles.append(b.module.register_forward_hook(lambda m, args, o, i=i, outs=outs: outs.__setitem__(i, o)))
            if with_ls:
                for name in ("ls_1", "ls_2"):
                    handles.append(
                        getattr(b.module, name).register_forward_hook(
                            lambda m, args, o, i=i, ls=ls: ls.setdefault(i, []).append(o)
                        )
                    )
        try:
            f = objective(model.encode_image(xp, normalize=False))
        finally:
            for h in handles:
                h.remove()
        grads = torch.autograd.grad(f.sum(), [outs[i] for i in range(len(blocks))])
        H.append([outs[i].detach().reshape(len(x), -1).numpy() for i in range(len(blocks))])
        G.append([g.reshape(len(x), -1).numpy() for g in grads])
        if with_ls:
            LS.append([(ls[i][0] + ls[i][1]).detach().reshape(len(x), -1).numpy() for i in range(len(blocks))])
    return H, G, LS


def _rule_sum(H, G, l, rule):
    total = 0
    for k in range(1, len(H)):
        w = G[k - 1][l] if rule == "left" else 0.5 * (G[k - 1][l] + G[k][l])
        total = total + w * (H[k][l] - H[k - 1][l])
    return total  # (N, D)


@pytest.mark.parametrize("rule", ["left", "trapezoid"])
def test_branch_and_rules_match_brute_force_with_layerscale_hooks(rule):
    # "branch" = signed conductance of the residual increment, which in open_clip's ResidualAttentionBlock
    # is ls_1(attention) + ls_2(mlp): hooked here directly, one forward pass per path point.
    model, size = _model("vit")
    assert not isinstance(model.visual.transformer.resblocks[0].ls_1, torch.nn.Identity)
    x = _images(size)
    xb = torch.zeros_like(x)
    alphas = path_alphas("gausslegendre", 5)
    H, G, LS = _brute_force(model, x, xb, alphas, with_ls=True)
    res = block_conductance(model, x, n_steps=5, rule=rule, internal_batch_size=7)
    for l in range(3):
        cond = _rule_sum(H, G, l, rule)
        np.testing.assert_allclose(res.scalars["abs"][:, l], np.abs(cond).sum(1), rtol=1e-9)
        np.testing.assert_allclose(res.scalars["signed"][:, l], cond.sum(1), rtol=1e-9)
        branch = sum(
            ((G[k - 1][l] if rule == "left" else 0.5 * (G[k - 1][l] + G[k][l])) * (LS[k][l] - LS[k - 1][l])).sum(1)
            for k in range(1, len(alphas))
        )
        np.testing.assert_allclose(res.scalars["branch"][:, l], branch, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("family", ["resnet", "eva"])
def test_trapezoid_rule_matches_brute_force(family):
    model, size = _model(family)
    x = _images(size)
    xb = make_baseline(x, "blur")
    alphas = path_alphas("riemann_trapezoid", 4)
    H, G, _ = _brute_force(model, x, xb, alphas)
    res = block_conductance(
        model, x, n_steps=4, method="riemann_trapezoid", rule="trapezoid", baseline="blur", internal_batch_size=3
    )
    for l in range(len(H[0])):
        cond = _rule_sum(H, G, l, "trapezoid")
        np.testing.assert_allclose(res.scalars["l2"][:, l], np.linalg.norm(cond, axis=1), rtol=1e-9)
        np.testing.assert_allclose(res.scalars["signed"][:, l], cond.sum(1), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("family", ["vit", "resnet", "convnext"])
def test_completeness_gap_shrinks_with_n_steps(family):
    # Every block output is a cut of the tower, so each block's signed total tends to F(x) - F(x') as the
    # steps shrink: the error of the left rule is O(1/n), of the trapezoid rule O(1/n^2) where F is smooth
    # (ReLU kinks in the ResNet make it slower). Measured relative gaps at n = 2, 8, 32: 0.03-0.85,
    # 0.003-0.22, 0.0004-0.05.
    model, size = _model(family)
    x = _images(size)
    for method, rule in [
        ("riemann_trapezoid", "left"),
        ("riemann_trapezoid", "trapezoid"),
        ("gausslegendre", "left"),
        ("gausslegendre", "trapezoid"),
    ]:
        rel = []
        for n in (2, 8, 32):
            res = block_conductance(model, x, n_steps=n, method=method, rule=rule, internal_batch_size=64)
            delta = res.f_x - res.f_baseline
            np.testing.assert_allclose(res.completeness_gap, res.scalars["signed"] - delta[:, None])
            rel.append(np.abs(res.completeness_gap).max() / np.abs(delta).max())
        assert rel[0] > rel[1] > rel[2], (method, rule, rel)
        assert rel[2] < 0.05, (method, rule, rel)
        assert rel[1] / rel[2] > (2.5 if rule == "left" else 6.0), (method, rule, rel)


@pytest.mark.parametrize("family", ["vit", "eva", "resnet"])
def test_same_numbers_whatever_internal_batch_size_and_run_to_run(family):
    model, size = _model(family)
    x = _images(size, n=3)
    runs = [block_conductance(model, x, n_steps=3, internal_batch_size=b, neuron_block=0) for b in (1, 2, 5, 7, 1000)]
    again = block_conductance(model, x, n_steps=3, internal_batch_size=5, neuron_block=0)
    for k in ("abs", "l2", "signed", "branch"):
        np.testing.assert_array_equal(again.scalars[k], runs[2].scalars[k])
        for r in runs[1:]:
            np.testing.assert_allclose(r.scalars[k], runs[0].scalars[k], rtol=1e-10, atol=1e-13)
    for r in runs[1:]:
        np.testing.assert_allclose(r.f_path, runs[0].f_path, rtol=1e-12)
        np.testing.assert_allclose(r.neuron_conductance, runs[0].neuron_conductance, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("baseline", ["black", "blur"])
def test_other_baselines_match_captum(baseline):
    model, size = _model("vit")
    x = _images(size)
    res = block_conductance(model, x, n_steps=3, baseline=baseline, internal_batch_size=6)
    xb = make_baseline(x, baseline, model=model)
    assert not torch.allclose(xb, torch.zeros_like(xb))
    for l, block in enumerate(discover_blocks(model)):
        want = _scalars_from_neurons(
            captum_block_conductance(model, x, block, n_steps=3, baseline=xb, internal_batch_size=8)
        )
        np.testing.assert_allclose(res.scalars["abs"][:, l], want["abs"], rtol=1e-9)
    with torch.no_grad():
        np.testing.assert_allclose(res.f_baseline, embedding_norm(model.encode_image(xb)).numpy(), rtol=1e-12)
        np.testing.assert_allclose(res.f_x, embedding_norm(model.encode_image(x)).numpy(), rtol=1e-12)


def test_zero_shot_objective_matches_captum():
    model, size = _model("resnet")
    x = _images(size)
    g = torch.Generator().manual_seed(3)
    clf = torch.nn.functional.normalize(torch.randn(16, 5, generator=g, dtype=torch.float64), dim=0)
    obj = zs_max_logit(clf)
    res = block_conductance(model, x, n_steps=3, objective=obj, internal_batch_size=5)
    assert res.settings["objective"] == "zs_max_logit"
    for l, block in enumerate(discover_blocks(model)):
        want = _scalars_from_neurons(
            captum_block_conductance(model, x, block, n_steps=3, objective=obj, internal_batch_size=8)
        )
        np.testing.assert_allclose(res.scalars["signed"][:, l], want["signed"], rtol=1e-9, atol=1e-12)


def test_float32_and_bf16_autocast_are_close_to_float64():
    model64, size = _model("vit")
    x = _images(size, n=3)
    ref = block_conductance(model64, x, n_steps=4)
    model32 = _build("vit")[0].float()
    r32 = block_conductance(model32, x.float(), n_steps=4)
    np.testing.assert_allclose(r32.scalars["abs"], ref.scalars["abs"], rtol=1e-4)
    rbf = block_conductance(model32, x.float(), n_steps=4, autocast=True)
    assert rbf.settings["autocast"] == "bfloat16"
    for k in ("abs", "l2", "signed"):
        assert np.isfinite(rbf.scalars[k]).all()
    # bf16 keeps ~3 significant digits; the block profile survives
    np.testing.assert_allclose(rbf.scalars["abs"], ref.scalars["abs"], rtol=0.1)
    np.testing.assert_allclose(rbf.f_x, ref.f_x, rtol=0.02)
