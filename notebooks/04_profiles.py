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
# (ch-profiles)=
# # 4. Task profiles and block importance
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/04_profiles.ipynb)
#
# **What you will learn**
#
# - how the per-image block conductance of a {term}`profile store` becomes a *task profile* $p_{m,t}$, a
#   distribution over the blocks of model $m$: per-image normalisation, then pooling over the $N$
#   images, in the two ways vlmsel offers;
# - the {term}`block-importance <block importance>` distribution $w = \mathrm{softmax}(\eta\, z(p))$, and why it is the softmax:
#   its derivation as the solution of an entropy-regularised alignment problem, checked numerically
#   with `scipy.optimize`;
# - what the sharpness $\eta$ does, from the uniform distribution ($\eta \to 0$) to the single top
#   block ($\eta \to \infty$);
# - how block importance differs across tasks and across models (ViTs, a ResNet, a ConvNeXt);
# - how many images a profile needs: the distance between the importance of $n$ images and that of all
#   stored images, as $n$ grows.

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
# Parameters (papermill). Defaults are the CI scale: the mini world.
# None: the benchmark's published profile store (the mini world's is
# data/mini/profiles); else a published store's name or the folder of a
# store written by `vlmsel profile` (ch-paper-scale), e.g. for openclip48.
PROFILE_STORE = None
BENCHMARK = "mini"  # the ground truth whose models and datasets we use
SCALAR = "abs"  # block scalar pooled into profiles (ch-clip-encoder)
ETA = 2.0  # sharpness of the block importance (the paper's value)
# Sharpness values drawn in the eta figure (eta -> inf is added to them).
ETA_GRID = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]
EXAMPLE_MODEL = None  # None: the ViT with the most blocks
EXAMPLE_TASK = None  # None: the benchmark's first dataset
HEATMAP_MODELS = None  # None: two ViTs, one ResNet, one ConvNeXt
N_SUBSETS = 50  # random image subsets per size in the stability study
SEED = 0

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue
from scipy.optimize import minimize
from scipy.special import logsumexp

from vlmsel import plotting
from vlmsel.chapters import open_world, reproducible
from vlmsel.conductance.options import SIGNED_SCALARS
from vlmsel.method.diagnostics import effective_blocks
from vlmsel.method.importance import block_importance, zscore_blocks
from vlmsel.profiles.pooling import task_profile

plotting.use_style()
rng = reproducible(SEED)  # seeds Python, NumPy (and torch); a fresh generator

# %% [markdown]
# ## Which world this page shows
#
# Everything below reads a *profile store* ({ref}`chapter 3 <ch-clip-encoder>` and the module `vlmsel.profiles.store`): for
# every model $m$ and task $t$ it holds the block scalar $c_l(x)$ of each of $N$ images $x$ and each
# block $l$, an array of shape $(N, L_m)$. The parameters cell chooses the store and the benchmark
# whose models and datasets we use. This page was executed on
# {glue:md}`ch4_world`

# %%
# The benchmark cut to the datasets the store covers and the models it
# holds on all of them.
world = open_world(BENCHMARK, PROFILE_STORE)
bench, store = world.benchmark, world.store
models, datasets = bench.models, bench.datasets
if world.dropped_models:
    print(f"left out (incomplete in the store): {list(world.dropped_models)}")
N_IMAGES = world.n_images
WORLD = world.label
glue("ch4_n_models", len(models), display=False)
glue("ch4_n_tasks", len(datasets), display=False)
glue("ch4_n_images", N_IMAGES, display=False)
glue("ch4_n_steps", world.n_steps, display=False)
glue("ch4_eta", ETA, display=False)
glue("ch4_world", Markdown(world.description), display=False)
# The family of every model (of its image tower, in the mini world), and the
# families in the benchmark's order.
family = bench.model_info["family"].fillna("other")
families = list(dict.fromkeys(family[models]))


def short(model):
    return model.removeprefix("mini-")


# %% [markdown]
# Each profile of a model has one entry per block, so profiles of different models have different
# lengths. The zoo on this page:

# %% tags=["nbval-check-output"]
n_blocks = {m: store.block_scalars(m, datasets[0], SCALAR, N_IMAGES).shape[1]
            for m in models}
zoo = pd.DataFrame({"tower": [family[m] for m in models],
                    "blocks": [n_blocks[m] for m in models]},
                   index=pd.Index(models, name="model"))
print(zoo.to_string())

