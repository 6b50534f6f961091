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
# (ch-dcd)=
# # 5. Directional Conductance Divergence
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/05_dcd.ipynb)
#
# **What you will learn**
#
# - the Directional Conductance Divergence $\mathrm{DCD}_m(S \to T) = \mathrm{KL}(w_T \,\Vert\, w_S)$
#   between the block importances of a source and a target task, its direction conventions on the
#   method page ({ref}`method-dcd`) and in `vlmsel.method.divergence`, built by hand and checked
#   against the library;
# - why it is asymmetric, on a three-block example and on real profiles, and what the {term}`coverage`
#   variant measures;
# - the symmetric alternatives (Jensen-Shannon, symmetrised KL, cosine) side by side with the DCD;
# - that task similarity is *model specific*: every model sees its own map of which tasks are alike,
#   and how those maps compare with the noise of a profile (the {term}`split-half null`);
# - the softmin weights $\alpha = \mathrm{softmin}(\gamma D)$ that turn divergences into the
#   similarity of every source to a target, and what the temperature $\gamma$ does.

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
ETA = 2.0  # sharpness of the block importance (the paper's value, ch-profiles)
GAMMA = 5.0  # softmin temperature (the paper's value)
EPS = 1e-8  # smoothing inside the logarithms (the paper's value)
# Temperatures drawn in the softmin figure (gamma -> inf is added to them).
GAMMAS = [0.0, 1.0, 5.0, 20.0]
EXAMPLE_MODEL = None  # None: the ViT with the most blocks
EXAMPLE_TARGET = None  # None: the benchmark's first dataset
MATRIX_MODELS = None  # None: two ViTs, one ResNet, one ConvNeXt
N_SPLITS = 50  # random half splits per task in the split-half null
SEED = 0

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue
from scipy.stats import entropy, spearmanr

from vlmsel import plotting
from vlmsel.chapters import open_world, reproducible
from vlmsel.method import diagnostics, divergence
from vlmsel.method.importance import block_importance
from vlmsel.method.options import SYMMETRIC_DIVERGENCES, MethodOptions
from vlmsel.method.scoring import dataset_divergences
from vlmsel.method.similarity import softmin_weights

plotting.use_style()
rng = reproducible(SEED)  # seeds Python, NumPy (and torch); a fresh generator

# %% [markdown]
# ## Which world this page shows
#
# As in {ref}`chapter 4 <ch-profiles>`, everything here is computed from a profile store and a benchmark chosen in the
# parameters cell. This page was executed on {glue:md}`ch5_world`
# The block importances are those of {ref}`chapter 4 <ch-profiles>`: $w_{m,t} = \mathrm{softmax}(\eta\, z(p_{m,t}))$ with
# $\eta$ = {glue:text}`ch5_eta:g`.

# %%
# The benchmark cut to the datasets the store covers and the models it
# holds on all of them.
world = open_world(BENCHMARK, PROFILE_STORE)
bench, store = world.benchmark, world.store
models, datasets = bench.models, bench.datasets
if world.dropped_models:
    print(f"left out (incomplete in the store): {list(world.dropped_models)}")
WORLD = world.label
N_IMAGES = world.n_images  # images per task the method pools (the paper's N)
glue("ch5_world", Markdown(world.description), display=False)
glue("ch5_eta", ETA, display=False)
glue("ch5_gamma", GAMMA, display=False)

profiles = store.task_profiles(models, datasets, scalar=SCALAR, n_images=N_IMAGES)
w = block_importance(profiles.values, ETA, mask=profiles.mask)  # (M, T, L)
n_tasks = len(datasets)
off_diag = ~np.eye(n_tasks, dtype=bool)


def log_table(values, floor=1e-6):
    """log10 of a (sources x targets) matrix, floored, diagonal left blank."""
    out = np.log10(np.maximum(values, floor))
    out[~off_diag] = np.nan
    return pd.DataFrame(out, index=datasets, columns=datasets)


# The family of every model (of its image tower, in the mini world), and the
# families in the benchmark's order.
family = bench.model_info["family"].fillna("other")
families = list(dict.fromkeys(family[models]))


def short(model):
    return model.removeprefix("mini-")


def importance(model, task):
    """w of one (model, task), without the zero padding."""
    i = profiles.models.index(model)
    return w[i, profiles.datasets.index(task), :profiles.n_blocks[i]]


vits = [m for m in models if family[m] == "ViT"] or models
EX_MODEL = EXAMPLE_MODEL or max(
    vits, key=lambda m: profiles.n_blocks[profiles.models.index(m)])
EX_TARGET = EXAMPLE_TARGET or datasets[0]
glue("ch5_ex_model", EX_MODEL, display=False)
glue("ch5_ex_target", EX_TARGET, display=False)

# %% [markdown]
# ## The definition
#
# For one model $m$, a source task $S$ whose ground truth is known and a target task $T$ known only
# by its images, the method page defines ({ref}`method-dcd`)
#
# $$
# \mathrm{DCD}_m(S \to T) = \sum_{l=1}^{L_m} w_{m,T}(l)\,
#   \log \frac{w_{m,T}(l) + \varepsilon}{w_{m,S}(l) + \varepsilon}
#   \;=\; \mathrm{KL}\bigl(w_{m,T} \,\Vert\, w_{m,S}\bigr),
# \qquad \varepsilon = 10^{-8}.
# $$
#
# Read it from the target's side. The sum is an expectation under the *target's* importance: the
# blocks that matter for $T$ carry the weight. Each such block costs $\log(w_T(l) / w_S(l))$, which is
# large when the source gives that block little importance. A block that only the source uses costs
# almost nothing, since the target barely weighs it. So $\mathrm{DCD}(S \to T)$ is small when $S$
# *covers* the blocks that $T$ relies on, which is what makes $S$'s known ranking of the models a good
# guess for $T$. The arrow points from the task we know to the task we want to predict.
#
# Three places fix the direction, and they agree:
#
# - the method page, {eq}`eq-dcd`: $\mathrm{DCD}_m(S \to T) = \mathrm{KL}(w_T \Vert w_S)$, the target
#   first;
# - `vlmsel.method.divergence.kl(w_t, w_s)` computes
#   $\sum_l w_t \log((w_t + \varepsilon)/(w_s + \varepsilon))$, the target first;
# - `vlmsel.method.scoring.dataset_divergences(profiles)` returns an array `D` of shape (models,
#   datasets, datasets) with `D[m, s, t]` $= \mathrm{DCD}_m(s \to t)$: **rows are sources, columns
#   targets**.
#
# We build the matrix of one model by hand with two loops, and check it against all three, and against
# `scipy.stats.entropy`, which computes $\mathrm{KL}(a \Vert b)$ as `entropy(a, b)`.

