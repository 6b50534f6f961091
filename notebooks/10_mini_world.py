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
# (ch-mini-world)=
# # 10. Lab: a LOVM in miniature
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/10_mini_world.ipynb)
#
# **What you will learn**
#
# - how the *mini world* that chapters {ref}`4 <ch-profiles>`-{ref}`8 <ch-select>` run on is made: eight generated image domains (digits,
#   letters, textures, land use, 3-D scenes, faces, signs, cells), seventeen labelled tasks in LOVM's form,
#   captions and a word-level tokenizer;
# - how a zoo of tiny CLIP models is trained contrastively on CPU, on pretraining mixtures that differ in
#   their *image-domain proportions*, as LAION, OpenAI and DataComp models differ;
# - the mini benchmark (zero-shot accuracy of every model on every task), and how the world was judged
#   **before any selection method ran on it**: by how much its task-similarity structure resembles LOVM's;
# - how to reproduce any piece of it (`vlmsel mini train | groundtruth | realism | profile`).
#
# Pretrained open_clip weights cannot be downloaded on the machines that build this book, and profiling
# fifty large models needs a GPU. The mini world is a miniature of a real benchmark in which everything is
# real: the models were trained on image-caption pairs, the ground truth is measured zero-shot accuracy,
# and the profiles are conductance of the trained encoders. A label-blind selection method can only work
# where tasks with similar images also rank the models similarly; this chapter shows how far that holds
# here, and where the miniature differs from LOVM.

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
# Parameters (papermill). Defaults are the CI scale.
SEED = 0
N_THREADS = 1  # torch CPU threads (the CI machine is small and shared)
MINI_DIR = None  # None: the committed mini world (data/mini)
DEMO_STEPS = 20  # steps of the live training demo (the zoo: 1400-2100)
DEMO_POOL = 480  # distinct pictures of the live demo (the zoo used 12000)
CHECK_MODEL = "mini-convnext synth"  # its ground truth is recomputed at the end

# %%
import json
import logging
import time
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")
warnings.filterwarnings("ignore", message="The figure layout has changed")
logging.getLogger().setLevel(logging.ERROR)  # open_clip's "initialized randomly"
warnings.filterwarnings("ignore", category=UserWarning, module="open_clip")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from myst_nb import glue

from vlmsel import plotting
from vlmsel.chapters import reproducible
from vlmsel.data.benchmarks import load_benchmark
from vlmsel.mini import gallery, tasks
from vlmsel.mini.captions import CAPTION_MODES, caption
from vlmsel.mini.domains import DOMAINS
from vlmsel.mini.groundtruth import compute_groundtruth, summary
from vlmsel.mini.mixtures import MIXTURES
from vlmsel.mini.models import ARCH_FAMILY, mini_tokenizer, model_dir
from vlmsel.mini.realism import acceptance, lovm_world, mini_world_table, realism_table, tau_matrix
from vlmsel.mini.training import train
from vlmsel.mini.paths import default_mini_dir, default_profile_store
from vlmsel.mini.zoo import MINI_ZOO, ZOO_PLAN, get_spec
from vlmsel.profiles.store import ProfileStore

rng = reproducible(SEED, threads=N_THREADS)
plotting.use_style()
root = default_mini_dir() if MINI_DIR is None else MINI_DIR

# %% [markdown]
# ## Eight image domains
#
# A *domain* is a generator of 64x64 RGB pictures with named attributes (a digit and a writing style, a
# land use and a sensor, a number of objects and their distance, ...). Each picture is a pure function of
# its attribute values and a seed, so the same seed gives the same pixels on every machine; nuisances
# (stroke width, position, lighting, background, noise) vary inside a domain. The domains imitate the
# kinds of datasets LOVM has:

# %%
domain_table = pd.DataFrame(
    [dict(domain=d.name, what=d.description,
          attributes=", ".join(f"{a} ({len(v)})" for a, v in d.attributes.items()))
     for d in DOMAINS.values()]).set_index("domain")
