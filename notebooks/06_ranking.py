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
# (ch-ranking)=
# # 6. Ranking models by aggregating source ranks
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/06_ranking.ipynb)
#
# **What you will learn**
#
# - how the source weights of {ref}`chapter 5 <ch-dcd>` become a ranking of the zoo: each model's rank on every
#   source turned into a {term}`utility`, averaged with that model's own weights;
# - the scoring for one held-out target in a few lines of numpy on the library's divergences,
#   checked against `vlmsel.method.scoring.dcd_scores`, and why $\gamma = 0$ is the average-rank
#   baseline;
# - how DCD fares leave-one-dataset-out against the baselines of {ref}`chapter 1 <ch-benchmarks>` (ImageNet-style INB,
#   {term}`average rank`, random, an {term}`oracle`), with bootstrap intervals and paired differences;
# - which held-out targets DCD gets wrong, and why: which sources it leaned on, how well those agree
#   with the target's true ranking, and whether its weights rise above the noise of 25 images.

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
# PROFILE_STORE: None for the mini world's committed store (data/mini/profiles),
# else a folder written by `vlmsel profile` for real open_clip models.
PROFILE_STORE = None
BENCHMARK = "mini"  # with a real store: "lovm" or "openclip48"
TARGET = None  # target of the worked example; None: the first dataset
# ETA and GAMMA: the method's defaults (method page, section Who fixed what)
ETA = 2.0  # importance sharpness
GAMMA = 5.0  # softmin inverse temperature
BASELINES = ["inb", "avg_rank", "random", "oracle_sim", "modelgpt_lite"]
N_BOOT = 10_000  # bootstrap resamples of the targets for the 95% intervals
SEED = 0  # seed of the bootstrap and of the split-half null
N_SPLITS = 50  # random half splits per (model, target) for the null
NEAR_CHANCE_RATIO = 1.5  # near chance: best model below this x chance
N_NULL = 1000  # shuffles of the permutation null

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue
import seaborn as sns
from scipy.stats import spearmanr

from vlmsel import chapters, plotting
from vlmsel.data.benchmarks import load_benchmark
from vlmsel.data.lovm import lovm_classnames
from vlmsel.evaluation import harness, metrics
from vlmsel.evaluation.null import permutation_null
from vlmsel.evaluation.published import LOVM_INB, PAPER_CLAIM, claims_markdown
from vlmsel.evaluation.dcd import DcdMethod
from vlmsel.evaluation.methods import make_method
from vlmsel.method import (aggregation, diagnostics, divergence, importance,
                           scoring, similarity)

plotting.use_style()

# %% [markdown]
# ## Where we are
#
# {ref}`Chapter 4 <ch-profiles>` turned the block conductance of a model $m$ on a task's $N$ unlabeled images into a task
# profile $p_{m,t}$ and a block-importance distribution $w_{m,t} = \mathrm{softmax}(\eta\, z(p_{m,t}))$.
# {ref}`Chapter 5 <ch-dcd>` compared two tasks through the eyes of one model, with the Directional Conductance
# Divergence $\mathrm{DCD}_m(S \to T) = \mathrm{KL}(w_{m,T} \,\|\, w_{m,S})$, and turned the
# divergences of all sources into weights with a softmin,
#
# $$
# \alpha_m(S \mid T) = \frac{\exp(-\gamma\, \mathrm{DCD}_m(S \to T))}
#                           {\sum_{S' \neq T} \exp(-\gamma\, \mathrm{DCD}_m(S' \to T))}.
# $$
#
# This chapter finishes the method {cite}`yang2026conductance`: it turns the weights into a ranking
# of the zoo, and then asks the only question that matters, whether that ranking is any good.
#
# First, the world this page was computed in (set by `PROFILE_STORE` and `BENCHMARK` in the
# parameters cell):

# %%
# The benchmark cut to the models and datasets the store covers.
world = chapters.open_world(BENCHMARK, PROFILE_STORE)
store, bench = world.store, world.benchmark
N_IMAGES = world.n_images  # images per task the method pools (the paper's N)
wide = bench.wide
n_models, n_datasets = wide.shape
glue("ch6_world", Markdown(world.description), display=False)
glue("ch6_world_label", world.label, display=False)
glue("ch6_benchmark", bench.name, display=False)
glue("ch6_n_models", n_models, display=False)
glue("ch6_n_datasets", n_datasets, display=False)
glue("ch6_reference", bench.reference_dataset, display=False)
print(f"{bench.name}: {n_models} models and {n_datasets} datasets have "
      f"profiles; left out: {', '.join(world.dropped_models) or 'none'}.")

# %% [markdown]
# This page shows {glue:md}`ch6_world` It uses {glue:text}`ch6_n_models` models and
# {glue:text}`ch6_n_datasets` datasets of the {glue:text}`ch6_benchmark` benchmark, whose
# reference dataset for the INB baseline (ImageNet's role) is {glue:text}`ch6_reference`. Every
# number below is computed from these profiles and this ground truth; with a real profile store the
# same cells give the real-world numbers.
#
# ## From weights to a score
#
# Every source $S$ comes with ground truth: the accuracy of every model of the zoo. The method does
# not average accuracies (a hard source would count less than an easy one); it averages *ranks*.
# Model $m$'s rank on source $S$ within the zoo, $\mathrm{rank}_m(S)$ (1 = best, ties share the mean
# rank), becomes a utility in $[0, 1]$,
#
# $$
# u_m(S) = 1 - \frac{\mathrm{rank}_m(S) - 1}{|\mathcal M| - 1},
# $$
#
# so the best model of a source has utility 1 and the worst 0. The predicted score of model $m$ on
# the target is the average of its utilities, weighted by *its own* source weights:
#
# $$
# \hat s_m(T) = \sum_{S \neq T} \alpha_m(S \mid T)\, u_m(S),
# $$
#
# and the predicted ranking sorts $\hat s$ in descending order, ties broken by model name. The
# weights are *model-specific*: a ViT and a ResNet may find different sources similar to the same
# target, because each compares the tasks through its own blocks. With $\gamma = 0$ every weight is
# $1/|\mathcal S|$ and $\hat s_m$ is model $m$'s average utility over the sources: the `avg_rank`
# baseline of {ref}`chapter 1 <ch-benchmarks>`.
#
# ### One held-out target, by hand
#
# We hold out one target $T$. Its column of the ground truth is dropped *before* anything else
# happens; the only things the method sees of $T$ are the profiles of its unlabeled images.

# %%
target = TARGET or next(d for d in bench.datasets
                        if d != bench.reference_dataset)
sources = [d for d in bench.datasets if d != target]
source_acc = wide[sources]  # models x sources: the target is not here
profiles = store.task_profiles(bench.models, bench.datasets, n_images=N_IMAGES)
glue("ch6_target", target, display=False)
glue("ch6_n_sources", len(sources), display=False)
print(f"target: {target}; {len(sources)} sources; profiles of shape "
      f"{profiles.shape} (models, datasets, max blocks)")

# %% [markdown]
# The utilities, from the sources' ground truth (pandas' `rank` gives tied models their mean rank):

# %%
rank = source_acc.rank(ascending=False, method="average")  # 1 = best
u = 1.0 - (rank - 1.0) / (n_models - 1)
np.testing.assert_allclose(u, aggregation.utilities(source_acc.to_numpy()))

# %% [markdown]
# The weights, model by model: the importance of every task's profile ({ref}`chapter 4 <ch-profiles>`) and the divergence
# from each source to the target ({ref}`chapter 5 <ch-dcd>`) come from the library; the softmin over the sources and
# the weighted utilities are a few lines:

# %%
w = importance.block_importance(profiles.values, ETA, mask=profiles.mask)
d_pairs = divergence.pairwise_divergence("kl", w=w)  # [m, s, t]: DCD_m(s -> t)
s_idx = [bench.datasets.index(s) for s in sources]
dcd = pd.DataFrame(d_pairs[:, s_idx, bench.datasets.index(target)],
                   index=bench.models, columns=sources)
e = np.exp(-GAMMA * dcd.sub(dcd.min(axis=1), axis=0))  # softmin, stably
alpha = e.div(e.sum(axis=1), axis=0)

score = (alpha * u).sum(axis=1)  # s_hat_m = sum_S alpha_m(S|T) u_m(S)
predicted = sorted(bench.models, key=lambda m: (-score[m], m))

