# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (ch-conductance)=
# # 2. Conductance from scratch
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/02_conductance.ipynb)
#
# **What you will learn**
#
# - {term}`integrated gradients`: how a change of a network's output is shared among its inputs, and why the
#   shares add up to the change (completeness);
# - conductance: the same integral taken *through* a hidden unit, and why the conductances of all units
#   of a layer that cuts the network also add up to $F(x) - F(x')$;
# - the closed form of conductance on a toy network with hand-set weights, checked to machine precision;
# - how the path integral is discretised (Gauss-Legendre or uniform points, left or trapezoid rule) and
#   how fast each choice converges;
# - the one-pass algorithm that gives the conductance of *every* block from one set of forward and
#   backward passes, written by hand in a few lines of torch and checked against
#   `vlmsel.conductance.block_conductance` and captum's `LayerConductance`, and what it saves.

# %% tags=["remove-cell"]
# Colab bootstrap: installs the pinned vlmsel in Colab (or VLMSEL_INSTALL, if set).
# Generated from vlmsel/colab.py: change the repository or version there.
import os
import subprocess
import sys

PACKAGE = os.environ.get("VLMSEL_INSTALL") or "vlmsel[book] @ git+https://github.com/vlmsel/vlmsel@v0.1.0"
if "google.colab" in sys.modules or os.environ.get("VLMSEL_INSTALL"):
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE],
                   check=True)

# %% tags=["parameters"]
# Parameters (papermill). Defaults are the CI scale: tiny random-init nets.
SEED = 0
DEVICE = "cpu"
N_THREADS = 1  # torch CPU threads (the CI machine is small and shared)
# The tiny open_clip ViT (random init) of the one-pass and cost sections.
VIT_LAYERS = 6
VIT_WIDTH = 32
IMAGE_SIZE = 32
N_IMAGES = 2
N_STEPS = 20  # path steps of the checks against the library and captum
# Discretisation study: the numbers of steps tried.
STEPS_GRID = [2, 4, 8, 16, 32, 64, 128]
N_REPEATS = 3  # timing repeats (the best is kept)

# %%
import time
import warnings

# captum imports tqdm.auto, which warns in a kernel without ipywidgets.
warnings.filterwarnings("ignore", message="IProgress not found")

import matplotlib.pyplot as plt
import numpy as np
import open_clip
import pandas as pd
import torch
import torch.nn as nn
from captum.attr import LayerConductance
from myst_nb import glue

from vlmsel import plotting
from vlmsel.conductance import (
    Block,
    block_conductance,
    discover_blocks,
    path_alphas,
)

plotting.use_style()
torch.set_num_threads(N_THREADS)
_ = torch.manual_seed(SEED)

