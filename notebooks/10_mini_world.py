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
# (ch-mini-world)=
# # 10. Lab: a mini world you can train
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/main/notebooks/10_mini_world.ipynb)
#
# **What you will learn**
#
# - how the *mini world* that chapters 4-8 run on is made: generated 64x64 scenes, captions that
#   describe them, a word-level tokenizer and twelve labelled tasks in LOVM's form (class names and
#   prompt templates);
# - how a zoo of tiny CLIP models is trained contrastively on CPU, each on a different pretraining
#   mixture, and why the mixtures make different specialists;
# - the mini benchmark: zero-shot accuracy of every model on every task, computed with the same code as
#   for open_clip models, and why it is a real selection problem (different winners, a weak INB);
# - how to reproduce any piece of it (`vlmsel mini train | groundtruth | profile`).
#
# Pretrained open_clip weights cannot be downloaded on the machines that build this book, and profiling
# fifty large models needs a GPU. The mini world is a miniature of the real benchmark in which
# everything is real: the models were actually trained on image-caption pairs, the ground truth is
# measured zero-shot accuracy, and the profiles are conductance of the trained encoders. It is small
# enough to rebuild on a laptop, which makes it a lab for a course.

# %% tags=["remove-cell"]
# Colab bootstrap: installs vlmsel only when this notebook runs in Google Colab.
import subprocess
import sys

if "google.colab" in sys.modules:
    PACKAGE = "vlmsel[book] @ git+https://github.com/vlmsel/vlmsel"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE],
                   check=True)

# %% tags=["parameters"]
# Parameters (papermill). Defaults are the CI scale.
SEED = 0
N_THREADS = 1  # torch CPU threads (the CI machine is small and shared)
MINI_DIR = None  # None: the committed mini world (data/mini)
DEMO_STEPS = 30  # steps of the live training demo (the zoo: 700-1400)
DEMO_POOL = 480  # distinct scenes of the live demo (the zoo used 12000)
# a committed model whose ground truth is recomputed at the end
CHECK_MODEL = "mini-rn-w8 count"

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
from vlmsel.data.benchmarks import load_benchmark
from vlmsel.mini import captions, tasks
from vlmsel.mini.groundtruth import compute_groundtruth, summary
from vlmsel.mini.models import mini_tokenizer, model_dir
from vlmsel.mini.zoo import MINI_ZOO, get_spec
from vlmsel.mini.scenes import sample_scenes
from vlmsel.mini.training import MIXTURES, train
from vlmsel.mini.world import default_mini_dir

torch.set_num_threads(N_THREADS)
plotting.use_style()
root = default_mini_dir() if MINI_DIR is None else MINI_DIR

# %% [markdown]
# ## Scenes and tasks
#
# A *scene* is a small description: one to four shapes (circle, square, triangle, diamond, cross,
# ring) with a colour, size and position, or a handwritten digit from scikit-learn's bundled digits,
# on a background texture (plain, striped with an orientation, dotted, checkered, grid, noisy). A
# seeded renderer turns it into a 64x64 RGB image, so the same seed gives the same pixels on every
# machine. A *task* is a labelled dataset like LOVM's: class names, prompt templates with `{c}`, and
# one scene distribution per class, so that every task has its own images (a label-free profile only
# sees images: two tasks that relabel the same images would be indistinguishable). Here are the
# twelve tasks with one example per class (at most six shown):

# %%
names = tasks.list_tasks()
t0 = time.perf_counter()
data = {t: tasks.make_task_data(t, n=60, seed=SEED) for t in names}
gen_time = time.perf_counter() - t0
glue("n_tasks", len(names), display=False)

fig, axes = plt.subplots(len(names), 6, figsize=(7.2, 1.3 * len(names)))
for row, t in zip(axes, names):
    d = data[t]
    shown = [int(np.flatnonzero(d.labels == k)[0])
             for k in range(min(6, len(d.classnames)))]
    for ax in row:
        ax.axis("off")
    for ax, i in zip(row, shown):
        ax.imshow(d.images[i])
        ax.set_title(d.classnames[d.labels[i]], fontsize=7)
    row[0].text(-0.15, 0.5, t, transform=row[0].transAxes, ha="right",
                va="center", fontsize=8, fontweight="bold")