# %% [markdown]
# The library does the same in one call, `vlmsel.method.scoring.dcd_scores`, from the profiles and the
# sources' accuracies (it refuses a table that contains the target):

# %%
library = scoring.dcd_scores(profiles, source_acc, target,
                             eta=ETA, gamma=GAMMA)
np.testing.assert_allclose(score, library, rtol=1e-10)
assert predicted == aggregation.ranking(library.to_numpy(), bench.models)
# gamma = 0: uniform weights, i.e. the average-rank baseline
uniform = scoring.dcd_scores(profiles, source_acc, target, gamma=0.0)
np.testing.assert_allclose(uniform, u.mean(axis=1), rtol=1e-12)

# %% [markdown]
# Below, the two ingredients side by side: each model's weights over the sources (left; every row
# sums to one) and its utilities (right). A model's score is the dot product of its two rows.

# %%
fig, axes = plt.subplots(1, 2, figsize=(7.5, 0.3 * n_models + 2.2),
                         sharey=True)
plotting.heatmap(alpha.astype(float), ax=axes[0], vmin=0.0,
                 vmax=float(alpha.to_numpy().max()), cmap="mako_r",
                 cbar_label="weight alpha_m(S | T)", xlabel="source S",
                 title=f"weights for target {target}")
plotting.heatmap(u, ax=axes[1], cbar_label="utility u_m(S)",
                 xlabel="source S", ylabel="", title="utilities")
glue("fig_ch6_weights", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch6_weights
# :name: fig-ch6-weights
#
# Left, the DCD weights $\alpha_m(S \mid T)$ of every model (rows) over the sources (columns) for the
# held-out target; right, every model's utility on every source (1 = best model of that source). Both
# use only the sources' ground truth and the unlabeled images of the target.
# ```
#
# Now, and only now, we look at the target's ground truth, to score the prediction:

# %% tags=["nbval-check-output"]
true = wide[target]
example = pd.DataFrame({
    "predicted score": score,
    "predicted rank": score.rank(ascending=False, method="min"),
    "true accuracy": true,
    "true rank": true.rank(ascending=False, method="min"),
}).loc[predicted]
example[["predicted rank", "true rank"]] = (
    example[["predicted rank", "true rank"]].astype(int))
print(example.head(10).round(3).to_string())
example_metrics = metrics.ranking_metrics(score.to_numpy(), true.to_numpy(),
                                          bench.models)
avg_metrics = metrics.ranking_metrics(u.mean(axis=1).to_numpy(),
                                      true.to_numpy(), bench.models)
for key in ("r5", "tau5", "ndcg5", "tau_b"):
    glue(f"ch6_example_{key}", float(example_metrics[key]), display=False)
    glue(f"ch6_example_avg_{key}", float(avg_metrics[key]), display=False)
print({k: round(v, 3) for k, v in example_metrics.items()})

# %% [markdown]
# *Table: the ten models DCD ranks highest on the held-out target {glue:text}`ch6_target`, with their
# true accuracy and true rank (rank 1 = best of the {glue:text}`ch6_n_models` models).*
#
# On this target DCD finds $R_5$ = {glue:text}`ch6_example_r5:.2f` of the true top five, with
# NDCG@5 = {glue:text}`ch6_example_ndcg5:.3f` (gain: accuracy) and Kendall's $\tau_b$ =
# {glue:text}`ch6_example_tau_b:.3f` over the whole list; uniform weights (average rank) give
# $R_5$ = {glue:text}`ch6_example_avg_r5:.2f`, NDCG@5 = {glue:text}`ch6_example_avg_ndcg5:.3f` and
# $\tau_b$ = {glue:text}`ch6_example_avg_tau_b:.3f`. One target proves nothing either way; the next
# section holds out every dataset in turn.
#
# ## Leave-one-dataset-out on the whole benchmark
#
# `vlmsel.evaluation.harness.evaluate` runs the protocol of {ref}`chapter 1 <ch-benchmarks>` for any method: each dataset is the
# target once, the method gets the other datasets' ground truth (without the target's column) and its
# own label-free inputs, and the per-target metrics are averaged with a 95% bootstrap interval over
# targets. `vlmsel.evaluation.dcd.DcdMethod` wraps `dcd_scores` for it, with the fixed
# $\eta$ = {glue:text}`ch6_eta` and $\gamma$ = {glue:text}`ch6_gamma` of the method page
# ({ref}`method-choices`; {ref}`chapter 7 <ch-ablations>` varies both, and chooses them by a nested leave-one-out). The
# baselines come from `vlmsel.evaluation.methods.make_method`:
#
# - `inb` ranks every target by the reference dataset's accuracy;
# - `avg_rank` is DCD with uniform weights ($\gamma = 0$);
# - `random` is the exact expected value of a uniformly random ranking;
# - `oracle_sim` is **an oracle, not a competitor**: it weights each source by its true rank
#   agreement (Kendall's $\tau_b$) with the *target's ground truth*, which no real method can see. It
#   shows how far better source weights could take rank aggregation;
# - `modelgpt_lite` regresses accuracy on LOVM's text-derived features {cite}`zohar2023lovm`: scores
#   of the text encoder on captions that a language model wrote for LOVM's datasets, plus the
#   ImageNet accuracy. vlmsel ships LOVM's table of them and does not recompute them, so this
#   baseline runs only on benchmarks within LOVM's 35 models and 23 datasets.

# %%
glue("ch6_eta", ETA, display=False)
glue("ch6_gamma", GAMMA, display=False)
methods = {"dcd": DcdMethod(profiles, eta=ETA, gamma=GAMMA)}
absent = {}
for name in BASELINES:
    options = {"reference": bench.reference_dataset} if name == "inb" else {}
    method = make_method(name, **options)
    try:
        method.fit(bench.models, bench.datasets)  # checks its inputs exist
    except ValueError as err:
        absent[name] = str(err)
        continue
    methods[name] = method
results = {name: harness.evaluate(bench, method, n_boot=N_BOOT, seed=SEED)
           for name, method in methods.items()}
for name, why in absent.items():
    print(f"{name} is not evaluated here: {why}")

# %% tags=["remove-input"]
why_absent = "every listed baseline runs on this benchmark"
if "modelgpt_lite" in absent:
    why_absent = (
        "modelgpt_lite is absent: it needs LOVM's text-derived features, "
        "which exist only for LOVM's 35 models and 23 datasets, and this "
        f"benchmark ({bench.name}) has models or datasets outside them "
        "(the mini world's own tasks and models have no such features; "
        "set BENCHMARK to lovm with a real profile store to see it)")
glue("ch6_why_absent", why_absent, display=False)

# %% [markdown]
# Here, {glue:text}`ch6_why_absent`.
#
# The headline metrics, LOVM's $R_5$ and $\tau_5$ and NDCG@5, each as the mean over targets with its
# 95% bootstrap interval (`vlmsel.evaluation.harness.compare`; the same resamples for every method):

# %% tags=["nbval-check-output"]
ORDER = [n for n in ["dcd", "inb", "avg_rank", "random", "oracle_sim",
                     "modelgpt_lite"] if n in results]
ordered = [results[n] for n in ORDER]
print(harness.compare(ordered, ["r5", "tau5", "ndcg5"]).to_string())

# %% [markdown]
# *Table: mean over the {glue:text}`ch6_n_datasets` held-out targets and 95% bootstrap interval;
# NDCG@5 uses the true accuracy as gain. `oracle_sim` reads each target's ground truth.*
#
# And the other three: NDCG@5 with the min-max normalised accuracy as gain (whose random floor is
# lower), Kendall's $\tau_b$ over the whole list, and the top-1 regret (accuracy lost by deploying
# the predicted best model; lower is better):

# %% tags=["nbval-check-output"]
print(harness.compare(ordered, ["ndcg5_minmax", "tau_b", "top1_regret"])
      .to_string())

# %% tags=["remove-input"]
summary = pd.concat({n: results[n].summary for n in ORDER},
                    names=["method", "metric"])
for (name, metric), row in summary.iterrows():
    key = f"ch6_{name}_{metric}"
    glue(key, float(row["mean"]), display=False)
    glue(f"{key}_lo", float(row["ci_low"]), display=False)
    glue(f"{key}_hi", float(row["ci_high"]), display=False)
n_gt = {n: int(results[n].per_target["uses_target_gt"].sum()) for n in ORDER}
glue("ch6_inb_n_gt", n_gt.get("inb", 0), display=False)
glue("ch6_oracle_n_gt", n_gt.get("oracle_sim", 0), display=False)

# %%
LABELS = metrics.metric_labels()
NAMES = {n: n for n in ORDER}
NAMES["oracle_sim"] = "oracle_sim (ORACLE)"
fig, axes = plt.subplots(2, 3, figsize=(7.5, 5.2), sharey=True)
fig.suptitle(f"{bench.name}, leave-one-dataset-out: means and 95% intervals")
for ax, metric in zip(axes.flat, LABELS):
    part = summary.xs(metric, level="metric").loc[ORDER]
    err = [part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]]
    for i, name in enumerate(ORDER):
        ax.errorbar(part["mean"].iloc[i], i,
                    xerr=[[err[0].iloc[i]], [err[1].iloc[i]]],
                    fmt=plotting.MARKERS[i], color=f"C{i}", capsize=2,
                    markersize=5)
    ax.set_xlabel(LABELS[metric])
    ax.set_yticks(range(len(ORDER)), [NAMES[n] for n in ORDER])