# %% [markdown]
# ## Integrated gradients
#
# Take a network with a scalar output $F(x)$, an input $x$ and a *baseline* $x'$, an input that carries
# "no information" (for images: the mean image, which is zero after normalisation). How much did each
# input coordinate $x_i$ contribute to the change $F(x) - F(x')$? Integrated gradients
# {cite}`sundararajan2017axiomatic` walk along the straight path $x(\alpha) = x' + \alpha (x - x')$,
# $\alpha \in [0, 1]$, and add up the gradient along the way:
#
# $$
# \mathrm{IG}_i(x) = (x_i - x'_i) \int_0^1 \frac{\partial F}{\partial x_i}\big(x(\alpha)\big)\, d\alpha .
# $$
#
# Since $\frac{d}{d\alpha} F(x(\alpha)) = \sum_i \frac{\partial F}{\partial x_i} (x_i - x'_i)$, the
# fundamental theorem of calculus gives **completeness**: $\sum_i \mathrm{IG}_i(x) = F(x) - F(x')$.
# The attributions share out exactly the change of the output, nothing more and nothing less.
#
# ## Conductance through a hidden unit
#
# Conductance {cite}`dhamdhere2018conductance` asks the same question about a hidden unit $h_j$ of some
# layer: how much of $F(x) - F(x')$ flows *through* $h_j$? Follow the path again, but split the change
# of $F$ by the hidden units it passes through:
#
# $$
# \mathrm{Cond}_j(x) = \int_0^1 \frac{\partial F}{\partial h_j}\big(x(\alpha)\big)\,
#   \frac{d h_j\big(x(\alpha)\big)}{d\alpha}\, d\alpha .
# $$
#
# (Dhamdhere et al. write it as a sum of integrated gradients over the inputs, each weighted by
# $\partial h_j / \partial x_i$; the chain rule makes the two forms equal.) If the layer is a *cut* of the
# network, so that $F$ depends on $x$ only through $h = (h_1, \dots, h_D)$, then
# $\frac{d}{d\alpha} F = \sum_j \frac{\partial F}{\partial h_j} \frac{d h_j}{d\alpha}$ and the same
# argument gives completeness for the layer:
#
# $$
# \sum_{j=1}^{D} \mathrm{Cond}_j(x) = F(x) - F(x') .
# $$
#
# Every residual block of a CLIP image encoder is such a cut. That is why vlmsel never uses the signed
# sum of a block's conductances as the block's importance (it is the same number for every block), but
# the sum of their absolute values ({ref}`chapter 3 <ch-clip-encoder>`).
#
# ## A toy network with known answers
#
# A network small enough to integrate by hand: three inputs, one hidden layer of three ReLU units with
# hand-set weights $W$ and bias $b$, and a readout that is a weighted sum of squares,
#
# $$
# h = \mathrm{relu}(W x + b), \qquad F(x) = \tfrac12 \sum_j v_j h_j^2 .
# $$
#
# Because $F$ is a sum of one term per unit, $\partial F / \partial h_j = v_j h_j$ depends on $h_j$ only,
# and the conductance integral has a closed form whatever the path of $h_j$ looks like (kinks included):
#
# $$
# \mathrm{Cond}_j(x) = \int_0^1 v_j h_j \frac{d h_j}{d\alpha}\, d\alpha
#   = \tfrac12 v_j \big( h_j(x)^2 - h_j(x')^2 \big).
# $$

# %%
W = torch.tensor([[1.0, -1.0, 0.0],
                  [0.0, 1.0, 1.0],
                  [1.0, 0.0, -6.0]], dtype=torch.float64)
b = torch.tensor([-0.5, 0.0, 0.5], dtype=torch.float64)
v = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)


class Toy(nn.Module):
    """x (B, 3, 1, 1) -> h = relu(W x + b) (B, 3); F = sum(v h^2) / 2."""

    def __init__(self):
        super().__init__()
        self.inputs = nn.Flatten()  # identity on the values: input layer
        self.hidden = nn.Sequential(nn.Linear(3, 3, dtype=torch.float64),
                                    nn.ReLU())
        with torch.no_grad():
            self.hidden[0].weight.copy_(W)
            self.hidden[0].bias.copy_(b)

    def forward(self, x):
        return self.hidden(self.inputs(x))  # the "embedding" is h itself


def toy_objective(h):
    return 0.5 * (v * h**2).sum(dim=-1)


toy = Toy().eval()
x = torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64).view(1, 3, 1, 1)
x_base = torch.zeros_like(x)
with torch.no_grad():
    h_x, h_base = toy(x)[0], toy(x_base)[0]
    f_x = toy_objective(toy(x)).item()
    f_base = toy_objective(toy(x_base)).item()
cond_exact = 0.5 * v * (h_x**2 - h_base**2)
print("h(x)  =", h_x.tolist(), "  h(x') =", h_base.tolist())
print("F(x)  =", f_x, "  F(x') =", f_base)

# %% [markdown]
# Along the path, unit 1 is off until $\alpha = 0.5$ and on after it; unit 3 is on at the baseline
# (bias $0.5$) and switches off at $\alpha = 0.5$. We now compute the integral numerically, by hand:
# evaluate the network at $n + 1$ points $\alpha_0 < \dots < \alpha_n$ of the path, take the gradient
# $g_k = \partial F / \partial h$ at each point, and sum the gradient times the change of the unit over
# each step,
#
# $$
# \mathrm{Cond}_j \approx \sum_{k=1}^{n} w_{k,j}
#   \big( h_j(x(\alpha_k)) - h_j(x(\alpha_{k-1})) \big),
# $$
#
# with the weight $w_{k,j} = g_{k-1,j}$ (the *left rule*) or $w_{k,j} = \tfrac12 (g_{k-1,j} + g_{k,j})$
# (the *trapezoid rule*).
#
# The left rule is what captum's `LayerConductance` computes {cite}`kokhlikyan2020captum`, and vlmsel's
# default.

