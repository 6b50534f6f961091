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
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %%

# %% [markdown]
# (ch-clip-encoder)=
# # 3. Conductance inside a CLIP image encoder
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/03_clip_encoder.ipynb)
#
# **What you will learn**
#
# - the label-free {term}`objective` $F(x) = \lVert f(x) \rVert_2$, the norm of the unnormalised image
#   embedding: why it needs no labels, and what it ignores;
# - what a *block* is in the four families of open_clip image towers (ViT, ModifiedResNet, ConvNeXt,
#   EVA) and how many blocks each has;
# - the per-block profile of a single image, and why the *signed* conductance of every block is the
#   same number, $F(x) - F(x')$;
# - the four block scalars of vlmsel (`abs`, `l2`, `branch`, `signed`) side by side, and the per-image
#   normalisation $q_l(x) = c_l(x) / \sum_k c_k(x)$ that {ref}`chapter 4 <ch-profiles>` builds on.

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
# Full-size architectures, built with random weights for block discovery.
ARCHS = ["ViT-B-32", "RN50", "convnext_base_w", "EVA02-B-16"]
# The tiny random-init towers that give this chapter's numbers.
VIT_LAYERS = 6
VIT_WIDTH = 32
VIT_IMAGE_SIZE = 32
RN_LAYERS = [2, 2, 2, 2]
RN_WIDTH = 16
RN_IMAGE_SIZE = 64  # ModifiedResNet needs a multiple of 32
N_IMAGES = 4
N_STEPS = 16  # default rule (left), as the profiles of later chapters
TRAP_STEPS = 64  # trapezoid rule, for the completeness checks

# %%
import logging
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")
warnings.filterwarnings("ignore", category=UserWarning, module="open_clip")

import matplotlib.pyplot as plt
import numpy as np
import open_clip
import pandas as pd
import torch
from myst_nb import glue

from vlmsel import plotting
from vlmsel.conductance import block_conductance, discover_blocks

plotting.use_style()
torch.set_num_threads(N_THREADS)
_ = torch.manual_seed(SEED)

# %% [markdown]
# ## A label-free objective
#
# Conductance shares out the change of a *scalar* output $F$. For a classifier the natural scalar is the
# logit of the true class, but a new task comes without labels, and a CLIP image encoder has no classes
# of its own: it maps an image $x$ to an embedding $f(x) \in \mathbb{R}^d$. vlmsel takes the length of
# that embedding *before* the final normalisation,
#
# $$
# F(x) = \lVert f(x) \rVert_2 ,
# $$
#
# where $f(x)$ is `model.encode_image(x, normalize=False)` in open_clip.
#
# $F$ needs nothing but the image, so a profile can be computed from a folder of unlabeled images. The
# price is what $F$ ignores: the *direction* of the embedding, which is all that zero-shot
# classification uses (CLIP compares normalised embeddings with normalised text embeddings), and the
# task's classes and prompts. Two tasks that label the same images differently get the same profile.
# What $F$ does measure is how strongly the encoder responds to the image, relative to the baseline $x'$
# (the mean image, zero in the normalised input space), and which blocks carry that response. The
# `objective` option of `block_conductance` accepts any other function of the embedding (a later
# chapter compares a task-aware one).
#
# ## Blocks in four families of towers
#
# A profile has one number per *block*, the residual units of the visual tower in forward order
# (`discover_blocks`). To see them we build the real architectures with
# **random weights** (`pretrained=None`): pretrained weights need a download, which this book's build
# machine cannot do (in Colab, pass a `pretrained` tag). Block discovery only looks at the module tree,
# so random weights are enough; we run no conductance at this size.

# %% tags=["nbval-check-output"]
logging.getLogger().setLevel(logging.ERROR)  # "no pretrained weights"
rows = []
for arch in ARCHS:
    model = open_clip.create_model(arch, pretrained=None)
    blocks = discover_blocks(model)
    stages = discover_blocks(model, granularity="stage")
    n_params = sum(p.numel() for p in model.visual.parameters())
    rows.append({"model": arch,
                 "tower": type(model.visual).__name__,
                 "blocks": len(blocks), "stages": len(stages),
                 "params (M)": round(n_params / 1e6)})
    del model
