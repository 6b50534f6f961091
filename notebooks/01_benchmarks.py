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

# %% [markdown]
# (ch-benchmarks)=
# # 1. The model-selection problem and its benchmarks
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/01_benchmarks.ipynb)
#
# **What you will learn**
#
# - what "choosing a vision-language model for a task" means, and how a selection method is judged;
# - the three public ground-truth tables (LOVM, open_clip's published results, SWAB) and how to load them
#   with `vlmsel.data.benchmarks`;
# - why no single model wins everywhere, and which datasets no model solves at all;
# - how a predicted ranking is scored (LOVM's {term}`R5` and {term}`tau5`, {term}`NDCG@5`,
#   {term}`Kendall tau-b`, top-1 {term}`regret`), each
#   metric built by hand on a seven-model example and checked against `vlmsel.evaluation.metrics`;
# - how far the label-free baselines get (ImageNet accuracy, average rank, random) against an oracle,
#   evaluated {term}`leave-one-dataset-out` on `lovm` and `openclip48` with bootstrap intervals.

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
# Parameters (papermill); this chapter is cheap at any scale.
# The table explored in most detail: lovm | openclip48 | openclip121 | swab
BENCHMARK = "lovm"
METRIC = "acc1"  # lovm also has mean_per_class_recall
# "Near chance": the best model is below this multiple of chance accuracy.
NEAR_CHANCE_RATIO = 1.5
# Leave-one-dataset-out evaluation of the baselines (section "Baselines").
BASELINE_BENCHMARKS = ["lovm", "openclip48"]
BASELINES = ["random", "inb", "avg_rank", "oracle_sim"]
N_BOOT = 10_000  # bootstrap resamples of the targets for the 95% intervals
SEED = 0  # seed of the bootstrap

# %%
import itertools
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from myst_nb import glue
from scipy.stats import kendalltau
from sklearn.metrics import ndcg_score

from vlmsel import plotting
from vlmsel.data.benchmarks import load_benchmark
from vlmsel.data.lovm import lovm_classnames
from vlmsel.evaluation import harness, metrics
from vlmsel.evaluation.methods import make_method

plotting.use_style()

# %% [markdown]
# ## The problem
#
# A practitioner has a new image-classification task $T$ and a zoo $\mathcal{M}$ of pretrained
# CLIP-style models {cite}`radford2021clip,ilharco2021openclip`. Each model $m$ can classify $T$'s
# images zero-shot: it embeds every image and one text prompt per class name ("a photo of a {c}."), and
# predicts the class whose prompt is closest. Its accuracy $A_m(T)$ is what the practitioner cares about,
# but computing it needs labelled images of $T$ and a run of every model. A *model-selection method*
# predicts a score $\hat s_m(T)$ for every model from cheaper information, here a handful of unlabeled
# images, and ranks the zoo by it.
#
# How good is such a ranking? We need tasks whose true accuracies are known for every model: a
# **{term}`benchmark`**, a table of $A_m(t)$ for many models $m$ and datasets $t$. Each dataset in turn plays the
# new task (the *target*), its column is hidden, and the method's ranking is compared with the hidden
# column. The other datasets are *{term}`sources <source task>`*: tasks whose results the method may use.
#
# ## The ground-truth tables
#
# `vlmsel.data.benchmarks.load_benchmark` returns every table in the same shape: a `Benchmark` whose `wide`
# attribute is a models $\times$ datasets DataFrame. The tables come from public repositories (LOVM
# {cite}`zohar2023lovm`, open_clip {cite}`cherti2023reproducible`, SWAB {cite}`yi2024swab`); vlmsel
# downloads each file once from a pinned commit and checks its sha256 before using it.

# %% tags=["nbval-check-output"]
names = ["lovm", "openclip48", "openclip121", "swab"]
benchmarks = {name: load_benchmark(name) for name in names}
overview = pd.DataFrame(
    [
        {"benchmark": n, "models": b.shape[0], "datasets": b.shape[1],
         "metric": b.metric,
         "mean value": round(float(b.wide.mean().mean()), 3)}
        for n, b in benchmarks.items()
    ]
).set_index("benchmark")
print(overview.to_string())

# %% [markdown]
# LOVM's table is the reference of earlier work: 35 open_clip models (OpenAI CLIP, LAION ViTs, ConvNeXt,
# CoCa) on 23 datasets. open_clip's own published table covers 121 models, but only 20 of LOVM's datasets
# (diabetic retinopathy, DMLab and FER2013 are missing). `openclip48` is vlmsel's zoo: the 35 LOVM models
# plus 13 that add the families LOVM lacks (EVA, SigLIP, DFN, DataComp, MetaCLIP, CLIPA).

# %%
bench = load_benchmark(BENCHMARK, METRIC)
wide = bench.wide
for note in bench.notes:
    print(textwrap.fill(f"note: {note}", width=78, subsequent_indent="  "))
families = bench.model_info["family"].value_counts()
display(families.rename("models").to_frame())

# %% [markdown]
# ## Who wins where
#
# {numref}`fig-ch1-heatmap` shows every model's accuracy on every dataset of the chosen benchmark, models sorted by
# their mean accuracy. Bright rows are strong models; but a bright row is not bright everywhere.