# %%
def conductance_by_hand(model, layer, objective, x, x_base, alphas,
                        rule="left"):
    """Per-unit conductance of `layer` for one input, by a Riemann sum."""
    a = torch.tensor(alphas, dtype=x.dtype).view(-1, 1, 1, 1)
    path = (x_base + a * (x - x_base)).requires_grad_(True)  # (n+1,3,1,1)
    kept = {}
    hook = layer.register_forward_hook(lambda m, i, out: kept.update(h=out))
    values = objective(model(path))
    hook.remove()
    (g,) = torch.autograd.grad(values.sum(), kept["h"])  # dF/dh, all points
    h = kept["h"].detach()
    w = g[:-1] if rule == "left" else 0.5 * (g[:-1] + g[1:])
    return (w * (h[1:] - h[:-1])).sum(dim=0)


# A uniform grid fine enough to see the limit: 0, 1/n, ..., 1.
fine = np.linspace(0.0, 1.0, 20_001).tolist()
cond_hidden = conductance_by_hand(toy, toy.hidden, toy_objective, x, x_base,
                                  fine, rule="trapezoid")
ig_inputs = conductance_by_hand(toy, toy.inputs, toy_objective, x, x_base,
                                fine, rule="trapezoid")

# %% tags=["nbval-check-output"]
toy_table = pd.DataFrame({
    "closed form": cond_exact.numpy(),
    "by hand (n=20000)": cond_hidden.numpy(),
}, index=[f"unit {j + 1}" for j in range(3)])
toy_table.loc["sum"] = toy_table.sum()
print(toy_table.round(6).to_string())
print(f"F(x) - F(x') = {f_x - f_base:.6f}")
print("integrated gradients of the inputs:", ig_inputs.numpy().round(6),
      " sum:", round(float(ig_inputs.sum()), 6))

# %%
np.testing.assert_allclose(cond_hidden, cond_exact, atol=1e-8)
np.testing.assert_allclose(cond_hidden.sum(), f_x - f_base, atol=1e-8)
np.testing.assert_allclose(ig_inputs.sum(), f_x - f_base, atol=1e-8)
glue("ch2_toy_delta_f", f_x - f_base, display=False)
glue("ch2_toy_cond3", float(cond_exact[2]), display=False)
glue("ch2_toy_h3_base", float(h_base[2]), display=False)

# %% [markdown]
# Both layers share out the same $F(x) - F(x')$ = {glue:text}`ch2_toy_delta_f:.4f`, but differently:
# the hidden layer by unit, the input layer (integrated gradients) by input coordinate. Unit 3 has a
# *negative* conductance, {glue:text}`ch2_toy_cond3:.4f`: it was active at the baseline
# ($h_3(x')$ = {glue:text}`ch2_toy_h3_base:.1f`) and is off at $x$, so the change of the output that flows
# through it is a loss. A signed sum over units can hide such units; a sum of absolute values cannot.
#
# The library computes the same thing. `block_conductance` accepts any module as a *block*, any
# objective, and a bare network in place of a CLIP model; with `neuron_block` it also returns the
# per-unit conductances.

# %%
toy_blocks = [Block("inputs", toy.inputs, "stage"),
              Block("hidden", toy.hidden, "stage")]
lib = block_conductance(toy, x, n_steps=2000, method="riemann_trapezoid",
                        rule="trapezoid", objective=toy_objective,
                        blocks=toy_blocks, neuron_block="hidden",
                        internal_batch_size=512, show_progress=False)
np.testing.assert_allclose(lib.neuron_conductance[0], cond_exact, atol=1e-6)
np.testing.assert_allclose(lib.scalars["signed"][0], f_x - f_base,
                           atol=1e-6)
np.testing.assert_allclose(lib.scalars["abs"][0, 1],
                           cond_exact.abs().sum(), atol=1e-6)

# %% [markdown]
# ## The path integral and its discretisations
#
# A real network is evaluated at a few dozen points of the path, not twenty thousand, so *which* points
# and *which* rule matter. vlmsel offers captum's two choices of points (`path_alphas`):
#
# - `"gausslegendre"` (the default, as captum): the $n + 1$ Gauss-Legendre nodes mapped to $(0, 1)$.
#   They crowd towards the ends, and the ends themselves are *not* among them: even a perfect sum stops
#   at $F(x(\alpha_n)) - F(x(\alpha_0))$, a little short of $F(x) - F(x')$.
# - `"riemann_trapezoid"`: the uniform grid $0, 1/n, \dots, 1$.
#
# and two rules (`rule`): `"left"` (captum's) and `"trapezoid"`. On the uniform grid the left rule is a
# left Riemann sum, with an error of order $1/n$; the trapezoid rule's error is of order $1/n^2$ where
# the integrand is smooth. {numref}`fig-ch2-completeness` measures the completeness error, the distance between the signed
# sum of a layer and $F(x) - F(x')$, as the number of steps grows: on the toy (by hand) and on every
# block of a tiny random-init open_clip ViT (with the library).

