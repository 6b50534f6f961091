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
# (ch-select)=
# # 8. Selecting a model for your own images
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/08_select.ipynb)
#
# **What you will learn**
#
# - how to run the whole method on a folder of your own unlabeled images with one call,
#   `vlmsel.select`: what it computes (only your images' profiles) and what it reads (a store of
#   source profiles and the source ground truth);
# - how to read the result: the ranking with bootstrap intervals, why a model scores as it does (the
#   sources that resemble your images, the blocks that matter), and the cost-aware view ({term}`Pareto-optimal` models);
# - how stable the top-1 choice is, and the rough estimate of how many more images would make it
#   stable, both rebuilt here;
# - the same from the command line, `vlmsel select`, with a JSON file and a one-file HTML report;
# - how to add a model or a source dataset to a profile store, and what all of this costs on a CPU
#   and at the scale of the real zoo.

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
# Parameters (papermill). Defaults are the CI scale: the mini world on CPU.
TARGET_TASK = "eurosat"  # the mini task whose images play "your images"
N_FILES = 40  # PNG files written to the folder
IMAGE_SEED = 1  # ground truth and source profiles use each task's seed 0
N_IMAGES = 25  # images select uses at most (the paper's N)
N_BOOT = 200  # bootstrap resamples of the images
SEED = 0  # which images select uses, and the seed of its bootstrap
MAX_GFLOPS = None  # budget of the cost-aware run; None: the zoo's median
ADD_MODEL = "mini-convnext web"  # held out of the store, then added
ADD_SOURCE = "resisc"  # held out of the sources, then added back
N_SHORTLIST = 5  # models for which the new source is profiled
DEVICE = "cpu"
N_THREADS = 1  # torch CPU threads (the CI machine is small and shared)
# The ranking method: the paper's DCD, which this chapter explains. `select`'s
# default is the one the project's evidence supports (chapter "What should I use?").
METHOD = "dcd"

# %%
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="IProgress not found")
warnings.filterwarnings("ignore", category=UserWarning, module="open_clip")
os.environ["VLMSEL_PROGRESS"] = "0"  # no progress bars in the book

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display
from myst_nb import glue
from PIL import Image
from scipy.stats import norm

import vlmsel
from vlmsel import plotting
from vlmsel.data.benchmarks import load_benchmark
from vlmsel.evaluation import metrics
from vlmsel.method.aggregation import utilities
from vlmsel.method.divergence import kl
from vlmsel.method.importance import block_importance
from vlmsel.method.similarity import softmin_weights
from vlmsel.recommend.evidence import load_evidence
from vlmsel.data.zoo import load_zoo
from vlmsel.mini.groundtruth import compute_groundtruth, load_mini_table
from vlmsel.mini.profiling import profile_mini
from vlmsel.mini.tasks import get_task, make_task_data
from vlmsel.mini.paths import default_profile_store
from vlmsel.profiles.compute import (THROUGHPUT_GFLOPS, ProfileSettings,
                                     estimate_seconds)
from vlmsel.profiles.store import (ProfileStore, has_profile, model_slug,
                                   read_profile)

plotting.use_style()
torch.set_num_threads(N_THREADS)
WORK = Path(tempfile.mkdtemp(prefix="vlmsel_ch8_"))  # everything we write

# %% [markdown]
# ## Your images
#
# Chapters {ref}`3 <ch-clip-encoder>` to {ref}`7 <ch-ablations>` built the method and measured it leave-one-dataset-out on benchmarks. This chapter
# is what a practitioner runs: a folder of unlabeled images in, a ranked and explained list of models
# out {cite}`yang2026conductance`.
#
# We play the practitioner in the mini world. The folder holds PNG files of one mini task, written
# with neutral names and no labels, as a user would have them. The images are drawn with a seed that
# neither the ground truth nor the stored source profiles used, so they are new images of the task's
# kind. Because they come from a mini task we also know, unlike a real user, the true zero-shot
# accuracy of every model on this task: we keep it aside and look at it only after the selection.

# %% tags=["nbval-check-output"]
task = get_task(TARGET_TASK)
data = make_task_data(TARGET_TASK, n=N_FILES, seed=IMAGE_SEED)
folder = WORK / "my_images"
folder.mkdir()
for i, img in enumerate(data.images):
    Image.fromarray(img).save(folder / f"photo_{i:03d}.png")
files = sorted(folder.iterdir())
print(f"{len(files)} files: {files[0].name} ... {files[-1].name}, "
      f"{data.images.shape[1]}x{data.images.shape[2]} RGB")
print(f"task {TARGET_TASK!r}: {task.description}")
glue("ch8_n_files", len(files), display=False)
glue("ch8_target", TARGET_TASK, display=False)
N_EVAL = int(load_mini_table()["n"].max())  # images behind the truth
glue("ch8_n_eval", N_EVAL, display=False)

# %%
fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
for ax, path in zip(axes.ravel(), files):
    ax.imshow(Image.open(path))
    ax.set_axis_off()
fig.suptitle(f"The first 16 of the {len(files)} images in the folder "
             f"(mini task '{TARGET_TASK}', 64 x 64 pixels)", fontsize=10)