towers = pd.DataFrame(rows).set_index("model")
print(towers.to_string())

# %% tags=["remove-input"]
for arch in ARCHS:
    glue(f"ch3_blocks_{arch.replace('-', '_')}",
         int(towers.loc[arch, "blocks"]), display=False)

# %% [markdown]
# *Table: the blocks that `discover_blocks` finds in four open_clip architectures (random init).
# "stages" is the count with `granularity="stage"`, one unit per stage of a ResNet or ConvNeXt;
# "params" counts the parameters of the visual tower.*
#
# - **ViT** (`VisionTransformer`, also CoCa): the residual attention blocks
#   `visual.transformer.resblocks[i]`, {glue:text}`ch3_blocks_ViT_B_32` in ViT-B-32. Each computes
#   $h_l = h_{l-1} + \mathrm{attn}(\cdot) + \mathrm{mlp}(\cdot)$, so its *branch*, the increment
#   $h_l - h_{l-1}$, is well defined.
# - **ModifiedResNet** (OpenAI's RN50 and friends): every Bottleneck of `layer1..layer4`,
#   {glue:text}`ch3_blocks_RN50` in RN50. A Bottleneck applies a ReLU *after* adding its shortcut, and
#   the first one of a stage changes the resolution and the width (its shortcut is a strided
#   projection), so $h_l - h_{l-1}$ is not the branch's output: vlmsel leaves `branch` undefined.
# - **ConvNeXt** (timm, `visual.trunk.stages[s].blocks[j]`): {glue:text}`ch3_blocks_convnext_base_w`
#   in convnext_base_w, most of them in the third stage. A profile over blocks is long and lopsided;
#   the stage granularity gives four units.
# - **EVA** (timm, `visual.trunk.blocks[i]`): {glue:text}`ch3_blocks_EVA02_B_16` in EVA02-B-16, a ViT
#   with rotary position embeddings and a SwiGLU MLP.
#
# Profiles of different models therefore have different lengths: vlmsel only ever compares profiles
# *of the same model*. The stem before the first block and the pooling and projection
# after the last one are not blocks; everything that flows from the input to $F$ passes through every
# block, which is the property the next sections use.
#
# ## Two tiny towers
#
# For the numbers we use two tiny open_clip towers with random weights, small enough to run on the two
# CPU cores that build this book: a ViT and a ModifiedResNet. Random-init networks have no learned
# features, so the *shapes* of the profiles below say nothing about trained CLIP models; the
# *properties* (completeness, the normalisation) hold for any weights. One detail: open_clip
# initialises the last BatchNorm of every Bottleneck (`bn3`) with zero weights, so a freshly built
# ResNet's blocks are pure shortcuts; we set those weights to 1 to get a non-trivial random network.
# The images are random too: smooth random fields, upsampled from coarse noise, one per image.

# %%
def tiny_clip(vision_cfg):
    text_cfg = dict(context_length=8, vocab_size=50, width=16, heads=1,
                    layers=1)
    return open_clip.model.CLIP(embed_dim=16, vision_cfg=vision_cfg,
                                text_cfg=text_cfg).eval()


def smooth_images(n, size, coarse=4):
    noise = torch.randn(n, 3, coarse, coarse)
    up = torch.nn.functional.interpolate(noise, size=(size, size),
                                         mode="bicubic",
                                         align_corners=False)
    return up + 0.3 * torch.randn(n, 3, size, size)


torch.manual_seed(SEED)
vit = tiny_clip(dict(image_size=VIT_IMAGE_SIZE, layers=VIT_LAYERS,
                     width=VIT_WIDTH, patch_size=8, head_width=16))
rn = tiny_clip(dict(image_size=RN_IMAGE_SIZE, layers=RN_LAYERS,
                    width=RN_WIDTH))
with torch.no_grad():
    for pname, param in rn.visual.named_parameters():
        if pname.endswith("bn3.weight"):
            param.fill_(1.0)
images = {"ViT": smooth_images(N_IMAGES, VIT_IMAGE_SIZE),
          "ModifiedResNet": smooth_images(N_IMAGES, RN_IMAGE_SIZE)}