# %%
torch.manual_seed(SEED)
vision_cfg = dict(image_size=IMAGE_SIZE, layers=VIT_LAYERS, width=VIT_WIDTH,
                  patch_size=8, head_width=16)
text_cfg = dict(context_length=8, vocab_size=50, width=16, heads=1,
                layers=1)
vit = open_clip.model.CLIP(embed_dim=16, vision_cfg=vision_cfg,
                           text_cfg=text_cfg).eval()
images = torch.randn(N_IMAGES, 3, IMAGE_SIZE, IMAGE_SIZE)
blocks = discover_blocks(vit)
n_params = sum(p.numel() for p in vit.visual.parameters())
glue("ch2_vit_blocks", len(blocks), display=False)
glue("ch2_vit_params", n_params, display=False)
print(f"{len(blocks)} blocks, {n_params} parameters in the visual tower")
print("first block:", blocks[0].name)

# %%
SCHEMES = {
    "Gauss-Legendre, left": ("gausslegendre", "left"),
    "Gauss-Legendre, trapezoid": ("gausslegendre", "trapezoid"),
    "uniform, left": ("riemann_trapezoid", "left"),
    "uniform, trapezoid": ("riemann_trapezoid", "trapezoid"),
}
toy_err, vit_err = {}, {}
for label, (method, rule) in SCHEMES.items():
    toy_err[label], vit_err[label] = [], []
    for n in STEPS_GRID:
        alphas = path_alphas(method, n)
        cond = conductance_by_hand(toy, toy.hidden, toy_objective, x,
                                   x_base, alphas, rule=rule)
        toy_err[label].append(abs(float(cond.sum()) - (f_x - f_base))
                              / abs(f_x - f_base))
        res = block_conductance(vit, images, n_steps=n, method=method,
                                rule=rule, internal_batch_size=128,
                                show_progress=False)
        rel = np.abs(res.completeness_gap) / np.abs(
            res.f_x - res.f_baseline)[:, None]
        vit_err[label].append(float(rel.mean()))

fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.6), sharey=True)
for ax, errs, title in [(axes[0], toy_err, "toy network, hidden layer"),
                        (axes[1], vit_err, "tiny ViT, mean over blocks")]:
    plotting.line_plot(STEPS_GRID, errs, ax=ax, xlabel="n_steps",
                       ylabel="relative completeness error", title=title,
                       logx=True)
    ax.set_yscale("log")
    ax.set_xticks(STEPS_GRID, [str(n) for n in STEPS_GRID])
    ax.minorticks_off()
    ax.get_legend().remove()