# %% [markdown]
# *Table: the models of this page, the family of their image tower and their number of blocks $L_m$.*
#
# ## From images to a profile
#
# {ref}`Chapter 3 <ch-clip-encoder>` normalised each image's block scalars over the blocks,
#
# $$
# q_l(x) = \frac{c_l(x)}{\sum_{k=1}^{L} c_k(x)} ,
# $$
#
# so that every image gives a distribution over the blocks, whatever the scale of its response. A task
# has $N$ images. The task profile of model $m$ on task $t$ is their average:
#
# $$
# p_{m,t}(l) = \frac{1}{N} \sum_{x \in X_t} q_l(x) .
# $$
#
# We build it by hand for one model and one task, from the raw array of the store.

# %%
vits = [m for m in models if family[m] == "ViT"] or models
EX_MODEL = EXAMPLE_MODEL or max(vits, key=lambda m: n_blocks[m])
EX_TASK = EXAMPLE_TASK or datasets[0]
c = store.block_scalars(EX_MODEL, EX_TASK, SCALAR, N_IMAGES)  # (N, L)
if SCALAR in SIGNED_SCALARS:
    c = np.abs(c)  # a profile is a distribution: the store pools |c|
q = c / c.sum(axis=1, keepdims=True)  # q_l(x), (N, L)
p_by_hand = q.mean(axis=0)  # p(l), (L,)
N, L = c.shape
blocks = np.arange(1, L + 1)
glue("ch4_ex_model", EX_MODEL, display=False)
glue("ch4_ex_task", EX_TASK, display=False)
glue("ch4_ex_blocks", L, display=False)
print(f"{EX_MODEL} on {EX_TASK}: c has shape {c.shape}")
print("p =", np.round(p_by_hand, 3))

# %%
fig, ax = plt.subplots(figsize=(7.5, 3.8))
for i in range(N):
    ax.plot(blocks, q[i], color="0.6", linewidth=0.7,
            label="one image, q(x)" if i == 0 else None)
ax.plot(blocks, p_by_hand, color="C0", marker="o", linewidth=2.2,
        label="task profile p (mean)")
ax.axhline(1 / L, color="black", linestyle=":", linewidth=1,
           label="uniform, 1/L")
