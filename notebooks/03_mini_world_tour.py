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
# (mini-tour)=
# # Interlude: the mini world
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/03_mini_world_tour.ipynb)
#
# **What you will learn**
#
# - what the world is that the chapters from {ref}`ch-profiles` on compute in: its image domains,
#   its tasks, its zoo of tiny CLIP models and its ground truth;
# - what its pictures look like, and which LOVM dataset each task imitates;
# - where it comes from (the lab {ref}`ch-mini-world` builds it) and how to swap it for real
#   open_clip profiles.
#
# Selecting a model from its conductance needs two things the machines that build this book do not
# have: pretrained open_clip weights, and a GPU to profile fifty large models. So the chapters that
# follow run on the {term}`mini world`, a miniature of a LOVM-style benchmark made by this project in
# which everything is real: tiny CLIP models trained contrastively on generated pictures, measured
# zero-shot accuracy as ground truth, and conductance profiles of the trained encoders. This short
# page shows it; the lab at the end of the book shows how every piece is made.

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
N_SHOWN = 6  # pictures per domain and per task

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from vlmsel import chapters, plotting
from vlmsel.mini import gallery, tasks
from vlmsel.mini.domains import DOMAINS
from vlmsel.mini.mixtures import MIXTURES
from vlmsel.mini.zoo import MINI_ZOO

rng = chapters.reproducible(SEED)
plotting.use_style()

# %% [markdown]
# ## Eight image domains
#
# A *domain* is a generator of 64x64 pictures with named attributes; each imitates a kind of dataset
# found in LOVM:

# %%
domains = pd.DataFrame([dict(domain=d.name, what=d.description)
                        for d in DOMAINS.values()]).set_index("domain")
glue("tour_n_domains", len(DOMAINS), display=False)
plotting.text_table(domains)

# %%
fig = plotting.image_grid(gallery.domain_samples(N_SHOWN, rng))
glue("fig_tour_domains", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_tour_domains
# :name: fig-tour-domains
#
# Random pictures of each domain; on the left the domain and its attribute with the most values, above
# each picture that attribute's value.
# ```
#
# ## Tasks in LOVM's form
#
# A *task* asks one question about pictures of one domain, with class names and prompt templates,
# like a LOVM dataset; `broad` names kinds of picture from every domain and plays ImageNet's role for
# the {term}`INB` baseline. Most tasks have a sibling on the same domain, as LOVM has two satellite
# sets and two CLEVR tasks:

# %%
names = tasks.list_tasks()
task_table = pd.DataFrame(
    [dict(task=t, domain=tasks.get_task(t).domain,
          question=tasks.get_task(t).question, like=tasks.get_task(t).like,
          classes=tasks.get_task(t).n_classes) for t in names]).set_index("task")
glue("tour_n_tasks", len(names), display=False)
plotting.text_table(task_table)

# %% [markdown]
# Four tasks, with their first evaluation pictures and true classes (a selection method never sees
# these labels, only the pictures):

# %%
shown = ["mnist", "eurosat", "clevr_count", "gtsrb"]
fig = plotting.image_grid(gallery.task_samples(shown, N_SHOWN, seed=SEED))
glue("fig_tour_tasks", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_tour_tasks
# :name: fig-tour-tasks
#
# The first evaluation pictures of four tasks, captioned with their classes.
# ```
#
# ## A zoo of tiny CLIP models
#
# Every model is an ordinary open_clip model with one of four image towers (ViT, ResNet, ConvNeXt,
# timm ViT), pretrained contrastively on a *mixture* of the domains: generalists that see every
# domain (like web-scale models) and specialists that see one or two, as LAION, OpenAI and
# DataComp models differ in their data.

# %%
zoo = pd.DataFrame([dict(model=s.name, architecture=s.arch, mixture=s.mixture)
                    for s in MINI_ZOO])
per_arch = zoo.groupby("architecture")["mixture"].apply(", ".join)
glue("tour_n_models", len(zoo), display=False)
glue("tour_n_mixtures", len(MIXTURES), display=False)
per_arch.to_frame("mixtures it is trained on")

# %% [markdown]
# The {glue:text}`tour_n_models` models combine the architectures above with
# {glue:text}`tour_n_mixtures` pretraining mixtures.
#
# ## The world the chapters compute in
#
# The ground truth is the zero-shot accuracy of every model on every task (the {term}`benchmark`
# `mini`), and the committed {term}`profile store` holds every model's conductance on 100
# pictures of every task. The chapters open both with one call, and say at their top which world
# they show:

# %%
world = chapters.open_world()
print(world.description)
world.benchmark.wide.iloc[:6, :8].round(2)

# %% [markdown]
# *Table: the first rows and columns of the mini benchmark, zero-shot top-1 accuracy.*
#
# Before any selection method ran on it, the mini world was judged by whether its task-similarity
# structure resembles LOVM's ({ref}`mini-realism`). It is a miniature, not a replica: its models
# are tiny, its pictures simple, and its numbers are not LOVM's. Every results chapter therefore
# says which world its numbers come from, and runs unchanged on real open_clip profiles made as
# {ref}`ch-paper-scale` shows.
#
# ## Summary
#
# - The mini world has {glue:text}`tour_n_domains` generated image domains,
#   {glue:text}`tour_n_tasks` LOVM-style tasks and {glue:text}`tour_n_models` tiny CLIP models
#   trained here on different mixtures of the domains.
# - Its ground truth is measured zero-shot accuracy and its profiles are real conductance, so the
#   method runs on it exactly as on open_clip models; the lab {ref}`ch-mini-world` builds it.
#
# ## Exercises
#
# 1. Which task has the most classes, and which LOVM dataset does it imitate?
# 2. Which two tasks have no sibling on their own domain?
#
# ```{dropdown} Solutions
# 1. {glue:md}`tour_most_classes`
# 2. {glue:md}`tour_no_sibling`
# ```

# %% tags=["remove-input"]
top = task_table["classes"].idxmax()
glue("tour_most_classes", Markdown(f"`{top}`, with {task_table.loc[top, 'classes']} "
     f"classes, imitating {task_table.loc[top, 'like']} "
     "(`task_table['classes'].idxmax()`)."), display=False)
per_domain = task_table.groupby("domain").size()
alone = [t for t in names if t != "broad"
         and per_domain[task_table.loc[t, "domain"]] == 1]
glue("tour_no_sibling", Markdown(", ".join(f"`{t}`" for t in alone) +
     " (`task_table.groupby('domain').size()`; `broad` mixes every domain)."),
     display=False)