axes[1].set_ylabel("")
handles, names = axes[1].get_legend_handles_labels()
legend = fig.legend(handles, names, loc="outside lower center", ncols=2)
glue("fig_ch2_completeness", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch2_completeness
# :name: fig-ch2-completeness
#
# Relative completeness error $|\sum_j \mathrm{Cond}_j - (F(x) - F(x'))| / |F(x) - F(x')|$ against the
# number of steps, both axes logarithmic. Left: the hidden layer of the toy network, computed by hand;
# the uniform trapezoid rule is exact there (zero error, below the plot). Right: mean over the blocks
# and images of a tiny random-init open_clip ViT, computed by `block_conductance`.
# ```

# %%
i20 = STEPS_GRID.index(16) if 16 in STEPS_GRID else len(STEPS_GRID) // 2
n_ref = STEPS_GRID[i20]
glue("ch2_n_ref", n_ref, display=False)
for label, key in [("Gauss-Legendre, left", "gl_left"),
                   ("uniform, left", "uni_left"),
                   ("uniform, trapezoid", "uni_trap")]:
    glue(f"ch2_vit_err_{key}", vit_err[label][i20], display=False)
    glue(f"ch2_toy_err_{key}", toy_err[label][i20], display=False)
# The claims of the text below, checked on the numbers.
for k in range(len(STEPS_GRID)):
    assert vit_err["uniform, trapezoid"][k] <= vit_err["uniform, left"][k]
    if STEPS_GRID[k] % 2 == 0:  # alpha = 0.5 is a grid point
        assert toy_err["uniform, trapezoid"][k] < 1e-12
assert vit_err["uniform, left"][-1] < vit_err["uniform, left"][0] / 10

# %% [markdown]
# With {glue:text}`ch2_n_ref` steps the uniform left rule misses completeness on the ViT by
# {glue:text}`ch2_vit_err_uni_left:.1%` of $F(x) - F(x')$, captum's default (Gauss-Legendre points
# with the left rule) by {glue:text}`ch2_vit_err_gl_left:.1%`, and the uniform trapezoid rule by only
# {glue:text}`ch2_vit_err_uni_trap:.1%`. The left rule evaluates every gradient at the start of its
# step, a bias of order $1/n$ that the trapezoid rule cancels; its error falls like $1/n^2$, twice as
# steep on the log-log plot. On the toy the uniform left rule misses by
# {glue:text}`ch2_toy_err_uni_left:.1%` and Gauss-Legendre with the left rule by
# {glue:text}`ch2_toy_err_gl_left:.1%`, while the uniform trapezoid rule is exact: every unit and its
# gradient are linear in $\alpha$ between the kinks at $\alpha = 0.5$, a grid point for every even $n$,
# and the trapezoid rule integrates such a step exactly. Gauss-Legendre points never reach the ends of
# the path, so with them even the trapezoid rule converges more slowly than on the uniform grid.
#
# These are errors of a sum that should equal a known number, and they are large at the step counts
# people use (captum's default is 50). That is why vlmsel offers `rule="trapezoid"`, and why the
# completeness gap of every block is part of each result (`completeness_gap`), so that a profile can be
# checked before it is trusted.
#
# ## All blocks in one pass, by hand
#
# captum's `LayerConductance` computes one layer per call: every call runs the network forward and
# backward at all $N (n + 1)$ path points, so $L$ blocks cost $L$ times the passes. But one forward pass
# already computes *every* block's output, and one backward pass from $F$ can return the gradient with
# respect to *every* block's output. Forward hooks keep the outputs $h_l$ of all blocks at all path
# points; one call of `torch.autograd.grad(F.sum(), [h_1, ..., h_L])` gives all the gradients (summing
# $F$ over the points is harmless, since each point's $F$ depends on that point only, in eval mode); the
# sum over steps is then a few tensor operations per block. Here it is on the tiny ViT, for all images
# and points in a single batch:

# %%
def all_blocks_by_hand(model, images, modules, alphas):
    """Per-neuron conductance of every module, (N, D_l) each; left rule."""
    n_img, n_pts = images.shape[0], len(alphas)
    a = torch.tensor(alphas).view(1, -1, 1, 1, 1)
    path = (a * images[:, None]).flatten(0, 1)  # zero baseline; (N*P,3,H,W)
    outs = []
    hooks = [m.register_forward_hook(lambda m, i, o: outs.append(o))
             for m in modules]
    f = model.encode_image(path.requires_grad_(True), normalize=False)
    for hk in hooks:
        hk.remove()
    grads = torch.autograd.grad(f.norm(dim=-1).sum(), outs)
    conds = []
    for h, g in zip(outs, grads):
        h = h.detach().reshape(n_img, n_pts, -1)  # (N, P, D_l)
        g = g.reshape(n_img, n_pts, -1)
        conds.append((g[:, :-1] * (h[:, 1:] - h[:, :-1])).sum(dim=1))
    return conds


alphas = path_alphas("gausslegendre", N_STEPS)
glue("ch2_n_steps", N_STEPS, display=False)
by_hand = all_blocks_by_hand(vit, images, [blk.module for blk in blocks],
                             alphas)

# %% [markdown]
# (The hooks append outputs in forward order, which is the blocks' order; the reshapes assume that the
# blocks see batch-first tensors, true of current open_clip ViTs.) The library does the same, with
# chunking along the path so that memory stays bounded, a carry between chunks, and the block scalars
# of {ref}`chapter 3 <ch-clip-encoder>`. Its per-block sums of absolute values and signed sums, and the per-neuron conductance
# of one block, agree with ours:

# %%
lib_vit = block_conductance(vit, images, n_steps=N_STEPS,
                            internal_batch_size=16, neuron_block=3,
                            show_progress=False)
abs_by_hand = np.stack([c.abs().sum(1).numpy() for c in by_hand], axis=1)
signed_by_hand = np.stack([c.sum(1).numpy() for c in by_hand], axis=1)
np.testing.assert_allclose(abs_by_hand, lib_vit.scalars["abs"], rtol=1e-4)
np.testing.assert_allclose(signed_by_hand, lib_vit.scalars["signed"],
                           rtol=1e-4)
np.testing.assert_allclose(by_hand[3].numpy(),
                           lib_vit.neuron_conductance.reshape(N_IMAGES, -1),
                           rtol=1e-4, atol=1e-6)
table = pd.DataFrame({
    "abs (by hand)": abs_by_hand[0],
    "abs (library)": lib_vit.scalars["abs"][0],
    "signed (library)": lib_vit.scalars["signed"][0],
}, index=[name.replace("visual.transformer.", "") for name in
          lib_vit.block_names])
print(table.round(4).to_string())
print(f"F(x) - F(x') = {lib_vit.f_x[0] - lib_vit.f_baseline[0]:.4f}")

# %% [markdown]
# *Table: block conductance of the first image through the blocks of the tiny random-init ViT
# ({glue:text}`ch2_vit_params` parameters, {glue:text}`ch2_vit_blocks` blocks), $n$ =
# {glue:text}`ch2_n_steps` Gauss-Legendre steps, left rule.*
#
# The signed column is nearly the same in every row: $F(x) - F(x')$, up to the discretisation error.
# That is completeness at work. The sums of absolute values differ from block to block;
# they are what a profile is made of.
#
# And captum, one block at a time with the same points (`method="gausslegendre"`, the same
# `n_steps`), gives the same per-neuron conductances:

# %%
def captum_forward(inp):
    return vit.encode_image(inp, normalize=False).norm(dim=-1)


for l, blk in enumerate(blocks):
    ref = LayerConductance(captum_forward, blk.module).attribute(
        images, baselines=torch.zeros_like(images), n_steps=N_STEPS,
        method="gausslegendre", internal_batch_size=64)
    np.testing.assert_allclose(by_hand[l].numpy(),
                               ref.detach().reshape(N_IMAGES, -1).numpy(),
                               rtol=1e-4, atol=1e-6)
print(f"captum agrees with the one-pass sums on all {len(blocks)} blocks")

# %% [markdown]
# ## What one pass saves
#
# Both computations do the same arithmetic per pass; they differ in the number of passes. We time
# captum over all blocks (one `attribute` call per block) against one call of `block_conductance`, on
# the same images, points and batch size, keeping the best of a few repeats:

# %%
def best_time(fn, repeats=N_REPEATS):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run_captum():
    for blk in blocks:
        LayerConductance(captum_forward, blk.module).attribute(
            images, baselines=torch.zeros_like(images), n_steps=N_STEPS,
            method="gausslegendre", internal_batch_size=64)


def run_engine():
    block_conductance(vit, images, n_steps=N_STEPS,
                      internal_batch_size=64, show_progress=False)


t_captum = best_time(run_captum)
t_engine = best_time(run_engine)
glue("ch2_t_captum", t_captum, display=False)
glue("ch2_t_engine", t_engine, display=False)
glue("ch2_speedup", t_captum / t_engine, display=False)
print(f"captum, {len(blocks)} calls: {t_captum:.3f} s; "
      f"one pass: {t_engine:.3f} s; ratio {t_captum / t_engine:.1f}")
assert t_engine < t_captum  # the claim of the text below

# %% [markdown]
# On this tiny model captum needs {glue:text}`ch2_t_captum:.2f` s for the {glue:text}`ch2_vit_blocks`
# blocks and the one-pass engine {glue:text}`ch2_t_engine:.2f` s, a ratio of
# {glue:text}`ch2_speedup:.1f`. captum runs every pass once per block, {glue:text}`ch2_vit_blocks`
# times in all, the engine once for all blocks; the ratio approaches the number of blocks where the
# passes dominate the cost, and falls short of it where fixed overheads and the busy machine that
# builds this book weigh in (timings vary from build to build). The measurement at full size (ViT-B-32,
# 12 blocks, with memory) is the job of `perf/conductance_speed.py`; its results are kept in
# `perf/README.md`.

# %% [markdown]
# (ch2-fidelity)=
# ## How many steps do the selections need?
#
# Every path point costs one forward and one backward pass, so the number of steps sets the price of a
# profile. Profiles are only a means: what a user sees is the *selection*. The sweep
# `perf/fidelity_sweep.py` profiled the whole mini world (26 models, 17 tasks, the same 25 images per task)
# at every point set, rule and number of steps below, and compared each with a reference (uniform points,
# trapezoid rule, 64 steps). The yardstick is the noise of the images themselves: two disjoint samples of
# 25 images of the same tasks, under one setting, agree only so well. A setting whose selections stay as
# close to the reference as two image samples stay to each other changes nothing a user could notice.
#
# In the table, each row is a setting (point set, rule, steps); *points* is the number of path points per
# image, *saving* how many times less work per image than the former default (Gauss-Legendre, left, 50),
# *gap* the median relative completeness gap, *TV* the median total variation between the setting's
# profiles and the reference's, and the last four columns the selections' agreement with the reference's:
# Kendall *tau* of the DCD scores of every target, the share of targets with the same *top-1* model, the
# mean *top-5* overlap, and the leave-one-out *NDCG@5*.

# %%
from vlmsel.chapters import open_world
from vlmsel.conductance.options import DEFAULT_SETTING, PAPER_LIKE_SETTING
from vlmsel.mini.paths import fidelity_sweep_path
from vlmsel.evaluation.fidelity import cheapest_within_noise, fidelity_table, image_noise, load_sweep, setting_name

REFERENCE = "riemann_trapezoid-trapezoid-64"
TODAY = setting_name(**PAPER_LIKE_SETTING)
mini = open_world("mini")
sweep = load_sweep(fidelity_sweep_path())
fid = fidelity_table(sweep, mini.benchmark, reference=REFERENCE, today=TODAY, exclude=["broad"])
noise = image_noise(mini.store, mini.benchmark, exclude=["broad"]).mean()
chosen = cheapest_within_noise(fid, noise.to_frame().T, exclude=[REFERENCE])
assert chosen == setting_name(**DEFAULT_SETTING)  # the package's default is this computation's answer
shown = fid.rename(columns={"cost_vs_today": "saving", "completeness_gap": "gap", "profile_tv": "TV",
                            "score_tau": "tau", "top1_same": "top-1", "top5_overlap": "top-5", "ndcg5": "NDCG@5"})
POINT_SET = {"riemann_trapezoid": "uniform", "gausslegendre": "Gauss-Legendre"}  # the names the text uses
shown.index = [f"{POINT_SET[m]}, {r}, {n}"
               for m, r, n in zip(fid["method"], fid["rule"], fid["n_steps"])]
shown.index.name = "points, rule, steps"
shown[["points", "saving", "gap", "TV", "tau", "top-1", "top-5", "NDCG@5"]].round(3)

# %% tags=["remove-input"]
fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.6))
for (method, rule), part in fid.drop(index=REFERENCE).groupby(["method", "rule"]):  # not the reference itself
    part = part.sort_values("points")
    label = f"{POINT_SET[method]}, {rule} rule"
    axes[0].plot(part["points"], part["profile_tv"].clip(lower=1e-5), marker="o", label=label)
    axes[1].plot(part["points"], part["score_tau"], marker="o", label=label)