ax.set_xticks(blocks)
ax.set_xlabel("block l")
ax.set_ylabel("share of the image's conductance")
ax.set_title(f"{short(EX_MODEL)} on {EX_TASK} ({WORLD})")
ax.legend(loc="best")
glue("fig_ch4_per_image", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch4_per_image
# :name: fig-ch4-per-image
#
# Per-image normalised block scalars $q_l(x)$ of the {glue:text}`ch4_n_images` stored images (grey)
# and their mean, the task profile $p$ (blue), for the example model and task named in the title; the
# dotted line is the uniform distribution.
# ```
#
# The library does the same in `vlmsel.profiles.pooling.task_profile`, and `ProfileStore.task_profiles`
# pools every (model, task) pair of a store into a `Profiles` object, zero-padded to the largest block
# count so that a whole zoo fits in one array of shape (models, tasks, $L_{\max}$):

# %%
np.testing.assert_allclose(task_profile(c), p_by_hand, rtol=1e-12)
profiles = store.task_profiles(models, datasets, scalar=SCALAR, n_images=N_IMAGES)
np.testing.assert_allclose(profiles.profile(EX_MODEL, EX_TASK), p_by_hand,
                           rtol=1e-12)
print("Profiles.values:", profiles.values.shape,
      "| every profile sums to 1:",
      bool(np.allclose(profiles.values.sum(axis=2), 1.0)))

# %% [markdown]
# ### Two ways to pool
#
# Averaging the *normalised* images ("mean of normalised", the default) gives every image the same
# vote. The alternative `pooling="normalised_mean"` averages the raw scalars first and normalises once:
#
# $$
# p^{\mathrm{nm}}(l) = \frac{\sum_x c_l(x)}{\sum_x \sum_k c_k(x)}
#   = \sum_x \underbrace{\frac{C(x)}{\sum_{x'} C(x')}}_{\text{weight of image } x} q_l(x),
# \qquad C(x) = \sum_k c_k(x),
# $$
#
# a weighted mean of the same $q(x)$ in which an image counts in proportion to its total conductance.
# Images to which the encoder responds strongly dominate it. We check the identity and measure how far
# apart the two poolings are on every profile of the store, with the total variation distance
# $\mathrm{TV}(a, b) = \tfrac12 \sum_l \lvert a_l - b_l \rvert$ (0: equal, 1: disjoint).

# %%
totals = c.sum(axis=1)  # C(x), (N,)
image_weight = totals / totals.sum()
p_nm_by_hand = image_weight @ q
np.testing.assert_allclose(task_profile(c, "normalised_mean"),
                           p_nm_by_hand, rtol=1e-12)
np.testing.assert_allclose(c.mean(axis=0) / c.mean(axis=0).sum(),
                           p_nm_by_hand, rtol=1e-12)


def tv(a, b):
    """Total variation distance over the last axis."""
    return 0.5 * np.abs(np.asarray(a) - np.asarray(b)).sum(axis=-1)


profiles_nm = store.task_profiles(models, datasets, scalar=SCALAR, n_images=N_IMAGES,
                                  pooling="normalised_mean")
tv_pool = tv(profiles.values, profiles_nm.values)  # (models, tasks)
glue("ch4_weight_ratio", float(image_weight.max() / image_weight.min()),
     display=False)
glue("ch4_tv_pool_median", float(np.median(tv_pool)), display=False)
glue("ch4_tv_pool_max", float(tv_pool.max()), display=False)
print(f"image weights in normalised_mean: {image_weight.min():.3f} .. "
      f"{image_weight.max():.3f} (equal weights: {1 / N:.3f})")
print(f"TV(mean_of_normalised, normalised_mean) over "
      f"{tv_pool.size} profiles: median {np.median(tv_pool):.4f}, "
      f"max {tv_pool.max():.4f}")

# %% [markdown]
# In the example, the most influential image weighs {glue:text}`ch4_weight_ratio:.1f` times as much
# as the least influential one under `normalised_mean`. Over all profiles of the store, the median
# total variation between the two poolings is {glue:text}`ch4_tv_pool_median:.4f` and the largest
# {glue:text}`ch4_tv_pool_max:.4f`: on this page, reweighting the images moves the average little.
# vlmsel keeps the equal-vote default of the method page ({ref}`method-profile`); {ref}`chapter 7 <ch-ablations>` measures
# whether the choice changes any selection result.
#
# ## Sharpening: the z-scored profile and the importance distribution
#
# A profile is usually close to uniform, and its differences between tasks are a fraction of $1/L$.
# vlmsel therefore compares tasks through a sharpened version of it, the *block-importance
# distribution*
#
# $$
# w_{m,t} = \mathrm{softmax}\bigl(\eta \, z(p_{m,t})\bigr), \qquad
# z(v)_l = \frac{v_l - \bar v}{\operatorname{std}(v) + \varepsilon}, \qquad
# \eta = 2, \ \varepsilon = 10^{-8},
# $$
#
# where the mean and the (population) standard deviation run over the blocks of the model. The z-score
# puts every profile on the same scale, whatever $L$ and however flat $p$ is: $z_l$ counts in standard
# deviations how much more than average block $l$ carries. The softmax turns these scores back into a
# distribution that favours the blocks above average.

# %%
z_by_hand = (p_by_hand - p_by_hand.mean()) / (p_by_hand.std() + 1e-8)
logits = ETA * z_by_hand
w_by_hand = np.exp(logits - logits.max())
w_by_hand /= w_by_hand.sum()
np.testing.assert_allclose(zscore_blocks(p_by_hand), z_by_hand, rtol=1e-12)
np.testing.assert_allclose(block_importance(p_by_hand, ETA), w_by_hand,
                           rtol=1e-12)
w_all = block_importance(profiles.values, ETA, mask=profiles.mask)
i_m = profiles.models.index(EX_MODEL)
i_t = profiles.datasets.index(EX_TASK)
np.testing.assert_allclose(w_all[i_m, i_t, :L], w_by_hand, rtol=1e-12)
assert np.all(w_all[i_m, i_t, L:] == 0)  # padded blocks get weight 0

fig, axes = plt.subplots(1, 3, figsize=(8, 3.0), sharex=True)
panels = [(p_by_hand, "profile p", "share of conductance"),
          (z_by_hand, "z-score z(p)", "standard deviations"),
          (w_by_hand, f"importance w (eta = {ETA:g})", "weight")]
for ax, (v, title, ylabel) in zip(axes, panels):
    ax.bar(blocks, v, color="C0")
    ax.set_title(title)
    ax.set_xlabel("block l")
    ax.set_ylabel(ylabel)
axes[0].axhline(1 / L, color="black", linestyle=":", linewidth=1)
axes[2].axhline(1 / L, color="black", linestyle=":", linewidth=1)
glue("ch4_p_max", float(p_by_hand.max()), display=False)
glue("ch4_w_max", float(w_by_hand.max()), display=False)
glue("ch4_uniform", 1 / L, display=False)
glue("fig_ch4_three_steps", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch4_three_steps
# :name: fig-ch4-three-steps
#
# The three steps for the example model and task: the profile $p$, its z-score and the importance $w$
# (dotted: uniform, $1/L$).
# ```
#
# The profile's largest share is {glue:text}`ch4_p_max:.3f` against a uniform
# {glue:text}`ch4_uniform:.3f`; after sharpening, the top block weighs {glue:text}`ch4_w_max:.3f`.
# Zero-padded blocks of a `Profiles` array get weight exactly 0 (the `mask` argument), so they add
# nothing to anything computed later.
#
# ## Why the softmax: entropy-regularised alignment
#
# Where does the softmax come from? Ask for a distribution $w$ over the blocks that is *aligned* with
# the scores, putting weight where $z$ is high, but not more concentrated than the evidence warrants.
# Alignment is the expected score $\langle w, z \rangle = \sum_l w_l z_l$; concentration is penalised by
# rewarding the entropy $H(w) = -\sum_l w_l \log w_l$:
#
# $$
# \max_{w \in \Delta^{L-1}} \; \langle w, z \rangle + \frac{1}{\eta} H(w),
# \qquad \Delta^{L-1} = \Bigl\{ w \in \mathbb{R}^L : w_l \ge 0,\ \textstyle\sum_l w_l = 1 \Bigr\}.
# $$
#
# The objective is strictly concave ($H$ is strictly concave, $\langle w, z\rangle$ linear) and the
# simplex is convex and compact, so there is exactly one maximiser. The derivative of $-w_l \log w_l$
# is $-\log w_l - 1 \to +\infty$ as $w_l \to 0$, so the maximiser lies inside the simplex: the
# constraints $w_l \ge 0$ are inactive and only $\sum_l w_l = 1$ needs a multiplier $\lambda$. The
# Lagrangian is
#
# $$
# \mathcal{L}(w, \lambda) = \sum_l w_l z_l - \frac{1}{\eta} \sum_l w_l \log w_l
#   + \lambda \Bigl( 1 - \sum_l w_l \Bigr),
# $$
#
# and stationarity in every $w_l$ gives
#
# $$
# \frac{\partial \mathcal{L}}{\partial w_l}
#   = z_l - \frac{1}{\eta} \bigl( \log w_l + 1 \bigr) - \lambda = 0
# \quad\Longrightarrow\quad
# w_l = \exp\bigl(\eta z_l - 1 - \eta \lambda\bigr) \propto e^{\eta z_l} .
# $$
#
# The factor $e^{-1-\eta\lambda}$ is the same for every block, and $\sum_l w_l = 1$ fixes it:
#
# $$
# w_l^\star = \frac{e^{\eta z_l}}{\sum_k e^{\eta z_k}} = \mathrm{softmax}(\eta z)_l ,
# \qquad
# \langle w^\star, z \rangle + \frac{1}{\eta} H(w^\star) = \frac{1}{\eta} \log \sum_k e^{\eta z_k} .
# $$
#
# The optimal value is the log-sum-exp of the scores: this is the Gibbs variational principle of
# statistical physics, with $z$ as negative energy and $1/\eta$ as temperature. The softmax is
# not a convenient choice among many: it is *the* distribution that best trades alignment with
# the scores against spread, at the exchange rate $1/\eta$.
#
# We check this numerically: a general-purpose constrained optimiser (`scipy.optimize.minimize` with
# SLSQP, the simplex as bounds and one equality constraint, started from the uniform distribution)
# must land on the softmax, and no random point of the simplex may beat it.

# %%
def objective(w, z, eta):
    """<w, z> + H(w) / eta, the quantity the importance maximises."""
    w = np.clip(w, 1e-300, None)
    return w @ z - (w * np.log(w)).sum() / eta


def maximise_on_simplex(z, eta):
    n = len(z)
    res = minimize(
        lambda w: -objective(w, z, eta),
        x0=np.full(n, 1.0 / n),
        jac=lambda w: -(z - (np.log(np.clip(w, 1e-300, None)) + 1) / eta),
        bounds=[(1e-12, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                      "jac": lambda w: np.ones_like(w)}],
        method="SLSQP", options={"ftol": 1e-14, "maxiter": 1000})
    return res.x


dirichlet = rng.dirichlet(np.ones(L), size=20_000)  # random simplex points
rows = []
for eta in [0.5, 1.0, 2.0, 4.0]:
    w_opt = maximise_on_simplex(z_by_hand, eta)
    w_soft = block_importance(p_by_hand, eta)
    best_value = logsumexp(eta * z_by_hand) / eta
    np.testing.assert_allclose(w_opt, w_soft, atol=1e-5)
    np.testing.assert_allclose(objective(w_soft, z_by_hand, eta),
                               best_value, rtol=1e-10)
    random_best = max(objective(w, z_by_hand, eta) for w in dirichlet)
    assert random_best < best_value
    rows.append({"eta": eta,
                 "max |w_scipy - softmax|": np.abs(w_opt - w_soft).max(),
                 "optimum (log-sum-exp / eta)": best_value,
                 "best of random w": random_best})
check = pd.DataFrame(rows).set_index("eta")
glue("ch4_scipy_err", float(check.iloc[:, 0].max()), display=False)
print(check.to_string(float_format=lambda v: f"{v:.2e}"
                      if v < 1e-3 else f"{v:.4f}"))

# %% [markdown]
# *Table: for several $\eta$, the largest difference between SLSQP's maximiser and the softmax, the
# optimal value $\frac1\eta \log\sum_k e^{\eta z_k}$, and the best objective among 20,000 random
# points of the simplex (always lower).*
#
# The optimiser agrees with the closed form to within {glue:text}`ch4_scipy_err:.1e`, the tolerance of
# its stopping rule.
#
# ## What $\eta$ does
#
# The exchange rate $1/\eta$ decides how much spread is worth. As $\eta \to 0$ the entropy term
# dominates and $w$ tends to the uniform distribution, whatever the profile; as $\eta \to \infty$ only
# alignment counts and $w$ puts all its weight on the block with the largest $z$ (the top block of $p$).
# vlmsel's default $\eta = 2$ sits between: a block one standard deviation above average gets
# $e^{2} \approx 7.4$ times the weight of an average block. A convenient summary of a distribution's
# spread is its *effective number of blocks* $e^{H(w)}$, the exponential of its Shannon entropy, which
# runs from $L$ (uniform) to 1 (one block); `vlmsel.method.diagnostics.effective_blocks` computes it.

# %%
def softmax_limit(z):
    """eta -> inf: all weight on the top block (ties share it)."""
    top = np.isclose(z, z.max())
    return top / top.sum()


w_eta = {f"eta = {e:g}": block_importance(p_by_hand, e) for e in ETA_GRID}
w_eta["eta = inf"] = softmax_limit(z_by_hand)
np.testing.assert_allclose(w_eta["eta = 0"], 1 / L)
np.testing.assert_allclose(effective_blocks(w_by_hand),  # e^H by hand
                           np.exp(-np.sum(w_by_hand * np.log(w_by_hand))), rtol=1e-12)

eta_fine = np.geomspace(0.05, 50, 60)
fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6),
                         gridspec_kw={"width_ratios": [1.25, 1]})