plt.tight_layout()
plt.show()

# %% [markdown]
# *One image per class of every mini task (task name on the left, class name above each image).*

# %%
task_table = pd.DataFrame(
    [dict(task=t, classes=tasks.get_task(t).n_classes,
          chance=1 / tasks.get_task(t).n_classes,
          description=tasks.get_task(t).description) for t in names]
).set_index("task")
task_table.style.format({"chance": "{:.3f}"})

# %% [markdown]
# `broad` plays ImageNet's role: many classes of several kinds, the task whose best model the INB
# baseline ("pick the best model on ImageNet") recommends for everything. Generating the 60 images
# of each task above took {glue:text}`gen_time:.2f` s; the evaluation split of a task has 500 images.
#
# ## Captions and the tokenizer
#
# Contrastive pretraining needs image-caption pairs. A caption generator describes a scene in words, in
# several *styles*: all attributes, only the colour, only the shape, counting, texture, layout, one
# random attribute (short alt-text), or noisy (words dropped and replaced):

# %%
glue("gen_time", gen_time, display=False)
scene = sample_scenes(1, seed=SEED + 3)[0]
rng = np.random.default_rng(SEED)
for style in captions.CAPTION_STYLES:
    print(f"{style:>8}: {captions.caption(scene, style, rng)}")

# %% [markdown]
# The tokenizer is word-level over a closed vocabulary of {glue:text}`vocab_size` words (colours, shapes,
# numbers, textures, positions and a few function words), padded to a context of
# {glue:text}`context_length` tokens, with start and end tokens like CLIP's.

# %% tags=["nbval-check-output"]
tok = mini_tokenizer()
ids = tok(["a picture of two red circles."])[0]
glue("vocab_size", len(tok.words), display=False)
glue("context_length", int(ids.shape[0]), display=False)
print(ids.tolist())

# %% [markdown]
# ## The zoo: tiny CLIP models, different pretraining mixtures
#
# Every mini model is an ordinary open_clip model: a config registered with open_clip (a ViT of a
# given patch size, width and depth, a ModifiedResNet, or a timm ConvNeXt image tower; the same small
# text transformer for all) trained with open_clip's `ClipLoss`. What differs is the *pretraining
# mixture*: which scenes a model sees, which attributes its batches contrast, and how they are
# captioned. A batch is made of groups of four scenes that share every attribute but one (hard
# negatives), captioned with one phrasing, so the captions of a group differ only in the varied
# attribute. Without such groups a tiny model solves the contrastive task with colour and background
# alone and never learns shapes or positions. The mixtures:

# %%
pd.DataFrame([dict(mixture=m.name, description=m.description)
              for m in MIXTURES.values()]).set_index("mixture").style

# %% [markdown]
# The committed zoo, with what each training run recorded in its manifest:

# %%
rows = []
curves = {}
for spec in MINI_ZOO:
    path = model_dir(spec.name, root) / "training.json"
    man = json.loads(path.read_text())
    curves[spec.name] = man["loss"]["curve_step_mean"]
    rows.append(dict(model=spec.name, arch=spec.arch, mixture=spec.mixture,
                     params_M=man["params"] / 1e6,
                     steps=man["steps"], final_loss=man["loss"]["last_10pct_mean"],
                     train_min=man["wall_time_s"] / 60))
zoo = pd.DataFrame(rows).set_index("model")
glue("n_models", len(zoo), display=False)
glue("train_total_min", float(zoo["train_min"].sum()), display=False)
glue("train_median_min", float(zoo["train_min"].median()),
     display=False)
zoo.style.format({"params_M": "{:.2f}", "final_loss": "{:.2f}",
                  "train_min": "{:.1f}"})

# %%
fig, ax = plt.subplots(figsize=(7.2, 3.6))
for name, curve in curves.items():
    c = np.asarray(curve, dtype=float)
    ax.plot(c[:, 0], c[:, 1], lw=1.2, label=name)
ax.set_xlabel("training step")
ax.set_ylabel("contrastive loss (window mean)")
ax.set_title("Training curves of the mini zoo")
ax.legend(fontsize=6, ncol=2, loc="upper right")
plt.show()