axes[0].set(xscale="log", yscale="log", xlabel="path points per image (cost)", ylabel="profile error (TV to reference)")
axes[1].axhline(noise["score_tau"], color="0.4", ls="--", label="two samples of 25 images")
axes[1].set(xscale="log", xlabel="path points per image (cost)", ylabel="tau of DCD scores to reference")
fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center", ncols=3)
for ax in axes:
    plotting.log_ticks_at(ax, fid["points"])
glue("ch2_fidelity_fig", fig, display=False)
plt.close(fig)
glue("ch2_chosen", chosen, display=False)
glue("ch2_cost_ratio", float(fid.loc[chosen, "cost_vs_today"]), display=False)
glue("ch2_noise_tau", float(noise["score_tau"]), display=False)
glue("ch2_chosen_tau", float(fid.loc[chosen, "score_tau"]), display=False)
glue("ch2_today_tau", float(fid.loc[TODAY, "score_tau"]), display=False)

# %% [markdown]
# ```{glue:figure} ch2_fidelity_fig
# :name: fig-ch2-fidelity
#
# Cost against fidelity on the mini world. Left: the profiles' distance to the 64-step reference falls
# with the number of points, fastest for the trapezoid rule. Right: the selections' agreement with the
# reference, against the agreement of two disjoint samples of 25 images (dashed).
# ```
#
# The cheapest setting within the image noise is **{glue:text}`ch2_chosen`**: its DCD scores agree with
# the reference at Kendall tau {glue:text}`ch2_chosen_tau:.3f`, while two samples of 25 images agree at
# {glue:text}`ch2_noise_tau:.3f` (the former default, Gauss-Legendre points with the left rule at 50
# steps, at {glue:text}`ch2_today_tau:.3f`). It needs {glue:text}`ch2_cost_ratio:.1f` times less work per
# image than the former default, and it is the default of `vlmsel profile` (a test recomputes this choice).
# The mini world's published stores keep the former setting, with which they were made; a store records
# its setting and `vlmsel select` profiles your images exactly as the store's sources were.