plotting.line_plot(blocks, w_eta, ax=axes[0], xlabel="block l",
                   ylabel="importance w_l",
                   title=f"{short(EX_MODEL)} on {EX_TASK}")
axes[0].set_xticks(blocks)
axes[0].legend(ncols=2, fontsize=8)
others = [d for d in profiles.datasets if d != EX_TASK]
for d in others + [EX_TASK]:
    p_d = profiles.profile(EX_MODEL, d)
    n_eff = [effective_blocks(block_importance(p_d, e)) for e in eta_fine]
    is_ex = d == EX_TASK
    label = EX_TASK if is_ex else ("other tasks" if d == others[0] else None)
    axes[1].plot(eta_fine, n_eff, color="C0" if is_ex else "0.65",
                 linewidth=2 if is_ex else 0.8, label=label)
axes[1].axvline(ETA, color="black", linestyle=":", linewidth=1)
axes[1].set_xscale("log")
axes[1].set_xlabel("eta (log scale)")
axes[1].set_ylabel("effective number of blocks")
axes[1].set_title("spread of w")
axes[1].legend(loc="upper right")
n_eff_default = effective_blocks(w_all)  # (models, tasks); pads add 0
frac_eff = n_eff_default / profiles.n_blocks[:, None]
glue("ch4_neff_ex", float(effective_blocks(w_by_hand)), display=False)
glue("ch4_frac_eff_median", float(np.median(frac_eff)), display=False)
glue("fig_ch4_importance_eta", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch4_importance_eta
# :name: fig-ch4-importance-eta
#
# Left, the importance $w$ of the example profile for several $\eta$ ($\eta = 0$: uniform; $\eta =
# \infty$: the top block). Right, the effective number of blocks $e^{H(w)}$ against $\eta$ for every
# task of the example model (the example task in blue); the dotted line marks the default $\eta = 2$.
# ```
#
# At $\eta = 2$ the example's importance spreads over {glue:text}`ch4_neff_ex:.1f` effective blocks
# out of {glue:text}`ch4_ex_blocks`; over all profiles of the store, the median effective share is
# {glue:text}`ch4_frac_eff_median:.2f` of a model's blocks. Because $z$ is standardised, this spread
# depends on the *shape* of a profile (how its excess is distributed), not on how far from uniform it
# is: a nearly flat profile whose small excess sits in one block is sharpened as much as a strongly
# peaked one. That is the point of the z-score, and also its risk: sampling noise in a flat profile is
# amplified too. The stability study at the end of this chapter measures that risk.
#
# vlmsel also offers `importance="power"`, $w \propto p^{\eta}$, which sharpens without
# standardising (with $\eta = 1$ it returns $p$ itself); {ref}`chapter 7 <ch-ablations>` compares the two.

# %%
w_power = p_by_hand**ETA / (p_by_hand**ETA).sum()
np.testing.assert_allclose(
    block_importance(p_by_hand, ETA, importance="power"), w_power,
    rtol=1e-12)
np.testing.assert_allclose(
    block_importance(p_by_hand, 1.0, importance="power"), p_by_hand,
    rtol=1e-12)

# %% [markdown]
# ## Block importance across tasks and models
#
# Each model has its own blocks, so importance is compared between tasks *within* a model. The
# heatmaps show $w_{m,t}$ for several models of different families, one row per task.

# %%
if HEATMAP_MODELS is None:
    picks = [EX_MODEL]
    for fam in families:
        cands = [m for m in models if family[m] == fam and m not in picks]
        if cands:
            picks.append(cands[0])
    HEATMAP_MODELS = picks[:4]
vmax = max(w_all[profiles.models.index(m)].max() for m in HEATMAP_MODELS)
ncols = 2
nrows = int(np.ceil(len(HEATMAP_MODELS) / ncols))
fig, axes = plt.subplots(nrows, ncols, figsize=(8.5, 3.6 * nrows),
                         squeeze=False)
for ax, m in zip(axes.flat, HEATMAP_MODELS):
    i = profiles.models.index(m)
    table = pd.DataFrame(w_all[i, :, :profiles.n_blocks[i]],
                         index=list(profiles.datasets),
                         columns=np.arange(1, profiles.n_blocks[i] + 1))
    plotting.heatmap(table, ax=ax, vmin=0.0, vmax=vmax,
                     cbar_label="importance w", xlabel="block l",
                     ylabel="task", title=f"{short(m)} ({family[m]})")
for ax in list(axes.flat)[len(HEATMAP_MODELS):]:
    ax.set_visible(False)
top = w_all.argmax(axis=2)  # (models, tasks): the top block of each w
modal = np.array([np.bincount(row).argmax() for row in top])
glue("ch4_share_modal", 100 * float(np.mean(top == modal[:, None])),
     display=False)
glue("ch4_share_first", 100 * float(np.mean(top == 0)), display=False)
glue("ch4_top_weight", float(np.median(w_all.max(axis=2))), display=False)
glue("fig_ch4_importance_all", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch4_importance_all
# :name: fig-ch4-importance-all
#
# Block importance $w$ ($\eta$ = {glue:text}`ch4_eta:g`) of every task (rows) over the blocks
# (columns, input side on the left) for several models of the page's world; one colour scale for all
# panels.
# ```
#
# Two things to read off. First, within a model the rows are much alike: for
# {glue:text}`ch4_share_modal:.0f` % of the (model, task) pairs of the page, the task's top block is
# the model's most frequent top block, and the median weight of the top block is
# {glue:text}`ch4_top_weight:.2f`. A few tasks break a model's pattern and move weight to other
# blocks; they are the rows that stand out in the heatmaps, and {ref}`chapter 5 <ch-dcd>` will find them again as the
# largest divergences. Second, in this world the top block is the *first* block in
# {glue:text}`ch4_share_first:.0f` % of all profiles. Whether that is a property of the models or of
# the `abs` scalar (which counts flows that cancel within a block) is one of the ablations of
# {ref}`chapter 7 <ch-ablations>`. Even where two models' patterns look alike, their blocks are different things: profiles
# are only ever compared inside one model. The next section asks whether the differences between a
# model's rows exceed the noise of a profile built from few images.
#
# ## How many images does a profile need?
#
# A profile is an average over $N$ images, so it carries sampling noise. We measure it by subsampling:
# for every model and task, draw {glue:text}`ch4_n_subsets` random subsets of $n$ of the
# {glue:text}`ch4_n_images` stored images (without replacement, seeded), compute the importance
# $w^{(n)}$ of each subset, and compare it with the importance $w^{(N)}$ of all stored images, by total
# variation and by the divergence of {ref}`chapter 5 <ch-dcd>`, $\mathrm{KL}(w^{(N)} \,\Vert\, w^{(n)})$.
#
# Two references make the distances readable. The *between-task* distance (dashed lines) is the
# median total variation between the importances of two different tasks of the same model: the signal
# that the selection method uses. And the distance to the $N$-image profile is zero at $n = N$ by
# construction, so it understates the noise of the $N$-image profile itself relative to an infinite
# sample. For a mean, the variance of a subset of $n$ out of $N$ around the full mean is
# $\frac{\sigma^2}{n}\frac{N - n}{N - 1}$, which equals the variance $\sigma^2 / N$ of the full mean
# around the population mean at $n \approx N^2 / (2N - 1)$, about 13 for $N = 25$: the curves there
# estimate how noisy the stored profiles themselves are.

# %%
glue("ch4_n_subsets", N_SUBSETS, display=False)
sizes = np.arange(2, N_IMAGES + 1)
tv_n = {m: np.zeros((len(datasets), len(sizes), N_SUBSETS)) for m in models}
kl_n = {m: np.zeros_like(tv_n[m]) for m in models}
between = {}
for m in models:
    i = profiles.models.index(m)
    Lm = profiles.n_blocks[i]
    w_full = w_all[i, :, :Lm]  # (tasks, L)
    for j, d in enumerate(datasets):
        cm = store.block_scalars(m, d, SCALAR, N_IMAGES)
        qm = np.abs(cm) / np.abs(cm).sum(axis=1, keepdims=True)
        for k, n in enumerate(sizes):
            # N_SUBSETS random subsets of n images, without replacement
            idx = rng.permuted(np.tile(np.arange(len(qm)), (N_SUBSETS, 1)),
                               axis=1)[:, :n]
            w_sub = block_importance(qm[idx].mean(axis=1), ETA)
            tv_n[m][j, k] = tv(w_sub, w_full[j])
            kl_n[m][j, k] = np.sum(
                w_full[j] * np.log((w_full[j] + 1e-8) / (w_sub + 1e-8)),
                axis=1)
    pair_tv = tv(w_full[:, None, :], w_full[None, :, :])
    between[m] = pair_tv[~np.eye(len(datasets), dtype=bool)]

n13 = int(round(N_IMAGES**2 / (2 * N_IMAGES - 1)))
k13 = int(np.flatnonzero(sizes == n13)[0])
k5 = int(np.flatnonzero(sizes == min(5, N_IMAGES))[0])
summary_rows = []
for fam in families:
    ms = [m for m in models if family[m] == fam]
    summary_rows.append({
        "family": fam, "models": len(ms),
        "TV at n=5": np.mean([tv_n[m][:, k5].mean() for m in ms]),
        f"TV at n*={n13}": np.mean([tv_n[m][:, k13].mean()
                                     for m in ms]),
        "between-task TV (median)": np.median(np.concatenate([between[m] for m in ms]))})
stability = pd.DataFrame(summary_rows).set_index("family")
glue("ch4_n13", n13, display=False)

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.8))
for f_i, fam in enumerate(families):
    ms = [m for m in models if family[m] == fam]
    for ax, dist in zip(axes, [tv_n, kl_n]):
        # (models * tasks * subsets, sizes)
        draws = np.concatenate([dist[m].transpose(0, 2, 1)
                                .reshape(-1, len(sizes)) for m in ms])
        keep = sizes < N_IMAGES if dist is kl_n else sizes > 0
        mean = draws.mean(axis=0)[keep]
        lo, hi = np.quantile(draws, [0.1, 0.9], axis=0)[:, keep]
        ax.plot(sizes[keep], mean, color=f"C{f_i}",
                marker=plotting.MARKERS[f_i % len(plotting.MARKERS)],
                markersize=3,
                linestyle=plotting.LINESTYLES[f_i % len(plotting.LINESTYLES)],
                label=f"{fam} ({len(ms)} models)")
        ax.fill_between(sizes[keep], lo, hi, color=f"C{f_i}", alpha=0.12)
    axes[0].axhline(stability.loc[fam, "between-task TV (median)"], color=f"C{f_i}",
                    linestyle="--", linewidth=1)