glue("n_domains", len(DOMAINS), display=False)
plotting.text_table(domain_table)

# %% [markdown]
# Eight random pictures of every domain (above each picture, the value of the domain's attribute with
# the most values, named under the domain on the left):

# %%
fig = plotting.image_grid(gallery.domain_samples(8, rng))
glue("fig_ch10_domains", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch10_domains
# :name: fig-ch10-domains
#
# Eight pictures of each mini domain (domain and the attribute shown on the left; above each picture,
# that attribute's value).
# ```
#
# ## Seventeen tasks
#
# A *task* is a labelled dataset like LOVM's: class names, prompt templates with `{c}`, and for each class
# the domain and the attribute values its pictures have. Sixteen tasks ask one question about one domain,
# two or three per domain (as LOVM has two satellite sets and two CLEVR tasks), so most targets have a
# source from their own domain and two (`dtd`, `fer`) have none. `broad` names sixteen kinds of picture
# from every domain; it plays ImageNet's role for the INB baseline ("pick the best model on ImageNet").

# %%
names = tasks.list_tasks()
task_table = pd.DataFrame(
    [dict(task=t, domain=tasks.get_task(t).domain, question=tasks.get_task(t).question,
          like=tasks.get_task(t).like, classes=tasks.get_task(t).n_classes,
          chance=1 / tasks.get_task(t).n_classes) for t in names]).set_index("task")
t0 = time.perf_counter()
sample_data = tasks.make_task_data("clevr_count", n=100, seed=SEED)
gen_time = time.perf_counter() - t0
glue("n_tasks", len(names), display=False)
glue("gen_time", gen_time, display=False)
glue("n_eval", tasks.DEFAULT_N_IMAGES, display=False)
plotting.text_table(task_table, {"chance": "{:.3f}"})

# %% [markdown]
# Every task has {glue:text}`n_eval` evaluation pictures with balanced labels; rendering 100 of them
# (`clevr_count`) takes {glue:text}`gen_time:.2f` s here.
#
# ## Captions and the tokenizer
#
# Contrastive pretraining needs image-caption pairs. Every domain writes captions that name its kind of
# picture and some of its attributes. Batches are made of groups of four pictures that share every
# attribute but one (hard negatives, so that a tiny model must learn the attribute and not only the
# domain); a `focused` caption names the attribute the group varies, `full` names all, `sparse` one at
# random (short alt-text), and `noisy` drops and replaces words. One picture, captioned each way:

# %%
attrs = DOMAINS["scenes3d"].sample(np.random.default_rng(SEED + 1))
print("attributes:", attrs, "- the group varies 'count'")
for mode in CAPTION_MODES:
    print(f"{mode:>8}: {caption('scenes3d', attrs, 'count', mode, np.random.default_rng(SEED))}")

# %% [markdown]
# The tokenizer is word-level over the closed vocabulary of every domain's and task's words
# ({glue:text}`vocab_size` words), padded to {glue:text}`context_length` tokens, with start and end
# tokens like CLIP's; it is registered with open_clip for the mini models.

# %% tags=["nbval-check-output"]
tok = mini_tokenizer()
ids = tok(["a photo of a stop sign."])[0]
glue("vocab_size", len(tok.words), display=False)
glue("context_length", int(ids.shape[0]), display=False)
print(ids.tolist())

# %% [markdown]
# ## The zoo: tiny CLIP models on different mixtures of domains
#
# Every mini model is an ordinary open_clip model: a registered config (a ViT, a ModifiedResNet, a timm
# ConvNeXt or a timm ViT image tower, each 12 blocks deep; the same small text transformer for all)
# trained with open_clip's `ClipLoss`. What differs is the *pretraining mixture*: which domains a model
# sees and how often, how many distinct pictures, how long, and how well captioned.

# %%
weights = pd.DataFrame({m.name: m.weights() for m in MIXTURES.values()}).T
fig, ax = plt.subplots(figsize=(7.2, 3.9))
plotting.heatmap(weights, ax=ax, annot=True, fmt=".2f", vmax=float(weights.to_numpy().max()),
                 cbar_label="share of pretraining groups", xlabel="image domain", ylabel="mixture",
                 title="Image-domain proportions of the pretraining mixtures")
glue("fig_ch10_mixtures", plt.gcf(), display=False)
plt.close("all")
mixtures = pd.DataFrame([dict(mixture=m.name, description=m.description, captions=m.captions,
                              pictures=m.pool_size, steps=m.steps) for m in MIXTURES.values()]
                        ).set_index("mixture")
plotting.text_table(mixtures)

# %% [markdown]
# ```{glue:figure} fig_ch10_mixtures
# :name: fig-ch10-mixtures
#
# Share of each domain (columns) in each pretraining mixture (rows). `web` and its variants are
# generalists; `openai` is web-like with a different balance; the others are specialists on one or two
# domains.
# ```
#
# The committed zoo, with what each training run recorded in its manifest:

# %%
rows, curves = [], {}
for spec in MINI_ZOO:
    man = json.loads((model_dir(spec.name, root) / "training.json").read_text())
    curves[spec.name] = np.asarray(man["loss"]["curve_step_mean"], dtype=float)
    rows.append(dict(model=spec.name, family=ARCH_FAMILY[spec.arch], mixture=spec.mixture,
                     params_M=man["params"] / 1e6, steps=man["steps"],
                     final_loss=man["loss"]["last_10pct_mean"], train_min=man["wall_time_s"] / 60))
zoo = pd.DataFrame(rows).set_index("model")
glue("n_models", len(zoo), display=False)
glue("n_families", zoo["family"].nunique(), display=False)
glue("train_total_min", float(zoo["train_min"].sum()), display=False)
glue("train_median_min", float(zoo["train_min"].median()), display=False)
glue("train_max_min", float(zoo["train_min"].max()), display=False)
zoo.style.format({"params_M": "{:.2f}", "final_loss": "{:.2f}", "train_min": "{:.1f}"})

# %%
fig = plotting.panel_curves(
    {arch.replace("mini-", ""): {mix: (curves[f"{arch} {mix}"][:, 0],
                                       curves[f"{arch} {mix}"][:, 1])
                                 for mix in ZOO_PLAN[arch]}
     for arch in ZOO_PLAN},
    xlabel="step", ylabel="contrastive loss", height=3.6)
glue("fig_ch10_training", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch10_training
# :name: fig-ch10-training
#
# Contrastive loss during pretraining, one panel per architecture, one line per mixture (window means
# from the training manifests); a mixture has the same colour, marker and dash in every panel. Losses are comparable only within a mixture's kind of batch: a
# `web-small` model sees 1,600 distinct pictures and can memorise them, a `web-noisy` one contrasts
# captions with words dropped.
# ```
#
# The {glue:text}`n_models` models ({glue:text}`n_families` tower families) took
# {glue:text}`train_total_min:.0f` CPU-minutes in all (median {glue:text}`train_median_min:.1f`, at most
# {glue:text}`train_max_min:.1f` minutes per model, one torch thread each, two at a time on a two-core
# machine). Training is seeded: the same spec, seed and thread count give the same weights. Here is the
# loop itself, run live for {glue:text}`demo_steps` steps on a small pool:

# %%
spec = get_spec("mini-rn-w8 web")
t0 = time.perf_counter()
state = train(spec, steps=DEMO_STEPS, pool_size=DEMO_POOL, show_progress=False)
demo_time = time.perf_counter() - t0
again = [train(spec, steps=2, pool_size=DEMO_POOL, show_progress=False) for _ in range(2)]
same = all(torch.equal(a, b) for a, b in zip(again[0].model.state_dict().values(),
                                             again[1].model.state_dict().values()))
glue("demo_steps", DEMO_STEPS, display=False)
glue("demo_time", demo_time, display=False)
print(f"loss: first {state.losses[0]:.2f}, last {state.losses[-1]:.2f}; "
      f"two seeded runs give identical weights: {same}")

# %% [markdown]
# {glue:text}`demo_steps` steps took {glue:text}`demo_time:.1f` s here, pool rendering included. To
# retrain a committed model: `vlmsel mini train --force --model "mini-rn-w8 web"` (without `--model`:
# the whole zoo; `--shard K/N` splits it between parallel workers).
#
# ## The mini benchmark
#
# The ground truth is the zero-shot top-1 accuracy of every model on the {glue:text}`n_eval` evaluation
# pictures of every task, computed by {func}`vlmsel.data.zeroshot.evaluate_zero_shot`, the same function
# as for open_clip models. It is the benchmark `mini` of the data layer, like `lovm` or `openclip48`:

# %%
bench = load_benchmark("mini")
wide = bench.wide
rescaled = (wide - wide.min()) / (wide.max() - wide.min())
fig, ax = plt.subplots(figsize=(7.2, 7.4))
plotting.heatmap(rescaled, ax=ax, cbar_label="accuracy rescaled per task (0: worst, 1: best)",
                 xlabel="task", ylabel="model", title="Who is good where? The mini benchmark")
ax.tick_params(labelsize=7)
glue("fig_ch10_benchmark", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch10_benchmark
# :name: fig-ch10-benchmark
#
# Zero-shot top-1 accuracy of every mini model (rows) on every task (columns), rescaled per task from
# the worst model (0) to the best (1); the table below gives the accuracies themselves.
# ```
#
# Per task: the best model, what INB picks (the best model on `broad`) and what that pick loses against
# the best (its *regret*):

# %% tags=["nbval-check-output"]
summ = summary(wide, reference=bench.reference_dataset)
winners = summ["best_model"].nunique()
glue("n_winners", winners, display=False)
glue("inb_pick", summ["inb_pick"].iloc[0], display=False)
glue("inb_mean_regret", float(summ["inb_regret"].mean()), display=False)
glue("inb_bad_tasks", int((summ["inb_regret"] > 0.1).sum()), display=False)
summ[["chance", "best_model", "best", "median", "inb_regret"]].round(2)

# %% [markdown]
# {glue:text}`n_winners` different models are best somewhere. INB picks {glue:text}`inb_pick` for every
# task; its mean regret is {glue:text}`inb_mean_regret:.2f` accuracy points, and it loses more than 0.1
# on {glue:text}`inb_bad_tasks` of the {glue:text}`n_tasks` tasks.
#
# (mini-realism)=
# ## Is it like LOVM? The realism check
#
# A world built so that one method wins tells nothing, and a world without structure cannot tell whether
# a method works. So the mini world was judged, before any selection method was run on it, by figures that
# need no profile, side by side with LOVM's real table (35 models x 23 datasets; domain = first word of
# LOVM's `dataset_domains.json`). The rule was fixed in advance: tasks of the same image domain must rank
# the models clearly more alike than tasks of different domains (a gap of at least 0.10 in mean Kendall
# tau), and the mean tau must be within 0.15 of LOVM's. `vlmsel mini realism` prints the same table.

# %% tags=["nbval-check-output"]
lovm, mini = lovm_world(), mini_world_table(MINI_DIR)
realism = realism_table([lovm, mini])
accepted, lines = acceptance(realism)
glue("realism_accepted", "accepted" if accepted else "not accepted", display=False)
for key in ("mean_tau", "same_domain_tau", "cross_domain_tau", "best_source_tau", "share_above_chance",
            "share_negative"):
    glue(f"lovm_{key}", float(realism.at[key, "LOVM"]), display=False)
    glue(f"mini_{key}", float(realism.at[key, "mini"]), display=False)
print("\n".join(lines))

# %%
realism.set_index("what").style.format(lambda v: f"{v:.0f}" if float(v).is_integer() else f"{v:.3f}")

# %% [markdown]
# The world is {glue:text}`realism_accepted`. Tasks of one domain rank the zoo alike (mean tau
# {glue:text}`mini_same_domain_tau:.2f`, LOVM {glue:text}`lovm_same_domain_tau:.2f`) and tasks of
# different domains less so ({glue:text}`mini_cross_domain_tau:.2f`, LOVM
# {glue:text}`lovm_cross_domain_tau:.2f`); the mean tau is {glue:text}`mini_mean_tau:.2f` against
# LOVM's {glue:text}`lovm_mean_tau:.2f`, and a perfect chooser of one source would find a source with tau
# {glue:text}`mini_best_source_tau:.2f` on average (LOVM {glue:text}`lovm_best_source_tau:.2f`). Where it
# differs, plainly: only {glue:text}`mini_share_above_chance:.0%` of the cells are above 1.5 x chance
# (LOVM {glue:text}`lovm_share_above_chance:.0%`), because the ViTs stay near chance on the fine-grained
# tasks and three tasks (`speed_limits`, `clevr_shape`, `svhn`) are hard for every model, so their rankings
# are partly sampling noise; fewer task pairs are negative ({glue:text}`mini_share_negative:.0%` against
# {glue:text}`lovm_share_negative:.0%`); the convolutional towers win most tasks. The design iterations and
# their figures are recorded in `data/mini/README.md`.
#
# The task-by-task tau matrix, ordered by domain, shows the blocks that a label-free method has to find
# from images alone:

# %%
order = sorted(names, key=lambda t: (list(DOMAINS).index(tasks.get_task(t).domain)
                                     if tasks.get_task(t).domain in DOMAINS else len(DOMAINS), t))
tau = tau_matrix(wide[order])
fig, ax = plt.subplots(figsize=(7.2, 6.2))
plotting.heatmap(tau, ax=ax, annot=True, fmt=".1f", cmap="RdBu_r", vmin=-1, vmax=1,
                 cbar_label="Kendall tau between rankings", xlabel="task", ylabel="task",
                 title="Do two tasks rank the mini zoo alike?")
doms = [tasks.get_task(t).domain for t in order]
for k in range(1, len(order)):  # lines between domains
    if doms[k] != doms[k - 1]:
        ax.axhline(k, color="black", lw=0.8)
        ax.axvline(k, color="black", lw=0.8)
ax.tick_params(labelsize=7)
glue("fig_ch10_task_tau", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch10_task_tau
# :name: fig-ch10-task-tau
#
# Kendall tau between the rankings of the mini zoo on every pair of tasks (1: the same order), tasks
# grouped by domain (black lines between domains; `broad` last).
# ```
#
# ## The profile stores
#
# The committed stores hold the per-image block conductance of every model on 100 pictures of every task,
# for the label-free objective (the L2 norm of the image embedding, {ref}`method-objective`) and for the
# task-aware `zs_max_logit`, with the method's settings otherwise. Chapters pool the first N of them
# (`MethodOptions.source_images`, default 25, the paper's N), so N can vary from 5 to 100 without
# profiling again.

# %%
store_rows = []
for objective in ("norm", "zs_max_logit"):
    store = ProfileStore(default_profile_store(MINI_DIR, objective=objective))
    mans = [store.manifest(m, d) for m in store.models for d in store.datasets if store.has(m, d)]
    store_rows.append(dict(objective=objective, entries=len(mans),
                           models=len(store.models), tasks=len(store.datasets),
                           images=min(m["n_images"] for m in mans),
                           n_steps=mans[0]["n_steps"], rule=mans[0]["rule"],
                           cpu_min=sum(m["wall_time_s"] for m in mans) / 60))
stores = pd.DataFrame(store_rows).set_index("objective")
glue("store_minutes", float(stores["cpu_min"].sum()), display=False)
stores.style.format({"cpu_min": "{:.0f}"})

# %% [markdown]
# Profiling both stores took {glue:text}`store_minutes:.0f` CPU-minutes (one thread per process).
#
# ## The committed artifacts reproduce
#
# The weights are committed in fp16 (the whole zoo is about 20 MB) and the ground truth was computed from
# those weights. Recomputing one model's row from the committed weights, on the same
# {glue:text}`n_eval` pictures per task, gives the committed numbers:

# %%
t0 = time.perf_counter()
fresh = compute_groundtruth([CHECK_MODEL], root=root, n_images=tasks.DEFAULT_N_IMAGES)
gt_time = time.perf_counter() - t0
fresh = fresh.set_index("dataset")["acc1"]
diff = float((fresh - wide.loc[CHECK_MODEL, fresh.index]).abs().max())
glue("gt_time", gt_time, display=False)

# %% tags=["nbval-check-output"]
print(f"{CHECK_MODEL}: max |recomputed - committed| = {diff:.4f}")

# %% [markdown]
# One model on all {glue:text}`n_tasks` tasks took {glue:text}`gt_time:.1f` s. The whole mini world is
# rebuilt with four commands (times measured when the committed artifacts were made are in
# `data/mini/README.md`):
#
# ```bash
# vlmsel mini train          # every zoo model (skips trained ones; --force retrains)
# vlmsel mini groundtruth    # data/mini/groundtruth.csv and models.csv
# vlmsel mini realism        # the world's figures beside LOVM's (decided before any method ran)
# vlmsel mini profile                           # data/mini/profiles (100 images per task)
# vlmsel mini profile --objective zs_max_logit  # data/mini/profiles_zs_max_logit
# ```
#
# ## Summary
#
# - {glue:text}`n_domains` generated image domains and {glue:text}`n_tasks` LOVM-style tasks, two or three
#   per domain plus a broad one that plays ImageNet's role; everything is seeded.
# - {glue:text}`n_models` tiny open_clip models in {glue:text}`n_families` tower families, trained on CPU on
#   mixtures that differ in image-domain proportions, data and caption quality.
# - Their zero-shot accuracies form the benchmark `mini`, with {glue:text}`n_winners` different winners.
#   Its task-similarity structure was checked against LOVM's before any method ran: same-domain tasks rank
#   the models alike and the mean tau is close to LOVM's; fewer cells are clearly above chance.
#
# ## Exercises
#
# 1. Which task has the highest tau with `broad`, and which the lowest? What does that predict for INB
#    on those two tasks? Check with the summary table.
# 2. Add a mixture (a `Mixture` with your own domain weights) and train `mini-rn-w8` on it with
#    `train(MiniModelSpec("mini-rn-w8", ...))` after adding it to `MIXTURES`; evaluate it with
#    `compute_groundtruth`. Does it win the domains you weighted up?
# 3. The realism check says nothing about any selection method. Name one figure of the table that a
#    label-free method could exploit and one that would make any method look good or bad by luck.
#
# ```{dropdown} Solutions
# 1. `tau["broad"].drop("broad").sort_values()` gives the order. A task with a high tau with `broad` is
#    one where the best model on `broad` is also good, so INB's regret there is small; a task with a low or
#    negative tau is where INB's pick is poor (compare `summ["inb_regret"]`).
# 2. Specialists in the committed zoo win their own domains (`med` on cells, `street` on faces and signs,
#    `earth` on aerial), so a model trained mostly on one domain usually ranks near the top there and below
#    the generalists elsewhere; with 1,400 steps the effect is clearest for the convolutional towers.
# 3. Exploitable: the same-domain versus cross-domain tau gap (tasks with similar images rank models
#    alike, so a method that recognises similar images can pick good sources). Luck: tasks near chance for
#    every model (`speed_limits`, `clevr_shape`), whose rankings are mostly sampling noise, so any method's
#    score on them is noise too.
# ```
#
# ## References
#
# The works cited here are listed in the [bibliography](../book/bibliography.md).