# %% [markdown]
# *Contrastive loss of every mini model during pretraining (means over windows of steps, from the
# training manifests). The loss floor differs by mixture: "small" sees only 1500 distinct scenes and
# memorises them, focused mixtures have easier captions than broad ones.*
#
# The {glue:text}`n_models` models took {glue:text}`train_total_min:.0f` minutes of CPU in all
# (median {glue:text}`train_median_min:.1f` minutes each, one torch thread per model, two models at a
# time on a two-core machine). Training is seeded: the same spec, seed and thread count give the same
# weights. Here is the loop itself, run live for {glue:text}`demo_steps` steps on a small pool:

# %%
spec = get_spec("mini-rn-w8 count")
t0 = time.perf_counter()
state = train(spec, steps=DEMO_STEPS, pool_size=DEMO_POOL, show_progress=False)
demo_time = time.perf_counter() - t0
again = train(spec, steps=2, pool_size=DEMO_POOL, show_progress=False)
again2 = train(spec, steps=2, pool_size=DEMO_POOL, show_progress=False)
same = all(torch.equal(a, b) for a, b in zip(again.model.state_dict().values(),
                                             again2.model.state_dict().values()))
glue("demo_steps", DEMO_STEPS, display=False)
glue("demo_time", demo_time, display=False)
print(f"loss: first {state.losses[0]:.2f}, last {state.losses[-1]:.2f}; "
      f"two seeded runs give identical weights: {same}")

# %% [markdown]
# {glue:text}`demo_steps` steps took {glue:text}`demo_time:.1f` s here. To retrain a committed model,
# `vlmsel mini train --force --model "mini-rn-w8 count"` (without `--model`: the whole zoo; `--shard
# K/N` splits the zoo between parallel workers).
#
# ## The mini benchmark
#
# The ground truth is the zero-shot top-1 accuracy of every model on the 500-image evaluation split of
# every task, computed by {func}`vlmsel.data.zeroshot.evaluate_zero_shot`, the same function as for open_clip
# models (class embedding = renormalised mean of the normalised prompt embeddings). It is exposed as the
# benchmark `mini` of the data layer, like `lovm` or `openclip48`:

# %%
bench = load_benchmark("mini")
wide = bench.wide
chance = pd.Series({t: 1 / tasks.get_task(t).n_classes for t in wide.columns})
fig, ax = plt.subplots(figsize=(7.2, 5.0))
plotting.heatmap(wide, ax=ax, annot=True, fmt=".2f",
                 cbar_label="zero-shot top-1 accuracy", xlabel="task",
                 ylabel="model", title="The mini benchmark")
plt.show()

# %% [markdown]
# *Zero-shot top-1 accuracy of every mini model (rows) on every mini task (columns); chance is one over
# the number of classes (0.06 to 0.33).*
#
# A benchmark is only a selection problem if the answer depends on the task. Per task: the best model,
# what INB picks (the best model on `broad`) and what that pick loses against the best (its *regret*):

# %% tags=["nbval-check-output"]
summ = summary(wide, reference=bench.reference_dataset)
winners = summ["best_model"].nunique()
glue("n_winners", winners, display=False)
glue("inb_pick", summ["inb_pick"].iloc[0], display=False)
glue("inb_mean_regret", float(summ["inb_regret"].mean()), display=False)
glue("inb_bad_tasks", int((summ["inb_regret"] > 0.2).sum()), display=False)
summ[["chance", "best_model", "best", "median", "inb_regret"]].round(2)

# %% [markdown]
# {glue:text}`n_winners` different models are best somewhere. INB picks `{glue:text}`inb_pick`` for every
# task; its mean regret is {glue:text}`inb_mean_regret:.2f` accuracy points, and it loses more than 0.2
# on {glue:text}`inb_bad_tasks` of the {glue:text}`n_tasks` tasks. The task-by-task rank correlation of
# the models' accuracies shows which tasks rank the zoo alike, which is what any transfer-based selector
# has to exploit:

# %%
corr = wide.corr(method="kendall")
fig, ax = plt.subplots(figsize=(6.4, 5.2))
plotting.heatmap(corr, ax=ax, annot=True, fmt=".1f", cmap="RdBu_r",
                 vmin=-1, vmax=1, cbar_label="Kendall tau between rankings",
                 xlabel="task", ylabel="task",
                 title="Do two tasks rank the mini zoo alike?")
plt.show()
off = corr.to_numpy()[~np.eye(len(corr), dtype=bool)]
glue("corr_mean", float(off.mean()), display=False)
glue("corr_neg", float((off < 0).mean()), display=False)

# %% [markdown]
# *Kendall tau between the rankings of the mini zoo on every pair of tasks (1: the same order).*
#
# The mean off-diagonal tau is {glue:text}`corr_mean:.2f`, and {glue:text}`corr_neg:.0%` of the task
# pairs rank the models in opposite directions: knowing a model's results on some tasks says little
# about others unless one knows *which* tasks are alike. That is the question conductance answers
# without labels (chapters 4-6).
#
# ## The committed artifacts reproduce
#
# The weights are committed in fp16 (the whole zoo is a few megabytes), and the ground truth was
# computed from those weights. Recomputing one model's row from the committed weights gives the
# committed numbers:

# %%
t0 = time.perf_counter()
fresh = compute_groundtruth([CHECK_MODEL], root=root)
gt_time = time.perf_counter() - t0
fresh = fresh.set_index("dataset")["acc1"]
diff = float((fresh - wide.loc[CHECK_MODEL, fresh.index]).abs().max())
glue("gt_time", gt_time, display=False)

# %% tags=["nbval-check-output"]
print(f"{CHECK_MODEL}: max |recomputed - committed| = {diff:.4f}")

# %% [markdown]
# One model on all twelve tasks took {glue:text}`gt_time:.1f` s. The whole mini world is rebuilt with
# three commands (times measured when the committed artifacts were made are in `data/mini/README.md`):
#
# ```bash
# vlmsel mini train          # every zoo model (skips trained ones; --force retrains)
# vlmsel mini groundtruth    # data/mini/groundtruth.csv and models.csv
# vlmsel mini profile        # data/mini/profiles: N = 25 images per task, n_steps = 50
# ```
#
# ## Summary
#
# - The mini world generates labelled 64x64 scenes for {glue:text}`n_tasks` LOVM-style tasks and
#   captions for contrastive pretraining, all seeded.
# - {glue:text}`n_models` tiny open_clip models were trained on CPU, each on a different mixture of
#   contrasts and captions; the mixtures make specialists.
# - Their zero-shot accuracies form the benchmark `mini`: {glue:text}`n_winners` different winners, INB
#   far from perfect, tasks that rank the zoo in opposite orders, a real selection problem.
#
# ## Exercises
#
# 1. Train a new zoo member: add `MiniModelSpec("mini-vit-p8-w32-d6", "texture")` to a copy of
#    `MINI_ZOO` (or call `vlmsel.mini.training.train` directly) and compare its row of the benchmark
#    with `mini-vit-p16-w48-d8 texture`. Does the architecture or the mixture matter more?
# 2. Which task is closest to `broad` in the rank-correlation matrix, and why would INB do well there?
# 3. Define a new task (a `MiniTask` with class names, templates and one scene distribution per class),
#    compute its column with `compute_groundtruth`, and find its best model.
#
# ```{dropdown} Solutions
# 1. Train with `train(MiniModelSpec(...))`, save with `vlmsel.mini.training.save_trained`, then
#    `compute_groundtruth([name], root=...)`. In our runs the mixture dominates: models sharing a
#    mixture agree more than models sharing an architecture.
# 2. Read `corr["broad"].drop("broad").idxmax()`; tasks whose classes are shapes (like `broad`'s) share
#    its best models, so INB's pick is good for them and poor for colour or texture tasks.
# 3. Build the distributions with `SceneDistribution(...).fix(...)` as `vlmsel/mini/tasks.py` does, and
#    evaluate with `vlmsel.data.zeroshot.evaluate_zero_shot` on `make_task_data`-style images.
# ```
#
# ## References
#
# The works cited here are listed in the [bibliography](../book/bibliography.md).