axes[0].set_xlabel("images in the subset, n")
axes[0].set_ylabel("TV(w of n images, w of all)")
axes[0].set_title("total variation (dashed: between tasks)")
axes[1].set_xlabel("images in the subset, n")
axes[1].set_ylabel("KL(w of all || w of n) (nats)")
axes[1].set_title("divergence (DCD)")
axes[1].set_yscale("log")
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="outside lower center", ncols=4)
fig.suptitle(f"Stability of block importance, {WORLD}")
glue("fig_ch4_split_half", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch4_split_half
# :name: fig-ch4-split-half
#
# Distance between the importance $w$ ($\eta$ = {glue:text}`ch4_eta:g`) of $n$ randomly chosen images
# and that of all {glue:text}`ch4_n_images` stored images, per family of image tower: mean over
# models, tasks and {glue:text}`ch4_n_subsets` subsets per size (line) and the 10-90 % range of single
# draws (band). Left, total variation, with the median between-task distance of each family dashed;
# right, the KL divergence on a log scale, for $n$ below {glue:text}`ch4_n_images` (a subset of all
# images is the full set, at distance 0).
# ```

# %%
print(stability.round(3).to_string())
ratio = (stability[f"TV at n*={n13}"]
         / stability["between-task TV (median)"])
glue("ch4_noise_ratio_min", float(ratio.min()), display=False)
glue("ch4_noise_ratio_max", float(ratio.max()), display=False)
glue("ch4_noise_fam_min", Markdown(ratio.idxmin()), display=False)
glue("ch4_noise_fam_max", Markdown(ratio.idxmax()), display=False)

# %% [markdown]
# *Table: mean total variation to the full-sample importance at $n$ = 5 and $n$ =
# {glue:text}`ch4_n13` images, and the median between-task total variation, per family.*
#
# The distance falls steadily with $n$, as an average's noise should. The number to compare is the
# one at $n$ = {glue:text}`ch4_n13`, our estimate of the noise in the stored profiles themselves:
# it is between {glue:text}`ch4_noise_ratio_min:.2f` times the median between-task distance (for the
# {glue:md}`ch4_noise_fam_min` models) and {glue:text}`ch4_noise_ratio_max:.2f` times (for the
# {glue:md}`ch4_noise_fam_max` models). Where this ratio is small, the differences between tasks seen
# in the heatmaps are mostly signal; where it approaches 1, a good part of what distinguishes two
# tasks' importances is the luck of which images were drawn, and more images per task would help.
# {ref}`Chapter 5 <ch-dcd>` makes this comparison for the DCD itself, with the split-half null of the method page
# ({ref}`method-protocol`).
#
# ## Summary
#
# - A task profile $p_{m,t}$ is the average over the task's images of the per-image normalised block
#   scalars $q_l(x) = c_l(x) / \sum_k c_k(x)$ (`pooling="mean_of_normalised"`); the alternative
#   `normalised_mean` is the same average weighted by each image's total conductance. On this page's
#   store the two poolings differ little.
# - Block importance $w = \mathrm{softmax}(\eta\, z(p))$, $\eta = 2$, standardises the profile over
#   blocks and sharpens it. It is the unique maximiser of $\langle w, z\rangle + \frac1\eta H(w)$ over
#   the simplex (Lagrangian stationarity gives $w_l \propto e^{\eta z_l}$); SLSQP recovers it.
# - $\eta \to 0$ gives the uniform distribution, $\eta \to \infty$ the top block; the effective number
#   of blocks $e^{H(w)}$ summarises where a setting sits between them.
# - Within a model, most tasks share one importance pattern and a few tasks stand out; blocks of
#   different models are different things, so importances are compared only inside a model.
# - Subsampling the stored images shows how the noise of an importance shrinks with the number of
#   images; for some families of this page it is not small next to the differences between tasks.
#
# ## Exercises
#
# 1. Show that $z(p)$, and hence $w$, does not change when $p$ is replaced by $a p + b$ for any $a > 0$,
#    $b$. What does that imply for the choice between the two poolings, or for the `l2` scalar?
# 2. Derive the importance for a *reference* distribution $r$ instead of the entropy: maximise
#    $\langle w, z \rangle - \frac{1}{\eta}\mathrm{KL}(w \,\Vert\, r)$ over the simplex. Which $r$ gives
#    back the softmax, and which $r$ and $z$ give the `power` importance $w \propto p^{\eta}$?
# 3. Run the stability study with `ETA = 8` and with `ETA = 0.5`. How do the noise and the between-task
#    distance change, and which $\eta$ separates tasks best relative to noise?
# 4. Re-run this chapter with `SCALAR = "l2"`. Do the heatmaps keep their patterns?
#
# ```{dropdown} Solutions
# 1. $z(ap + b) = (ap + b - a\bar p - b) / (a \operatorname{std}(p)) = z(p)$ (up to the tiny
#    $\varepsilon$). The z-score forgets the profile's scale and offset, so $w$ only sees the relative
#    ordering and spacing of the blocks' shares. Pooling and scalars still matter through the *shape*
#    of $p$, not through its overall flatness.
# 2. The Lagrangian gives $w_l \propto r_l e^{\eta z_l}$. The uniform $r$ gives the softmax (the
#    entropy is $\log L - \mathrm{KL}(w\Vert u)$). With $r$ uniform and $z_l = \log p_l$ one gets
#    $w \propto p^{\eta}$, the `power` importance: it is the same alignment problem with log-shares as
#    scores, without standardisation.
# 3. Larger $\eta$ makes $w$ concentrate on few blocks, so both the noise and the between-task
#    distances grow (two tasks' importances become nearly disjoint or nearly equal); smaller $\eta$
#    shrinks both towards 0. Compare the ratio in the table above, not the raw distances.
# 4. Use the same cells; `l2` weights the few units that carry most conductance, so the heatmaps
#    usually keep the broad pattern but change in detail. {ref}`Chapter 7 <ch-ablations>` measures the effect on selection.
# ```
#
# ## References
#
# The method {cite}`yang2026conductance` and conductance {cite}`dhamdhere2018conductance` are listed
# with all other works in the [bibliography](../book/bibliography.md).
