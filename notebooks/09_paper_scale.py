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
# (ch-paper-scale)=
# # 9. Reproducing at paper scale on a GPU (Colab)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vlmsel/vlmsel/blob/v0.1.0/notebooks/09_paper_scale.ipynb)
#
# **What you will learn**
#
# - what "paper scale" means: the `openclip48` (or `lovm35`) zoo with its pretrained weights,
#   profiled on the real datasets, and why that needs a GPU;
# - the exact commands for Google Colab: datasets, `vlmsel profile` (resumable), where the profile
#   store goes and how to keep it on Google Drive;
# - how long it takes and how much memory it needs, computed from the library's cost model and from
#   measurements on this CPU, with the assumptions about GPUs spelled out;
# - how to spread the work over many machines (`--shard`, `--submit slurm`, `--status`) and how a
#   job that dies is made good;
# - how to evaluate the store (`vlmsel evaluate`), run chapters {ref}`4 <ch-profiles>` to {ref}`7 <ch-ablations>` on it, and publish it
#   (`vlmsel store pack | verify | publish`) so that `vlmsel select` downloads it;
# - how to add a model or a dataset to the ground truth (`vlmsel zeroshot`);
# - the whole pipeline run end to end at CI scale: two real architectures with *random* weights on
#   generated images.

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
# Parameters (papermill). Defaults are the CI scale: nothing big is run.
RUN_FULL_SCALE = False  # True in Colab with a GPU: profile the real zoo
ZOO = "openclip48"  # or "lovm35"
DATASETS = "all20"  # "all20" (open_clip's 20) or "all" (LOVM's 23)
DATA_ROOT = "/content/data"  # local disk: the datasets' test splits
STORE = "/content/drive/MyDrive/vlmsel/profiles_openclip48"  # on Drive
N_IMAGES_FULL = 25  # the paper's N
N_STEPS_FULL = 8  # vlmsel's default (Riemann points, trapezoid rule; ch. 2)
GPU_MEMORY_GB = 40.0  # your GPU (Colab: T4 16, L4 24, A100 40)
GPU_GFLOPS = None  # measured effective GFLOP/s; None: the library's guess
# CI scale: the same pipeline, two real architectures with random weights
CI_MODELS = ["RN50 openai", "ViT-B-32 laion2b_s34b_b79k"]
# folder tasks named like benchmark datasets, filled with mini-task images
CI_DATASETS = {"cifar100": "dtd", "eurosat": "eurosat",
               "imagenet1k": "broad"}
CI_TARGET_TASK = "resisc"  # the images handed to `vlmsel select`
CI_N_FILES = 4  # images written per folder
CI_N_IMAGES = 2  # images profiled per task
CI_N_STEPS = 2  # integration steps
MEM_POINTS = (16, 32)  # path points per pass in the memory measurement
SEED = 0
N_THREADS = 1  # torch CPU threads (the CI machine is small and shared)

# %%
import contextlib
import io
import json
import os
import shlex
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
from IPython.display import display
from myst_nb import glue
from PIL import Image

from vlmsel import plotting
from vlmsel.cli import main as vlmsel_cli
from vlmsel.conductance.options import PAPER_LIKE_SETTING
from vlmsel.data.benchmarks import OPENCLIP_COLUMNS
from vlmsel.data.lovm import lovm_datasets
from vlmsel.data.tasks import lovm_dataset_specs
from vlmsel.data.zoo import load_model, load_zoo
from vlmsel.files import sha256_file
from vlmsel.mini.tasks import make_task_data
from vlmsel.profiles.compute import (PASSES_PER_POINT, THROUGHPUT_GFLOPS,
                                     ProfileSettings, plan_profiles,
                                     plan_table)
from vlmsel.profiles.store import ProfileStore

plotting.use_style()
torch.set_num_threads(N_THREADS)
WORK = Path(tempfile.mkdtemp(prefix="vlmsel_ch9_"))  # everything we write
HAS_GPU = torch.cuda.is_available()