# %%
order_models = wide.mean(axis=1).sort_values(ascending=False).index
order_sets = wide.mean(axis=0).sort_values(ascending=False).index
# One row of labels per model, at a size that fits the page without shrinking.
_, ax = plt.subplots(figsize=(7.5, 1.8 + 0.2 * len(order_models)))
ax = plotting.heatmap(
    wide.loc[order_models, order_sets], ax=ax,
    cbar_label=f"zero-shot {bench.metric}",
    title=f"{bench.name}: {wide.shape[0]} models x {wide.shape[1]} datasets",
)
glue("fig_ch1_heatmap", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch1_heatmap
# :name: fig-ch1-heatmap
#
# Zero-shot accuracy of every model (rows, strongest on average at the top) on every dataset (columns,
# easiest on the left) of the benchmark chosen in the parameters cell.
# ```
#
# How many different models are the best on at least one dataset?

# %%
winners = wide.idxmax(axis=0)
n_winners = winners.nunique()
glue("ch1_n_winners", int(n_winners), display=False)
glue("ch1_n_datasets", int(wide.shape[1]), display=False)
display(winners.value_counts().rename("datasets won").to_frame())

# %% [markdown]
# On this table, {glue:text}`ch1_n_winners` different models are the best on at least one of the
# {glue:text}`ch1_n_datasets` datasets. If one model won everywhere, selection would be trivial.
#
# ## The ImageNet baseline and its limits
#
# The simplest selection rule ignores the target altogether: rank every task by ImageNet zero-shot
# accuracy (LOVM calls it {term}`INB`). It works exactly as well as a dataset's ranking of the zoo agrees with
# ImageNet's. Kendall's $\tau$ {cite}`kendall1938tau` between two rankings counts concordant minus
# discordant pairs of models, normalised to $[-1, 1]$:

# %%
ref = bench.reference_dataset
tau_with_imagenet = wide.corr(method="kendall")[ref].drop(ref).sort_values()
height = 0.22 * len(tau_with_imagenet) + 1.2
ax = tau_with_imagenet.plot.barh(figsize=(6.5, height))
ax.set_xlabel(f"Kendall tau with the {ref} ranking")
ax.set_ylabel("dataset")
ax.set_title("How well ImageNet accuracy ranks each dataset's models")
ax.axvline(0, color="black", linewidth=0.8)
glue("ch1_tau_min_dataset", tau_with_imagenet.index[0], display=False)
glue("ch1_tau_min", float(tau_with_imagenet.iloc[0]), display=False)
glue("ch1_tau_median", float(tau_with_imagenet.median()), display=False)
glue("fig_ch1_imagenet_tau", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch1_imagenet_tau
# :name: fig-ch1-imagenet-tau
#
# Kendall's tau between each dataset's ranking of the models and the ImageNet ranking. Bars to the
# left of zero are datasets where a better ImageNet model tends to be a worse model.
# ```
#
# The median agreement is $\tau$ = {glue:text}`ch1_tau_median:.2f`, but on
# {glue:text}`ch1_tau_min_dataset` it is $\tau$ = {glue:text}`ch1_tau_min:.2f`: ImageNet accuracy
# points the wrong way. Those are the tasks where a selection method that looks at the target's images
# can help.
#
# ## Datasets where every model is near chance
#
# A dataset with $C$ balanced classes has chance accuracy $1/C$. Below we compare the spread of
# accuracies per dataset with chance, and list the datasets whose *best* model stays below
# `NEAR_CHANCE_RATIO` times chance. (Accuracy on an unbalanced dataset can beat $1/C$ by always
# predicting the majority class: diabetic retinopathy is an example, which is why LOVM also reports
# mean per-class recall.)

# %%
n_classes = {d: len(lovm_classnames(d)) for d in bench.datasets}
chance = 1.0 / pd.Series(n_classes)
ax = plotting.dataset_spread(
    wide, chance=chance, ylabel=f"zero-shot {bench.metric}",
    title="Spread of the zoo's accuracy on each dataset",
)
glue("fig_ch1_spread", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch1_spread
# :name: fig-ch1-spread
#
# Distribution of the models' accuracies on each dataset (box: quartiles; whiskers: 1.5 IQR), sorted
# by the median; the black dash is chance, one over the number of classes.
# ```

# %% tags=["nbval-check-output"]
near = pd.DataFrame(
    {"chance": chance, "best": wide.max(), "median": wide.median()}
)
near["best / chance"] = near["best"] / near["chance"]
near_chance = near[near["best / chance"] < NEAR_CHANCE_RATIO]
near_chance = near_chance.sort_values("best / chance")
glue("ch1_n_near_chance", len(near_chance), display=False)
print(near_chance.round(3).to_string())

# %% [markdown]
# {glue:text}`ch1_n_near_chance` datasets are near chance for every model. On them, the "best" model is
# best by a small margin that a different sample of test images could reverse, and a ranking metric
# rewards or punishes a selection method mostly for noise. We keep them in every evaluation, as LOVM
# does, but the per-target breakdowns of {ref}`chapter 6 <ch-ranking>` show them separately.
#
# ## Two tables, one question: do they agree?
#
# The same model evaluated on the same dataset by two pipelines should get the same number. For the 35
# models that LOVM and open_clip share, on the 20 common datasets:

# %% tags=["nbval-check-output"]
lovm = benchmarks["lovm"].wide
oc = benchmarks["openclip121"].wide
common = [d for d in lovm.columns if d in oc.columns]
oc = oc.loc[lovm.index, common]
diff = (lovm[common] - oc).abs()
tau = {d: lovm[d].corr(oc[d], method="kendall") for d in common}
agreement = pd.DataFrame(
    {"mean |diff|": diff.mean(), "max |diff|": diff.max(),
     "tau": pd.Series(tau)}
)
worst = agreement.sort_values("mean |diff|", ascending=False).head(5)
print(worst.round(3).to_string())

# %% [markdown]
# Most datasets agree to the third decimal; SVHN does not (LOVM's SVHN run used another setup), and
# flowers and pets are mean per-class recall in open_clip's table but top-1 accuracy in LOVM's `acc1`.
# SWAB recomputed all 35 models with its own pipeline and disagrees more:

# %%
swab = benchmarks["swab"].wide.loc[lovm.index, lovm.columns]
swab_diff = (swab - lovm).abs()
glue("ch1_swab_mean_diff", float(swab_diff.to_numpy().mean()), display=False)
best_differs = int((swab.idxmax() != lovm.idxmax()).sum())
glue("ch1_swab_best_differs", best_differs, display=False)
worst_swab = swab_diff.mean().sort_values(ascending=False).head(5)
print(worst_swab.round(3).rename_axis("dataset")
      .to_frame("mean |SWAB - LOVM|").to_string())

# %% [markdown]
# The mean absolute difference between SWAB and LOVM is {glue:text}`ch1_swab_mean_diff:.3f`, and the
# best model differs on {glue:text}`ch1_swab_best_differs` datasets. **Never mix tables within one
# experiment**: every result in this book names the benchmark it was computed on.
#
# ## Judging a ranking: the metrics
#
# For one target $T$, a method returns a score $\hat s_m$ for every model $m$ (higher means predicted
# better) and the benchmark holds the true accuracy $A_m$. Write $\mathrm{top}_k(x)$ for the $k$ models
# with the largest values of $x$, best first (ties broken by model name). vlmsel reports six numbers per
# target, all computed by `vlmsel.evaluation.metrics`. We build each one by hand on a zoo of seven
# models, A to G, and then check that the library gives the same value.

# %% tags=["nbval-check-output"]
K = 5  # LOVM's cutoff: the top 5
zoo = list("ABCDEFG")
true = np.array([0.80, 0.74, 0.70, 0.62, 0.55, 0.41, 0.30])
pred = np.array([0.80, 0.90, 0.60, 0.30, 0.70, 0.50, 0.30])
toy = pd.DataFrame({"true accuracy": true, "predicted score": pred}, index=zoo)
toy["true rank"] = toy["true accuracy"].rank(ascending=False)
toy["predicted rank"] = toy["predicted score"].rank(ascending=False)
print(toy.to_string())

# %% [markdown]
# The method puts B first, although A is the better model; it swaps C and E, and it cannot tell D from G
# (a tie, which shares the mean rank 6.5).
#
# ### LOVM's R5 and tau5
#
# LOVM {cite}`zohar2023lovm` scores the top of the ranking with two numbers. $R_5$ is the share of the
# true top five that the predicted top five recovers:
#
# $$
# R_5 = \frac{\left|\,\mathrm{top}_5(A) \cap \mathrm{top}_5(\hat s)\,\right|}{5}.
# $$
#
# $\tau_5$ asks whether the models found by both lists, $C = \mathrm{top}_5(A) \cap \mathrm{top}_5(\hat s)$,
# come in the right order: rank the models of $C$ among themselves by $A$ and by $\hat s$, and take
# Kendall's tau-b of the two rank vectors (defined below); $\tau_5 = 0$ when $|C| \le 2$. LOVM's code
# truncates mean ranks to integers (pandas' `rank(...).astype(int)`), and vlmsel does the same so that it
# reproduces LOVM's published numbers. Kendall's tau-b {cite}`kendall1938tau` of two vectors $x, y$ of
# length $n$ counts the $n_c$ concordant pairs (ordered the same way by both) and the $n_d$ discordant
# ones, and corrects for the $n_x$ ($n_y$) pairs tied in $x$ ($y$):
#
# $$
# \tau_b(x, y) = \frac{n_c - n_d}{\sqrt{(n_0 - n_x)(n_0 - n_y)}}, \qquad n_0 = \frac{n(n-1)}{2}.
# $$

# %%
def top(values, k=K):
    """Positions of the k largest values, best first (ties: earlier model)."""
    return list(np.argsort(-np.asarray(values), kind="stable")[:k])


def kendall_tau_b_by_hand(x, y):
    """Kendall's tau-b from its definition: a loop over all pairs."""
    n_c = n_d = tied_x = tied_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        n_c += int(sx * sy > 0)
        n_d += int(sx * sy < 0)
        tied_x += int(sx == 0)
        tied_y += int(sy == 0)
    n_0 = len(x) * (len(x) - 1) / 2
    return (n_c - n_d) / np.sqrt((n_0 - tied_x) * (n_0 - tied_y))


top_true, top_pred = top(true), top(pred)
r5_hand = len(set(top_true) & set(top_pred)) / K
common = [i for i in top_true if i in top_pred]  # in true order
rank_true = np.trunc(pd.Series(true[common]).rank(ascending=False).to_numpy())
rank_pred = np.trunc(pd.Series(pred[common]).rank(ascending=False).to_numpy())
tau5_hand = 0.0
if len(common) > 2:
    tau5_hand = kendall_tau_b_by_hand(rank_true, rank_pred)
print("true top 5:     ", [zoo[i] for i in top_true])
print("predicted top 5:", [zoo[i] for i in top_pred])
print("common models:  ", [zoo[i] for i in common])
print("their true ranks", rank_true, "and predicted ranks", rank_pred)
print(f"R5 = {r5_hand:.3f}, tau5 = {tau5_hand:.3f}")

np.testing.assert_allclose(r5_hand, metrics.lovm_r5(pred, true, zoo))
np.testing.assert_allclose(tau5_hand, metrics.lovm_tau5(pred, true, zoo))
glue("ch1_toy_r5", float(r5_hand), display=False)
glue("ch1_toy_tau5", float(tau5_hand), display=False)

# %% [markdown]
# Four of the five true best models are found ($R_5$ = {glue:text}`ch1_toy_r5:.2f`). Among those four,
# the pairs (A, B) and (C, E) are in the wrong order and the other four pairs in the right one, so
# $\tau_5 = (4 - 2)/6$ = {glue:text}`ch1_toy_tau5:.3f`. Both numbers are coarse: $R_5$ moves in steps of
# 0.2, and $\tau_5$ is computed from two to five models, so one swapped pair moves it a lot.
#
# ### NDCG@5 and its two gains
#
# Normalised discounted cumulative gain {cite}`jarvelin2002ndcg` weighs every position of the predicted
# list by a *gain* $g_m$ and discounts lower positions. With $\pi(i)$ the model at position $i$ of the
# predicted ranking,
#
# $$
# \mathrm{DCG}_5 = \sum_{i=1}^{5} \frac{g_{\pi(i)}}{\log_2(i + 1)}, \qquad
# \mathrm{NDCG}_5 = \frac{\mathrm{DCG}_5}{\mathrm{IDCG}_5},
# $$
#
# where the ideal $\mathrm{IDCG}_5$ is the same sum for the ranking by the gain itself, so that
# $\mathrm{NDCG}_5 \le 1$. The main gain is the accuracy, $g_m = A_m$, which is what
# `sklearn.metrics.ndcg_score(acc, score, k=5)` computes. Unlike $R_5$, it rewards a method for putting a
# *nearly* best model first. Models with tied predicted scores share the mean of their gains over the
# positions they span (scikit-learn's rule); the tie of D and G sits at positions 6 and 7, beyond the cut.

# %% tags=["nbval-check-output"]
order = np.argsort(-pred, kind="stable")  # the predicted ranking
discount = 1.0 / np.log2(np.arange(len(zoo)) + 2.0)
steps = pd.DataFrame(
    {"model": np.array(zoo)[order], "gain": true[order], "discount": discount},
    index=pd.RangeIndex(1, len(zoo) + 1, name="position"),
)
product = steps["gain"] * steps["discount"]
steps["gain x discount"] = np.where(steps.index <= K, product, 0.0)
dcg = steps["gain x discount"].sum()
idcg = np.sort(true)[::-1][:K] @ discount[:K]
ndcg_hand = dcg / idcg
print(steps.round(3).to_string())
print(f"DCG5 = {dcg:.4f}, IDCG5 = {idcg:.4f}, NDCG5 = {ndcg_hand:.4f}")

# %% [markdown]
# The accuracy gain has a weakness: when every model of the zoo is fairly accurate on a target, every
# ranking puts fairly accurate models at the top, and even a bad ranking scores high. The second gain
# normalises the accuracy to $[0, 1]$ over the zoo on that target, so that the worst model gains nothing:
#
# $$
# g_m = \frac{A_m - \min_{m'} A_{m'}}{\max_{m'} A_{m'} - \min_{m'} A_{m'}}.
# $$

# %%
def ndcg_by_hand(gain, score, k=K):
    """NDCG@k of the ranking by `score` (no ties in its top k)."""
    d = 1.0 / np.log2(np.arange(k) + 2.0)
    dcg_k = gain[np.argsort(-score, kind="stable")][:k] @ d
    return dcg_k / (np.sort(gain)[::-1][:k] @ d)


gain_minmax = (true - true.min()) / (true.max() - true.min())
ndcg_minmax_hand = ndcg_by_hand(gain_minmax, pred)
reversed_acc = ndcg_by_hand(true, -true)  # the worst ranking: best model last
reversed_minmax = ndcg_by_hand(gain_minmax, -true)
print(f"NDCG5, gain = accuracy:        {ndcg_by_hand(true, pred):.4f}"
      f"  (reversed ranking: {reversed_acc:.4f})")
print(f"NDCG5, gain = min-max accuracy: {ndcg_minmax_hand:.4f}"
      f"  (reversed ranking: {reversed_minmax:.4f})")

np.testing.assert_allclose(ndcg_hand, ndcg_by_hand(true, pred))
np.testing.assert_allclose(ndcg_hand, metrics.ndcg_at_k(true, pred, k=K))
np.testing.assert_allclose(ndcg_hand, ndcg_score([true], [pred], k=K))
np.testing.assert_allclose(gain_minmax, metrics.minmax(true))
np.testing.assert_allclose(
    ndcg_minmax_hand, metrics.ndcg_at_k(metrics.minmax(true), pred, k=K)
)
glue("ch1_toy_ndcg5", float(ndcg_hand), display=False)
glue("ch1_toy_ndcg5_minmax", float(ndcg_minmax_hand), display=False)
glue("ch1_toy_reversed_acc", float(reversed_acc), display=False)
glue("ch1_toy_reversed_minmax", float(reversed_minmax), display=False)

# %% [markdown]
# Here $\mathrm{NDCG}_5$ = {glue:text}`ch1_toy_ndcg5:.3f` with the accuracy gain and
# {glue:text}`ch1_toy_ndcg5_minmax:.3f` with the min-max gain. The *reversed* ranking, which puts the
# worst model first, still scores {glue:text}`ch1_toy_reversed_acc:.3f` with the accuracy gain but
# {glue:text}`ch1_toy_reversed_minmax:.3f` with the min-max gain. Every table in this book says which gain
# it uses.
#
# ### Kendall tau-b over the full list, and top-1 regret
#
# $R_5$, $\tau_5$ and NDCG@5 look at the top of the list only. Kendall's $\tau_b(\hat s, A)$ over all
# models judges the whole ranking, ties included (the tie of D and G is one pair tied in $\hat s$, which
# enlarges $\tau_b$ through the correction $n_{\hat s} = 1$). The *top-1 regret* is what a practitioner
# who deploys the predicted best model loses, in accuracy:
#
# $$
# \mathrm{regret} = \max_m A_m - A_{\hat m}, \qquad \hat m = \arg\max_m \hat s_m .
# $$

# %%
tau_b_hand = kendall_tau_b_by_hand(pred, true)
regret_hand = true.max() - true[top(pred, 1)[0]]
print(f"tau_b = {tau_b_hand:.4f}, top-1 regret = {regret_hand:.4f}")

np.testing.assert_allclose(tau_b_hand, metrics.kendall_tau_b(pred, true))
np.testing.assert_allclose(tau_b_hand, kendalltau(pred, true).statistic)
np.testing.assert_allclose(regret_hand, metrics.top1_regret(pred, true, zoo))
glue("ch1_toy_tau_b", float(tau_b_hand), display=False)
glue("ch1_toy_regret", float(regret_hand), display=False)

# %% [markdown]
# Deploying B instead of A costs {glue:text}`ch1_toy_regret:.2f` accuracy. `metrics.ranking_metrics`
# returns all six numbers at once; they match the ones built by hand:

# %% tags=["nbval-check-output"]
by_hand = {"r5": r5_hand, "tau5": tau5_hand, "ndcg5": ndcg_hand,
           "ndcg5_minmax": ndcg_minmax_hand, "tau_b": tau_b_hand,
           "top1_regret": regret_hand}
library = metrics.ranking_metrics(pred, true, zoo)
assert list(library) == list(by_hand) == metrics.metric_names()
np.testing.assert_allclose(list(by_hand.values()), list(library.values()))
both = pd.DataFrame({"by hand": by_hand, "vlmsel.evaluation.metrics": library}).T
print(both.round(4).to_string())

# %% [markdown]
# ### What a random ranking scores
#
# A method has to beat chance, and the chance level of each metric can be computed exactly. If the
# ranking is a uniformly random permutation of $n$ models, every model is at every position with
# probability $1/n$, so
#
# $$
# \begin{aligned}
# \mathbb E[R_5] &= \frac{5}{n}, &
# \mathbb E[\mathrm{NDCG}_5] &= \frac{\bar g \sum_{i=1}^{5} 1/\log_2(i+1)}{\mathrm{IDCG}_5}, \\
# \mathbb E[\mathrm{regret}] &= \max_m A_m - \bar A, &
# \mathbb E[\tau_5] &= \mathbb E[\tau_b] = 0,
# \end{aligned}
# $$
#
# with $\bar g$ the mean gain (the taus vanish because a ranking and its reverse are equally likely).
# `metrics.expected_random_metrics` implements these formulas; on seven models we can check them against
# all $7! = 5040$ rankings:

# %%
rankings = itertools.permutations(range(len(zoo)))
every = pd.DataFrame(
    [metrics.ranking_metrics(np.array(p, float), true, zoo) for p in rankings]
)
expected = metrics.expected_random_metrics(true)
np.testing.assert_allclose(
    every.mean().to_numpy(), list(expected.values()), atol=1e-12
)
print(f"{len(every)} rankings; mean of each metric:")
print(every.mean().round(4).to_string())

# %% [markdown]
# ## Baselines, leave-one-dataset-out
#
# A *baseline* is a selection rule that needs no images at all. vlmsel evaluates every method with one
# harness, `vlmsel.evaluation.harness.evaluate`: each dataset of the benchmark is the target once, the
# method sees the ground truth of the other datasets (the sources) only, and the six metrics of each
# target are averaged over targets. `vlmsel.evaluation.methods.make_method(name)` builds the baselines:
#
# - `random`: the exact expected metrics of a uniformly random ranking (the formulas above), per target.
# - `inb`, LOVM's ImageNet baseline: $\hat s_m(T) = A_m(\text{imagenet1k})$ for every target.
# - `avg_rank`: rank the zoo on every source $S$, turn ranks into utilities
#   $u_m(S) = 1 - (\mathrm{rank}_m(S) - 1)/(|\mathcal M| - 1)$ (1 for the best model, 0 for the worst),
#   and average them over the sources, $\hat s_m(T) = \frac{1}{|\mathcal S|}\sum_{S \ne T} u_m(S)$. It is
#   the rank aggregation of {ref}`chapter 6 <ch-ranking>` with every source weighted equally: a model that is good
#   everywhere is predicted good here.
# - `oracle_sim`, **an oracle**: the same aggregation, but each source is weighted by how well it
#   *truly* agrees with the target, $\alpha(S \mid T) \propto \exp\big(\gamma\,\tau_b(A(S), A(T))\big)$
#   with $\gamma = 10$. It reads the target's ground truth, so it is not a competitor: it shows how much
#   a perfect source-similarity could add to source-rank aggregation.
#
# Before running the harness, we rebuild the two real baselines by hand for one target and compare them
# with the harness's predictions:

# %%
bench_lovm = load_benchmark("lovm")
check_target = "cars"
inb_check = harness.evaluate(bench_lovm, make_method("inb"),
                             targets=[check_target], n_boot=10)
avg_check = harness.evaluate(bench_lovm, make_method("avg_rank"),
                             targets=[check_target], n_boot=10)
sources = bench_lovm.wide.drop(columns=check_target)
n_models = len(bench_lovm.models)
u = 1.0 - (sources.rank(ascending=False) - 1.0) / (n_models - 1)
reference = bench_lovm.reference_dataset  # imagenet1k
np.testing.assert_allclose(inb_check.predictions[check_target],
                           sources[reference])
np.testing.assert_allclose(avg_check.predictions[check_target], u.mean(axis=1))

# %% [markdown]
# Now every baseline on both benchmarks. The intervals are 95% percentile bootstrap intervals of the
# mean over targets: the targets are resampled with replacement `N_BOOT` times (seed `SEED`; every method
# sees the same resamples). With only 20 to 23 targets per benchmark they are wide.

# %%
results, summaries = {}, []
for bench_name in BASELINE_BENCHMARKS:
    bench_b = load_benchmark(bench_name)
    for method in BASELINES:
        result = harness.evaluate(
            bench_b, make_method(method), n_boot=N_BOOT, seed=SEED
        )
        results[bench_name, method] = result
        summaries.append(
            result.summary.assign(benchmark=bench_name, method=method)
        )
summary = (pd.concat(summaries).reset_index()
           .set_index(["benchmark", "method", "metric"]).sort_index())
for (bench_name, method, metric), row in summary.iterrows():
    key = f"ch1_{bench_name}_{method}_{metric}"
    glue(key, float(row["mean"]), display=False)
    glue(f"{key}_lo", float(row["ci_low"]), display=False)
    glue(f"{key}_hi", float(row["ci_high"]), display=False)
for bench_name in BASELINE_BENCHMARKS:
    n_t = len(results[bench_name, BASELINES[0]].per_target)
    glue(f"ch1_{bench_name}_n_targets", n_t, display=False)

# %% tags=["nbval-check-output"]
METRICS = metrics.metric_names()
columns = {}
for bench_name in BASELINE_BENCHMARKS:
    part = summary.loc[bench_name].reorder_levels(["metric", "method"])
    part = part.loc[pd.MultiIndex.from_product([METRICS, BASELINES])]
    columns[bench_name, "mean"] = part["mean"].map("{:.3f}".format)
    columns[bench_name, "95% interval"] = [
        f"[{lo:.3f}, {hi:.3f}]"
        for lo, hi in zip(part["ci_low"], part["ci_high"])
    ]
table = pd.DataFrame(columns)
table.index.names = ["metric", "method"]
print(table.to_string())

# %% [markdown]
# *Table: mean of each metric over the targets of `lovm` (35 models, accuracy) and `openclip48`
# (48 models) with its 95% bootstrap interval. `ndcg5` uses the accuracy as gain, `ndcg5_minmax` the
# min-max normalised accuracy; lower is better for `top1_regret` only. `oracle_sim` reads the target's
# ground truth.*

# %%
LABELS = metrics.metric_labels()
fig, axes = plt.subplots(2, 3, figsize=(7.5, 5.4), sharey=True)
fig.suptitle("Baselines, leave-one-dataset-out: means and 95% intervals")
offsets = np.linspace(-0.15, 0.15, len(BASELINE_BENCHMARKS))
for ax, metric in zip(axes.flat, METRICS):
    for j, bench_name in enumerate(BASELINE_BENCHMARKS):
        part = summary.loc[bench_name].xs(metric, level="metric")
        part = part.loc[BASELINES]
        y = np.arange(len(BASELINES)) + offsets[j]
        err = [part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]]
        ax.errorbar(part["mean"], y, xerr=err, fmt=plotting.MARKERS[j],
                    capsize=2, markersize=5, label=bench_name, color=f"C{j}")
    ax.set_xlabel(LABELS[metric])
    ax.set_yticks(range(len(BASELINES)), BASELINES)
axes[0, 0].invert_yaxis()  # shared by every panel: the first method on top
for ax in axes[:, 0]:
    ax.set_ylabel("method")
handles, names = axes[0, 0].get_legend_handles_labels()
legend = fig.legend(handles, names, title="benchmark",
                    loc="outside lower center", ncols=len(names))
glue("fig_ch1_baselines", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch1_baselines
# :name: fig-ch1-baselines
#
# Mean over targets (marker) and 95% bootstrap interval (bar) of each metric for each baseline, on
# `lovm` (circles) and `openclip48` (squares). The `random` bars of R5, tau5 and tau-b have no width:
# their expected values are the same on every target.
# ```
#
# Three things stand out.
#
# **ImageNet accuracy is a strong baseline.** On `lovm`, INB finds on average
# {glue:text}`ch1_lovm_inb_r5:.3f` of the true top five ($R_5$; 95% interval
# [{glue:text}`ch1_lovm_inb_r5_lo:.3f`, {glue:text}`ch1_lovm_inb_r5_hi:.3f`]), against
# {glue:text}`ch1_lovm_random_r5:.3f` for a random ranking, with $\tau_5$ =
# {glue:text}`ch1_lovm_inb_tau5:.3f` and NDCG@5 = {glue:text}`ch1_lovm_inb_ndcg5:.3f`. On `openclip48`
# the numbers are $R_5$ = {glue:text}`ch1_openclip48_inb_r5:.3f`, $\tau_5$ =
# {glue:text}`ch1_openclip48_inb_tau5:.3f` and NDCG@5 = {glue:text}`ch1_openclip48_inb_ndcg5:.3f`. Average
# rank is close: $R_5$ = {glue:text}`ch1_lovm_avg_rank_r5:.3f`, $\tau_5$ =
# {glue:text}`ch1_lovm_avg_rank_tau5:.3f`, NDCG@5 = {glue:text}`ch1_lovm_avg_rank_ndcg5:.3f` on `lovm`
# and {glue:text}`ch1_openclip48_avg_rank_r5:.3f`, {glue:text}`ch1_openclip48_avg_rank_tau5:.3f`,
# {glue:text}`ch1_openclip48_avg_rank_ndcg5:.3f` on `openclip48`. Both say the same thing: in these zoos,
# a model that is good on most tasks is usually good on the next one.
#
# **NDCG@5 with the accuracy gain is generous.** A random ranking already scores
# {glue:text}`ch1_lovm_random_ndcg5:.3f` on `lovm` and {glue:text}`ch1_openclip48_random_ndcg5:.3f` on
# `openclip48`; with the min-max gain it scores {glue:text}`ch1_lovm_random_ndcg5_minmax:.3f` and
# {glue:text}`ch1_openclip48_random_ndcg5_minmax:.3f`. Read NDCG@5 against that floor, not against zero:
# INB's {glue:text}`ch1_lovm_inb_ndcg5:.3f` on `lovm` closes {glue:text}`ch1_lovm_inb_ndcg5_closed:.0%` of
# the gap between a random and a perfect ranking.
#
# **The oracle is an upper bound for weighting sources, not for every metric.** Weighting sources by
# their true agreement with the target lifts the full-list $\tau_b$ from
# {glue:text}`ch1_lovm_avg_rank_tau_b:.3f` (average rank) to {glue:text}`ch1_lovm_oracle_sim_tau_b:.3f`
# on `lovm`, and from {glue:text}`ch1_openclip48_avg_rank_tau_b:.3f` to
# {glue:text}`ch1_openclip48_oracle_sim_tau_b:.3f` on `openclip48`; a label-free method that weights
# sources (DCD, chapters {ref}`5 <ch-dcd>` and {ref}`6 <ch-ranking>`) can hope to close part of that gap. Yet its $\tau_5$
# ({glue:text}`ch1_lovm_oracle_sim_tau5:.3f` and {glue:text}`ch1_openclip48_oracle_sim_tau5:.3f`) is below
# INB's: agreement over the whole list is not agreement among the top five, and $\tau_5$, computed from
# at most five models, is the noisiest of the six numbers.

# %% tags=["remove-input"]
# The claims of the text above, checked on the numbers: the build fails if
# they stop holding.
means = summary["mean"]
closed = ((means["lovm", "inb", "ndcg5"] - means["lovm", "random", "ndcg5"])
          / (1.0 - means["lovm", "random", "ndcg5"]))
glue("ch1_lovm_inb_ndcg5_closed", float(closed), display=False)
for bench_name in BASELINE_BENCHMARKS:
    m = means.loc[bench_name]
    for metric in ("r5", "ndcg5", "ndcg5_minmax", "tau_b"):
        assert m["inb", metric] > m["random", metric]
        assert m["avg_rank", metric] > m["random", metric]
    assert m["random", "ndcg5"] > 0.75
    assert m["random", "ndcg5"] > m["random", "ndcg5_minmax"]
    assert m["oracle_sim", "tau_b"] > m["avg_rank", "tau_b"]
    assert m["oracle_sim", "tau5"] < m["inb", "tau5"]

# %% [markdown]
# ### ImageNet as the target: what INB does there
#
# When imagenet1k itself is the target, INB would rank it by its own accuracies: the prediction *is* the
# ground truth, and every metric is perfect. LOVM's evaluation does exactly this and averages that perfect
# row into INB's mean, and vlmsel reproduces it by default, so that its INB numbers match LOVM's own code
# target by target (a test checks it). But it is the one place outside the oracle where a target's
# ground truth reaches its prediction, so the harness says so: `inb` declares it through
# `Method.uses_target_ground_truth`, and the result row is flagged `uses_target_gt`.

# %% tags=["nbval-check-output"]
inb_lovm = results["lovm", "inb"]
flagged = inb_lovm.per_target[inb_lovm.per_target["uses_target_gt"]]
print(flagged.round(3).T.to_string())

# %% [markdown]
# To leave that target out, pass `exclude_targets=("imagenet1k",)` to `evaluate` (imagenet1k remains a
# source of the other targets), or build `Inb(on_reference_target="error")`, which refuses to predict it.
# Below, INB and average rank on the targets other than imagenet1k, and their paired difference: the
# bootstrap resamples the same targets for both methods, so the interval of the difference can be much
# narrower than the two separate intervals suggest.

# %% tags=["nbval-check-output"]
HEADLINE = ["r5", "tau5", "ndcg5"]
rows, paired = {}, {}
for bench_name in BASELINE_BENCHMARKS:
    bench_b = load_benchmark(bench_name)
    no_ref = {
        method: harness.evaluate(
            bench_b, make_method(method),
            exclude_targets=(bench_b.reference_dataset,), n_boot=10,
        ).per_target
        for method in ("inb", "avg_rank")
    }
    assert not no_ref["inb"]["uses_target_gt"].any()
    for metric in HEADLINE:
        inb_v, avg_v = no_ref["inb"][metric], no_ref["avg_rank"][metric]
        diff, lo, hi = metrics.bootstrap_ci(
            (inb_v - avg_v).to_numpy(), n_boot=N_BOOT, seed=SEED
        )
        paired[bench_name, metric] = (diff, lo, hi)
        rows[bench_name, metric] = {
            "inb": inb_v.mean(), "avg_rank": avg_v.mean(),
            "inb - avg_rank": diff,
            "95% interval": f"[{lo:+.3f}, {hi:+.3f}]", "targets": len(inb_v),
        }
        key = f"ch1_{bench_name}_noref"
        glue(f"{key}_inb_{metric}", float(inb_v.mean()), display=False)
        glue(f"{key}_avg_rank_{metric}", float(avg_v.mean()), display=False)
        glue(f"{key}_diff_{metric}", float(diff), display=False)
        glue(f"{key}_diff_{metric}_lo", float(lo), display=False)
        glue(f"{key}_diff_{metric}_hi", float(hi), display=False)
no_reference = pd.DataFrame.from_dict(rows, orient="index")
no_reference.index.names = ["benchmark", "metric"]
print(no_reference.round(3).to_string())

# %% [markdown]
# Without its free perfect row, INB's mean $R_5$ on `lovm` drops from
# {glue:text}`ch1_lovm_inb_r5:.3f` to {glue:text}`ch1_lovm_noref_inb_r5:.3f` and its NDCG@5 from
# {glue:text}`ch1_lovm_inb_ndcg5:.3f` to {glue:text}`ch1_lovm_noref_inb_ndcg5:.3f`. On the same targets,
# INB's NDCG@5 exceeds average rank's by {glue:text}`ch1_lovm_noref_diff_ndcg5:+.3f`
# ([{glue:text}`ch1_lovm_noref_diff_ndcg5_lo:+.3f`, {glue:text}`ch1_lovm_noref_diff_ndcg5_hi:+.3f`]) on
# `lovm`, a small but consistent margin, while on `openclip48` the difference is
# {glue:text}`ch1_openclip48_noref_diff_ndcg5:+.3f`
# ([{glue:text}`ch1_openclip48_noref_diff_ndcg5_lo:+.3f`,
# {glue:text}`ch1_openclip48_noref_diff_ndcg5_hi:+.3f`]): there the two baselines cannot be told apart.
# The tables of {ref}`chapter 6 <ch-ranking>` keep LOVM's convention, so that INB matches the published numbers, and say how
# many targets use their own ground truth; a label-free method is best compared with INB on the same
# targets, as here.

# %% tags=["remove-input"]
# The claims of the text above, checked on the numbers.
assert paired["lovm", "ndcg5"][1] > 0  # interval above zero
assert paired["openclip48", "ndcg5"][1] < 0 < paired["openclip48", "ndcg5"][2]

# %% [markdown]
#
# ## Summary
#
# - A selection method ranks a zoo for a target task; it is judged leave-one-dataset-out on a benchmark
#   of known zero-shot accuracies.
# - vlmsel loads four such tables (`lovm`, `openclip48`, `openclip121`, `swab`) as models $\times$
#   datasets DataFrames, from pinned and hash-checked upstream files.
# - Many models win somewhere; ImageNet accuracy ranks most datasets well and a few badly; several
#   datasets are near chance for every model.
# - A ranking is scored per target by LOVM's $R_5$ and $\tau_5$ (the top five only, coarse), NDCG@5
#   (gain: the accuracy, or the min-max normalised accuracy, which has a lower floor), Kendall's $\tau_b$
#   over the whole list and the top-1 regret; `vlmsel.evaluation.metrics` computes all six, and a random
#   ranking's expected values exactly.
# - Ranking by ImageNet accuracy (INB) and by the average rank on the sources are strong baselines that
#   beat chance on every metric; by LOVM's convention INB ranks imagenet1k by its own ground truth, a
#   flagged perfect row that `exclude_targets` removes. An oracle that weights sources by their true
#   agreement with the target shows what better source weights could add.
#
# ## Exercises
#
# 1. Set `METRIC = "mean_per_class_recall"` in the parameters cell and rerun. Which datasets change their
#    winner?
# 2. Which model family wins most datasets of `openclip48`?
# 3. Find scores for the seven toy models with $R_5 = 1$ and $\tau_5 = -1$. What are their NDCG@5 and
#    $\tau_b$?
# 4. Build `make_method("oracle_sim", gamma=0.0)` and compare its predictions with `avg_rank`'s. Why?
# 5. Repeat the table of baselines with `exclude_targets=("imagenet1k",)` for every method. Which
#    numbers change, and does the order of the methods?
#
# ```{dropdown} Solutions
# 1. Compare `load_benchmark("lovm").wide.idxmax()` with the same for
#    `mean_per_class_recall`; the unbalanced datasets (diabetic retinopathy, pcam) are the ones to look at.
# 2. `b = load_benchmark("openclip48"); b.model_info.loc[b.wide.idxmax(), "family"].value_counts()`.
# 3. Put the true top five in reverse order above F and G, e.g.
#    `pred = np.array([3, 4, 5, 6, 7, 2, 1.0])`: every pair of the five is discordant. Then
#    `metrics.ranking_metrics(pred, true, zoo)` gives NDCG@5 = 0.92 (the right models, in the wrong
#    order, still collect most of the gain), $\tau_b = 0.05$, and a top-1 regret of 0.25: the
#    fifth-best model is deployed.
# 4. They are identical: with $\gamma = 0$ the softmax gives every source the weight $1/|\mathcal S|$,
#    which is average rank's aggregation. `harness.evaluate(b, m).predictions` holds the scores.
# 5. Pass `exclude_targets=("imagenet1k",)` to `harness.evaluate` in the loop. Only INB loses a
#    perfect row; the other methods lose an ordinary target, so their means move a little either way.
#    On `lovm` the order oracle, INB, average rank, random holds on every metric but $\tau_5$.
# ```
#
# ## References
#
# The works cited in this chapter
# ({cite}`zohar2023lovm,yi2024swab,cherti2023reproducible,radford2021clip,ilharco2021openclip,kendall1938tau,jarvelin2002ndcg`)
# are listed with all others in the [bibliography](../book/bibliography.md).
