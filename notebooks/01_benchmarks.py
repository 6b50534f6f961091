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
# # 1. The model-selection problem and its benchmarks
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/main/notebooks/01_benchmarks.ipynb)
#
# **What you will learn**
#
# - what "choosing a vision-language model for a task" means, and how a selection method is judged;
# - the three public ground-truth tables (LOVM, open_clip's published results, SWAB) and how to load them
#   with `vlmsel.groundtruth`;
# - why no single model wins everywhere, and which datasets no model solves at all.

# %% tags=["remove-cell"]
# Colab bootstrap: installs vlmsel only when this notebook runs in Google Colab.
import subprocess
import sys

if "google.colab" in sys.modules:
    PACKAGE = "vlmsel[book] @ git+https://github.com/vlmsel/vlmsel"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE],
                   check=True)

# %% tags=["parameters"]
# Parameters (papermill); this chapter is cheap at any scale.
# The table explored in most detail: lovm | openclip48 | openclip121 | swab
BENCHMARK = "lovm"
METRIC = "acc1"  # lovm also has mean_per_class_recall
# "Near chance": the best model is below this multiple of chance accuracy.
NEAR_CHANCE_RATIO = 1.5

# %%
import numpy as np
import pandas as pd
from IPython.display import display
from myst_nb import glue

from vlmsel import groundtruth, plotting

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
# **benchmark**, a table of $A_m(t)$ for many models $m$ and datasets $t$. Each dataset in turn plays the
# new task (the *target*), its column is hidden, and the method's ranking is compared with the hidden
# column. The other datasets are *sources*: tasks whose results the method may use.
#
# ## The ground-truth tables
#
# `vlmsel.groundtruth.load_benchmark` returns every table in the same shape: a `Benchmark` whose `wide`
# attribute is a models $\times$ datasets DataFrame. The tables come from public repositories (LOVM
# {cite}`zohar2023lovm`, open_clip {cite}`cherti2023reproducible`, SWAB {cite}`yi2024swab`); vlmsel
# downloads each file once from a pinned commit and checks its sha256 before using it.

# %% tags=["nbval-check-output"]
names = ["lovm", "openclip48", "openclip121", "swab"]
benchmarks = {name: groundtruth.load_benchmark(name) for name in names}
overview = pd.DataFrame(
    [
        {"benchmark": n, "models": b.shape[0], "datasets": b.shape[1],
         "metric": b.metric, "mean value": round(float(b.wide.mean().mean()), 3)}
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
bench = groundtruth.load_benchmark(BENCHMARK, METRIC)
wide = bench.wide
for note in bench.notes:
    print("note:", note)
families = bench.model_info["family"].value_counts()
display(families.rename("models").to_frame())

# %% [markdown]
# ## Who wins where
#
# The heatmap shows every model's accuracy on every dataset of the chosen benchmark, models sorted by
# their mean accuracy. Bright rows are strong models; but a bright row is not bright everywhere.

# %%
order_models = wide.mean(axis=1).sort_values(ascending=False).index
order_sets = wide.mean(axis=0).sort_values(ascending=False).index
ax = plotting.heatmap(
    wide.loc[order_models, order_sets],
    cbar_label=f"zero-shot {bench.metric}",
    title=f"{bench.name}: {wide.shape[0]} models x {wide.shape[1]} datasets",
)

# %% [markdown]
# *Figure: zero-shot accuracy of every model (rows, strongest on average at the top) on every dataset
# (columns, easiest on the left) of the benchmark chosen in the parameters cell.*
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
# accuracy (LOVM calls it INB). It works exactly as well as a dataset's ranking of the zoo agrees with
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

# %% [markdown]
# *Figure: Kendall's tau between each dataset's ranking of the models and the ImageNet ranking. Bars to
# the left of zero are datasets where a better ImageNet model tends to be a worse model.*
#
# The median agreement is $\tau = ${glue:text}`ch1_tau_median:.2f`, but on
# {glue:text}`ch1_tau_min_dataset` it is $\tau = ${glue:text}`ch1_tau_min:.2f`: ImageNet accuracy
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
n_classes = {d: len(groundtruth.lovm_classnames(d)) for d in bench.datasets}
chance = 1.0 / pd.Series(n_classes)
ax = plotting.dataset_spread(
    wide, chance=chance, ylabel=f"zero-shot {bench.metric}",
    title="Spread of the zoo's accuracy on each dataset",
)

# %% [markdown]
# *Figure: distribution of the models' accuracies on each dataset (box: quartiles; whiskers: 1.5 IQR),
# sorted by the median; the black dash is chance, one over the number of classes.*

# %% tags=["nbval-check-output"]
near = pd.DataFrame({"chance": chance, "best": wide.max(), "median": wide.median()})
near["best / chance"] = near["best"] / near["chance"]
near_chance = near[near["best / chance"] < NEAR_CHANCE_RATIO]
near_chance = near_chance.sort_values("best / chance")
glue("ch1_n_near_chance", len(near_chance), display=False)
print(near_chance.round(3).to_string())

# %% [markdown]
# {glue:text}`ch1_n_near_chance` datasets are near chance for every model. On them, the "best" model is
# best by a small margin that a different sample of test images could reverse, and a ranking metric
# rewards or punishes a selection method mostly for noise. We keep them in every evaluation, as LOVM
# does, but the per-target breakdowns of chapter 6 show them separately.
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
    {"mean |diff|": diff.mean(), "max |diff|": diff.max(), "tau": pd.Series(tau)}
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
print(swab_diff.mean().sort_values(ascending=False).head(5).round(3).to_string())

# %% [markdown]
# The mean absolute difference between SWAB and LOVM is {glue:text}`ch1_swab_mean_diff:.3f`, and the
# best model differs on {glue:text}`ch1_swab_best_differs` datasets. **Never mix tables within one
# experiment**: every result in this book names the benchmark it was computed on.
#
# ## Summary
#
# - A selection method ranks a zoo for a target task; it is judged leave-one-dataset-out on a benchmark
#   of known zero-shot accuracies.
# - vlmsel loads four such tables (`lovm`, `openclip48`, `openclip121`, `swab`) as models $\times$
#   datasets DataFrames, from pinned and hash-checked upstream files.
# - Many models win somewhere; ImageNet accuracy ranks most datasets well and a few badly; several
#   datasets are near chance for every model.
#
# ## Exercises
#
# 1. Set `METRIC = "mean_per_class_recall"` in the parameters cell and rerun. Which datasets change their
#    winner?
# 2. Which model family wins most datasets of `openclip48`?
#
# ```{dropdown} Solutions
# 1. Compare `groundtruth.load_benchmark("lovm").wide.idxmax()` with the same for
#    `mean_per_class_recall`; the unbalanced datasets (diabetic retinopathy, pcam) are the ones to look at.
# 2. `b = groundtruth.load_benchmark("openclip48"); b.model_info.loc[b.wide.idxmax(), "family"].value_counts()`.
# ```
#
# ## References
#
# The works cited in this chapter ({cite}`zohar2023lovm,yi2024swab,cherti2023reproducible,radford2021clip,kendall1938tau`)
# are listed with all others in the [bibliography](../book/bibliography.md).