# %%
def dcd(w_target, w_source, eps=EPS):
    """DCD(source -> target) = KL(w_target || w_source), smoothed by eps."""
    return np.sum(w_target * np.log((w_target + eps) / (w_source + eps)))


D_hand = np.zeros((n_tasks, n_tasks))  # D_hand[s, t] = DCD(s -> t)
for s, src in enumerate(datasets):
    for t, tgt in enumerate(datasets):
        D_hand[s, t] = dcd(importance(EX_MODEL, tgt),
                           importance(EX_MODEL, src))

D = dataset_divergences(profiles, eta=ETA, divergence="kl", eps=EPS)
i_ex = profiles.models.index(EX_MODEL)
np.testing.assert_allclose(D[i_ex], D_hand, rtol=1e-9, atol=1e-12)
for s, t in [(1, 0), (0, 1)]:
    w_t = importance(EX_MODEL, datasets[t])
    w_s = importance(EX_MODEL, datasets[s])
    np.testing.assert_allclose(divergence.kl(w_t, w_s), D_hand[s, t],
                               rtol=1e-12)
    np.testing.assert_allclose(entropy(w_t, w_s), D_hand[s, t], rtol=1e-5)
assert np.allclose(np.diagonal(D, axis1=1, axis2=2), 0.0)
print(f"{EX_MODEL}: D[s, t] = DCD(s -> t), by hand == library")
print(f"DCD({datasets[1]} -> {datasets[0]}) = {D_hand[1, 0]:.4f}, "
      f"DCD({datasets[0]} -> {datasets[1]}) = {D_hand[0, 1]:.4f}")

# %% [markdown]
# ## Asymmetry, on a three-block example
#
# The KL divergence is not symmetric, and the DCD keeps that on purpose. Take a model with three
# blocks and two tasks: a *narrow* task that relies almost only on block 1, and a *broad* task that
# spreads its importance over all three.

# %% tags=["nbval-check-output"]
w_narrow = np.array([0.90, 0.05, 0.05])
w_broad = np.array([0.40, 0.30, 0.30])
# per-block terms w_T(l) log(w_T(l) / w_S(l)) of each direction
cost_bn = w_narrow * np.log(w_narrow / w_broad)  # broad -> narrow
cost_nb = w_broad * np.log(w_broad / w_narrow)  # narrow -> broad
toy = pd.DataFrame(
    {"source -> target": ["broad -> narrow", "narrow -> broad"],
     "DCD": [dcd(w_narrow, w_broad), dcd(w_broad, w_narrow)],
     "block 1": [cost_bn[0], cost_nb[0]],
     "blocks 2+3": [cost_bn[1:].sum(), cost_nb[1:].sum()]})
print(toy.round(3).to_string(index=False))
glue("ch5_toy_bn", float(toy["DCD"][0]), display=False)
glue("ch5_toy_nb", float(toy["DCD"][1]), display=False)
glue("ch5_toy_nb_23", float(cost_nb[1:].sum()), display=False)

# %% [markdown]
# *Table: the DCD in both directions between a narrow and a broad task of a three-block model, split
# into the cost of block 1 and of blocks 2 and 3.*
#
# The broad task is a good source for the narrow one: it gives block 1, the block the narrow task
# needs, a fair share, and $\mathrm{DCD}(\text{broad} \to \text{narrow})$ =
# {glue:text}`ch5_toy_bn:.3f`. The reverse is worse, {glue:text}`ch5_toy_nb:.3f`: the broad target
# needs blocks 2 and 3 (60 % of its importance), and the narrow source neglects them: they alone
# cost {glue:text}`ch5_toy_nb_23:.3f` nats (block 1, where the source has *more* than the target,
# gives a negative term). A model that
# does well on a task that exercises everything has been tested on what the narrow task needs; a
# model that does well on the narrow task has not been tested on the rest.
#
# The smoothing $\varepsilon$ only matters when a source gives a block exactly zero weight. The
# softmax never does (every $w_l > 0$): over every pair of tasks and every model of this page,
# $\varepsilon$ changes the DCD by at most {glue:text}`ch5_eps_effect:.1e` nats. With the `power`
# importance or $\eta \to \infty$ zeros can occur, and
# $\varepsilon$ turns an infinite divergence into a large finite one, about
# $w_T(l)\log(w_T(l)/\varepsilon)$ for the block that is missing.

# %%
exact = entropy(w_narrow, np.array([0.0, 0.5, 0.5]))
smoothed = dcd(w_narrow, np.array([0.0, 0.5, 0.5]))
print(f"KL without smoothing: {exact}; with eps = {EPS:g}: {smoothed:.3f}")
wt_, ws_ = w[:, None, :, :], w[:, :, None, :]  # target, source
with np.errstate(divide="ignore", invalid="ignore"):
    terms = np.where(wt_ > 0, wt_ * np.log(wt_ / ws_), 0.0)
exact_all = terms.sum(axis=-1)  # unsmoothed KL, (M, S, T)
eps_effect = np.nanmax(np.abs(exact_all - D)[:, off_diag])
glue("ch5_eps_effect", float(eps_effect), display=False)
print(f"largest effect of eps on the DCDs of this page: {eps_effect:.1e}")

# %% [markdown]
# ## Asymmetry on the profiles of this page
#
# How asymmetric is the DCD between real task profiles? Every unordered pair of tasks $\{s, t\}$ of
# every model gives two numbers, $\mathrm{DCD}(s \to t)$ and $\mathrm{DCD}(t \to s)$. We measure the
# asymmetry of a pair by $\lvert D(s \to t) - D(t \to s) \rvert / (D(s \to t) + D(t \to s))$, 0 for a
# symmetric pair and 1 when one direction is 0. What matters for selection is whether the direction
# changes *which* source looks closest to a target: we count the (model, target) pairs whose nearest
# source under $D(s \to t)$ differs from the nearest under the reversed $D(t \to s)$.

