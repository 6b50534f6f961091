# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# (ch-name)=
# # N. Chapter title (one idea)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/NN_name.ipynb)
#
# **What you will learn**
#
# - ...
#
# (Template for new chapters: copy to `notebooks/NN_name.py`, replace NN_name in the badge and
# `ch-name` in the label above the title (what cross-references point at), run
# `make sync` to create the paired .ipynb, and add it to `_toc.yml`. Conventions: code lines at most
# ~84 characters; every number in the prose glued with `myst_nb.glue`; every figure has labelled axes
# and an italic caption line below it; cells whose small outputs must not drift are tagged
# `nbval-check-output`; bookkeeping cells (only glue/assert) are tagged `remove-input` and long
# plotting code lives in `vlmsel.plotting`; chapters are referenced as {ref}`chapter N <ch-label>`,
# never by a typed number (tests/test_cross_references.py); results chapters end with
# `## What this chapter concludes` (numbers glued) and `## Discussion`; cite with {cite}`key`
# from book/references.bib, no per-chapter bibliography.)

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
# Parameters (papermill). Defaults are the CI scale; every knob lives here.
SEED = 0
DEVICE = "cpu"

# %%
from myst_nb import glue

from vlmsel import plotting

plotting.use_style()

# %% [markdown]
# ## The idea, built from scratch
#
# ## The same with the library
#
# ## Summary
#
# - ...
#
# ## Exercises
#
# 1. ...
#
# ```{dropdown} Solutions
# 1. ...
# ```
#
# ## References
#
# The works cited here are listed in the [bibliography](../book/bibliography.md).