axes[0, 0].invert_yaxis()
for ax in axes[:, 0]:
    ax.set_ylabel("method")
glue("fig_ch6_metrics", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch6_metrics
# :name: fig-ch6-metrics
#
# Mean over the held-out targets (marker) and 95% bootstrap interval (bar) of each metric for DCD and
# the baselines. The oracle reads each target's ground truth; `random` is an exact expectation, whose
# interval comes only from the spread of the targets.
# ```
#
# Read the means against their intervals: with {glue:text}`ch6_n_datasets` targets the intervals are
# wide. DCD's mean NDCG@5 is {glue:text}`ch6_dcd_ndcg5:.3f`
# ([{glue:text}`ch6_dcd_ndcg5_lo:.3f`, {glue:text}`ch6_dcd_ndcg5_hi:.3f`]) against
# {glue:text}`ch6_avg_rank_ndcg5:.3f` for average rank and {glue:text}`ch6_inb_ndcg5:.3f` for INB;
# its $R_5$ is {glue:text}`ch6_dcd_r5:.3f` (average rank {glue:text}`ch6_avg_rank_r5:.3f`, INB
# {glue:text}`ch6_inb_r5:.3f`, random {glue:text}`ch6_random_r5:.3f`) and its full-list $\tau_b$
# {glue:text}`ch6_dcd_tau_b:.3f` (average rank {glue:text}`ch6_avg_rank_tau_b:.3f`, oracle
# {glue:text}`ch6_oracle_sim_tau_b:.3f`). As in {ref}`chapter 1 <ch-benchmarks>`, INB follows LOVM's convention and ranks the
# reference dataset by its own ground truth ({glue:text}`ch6_inb_n_gt` target flagged
# `uses_target_gt`); the oracle does so on all {glue:text}`ch6_oracle_n_gt` targets.
#
# ### Paired differences
#
# Two methods evaluated on the same targets are best compared target by target: the bootstrap of the
# *difference* resamples targets once for both, and a target that is hard for every method no longer
# widens the interval. We compare DCD with the two label-free baselines on the targets where no
# method reads its own ground truth (so the reference dataset is left out of the INB comparison).

# %% tags=["nbval-check-output"]
HEADLINE = ["r5", "tau5", "ndcg5", "tau_b"]


def verdict(lo, hi):
    """What a paired interval says, in words (for the prose)."""
    if lo > 0:
        return "lies above zero: on this benchmark DCD is better"
    if hi < 0:
        return "lies below zero: on this benchmark DCD is worse"
    return "contains zero: this benchmark cannot tell the two apart"


fair = [t for t in bench.datasets
        if not any(results[n].per_target.loc[t, "uses_target_gt"]
                   for n in ("dcd", "inb", "avg_rank") if n in results)]
rows = {}
for other in [n for n in ("avg_rank", "inb") if n in results]:
    for metric in HEADLINE:
        diff = (results["dcd"].per_target.loc[fair, metric]
                - results[other].per_target.loc[fair, metric]).to_numpy()
        mean, lo, hi = metrics.bootstrap_ci(diff, n_boot=N_BOOT, seed=SEED)
        wins = int((diff > 0).sum())
        losses = int((diff < 0).sum())
        rows[f"dcd - {other}", metric] = {
            "mean diff": mean, "95% interval": f"[{lo:+.3f}, {hi:+.3f}]",
            "dcd better": wins, "dcd worse": losses}
        glue(f"ch6_diff_{other}_{metric}", mean, display=False)
        glue(f"ch6_diff_{other}_{metric}_lo", lo, display=False)
        glue(f"ch6_diff_{other}_{metric}_hi", hi, display=False)
        glue(f"ch6_wins_{other}_{metric}", wins, display=False)
        glue(f"ch6_verdict_{other}_{metric}", verdict(lo, hi), display=False)
        glue(f"ch6_losses_{other}_{metric}", losses, display=False)
paired = pd.DataFrame.from_dict(rows, orient="index")
paired.index.names = ["comparison", "metric"]
glue("ch6_n_fair", len(fair), display=False)
print(paired.round(3).to_string())

# %% [markdown]
# *Table: mean over the {glue:text}`ch6_n_fair` targets where no method uses its own ground truth of
# the per-target difference DCD minus baseline, its 95% paired bootstrap interval, and the number of
# targets on which DCD is better or worse (the rest are ties).*
#
# Against average rank, the method it refines, DCD's NDCG@5 differs by
# {glue:text}`ch6_diff_avg_rank_ndcg5:+.3f` ([{glue:text}`ch6_diff_avg_rank_ndcg5_lo:+.3f`,
# {glue:text}`ch6_diff_avg_rank_ndcg5_hi:+.3f`]; the interval
# {glue:text}`ch6_verdict_avg_rank_ndcg5`); it is better on {glue:text}`ch6_wins_avg_rank_ndcg5`
# targets and worse on {glue:text}`ch6_losses_avg_rank_ndcg5`. Its $\tau_b$ differs by
# {glue:text}`ch6_diff_avg_rank_tau_b:+.3f` ([{glue:text}`ch6_diff_avg_rank_tau_b_lo:+.3f`,
# {glue:text}`ch6_diff_avg_rank_tau_b_hi:+.3f`]; the interval {glue:text}`ch6_verdict_avg_rank_tau_b`).
# Against INB the NDCG@5 difference is {glue:text}`ch6_diff_inb_ndcg5:+.3f`
# ([{glue:text}`ch6_diff_inb_ndcg5_lo:+.3f`, {glue:text}`ch6_diff_inb_ndcg5_hi:+.3f`]; the interval
# {glue:text}`ch6_verdict_inb_ndcg5`). An interval that contains zero means that the benchmark cannot
# tell two methods apart, not that they are equal.
#
# ### Top-1 regret: the model you would deploy
#
# NDCG@5 judges the top five; a user deploys one model. The top-1 regret (true accuracy of the best
# model minus that of the model ranked first) compares the two methods' first choices, target by
# target:

# %% tags=["nbval-check-output"]
regret = pd.DataFrame({n: results[n].per_target.loc[fair, "top1_regret"]
                       for n in ("dcd", "inb", "avg_rank") if n in results})
regret_cmp = {}
for other in [n for n in ("inb", "avg_rank") if n in regret]:
    d = (regret["dcd"] - regret[other]).to_numpy()  # < 0: DCD's pick is better
    mean, lo, hi = metrics.bootstrap_ci(d, n_boot=N_BOOT, seed=SEED)
    regret_cmp[f"dcd - {other}"] = {
        "mean diff": mean, "95% interval": f"[{lo:+.3f}, {hi:+.3f}]",
        "baseline better": int((d > 0).sum()), "dcd better": int((d < 0).sum())}
    glue(f"ch6_regret_diff_{other}", mean, display=False)
    glue(f"ch6_regret_diff_{other}_lo", lo, display=False)
    glue(f"ch6_regret_diff_{other}_hi", hi, display=False)
    glue(f"ch6_regret_{other}_better", int((d > 0).sum()), display=False)
    glue(f"ch6_regret_dcd_better_{other}", int((d < 0).sum()), display=False)
print(pd.DataFrame.from_dict(regret_cmp, orient="index").round(3).to_string())

# %% [markdown]
# *Table: mean over the {glue:text}`ch6_n_fair` targets where no method uses its own ground truth of
# the per-target top-1 regret of DCD minus that of INB or average rank (negative: DCD's first choice
# is better), its 95% paired bootstrap interval, and on how many targets the baseline's or DCD's
# first choice is better (the rest are ties).*
#
# INB's first choice is better than DCD's on {glue:text}`ch6_regret_inb_better` of the
# {glue:text}`ch6_n_fair` targets and worse on {glue:text}`ch6_regret_dcd_better_inb`; the mean
# regret is {glue:text}`ch6_inb_top1_regret:.3f` for INB and {glue:text}`ch6_dcd_top1_regret:.3f` for
# DCD.
#
# ### Against chance: the permutation null
#
# A small gain over average rank could come from *any* non-uniform weights. The
# {term}`permutation null` asks whether DCD's weights are better than weights of the same shape given
# to the wrong sources: for every target and model it shuffles the model's divergences over the
# sources `N_NULL` times, recomputes the softmin and the scores, and evaluates the metrics
# (`vlmsel.evaluation.null.permutation_null`). The p-value is the share of shuffles that do at least
# as well as DCD (one-sided).

# %% tags=["nbval-check-output"]
perm = permutation_null(bench, methods["dcd"], n_shuffles=N_NULL,
                        seed=SEED)
perm_table = perm.summary()
for metric, row in perm_table.iterrows():
    glue(f"ch6_null_{metric}_p", float(row["p"]), display=False)
    glue(f"ch6_null_{metric}_mean", float(row["null_mean"]), display=False)
glue("ch6_n_null", perm.n, display=False)
print(perm_table.round(3).to_string())

# %% [markdown]
# *Table: DCD's mean metric over the {glue:text}`ch6_n_datasets` targets (`observed`), the mean and
# standard deviation of the same mean under {glue:text}`ch6_n_null` shuffles of each model's
# divergences, the share of shuffles at least as good, and the permutation p-value (for top-1 regret,
# lower is better).*
#
# Shuffled weights give a mean NDCG@5 of {glue:text}`ch6_null_ndcg5_mean:.3f` against DCD's
# {glue:text}`ch6_dcd_ndcg5:.3f` (p = {glue:text}`ch6_null_ndcg5_p:.3f`), and a mean $R_5$ of
# {glue:text}`ch6_null_r5_mean:.3f` against {glue:text}`ch6_dcd_r5:.3f` (p =
# {glue:text}`ch6_null_r5_p:.3f`). The null tests the *choice* of sources, not the size of the
# gain: weights can be better than chance and still add little to average rank.
#
# ## Target by target
#
# Means hide the targets. Below, DCD, INB and average rank on every held-out dataset. Datasets on
# which even the best model stays below `NEAR_CHANCE_RATIO` times chance accuracy are starred: there
# the true ranking is mostly noise ({ref}`chapter 1 <ch-benchmarks>`), and no method can be expected to recover it.

# %%
def n_classes(dataset):
    """Number of classes of a benchmark dataset (mini task or LOVM)."""
    if bench.name == "mini":
        from vlmsel.mini.tasks import get_task

        return get_task(dataset).n_classes
    return len(lovm_classnames(dataset))


chance = pd.Series({d: 1.0 / n_classes(d) for d in bench.datasets})
near_chance = wide.max() < NEAR_CHANCE_RATIO * chance
COMPARED = [n for n in ("dcd", "inb", "avg_rank") if n in results]
per_target = pd.concat({n: results[n].per_target for n in COMPARED},
                       axis=1)
label = {t: t + (" *" if near_chance[t] else "") for t in bench.datasets}
order = (per_target["dcd", "ndcg5"] - per_target["avg_rank", "ndcg5"]
         ).sort_values().index
fig, axes = plt.subplots(1, 2, figsize=(7.5, 0.32 * n_datasets + 1.8),
                         sharey=True)
for ax, metric in zip(axes, ("ndcg5", "tau_b")):
    for i, name in enumerate(COMPARED):
        ax.plot(per_target.loc[order, (name, metric)], range(len(order)),
                plotting.MARKERS[i], color=f"C{i}", label=name,
                markersize=6, alpha=0.85)
    ax.set_xlabel(LABELS[metric])
    ax.set_yticks(range(len(order)), [label[t] for t in order])
axes[0].set_ylabel("held-out target (* near chance)")
axes[0].set_title("per target")
axes[1].axvline(0, color="black", linewidth=0.8)
handles, names = axes[0].get_legend_handles_labels()
fig.legend(handles, names, loc="outside lower center", ncols=len(names))
glue("ch6_n_near_chance", int(near_chance.sum()), display=False)
glue("fig_ch6_per_target", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch6_per_target
# :name: fig-ch6-per-target
#
# NDCG@5 (left) and Kendall's $\tau_b$ (right) of DCD, INB and average rank on every held-out target,
# sorted by DCD's NDCG@5 gain over average rank (targets at the top are where DCD loses most). A star
# marks the {glue:text}`ch6_n_near_chance` target(s) where the best model is below
# {glue:text}`ch6_near_ratio` times chance.
# ```
#
# ## Where it fails
#
# DCD *is* average rank with non-uniform weights, so every difference from average rank comes from
# the weights: DCD loses when they favour the wrong sources (sources whose ranking of the zoo
# disagrees with the target's), or favour them for the wrong models. We can check both after the
# fact. For every target, the weights $\alpha_m(S \mid T)$ of every model
# come from the profiles alone; the true agreement of each source with the target, Kendall's
# $\tau(S, T)$ between their two columns of accuracies, comes from the ground truth and is used here
# **only to diagnose**, never to predict. Averaging the weights over the models (a simplification:
# each model has its own), the *weighted agreement* of DCD's sources is
# $\bar\tau_{\mathrm{DCD}}(T) = \sum_S \bar\alpha(S \mid T)\, \tau(S, T)$, to be compared with the plain
# mean over sources, $\bar\tau_{\mathrm{uniform}}(T)$, that average rank gets.

# %% tags=["hide-input"]
glue("ch6_near_ratio", NEAR_CHANCE_RATIO, display=False)
d_all = scoring.dataset_divergences(profiles, eta=ETA)  # (M, D, D) label-free
not_self = ~np.eye(n_datasets, dtype=bool)[None]
alpha_all = similarity.softmin_weights(d_all, GAMMA, valid=not_self)
alpha_mean = pd.DataFrame(alpha_all.mean(axis=0), index=bench.datasets,
                          columns=bench.datasets)  # [source, target]
tau = wide.corr(method="kendall")  # diagnosis only: uses every target
agreement = pd.DataFrame({
    "tau_dcd": [(alpha_mean[t].drop(t) * tau[t].drop(t)).sum()
                for t in bench.datasets],
    "tau_uniform": [tau[t].drop(t).mean() for t in bench.datasets],
    "tau_best_source": [tau[t].drop(t).max() for t in bench.datasets],
}, index=bench.datasets)
agreement["gain"] = agreement["tau_dcd"] - agreement["tau_uniform"]
ndcg_gain = per_target["dcd", "ndcg5"] - per_target["avg_rank", "ndcg5"]
tau_b_gain = per_target["dcd", "tau_b"] - per_target["avg_rank", "tau_b"]
rho_ndcg = spearmanr(agreement["gain"], ndcg_gain).statistic
rho_tau_b = spearmanr(agreement["gain"], tau_b_gain).statistic


def describe(rho):
    """Words for a rank correlation (for the prose)."""
    if not np.isfinite(rho):
        return "undefined"
    size = ("no clear" if abs(rho) < 0.3 else
            "a moderate" if abs(rho) < 0.6 else "a strong")
    sign = "" if abs(rho) < 0.3 else (
        " positive" if rho > 0 else " negative")
    return f"{size}{sign}"


glue("ch6_rho_words", describe(rho_ndcg), display=False)
glue("ch6_rho_ndcg", float(rho_ndcg), display=False)
glue("ch6_rho_tau_b", float(rho_tau_b), display=False)
glue("ch6_n_agreement_up", int((agreement["gain"] > 0).sum()),
     display=False)

# %%
# Check one entry against the library's own DcdMethod weights path.
t0 = bench.datasets.index(target)
np.testing.assert_allclose(
    alpha_all[:, [bench.datasets.index(s) for s in sources], t0],
    alpha.to_numpy(dtype=float), rtol=1e-8)
fig, axes = plt.subplots(1, 2, figsize=(7.5, 4.4))
for ax, gain, what in ((axes[0], ndcg_gain, "NDCG@5"),
                       (axes[1], tau_b_gain, "tau-b")):
    ax.scatter(agreement["gain"], gain, color="C0", s=14)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("weighted minus uniform source agreement (tau)")
    ax.set_ylabel(f"DCD minus avg_rank, {what}")
fig.suptitle("Gain over average rank against the quality of the weights")
for ax, gain in ((axes[0], ndcg_gain), (axes[1], tau_b_gain)):
    plotting.annotate_points(ax, agreement["gain"].to_numpy(),
                             gain[agreement.index].to_numpy(),
                             list(agreement.index), fontsize=7)
glue("fig_ch6_agreement", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch6_agreement
# :name: fig-ch6-agreement
#
# For every held-out target (one point), how much more the sources DCD leans on agree with the
# target's true ranking than the average source does (x, Kendall's $\tau$; right of zero = DCD picked
# better-than-average sources), against DCD's gain over average rank in NDCG@5 (left) and in $\tau_b$
# (right).
# ```
#
# DCD's weights favour sources that agree better than average with the target on
# {glue:text}`ch6_n_agreement_up` of the {glue:text}`ch6_n_datasets` targets. The rank correlation
# across targets between that weight quality and DCD's gain over average rank is
# {glue:text}`ch6_rho_ndcg:.2f` for NDCG@5 and {glue:text}`ch6_rho_tau_b:.2f` for $\tau_b$: with
# {glue:text}`ch6_n_datasets` targets, {glue:text}`ch6_rho_words` association. The summary is
# coarse (the models' own weights differ, and $\tau$ over the whole zoo says little about its top
# five), so let us look at the target where DCD loses most.

# %%
worst = ndcg_gain.idxmin()
srcs = [s for s in bench.datasets if s != worst]
w_idx = bench.datasets.index(worst)
alpha_worst = pd.DataFrame(
    alpha_all[:, [bench.datasets.index(s) for s in srcs], w_idx],
    index=bench.models, columns=srcs)
lean = alpha_mean[worst].drop(worst).sort_values(ascending=False)
tau_worst = tau[worst].drop(worst)
glue("ch6_worst", worst, display=False)
glue("ch6_worst_ndcg_gain", float(ndcg_gain[worst]), display=False)
glue("ch6_worst_top_source", lean.index[0], display=False)
glue("ch6_worst_top_weight", float(lean.iloc[0]), display=False)
glue("ch6_worst_top_tau", float(tau_worst[lean.index[0]]), display=False)
glue("ch6_worst_best_source", tau_worst.idxmax(), display=False)
glue("ch6_worst_best_tau", float(tau_worst.max()), display=False)
glue("ch6_worst_best_weight", float(lean[tau_worst.idxmax()]),
     display=False)
glue("ch6_worst_uniform", 1.0 / len(srcs), display=False)
glue("ch6_worst_tau_dcd", float(agreement.loc[worst, "tau_dcd"]),
     display=False)
glue("ch6_worst_tau_uniform", float(agreement.loc[worst, "tau_uniform"]),
     display=False)

fig = plt.figure(figsize=(7.5, 0.3 * n_models + 3.4))
grid = fig.add_gridspec(2, 2, height_ratios=[1, 3.2], width_ratios=[30, 1])
ax_tau = fig.add_subplot(grid[0, 0])
ax_alpha = fig.add_subplot(grid[1, 0], sharex=ax_tau)
sns.heatmap(alpha_worst, ax=ax_alpha, cbar_ax=fig.add_subplot(grid[1, 1]),
            vmin=0.0, cmap="mako_r",
            cbar_kws={"label": "weight alpha_m(S | T)"})
ax_tau.bar(np.arange(len(srcs)) + 0.5, tau_worst[srcs], color="C1")
ax_tau.axhline(0, color="black", linewidth=0.8)
ax_tau.tick_params(axis="x", labelbottom=False)
ax_tau.set_ylabel(f"tau(S, {worst})")
ax_tau.set_title(f"Target {worst}: true agreement (top), DCD weights (bottom)")
ax_alpha.set_xlabel("source S")
ax_alpha.set_ylabel("model")
ax_alpha.tick_params(axis="both", labelsize=7)
glue("fig_ch6_worst", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch6_worst
# :name: fig-ch6-worst
#
# The held-out target where DCD loses most to average rank. Top: Kendall's $\tau$ between each
# source's ranking of the zoo and the target's true ranking (ground truth, for diagnosis only).
# Bottom: every model's DCD weights over the same sources (label-free). A good weighting would put its
# mass under the tall bars.
# ```
#
# On {glue:text}`ch6_worst` (NDCG@5 {glue:text}`ch6_worst_ndcg_gain:+.3f` against average rank),
# the models lean, on average, most on {glue:text}`ch6_worst_top_source` (mean weight
# {glue:text}`ch6_worst_top_weight:.2f`, against {glue:text}`ch6_worst_uniform:.2f` for uniform
# weights), whose true agreement with the target is $\tau$ = {glue:text}`ch6_worst_top_tau:.2f`. The
# source that agrees best, {glue:text}`ch6_worst_best_source` ($\tau$ =
# {glue:text}`ch6_worst_best_tau:.2f`), gets a mean weight of
# {glue:text}`ch6_worst_best_weight:.2f`. Altogether the weighted agreement of DCD's sources is
# {glue:text}`ch6_worst_tau_dcd:.2f` against {glue:text}`ch6_worst_tau_uniform:.2f` for uniform
# weights.
#
# Mean weights hide the model-specific part. Each model's score moves away from its average-rank
# score by $\Delta_m = \hat s_m - \bar u_m = \sum_S (\alpha_m(S \mid T) - 1/|\mathcal S|)\, u_m(S)$:
# up when the model leans on sources where it ranks high, down otherwise. Because every model has
# its own weights, DCD can lift a model simply because *its* profiles favour its own strong sources.
# Here is that shift for every model on the worst target, models in their true order:

# %%
u_worst = aggregation.utilities(wide[srcs].to_numpy())
shift = pd.Series(((alpha_worst.to_numpy() - 1.0 / len(srcs)) * u_worst)
                  .sum(axis=1), index=bench.models)
true_worst = wide[worst].sort_values(ascending=False)
dcd_rank = results["dcd"].predictions[worst].rank(ascending=False,
                                                   method="min")
avg_rank_rank = results["avg_rank"].predictions[worst].rank(
    ascending=False, method="min")
top_true = true_worst.index[:5]
fig, ax = plt.subplots(figsize=(7.0, 0.28 * n_models + 1.4))
colours = ["C2" if m in top_true else "C7" for m in true_worst.index]
ax.barh(range(n_models), shift[true_worst.index], color=colours)
ax.set_yticks(range(n_models), [
    f"{m} ({int(avg_rank_rank[m])} -> {int(dcd_rank[m])})"
    for m in true_worst.index], fontsize=7)
ax.invert_yaxis()
ax.axvline(0, color="black", linewidth=0.8)
ax.set_xlabel("score shift Delta_m = DCD score - average-rank score")
ax.set_ylabel("model, best first (rank: avg_rank -> DCD)")
ax.set_title(f"Target {worst}: how DCD's weights moved each model")
best_model = true_worst.index[0]
glue("ch6_worst_best_model", best_model, display=False)
glue("ch6_worst_best_avg_rank", int(avg_rank_rank[best_model]),
     display=False)
glue("ch6_worst_best_dcd_rank", int(dcd_rank[best_model]), display=False)
glue("ch6_worst_top5_shift", float(shift[top_true].mean()), display=False)
glue("ch6_worst_rest_shift", float(shift.drop(top_true).mean()),
     display=False)
glue("fig_ch6_shift", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch6_shift
# :name: fig-ch6-shift
#
# On the worst target, the shift of every model's predicted score from average rank to DCD (green: the
# true top five; grey: the rest), models sorted by true accuracy; in brackets the model's predicted
# rank under average rank and under DCD.
# ```
#
# The true best model, {glue:text}`ch6_worst_best_model`, is ranked
# {glue:text}`ch6_worst_best_avg_rank` by average rank and {glue:text}`ch6_worst_best_dcd_rank` by
# DCD. On average the true top five shift by {glue:text}`ch6_worst_top5_shift:+.3f` and the other
# models by {glue:text}`ch6_worst_rest_shift:+.3f`. The largest promotion of a model outside the
# true top five is {glue:text}`ch6_jump_model`'s, {glue:text}`ch6_jump_shift:+.3f`, from rank
# {glue:text}`ch6_jump_from` to {glue:text}`ch6_jump_to` (true rank {glue:text}`ch6_jump_true`): it
# puts a weight of {glue:text}`ch6_jump_weight:.2f` on the single source
# {glue:text}`ch6_jump_source`.
#
# ### Model-specific weights, model-specific noise
#
# That last observation generalises. A model that spreads its weight over many sources keeps close to
# its average-rank score; a model that concentrates its weight on one or two sources gets the
# utility of those sources, whatever it is. The *effective number of sources*
# $1 / \sum_S \alpha_m(S \mid T)^2$ measures the concentration (all
# {glue:text}`ch6_n_sources` sources for uniform weights, 1 for a single source). Over every
# (model, target) pair (`vlmsel.method.diagnostics.effective_sources`):

# %%
eff_rows = []
for i, t in enumerate(bench.datasets):
    src_idx = [j for j in range(n_datasets) if j != i]
    a_t = alpha_all[:, src_idx, i]  # (M, S)
    u_t = aggregation.utilities(wide.iloc[:, src_idx].to_numpy())
    delta = ((a_t - 1.0 / len(src_idx)) * u_t).sum(axis=1)
    n_eff = diagnostics.effective_sources(a_t, axis=1)  # (M,)
    for m, model in enumerate(bench.models):
        eff_rows.append({"model": model, "target": t,
                         "effective sources": n_eff[m],
                         "|shift|": abs(delta[m])})
eff = pd.DataFrame(eff_rows)
eff["family"] = bench.model_info["family"].reindex(eff["model"]).to_numpy()
rho_eff = spearmanr(eff["effective sources"], eff["|shift|"]).statistic
per_model_eff = eff.groupby("model")["effective sources"].median()
glue("ch6_rho_eff", float(rho_eff), display=False)
glue("ch6_eff_min_model", per_model_eff.idxmin(), display=False)
glue("ch6_eff_min", float(per_model_eff.min()), display=False)
glue("ch6_eff_max_model", per_model_eff.idxmax(), display=False)
glue("ch6_eff_max", float(per_model_eff.max()), display=False)
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for j, (fam, part) in enumerate(eff.groupby("family")):
    ax.scatter(part["effective sources"], part["|shift|"], s=14,
               marker=plotting.MARKERS[j], color=f"C{j}", label=fam,
               alpha=0.75)
ax.set_xlabel("effective number of sources, 1 / sum_S alpha^2")
ax.set_ylabel("|score shift| from average rank")
ax.set_title("Weight concentration and score shift")
ax.legend(title="model family")
glue("fig_ch6_ranking", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch6_ranking
# :name: fig-ch6-ranking
#
# For every (model, held-out target) pair, the effective number of sources of the model's DCD weights
# against the size of the shift they cause in its score, by model family.
# ```
#
# The rank correlation is {glue:text}`ch6_rho_eff:.2f`. The median effective number of sources
# ranges from {glue:text}`ch6_eff_min:.1f` for {glue:text}`ch6_eff_min_model` to
# {glue:text}`ch6_eff_max:.1f` for {glue:text}`ch6_eff_max_model`: some models see sharp
# differences between the tasks' importances and others hardly any, so DCD effectively re-ranks only
# the former, each by the few sources it singled out. Whether those few sources are a good guide is
# the question of the next section.

# %% tags=["remove-input"]
jump = shift.drop(top_true).idxmax()
jump_source = alpha_worst.loc[jump].idxmax()
glue("ch6_jump_model", jump, display=False)
glue("ch6_jump_shift", float(shift[jump]), display=False)
glue("ch6_jump_from", int(avg_rank_rank[jump]), display=False)
glue("ch6_jump_to", int(dcd_rank[jump]), display=False)
glue("ch6_jump_true", int(true_worst.rank(ascending=False,
                                          method="min")[jump]),
     display=False)
glue("ch6_jump_source", jump_source, display=False)
glue("ch6_jump_weight", float(alpha_worst.loc[jump, jump_source]),
     display=False)

# %% [markdown]
# ### Signal or noise?
#
# Are those weights a statement about the tasks at all? The split-half diagnostic of the method
# page ({ref}`method-protocol`; {ref}`chapter 5 <ch-dcd>`) compares a
# divergence between two tasks with the divergence between two random halves of *one* task's
# images: a source whose DCD to the target is no larger than that split-half null is, as far as 25
# images can tell, indistinguishable from the target itself. (The null is conservative: two halves of
# about 12 images are noisier than two samples of 25.) For every target and model we draw
# `N_SPLITS` random halves of the target's images, take the 95% quantile of their DCD, and count the
# sources whose DCD exceeds it. `vlmsel.method.diagnostics.split_half_divergences` computes the
# DCDs between the halves of every pair of tasks for one model; its diagonal is the null.

# %% tags=["hide-input"]
rng = np.random.default_rng(SEED)
null_q95 = pd.DataFrame(index=bench.models, columns=bench.datasets,
                        dtype=float)
for m in bench.models:
    halves = diagnostics.split_half_divergences(
        [store.block_scalars(m, t, "abs", N_IMAGES) for t in bench.datasets],
        N_SPLITS, rng, eta=ETA)  # (splits, T, T): half A of s -> half B of t
    null = np.diagonal(halves, axis1=1, axis2=2)  # (splits, T)
    null_q95.loc[m] = np.quantile(null, 0.95, axis=0)
# share of (model, source) pairs whose DCD to the target beats the null
above = pd.Series({
    t: float(np.mean(d_all[:, [j for j in range(n_datasets) if j != i], i]
                     > null_q95[t].to_numpy()[:, None]))
    for i, t in enumerate(bench.datasets)})
glue("ch6_above_worst", float(above[worst]), display=False)
glue("ch6_above_median", float(above.median()), display=False)
rho_above = spearmanr(above, ndcg_gain).statistic
glue("ch6_rho_above", float(rho_above), display=False)

# %% [markdown]
# Only sources whose DCD clears the null carry information about the target; if few do, the softmin
# spreads its weight by noise. The table lists every target where DCD is worse than average rank on
# NDCG@5:

# %% tags=["nbval-check-output"]
losers = ndcg_gain[ndcg_gain < 0].sort_values().index
failures = pd.DataFrame({
    "NDCG@5 vs avg_rank": ndcg_gain[losers],
    "top source (weight)": [
        f"{alpha_mean[t].drop(t).idxmax()} "
        f"({alpha_mean[t].drop(t).max():.2f})" for t in losers],
    "its tau": [tau.loc[alpha_mean[t].drop(t).idxmax(), t] for t in losers],
    "best source (tau)": [f"{tau[t].drop(t).idxmax()} "
                          f"({tau[t].drop(t).max():.2f})" for t in losers],
    "above null": above[losers],
    "near chance": near_chance[losers],
})
glue("ch6_n_losers", len(losers), display=False)
print(failures.round(3).to_string())

# %% [markdown]
# *Table: the targets where DCD's NDCG@5 is below average rank's, worst first: the source with the
# largest mean DCD weight and its true agreement $\tau$ with the target, the source that truly agrees
# best, the share of (model, source) DCDs above the split-half null's 95% quantile, and whether the
# target is near chance.*
#
# DCD loses to average rank on {glue:text}`ch6_n_losers` of the {glue:text}`ch6_n_datasets`
# targets. On the worst one, {glue:text}`ch6_worst_above_pct` of the source divergences clear the
# split-half null (median over targets: {glue:text}`ch6_above_median_pct`); the rank correlation
# across targets between that share and DCD's NDCG@5 gain is {glue:text}`ch6_rho_above:.2f`.
#
# Three failure modes are worth telling apart, and the diagnostics above separate them:
#
# - **noise**: where few divergences clear the null, the profiles of 25 images cannot separate the
#   target from its sources, and the softmin turns sampling noise into weights. More images (chapter
#   7 varies $N$) or a smaller $\gamma$ might help;
# - **concentration**: models whose importances differ sharply between tasks get concentrated
#   weights and large score shifts, models with flat importances get none; a few models are then
#   re-ranked by one or two sources each, which is a high-variance bet;
# - **the objective**: where divergences do clear the null, DCD *is* seeing a real difference
#   between the tasks' images, but tasks whose images look alike to a model's blocks need not be the
#   tasks on which the zoo ranks alike. The label-free objective $\lVert f(x) \rVert$ sees the
#   images, not the labels ({ref}`chapter 3 <ch-clip-encoder>`): two tasks with similar images and different questions look
#   the same to it.

# %% tags=["remove-input"]
glue("ch6_worst_above_pct", f"{above[worst]:.0%}", display=False)
glue("ch6_above_median_pct", f"{above.median():.0%}", display=False)

# %% tags=["remove-input"]
# The conclusions in words, from the numbers (so that they follow the numbers).
d_avg = results["dcd"].mean("ndcg5") - results["avg_rank"].mean("ndcg5")
gap = results["oracle_sim"].mean("ndcg5") - results["avg_rank"].mean("ndcg5")
closed = d_avg / gap if gap > 0 else float("nan")
lo_avg = metrics.bootstrap_ci(
    (results["dcd"].per_target.loc[fair, "ndcg5"]
     - results["avg_rank"].per_target.loc[fair, "ndcg5"]).to_numpy(),
    n_boot=N_BOOT, seed=SEED)[1]
glue("ch6_c_gap_closed", f"{closed:.0%}", display=False)
glue("ch6_c_avg", (
    ("is better, but barely" if closed < 1 / 3 else "is clearly better")
    if lo_avg > 0 else
    "is not distinguishable from it" if d_avg >= 0 else "is worse"),
    display=False)
d_inb = paired.loc[("dcd - inb", "ndcg5"), "mean diff"]
lo_inb = metrics.bootstrap_ci(
    (results["dcd"].per_target.loc[fair, "ndcg5"]
     - results["inb"].per_target.loc[fair, "ndcg5"]).to_numpy(),
    n_boot=N_BOOT, seed=SEED)[1]
glue("ch6_c_inb", (
    "DCD has the higher NDCG@5, within the noise" if d_inb > 0 and
    lo_inb <= 0 else
    "DCD has the higher NDCG@5" if d_inb > 0 else
    "DCD has the lower NDCG@5"), display=False)
inb_wins = regret_cmp["dcd - inb"]["baseline better"]
glue("ch6_c_regret", (
    "On the metric a single deployment feels, INB is the better method."
    if inb_wins > regret_cmp["dcd - inb"]["dcd better"] else
    "On top-1 regret DCD is at least as good."), display=False)
beats_null = perm.p_value("ndcg5") < 0.05
glue("ch6_c_null", ("is better than chance" if beats_null
                    else "is not distinguishable from chance"),
     display=False)
glue("ch6_c_null_meaning", (
    "The weights carry *some* information about the target; they carry too little to move the "
    "ranking far from average rank." if beats_null else
    "Weights shuffled over the sources rank the zoo about as well: whatever the weights know "
    "about the target does not reach the ranking."), display=False)
glue("ch6_c_short", (
    "a small, real refinement of average rank, not a new level of accuracy" if lo_avg > 0 else
    "not distinguishable from average rank, the baseline it refines"), display=False)
glue("ch6_c_short_inb", (
    "a user who cares about the single model deployed does as well with INB"
    if inb_wins > regret_cmp["dcd - inb"]["dcd better"] else
    "on the single model deployed it is at least as good as INB"), display=False)

# %% [markdown]
# (ranking-conclusions)=
# ## What this chapter concludes
#
# The numbers above, read as answers. On the {glue:text}`ch6_world_label` ({glue:text}`ch6_n_models`
# models, {glue:text}`ch6_n_datasets` held-out targets):
#
# - **Against average rank, the baseline it refines, DCD {glue:text}`ch6_c_avg`.** Its mean NDCG@5
#   is {glue:text}`ch6_dcd_ndcg5:.3f` against {glue:text}`ch6_avg_rank_ndcg5:.3f`: a paired difference
#   of {glue:text}`ch6_diff_avg_rank_ndcg5:+.3f` ([{glue:text}`ch6_diff_avg_rank_ndcg5_lo:+.3f`,
#   {glue:text}`ch6_diff_avg_rank_ndcg5_hi:+.3f`]), which closes {glue:text}`ch6_c_gap_closed` of the
#   gap between average rank and the oracle ({glue:text}`ch6_oracle_sim_ndcg5:.3f`). It is better on
#   {glue:text}`ch6_wins_avg_rank_ndcg5` targets and worse on {glue:text}`ch6_losses_avg_rank_ndcg5`.
# - **Against INB, {glue:text}`ch6_c_inb`.** The NDCG@5 difference is
#   {glue:text}`ch6_diff_inb_ndcg5:+.3f` ([{glue:text}`ch6_diff_inb_ndcg5_lo:+.3f`,
#   {glue:text}`ch6_diff_inb_ndcg5_hi:+.3f`]), but the model each would deploy tells another story:
#   INB's first choice is better on {glue:text}`ch6_regret_inb_better` of {glue:text}`ch6_n_fair`
#   targets, and its mean top-1 regret is {glue:text}`ch6_inb_top1_regret:.3f` against DCD's
#   {glue:text}`ch6_dcd_top1_regret:.3f`. {glue:text}`ch6_c_regret`
# - **Against chance, DCD's choice of sources {glue:text}`ch6_c_null`**: p =
#   {glue:text}`ch6_null_ndcg5_p:.3f` for NDCG@5 and {glue:text}`ch6_null_r5_p:.3f` for $R_5$ under
#   {glue:text}`ch6_n_null` shuffles. {glue:text}`ch6_c_null_meaning`
# - **Where it fails, and why.** DCD loses to average rank on {glue:text}`ch6_n_losers` targets. Its
#   weights favour better-than-average sources on {glue:text}`ch6_n_agreement_up` of
#   {glue:text}`ch6_n_datasets` targets, a median of {glue:text}`ch6_above_median_pct` of the source
#   divergences clear the split-half noise of 25 images, and the few models with concentrated
#   weights are re-ranked by one or two sources each. The objective sees images, not labels: tasks
#   that look alike to a model's blocks need not rank the zoo alike.
#
# In short: on this world the method is {glue:text}`ch6_c_short`, and {glue:text}`ch6_c_short_inb`.
# {ref}`The chapter "What should I use?" <ch-what-to-use>` sets it against cheaper signals. The paper
# reports much more; the table below sets its claims, the published anchors and this book's
# measurements side by side, each with its world.

# %% tags=["remove-input"]
lovm_inb = harness.evaluate(load_benchmark("lovm"), make_method("inb"),
                            n_boot=N_BOOT, seed=SEED)
world_mini = f"{world.label}: {n_models} models x {n_datasets} tasks"
measured = [
    {"who": f"{n} (this book)", "world": world_mini,
     **{k: results[n].mean(k) for k in ("ndcg5", "tau_b", "r5", "tau5")}}
    for n in ("dcd", "avg_rank", "inb", "random", "oracle_sim") if n in results]
measured.append({"who": "INB (this book, LOVM's table)",
                 "world": "LOVM: 35 models x 23 datasets",
                 **{k: lovm_inb.mean(k) for k in ("ndcg5", "tau_b", "r5", "tau5")}})
glue("ch6_claims", Markdown(claims_markdown(measured)), display=False)
glue("ch6_lovm_inb_r5", lovm_inb.mean("r5"), display=False)
glue("ch6_lovm_inb_tau5", lovm_inb.mean("tau5"), display=False)
glue("ch6_lovm_inb_ndcg5", lovm_inb.mean("ndcg5"), display=False)
for key, value in {**PAPER_CLAIM.values, **{
        f"lovm_{k}": v for k, v in LOVM_INB.values.items()}}.items():
    glue(f"ch6_paper_{key}", value, display=False)

# %% [markdown]
# (claims-table)=
# {glue:md}`ch6_claims`
#
# *Table: what the paper claims, what LOVM published for INB, and what this book measures, each row
# with the world it comes from. "tau" is Kendall's $\tau_b$ over the whole zoo for this book's rows;
# the paper does not say which tau it reports. Rows marked "quoted" are copied from the publications
# (`vlmsel.evaluation.published`); the others are computed on this page.*
#
# Three things to read in it. First, the paper's numbers come from a world this book cannot rebuild:
# its full text and code are not public, only its abstract and a summary of its results, so its
# 48 x 21 table, its SWAB comparison and its exact choices are unknown; every choice this project
# had to make is marked on the method page ({ref}`method-choices`). Second, the anchor that *can*
# be rerun is: INB on LOVM's own table gives $R_5$ = {glue:text}`ch6_lovm_inb_r5:.3f` and $\tau_5$ =
# {glue:text}`ch6_lovm_inb_tau5:.3f` here, against the published {glue:text}`ch6_paper_lovm_r5:.3f`
# and {glue:text}`ch6_paper_lovm_tau5:.3f` ({ref}`ch-benchmarks` does the same in detail). Third,
# NDCG@5 with accuracy as gain is not comparable across worlds: its random floor depends on how
# spread the accuracies are, so the paper's {glue:text}`ch6_paper_ndcg5:.3f` and the mini world's
# {glue:text}`ch6_dcd_ndcg5:.3f` measure different things. Within one world, the paired
# comparisons above are what counts.
#
# ## Discussion
#
# 1. DCD's weights beat shuffled weights, yet add little to average rank. How can both be true? What
#    would the two numbers look like for a method whose weights were perfect (the oracle)?
# 2. Average rank is hard to beat when one model is good everywhere. Is that a property of the mini
#    world, of LOVM, or of model zoos in general? What kind of zoo would favour a per-task method?
# 3. NDCG@5 rewards a good top five, top-1 regret a good first choice. Which would you report to a
#    user who deploys one model, and which to a user who will evaluate five?
# 4. The objective is the norm of the image embedding and sees no labels. Name two tasks on the same
#    images that no label-free similarity could tell apart. What would it take to separate them?

# %% tags=["remove-input"]
# The answers of the exercises (shown in their solutions).
conc = alpha_worst.max(axis=1)
glue("ch6_ex1_model", conc.idxmax(), display=False)
glue("ch6_ex1_family", str(bench.model_info["family"].get(conc.idxmax(), "?")),
     display=False)
glue("ch6_ex1_weight", float(conc.max()), display=False)
glue("ch6_ex1_source", alpha_worst.loc[conc.idxmax()].idxmax(), display=False)
glue("ch6_ex1_n_half", int((conc > 0.5).sum()), display=False)
z_res = harness.evaluate(bench, DcdMethod(profiles, eta=ETA, gamma=GAMMA,
                                          utility="zscore_acc"),
                         n_boot=100, seed=SEED)
glue("ch6_ex2_ndcg5", z_res.mean("ndcg5"), display=False)
glue("ch6_ex2_diff", z_res.mean("ndcg5") - results["dcd"].mean("ndcg5"),
     display=False)
w_or = np.exp(10 * tau[worst].drop(worst))
w_or /= w_or.sum()
glue("ch6_ex3_share", float(w_or.max()), display=False)
glue("ch6_ex3_source", w_or.idxmax(), display=False)
glue("ch6_ex3_dcd", float(alpha_mean[worst].drop(worst)[w_or.idxmax()]),
     display=False)
chance_set = list(near_chance[near_chance].index)
if chance_set:
    kept = [t for t in fair if t not in chance_set]
    d4 = (results["dcd"].per_target.loc[kept, "ndcg5"]
          - results["avg_rank"].per_target.loc[kept, "ndcg5"]).mean()
    ex4 = (f"Without the {len(chance_set)} near-chance target(s) "
           f"({', '.join(chance_set)}), DCD minus average rank is {d4:+.3f} in "
           f"NDCG@5 over {len(kept)} targets, against "
           f"{paired.loc[('dcd - avg_rank', 'ndcg5'), 'mean diff']:+.3f} with them.")
else:
    ex4 = ("No target of this world is near chance at the ratio "
           f"{NEAR_CHANCE_RATIO}, so nothing changes; raise NEAR_CHANCE_RATIO "
           "to try it.")
glue("ch6_ex4_answer", Markdown(ex4), display=False)

# %% [markdown]
# ## Summary
#
# - The predicted score of a model on a target is its rank-based utility on every source, averaged
#   with its own softmin weights over DCDs: $\hat s_m(T) = \sum_S \alpha_m(S \mid T)\, u_m(S)$;
#   uniform weights ($\gamma = 0$) give the average-rank baseline.
# - The scoring for one target fits in a few lines of numpy and agrees with
#   `vlmsel.method.scoring.dcd_scores` to floating-point precision; `DcdMethod` plugs it into the
#   leave-one-dataset-out harness, where the target's ground truth never reaches its prediction.
# - On the {glue:text}`ch6_world_label`, DCD's mean NDCG@5 is {glue:text}`ch6_dcd_ndcg5:.3f` against
#   {glue:text}`ch6_avg_rank_ndcg5:.3f` (average rank) and {glue:text}`ch6_inb_ndcg5:.3f` (INB). The
#   paired difference to average rank is {glue:text}`ch6_diff_avg_rank_ndcg5:+.3f`
#   ([{glue:text}`ch6_diff_avg_rank_ndcg5_lo:+.3f`, {glue:text}`ch6_diff_avg_rank_ndcg5_hi:+.3f`]),
#   an interval that {glue:text}`ch6_verdict_avg_rank_ndcg5`; INB's first choice is better than DCD's
#   on {glue:text}`ch6_regret_inb_better` of {glue:text}`ch6_n_fair` targets, and shuffled weights
#   do as well as DCD's in a share p = {glue:text}`ch6_null_ndcg5_p:.3f` of shuffles
#   ({ref}`ranking-conclusions`).
# - Where DCD loses, three diagnostics say why: which sources its weights favour and how those
#   agree with the target's true ranking, how the model-specific weights shift each model's score,
#   and whether the divergences rise above the split-half noise of the target's own images.
#
# ## Exercises
#
# 1. On the target where DCD loses most, which model puts the largest weight on a single source, of
#    which family, and how large is that weight? How many models put more than half of their weight
#    on one source?
# 2. Replace the rank utilities by z-scored accuracies (`utility="zscore_acc"` in `DcdMethod`). Does
#    DCD's mean NDCG@5 go up or down, and by how much? Why does a z-score weigh sources differently
#    from ranks?
# 3. Build the oracle's weights for the worst target by hand (softmax of $10\,\tau(S, T)$ over the
#    sources). What share of its weight goes to its single best source, and what mean weight does
#    DCD give that source?
# 4. Evaluate DCD and average rank without the near-chance targets (`exclude_targets=`). Does the
#    NDCG@5 difference between them change?
#
# ```{dropdown} Solutions
# 1. `alpha_worst.max(axis=1)` is each model's largest weight: on {glue:text}`ch6_worst` it is
#    largest for {glue:text}`ch6_ex1_model` (family {glue:text}`ch6_ex1_family`), with
#    {glue:text}`ch6_ex1_weight:.2f` on {glue:text}`ch6_ex1_source`;
#    {glue:text}`ch6_ex1_n_half` of the {glue:text}`ch6_n_models` models put more than half of
#    their weight on one source. A large single weight means that one source's DCD is well below
#    the others' for that model, a gap of a few times $1/\gamma$.
# 2. `harness.evaluate(bench, DcdMethod(profiles, utility="zscore_acc"))` gives a mean NDCG@5 of
#    {glue:text}`ch6_ex2_ndcg5:.3f` against {glue:text}`ch6_dcd_ndcg5:.3f` with ranks
#    ({glue:text}`ch6_ex2_diff:+.3f`). A z-score keeps the gaps between models: on a source where one
#    model is far ahead its utility stands out, and on a source where every model is near chance
#    the noise between them is blown up to the same scale as a real gap; ranks treat every step
#    alike.
# 3. `w = np.exp(10 * tau[worst].drop(worst)); w /= w.sum()`: the oracle gives
#    {glue:text}`ch6_ex3_share:.2f` of its weight to {glue:text}`ch6_ex3_source`, to which DCD's
#    models give a mean weight of {glue:text}`ch6_ex3_dcd:.2f` (uniform weights:
#    {glue:text}`ch6_worst_uniform:.2f`).
# 4. {glue:md}`ch6_ex4_answer`
# ```
#
# ## References
#
# The works cited in this chapter ({cite}`yang2026conductance,zohar2023lovm`) are listed with all
# others in the [bibliography](../book/bibliography.md).
