"""Conductance engine on toy networks with hand-set weights, whose conductances are known in closed form;
plus the path points, baselines, objectives, block registry and input checks.

The toy tower is a chain of linear residual blocks ``h_l = h_{l-1} + W_l h_{l-1}`` acting on a 3-vector
(an "image" of shape (3, 1, 1)), so every block output is linear along the path, ``h_l(α) = h_l(x') +
α (h_l(x) - h_l(x'))``, and ``e = M_l h_l`` with ``M_l`` the product of the downstream ``(I + W)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

from vlmsel.conductance import (
    Block,
    UnknownArchitectureError,
    block_conductance,
    discover_blocks,
    embedding_norm,
    make_baseline,
    path_alphas,
    register_blocks,
    registered_architectures,
    zs_max_logit,
)
from vlmsel.conductance.paths import gaussian_blur

captum_approx = pytest.importorskip("captum.attr._utils.approximation_methods")


class LinearResidual(nn.Module):
    def __init__(self, weight: np.ndarray):
        super().__init__()
        self.lin = nn.Linear(weight.shape[1], weight.shape[0], bias=False, dtype=torch.float64)
        with torch.no_grad():
            self.lin.weight.copy_(torch.as_tensor(weight, dtype=torch.float64))

    def forward(self, h):
        return h + self.lin(h)


class ReluResidual(LinearResidual):
    """A bottleneck-like block: ReLU after the sum (conductance defined, branch not)."""

    def forward(self, h):
        return torch.relu(h + self.lin(h))


class ToyTower(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        h = x.flatten(1)
        for b in self.blocks:
            h = b(h)
        return h


class ToyCLIP(nn.Module):
    """The interface the engine needs: ``.visual`` and ``encode_image(x, normalize=False)``."""

    def __init__(self, blocks):
        super().__init__()
        self.visual = ToyTower(blocks)

    def encode_image(self, x, normalize: bool = False):
        e = self.visual(x)
        return e / e.norm(dim=-1, keepdim=True) if normalize else e


def _toy_blocks(tower, granularity):
    kinds = {LinearResidual: "residual", ReluResidual: "bottleneck"}
    return [Block(f"blocks.{i}", b, kinds[type(b)]) for i, b in enumerate(tower.blocks)]


register_blocks(ToyTower, _toy_blocks)

W1 = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0]], dtype=float)  # h1 = (x1, x2 + x1, x3)
W2 = np.array([[0, 0, 0], [0, 0, 0], [0, 1, 0]], dtype=float)  # h2 = (h1, h2, h3 + h2)


def _toy(*weights) -> ToyCLIP:
    return ToyCLIP([LinearResidual(w) for w in weights]).double()


def _as_images(vectors) -> torch.Tensor:
    v = torch.as_tensor(np.asarray(vectors, dtype=float))
    return v.reshape(v.shape[0], -1, 1, 1)


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_trapezoid"])
@pytest.mark.parametrize("rule", ["left", "trapezoid"])
def test_hand_computed_norm_objective(method, rule):
    # x = (3, 1, -4): h1 = (3, 4, -4), h2 = e = (3, 4, 0), F = ||e|| = 5, F(0) = 0.
    # Along the zero-baseline path e(α) = α e, so dF/dh is constant: dF/dh2 = u = e/5 = (.6, .8, 0) and
    # dF/dh1 = (I + W2)^T u = (.6, .8, 0) for α > 0; at α = 0 (e = 0) torch's gradient of the norm is 0.
    # Every step adds w_k (α_k - α_{k-1}) g ⊙ h, so with c = sum_k w_k (α_k - α_{k-1}):
    # Cond_2 = c (1.8, 3.2, 0) and Cond_1 = c (1.8, 3.2, 0).
    # Branches: Δ1 = h1 - x = (0, 3, 0) -> c * 2.4;  Δ2 = h2 - h1 = (0, 0, 4) -> c * 0.
    model = _toy(W1, W2)
    res = block_conductance(model, _as_images([[3, 1, -4]]), n_steps=7, method=method, rule=rule, neuron_block=0)
    a = np.array(path_alphas(method, 7))
    nonzero = (a > 0).astype(float)  # where the gradient is u rather than 0
    w = nonzero[:-1] if rule == "left" else 0.5 * (nonzero[:-1] + nonzero[1:])
    c = (w * np.diff(a)).sum()
    # Gauss-Legendre points exclude 0, so there c = α_n - α_0; the uniform grid starts at 0, where the
    # left rule loses the whole first step (c = 1 - 1/n) and the trapezoid rule half of it.
    if method == "gausslegendre":
        assert c == pytest.approx(a[-1] - a[0])
    else:
        assert c == pytest.approx(1 - 1 / 7 if rule == "left" else 1 - 0.5 / 7)
    np.testing.assert_allclose(res.neuron_conductance, c * np.array([[1.8, 3.2, 0.0]]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.scalars["abs"], [[5 * c, 5 * c]], rtol=1e-12)
    np.testing.assert_allclose(res.scalars["signed"], [[5 * c, 5 * c]], rtol=1e-12)
    np.testing.assert_allclose(res.scalars["l2"], [[c * np.hypot(1.8, 3.2)] * 2], rtol=1e-12)
    np.testing.assert_allclose(res.scalars["branch"], [[2.4 * c, 0.0]], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.f_x, [5.0], rtol=1e-14)
    np.testing.assert_allclose(res.f_baseline, [0.0], atol=1e-15)
    np.testing.assert_allclose(res.completeness_gap, [[5 * c - 5, 5 * c - 5]], atol=1e-7)
    assert list(res.block_names) == ["visual.blocks.0", "visual.blocks.1"]


def _quadratic(e):
    return 0.5 * (e**2).sum(dim=-1)


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_trapezoid"])
@pytest.mark.parametrize("rule", ["left", "trapezoid"])
def test_closed_form_quadratic_objective_nonzero_baseline(method, rule):
    # F(e) = ||e||^2 / 2 with e = M_l h_l, baseline x' != 0. With h(α) = h' + α d (d = h - h'):
    # g_l(α) = M^T M (h' + α d); a step adds w_k (α_k - α_{k-1}) d with w_k = g(α_{k-1}) (left) or the mean of
    # the two ends (trapezoid), so Cond_l = M^T M (S1 h' + S2 d) ⊙ d with
    # S1 = sum (α_k - α_{k-1}), S2 = sum a_k (α_k - α_{k-1}), a_k = α_{k-1} (left) or (α_{k-1} + α_k) / 2.
    rng = np.random.default_rng(0)
    Ws = [rng.normal(scale=0.5, size=(4, 4)) for _ in range(3)]
    model = _toy(*Ws)
    x = rng.normal(size=(3, 4))
    xb = rng.normal(size=(3, 4))
    n = 5
    res = block_conductance(
        model,
        _as_images(x),
        baseline=_as_images(xb),
        objective=_quadratic,
        n_steps=n,
        method=method,
        rule=rule,
        internal_batch_size=4,
    )
    a = np.array(path_alphas(method, n))
    da = np.diff(a)
    ak = a[:-1] if rule == "left" else 0.5 * (a[:-1] + a[1:])
    S1, S2 = da.sum(), (ak * da).sum()
    I = np.eye(4)
    mats = [I + W for W in Ws]
    for l in range(3):
        hx, hb = x.copy(), xb.copy()
        for m in mats[: l + 1]:
            hx, hb = hx @ m.T, hb @ m.T
        M = I
        for m in mats[l + 1 :]:
            M = m @ M
        d = hx - hb
        cond = ((hb * S1 + d * S2) @ (M.T @ M).T) * d  # (N, 4)
        np.testing.assert_allclose(res.scalars["abs"][:, l], np.abs(cond).sum(1), rtol=1e-11)
        np.testing.assert_allclose(res.scalars["signed"][:, l], cond.sum(1), rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(res.scalars["l2"][:, l], np.linalg.norm(cond, axis=1), rtol=1e-11)
        # branch: Δ_l = W_l h_{l-1}, linear in α too, so the same formula with d_Δ = Δ(x) - Δ(x')
        hpx, hpb = hx @ np.linalg.inv(mats[l]).T, hb @ np.linalg.inv(mats[l]).T
        dd = (hpx - hpb) @ Ws[l].T
        br = (((hb * S1 + d * S2) @ (M.T @ M).T) * dd).sum(1)
        np.testing.assert_allclose(res.scalars["branch"][:, l], br, rtol=1e-9, atol=1e-12)
    ex = x.copy()
    eb = xb.copy()
    for m in mats:
        ex, eb = ex @ m.T, eb @ m.T
    np.testing.assert_allclose(res.f_x, 0.5 * (ex**2).sum(1), rtol=1e-12)
    np.testing.assert_allclose(res.f_baseline, 0.5 * (eb**2).sum(1), rtol=1e-12)
    if method == "riemann_trapezoid" and rule == "trapezoid":
        # exact for a quadratic: the trapezoid rule integrates a linear gradient exactly
        np.testing.assert_allclose(res.completeness_gap, 0.0, atol=1e-10)


def test_left_rule_riemann_closed_form_sum():
    # Quadratic objective, zero baseline, uniform points: S2 = sum_{k=1..n} (k-1)/n * 1/n = (n - 1) / (2 n),
    # so every block's signed sum is (n - 1)/(2n) * ||e||^2 = (n - 1)/n * F(x): the left rule's bias, by hand.
    model = _toy(W1, W2)
    for n in (1, 2, 4, 10):
        res = block_conductance(
            model, _as_images([[3, 1, -4]]), objective=_quadratic, n_steps=n, method="riemann_trapezoid"
        )
        np.testing.assert_allclose(res.scalars["signed"], [[(n - 1) / n * 12.5] * 2], rtol=1e-12, atol=1e-14)


def test_bottleneck_block_has_no_branch_and_conductance_through_relu():
    # relu(h + W h) with W = 0 and x = (1, -2, 3): block 0 output (1, 0, 3); block 1 = identity-residual.
    # Norm objective, zero baseline: e(α) = α (1, 0, 3) for α > 0, u = (1, 0, 3)/sqrt(10) constant,
    # so Cond_0 = c * u ⊙ (1, 0, 3) = c * (1, 0, 9)/sqrt(10) (the ReLU kills the middle neuron).
    model = ToyCLIP([ReluResidual(np.zeros((3, 3))), LinearResidual(np.zeros((3, 3)))]).double()
    # (Gauss-Legendre points: no point at α = 0, where the norm's gradient is 0, so c = α_n - α_0.)
    res = block_conductance(model, _as_images([[1, -2, 3]]), n_steps=4, neuron_block=0)
    c = res.alphas[-1] - res.alphas[0]
    np.testing.assert_allclose(res.neuron_conductance, [[c / np.sqrt(10), 0, 9 * c / np.sqrt(10)]], rtol=1e-12)
    assert np.isnan(res.scalars["branch"][0, 0]) and not np.isnan(res.scalars["branch"][0, 1])
    assert list(res.block_kinds) == ["bottleneck", "residual"]


# ---------------------------------------------------------------------------------------------- paths


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_trapezoid"])
@pytest.mark.parametrize("n_steps", [1, 2, 7, 50])
def test_alphas_are_captums(method, n_steps):
    _, alphas_fn = captum_approx.approximation_parameters(method)
    assert path_alphas(method, n_steps) == alphas_fn(n_steps + 1)


def test_alpha_errors():
    with pytest.raises(ValueError, match="method"):
        path_alphas("simpson", 5)
    with pytest.raises(ValueError, match="n_steps"):
        path_alphas("gausslegendre", 0)


def test_baselines():
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    assert torch.equal(make_baseline(x, "zeros"), torch.zeros_like(x))
    black = make_baseline(x, "black", mean=(0.5, 0.25, 0.0), std=(0.5, 0.25, 2.0))
    assert torch.allclose(black[:, :, 3, 4], torch.tensor([[-1.0, -1.0, 0.0]] * 2, dtype=torch.float64))
    # open_clip models carry their normalisation in visual.preprocess_cfg
    holder = nn.Module()
    holder.visual = nn.Module()
    holder.visual.preprocess_cfg = {"mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}
    assert torch.allclose(make_baseline(x, "black", model=holder), torch.full_like(x, -2.0))
    with pytest.raises(ValueError, match="normalisation"):
        make_baseline(x, "black")
    # blur: keeps constants, keeps the mean of each channel of a periodic-free image roughly, smooths noise
    const = torch.full_like(x, 0.7)
    assert torch.allclose(make_baseline(const, "blur"), const)
    blurred = make_baseline(x, "blur", blur_sigma=2.0)
    assert blurred.shape == x.shape and blurred.std() < 0.5 * x.std()
    # linear: blur(a x + b) = a blur(x) + b (so it commutes with normalisation)
    assert torch.allclose(gaussian_blur(2 * x + 1, 1.5), 2 * gaussian_blur(x, 1.5) + 1)
    t = torch.arange(3, dtype=torch.float64).view(1, 3, 1, 1)
    assert torch.equal(make_baseline(x, t), t.expand_as(x))
    with pytest.raises(ValueError, match="broadcast"):
        make_baseline(x, torch.zeros(5, 3, 16, 16))
    with pytest.raises(ValueError, match="baseline"):
        make_baseline(x, "white")


def test_objectives():
    e = torch.tensor([[3.0, 4.0], [0.0, -2.0]])
    assert torch.allclose(embedding_norm(e), torch.tensor([5.0, 2.0]))
    clf = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # two classes along the axes
    f = zs_max_logit(clf, logit_scale=10.0)
    assert torch.allclose(f(e), torch.tensor([8.0, 0.0]))  # max(0.6, 0.8) * 10 ; max(0, -1) * 10


def test_custom_objective_must_return_one_value_per_image():
    with pytest.raises(ValueError, match="one value per image"):
        block_conductance(_toy(W1, W2), _as_images([[1, 2, 3]]), objective=lambda e: e, n_steps=2)


# ------------------------------------------------------------------------------------ registry, errors


def test_unknown_architecture_error_names_it_and_how_to_register():
    class MysteryTower(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(UnknownArchitectureError) as err:
        discover_blocks(MysteryTower())
    msg = str(err.value)
    assert "MysteryTower" in msg and "register_blocks" in msg


def test_registered_architectures_cover_open_clip_families():
    known = set(registered_architectures())
    for name in (
        "open_clip.transformer.VisionTransformer",
        "open_clip.modified_resnet.ModifiedResNet",
        "open_clip.timm_model.TimmModel",
        "timm.models.convnext.ConvNeXt",
        "timm.models.eva.Eva",
        "timm.models.vision_transformer.VisionTransformer",
    ):
        assert name in known


def test_input_errors():
    model = _toy(W1, W2)
    x = _as_images([[1, 2, 3]])
    with pytest.raises(ValueError, match="images"):
        block_conductance(model, x[0])
    with pytest.raises(ValueError, match="rule"):
        block_conductance(model, x, rule="simpson")
    with pytest.raises(ValueError, match="internal_batch_size"):
        block_conductance(model, x, internal_batch_size=0)
    with pytest.raises(ValueError, match="granularity"):
        block_conductance(model, x, granularity="layer")
    with pytest.raises(ValueError, match="neuron_block"):
        block_conductance(model, x, neuron_block="visual.blocks.9")


def test_model_state_restored_and_dtype_copy():
    model = ToyCLIP([LinearResidual(W1), LinearResidual(W2)]).float()
    model.train()
    model.visual.blocks[1].lin.weight.requires_grad_(False)
    x = _as_images([[3, 1, -4]]).float()
    r64 = block_conductance(model, x, n_steps=3, dtype=torch.float64)
    r32 = block_conductance(model, x, n_steps=3)
    assert model.training and all(m.training for m in model.modules())
    assert model.visual.blocks[0].lin.weight.requires_grad and not model.visual.blocks[1].lin.weight.requires_grad
    assert model.visual.blocks[0].lin.weight.dtype == torch.float32
    assert r64.settings["dtype"] == "float64" and r32.settings["dtype"] == "float32"
    np.testing.assert_allclose(r32.scalars["abs"], r64.scalars["abs"], rtol=1e-6)


def test_path_point_flops_counts_forward_and_input_backward_by_hand():
    """Two bias-free linear layers on a flattened (3, 2, 2) image: the forward costs 2·12·8 + 2·8·4 = 256
    FLOPs and the backward to the image the same again (parameters are frozen, so no weight gradients);
    the model's training mode and ``requires_grad`` flags are restored afterwards."""
    from vlmsel.conductance import path_point_flops

    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8, bias=False), nn.ReLU(), nn.Linear(8, 4, bias=False))
    model.train()
    image = torch.rand(3, 2, 2)
    assert path_point_flops(model, image) == 512.0
    assert path_point_flops(model, image[None]) == 512.0
    assert model.training and all(p.requires_grad for p in model.parameters())