glue("fig_ch8_images", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch8_images
# :name: fig-ch8-images
#
# The first images of the folder that plays "your images". The file names say nothing about the
# classes, and no labels are written.
# ```
#
# ## What `select` needs
#
# Besides your images, `vlmsel.select` needs two things that are the same for every user of a zoo:
#
# 1. **source profiles**: the per-image block conductance of every model of the zoo on N images of
#    every source dataset, in a profile store ({ref}`chapter 4 <ch-profiles>`). For the mini zoo the store ships with
#    vlmsel; for a real zoo you build it once on a GPU ({ref}`chapter 9 <ch-paper-scale>`) or download a published one;
# 2. **source ground truth**: every model's zero-shot accuracy on every source dataset, a
#    benchmark ({ref}`chapter 1 <ch-benchmarks>`).
#
# It computes only what is new: the profiles of your images, one model at a time, with exactly the
# settings the store's manifests record (weights, `n_steps`, path rule, baseline, objective,
# granularity, precision), then DCD, the softmin and the rank aggregation of chapters {ref}`5 <ch-dcd>` and {ref}`6 <ch-ranking>`.
#
# One point needs care here. The mini store and the mini benchmark also hold the task our images
# come from, a luxury no real user has. Left in, that task would be a source whose profile matches
# our images and whose ground truth *is* the answer. So we hand `select` the mini benchmark with the
# target's column removed: sources are the datasets present in both the benchmark and the store, so
# the target's ground truth cannot leak into the prediction. (Near the end we look at what happens
# when it is left in.)

# %% tags=["nbval-check-output"]
bench = load_benchmark("mini")
held_out = bench.subset(
    datasets=[d for d in bench.datasets if d != TARGET_TASK])
store = ProfileStore(default_profile_store())
print(f"profile store: {len(store.models)} models x "
      f"{len(store.datasets)} tasks")
print(f"benchmark without the target: {held_out.shape[0]} models x "
      f"{held_out.shape[1]} tasks")

# %% [markdown]
# ## One call
#
# `select` takes the folder, the zoo (`"mini"`), and here the held-out benchmark; `work_dir` is
# where it caches your images' profiles (by default `~/.cache/vlmsel/targets`; we use a fresh folder
# so that the time below includes computing them). `n_images` caps how many images are used (25, the
# paper's N): from a larger folder `select` draws them with `seed`, the same ones every time.
#
# `method` says how the zoo is ranked. This chapter asks for the paper's DCD (`"dcd"`), the method it
# explains. Left out, `select` uses the method this project's evidence supports, today
# {glue:text}`ch8_default_method` ({ref}`the chapter "What should I use?" <ch-what-to-use>` shows the
# study and its rule), and it also ranks with DCD, the scale-free DCD and the best cheap signal, side
# by side. Given your task's class names (`classes=[...]`, `--classes` on the command line), it can
# also rank by each model's zero-shot confidence on your images.

# %%
t0 = time.perf_counter()
result = vlmsel.select(folder, method=METHOD, zoo="mini", benchmark=held_out,
                       n_images=N_IMAGES, n_boot=N_BOOT, seed=SEED,
                       device=DEVICE, work_dir=WORK / "cache",
                       show_progress=False)
select_s = time.perf_counter() - t0
print(result.summary(top=5))

# %% tags=["remove-input"]
glue("ch8_default_method", load_evidence().default, display=False)
settings = result.info["settings"]
GAMMA, ETA = settings["gamma"], settings["eta"]
glue("ch8_select_s", select_s, display=False)
glue("ch8_n_computed", len(result.info["computed"]), display=False)
glue("ch8_n_models", len(result.ranking), display=False)
glue("ch8_n_sources", len(result.info["sources"]), display=False)
glue("ch8_n_used", len(result.images), display=False)
glue("ch8_top1", result.top1, display=False)
glue("ch8_p_top1", result.p_top1, display=False)
glue("ch8_n_steps", settings["n_steps"], display=False)
glue("ch8_n_boot", N_BOOT, display=False)
excluded = "; ".join(f"'{m}' ({why})" for m, why in result.excluded.items())
glue("ch8_excluded", excluded or "none", display=False)

# %% [markdown]
# The call took {glue:text}`ch8_select_s:.0f` s on this CPU. It drew {glue:text}`ch8_n_used` of the
# {glue:text}`ch8_n_files` images, profiled them with each of the {glue:text}`ch8_n_computed` models
# ($n$ = {glue:text}`ch8_n_steps` steps, as the store), compared them with the
# {glue:text}`ch8_n_sources` source tasks and ranked {glue:text}`ch8_n_models` models. Models of the
# zoo that could not be ranked are listed in `result.excluded` with the reason (here:
# {glue:text}`ch8_excluded`). The recommendation is **{glue:text}`ch8_top1`**.
#
# ## The ranking table
#
# `result.ranking` has one row per model, best first:
#
# - `score`: the predicted score $\hat s_m = \sum_S \alpha_m(S) \, u_m(S)$, a weighted mean of the
#   model's rank utility on the sources ($u = 1$ for the best model of the zoo on a source, 0 for the
#   worst), so it lies in $[0, 1]$;
# - `score_lo`, `score_hi`: a 95% interval of the score over bootstrap resamples of your images;
# - `p_top1`, `p_top5`: how often the model is first, or in the first five, over those resamples;
# - `image_gflops` (the image tower's cost per image, shown as *GFLOPs* below) and `pareto` (no other model is predicted
#   better *and* cheaper); `family`, `params_M`, `gflops` describe the model.

# %%
shown = result.ranking.head(10).drop(columns=["params_M", "gflops"])
shown.insert(2, "95% interval", [f"[{lo:.3f}, {hi:.3f}]" for lo, hi
                                 in zip(shown["score_lo"], shown["score_hi"])])
shown["pareto"] = shown["pareto"].map({True: "yes", False: ""})
display(shown.drop(columns=["score_lo", "score_hi"]).rename(columns={"image_gflops": "GFLOPs"})
        .style.format({"score": "{:.3f}", "p_top1": "{:.0%}", "p_top5": "{:.0%}",
                       "GFLOPs": "{:.4f}"}).hide(axis="index"))

# %%
ax = result.plot_ranking(top=15)
glue("fig_ch8_scores", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch8_scores
# :name: fig-ch8-scores
#
# Predicted scores of the ranked models (bars, best on top) with their 95% bootstrap intervals
# (whiskers); each bar is labelled with the model's top-1 probability over bootstrap resamples of the
# images; hatched orange bars are Pareto-optimal in score against GFLOPs.
# ```
#
# ## The score, from two matrices
#
# Everything in the table comes from two small matrices that the result keeps: `result.divergence`,
# the DCD of every source towards your images for every model, and `result.source_acc`, the source
# ground truth. We redo the last two steps of the method with the functions of {ref}`chapter 6 <ch-ranking>`: the softmin
# $\alpha_m(S) \propto \exp(-\gamma \, \mathrm{DCD}_m(S \to T))$ and the rank utilities
# $u_m(S) = 1 - (\mathrm{rank}_m(S) - 1) / (|M| - 1)$, and check that they give the table.

# %% tags=["nbval-check-output"]
dcd = result.divergence.to_numpy()  # (models, sources)
alpha = softmin_weights(dcd, GAMMA, axis=-1)
acc = result.source_acc  # (models, sources), no target column
u = pd.DataFrame(utilities(acc.to_numpy()), index=acc.index,
                 columns=acc.columns)
score = pd.Series((alpha * u.to_numpy()).sum(axis=1), index=acc.index)
np.testing.assert_allclose(alpha, result.alpha.to_numpy(), atol=1e-12)
ranked = result.ranking.set_index("model")
np.testing.assert_allclose(score[ranked.index], ranked["score"],
                           atol=1e-12)
# DCD itself: KL from the target's block importance to the best source's
blocks = result.blocks(result.top1)
best = result.best_source(result.top1)
np.testing.assert_allclose(kl(blocks["target_w"], blocks["source_w"]),
                           result.divergence.loc[result.top1, best],
                           rtol=1e-9)
print("softmin, utilities, scores and DCD agree with select")

# %% [markdown]
# ## Why this model
#
# `result.explain(model)` lists the sources with the largest weights $\alpha$ for a model, with the
# model's accuracy and rank in the zoo on each; `result.blocks(model)` compares the block importance
# $w_T$ of your images with that of the best-covering source. `plot_explanation` draws both.

# %%
why = result.explain(result.top1, k=5)
display(why.style.format({"alpha": "{:.3f}", "dcd": "{:.3f}",
                          "accuracy": "{:.3f}", "rank": "{:g}"})
        .hide(axis="index"))
a_top = result.alpha.loc[result.top1]
glue("ch8_best_source", best, display=False)
glue("ch8_best_alpha", float(a_top.max()), display=False)
glue("ch8_best_rank", float(why["rank"].iloc[0]), display=False)
glue("ch8_n_eff", result.effective_sources(), display=False)
n_flat = sum(result.uniform_weights(m) for m in result.alpha.index)
glue("ch8_n_flat", n_flat, display=False)
d_top = result.divergence.loc[result.top1]
glue("ch8_dcd_span_top", float(d_top.max() - d_top.min()), display=False)
glue("ch8_alpha_ratio_top", float(a_top.max() / a_top.min()), display=False)
glue("ch8_gamma", GAMMA, display=False)

# %%
fig = result.plot_explanation(result.top1, k=5)
glue("fig_ch8_explain", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch8_explain
# :name: fig-ch8-explain
#
# Left, the five sources with the largest weight $\alpha$ for the recommended model, each labelled
# with the model's accuracy and rank there; right, the block-importance distribution of the
# recommended model on your images (circles) against the best-covering source (squares), blocks from
# input to output.
# ```
#
# For {glue:text}`ch8_top1`, the best-covering source is {glue:text}`ch8_best_source` with
# $\alpha$ = {glue:text}`ch8_best_alpha:.2f`, where the model ranks {glue:text}`ch8_best_rank:g` in
# the zoo. Its effective number of sources $1 / \sum_S \alpha(S)^2$ (`result.effective_sources()`,
# {ref}`chapter 5 <ch-dcd>`) is {glue:text}`ch8_n_eff:.1f` of {glue:text}`ch8_n_sources`: the closer it is to the number of sources,
# the more evenly the score averages the model's ranks over all of them (the `avg_rank` baseline of
# {ref}`chapter 1 <ch-benchmarks>`), and the less it depends on your images. Here the DCDs of this model towards the sources
# span {glue:text}`ch8_dcd_span_top:.4f`, so with $\gamma$ = {glue:text}`ch8_gamma:g` its largest and
# smallest weights differ by a factor of only {glue:text}`ch8_alpha_ratio_top:.2f`;
# {glue:text}`ch8_n_flat` of the {glue:text}`ch8_n_models` models have an effective number of
# sources of at least 90% of the number of sources (`result.uniform_weights(model)`).
#
# ## How stable is the choice?
#
# A profile is a mean over images, so a different set of 25 images of the same task gives a slightly
# different profile, and perhaps a different winner. `select` measures this without any new
# conductance: it keeps the per-image block scalars of your images and resamples them. A bootstrap
# resample draws $n$ rows with replacement (the same rows for every model), pools them into a
# profile, and re-scores the zoo; over {glue:text}`ch8_n_boot` resamples, each model's share of
# wins is its top-1 probability.
#
# We rebuild that bootstrap: per model, the normalised per-image scalars
# $q_l(x) = c_l(x) / \sum_k c_k(x)$ and their mean over a resample, by hand; then, with the
# library, the importance ({ref}`chapter 4 <ch-profiles>`), DCD against every source ({ref}`chapter 5 <ch-dcd>`), the softmin and the
# utilities ({ref}`chapter 6 <ch-ranking>`). The per-image scalars are in the small
# profile store that `select` wrote under `work_dir` (`result.info["target_stores"]`).

# %% tags=["nbval-check-output"]
def target_scalars(model, scalar="abs"):
    """The per-image block scalars (n, L) of your images for one model."""
    for tdir in result.info["target_stores"]:
        if has_profile(tdir, model, "target"):
            return read_profile(tdir, model, "target")[0][scalar]
    raise KeyError(model)


models = list(result.alpha.index)
n = len(result.images)
idx = np.random.default_rng(SEED + 1).integers(0, n, size=(N_BOOT, n))
boot = np.empty((len(models), N_BOOT))
for i, m in enumerate(models):
    c = target_scalars(m)
    q = c / c.sum(axis=1, keepdims=True)  # (n, L)
    p = q[idx].mean(axis=1)  # (B, L): one profile per resample
    w = block_importance(p, ETA)  # (B, L)
    w_s = result.source_importance[m].to_numpy()  # (S, L)
    d = kl(w[:, None], w_s[None])  # (B, S): DCD of every source
    a = softmin_weights(d, GAMMA, axis=-1)  # (B, S)
    boot[i] = a @ u.loc[m].to_numpy()
winners = pd.Series(np.array(models)[boot.argmax(axis=0)])
p_top1 = winners.value_counts().reindex(models, fill_value=0) / N_BOOT
np.testing.assert_allclose(p_top1[ranked.index], ranked["p_top1"],
                           atol=1e-12)
lo = pd.Series(np.percentile(boot, 2.5, axis=1), index=models)
np.testing.assert_allclose(lo[ranked.index], ranked["score_lo"],
                           rtol=1e-9)
print("the rebuilt bootstrap's top-1 probabilities and intervals agree")

# %% [markdown]
# The same resampling at smaller sizes gives a curve: the probability $P_k$ that the chosen model is
# still top-1 with only $k$ of your images, for $k = n/4, n/2, 3n/4, n$. If a score's noise shrinks
# like $\sigma / \sqrt{k}$ (a mean over $k$ images) and the chosen model leads by $\delta$, then
# $P_k \approx \Phi(\delta \sqrt{k} / \sigma)$: the probit $\Phi^{-1}(P_k)$ is a straight line in
# $\sqrt{k}$. `select` fits that line and solves for the $k$ where $P$ reaches
# {glue:text}`ch8_stable_at:.0%`; below that threshold the choice is called *unstable* and the
# result suggests how many more images to add.

# %%
display(result.curve.style.format({"p_top1": "{:.3f}"}).hide(axis="index"))
k = result.curve["n_images"].to_numpy(dtype=float)
p_k = np.clip(result.curve["p_top1"].to_numpy(), 0.5 / N_BOOT,
              1 - 0.5 / N_BOOT)
slope, intercept = np.polyfit(np.sqrt(k), norm.ppf(p_k), 1)
np.testing.assert_allclose([intercept, slope],
                           [result.estimate.a, result.estimate.b],
                           rtol=1e-9, atol=1e-12)
print(result.stability_message)
glue("ch8_stability", result.stability_message, display=False)
glue("ch8_stable_at", result.stable_at, display=False)
glue("ch8_p_small", float(result.curve["p_top1"].iloc[0]), display=False)
glue("ch8_k_small", int(result.curve["n_images"].iloc[0]), display=False)
k_star = result.estimate.n_needed
glue("ch8_k_star", "" if k_star is None else (
    f" The fitted line reaches {result.stable_at:.0%} at about "
    f"{k_star:.0f} images."), display=False)

# %%
ax = result.plot_stability()
glue("fig_ch8_stability", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch8_stability
# :name: fig-ch8-stability
#
# Probability that the recommended model is top-1 (bootstrap, {glue:text}`ch8_n_boot` resamples)
# against the number of images resampled; dashed: the probit line fitted through the points; dotted:
# the {glue:text}`ch8_stable_at:.0%` threshold of a stable choice.
# ```
#
# {glue:text}`ch8_stability` With only {glue:text}`ch8_k_small` images the same model would have
# been top-1 with probability {glue:text}`ch8_p_small:.2f`.{glue:text}`ch8_k_star` Two cautions:
# the bootstrap only sees the variation *between images of the kind you gave*; it says nothing about
# whether the method is right for your task. And the extrapolation to more images assumes the new
# images look like the old ones.
#
# ## Was the recommendation right?
#
# A real user cannot answer this. We can: the mini benchmark holds every model's zero-shot accuracy
# on the {glue:text}`ch8_n_eval`-image evaluation split of {glue:text}`ch8_target`. We compare the
# predicted ranking with it, and with three rankings that need no images: the ImageNet-style
# baseline INB (rank by accuracy on the broad task `broad`), the average rank over the same sources,
# and a random ranking (its expected metrics). The metrics are those of {ref}`chapter 1 <ch-benchmarks>`; `top1_regret` is
# the best accuracy minus the accuracy of the predicted top-1.

# %%
true = bench.wide[TARGET_TASK]
order = list(ranked.index)
rows = {
    "DCD (select)": ranked["score"],
    "INB (broad)": held_out.wide["broad"],
    "avg_rank": u.mean(axis=1),
}
table = pd.DataFrame({
    name: metrics.ranking_metrics(pred[order].to_numpy(),
                                  true[order].to_numpy(), order)
    for name, pred in rows.items()}).T
table.loc["random (expected)"] = metrics.expected_random_metrics(
    true[order].to_numpy())
display(table.style.format("{:.3f}"))
true_rank = true[order].rank(ascending=False, method="min")
glue("ch8_true_best", true.idxmax(), display=False)
glue("ch8_true_best_acc", float(true.max()), display=False)
glue("ch8_top1_acc", float(true[result.top1]), display=False)
glue("ch8_top1_true_rank", int(true_rank[result.top1]), display=False)
glue("ch8_chance", 1.0 / task.n_classes, display=False)
for name, key in [("DCD (select)", "dcd"), ("INB (broad)", "inb"),
                  ("avg_rank", "avg")]:
    glue(f"ch8_regret_{key}", float(table.loc[name, "top1_regret"]),
         display=False)
    glue(f"ch8_taub_{key}", float(table.loc[name, "tau_b"]),
         display=False)
glue("ch8_taub_rand", 0.0, display=False)

# %%
fig, ax = plt.subplots(figsize=(7.0, 4.4))
ax.scatter(ranked["score"], true[order], marker="o",
           label="model of the zoo")
named = list(dict.fromkeys(order[:2] + [true.idxmax()]))
for j, m in enumerate(named):
    ax.annotate(m, (ranked.loc[m, "score"], true[m]), fontsize=8,
                xytext=(-6, 8 if j % 2 == 0 else -14),
                textcoords="offset points", ha="right")
ax.scatter(ranked.loc[result.top1, "score"], true[result.top1], s=200,
           facecolors="none", edgecolors="black", label="recommended")
ax.axhline(1.0 / task.n_classes, color="grey", linestyle=":",
           label=f"chance (1/{task.n_classes})")
ax.set_xlabel("predicted score (select)")
ax.set_ylabel(f"true zero-shot accuracy on '{TARGET_TASK}'")
ax.set_title("Prediction against the hidden ground truth")
ax.legend(loc="best")
glue("fig_ch8_ranked", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch8_ranked
# :name: fig-ch8-ranked
#
# Every ranked model's predicted score against its true zero-shot accuracy on the target task (which
# `select` never saw); the two highest-scored models and the truly best one are named, the recommended
# one is circled.
# ```
#
# The recommended {glue:text}`ch8_top1` has a true accuracy of {glue:text}`ch8_top1_acc:.3f` and
# is truly ranked {glue:text}`ch8_top1_true_rank` in the zoo; the best model,
# {glue:text}`ch8_true_best`, reaches {glue:text}`ch8_true_best_acc:.3f` (chance is
# {glue:text}`ch8_chance:.3f`). The top-1 regret is {glue:text}`ch8_regret_dcd:.3f` for DCD,
# {glue:text}`ch8_regret_inb:.3f` for INB and {glue:text}`ch8_regret_avg:.3f` for the average
# rank; Kendall's $\tau_b$ over the whole list is {glue:text}`ch8_taub_dcd:.2f`,
# {glue:text}`ch8_taub_inb:.2f` and {glue:text}`ch8_taub_avg:.2f` (a random ranking has 0 in
# expectation). This is **one** target: a single task can favour or disfavour any method by chance,
# which is why chapters {ref}`6 <ch-ranking>` and {ref}`7 <ch-ablations>` judge methods over every target of a benchmark with bootstrap
# intervals. What one run can show is that a confident bootstrap (a high top-1 probability) is
# confidence about the *images*, not about the ranking being right.
#
# ### A diagnostic: when your task is already a source
#
# What does `select` do when the store *does* hold your task, as if a user profiled a dataset that
# is already a source? We rerun it with the full benchmark; your images' profiles come from the
# cache, so this takes seconds. If the profiles recognise the kind of images, the target's own
# task should receive the largest weight $\alpha$ for many models, and the predicted ranking should
# move towards the true one (which is then, in effect, one of the inputs).

# %%
t0 = time.perf_counter()
leak = vlmsel.select(folder, method=METHOD, zoo="mini", benchmark=bench,
                     n_images=N_IMAGES, n_boot=N_BOOT, seed=SEED,
                     device=DEVICE, work_dir=WORK / "cache",
                     show_progress=False)
rerun_s = time.perf_counter() - t0
own = leak.alpha[TARGET_TASK]
own_first = int((leak.alpha.idxmax(axis=1) == TARGET_TASK).sum())
leak_m = metrics.ranking_metrics(
    leak.ranking.set_index("model")["score"][order].to_numpy(),
    true[order].to_numpy(), order)
print(f"rerun from the cache: {rerun_s:.1f} s "
      f"(computed {len(leak.info['computed'])}, "
      f"reused {len(leak.info['reused'])})")
print(f"alpha of '{TARGET_TASK}' itself: median {own.median():.2f}, "
      f"largest alpha for {own_first} of {len(own)} models")
print("metrics with the task as a source:",
      {k_: round(v, 3) for k_, v in leak_m.items()})
glue("ch8_rerun_s", rerun_s, display=False)
glue("ch8_own_median", float(own.median()), display=False)
glue("ch8_own_first", own_first, display=False)
glue("ch8_leak_taub", leak_m["tau_b"], display=False)
glue("ch8_leak_regret", leak_m["top1_regret"], display=False)
uniform = 1.0 / leak.alpha.shape[1]
if own_first > len(own) / 2:
    verdict = ("so for most models the profiles do recognise the kind of "
               "images they have seen.")
else:
    verdict = ("so for most models the profiles do not single it out: "
               "their weights stay close to uniform "
               f"(1/{leak.alpha.shape[1]} = {uniform:.2f}), as in the "
               "explanation above.")
glue("ch8_leak_verdict", verdict, display=False)

# %% [markdown]
# With the target's own task among the sources, it gets the largest weight for
# {glue:text}`ch8_own_first` of the {glue:text}`ch8_n_models` models (median $\alpha$
# {glue:text}`ch8_own_median:.2f`), {glue:text}`ch8_leak_verdict` $\tau_b$ becomes
# {glue:text}`ch8_leak_taub:.2f`, with a top-1 regret of {glue:text}`ch8_leak_regret:.3f`. This is a
# diagnostic of the profiles, not a result: a real selection never has the answer among its sources.
# The rerun took {glue:text}`ch8_rerun_s:.1f` s because nothing new had to be profiled.
#
# ## The cost-aware view
#
# Accuracy is rarely the only concern: a model that is slightly worse but several times cheaper may
# be the better choice. `plot_pareto` draws every model's predicted score against its image tower's
# GFLOPs per image; the Pareto-optimal ones (no other model is predicted better and cheaper) form a
# staircase. The most expensive model of the mini zoo costs {glue:text}`ch8_ratio_mini:.1f` times
# as much per image as the cheapest; in `openclip48` the factor is {glue:text}`ch8_ratio_oc48:.0f`.

# %%
ax = result.plot_pareto(label=3)
pareto = list(result.ranking.loc[result.ranking["pareto"], "model"])
oc48 = load_zoo("openclip48")
g_oc48 = np.array([e.image_gflops for e in oc48])
g_mini = result.ranking["image_gflops"]
glue("ch8_ratio_mini", float(g_mini.max() / g_mini.min()), display=False)
glue("ch8_ratio_oc48", float(np.nanmax(g_oc48) / np.nanmin(g_oc48)),
     display=False)
glue("ch8_gflops_mini", float(g_mini.median()), display=False)
glue("ch8_pareto", ", ".join(pareto), display=False)
glue("ch8_n_pareto", len(pareto), display=False)
glue("fig_ch8_pareto", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch8_pareto
# :name: fig-ch8-pareto
#
# Predicted score against image-tower GFLOPs per 64-pixel image for every ranked model; diamonds and
# the dashed staircase: the Pareto front; the circled model is the recommendation; the three highest-
# scored and the Pareto-optimal models are named.
# ```
#
# The {glue:text}`ch8_n_pareto` Pareto-optimal models are {glue:text}`ch8_pareto`. When there is a
# hard budget, `max_gflops` removes the models above it *before* anything is computed, which also
# saves their profiling time. The utilities $u_m(S)$ are ranks within the candidates, so the scores
# of the remaining models change a little: the method ranks the models you can afford among
# themselves.

# %%
budget = (MAX_GFLOPS if MAX_GFLOPS is not None
          else float(result.ranking["image_gflops"].median()))
cheap = vlmsel.select(folder, method=METHOD, zoo="mini", benchmark=held_out,
                      n_images=N_IMAGES, n_boot=N_BOOT, seed=SEED,
                      device=DEVICE, work_dir=WORK / "cache",
                      max_gflops=budget, show_progress=False)
print(f"max_gflops = {budget:.4g}: {len(cheap.ranking)} candidates, "
      f"{len(cheap.excluded)} not ranked")
print(cheap.table(5))
glue("ch8_budget", budget, display=False)
glue("ch8_cheap_top1", cheap.top1, display=False)
glue("ch8_cheap_top1_acc", float(true[cheap.top1]), display=False)

# %% [markdown]
# Within a budget of {glue:text}`ch8_budget:.4f` GFLOPs per image, the recommendation is
# {glue:text}`ch8_cheap_top1` (true accuracy on the target {glue:text}`ch8_cheap_top1_acc:.3f`).
#
# ## From the command line
#
# `vlmsel select` is a thin layer over the same function. It prints the ranking, the stability
# message and the reason for the top model, writes the full result as JSON (`--json`) and a report
# (`--report`). Since our folder's task is in the mini benchmark, we give the command the held-out
# ground truth as a CSV file (`--benchmark`; a wide table, one row per model); a real user leaves
# `--benchmark` out and gets the zoo's benchmark. `--work-dir` points at the same cache as above, so
# nothing is profiled again.

# %%
csv_path = WORK / f"mini_without_{TARGET_TASK}.csv"
held_out.wide.to_csv(csv_path)
json_path, report_path = WORK / "ranking.json", WORK / "report.html"
args = ["select", "--images", str(folder), "--zoo", "mini", "--top", "5",
        "--json", str(json_path), "--report", str(report_path),
        "--benchmark", str(csv_path), "--work-dir", str(WORK / "cache"),
        "--n-images", str(N_IMAGES), "--n-boot", str(N_BOOT),
        "--seed", str(SEED), "--device", DEVICE,
        "--threads", str(N_THREADS), "--method", METHOD]
print("$", shlex.join(["vlmsel", *args]).replace(str(WORK), "$WORK"))
t0 = time.perf_counter()
run = subprocess.run([sys.executable, "-m", "vlmsel", *args],
                     capture_output=True, text=True,
                     env={**os.environ, "VLMSEL_PROGRESS": "0"})
cli_s = time.perf_counter() - t0
print(run.stdout.replace(str(WORK), "$WORK"))
if run.returncode != 0:
    raise RuntimeError(f"vlmsel select failed:\n{run.stderr[-2000:]}")
glue("ch8_cli_s", cli_s, display=False)

# %% [markdown]
# The command took {glue:text}`ch8_cli_s:.0f` s, most of it starting Python and importing torch and
# open_clip, and drawing the report's figures. The JSON file holds the ranking, the stability
# numbers (with the bootstrap curve and the fitted line), the explanations of the leading models,
# the images used with their sha256, the settings and the versions: everything needed to audit or
# repeat the selection. It agrees with the Python call above:

# %% tags=["nbval-check-output"]
saved = json.loads(json_path.read_text())
print("keys:", ", ".join(saved))
assert saved["top1"] == result.top1
assert [r["model"] for r in saved["ranking"]] == result.models
np.testing.assert_allclose([r["score"] for r in saved["ranking"]],
                           result.ranking["score"], atol=1e-12)
print("the JSON ranking equals the API's")

# %% [markdown]
# The report is one HTML file: the recommendation and whether it is stable, a short guide to reading
# it, the table, the figures of this chapter, thumbnails of the images used and the settings. Every
# figure and thumbnail is embedded (base64 PNG) and the styles are inline, so it can be mailed or
# archived and opens without a network. We check that it references nothing outside itself:

# %% tags=["nbval-check-output"]
html = report_path.read_text(encoding="utf-8")
external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""",
                      html, flags=re.IGNORECASE)
scripts = re.findall(r"<(?:script|link|iframe)\b", html, flags=re.I)
embedded = html.count("data:image/png;base64,")
print(f"external references: {len(external)}, "
      f"script/link/iframe tags: {len(scripts)}")
print(f"embedded images: {'yes' if embedded > 10 else 'no'}")

# %% tags=["remove-input"]
# (not checked by nbval: the report's size varies with the timings it shows)
glue("ch8_report_kb", report_path.stat().st_size / 1024, display=False)
glue("ch8_report_images", embedded, display=False)

# %% [markdown]
# The file is {glue:text}`ch8_report_kb:.0f` KB with {glue:text}`ch8_report_images` embedded
# images. (Open it in a browser: in Colab, download it from the file pane.)
#
# ## Adding a model
#
# A model can be ranked when the store holds its profiles on every source dataset and the benchmark
# holds its ground truth on them. To add one you compute both, once:
#
# 1. its profiles on the sources, with one set of settings on all of them (`select` profiles your
#    images with each model's stored settings, and refuses a model whose source entries disagree);
#    use the store's settings, so that the store stays uniform (the number of images may differ:
#    the method pools at most `source_images` = 25 of each entry, the first 25 of a seeded order, so
#    we profile the 25 it uses although the committed entries hold 100). At real scale,
#    `vlmsel profile --models "ARCH TAG" --datasets all20 --data-root DATA --out STORE` with the
#    store's `--n-images`, `--n-steps` and the other settings ({ref}`chapter 9 <ch-paper-scale>`);
# 2. its zero-shot accuracy on every source: for a model in open_clip's published table it is
#    already in the `openclip121` benchmark (`benchmark="openclip121"`); otherwise
#    `vlmsel.data.zeroshot.evaluate_task` computes one cell per dataset, and `--benchmark your_table.csv`
#    (tidy `model,dataset,acc1` or wide) passes the table.
#
# The mini world makes this concrete: we copy the store *without* {glue:text}`ch8_add_model` and drop
# its row from the ground truth, then profile it on the sources into the copy and put its row back.
# (Computing a ground-truth column is shown in the next section, for a new source.)

# %%
glue("ch8_add_model", ADD_MODEL, display=False)
sources = result.info["sources"]
man = store.manifest(ADD_MODEL, sources[0])
store_settings = ProfileSettings(
    n_images=N_IMAGES, n_steps=man["n_steps"], seed=man["seed"],
    method=man["method"], rule=man["rule"], baseline=man["baseline"],
    objective=man["objective"], granularity=man["granularity"],
    precision=man["precision"])
print("the store's settings:", {k_: man[k_] for k_ in (
    "n_images", "n_steps", "seed", "method", "rule", "baseline",
    "objective", "granularity", "precision", "weights")})

store_m = WORK / "store_without_model"
shutil.copytree(store.path, store_m, ignore=lambda d, names: [
    x for x in names if x == model_slug(ADD_MODEL)])
bench_m = held_out.subset(
    models=[m for m in held_out.models if m != ADD_MODEL])
before_m = vlmsel.select(folder, method=METHOD, zoo="mini", profiles=store_m,
                         benchmark=bench_m, n_images=N_IMAGES,
                         n_boot=N_BOOT, seed=SEED, device=DEVICE,
                         work_dir=WORK / "cache", show_progress=False)
print(f"before: {len(before_m.ranking)} models ranked; not ranked:")
for m, why in before_m.excluded.items():
    print(f"  {m}: {why}")

# %%
t0 = time.perf_counter()
report_m = profile_mini(store_m, models=[ADD_MODEL], tasks=sources,
                        settings=store_settings, show_progress=False)
add_model_prof_s = time.perf_counter() - t0
# the recomputed entries reproduce the committed ones
diff = max(float(np.max(np.abs(
    ProfileStore(store_m).block_scalars(ADD_MODEL, t)
    - store.block_scalars(ADD_MODEL, t)[:N_IMAGES])
    / store.block_scalars(ADD_MODEL, t)[:N_IMAGES])) for t in sources)
# its ground truth: the row we removed (see the text)
row = held_out.wide.loc[[ADD_MODEL]]
bench_m2 = held_out.with_table(pd.concat([bench_m.wide, row]))
after_m = vlmsel.select(folder, method=METHOD, zoo="mini", profiles=store_m,
                        benchmark=bench_m2, n_images=N_IMAGES,
                        n_boot=N_BOOT, seed=SEED, device=DEVICE,
                        work_dir=WORK / "cache", show_progress=False)
after_scores = after_m.ranking.set_index("model")["score"]
np.testing.assert_allclose(after_scores[order], ranked["score"],
                           rtol=1e-5)
print(f"profiled {ADD_MODEL!r} on {len(sources)} sources in "
      f"{add_model_prof_s:.1f} s (largest relative difference from the "
      f"committed store: {diff:.1e})")
print(f"after: {len(after_m.ranking)} models ranked; {ADD_MODEL!r} is "
      f"number {after_m.models.index(ADD_MODEL) + 1}")
glue("ch8_add_model_prof_s", add_model_prof_s, display=False)
glue("ch8_add_model_rank", after_m.models.index(ADD_MODEL) + 1,
     display=False)
glue("ch8_add_model_diff", diff, display=False)

# %% [markdown]
# Profiling the model on the {glue:text}`ch8_n_sources` sources took
# {glue:text}`ch8_add_model_prof_s:.0f` s; the recomputed profiles match the committed ones on the
# same images (largest
# relative difference {glue:text}`ch8_add_model_diff:.1e`; another machine or thread count may change
# the last bits of the floating-point sums). Once added, the model ranks
# {glue:text}`ch8_add_model_rank` for our images, and the whole ranking is again the one of the first
# call (checked above). Your images did not need profiling again for the other models: their cache
# entries do not depend on which models are in the store. (Here even the added model's was cached,
# by the first call.)
#
# ## Adding a source dataset
#
# More sources give the softmin more tasks to match your images against. A source needs the profiles
# of every *candidate* model on it (same settings) and its ground-truth column: the models' zero-shot
# accuracy on a labelled split. `select` uses a dataset as a source only when both exist for every
# candidate. At real scale, for a published store, that is the whole zoo: `vlmsel profile --zoo
# openclip48 --images NAME=DIR --out STORE`, then a column `NAME` in the benchmark CSV (computed
# with `vlmsel.data.zeroshot.evaluate_task`, which needs the labels).
#
# If you only care about a shortlist, `models=` (`--models`) restricts the candidates, and the new
# source is needed for those alone. That is what we do here, to keep the chapter quick: we hold
# {glue:text}`ch8_add_source` out of the sources, then add it back for the
# {glue:text}`ch8_n_short` models that lead the first ranking, by computing their profiles and
# their ground truth on it.

# %%
glue("ch8_add_source", ADD_SOURCE, display=False)
shortlist = result.models[:N_SHORTLIST]
glue("ch8_n_short", len(shortlist), display=False)
store_s = WORK / "store_without_source"
shutil.copytree(store.path, store_s, ignore=lambda d, names: [
    x for x in names if x.rsplit(".", 1)[0] == ADD_SOURCE])
bench_s = held_out.subset(
    datasets=[d for d in held_out.datasets if d != ADD_SOURCE])
short = dict(zoo="mini", models=shortlist, n_images=N_IMAGES,
             n_boot=N_BOOT, seed=SEED, device=DEVICE,
             work_dir=WORK / "cache", show_progress=False)
before_s = vlmsel.select(folder, method=METHOD, profiles=store_s, benchmark=bench_s,
                         **short)
t0 = time.perf_counter()
report_s = profile_mini(store_s, models=shortlist, tasks=[ADD_SOURCE],
                        settings=store_settings, show_progress=False)
add_source_prof_s = time.perf_counter() - t0
t0 = time.perf_counter()
gt_s = compute_groundtruth(models=shortlist, tasks=[ADD_SOURCE],
                           n_images=N_EVAL)
add_source_gt_s = time.perf_counter() - t0
# rounded as in the committed CSV: the float32 mean 71/500 = 0.14200000464
# would otherwise break ties between models that the CSV holds
column = gt_s.set_index("model")["acc1"].rename(ADD_SOURCE).round(4)
np.testing.assert_allclose(column[shortlist],
                           bench.wide.loc[shortlist, ADD_SOURCE], atol=1e-4)
bench_s2 = bench_s.with_table(bench_s.wide.join(column))
after_s = vlmsel.select(folder, method=METHOD, profiles=store_s, benchmark=bench_s2,
                        **short)
# the same shortlist ranked from the committed store: identical
reference = vlmsel.select(folder, method=METHOD, benchmark=held_out, **short)
np.testing.assert_allclose(
    after_s.ranking.set_index("model")["score"][shortlist],
    reference.ranking.set_index("model")["score"][shortlist], rtol=1e-5)


def summary_row(res):
    return {"sources": len(res.info["sources"]), "top-1": res.top1,
            "P(top-1)": res.p_top1,
            "true accuracy": true[res.top1],
            "alpha (median)": (
                res.alpha[ADD_SOURCE].median()
                if ADD_SOURCE in res.alpha else np.nan)}


compare_s = pd.DataFrame({f"without {ADD_SOURCE}": summary_row(before_s),
                          f"with {ADD_SOURCE}": summary_row(after_s)}).T
display(compare_s.style.format(
    {"P(top-1)": "{:.0%}", "true accuracy": "{:.3f}",
     "alpha (median)": "{:.3f}"}, na_rep="-"))
glue("ch8_add_source_prof_s", add_source_prof_s, display=False)
glue("ch8_add_source_gt_s", add_source_gt_s, display=False)
glue("ch8_add_source_first",
     int((after_s.alpha.idxmax(axis=1) == ADD_SOURCE).sum()),
     display=False)
glue("ch8_add_source_per_model", add_source_prof_s / len(shortlist),
     display=False)
glue("ch8_n_zoo", len(bench.wide), display=False)
glue("ch8_add_source_zoo_s",
     add_source_prof_s / len(shortlist) * len(bench.wide), display=False)

# %% [markdown]
# *Table: the selection among the shortlist without and with {glue:text}`ch8_add_source` among the
# sources: the number of sources, the recommendation, its bootstrap top-1 probability, its true
# accuracy on the target (hidden from `select`) and the median weight of the new source.*
#
# Profiling the {glue:text}`ch8_n_short` models on the new source took
# {glue:text}`ch8_add_source_prof_s:.0f` s ({glue:text}`ch8_add_source_per_model:.1f` s per model,
# so about {glue:text}`ch8_add_source_zoo_s:.0f` s for the {glue:text}`ch8_n_zoo` models of the
# zoo) and its ground truth {glue:text}`ch8_add_source_gt_s:.0f` s. The new source is the
# best-covering one for {glue:text}`ch8_add_source_first` of the shortlisted models. With it back,
# the shortlist's scores are those computed from the committed store (checked above). Whether a new
# source helps depends on whether it resembles the targets users bring, as seen through each model's
# blocks: a source that no target resembles only gets a small, even share of $\alpha$.
#
# ## What it costs
#
# The expensive part of `select` is the conductance of your images through every model: $N$ images
# times $n + 1$ path points, a forward and a backward pass each. Here is what we measured on this
# machine, and what the library's cost model ({ref}`chapter 9 <ch-paper-scale>`'s `estimate_seconds`: image GFLOPs $\times N
# \times (n+1) \times 3$ divided by an effective throughput) predicts for the real zoo.

# %%
per_model = pd.Series({
    m: read_profile(d_, m, "target")[1]["wall_time_s"]
    for m in models for d_ in result.info["target_stores"]
    if has_profile(d_, m, "target")})
gfl = result.ranking.set_index("model")["image_gflops"]
est_mini = sum(estimate_seconds(gfl[m], n, settings["n_steps"], "cpu")
               for m in models)
from vlmsel.conductance.options import DEFAULT_N_STEPS

N_REAL, STEPS_REAL, N_SOURCES = 25, DEFAULT_N_STEPS, 20  # the package default n_steps


def zoo_seconds(entries, device):
    return sum(estimate_seconds(e.image_gflops, N_REAL, STEPS_REAL,
                                device) for e in entries)


cost = pd.DataFrame([
    {"what": f"select, mini zoo ({len(models)} models), this CPU",
     "kind": "measured", "seconds": select_s},
    {"what": "- of which: conductance of your images",
     "kind": "measured", "seconds": float(per_model.sum())},
    {"what": "- the same, predicted by the cost model",
     "kind": "estimate", "seconds": est_mini},
    {"what": f"select, openclip48 ({len(oc48)} models), CPU",
     "kind": "estimate", "seconds": zoo_seconds(oc48, "cpu")},
    {"what": "select, openclip48, one GPU",
     "kind": "assumption", "seconds": zoo_seconds(oc48, "cuda")},
    {"what": f"source store, openclip48 x {N_SOURCES} datasets, one GPU",
     "kind": "assumption",
     "seconds": N_SOURCES * zoo_seconds(oc48, "cuda")},
])
cost["hours"] = cost["seconds"] / 3600
display(cost.style.format({"seconds": "{:,.0f}", "hours": "{:.2f}"})
        .hide(axis="index"))
glue("ch8_cond_s", float(per_model.sum()), display=False)
glue("ch8_cond_per_model", float(per_model.mean()), display=False)
glue("ch8_est_mini", est_mini, display=False)
glue("ch8_oc48_cpu_h", zoo_seconds(oc48, "cpu") / 3600, display=False)
glue("ch8_oc48_gpu_min", zoo_seconds(oc48, "cuda") / 60, display=False)
glue("ch8_oc48_store_h", N_SOURCES * zoo_seconds(oc48, "cuda") / 3600,
     display=False)
glue("ch8_cpu_rate", THROUGHPUT_GFLOPS["cpu"], display=False)
glue("ch8_n_real", N_REAL, display=False)
glue("ch8_steps_real", STEPS_REAL, display=False)
glue("ch8_gpu_rate", THROUGHPUT_GFLOPS["cuda"], display=False)

# %% [markdown]
# *Table: the cost of a selection. "measured": timed in this chapter on this CPU
# ({glue:text}`ch8_n_used` images); "estimate": the cost model with the CPU throughput measured for
# ViT-B-32 on this machine ({glue:text}`ch8_cpu_rate:.0f` GFLOP/s effective); "assumption": the cost
# model with an assumed GPU throughput ({glue:text}`ch8_gpu_rate:.0f` GFLOP/s), not measured. The
# openclip48 rows assume $N$ = {glue:text}`ch8_n_real` and $n$ = {glue:text}`ch8_steps_real` and
# exclude downloading the weights.*
#
# - In the mini world, the conductance of our images took {glue:text}`ch8_cond_s:.0f` s in all
#   ({glue:text}`ch8_cond_per_model:.1f` s per model); the rest of the
#   {glue:text}`ch8_select_s:.0f` s is loading models, reading the store and the bootstrap. The cost
#   model predicts only {glue:text}`ch8_est_mini:.1f` s: it counts floating-point operations, and
#   these models are so small (a median of {glue:text}`ch8_gflops_mini:.3f` GFLOPs per image) that
#   fixed per-pass overheads dominate. It is calibrated for real-size models.
# - For `openclip48`, selecting for 25 images is an estimated {glue:text}`ch8_oc48_cpu_h:.0f` h on a
#   CPU like this one, and about {glue:text}`ch8_oc48_gpu_min:.0f` min on one GPU *if* the assumed
#   throughput holds. With `max_gflops` the large models drop out, and the cost with them.
# - Building the source store itself is the one-off cost, about {glue:text}`ch8_oc48_store_h:.0f` h of
#   GPU time under the same assumption, shared by every user once published. {ref}`Chapter 9 <ch-paper-scale>` shows how.

# %% tags=["remove-input"]
# The conclusion in words, from the numbers of this page.
r_dcd, r_inb, r_avg = (float(table.loc[n, "top1_regret"]) for n in
                       ("DCD (select)", "INB (broad)", "avg_rank"))


def versus(a, b):
    """How DCD's regret a compares with another method's b (for the prose)."""
    return ("as good a first choice as" if np.isclose(a, b) else
            "a better first choice than" if a < b else
            "a worse first choice than")


glue("ch8_c_inb", versus(r_dcd, r_inb), display=False)
glue("ch8_c_avg", versus(r_dcd, r_avg), display=False)
glue("ch8_c_stable", "stable" if result.p_top1 >= result.stable_at
     else "unstable", display=False)

# %% [markdown]
# (select-conclusions)=
# ## What this chapter concludes
#
# On the held-out mini task {glue:text}`ch8_target`, `select` recommends {glue:text}`ch8_top1`,
# which is truly ranked {glue:text}`ch8_top1_true_rank` of {glue:text}`ch8_n_models`: its top-1
# regret of {glue:text}`ch8_regret_dcd:.3f` makes it {glue:text}`ch8_c_inb` INB's pick
# ({glue:text}`ch8_regret_inb:.3f`) and {glue:text}`ch8_c_avg` average rank's
# ({glue:text}`ch8_regret_avg:.3f`). The bootstrap calls the choice {glue:text}`ch8_c_stable`
# (top-1 probability {glue:text}`ch8_p_top1:.0%`), a statement about the noise of the images, not
# about whether the method is right. Over every target of the benchmark
# ({ref}`ranking-conclusions`) INB's first choice is better than DCD's more often than not; on a new
# task, treat the recommendation as a short list to evaluate, and read the explanation: a model
# whose weights are nearly uniform ({glue:text}`ch8_n_flat` of {glue:text}`ch8_n_models` here) is
# ranked by its average rank, whatever your images.
#
# ## Discussion
#
# 1. A user sees a top-1 probability of 95%. What does that number promise, and what does it not?
# 2. When would you prefer the cost-aware view (the cheapest Pareto-optimal model) over the top-1?
# 3. Your task is not like any source task. Which part of the result would tell you, and what
#    should the method do then?

# %% [markdown]
# ## Summary
#
# - `vlmsel.select(folder, zoo=...)` runs the method for one new task: it profiles only your images
#   (cached), reads the source profiles from a store and the source ground truth from a benchmark,
#   and returns a `SelectionResult`. `vlmsel select --images DIR` does the same from a shell, with
#   `--json` and a self-contained `--report`.
# - The ranking is explained: the score is a weighted mean of the model's rank on the sources, with
#   weights from the softmin of DCD; `explain` and `blocks` show which sources and blocks drive it.
# - Stability comes for free: resampling the per-image scalars gives bootstrap intervals, top-1 and
#   top-5 probabilities, and a rough estimate of how many images would make an unstable choice
#   stable. It measures the noise of the images, not whether the method is right.
# - On this one mini target we could check the recommendation against the hidden ground truth; a
#   single target says little about a method, which is what chapters {ref}`6 <ch-ranking>` and {ref}`7 <ch-ablations>` measure.
# - Adding a model means profiling it on every source and knowing its ground truth there; adding a
#   source means profiling every candidate model on it (the whole zoo, for a published store) and
#   knowing their accuracy there. Both must use the store's settings.
#
# ## Exercises
#
# 1. How many models have a 95% score interval that overlaps the recommended model's? What does
#    that say about the ranking below the top?
# 2. Give `select` only 8 images (`n_images=8`). Why must the target profiles be recomputed, and
#    what happens to the top-1 probability?
# 3. Set `gamma=0` in `select`. Which baseline of {ref}`chapter 1 <ch-benchmarks>` do you get,
#    which model does it recommend here, and how does the explanation figure change?
# 4. Put one file that is not an image (a `notes.txt`) and one corrupt `.png` in the folder. What
#    do `select` and `select(..., skip_bad=True)` do?
#
# ```{dropdown} Solutions
# 1. {glue:md}`ch8_ex1_answer`
# 2. The cache key is a hash of the images used (and the settings), so 8 images are a new target:
#    each model profiles them once. Fewer images make each resample's profile noisier, so the top-1
#    probability usually drops: the stability curve above gives {glue:text}`ch8_p_small:.2f` at
#    {glue:text}`ch8_k_small` images.
# 3. With $\gamma = 0$ every source gets $\alpha = 1/S$ whatever your images: the score is each
#    model's mean rank utility over the sources, the `avg_rank` baseline, which recommends
#    {glue:text}`ch8_ex3_top1` here (`u.mean(axis=1).idxmax()`). The left panel of
#    {numref}`fig-ch8-explain` shows equal bars; the right panel still shows the blocks, which no longer matter.
# 4. `notes.txt` is skipped (its extension is not an image's) and listed in `result.skipped`. The
#    corrupt `.png` raises an `ImageReadError` naming the file; with `skip_bad=True`
#    (`--skip-bad`) it is skipped and listed instead, and the next image of the seeded order takes
#    its place.
# ```

# %% tags=["remove-input"]
# The answers of the exercises (shown in their solutions).
lo_top, hi_top = ranked.loc[result.top1, ["score_lo", "score_hi"]]
overlap = int(((ranked["score_hi"] >= lo_top)
               & (ranked["score_lo"] <= hi_top)).drop(result.top1).sum())
glue("ch8_ex1_answer", Markdown(
     f"{overlap} of the other {len(ranked) - 1} models "
     "(`(ranked.score_hi >= lo) & (ranked.score_lo <= hi)`): below the top "
     "few, the predicted order is within the noise of the images, so read "
     "the ranking as groups, not as a strict order."), display=False)
glue("ch8_ex3_top1", u.mean(axis=1).idxmax(), display=False)

# %% [markdown]
# ## References
#
# The works cited here are listed in the [bibliography](../book/bibliography.md).