# %%
upper = np.triu_indices(n_tasks, k=1)
fig, ax = plt.subplots(figsize=(5.6, 5.0))
for f_i, fam in enumerate(families):
    idx = [i for i, m in enumerate(profiles.models) if family[m] == fam]
    # clipped at 1e-6 for the log scale (eps can leave values ~ -1e-9)
    fwd = np.maximum(D[idx][:, upper[0], upper[1]].ravel(), 1e-6)
    bwd = np.maximum(D[idx][:, upper[1], upper[0]].ravel(), 1e-6)
    marker = plotting.MARKERS[f_i % len(plotting.MARKERS)]
    ax.scatter(fwd, bwd, s=10, alpha=0.6, marker=marker,
               color=f"C{f_i}", label=f"{fam} ({len(idx)} models)")
lo_lim = max(1e-6, 0.5 * D[:, off_diag].min())
lim = 2.0 * D.max()
ax.plot([lo_lim, lim], [lo_lim, lim], color="black", linestyle=":",
        linewidth=1, label="symmetric")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlim(lo_lim, lim)
ax.set_ylim(lo_lim, lim)
ax.set_xlabel("DCD(s -> t) (nats)")
ax.set_ylabel("DCD(t -> s) (nats)")
ax.set_title(f"Both directions of every task pair, {WORLD}")
ax.legend(loc="upper left")

fwd_all = D[:, upper[0], upper[1]]
bwd_all = D[:, upper[1], upper[0]]
asym = np.abs(fwd_all - bwd_all) / (fwd_all + bwd_all)
Dm = np.where(off_diag, D, np.inf)
nearest = Dm.argmin(axis=1)  # (M, T): nearest source of each target
nearest_rev = np.swapaxes(Dm, 1, 2).argmin(axis=1)
glue("ch5_asym_median", float(np.median(asym)), display=False)
glue("ch5_asym_p90", float(np.quantile(asym, 0.9)), display=False)
glue("ch5_rho_dirs", float(spearmanr(fwd_all.ravel(),
                                     bwd_all.ravel())[0]), display=False)
glue("ch5_flip", 100 * float(np.mean(nearest != nearest_rev)),
     display=False)