models = {"ViT": vit, "ModifiedResNet": rn}
results = {}
for name, model in models.items():
    results[name] = block_conductance(model, images[name],
                                      n_steps=N_STEPS,
                                      internal_batch_size=34,
                                      show_progress=False)
    print(f"{name}: {len(results[name].block_names)} blocks, "
          f"F(x) = {np.round(results[name].f_x, 3)}")
glue("ch3_n_steps", N_STEPS, display=False)
glue("ch3_n_images", N_IMAGES, display=False)
glue("ch3_vit_blocks", len(results["ViT"].block_names), display=False)
glue("ch3_rn_blocks", len(results["ModifiedResNet"].block_names),
     display=False)


def short(names):
    return [n.replace("visual.transformer.resblocks.", "")
            .replace("visual.", "") for n in names]

# %% [markdown]
# ## The profile of one image
#
# The default block scalar is the total *absolute* conductance of the block,
# $c_l(x) = \sum_j \lvert \mathrm{Cond}_{l,j}(x) \rvert$: how much of the change of $F$ flows through
# the block's units, counting flows in both directions. One call of `block_conductance` gives it for all
# blocks and all images ({glue:text}`ch3_n_images` images, $n$ = {glue:text}`ch3_n_steps`
# Gauss-Legendre steps, left rule).

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
for ax, (name, res) in zip(axes, results.items()):
    L = len(res.block_names)
    series = {f"image {i + 1}": res.scalars["abs"][i]
              for i in range(N_IMAGES)}
    plotting.line_plot(np.arange(1, L + 1), series, ax=ax,
                       xlabel="block l", ylabel="abs block scalar c_l(x)",
                       title=f"tiny {name}")
    ax.set_xticks(np.arange(1, L + 1))
    ax.get_legend().remove()