def vlmsel(*args):
    """Run `vlmsel ARGS` in this process (the entry point of the command)."""
    shown = shlex.join(["vlmsel", *map(str, args)])
    print("$", shown.replace(str(WORK), "$WORK"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = vlmsel_cli([str(a) for a in args])
    text = out.getvalue().replace(str(WORK), "$WORK")
    if code != 0:
        raise RuntimeError(f"exit status {code}:\n{text}")
    return text


# %% [markdown]
# ## What paper scale means
#
# The chapters so far ran on the mini world, where every model, task and profile is made on two CPU
# cores. The paper's setting {cite}`yang2026conductance` is the real thing: open_clip models
# {cite}`ilharco2021openclip` with their pretrained weights, profiled on $N$ = 25 images of each of
# the LOVM datasets {cite}`zohar2023lovm`, and evaluated against the published zero-shot tables.
# The paper does not state its number of integration steps $n$; this chapter profiles at vlmsel's
# default, $n$ = {glue:text}`ch9_n_steps` Riemann points with the trapezoid rule, chosen in
# {ref}`ch2-fidelity` as the cheapest setting whose selections agree with a 64-step reference within
# the noise of 25 images, and also gives the cost of the paper-like setting (50 Gauss-Legendre
# points, the left rule). vlmsel's zoo `openclip48` holds LOVM's 35 models and 13 more from
# families LOVM lacks; `lovm35` is LOVM's zoo alone.
#
# The profiles are the expensive part. Everything after them (divergences, ranking, evaluation) takes
# seconds on any machine ({ref}`chapter 6 <ch-ranking>`), so this chapter is about making one **profile store** for a
# zoo, once, on a GPU, and then using it everywhere.

# %% tags=["nbval-check-output"]
zoo = load_zoo(ZOO)
if DATASETS in ("all", "all20"):
    datasets = [d for d in lovm_datasets()
                if DATASETS == "all" or d in OPENCLIP_COLUMNS]
else:
    datasets = [d.strip() for d in DATASETS.split(",")]
families = pd.Series([e.family for e in zoo]).value_counts()
print(f"zoo {ZOO}: {len(zoo)} models, {len(families)} families; "
      f"{len(datasets)} datasets; "
      f"{len(zoo) * len(datasets)} (model, dataset) profiles")
gflops = pd.Series({e.name: e.image_gflops for e in zoo})
print(f"image tower: {gflops.min():.1f} to {gflops.max():.0f} GFLOPs "
      f"per image")
glue("ch9_n_models", len(zoo), display=False)
glue("ch9_n_datasets", len(datasets), display=False)
glue("ch9_n_entries", len(zoo) * len(datasets), display=False)
glue("ch9_zoo", ZOO, display=False)
glue("ch9_gflops_ratio", float(gflops.max() / gflops.min()), display=False)

# %% [markdown]
# The cheapest image tower costs {glue:text}`ch9_gflops_ratio:.0f` times less per image than the
# most expensive, and that spread decides both the time and the memory of the run.
#
# ## How long it takes
#
# `vlmsel profile --dry-run` prints the plan and its cost without computing anything. The cost model
# (`vlmsel.profiles.compute.estimate_seconds`) counts the work of one (model, dataset) as
#
# $$
# \text{image GFLOPs} \times N \times (n + 1) \times 3
# $$
#
# (a forward pass at every path point, and a backward pass that costs about twice as much) and
# divides it by an effective throughput per device type. The CPU value was **measured** on this
# kind of machine (random-init ViT-B-32, $N$ = 25, $n$ = 50); the GPU value is an **assumption**, a
# few percent of a modern GPU's fp32 peak, because no GPU was available to the project. Pass your
# own with `--throughput` once you have measured it (see below). The command prints one line per
# model; here are the head and the tail of its output:

# %%
plan_text = vlmsel("profile", "--zoo", ZOO, "--datasets", DATASETS,
                   "--out", WORK / "plan_only", "--dry-run",
                   "--device", "cuda")
lines = plan_text.strip().splitlines()
print("\n".join(lines[:5] + ["   ... (one line per model)"] + lines[-2:]))

# %% [markdown]
# The same numbers come from the Python API, which we use to break them down. The GPU throughput is
# the library's assumption unless you set `GPU_GFLOPS`.

# %%
gpu_rate = GPU_GFLOPS or THROUGHPUT_GFLOPS["cuda"]
full = ProfileSettings(n_images=N_IMAGES_FULL, n_steps=N_STEPS_FULL)
paper_like = ProfileSettings(n_images=N_IMAGES_FULL, **PAPER_LIKE_SETTING)
paper_like_h = float(plan_table(plan_profiles(
    zoo, datasets, WORK / "plan_only", paper_like, device="cuda",
    throughput_gflops=gpu_rate))["est_seconds"].sum()) / 3600
plan = {
    dev: plan_table(plan_profiles(
        zoo, datasets, WORK / "plan_only", full, device=dev,
        throughput_gflops=gpu_rate if dev == "cuda" else None))
    for dev in ("cpu", "cuda")}
hours = {dev: float(t["est_seconds"].sum()) / 3600 for dev, t in plan.items()}
per_model = (plan["cuda"].groupby("model")["est_seconds"].sum() / 3600
             ).sort_values(ascending=False)
top10 = float(per_model.head(10).sum() / per_model.sum())
lovm = load_zoo("lovm35")
lovm_sets = lovm_datasets()
lovm_h = sum(e.image_gflops * N_IMAGES_FULL * (N_STEPS_FULL + 1)
             * PASSES_PER_POINT / gpu_rate for e in lovm) * len(lovm_sets)
print(f"{ZOO} x {len(datasets)} datasets: {hours['cpu']:,.0f} h on a CPU "
      f"like this one (estimate), {hours['cuda']:.1f} h on one GPU "
      f"(assumed {gpu_rate:g} GFLOP/s)")
print(f"the 10 most expensive models take {top10:.0%} of the GPU time")
print(f"at the paper-like setting ({PAPER_LIKE_SETTING['n_steps']} Gauss-"
      f"Legendre points, left rule): {paper_like_h:.1f} h on one GPU, "
      f"{paper_like_h / hours['cuda']:.1f} x as long")
print(f"lovm35 x {len(lovm_sets)} datasets: {lovm_h / 3600:.1f} h on one GPU")
glue("ch9_cpu_h", hours["cpu"], display=False)
glue("ch9_cpu_years", hours["cpu"] / 24 / 365, display=False)
glue("ch9_gpu_h", hours["cuda"], display=False)
glue("ch9_gpu_rate", gpu_rate, display=False)
glue("ch9_cpu_rate", THROUGHPUT_GFLOPS["cpu"], display=False)
glue("ch9_top10", top10, display=False)
glue("ch9_n_steps", N_STEPS_FULL, display=False)
glue("ch9_paper_like_h", paper_like_h, display=False)
glue("ch9_paper_like_ratio", paper_like_h / hours["cuda"], display=False)
glue("ch9_lovm_h", lovm_h / 3600, display=False)
glue("ch9_lovm_sets", len(lovm_sets), display=False)

# %%
fam = pd.Series({e.name: e.family for e in zoo})
by_family = per_model.groupby(fam).sum().sort_values()
n_fam = fam.value_counts()
by_family.index = [f"{f} ({n_fam[f]})" for f in by_family.index]
fig, ax = plt.subplots(figsize=(7.0, 0.3 * len(by_family) + 1.4))
ax.barh(by_family.index, by_family.to_numpy(), color="#4c72b0")
ax.set_xlabel(f"estimated GPU hours for {len(datasets)} datasets "
              f"(assumed {gpu_rate:g} GFLOP/s)")
ax.set_ylabel("model family (number of models)")
ax.set_title(f"Where the time of profiling {ZOO} goes")
glue("fig_ch9_cost", plt.gcf(), display=False)
plt.close("all")

# %% [markdown]
# ```{glue:figure} fig_ch9_cost
# :name: fig-ch9-cost
#
# Estimated GPU hours of profiling the zoo on its datasets, summed per model family ($N$ = 25, at
# vlmsel's default setting, fp32). An estimate from the cost model with an assumed GPU throughput, not
# a measurement.
# ```
#
# On one GPU the whole store is an estimated {glue:text}`ch9_gpu_h:.0f` h (at the assumed
# {glue:text}`ch9_gpu_rate:.0f` GFLOP/s); on a CPU like the one that builds this book it would take
# {glue:text}`ch9_cpu_h:,.0f` h, about {glue:text}`ch9_cpu_years:.1f` years, at the measured
# {glue:text}`ch9_cpu_rate:.0f` GFLOP/s. The ten most expensive models take
# {glue:text}`ch9_top10:.0%` of the time. At the paper-like setting the same store would take
# {glue:text}`ch9_paper_like_h:.0f` GPU hours, {glue:text}`ch9_paper_like_ratio:.1f` times as long. LOVM's own zoo on its {glue:text}`ch9_lovm_sets` datasets
# is an estimated {glue:text}`ch9_lovm_h:.0f` GPU hours. Colab sessions end after some hours, so the
# run must survive interruptions: it does (below).
#
# ## How much memory it needs
#
# Conductance keeps the activations of a chunk of path points for the backward pass. The chunk size
# is `--internal-batch-size` (default 64 points), and it, not $N$ or $n$, sets the peak memory;
# the result does not depend on it (up to float rounding). We **measure** here, on this CPU, the
# peak resident memory of random-init ViT-B-32 with one chunk of {glue:text}`ch9_mem_p0` and then
# {glue:text}`ch9_mem_p1` points, in a fresh process.

# %%
MEM_SCRIPT = """
import json, resource, sys, torch
torch.set_num_threads(1)
from vlmsel.conductance import block_conductance
from vlmsel.data.zoo import load_model, load_zoo
entry = load_zoo([sys.argv[1]])[0]
model, _, _ = load_model(entry, pretrained=False, device="cpu",
                         with_tokenizer=False)
size = model.visual.image_size
size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
out = {"model": peak()}
for p in map(int, sys.argv[2:]):
    x = torch.randn(1, 3, *size)
    block_conductance(model, x, n_steps=p - 1, internal_batch_size=p,
                      show_progress=False)
    out[p] = peak()
print(json.dumps(out))
"""
MEM_MODEL = "ViT-B-32 laion2b_s34b_b79k"
t0 = time.perf_counter()
run = subprocess.run([sys.executable, "-c", MEM_SCRIPT, MEM_MODEL,
                      *map(str, MEM_POINTS)], capture_output=True, text=True)
if run.returncode != 0:
    raise RuntimeError(run.stderr[-2000:])
mem = json.loads(run.stdout.strip().splitlines()[-1])
p0, p1 = MEM_POINTS
per_point_gb = (mem[str(p1)] - mem[str(p0)]) / (p1 - p0)
at64_gb = mem[str(p1)] + (64 - p1) * per_point_gb
print(f"{MEM_MODEL}, random init, fp32, CPU ({time.perf_counter() - t0:.0f}"
      f" s): after loading {mem['model']:.2f} GB; peak with {p0} points "
      f"{mem[str(p0)]:.2f} GB, with {p1} points {mem[str(p1)]:.2f} GB")
print(f"-> {1024 * per_point_gb:.1f} MB per path point; "
      f"about {at64_gb:.1f} GB with 64 points (extrapolated)")
glue("ch9_mem_p0", p0, display=False)
glue("ch9_mem_p1", p1, display=False)
glue("ch9_mem_model", mem["model"], display=False)
glue("ch9_mem_mb_point", 1024 * per_point_gb, display=False)
glue("ch9_mem_64", at64_gb, display=False)

# %% [markdown]
# Each path point of ViT-B-32 costs {glue:text}`ch9_mem_mb_point:.0f` MB (measured); with the
# default chunk of 64 points the process would peak near {glue:text}`ch9_mem_64:.1f` GB
# (extrapolated; `perf/README.md` has fuller measurements of the same kind). Larger models
# need more per point. To say how much without a GPU, we count the elements of every intermediate
# output of one image through each image tower, on PyTorch's `meta` device (no memory, no weights),
# and **assume** that a point's memory is proportional to that count, with the constant measured
# above for ViT-B-32, and that the weights take 4 bytes per parameter. On a GPU the same tensors
# live in GPU memory; the CUDA context and allocator slack come on top. These are rough guides for
# choosing `--internal-batch-size`, not measurements.

# %%
def activation_elements(entry):
    """Elements of all leaf-module outputs of one image (meta device)."""
    model, _, _ = load_model(entry, pretrained=False, device="meta",
                             with_tokenizer=False)
    size = model.visual.image_size
    size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    total = []
    hooks = [m.register_forward_hook(
        lambda mod, i, o: total.append(o.numel())
        if isinstance(o, torch.Tensor) else None)
        for m in model.visual.modules() if not list(m.children())]
    model.encode_image(torch.zeros(1, 3, *size, device="meta"))
    for h in hooks:
        h.remove()
    return sum(total)


t0 = time.perf_counter()
arch_entry = {}
for e in sorted(zoo, key=lambda e: e.image_gflops):
    arch_entry.setdefault(e.arch, e)
acts = {a: activation_elements(e) for a, e in arch_entry.items()}
ref_arch = load_zoo([MEM_MODEL])[0].arch
bytes_per_element = per_point_gb * 2**30 / acts[ref_arch]
rows = []
for e in zoo:
    point_gb = acts[e.arch] * bytes_per_element / 2**30
    weights_gb = e.params_M * 1e6 * 4 / 2**30
    fit = int((GPU_MEMORY_GB - weights_gb) // point_gb)
    rows.append({"model": e.name, "weights (GB)": weights_gb,
                 "per point (GB)": point_gb,
                 "at 64 points (GB)": weights_gb + 64 * point_gb,
                 "largest chunk": max(0, min(64, fit))})
memory = pd.DataFrame(rows).set_index("model").sort_values(
    "at 64 points (GB)", ascending=False)
print(f"{len(acts)} architectures counted in {time.perf_counter() - t0:.0f}"
      f" s; {bytes_per_element:.2f} bytes per element (from {ref_arch})")
shown = memory.head(8).rename(columns={
    "weights (GB)": "weights", "per point (GB)": "per point",
    "at 64 points (GB)": "at 64 points", "largest chunk": "chunk"})
shown.index.name = None
display(plotting.text_table(shown, {"weights": "{:.1f}", "per point": "{:.2f}",
                                    "at 64 points": "{:.0f}"}))
too_big = memory[memory["largest chunk"] < 64]
glue("ch9_bytes_per_el", bytes_per_element, display=False)
glue("ch9_gpu_mem", GPU_MEMORY_GB, display=False)
glue("ch9_n_too_big", len(too_big), display=False)
glue("ch9_biggest", memory.index[0], display=False)
glue("ch9_biggest_gb", float(memory["at 64 points (GB)"].iloc[0]),
     display=False)
glue("ch9_weights_total", float(
    sum(e.params_M for e in zoo) * 1e6 * 4 / 2**30), display=False)

# %% [markdown]
# *Table: the eight models that need the most memory with 64 path points per pass, estimated as
# above, in GB: the weights in fp32, one path point, and 64 points; "chunk" is the largest `--internal-batch-size`
# (at most 64) that fits in `GPU_MEMORY_GB` = {glue:text}`ch9_gpu_mem:.0f` GB under the same
# assumptions.*
#
# The most demanding model, {glue:text}`ch9_biggest`, would need about
# {glue:text}`ch9_biggest_gb:.0f` GB with 64 points; {glue:text}`ch9_n_too_big` models need a
# smaller chunk to fit in {glue:text}`ch9_gpu_mem:.0f` GB. Since the chunk size does not change the
# result and is not one of the settings a store must agree on, the plan below profiles the zoo in
# groups, each with the largest chunk that fits (rounded down to a power of two, for slack), all into
# the same store. The weights of the whole zoo add up to about {glue:text}`ch9_weights_total:.0f` GB
# in fp32, downloaded once per model into the Hugging Face cache.
#
# ## The commands, in Colab
#
# **1. A GPU runtime and Drive.** In Colab choose *Runtime > Change runtime type > GPU*, then mount
# Google Drive, where the store will live so that it survives the end of the session:
#
# ```python
# from google.colab import drive
# drive.mount("/content/drive")
# ```
#
# **2. The datasets.** Only $N$ = 25 images per dataset are profiled, but the sample is drawn
# uniformly from the whole test split with a fixed seed, so the whole split must be there (a single
# shard would give a biased and non-reproducible sample). vlmsel reads CLIP_benchmark's webdataset
# shards, the files from which LOVM's numbers were made, from `DATA_ROOT/wds_<id>/`;
# {glue:text}`ch9_n_tv` of these datasets also have a torchvision class (`--download` lets
# torchvision fetch those it can). The downloads, generated from vlmsel's dataset registry:

# %%
specs = lovm_dataset_specs()
download = pd.DataFrame([
    {"dataset": d, "webdataset repo": specs[d].wds_repo,
     "torchvision": specs[d].torchvision or "-"} for d in datasets])
display(plotting.text_table(download.set_index("dataset").head(8)))
cmds = [f"huggingface-cli download {specs[d].wds_repo} --repo-type dataset "
        f"--include 'test/*' --local-dir {DATA_ROOT}/{specs[d].wds_folder}"
        for d in datasets]
print(f"# {len(cmds)} downloads; the first two:")
print("\n".join(cmds[:2]))
glue("ch9_n_tv", int((download["torchvision"] != "-").sum()),
     display=False)

# %% [markdown]
# *Table: the first datasets of the list with the webdataset each one is read from, and its
# torchvision class where there is one.*
#
# **3. Profile.** The plain command profiles the whole zoo into the store on Drive:

# %%
base = ["vlmsel", "profile", "--zoo", ZOO, "--datasets", DATASETS,
        "--data-root", DATA_ROOT, "--device", "cuda",
        "--n-images", str(N_IMAGES_FULL), "--n-steps", str(N_STEPS_FULL),
        "--out", STORE]
print(shlex.join(base))

# %% [markdown]
# With a GPU of `GPU_MEMORY_GB`, the memory-aware version runs the same plan in
# {glue:text}`ch9_n_groups` groups, each with a chunk size that fits (estimated above). Each group is
# a model list file (one `"<arch> <pretrained>"` per line, accepted by `--zoo`); the groups write
# into the same store, and an entry that is done is skipped by every later command.

# %%
def chunk_for(fit):
    return 2 ** int(np.log2(fit)) if fit >= 1 else 0


memory["chunk"] = memory["largest chunk"].map(chunk_for)
groups = memory.groupby("chunk").groups
lists = WORK / "model_lists"  # in Colab: any folder next to the notebook
lists.mkdir()
full_cmds = []
for chunk in sorted(groups, reverse=True):
    names = [e.name for e in zoo if e.name in set(groups[chunk])]
    if chunk == 0:
        print(f"# does not fit in {GPU_MEMORY_GB:g} GB even with 1 point "
              f"(estimate): {names}")
        continue
    path = lists / f"{ZOO}_chunk{chunk}.txt"
    path.write_text("\n".join(names) + "\n")
    print(f"# {path.name}: {len(names)} models"
          + (f": {', '.join(names)}" if len(names) <= 5 else ""))
    full_cmds.append(["vlmsel", "profile", "--zoo", str(path),
                      *base[4:], "--internal-batch-size", str(chunk)])
print()
for cmd in full_cmds:
    print(shlex.join(cmd).replace(str(WORK), "$WORK"))
glue("ch9_n_groups", len(full_cmds), display=False)

# %% [markdown]
# The guarded cell below runs these commands, and only when `RUN_FULL_SCALE` is set and a GPU is
# present (in this book it does nothing). `HF_HUB_OFFLINE` must not be set there: the weights are
# downloaded from the Hugging Face Hub.

# %%
if RUN_FULL_SCALE and HAS_GPU:
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    Path(STORE).parent.mkdir(parents=True, exist_ok=True)
    for cmd in full_cmds:
        subprocess.run(cmd, check=True, env=env)
elif RUN_FULL_SCALE:
    print("RUN_FULL_SCALE is set but no GPU is available: nothing was run")
else:
    print("RUN_FULL_SCALE = False: the full-scale commands were not run")

# %% [markdown]
# **What the run does, and why it can be interrupted.** `vlmsel profile` checks every model name and
# dataset before any work, draws each dataset's $N$ images once (the same images for every model),
# loads each model once, profiles it on every dataset and writes one store entry per (model,
# dataset): an `.npz` with the per-image block scalars and a `.json` manifest (settings, image ids
# and their sha256, versions, wall time, device) written **last**. An entry without its manifest
# does not count, so after a disconnect, rerunning the same command recomputes only what is missing.
# Keep the store on Drive (`--out` under `/content/drive/...`, as above) and the datasets on the
# local disk (they are large and read often). Several `vlmsel profile` processes may share one store
# (one per GPU, say): each entry is claimed by the process that computes it (a lock the system drops
# when its owner dies, even by `kill -9`), the others skip it, and nothing is computed twice. An entry
# whose images changed, or whose file is damaged, is refused or recomputed, never silently reused.
#
# ## The pipeline end to end, at CI scale
#
# This machine has no GPU and no network, so we run every step on something cheap: the two real
# architectures {glue:text}`ch9_ci_models` with **random weights** (`--random-init`, built offline),
# {glue:text}`ch9_ci_n` images per task and $n$ = {glue:text}`ch9_ci_steps` steps, on
# {glue:text}`ch9_ci_tasks` generated folders named like datasets of the benchmark (so that their
# ground truth exists) and filled with mini-world images. Random-init models have learned nothing:
# **the rankings below mean nothing**; they only show that every step runs and fits the next.

# %%
images = WORK / "images"
for name, task in {**CI_DATASETS, "my_images": CI_TARGET_TASK}.items():
    folder = images / name
    folder.mkdir(parents=True)
    data = make_task_data(task, n=CI_N_FILES, seed=SEED + 1)
    for i, img in enumerate(data.images):
        Image.fromarray(img).save(folder / f"{i:03d}.png")
ci_store = WORK / "ci_store"
ci_args = ["--models", ",".join(CI_MODELS), "--random-init",
           *[a for d in CI_DATASETS for a in ("--images",
                                                f"{d}={images / d}")],
           "--n-images", CI_N_IMAGES, "--n-steps", CI_N_STEPS, "--no-zero-shot",
           "--device", "cpu", "--threads", N_THREADS, "--out", ci_store]
print(vlmsel("profile", *ci_args, "--dry-run").strip().splitlines()[-2])
ci_est = plan_table(plan_profiles(
    load_zoo(CI_MODELS), list(CI_DATASETS), ci_store,
    ProfileSettings(n_images=CI_N_IMAGES, n_steps=CI_N_STEPS,
                    pretrained=False), device="cpu"))["est_seconds"].sum()
t0 = time.perf_counter()
print(vlmsel("profile", *ci_args))
ci_s = time.perf_counter() - t0
glue("ch9_ci_models", " and ".join(m.split()[0] for m in CI_MODELS),
     display=False)
glue("ch9_ci_n", CI_N_IMAGES, display=False)
glue("ch9_ci_steps", CI_N_STEPS, display=False)
glue("ch9_ci_tasks", len(CI_DATASETS), display=False)
glue("ch9_ci_n_models", len(CI_MODELS), display=False)
glue("ch9_ci_s", ci_s, display=False)
glue("ch9_ci_est", float(ci_est), display=False)

# %% [markdown]
# The store now holds one entry per (model, task). We imitate an interrupted run by deleting one
# manifest, the completion marker of its entry, and run the same command again: only that entry is
# computed.

# %% tags=["nbval-check-output"]
store = ProfileStore(ci_store)
print(store.available().astype(int).to_string())
victim = sorted(ci_store.glob("*/*.json"))[0]
victim.unlink()
out = vlmsel("profile", *ci_args)
print(next(line for line in out.splitlines() if " written, " in line))

# %% [markdown]
# A manifest records everything needed to audit or match an entry:

# %%
entry = json.loads(sorted(ci_store.glob("*/*.json"))[0].read_text())
keep = ["model", "dataset", "n_images", "n_steps", "method", "rule",
        "baseline", "objective", "granularity", "weights", "precision",
        "image_size", "device", "wall_time_s"]
print(json.dumps({k: entry[k] for k in keep}, indent=1))
print("block names:", entry["block_names"][:3], "...",
      f"({len(entry['block_names'])} blocks)")

# %% [markdown]
# **Measuring your throughput.** The manifests' wall times give the effective throughput of a
# device, the constant of the cost model. In Colab, run this on the store after the first model is
# done and pass the number as `GPU_GFLOPS` (or `--throughput`) to refine the estimate for the rest.
# Here it measures this CPU on the CI run. With $N$ and $n$ this small, fixed overheads weigh more
# than at full scale, and the load of a shared machine changes timings noticeably between runs, so
# the number is only indicative.

# %%
def effective_gflops(store_path, zoo_entries):
    g = {e.name: e.image_gflops for e in zoo_entries}
    work = wall = 0.0
    for path in Path(store_path).glob("*/*.json"):
        man = json.loads(path.read_text())
        work += (g[man["model"]] * man["n_images"] * (man["n_steps"] + 1)
                 * PASSES_PER_POINT)
        wall += man["wall_time_s"]
    return work / wall


ci_rate = effective_gflops(ci_store, load_zoo(CI_MODELS))
print(f"effective throughput of the CI run: {ci_rate:.1f} GFLOP/s "
      f"(cost-model constant for cpu: {THROUGHPUT_GFLOPS['cpu']:g})")
glue("ch9_ci_rate", ci_rate, display=False)
glue("ch9_ci_rate_ratio", ci_rate / THROUGHPUT_GFLOPS["cpu"], display=False)

# %% [markdown]
# The first run took {glue:text}`ch9_ci_s:.0f` s, loading the models included; the cost model had
# predicted {glue:text}`ch9_ci_est:.0f` s of conductance at {glue:text}`ch9_cpu_rate:.0f` GFLOP/s,
# and the manifests' wall times give an effective {glue:text}`ch9_ci_rate:.0f` GFLOP/s on this run.
#
# ### Many workers on one store
#
# At paper scale one GPU is slow; a research group's cluster has many. Three options of
# `vlmsel profile` spread one plan over any number of independent jobs that share one store (on a
# shared file system):
#
# - `--shard I/N` computes shard $I$ (counted from 0) of $N$: the plan's entries, ordered by
#   estimated cost and dealt out so that every shard gets about the same amount of work (models differ
#   {glue:text}`ch9_gflops_ratio:.0f`-fold in GFLOPs). Every job derives the same partition from the
#   same command, so $N$ jobs cover the plan exactly once, with no coordinator;
# - `--status --workers N` reads the store and says what is done, what is running (claimed by a live
#   process: its owner and age) and what is missing, per shard, with the estimated time left;
# - `--submit slurm --workers N` submits the shards as one Slurm job array through
#   [submitit](https://github.com/facebookincubator/submitit), waits for them (or returns at once with
#   `--no-wait`), and, run again after failures, submits only the shards that still miss entries.
#   `--submit local` runs the same jobs as local processes, through submitit's local executor: that is
#   what this book and the test suite run.
#
# The dry run shows the partition. Our CI plan has {glue:text}`ch9_ci_entries` entries; split into
# {glue:text}`ch9_workers` shards:

# %% tags=["nbval-check-output"]
WORKERS = 2
print(vlmsel("profile", *ci_args, "--dry-run", "--shard", f"0/{WORKERS}"))

# %% [markdown]
# Now a cluster in miniature: two entries are lost (their manifests deleted, as if their job had been
# killed before it finished), `--status` finds them, and `--submit local` recomputes exactly those,
# in {glue:text}`ch9_workers` worker processes. A real cluster would use `--submit slurm` in place of
# `--submit local`, with `--slurm-partition`, `--gpus-per-job` and any other submitit parameter as
# `--submit-param KEY=VALUE`.

# %% tags=["nbval-check-output"]
for victim in sorted(ci_store.glob("*/*.json"))[:2]:
    victim.unlink()
print(vlmsel("profile", *ci_args, "--status", "--workers", WORKERS))

# %%
print(vlmsel("profile", *ci_args, "--submit", "local", "--workers", WORKERS,
             "--jobs-dir", WORK / "jobs"))
print(vlmsel("profile", *ci_args, "--status", "--workers", WORKERS))
glue("ch9_workers", WORKERS, display=False)
glue("ch9_ci_entries", len(CI_MODELS) * len(CI_DATASETS), display=False)

# %% [markdown]
# Each job runs the submitting command with `--shard I/N` in place of the submit options: the same
# resumable `vlmsel profile` as before, so a job that dies (a pre-empted node, a time limit) loses at
# most the entry it was computing, and its claim on that entry dies with it. The test suite kills one
# of three workers mid-entry and checks that the rerun completes the store with every entry exactly
# once and bit-identical to a single-process run (`tests/cli/test_profile_submit.py`).
#
# **With another scheduler.** `--shard` is all a scheduler needs. On Ray, for example, one remote task
# per shard:
#
# ```python
# import subprocess, ray
#
# @ray.remote(num_gpus=1)
# def shard(i, n):
#     cmd = ["vlmsel", "profile", "--zoo", "openclip48", "--datasets", "all20", "--data-root", DATA,
#            "--device", "cuda", "--out", STORE, "--shard", f"{i}/{n}"]
#     return subprocess.run(cmd).returncode
#
# ray.init()
# print(ray.get([shard.remote(i, 16) for i in range(16)]))   # rerun the same line after failures
# ```
#
# and on a plain list of machines, `ssh host$i vlmsel profile ... --shard $i/16` does the same. We
# chose submitit for `--submit` because Slurm job arrays are what most research clusters run, and
# because submitit is small, pure Python, and has a local executor that runs the same code path on one
# machine (and so in CI); Ray would add a large dependency and a running cluster for what `--shard`
# already gives.
#
# **Evaluate.** `vlmsel evaluate` runs the leave-one-dataset-out protocol of {ref}`chapter 6 <ch-ranking>` on the store.
# `--restrict-to-profiles` keeps the benchmark's models and datasets that the store covers (here
# {glue:text}`ch9_ci_n_models` models and {glue:text}`ch9_ci_tasks` datasets; at paper scale, the
# whole benchmark). With so few models a ranking is nearly always right or reversed, and with random
# weights the DCD profiles carry no information: the numbers only show the command working.

# %%
text = vlmsel("evaluate", "--benchmark", "openclip48", "--method",
              "dcd,inb,avg_rank", "--profiles", ci_store,
              "--restrict-to-profiles", "--n-boot", "1000",
              "--no-per-target")
lines = text.splitlines()
start = next(i for i, x in enumerate(lines) if x.startswith("means over"))
print("\n".join([lines[0], "   ... (one table per method)", *lines[start:]]))

# %% [markdown]
# **Select.** The store is also what `vlmsel select` reads. The target's profiles must be made like
# the sources' (here random weights with the same seed: `--random-init`):

# %%
print(vlmsel("select", "--images", images / "my_images", "--zoo",
             "openclip48", "--models", ",".join(CI_MODELS), "--profiles",
             ci_store, "--random-init", "--n-images", CI_N_FILES,
             "--n-boot", "50", "--work-dir", WORK / "targets",
             "--device", "cpu", "--threads", N_THREADS))

# %% [markdown]
# ## Evaluating the real store
#
# With a real store, evaluation takes seconds on any machine (download the store from Drive, or run
# it in Colab). For an `openclip48` store:
#
# ```bash
# vlmsel evaluate --benchmark openclip48 --method dcd,baselines --profiles STORE --out results/
# vlmsel evaluate --benchmark lovm --method dcd,baselines --profiles STORE --restrict-to-profiles
# ```
#
# The first uses open_clip's table (48 models x 20 datasets). The second uses LOVM's table, whose
# 23 datasets include three that open_clip's table lacks: a store made with `--datasets all20` does
# not cover them, hence `--restrict-to-profiles`. A `lovm35` store made with `--datasets all` covers
# LOVM's table exactly, and `vlmsel evaluate --benchmark lovm --method dcd,baselines --profiles STORE`
# needs no restriction. `baselines` adds INB, the average rank, random, the oracle and
# modelGPT-lite (the last only on `lovm`, whose text features it needs).
#
# ## The results chapters on the real store
#
# Chapters {ref}`4 <ch-profiles>` to {ref}`7 <ch-ablations>` take two parameters, `PROFILE_STORE` (a store folder; `None` is the mini world)
# and `BENCHMARK` (`"lovm"` or `"openclip48"`), and say at the top which world they show. With
# papermill, from a clone of the repository:

# %%
book = Path.cwd()
chapters = sorted(p.name for p in book.glob("0[4-7]_*.ipynb"))
chapters = chapters or ["04_profiles.ipynb", "05_dcd.ipynb",
                        "06_ranking.ipynb", "07_ablations.ipynb"]
for nb in chapters:
    print(shlex.join(["papermill", f"notebooks/{nb}",
                      f"executed/{nb}", "-p", "PROFILE_STORE", STORE,
                      "-p", "BENCHMARK", "openclip48"]))

# %% [markdown]
# In Colab, open a chapter, set the two parameters in its parameters cell and run it. Everything
# else (figures, tables, glued numbers) follows from the store.
#
# ## Publishing the store for `vlmsel select`
#
# Users of `vlmsel select` should not have to spend GPU days on the source profiles: a published
# store is downloaded instead. Publishing is three commands, and using it none:
#
# 1. `vlmsel store pack STORE` writes one reproducible `.tar.gz` of the store with a checksum manifest
#    (the sha256 of every file) inside, and prints the archive's own sha256;
# 2. `vlmsel store verify ARCHIVE --sha256 HEX` checks the archive, every file against the manifest
#    and every entry (a store folder can be verified too);
# 3. after uploading the archive where anyone can download it by URL (a GitHub release asset, Zenodo,
#    a Hugging Face dataset repository), `vlmsel store publish ARCHIVE --url URL --zoo ZOO --registry
#    FILE` writes its registry entry (URL, sha256, size, the folder inside the archive and a
#    description of what it holds) into a registry file: `vlmsel/resources/profile_stores.json` in a
#    pull request, for everyone, or a file of your own, named by `VLMSEL_PROFILE_REGISTRY`.
#
# Then `vlmsel select --images DIR --zoo openclip48`, with no `--profiles`, finds the zoo's store in
# the registry, downloads it once, checks its sha256 before anything is written, unpacks it into the
# cache (`VLMSEL_CACHE_DIR`, default `~/.cache/vlmsel`) and uses it; `vlmsel store fetch NAME` does
# the download alone. An archive and a registry are someone else's files, so unpacking takes nothing
# on trust: only regular files listed in the checksum manifest, with plain names, inside the archive's
# one folder and within size limits, are written (`vlmsel.untrusted`); a registry's URLs must be
# `https://` or `file://`. No store of a real zoo is listed yet (`vlmsel store list` shows the
# registry; the mini world's committed store is registered in code). We run the whole flow on the CI
# store, with a web server on the loopback address standing in for the download site; it speaks plain
# `http://`, which `VLMSEL_ALLOW_HTTP=1` accepts for a server of one's own:

# %%
print(vlmsel("store", "pack", ci_store, "--out", WORK / "upload" / "ci_store.tar.gz"))
archive = WORK / "upload" / "ci_store.tar.gz"
digest = sha256_file(archive)
print(vlmsel("store", "verify", archive, "--sha256", digest))

# %%
import functools
import http.server
import threading

class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log in the page
        pass


handler = functools.partial(Quiet, directory=str(WORK / "upload"))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}/ci_store.tar.gz"
os.environ["VLMSEL_ALLOW_HTTP"] = "1"  # our own server, on this machine
reg_path = WORK / "my_registry.json"
text = vlmsel("store", "publish", archive, "--url", url, "--zoo", "openclip48",
              "--registry", reg_path)
print(text.replace(str(server.server_port), "PORT"))

# %% [markdown]
# Anyone who points `VLMSEL_PROFILE_REGISTRY` at that registry (a path or a URL) now gets the store
# by the zoo's name. Here a fresh cache stands for a new user's machine: `select`, with no
# `--profiles`, downloads, verifies and unpacks the store, and a second run finds it in the cache.

# %%
os.environ["VLMSEL_PROFILE_REGISTRY"] = str(reg_path)
os.environ["VLMSEL_CACHE_DIR"] = str(WORK / "new_user_cache")
try:
    listed = vlmsel("store", "list")
    print(listed.replace(str(server.server_port), "PORT")
          .replace(str(Path.cwd().parent), "$REPO"))
    ranking = vlmsel("select", "--images", images / "my_images", "--zoo",
                     "openclip48", "--models", ",".join(CI_MODELS),
                     "--random-init", "--n-images", CI_N_FILES, "--n-boot",
                     "50", "--work-dir", WORK / "new_user_targets",
                     "--device", "cpu", "--threads", N_THREADS)
    print("\n".join(ranking.strip().splitlines()[:5]), "\n   ...\n")
    where = vlmsel("store", "fetch", "ci_store")
    print(where)
    fetched = Path(where.split(":")[0].replace("$WORK", str(WORK)))
finally:
    del os.environ["VLMSEL_PROFILE_REGISTRY"], os.environ["VLMSEL_CACHE_DIR"], os.environ["VLMSEL_ALLOW_HTTP"]
    server.shutdown()
same = ProfileStore(fetched).available().equals(ProfileStore(ci_store).available())
print(f"the fetched store holds the same entries as the original: {same}")

# %% [markdown]
# **Merging.** Stores computed apart (two groups, two clusters) become one with `vlmsel store merge A
# B --into STORE`. It copies entries, keeps an entry held by both once when the arrays are identical,
# and refuses, naming the entry, when the two were made with other settings, other images, or other
# versions of vlmsel, torch or open_clip (`--allow-other-versions` lifts the last); nothing is
# written until every entry has been checked.

# %%
# Not compared by nbval: the fetched folder is named by the archive's sha256.
print(vlmsel("store", "merge", ci_store, fetched, "--into", WORK / "merged"))

# %% [markdown]
# ## Adding a model or a dataset to the ground truth
#
# DCD ranks a model by its accuracy on the source tasks, so a model or a dataset that the published
# tables lack needs its zero-shot accuracy first. `vlmsel zeroshot` computes it for any zoo on LOVM's
# datasets or on labelled folders (one subfolder per class, whose names are the class names unless
# `--classnames` says otherwise), sharded like `profile` (`--shard I/N`), one resumable result per
# (model, dataset), and a tidy `zeroshot.csv` that `vlmsel evaluate --benchmark` reads. On a labelled
# folder of mini-world images, with the CI models' random weights (their accuracies are chance):

# %% tags=["nbval-check-output"]
labelled = WORK / "labelled" / "my_task"
data = make_task_data(CI_TARGET_TASK, n=CI_N_FILES * 2, seed=SEED + 2)
for i, (img, y) in enumerate(zip(data.images, data.labels)):
    (labelled / f"class_{int(y)}").mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(labelled / f"class_{int(y)}" / f"{i:03d}.png")
print(vlmsel("zeroshot", "--models", ",".join(CI_MODELS), "--random-init",
             "--images", labelled, "--device", "cpu", "--threads", N_THREADS,
             "--out", WORK / "ground_truth"))

# %% [markdown]
# (paper-scale-conclusions)=
# ## What this chapter concludes
#
# This chapter measures costs, not the method: at CI scale its models are random-init and its
# rankings mean nothing. What it does establish is the price of the experiment the paper reports
# and this book could not run: {glue:text}`ch9_n_entries` profiles, an estimated
# {glue:text}`ch9_gpu_h:.0f` h on one GPU at an *assumed* {glue:text}`ch9_gpu_rate:g` GFLOP/s
# (to be replaced by the throughput measured on the first model), of which the ten most expensive
# models take {glue:text}`ch9_top10:.0%`. Until such a store exists and is published, every result
# of this book on DCD is a mini-world result ({ref}`preface-results`).
#
# ## Discussion
#
# 1. The ten most expensive models dominate the cost. Would you profile them with fewer images or
#    steps, or leave them out? What would each choice do to the comparison with the paper?
# 2. A store computed on one GPU type is reused by everyone. Which of its settings must a user match
#    to add a model of their own, and how would they know?

# %% [markdown]
# ## Summary
#
# - Paper scale is {glue:text}`ch9_n_entries` (model, dataset) profiles for {glue:text}`ch9_zoo` on its
#   {glue:text}`ch9_n_datasets` datasets: an estimated {glue:text}`ch9_gpu_h:.0f` h on one GPU under
#   an *assumed* throughput, {glue:text}`ch9_cpu_h:,.0f` h on a CPU like this one.
# - `vlmsel profile --zoo ZOO --datasets all20 --data-root DATA --device cuda --out STORE` does it,
#   resumably; keep the store on Drive and rerun the same command after a disconnect.
# - On a cluster, `--submit slurm --workers N` runs it as a job array (`--shard I/N` per job; any
#   other scheduler can run the shards), `--status` shows done / running / missing entries, and the
#   same command, rerun, submits only what is missing.
# - Memory is set by `--internal-batch-size`, not by $N$ or $n$; the largest models need smaller
#   chunks, which do not change the result.
# - `vlmsel evaluate --profiles STORE` measures the method on the store; chapters {ref}`4 <ch-profiles>` to {ref}`7 <ch-ablations>` run on it
#   with `-p PROFILE_STORE STORE -p BENCHMARK openclip48`; `vlmsel store pack`, `verify` and
#   `publish` put it in a registry by URL and sha256, and `vlmsel select --zoo ZOO` then downloads,
#   verifies and caches it for everyone; `vlmsel store merge` joins stores made with the same settings.
# - `vlmsel zeroshot` adds a model's or a dataset's accuracies to the ground truth.
# - At CI scale the same commands ran end to end on random-init models; their rankings mean
#   nothing.
#
# ## Exercises
#
# 1. Rerun the dry run with `--datasets cifar100,dtd` and `--zoo lovm35`. Which model dominates the
#    cost, and how many GPU hours does it take?
# 2. After the first model of the real run is done, measure the effective throughput with
#    `effective_gflops` and recompute the plan with `GPU_GFLOPS`. How far off was the assumption?
# 3. Why is it safe to resume a store with another `--internal-batch-size`, but not with another
#    `--n-steps`? What does `vlmsel profile` do in the second case?
#
# ```{dropdown} Solutions
# 1. `vlmsel profile --zoo lovm35 --datasets cifar100,dtd --out p --dry-run --device cuda` prints
#    the cost per model. The cost is proportional to image GFLOPs, so the largest image tower
#    dominates: {glue:text}`ch9_ex1_model` takes {glue:text}`ch9_ex1_share:.0%` of the
#    {glue:text}`ch9_ex1_h:.1f` GPU hours of the two datasets (at the assumed throughput).
# 2. `effective_gflops(STORE, load_zoo(ZOO))` uses the manifests' wall times; set `GPU_GFLOPS` to
#    it in the parameters cell (or pass `--throughput`) and rerun the "How long it takes" section. On
#    the CI run of this page, the same measurement gave {glue:text}`ch9_ci_rate:.0f` GFLOP/s against the
#    cost model's {glue:text}`ch9_cpu_rate:.0f` GFLOP/s for a CPU: a factor of
#    {glue:text}`ch9_ci_rate_ratio:.2f` (tiny models and a shared machine, so only indicative). The GPU
#    figure is not measured at all, so the GPU hours above stay assumptions until someone measures it.
# 3. The chunk size only changes how the same sums are grouped (the results agree up to float
#    rounding), so it is not a setting an entry must match. `n_steps` changes the integral itself:
#    `vlmsel profile` refuses to mix entries made with other settings and stops with an error
#    naming the entry, unless `--overwrite` is given (then it recomputes them).
# ```

# %% tags=["remove-input"]
# The answer of exercise 1, from the same cost model.
ex1 = pd.Series({e.name: e.image_gflops * N_IMAGES_FULL * (N_STEPS_FULL + 1)
                 * PASSES_PER_POINT / gpu_rate * 2 / 3600 for e in lovm})
glue("ch9_ex1_model", ex1.idxmax(), display=False)
glue("ch9_ex1_share", float(ex1.max() / ex1.sum()), display=False)
glue("ch9_ex1_h", float(ex1.sum()), display=False)

# %% [markdown]
# ## References
#
# The works cited here are listed in the [bibliography](../book/bibliography.md).