glue("fig_ch5_pair", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch5_pair
# :name: fig-ch5-pair
#
# $\mathrm{DCD}(s \to t)$ against $\mathrm{DCD}(t \to s)$ for every pair of tasks and every model of
# the page, by family of image tower, on log scales; points off the dotted diagonal are asymmetric
# pairs.
# ```
#
# The two directions are related (Spearman correlation {glue:text}`ch5_rho_dirs:.2f` over
# all pairs) but not equal: the median asymmetry is {glue:text}`ch5_asym_median:.2f`, and one pair in
# ten exceeds {glue:text}`ch5_asym_p90:.2f`. Reversing the direction changes the nearest source of
# {glue:text}`ch5_flip:.0f` % of the (model, target) pairs. Whether the direction the method page
# chose ({ref}`method-choices`) is the *right* one is an empirical question; {ref}`chapter 7 <ch-ablations>` evaluates the
# symmetric variants below as ablations.
#
# ## Coverage
#
# The intuition of the method page ({ref}`method-dcd`), "how well the source *covers* the blocks that
# matter for the target", also has a literal version, the option `divergence="coverage"`
# ({eq}`eq-coverage`):
#
# $$
# \mathrm{cov}_m(S \to T) = \sum_l w_T(l)\,
#   \frac{\max\bigl(0,\ p_T(l) - p_S(l)\bigr)}{p_T(l) + \varepsilon} .
# $$
#
# For each block it asks what fraction of the target's profile share $p_T(l)$ the source lacks (0 when
# the source has at least as much, 1 when it has none), and averages these shortfalls with the target's
# importance as weights. It lies in $[0, 1]$, ignores blocks where the source has *more* than the
# target, and, unlike the DCD, reads the profiles $p$ directly, using $w_T$ only to weigh the blocks.

# %%
p = profiles.values  # (M, T, L), zero-padded


def coverage_gap(w_t, p_t, p_s, eps=EPS):
    return np.sum(w_t * np.maximum(0.0, p_t - p_s) / (p_t + eps))


C_hand = np.array([[coverage_gap(w[i_ex, t], p[i_ex, t], p[i_ex, s])
                    for t in range(n_tasks)] for s in range(n_tasks)])
C = dataset_divergences(profiles, eta=ETA, divergence="coverage", eps=EPS)
np.testing.assert_allclose(C[i_ex], C_hand, rtol=1e-9, atol=1e-12)
np.testing.assert_allclose(
    divergence.coverage(w[i_ex, 0], p[i_ex, 0], p[i_ex, 1]), C_hand[1, 0])
rho_cov = [spearmanr(D[i][off_diag], C[i][off_diag])[0]
           for i in range(len(models))]
glue("ch5_cov_max", float(C[:, off_diag].max()), display=False)
glue("ch5_cov_rho", float(np.median(rho_cov)), display=False)
print(f"coverage gap: {C[:, off_diag].min():.3f} .. "
      f"{C[:, off_diag].max():.3f}; Spearman with DCD per model: "
      f"median {np.median(rho_cov):.2f}")

# %% [markdown]
# The coverage gaps of this page stay below {glue:text}`ch5_cov_max:.2f`: even the most different
# pair of tasks lacks less than that share of the target's profile, importance-weighted. Per model,
# the coverage gap and the DCD order the task pairs with a median Spearman correlation of
# {glue:text}`ch5_cov_rho:.2f`: coverage counts shortfalls of the raw shares $p$, the DCD compares the
# sharpened importances $w$, and the two need not agree.
#
# ## Symmetric alternatives
#
# Three symmetric divergences are offered as ablations: they answer "how alike are $S$ and $T$" rather
# than "how well does $S$ cover $T$":
#
# - Jensen-Shannon, $\mathrm{JS} = \tfrac12 \mathrm{KL}(w_T \Vert a) + \tfrac12 \mathrm{KL}(w_S \Vert a)$
#   with $a = \tfrac12 (w_T + w_S)$, bounded by $\log 2$;
# - symmetrised KL, $\tfrac12 \bigl(\mathrm{KL}(w_T \Vert w_S) + \mathrm{KL}(w_S \Vert w_T)\bigr)$,
#   on the DCD's scale;
# - cosine distance of the *profiles*,
#   $1 - \langle p_T, p_S \rangle / (\lVert p_T \rVert\,\lVert p_S \rVert)$,
#   which skips the importance step altogether.
#
# By hand, then against the library for every model:

# %%
def kl_(a, b, eps=EPS):
    return np.sum(a * np.log((a + eps) / (b + eps)), axis=-1)


wt, ws = w[:, None, :, :], w[:, :, None, :]  # (M, 1, T, L), (M, S, 1, L)
mid = 0.5 * (wt + ws)
pt, ps = p[:, None, :, :], p[:, :, None, :]
by_hand = {
    "kl": kl_(wt, ws),
    "coverage": np.sum(wt * np.maximum(0, pt - ps) / (pt + EPS), axis=-1),
    "js": 0.5 * (kl_(wt, mid) + kl_(ws, mid)),
    "sym_kl": 0.5 * (kl_(wt, ws) + kl_(ws, wt)),
    "cosine": 1 - np.sum(pt * ps, axis=-1)
    / (np.linalg.norm(pt, axis=-1) * np.linalg.norm(ps, axis=-1)),
}
divs = {}
for name, value in by_hand.items():
    divs[name] = dataset_divergences(profiles, eta=ETA, divergence=name,
                                     eps=EPS)
    np.testing.assert_allclose(divs[name], value, rtol=1e-7, atol=1e-10)
for name in SYMMETRIC_DIVERGENCES:
    np.testing.assert_allclose(divs[name], np.swapaxes(divs[name], 1, 2),
                               atol=1e-10)
print("by hand == vlmsel for", ", ".join(divs))

# %%
names = list(divs)
corr = np.zeros((len(names), len(names)))
for a, na in enumerate(names):
    for b, nb in enumerate(names):
        corr[a, b] = np.median([spearmanr(divs[na][i][off_diag],
                                          divs[nb][i][off_diag])[0]
                                for i in range(len(models))])
agree = {n: 100 * float(np.mean(
    np.where(off_diag, divs[n], np.inf).argmin(axis=1) == nearest))
    for n in names}

fig, axes = plt.subplots(3, 2, figsize=(7.5, 11.5))  # page width
for ax, name in zip(axes.flat, names):
    plotting.heatmap(log_table(divs[name][i_ex]), ax=ax, vmin=None,
                     vmax=None, cmap="magma_r", cbar_label=f"log10 {name}",
                     xlabel="target", ylabel="source", title=name)
    ax.set_xticks(np.arange(n_tasks) + 0.5, datasets, rotation=90,
                  fontsize=8)
    ax.set_yticks(np.arange(n_tasks) + 0.5, datasets, fontsize=8)
ax = axes.flat[-1]
ax.barh(names, [agree[n] for n in names], color="C0")
ax.set_xlim(0, 100)
ax.set_xlabel("same nearest source as DCD (%)")
ax.set_title("all models")
ax.invert_yaxis()
fig.suptitle(f"{short(EX_MODEL)}: five divergences ({WORLD})")
for n in names:
    glue(f"ch5_agree_{n}", agree[n], display=False)
glue("ch5_rho_kl_symkl", float(corr[0, names.index("sym_kl")]),
     display=False)
glue("ch5_rho_kl_cos", float(corr[0, names.index("cosine")]), display=False)
glue("fig_ch5_divergences", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch5_divergences
# :name: fig-ch5-divergences
#
# The five divergences of the example model between every source (rows) and target (columns), as
# $\log_{10}$ (values below $10^{-6}$ shown as $-6$; diagonal blank), each on its own colour scale
# (their units differ: nats for KL, JS and symmetrised KL, fractions for coverage and cosine); darker
# means more divergent. Last panel: over all models and targets, how often each divergence picks the
# same nearest source as the DCD.
# ```
#
# The median rank correlation between the divergences, per model, over all ordered pairs of tasks:

# %%
print(pd.DataFrame(corr, index=names, columns=names).round(2).to_string())

# %% [markdown]
# *Table: median over models of the Spearman correlation between two divergences' values on the
# off-diagonal task pairs.*
#
# The KL family (DCD, JS, symmetrised KL) ranks task pairs alike: the DCD and its symmetrised version
# correlate at {glue:text}`ch5_rho_kl_symkl:.2f`, and they pick the same nearest source for
# {glue:text}`ch5_agree_sym_kl:.0f` % of the targets (JS: {glue:text}`ch5_agree_js:.0f` %). The two
# divergences that read the raw profiles $p$ depart more: cosine correlates with the DCD at
# {glue:text}`ch5_rho_kl_cos:.2f` and picks the same nearest source for
# {glue:text}`ch5_agree_cosine:.0f` % of the targets, coverage for {glue:text}`ch5_agree_coverage:.0f` %.
# They weigh blocks by their shares, whereas the KL family compares z-scored, sharpened importances.
# Which of these orderings predicts accuracy better is an empirical question for {ref}`chapter 7 <ch-ablations>`.
#
# ## Task similarity is model specific
#
# The central claim of the method {cite}`yang2026conductance` is that "which tasks are alike" depends on
# the model: each model processes tasks through its own blocks, so each has its own task-similarity
# matrix. Here are the DCD matrices of several models on one (logarithmic) colour scale.

# %%
if MATRIX_MODELS is None:
    picks = [EX_MODEL]
    for fam in families:
        cands = [m for m in models if family[m] == fam and m not in picks]
        if cands:
            picks.append(cands[0])
    MATRIX_MODELS = picks[:4]
logs = {m: log_table(D[profiles.models.index(m)]) for m in MATRIX_MODELS}
vmin = min(np.nanmin(t.to_numpy()) for t in logs.values())
vmax = max(np.nanmax(t.to_numpy()) for t in logs.values())
ncols = 2
nrows = int(np.ceil(len(MATRIX_MODELS) / ncols))
fig, axes = plt.subplots(nrows, ncols, figsize=(7.5, 3.9 * nrows),
                         squeeze=False)
for ax, m in zip(axes.flat, MATRIX_MODELS):
    plotting.heatmap(logs[m], ax=ax, vmin=vmin, vmax=vmax, cmap="magma_r",
                     cbar_label="log10 DCD(source -> target) (nats)",
                     xlabel="target", ylabel="source",
                     title=f"{short(m)} ({family[m]})")
    ax.set_xticks(np.arange(n_tasks) + 0.5, datasets, rotation=90,
                  fontsize=8)
    ax.set_yticks(np.arange(n_tasks) + 0.5, datasets, fontsize=8)
for ax in list(axes.flat)[len(MATRIX_MODELS):]:
    ax.set_visible(False)
glue("fig_ch5_models", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch5_models
# :name: fig-ch5-models
#
# $\log_{10} \mathrm{DCD}_m(\text{source} \to \text{target})$ for several models of the page, on one
# colour scale (darker = more divergent; the diagonal, 0, is blank). The scale is logarithmic because
# the divergences of different models differ by orders of magnitude.
# ```
#
# To compare the matrices of all models at once, we correlate them: for two models, the Spearman
# correlation between their DCDs over the {glue:text}`ch5_n_pairs` ordered pairs of distinct tasks.
# A correlation near 1 means the two models see the same task similarities; near 0, unrelated ones.

# %%
n_pairs = int(off_diag.sum())
glue("ch5_n_pairs", n_pairs, display=False)
flat = D[:, off_diag]  # (M, pairs)
R = spearmanr(flat, axis=1)[0] if len(models) > 2 else np.corrcoef(flat)
R = np.atleast_2d(R)
order = sorted(range(len(models)),
               key=lambda i: (family[models[i]], models[i]))
labels = [short(models[i]) for i in order]
size = min(7.5, 3.0 + 0.33 * len(models))  # at most the page width
fig, ax = plt.subplots(figsize=(size, size - 1.0))
plotting.heatmap(pd.DataFrame(R[np.ix_(order, order)], index=labels,
                              columns=labels),
                 ax=ax, vmin=-1.0, vmax=1.0, cmap="RdBu_r",
                 cbar_label="Spearman correlation of DCD matrices",
                 xlabel="model", ylabel="model",
                 title=f"Do two models see the same task similarities? "
                       f"({WORLD})")
plt.show()

arch = [m.split(" ")[0] for m in models]
fam = [family[m] for m in models]
kinds = {"same architecture": [], "same family, other arch.": [],
         "different family": []}
for a in range(len(models)):
    for b in range(a + 1, len(models)):
        if arch[a] == arch[b]:
            kinds["same architecture"].append(R[a, b])
        elif fam[a] == fam[b]:
            kinds["same family, other arch."].append(R[a, b])
        else:
            kinds["different family"].append(R[a, b])
spec = pd.DataFrame({"model pairs": [len(v) for v in kinds.values()],
                     "mean correlation": [np.mean(v) if v else np.nan
                                          for v in kinds.values()]},
                    index=list(kinds))
print(spec.round(3).to_string())
glue("ch5_R_same_arch", float(spec.iloc[0, 1]), display=False)
glue("ch5_R_same_fam", float(spec.iloc[1, 1]), display=False)
glue("ch5_R_diff_fam", float(spec.iloc[2, 1]), display=False)

# %% [markdown]
# *Figure and table: Spearman correlation between the DCD matrices of every two models (models grouped
# by family), and its mean over pairs of models that share the architecture (different pretraining
# data), share only the family, or differ in family.*
#
# Models of the same architecture trained on different data agree on average at
# {glue:text}`ch5_R_same_arch:.2f`, models of the same family but another architecture at
# {glue:text}`ch5_R_same_fam:.2f`, and models of different families at {glue:text}`ch5_R_diff_fam:.2f`.
# These correlations are far from 1: the models of this page do not agree on which tasks are alike.
# That is what model-specific similarity predicts, and it is what lets a selection method give each
# model its *own* similar tasks. But noise predicts it too: if a model's divergences were nothing but
# the sampling noise of its profiles, its matrix would correlate with no other model's. The next
# test separates the two explanations; whether the model-specific similarities predict
# model-specific accuracy is the question of {ref}`chapter 6 <ch-ranking>`.
#
# ### Is it more than noise? The split-half null
#
# A difference between two profiles means something only if it exceeds the difference between two
# random halves of *one* task's images ({ref}`method-protocol`). For every model and task we split the
# stored images {glue:text}`ch5_n_splits` times at random into two halves $A$ and $B$, and compute, on
# these half-size samples,
#
# - the *null*: $\mathrm{DCD}(A_t \to B_t)$, two halves of the same task $t$;
# - the *between-task* divergence: $\mathrm{DCD}(A_s \to B_t)$ for every other task $s$.
#
# Both sides use profiles of the same number of images, so they carry the same noise; the question is
# whether different tasks are further apart than the same task is from itself. We build the splits by
# hand for the example model and check them against `vlmsel.method.diagnostics.split_half_divergences`,
# which then computes them for every model.

# %%
glue("ch5_n_splits", N_SPLITS, display=False)
options = MethodOptions(scalar=SCALAR, eta=ETA, eps=EPS)
n_img = store.block_scalars(models[0], datasets[0], SCALAR, N_IMAGES).shape[0]
half = n_img // 2
# By hand for the example model: one permutation of the images per split,
# its first half is A, the rest B.
c_ex = [store.block_scalars(EX_MODEL, d, SCALAR, N_IMAGES) for d in datasets]
q = np.stack([np.abs(c) / np.abs(c).sum(axis=1, keepdims=True)
              for c in c_ex])  # (T, N, L)
check_rng = np.random.default_rng(SEED)
perms = np.array([check_rng.permutation(n_img) for _ in range(N_SPLITS)])
w_a = block_importance(q[:, perms[:, :half]].mean(axis=2), ETA)  # (T, R, L)
w_b = block_importance(q[:, perms[:, half:]].mean(axis=2), ETA)
# d_hand[r, s, t] = DCD(A_s -> B_t) in split r
d_hand = kl_(w_b.transpose(1, 0, 2)[:, None, :, :],
             w_a.transpose(1, 0, 2)[:, :, None, :])
d_lib = diagnostics.split_half_divergences(c_ex, N_SPLITS, SEED, options)
np.testing.assert_allclose(d_lib, d_hand, rtol=1e-9, atol=1e-12)
print(f"{EX_MODEL}: split-half DCDs of shape (splits, sources, targets) "
      f"{d_lib.shape}, by hand == library")

# %%
null, betw, frac_sep = {}, {}, {}
for m in models:
    c_m = [store.block_scalars(m, d, SCALAR, N_IMAGES) for d in datasets]
    # d[r, s, t] = DCD(A_s -> B_t) in split r
    d = diagnostics.split_half_divergences(c_m, N_SPLITS, rng, options)
    null[m] = np.diagonal(d, axis1=1, axis2=2)  # (splits, T)
    betw[m] = d[:, off_diag]  # (splits, pairs)
    # a pair separates when its mean over splits exceeds the 95th
    # percentile of the target's null
    q95 = np.quantile(null[m], 0.95, axis=0)  # (T,)
    targets = np.nonzero(off_diag)[1]
    frac_sep[m] = float(np.mean(betw[m].mean(axis=0) > q95[targets]))

fig, ax = plt.subplots(figsize=(8.5, 4.0))
pos = np.arange(len(models))
order_m = [models[i] for i in order]
bp1 = ax.boxplot([null[m].ravel() for m in order_m], positions=pos - 0.2,
                 widths=0.35, patch_artist=True, showfliers=False)
bp2 = ax.boxplot([betw[m].ravel() for m in order_m], positions=pos + 0.2,
                 widths=0.35, patch_artist=True, showfliers=False)
for patch in bp1["boxes"]:
    patch.set(facecolor="0.85", hatch="//")
for patch in bp2["boxes"]:
    patch.set(facecolor="C0", alpha=0.7)
ax.set_yscale("log")
ax.set_xticks(pos, [short(m) for m in order_m], rotation=60, ha="right",
              fontsize=7)
ax.set_ylabel("DCD between half samples (nats)")
ax.set_xlabel("model")
ax.set_title(f"Split-half null vs between tasks ({WORLD})")
ax.legend([bp1["boxes"][0], bp2["boxes"][0]],
          ["same task, two halves (null)", "different tasks"],
          loc="lower right")
sep = pd.Series(frac_sep)
ratio = pd.Series({m: np.median(betw[m]) / np.median(null[m])
                   for m in models})
glue("ch5_sep_median", 100 * float(sep.median()), display=False)
glue("ch5_sep_min", 100 * float(sep.min()), display=False)
glue("ch5_sep_min_model", Markdown(f"`{sep.idxmin()}`"),
     display=False)
glue("ch5_ratio_median", float(ratio.median()), display=False)
glue("ch5_half", half, display=False)
glue("fig_ch5_heatmap", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch5_heatmap
# :name: fig-ch5-heatmap
#
# Per model, the DCD between two random halves ({glue:text}`ch5_half` and the rest of the images) of
# the same task (hatched, the null) and of two different tasks (blue), over all tasks and
# {glue:text}`ch5_n_splits` random splits; boxes show the quartiles, whiskers 1.5 times the
# interquartile range, log scale.
# ```
#
# For the median model, the between-task divergence is {glue:text}`ch5_ratio_median:.1f` times the
# null, and {glue:text}`ch5_sep_median:.0f` % of its ordered task pairs are further apart (on average
# over splits) than the 95th percentile of the target's null. The least separated model is
# {glue:md}`ch5_sep_min_model`, with {glue:text}`ch5_sep_min:.0f` %. The pairs that do not separate
# are pairs whose profiles the stored images cannot tell apart: for those, the DCD measures noise, and
# the softmin below spreads weight over them more or less at random. The full-size profiles used
# everywhere else have about half the variance of these half samples, so the real situation is
# somewhat better than this test shows.
#
# ## From divergence to similarity: softmin weights
#
# {ref}`Chapter 6 <ch-ranking>` predicts a model's rank on the target from its ranks on the sources, weighting each source
# by how similar it is to the target *for that model*. The weights are a softmin of the divergences
# over the allowed sources (every task but the target):
#
# $$
# \alpha_m(S \mid T) = \frac{\exp\bigl(-\gamma\, \mathrm{DCD}_m(S \to T)\bigr)}
#   {\sum_{S' \ne T} \exp\bigl(-\gamma\, \mathrm{DCD}_m(S' \to T)\bigr)},
# \qquad \gamma = 5 .
# $$
#
# It is the softmax of {ref}`chapter 4 <ch-profiles>` again, applied to $-D$: by the same derivation, $\alpha$ maximises
# $-\langle \alpha, D \rangle + \frac1\gamma H(\alpha)$, the best trade between closeness and spread over
# sources. $\gamma = 0$ weighs all sources equally (the average-rank baseline); $\gamma \to \infty$
# keeps only the nearest source. By hand for the example, then `vlmsel.method.similarity.softmin_weights`,
# which takes the whole (models, sources, targets) array and a mask that excludes each target from its
# own sources:

# %%
t_ex = datasets.index(EX_TARGET)
sources = [s for s in range(n_tasks) if s != t_ex]
d_col = D[i_ex, sources, t_ex]  # DCD(s -> target) for the allowed s
logits = -GAMMA * d_col
alpha_hand = np.exp(logits - logits.max())
alpha_hand /= alpha_hand.sum()

valid = ~np.eye(n_tasks, dtype=bool)  # valid[s, t]: s may serve t
alpha = softmin_weights(D, GAMMA, valid)  # (M, S, T)
np.testing.assert_allclose(alpha[i_ex, sources, t_ex], alpha_hand,
                           rtol=1e-12)
assert np.all(alpha[:, np.arange(n_tasks), np.arange(n_tasks)] == 0)
np.testing.assert_allclose(alpha.sum(axis=1), 1.0)
try:
    softmin_weights(D, np.inf, valid)
except ValueError as err:
    print("gamma = inf:", err)

# %% [markdown]
# The library refuses $\gamma = \infty$ (its limit is a hard argmin, not a softmin); below we draw that
# limit by hand. How sharp the weights are at a given $\gamma$ depends on how large the divergences
# are, and that differs a lot between models. {numref}`fig-ch5-softmin` therefore shows two models for the example
# target: the model of the page whose divergences are largest (median over its task pairs) and the one
# whose divergences are smallest.

# %%
med_d = np.median(D[:, off_diag], axis=1)  # (M,) typical size of DCD
contrast = {"largest DCDs": models[int(np.argmax(med_d))],
            "smallest DCDs": models[int(np.argmin(med_d))]}
gamma_labels = [f"gamma = {g:g}" for g in GAMMAS] + ["gamma = inf"]


def weights_by_gamma(model):
    """Sources sorted by DCD(S -> target), and their weights per gamma."""
    d_m = D[models.index(model), sources, t_ex]
    by_d = np.argsort(d_m, kind="stable")
    ws = [softmin_weights(d_m[by_d][:, None], g)[:, 0] for g in GAMMAS]
    top = np.isclose(d_m[by_d], d_m.min()).astype(float)
    ws.append(top / top.sum())  # gamma -> inf: the nearest source only
    return [datasets[sources[k]] for k in by_d], d_m[by_d], ws


gamma_fine = np.concatenate([[0.0], np.geomspace(0.1, 100, 60)])
alpha_grid = np.stack([softmin_weights(D, g, valid) for g in gamma_fine])
n_eff = diagnostics.effective_sources(alpha_grid)  # (gammas, M, T)

alpha_default = softmin_weights(D, GAMMA, valid)
n_eff_default = diagnostics.effective_sources(alpha_default)  # (M, T)
near_uniform = n_eff_default > 0.9 * (n_tasks - 1)
glue("ch5_neff_median", float(np.median(n_eff_default)), display=False)
glue("ch5_neff_min", float(n_eff_default.min()), display=False)
glue("ch5_n_sources", n_tasks - 1, display=False)
glue("ch5_uniform_share", 1 / (n_tasks - 1), display=False)
glue("ch5_near_uniform", 100 * float(near_uniform.mean()), display=False)
for kind, key in [("largest DCDs", "sharp"), ("smallest DCDs", "flat")]:
    m = contrast[kind]
    glue(f"ch5_{key}_model", Markdown(f"`{m}`"), display=False)
    glue(f"ch5_{key}_alpha_top", float(
        alpha_default[models.index(m), sources, t_ex].max()), display=False)
    glue(f"ch5_{key}_med_d", float(med_d[models.index(m)]), display=False)

# %% tags=["hide-input"]
fig = plt.figure(figsize=(8.8, 7.4))
grid = fig.add_gridspec(2, 2)
bar_axes = [fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])]
for ax, (kind, m) in zip(bar_axes, contrast.items()):
    names_m, d_sorted, ws = weights_by_gamma(m)
    width = 0.8 / len(ws)
    xs = np.arange(len(names_m))
    for g_i, (lab, a) in enumerate(zip(gamma_labels, ws)):
        ax.bar(xs + (g_i - (len(ws) - 1) / 2) * width, a, width,
               label=lab, color=f"C{g_i}",
               hatch=["", "//", "..", "xx", "--"][g_i % 5])
    ax.set_xticks(xs, names_m, rotation=60, ha="right", fontsize=7)
    ax.set_xlabel("source task (nearest first)")
    ax.set_ylabel(f"weight alpha(S | {EX_TARGET})")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{short(m)}\n({kind}), target {EX_TARGET}", fontsize=9)
bar_axes[0].legend(fontsize=7, loc="upper right")
ax = fig.add_subplot(grid[1, :])
for i, m in enumerate(models):
    f_i = families.index(family[m])
    ax.plot(gamma_fine[1:], np.median(n_eff[1:, i], axis=1),
            color=f"C{f_i}",
            linestyle=plotting.LINESTYLES[f_i % len(plotting.LINESTYLES)],
            linewidth=1.2, label=family[m])
handles, labels_ = ax.get_legend_handles_labels()
keep = {lab: h for h, lab in zip(handles, labels_)}
ax.legend(keep.values(), keep.keys(), loc="lower left")
ax.axvline(GAMMA, color="black", linestyle=":", linewidth=1)
ax.axhline(n_tasks - 1, color="0.5", linestyle="-", linewidth=0.8)
ax.set_xscale("log")
ax.set_xlabel("gamma (log scale)")
ax.set_ylabel("effective number of sources")
ax.set_title("spread of alpha: median over targets, one line per model")
glue("fig_ch5_softmin", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch5_softmin
# :name: fig-ch5-softmin
#
# Top, the softmin weight of every source for the example target, for several $\gamma$ ($\gamma = 0$:
# uniform; $\gamma = \infty$: the nearest source only), for the model with the largest and the model
# with the smallest divergences. Bottom, the effective number of sources $1 / \sum_S \alpha(S \mid
# T)^2$ (the inverse Simpson index, `vlmsel.method.diagnostics.effective_sources`) against $\gamma$,
# median over the targets, one line per model (grey line: all
# {glue:text}`ch5_n_sources` sources equally weighted; dotted: $\gamma$ = {glue:text}`ch5_gamma:g`).
# ```
#
# The scale of $\gamma$ only means something relative to the size of the divergences. For
# {glue:md}`ch5_sharp_model` (median DCD {glue:text}`ch5_sharp_med_d:.3f` nats) the nearest source of
# the example target gets {glue:text}`ch5_sharp_alpha_top:.2f` of the weight at $\gamma$ =
# {glue:text}`ch5_gamma:g`; for {glue:md}`ch5_flat_model` (median DCD
# {glue:text}`ch5_flat_med_d:.4f` nats) it gets {glue:text}`ch5_flat_alpha_top:.2f`, against a
# uniform share of {glue:text}`ch5_uniform_share:.2f`. Over every model and target of the page, the
# median effective number of sources at the default $\gamma$ is {glue:text}`ch5_neff_median:.1f` out
# of {glue:text}`ch5_n_sources` (the sharpest case: {glue:text}`ch5_neff_min:.1f`), and
# {glue:text}`ch5_near_uniform:.0f` % of the (model, target) pairs have an effective number of sources
# above 90 % of all sources.
#
# Those weightings are close to uniform, and for them the method's prediction will be close to the
# average-rank baseline ($\gamma = 0$). That is not a bug of the implementation; it follows from
# divergences that are small compared with $1/\gamma$. {ref}`Chapter 6 <ch-ranking>` measures what this costs; the nested
# option of its method (`DcdMethod(nested=True)`) chooses $\gamma$ and $\eta$ by leave-one-out over
# the sources, never on the target. The weights at the default $\gamma$, for the two models of the
# figure:

# %% tags=["nbval-check-output"]
for kind, m in contrast.items():
    i = models.index(m)
    d_m = D[i, sources, t_ex]
    by_d = np.argsort(d_m, kind="stable")[:5]
    table = pd.DataFrame(
        {"source": [datasets[sources[k]] for k in by_d], "DCD": d_m[by_d],
         "alpha": alpha_default[i, sources, t_ex][by_d]},
        index=pd.Index(range(1, 6), name="rank"))
    print(f"{m} ({kind}), target {EX_TARGET}, gamma = {GAMMA:g}")
    print(table.round(3).to_string(), end="\n\n")

# %% [markdown]
# *Tables: the five nearest sources of the example target for the two models of the figure, their
# DCD (nats) and their softmin weight at the default $\gamma$.*
#
# ## Summary
#
# - $\mathrm{DCD}_m(S \to T) = \mathrm{KL}(w_{m,T} \,\Vert\, w_{m,S})$ with $\varepsilon = 10^{-8}$: an
#   expectation under the target's block importance, small when the source covers the blocks the target
#   relies on. In vlmsel, `divergence.kl(w_t, w_s)` and `D[m, s, t]` (rows sources, columns targets)
#   follow the direction of the method page ({eq}`eq-dcd`); the by-hand version agrees to machine
#   precision.
# - It is asymmetric on purpose: a broad source covers a narrow target better than the reverse. On the
#   profiles of this page the two directions are correlated (Spearman {glue:text}`ch5_rho_dirs:.2f`),
#   and reversing the direction
#   changes the nearest source of {glue:text}`ch5_flip:.0f` % of the (model, target) pairs.
# - `coverage` is the literal "share of the target's profile the source lacks"; `js`, `sym_kl` and
#   `cosine` are symmetric ablations. The KL family orders task pairs alike; the divergences that read
#   the raw profiles (coverage, cosine) differ more.
# - The DCD matrices of different models are weakly correlated: task similarity is model specific, or
#   noisy, and the split-half null shows which task pairs are further apart than two halves of one
#   task.
# - Softmin weights $\alpha = \mathrm{softmin}(\gamma D)$ over the sources interpolate between the
#   average-rank baseline ($\gamma = 0$) and the nearest source ($\gamma \to \infty$). How sharp they
#   are at the paper's $\gamma = 5$ ({eq}`eq-softmin`) depends on the size of a model's divergences;
#   on this page the median (model, target) spreads its weight over {glue:text}`ch5_neff_median:.1f`
#   effective sources out of {glue:text}`ch5_n_sources`.
#
# {ref}`Chapter 6 <ch-ranking>` puts the pieces together: it aggregates each model's ranks on the sources with these
# weights into a predicted ranking for the target, and evaluates it leave-one-dataset-out against the
# baselines of {ref}`chapter 1 <ch-benchmarks>`.
#
# ## Exercises
#
# 1. Show that $\mathrm{DCD}(S \to T) \ge 0$ (for $\varepsilon = 0$), with equality only when
#    $w_S = w_T$. Can the smoothed version with $\varepsilon > 0$ be negative?
# 2. In the three-block example, find a source $w_S$ for the narrow target with a *smaller* DCD than
#    the broad one, and one with a larger DCD that still gives block 1 more weight than the target
#    does.
# 3. Re-run the chapter with `ETA = 0.5` and `ETA = 8`. How do the model-to-model correlations and the
#    split-half separation change?
# 4. The softmin weights depend on $\gamma D$ only. If all divergences of a model were doubled (for
#    example by a larger $\eta$), which $\gamma$ would give the same weights?
#
# ```{dropdown} Solutions
# 1. Gibbs' inequality: $-\mathrm{KL}(a \Vert b) = \sum_l a_l \log(b_l / a_l) \le \log \sum_l b_l = 0$
#    by Jensen, with equality iff $b = a$. With $\varepsilon > 0$ the smoothed terms are no longer a
#    KL divergence of two distributions, and the value can dip below 0 by $O(\varepsilon)$ for nearly
#    equal distributions (the module docstring of `vlmsel.method.divergence` says so); it is exactly 0
#    when $w_S = w_T$.
# 2. Any $w_S$ closer to $w_T$, e.g. $(0.8, 0.1, 0.1)$, gives a smaller DCD. A source that
#    over-concentrates, e.g. $(0.9999, 0.00005, 0.00005)$, gives block 1 more than the target but
#    starves blocks 2 and 3: they cost $2 \times 0.05 \log(0.05/0.00005) \approx 0.69$ nats, block 1
#    gives back $0.9 \log(0.9/0.9999) \approx -0.09$, and the DCD, about 0.60, exceeds the broad
#    source's. (With $(0.999, 0.0005, 0.0005)$ it is still smaller, about 0.37: the logarithm punishes
#    starving a block only slowly.)
# 3. Larger $\eta$ sharpens every $w$, so divergences grow and the null grows with them; look at the
#    ratio and the separated fraction, not the raw values. The model-to-model correlations measure
#    orderings and change less than the values.
# 4. $\gamma / 2$: softmin weights are invariant when $\gamma D$ is unchanged. This is why $\eta$ and
#    $\gamma$ must be tuned together, and why the nested selection of `DcdMethod` chooses them
#    jointly (by leave-one-out over the sources, never on the target).
# ```
#
# ## References
#
# The method {cite}`yang2026conductance` is listed with all other works in the
# [bibliography](../book/bibliography.md).