handles, names = axes[0].get_legend_handles_labels()
legend = fig.legend(handles, names, loc="outside lower center", ncols=4)
glue("fig_ch3_abs_scalar", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch3_abs_scalar
# :name: fig-ch3-abs-scalar
#
# The absolute block scalar $c_l(x)$ of each block, for each image, in the two tiny random-init
# towers. Lines join the blocks of one image.
# ```
#
# Each image has its own profile, but here the four are close: the images are draws from one random
# distribution, and a random network has no learned features that would tell them apart. Profiles of
# trained models on real images of different tasks differ more.
#
# ## Why the signed totals are all the same
#
# The output $h_l$ of a residual block is a *cut* of the encoder: the embedding depends on the input
# only through $h_l$. {ref}`Chapter 2 <ch-conductance>` showed that the conductances of the units of a cut add up to the change
# of the output. So for **every** block,
#
# $$
# \sum_j \mathrm{Cond}_{l,j}(x) = F(x) - F(x'),
# $$
#
# up to the error of the discretised path integral. The signed total is one number repeated $L$ times:
# it cannot tell the blocks apart. We check it with the trapezoid rule and $n$ =
# {glue:text}`ch3_trap_steps` steps, which keep the discretisation error small ({ref}`chapter 2 <ch-conductance>`); the rest
# of the chapter uses this accurate run.

# %%
glue("ch3_trap_steps", TRAP_STEPS, display=False)
trap = {name: block_conductance(model, images[name], n_steps=TRAP_STEPS,
                                rule="trapezoid", internal_batch_size=65,
                                show_progress=False)
        for name, model in models.items()}
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
for ax, (name, res) in zip(axes, trap.items()):
    L = len(res.block_names)
    blocks_x = np.arange(1, L + 1)
    for i in range(N_IMAGES):
        delta = res.f_x[i] - res.f_baseline[i]
        line = ax.axhline(delta, color=f"C{i}", linestyle="--",
                          linewidth=1)
        ax.plot(blocks_x, res.scalars["signed"][i], marker="o",
                linestyle="none", color=f"C{i}", label=f"image {i + 1}")
    ax.set_xticks(blocks_x)
    ax.set_xlabel("block l")
    ax.set_ylabel("signed block total")
    ax.set_title(f"tiny {name}")
handles, names = axes[0].get_legend_handles_labels()
legend = fig.legend(handles, names, loc="outside lower center", ncols=4)
rel_gap = {name: float(np.max(np.abs(res.completeness_gap)
                              / np.abs(res.f_x - res.f_baseline)[:, None]))
           for name, res in trap.items()}
glue("ch3_gap_vit", 100 * rel_gap["ViT"], display=False)
glue("ch3_gap_rn", 100 * rel_gap["ModifiedResNet"], display=False)
glue("fig_ch3_signed_totals", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch3_signed_totals
# :name: fig-ch3-signed-totals
#
# Signed block totals $\sum_j \mathrm{Cond}_{l,j}(x)$ (dots) against $F(x) - F(x')$ (dashed line of
# the same colour), for each block and image; trapezoid rule, $n$ = {glue:text}`ch3_trap_steps`.
# ```
#
# The dots lie on their lines: the largest relative gap is {glue:text}`ch3_gap_vit:.2f` % in the ViT and
# {glue:text}`ch3_gap_rn:.2f` % in the ResNet, whatever the block. Cancellations happen *inside* a
# block (some units push $F$ up, others down), and only a scalar that does not let them cancel can
# tell blocks apart.
#
# ## Four block scalars
#
# vlmsel offers four scalars per block:
#
# - `"abs"` (default): $c_l = \sum_j \lvert \mathrm{Cond}_{l,j} \rvert$, the total flow through the block;
# - `"l2"`: $\lVert \mathrm{Cond}_l \rVert_2$, which weighs the few large units more;
# - `"branch"`: the signed conductance of the block's residual increment $h_l - h_{l-1}$, what the block
#   *adds* to the residual stream (blocks with an identity shortcut only; NaN for ResNet Bottlenecks);
# - `"signed"`: $\sum_j \mathrm{Cond}_{l,j}$, kept to show the degeneracy above.
#
# The scalars live on different scales, so we compare them after the per-image normalisation that
# vlmsel applies before anything else,
#
# $$
# q_l(x) = \frac{c_l(x)}{\sum_{k=1}^{L} c_k(x)},
# $$
#
# which turns each image's profile into a distribution over blocks and removes the image's scale
# ($F(x) - F(x')$ differs a lot from image to image). {ref}`Chapter 4 <ch-profiles>` averages $q_l(x)$ over a task's images.

# %%
res = trap["ViT"]
SCALARS = ["abs", "l2", "branch", "signed"]


def per_image_normalised(c):
    """q_l(x) = c_l(x) / sum_k c_k(x); c is (N, L)."""
    return c / c.sum(axis=1, keepdims=True)


q = {s: per_image_normalised(res.scalars[s]) for s in SCALARS}
L = len(res.block_names)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
for ax, i in zip(axes, [0, 1]):
    plotting.line_plot(np.arange(1, L + 1), {s: q[s][i] for s in SCALARS},
                       ax=ax, xlabel="block l",
                       ylabel="normalised scalar q_l(x)",
                       title=f"tiny ViT, image {i + 1}")
    ax.set_xticks(np.arange(1, L + 1))
    ax.get_legend().remove()
axes[1].set_ylabel("")
handles, names = axes[0].get_legend_handles_labels()
legend = fig.legend(handles, names, loc="outside lower center", ncols=4)
flat = 1.0 / L
glue("ch3_flat", flat, display=False)
glue("ch3_signed_dev",
     float(np.max(np.abs(q["signed"] - flat))), display=False)
glue("ch3_rho_abs_l2", float(np.mean(
    [np.corrcoef(q["abs"][i], q["l2"][i])[0, 1]
     for i in range(N_IMAGES)])), display=False)
glue("ch3_rho_abs_branch", float(np.mean(
    [np.corrcoef(q["abs"][i], q["branch"][i])[0, 1]
     for i in range(N_IMAGES)])), display=False)
glue("fig_ch3_four_scalars", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch3_four_scalars
# :name: fig-ch3-four-scalars
#
# The four block scalars of two images of the tiny random-init ViT, each divided by its sum over the
# blocks of the image. A flat profile is $1/L$ = {glue:text}`ch3_flat:.3f`.
# ```
#
# - `signed` is flat at $1/L$ (largest deviation {glue:text}`ch3_signed_dev:.4f`): completeness again.
# - `abs` and `l2` agree only as far as a block's flow is spread evenly over its units: `l2` favours
#   blocks where a few units carry it. Their mean correlation over blocks, per image, is
#   {glue:text}`ch3_rho_abs_l2:.2f` here.
# - `branch` is signed: a block whose increment lowers $F$ gets a negative share, and the normalised
#   values need not lie in $[0, 1]$ (mean correlation with `abs`:
#   {glue:text}`ch3_rho_abs_branch:.2f`). That is why it is an option, not the default.
#
# The default profile of the four images, as {ref}`chapter 4 <ch-profiles>` will average it, is one row per image:

# %% tags=["nbval-check-output"]
q_abs = pd.DataFrame(q["abs"], columns=short(res.block_names),
                     index=[f"image {i + 1}" for i in range(N_IMAGES)])
q_abs["sum"] = q_abs.sum(axis=1)
print(q_abs.round(3).to_string())
np.testing.assert_allclose(q_abs["sum"], 1.0)
assert np.all(q["abs"] > 0)
assert np.all(np.isnan(results["ModifiedResNet"].scalars["branch"])
              .any(axis=1))

# %% [markdown]
# *Table: $q_l(x)$ for the abs scalar, the blocks of the tiny ViT in columns; every row sums to 1.*
#
# ## Summary
#
# - The objective $F(x) = \lVert f(x) \rVert_2$ of the unnormalised image embedding needs no labels;
#   it ignores the embedding's direction and the task's classes, so profiles see only images.
# - A block is a residual unit of the visual tower: a resblock of a ViT or EVA, a Bottleneck of a
#   ModifiedResNet, a ConvNeXt block; the counts range from a dozen to several dozen per model.
# - Every block output is a cut of the encoder, so every block's signed conductance is
#   $F(x) - F(x')$; only scalars that stop cancellations inside a block (`abs`, `l2`) or that look at
#   the block's own increment (`branch`) tell blocks apart.
# - The per-image normalisation $q_l(x) = c_l(x) / \sum_k c_k(x)$ turns a profile into a distribution
#   over blocks and removes each image's scale.
#
# ## Exercises
#
# 1. Replace the objective with the squared norm, `objective=lambda e: (e**2).sum(-1)`. Which of the
#    normalised profiles $q_l(x)$ change, and why?
# 2. Compute the ResNet's profile with `granularity="stage"`. How does a stage's abs scalar relate to
#    those of its blocks?
# 3. Give the tiny ViT 12 layers. Does the completeness gap of the signed totals grow with depth?
# 4. Why is `branch` NaN for every block of the ModifiedResNet, even those whose input and output
#    have the same shape?
#
# ```{dropdown} Solutions
# 1. All of them can change: the conductance of a unit is not linear in $F$. With $G = F^2$,
#    $\partial G / \partial h = 2F \, \partial F / \partial h$, which weights path points by $F$ along the
#    path, so blocks whose units change late on the path gain share. The signed totals become
#    $F(x)^2 - F(x')^2$ for every block, still degenerate.
# 2. A stage's output is the output of its last block, so the stage scalar equals the abs scalar of the
#    stage's last block (the same cut); it is not the sum of its blocks.
# 3. No: completeness holds for any cut, and the gap depends on how curved $F$ is along the path, not on
#    the number of blocks; measure it with `res.completeness_gap`.
# 4. A Bottleneck computes $\mathrm{relu}(\mathrm{branch}(h_{l-1}) + \mathrm{shortcut}(h_{l-1}))$: the
#    ReLU after the sum makes $h_l - h_{l-1}$ differ from the branch's output even where the shapes
#    agree, and the first Bottleneck of a stage also has a projection shortcut. The increment is not
#    what the block adds, so vlmsel does not define `branch` there.
# ```
#
# ## References
#
# Conductance {cite}`dhamdhere2018conductance` and the method {cite}`yang2026conductance` are listed
# with all other works in the [bibliography](../book/bibliography.md).