# %% [markdown]
# ## Summary
#
# - Integrated gradients share $F(x) - F(x')$ among the inputs along a straight path from a baseline;
#   conductance shares it among the units of a hidden layer. Both are complete: over a layer that cuts
#   the network, the shares add up to $F(x) - F(x')$ exactly, so a block's *signed* total carries no
#   information about the block.
# - On a toy network with a separable readout, conductance has a closed form,
#   $\tfrac12 v_j (h_j(x)^2 - h_j(x')^2)$, and the numerical integral matches it; a unit can have
#   negative conductance.
# - The integral is a sum over $n$ steps. The left rule (captum's) has an error of order $1/n$, the
#   trapezoid rule is more accurate; Gauss-Legendre points leave out the ends of the path.
# - Forward hooks on every block plus one `torch.autograd.grad` call give the conductance of all blocks
#   from one set of passes. It equals `vlmsel.conductance.block_conductance` and captum's
#   `LayerConductance` to float precision, at a fraction of captum's cost.
#
# ## Exercises
#
# 1. Change the bias of unit 3 in the toy to $-0.5$. What are its conductance and the toy's
#    $F(x) - F(x')$ now? Predict them from the closed form before running the cell.
# 2. Replace the toy's readout with $F(x) = \tfrac12 \lVert U h \rVert^2$ for a $2 \times 3$ matrix $U$.
#    Does the closed form still hold? Does completeness?
# 3. Use `baseline="black"` or `"blur"` in `block_conductance` on the tiny ViT. Which block scalars change,
#    and does completeness still hold?
# 4. Why does summing $F$ over all path points before calling `torch.autograd.grad` give each point's own
#    gradient? When would it not (think of BatchNorm in training mode)?
# 5. Increase `VIT_LAYERS` to 12 in the parameters cell. How does the speed ratio change?
#
# ```{dropdown} Solutions
# 1. With $b_3 = -0.5$, $W_3 x + b_3 = -1.5$ and $b_3 < 0$: unit 3 is off along the whole path, so
#    $h_3(x) = h_3(x') = 0$ and its conductance is 0. $F(x') = 0$, so $F(x) - F(x') = 2.375$.
# 2. No: $\partial F / \partial h_j = (U^\top U h)_j$ depends on the other units, so the integral no
#    longer reduces to a function of $h_j$'s end points (it does when the path of $h$ is a straight
#    line, as in the linear toys of `tests/test_conductance_toy.py`). Completeness still holds: it only
#    needs the layer to be a cut.
# 3. Every scalar changes, since $x'$ changes; the signed sums still equal $F(x) - F(x')$ for the new
#    $F(x')$ up to the discretisation error (`res.completeness_gap`).
# 4. In eval mode every point's $F$ depends on that point's input only, so the gradient of the sum
#    with respect to a point's activations is the gradient of that point's $F$. BatchNorm in training
#    mode mixes the points of a batch through its batch statistics, and the sum would then add
#    cross-point terms; `block_conductance` therefore runs the model in eval mode.
# 5. Both costs grow with the cost of one pass, which doubles; captum's is also multiplied by the
#    number of blocks, which doubles too. The ratio, about the number of blocks, roughly doubles.
# ```
#
# ## References
#
# The works cited in this chapter
# ({cite}`sundararajan2017axiomatic,dhamdhere2018conductance,kokhlikyan2020captum`)
# are listed with all others in the [bibliography](../book/bibliography.md).
