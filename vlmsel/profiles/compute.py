"""Profiling a zoo: block conductance of every model on a sample of every task, into a profile store.

This is the expensive step of the method (:ref:`method-conductance`); everything after it reads the store
(:mod:`vlmsel.profiles.store`). :func:`run_profiles` does, for a zoo and a list of tasks:

1. checks every model name and task before any work (an unknown model or dataset, an empty folder,
   too few images or an unreadable image stops the run at once, with a message naming it);
2. draws each task's sample once (:func:`vlmsel.data.tasks.sample`: the same N images for every model);
3. loads each model once (:func:`vlmsel.data.zoo.load_model`), preprocesses the sample with the model's own
   transform, and runs :func:`vlmsel.conductance.block_conductance` (all four block scalars at once,
   so every ablation of the block scalar is free later);
4. records, with one more forward pass, what the other label-free signals need (:func:`image_features`:
   unit image embeddings, pixel statistics and, when the task has class names, the zero-shot logits);
5. writes one entry per (model, dataset) with :func:`vlmsel.profiles.store.write_profile` (atomic
   writes, the manifest last), with a manifest of everything needed to reproduce or audit it.

**Resuming.** An entry whose manifest exists is done: a rerun skips it after checking that it was made
with the same settings and from the same images (sha256 of each); a mismatch is an error unless
``overwrite=True``. A damaged entry (truncated, overwritten: its checksum fails) counts as not done and
is recomputed, with a note. An interrupted run leaves at most an entry without manifest, which counts as
absent, and temporary ``.partial`` files, which the next writer of that entry removes; so rerunning after
any interruption (Ctrl-C, a killed process, a power cut) gives the same store as an uninterrupted run.

**Several processes on one store.** Each entry is computed by the process that claims it
(:func:`vlmsel.files.try_claim`, an exclusive lock the kernel drops when its owner dies, even by
``kill -9``); the others skip it (status ``"claimed"``) and a rerun picks up whatever is still missing.
So any number of ``vlmsel profile`` processes can share a store and no entry is computed twice.

**Shards.** :func:`shard_plan` splits a plan into N parts of about equal estimated cost, deterministically
(it depends on the models, datasets and settings only, never on the store's state), so N independent
jobs (``run_profiles(..., shard=(i, N))``, ``vlmsel profile --shard i/N``, a Slurm array) cover the plan
once. Each model's datasets stay together as far as balance allows, so a shard loads few models.

**Cost model** (:func:`estimate_seconds`): profiling one (model, dataset) costs about
``image_GFLOPs x N x (n_steps + 1) x 3`` GFLOP (one forward pass per path point and a backward pass
that costs about twice a forward), divided by an effective throughput per device type
(:data:`THROUGHPUT_GFLOPS`; the CPU value was measured, see there).

Taught in the chapter :ref:`ch-paper-scale` (the real zoo) and :ref:`ch-mini-world` (the mini
zoo); the chapters from :ref:`ch-profiles` on read its store.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import torch

from vlmsel.conductance.engine import block_conductance
from vlmsel.conductance.objectives import zs_max_logit
from vlmsel.conductance.options import DEFAULT_INTERNAL_BATCH_SIZE, DEFAULT_METHOD, DEFAULT_N_STEPS, DEFAULT_RULE
from vlmsel.data.tasks import Sample, Task, lovm_dataset_specs, open_task, sample
from vlmsel.data.zeroshot import zero_shot_classifier
from vlmsel.data.zoo import (
    ModelLoadError,
    ZooEntry,
    check_entry,
    init_seed,
    load_model,
    resolve_device,
    with_image_gflops,
)
from vlmsel.files import claim_owner
from vlmsel.jobs import run_claimed, versions
from vlmsel.profiles.store import (
    DamagedEntryError,
    _init_store,
    check_store_folder,
    claim_path,
    has_profile,
    partial_files,
    read_profile,
    write_profile,
)
from vlmsel.progress import progress
from vlmsel.shards import parse_shard, partition  # noqa: F401 (parse_shard: part of this module's API)

#: Effective GFLOP/s of the whole profiling step (forward + backward over the path points, hooks,
#: step terms) per device type, used by :func:`estimate_seconds`. ``cpu``: measured on the project's
#: 2-core VM while other jobs shared it (load average about 6): random-init ViT-B-32, N=25, n_steps=50,
#: fp32, internal_batch_size 64, torch's default threads, took 1042 s for 8.82 image GFLOPs x 25 x 51 x 3
#: = 33.7 TFLOP, i.e. 32 GFLOP/s (``perf/profile_cost.py`` re-measures it). ``cuda``/``mps``: NOT
#: measured (no GPU was available); an assumption of a few percent of a modern GPU's fp32 peak.
#: Override with ``throughput_gflops=`` / ``--throughput``.
THROUGHPUT_GFLOPS: dict[str, float] = {"cpu": 32.0, "cuda": 5000.0, "mps": 500.0}
#: Where each figure of :data:`THROUGHPUT_GFLOPS` comes from; ``vlmsel profile --dry-run`` prints it beside
#: the estimate. ``perf/gpu_check.sh`` measures the CUDA figure on one GPU; enter it here when it is run.
THROUGHPUT_SOURCE: dict[str, str] = {
    "cpu": "measured on the project's 2-core VM (perf/profile_cost.py)",
    "cuda": "assumed, NOT measured (no GPU was available; perf/gpu_check.sh measures it)",
    "mps": "assumed, NOT measured",
}
#: backward ~ 2x forward.
PASSES_PER_POINT = 3

#: Manifest fields that determine the result; an existing entry must agree on all of them to be reused.
RESULT_FIELDS = (
    "n_images",
    "seed",
    "n_steps",
    "method",
    "rule",
    "baseline",
    "objective",
    "granularity",
    "weights",
    "precision",
    "autocast",
    "quick_gelu",
)
#: Values of result fields that manifests written before the field was recorded lack.
RESULT_FIELD_DEFAULTS: dict[str, Any] = {"autocast": False}


@dataclass(frozen=True)
class ProfileSettings:
    """Everything that determines a profile (defaults: the method page's, :ref:`method-choices`).

    Attributes
    ----------
    n_images : images per task (N, default 25). seed : sampling seed (default 0; also seeds random init).
    n_steps, method, rule, baseline, granularity, internal_batch_size, autocast : passed to
        :func:`vlmsel.conductance.block_conductance`.
    objective : ``"norm"`` (``||f(x)||``, default) or ``"zs_max_logit"`` (the task's largest zero-shot
        logit; needs the task's class names and templates).
    pretrained : real weights (True) or random init (False, offline).
    precision : open_clip precision (default ``"fp32"``).
    zero_shot : record each model's zero-shot logits on tasks with class names and templates (default True:
        one text-tower pass over the task's K x J prompts per model; the target-only scores need them). It
        changes no block scalar, so an entry made either way is reused by the other.
    """

    n_images: int = 25
    n_steps: int = DEFAULT_N_STEPS
    seed: int = 0
    method: str = DEFAULT_METHOD
    rule: str = DEFAULT_RULE
    baseline: str = "zeros"
    objective: str = "norm"
    granularity: str = "block"
    internal_batch_size: int = DEFAULT_INTERNAL_BATCH_SIZE
    autocast: bool = False
    pretrained: bool = True
    precision: str = "fp32"
    zero_shot: bool = True

    def __post_init__(self) -> None:
        if self.n_images < 1:
            raise ValueError(f"n_images must be at least 1; got {self.n_images}")
        if self.n_steps < 1:
            raise ValueError(f"n_steps must be at least 1; got {self.n_steps}")
        if self.objective not in ("norm", "zs_max_logit"):
            raise ValueError(f"objective must be 'norm' or 'zs_max_logit'; got {self.objective!r}")
        if self.internal_batch_size < 1:
            raise ValueError(f"internal_batch_size must be at least 1; got {self.internal_batch_size}")

    @property
    def weights(self) -> str:
        return "pretrained" if self.pretrained else "random-init"


@dataclass
class Job:
    """One (model, dataset) of a plan. ``status``: ``"todo"``, ``"done"``, ``"failed"``, ``"written"``,
    ``"claimed"`` (another living process is computing it) or, in a plan, ``"refused"`` (stored with
    other settings or images; ``error`` says which). ``note`` says why a stored entry is recomputed;
    ``shard`` is its shard in a plan split into shards (:func:`shard_plan`)."""

    model: ZooEntry
    dataset: str
    status: str = "todo"
    est_seconds: float = math.nan
    wall_time_s: float = math.nan
    error: str = ""
    note: str = ""
    shard: int | None = None


def estimate_seconds(
    image_gflops: float,
    n_images: int,
    n_steps: int,
    device: str | torch.device = "cpu",
    throughput_gflops: float | None = None,
) -> float:
    """Estimated wall time (s) of one (model, dataset): ``image_gflops x N x (n_steps+1) x 3 / throughput``.

    ``throughput_gflops`` defaults to :data:`THROUGHPUT_GFLOPS` of the device type. NaN when the
    model's GFLOPs are unknown.
    """
    dtype = torch.device(device).type if str(device) != "auto" else resolve_device("auto").type
    rate = (
        throughput_gflops if throughput_gflops is not None else THROUGHPUT_GFLOPS.get(dtype, THROUGHPUT_GFLOPS["cpu"])
    )
    return float(image_gflops) * n_images * (n_steps + 1) * PASSES_PER_POINT / rate


def entry_work(entry: ZooEntry, settings: ProfileSettings) -> float:
    """The work of profiling one (model, dataset), in GFLOP (:func:`estimate_seconds` at 1 GFLOP/s), the
    cost by which :func:`shard_plan` balances shards; NaN when the model's GFLOPs are unknown."""
    return estimate_seconds(entry.image_gflops, settings.n_images, settings.n_steps, "cpu", throughput_gflops=1.0)


def shard_plan(
    entries: Sequence[ZooEntry], datasets: Sequence[str], settings: ProfileSettings, n_shards: int
) -> dict[tuple[str, str], int]:
    """``{(model, dataset): shard}`` for the plan models x datasets split into ``n_shards`` by estimated
    work (:func:`vlmsel.shards.partition` of :func:`entry_work`). Models whose GFLOPs are unknown are measured
    (:func:`vlmsel.data.zoo.with_image_gflops`, no weights needed), so every worker computes the same split."""
    keys, costs = [], []
    for e in entries:
        if math.isnan(e.image_gflops):
            try:
                e = with_image_gflops(e)
            except ModelLoadError:
                pass
        for d in datasets:
            keys.append((e.name, d))
            costs.append(entry_work(e, settings))
    return dict(zip(keys, partition(keys, costs, n_shards)))


def check_dataset_names(datasets: Sequence[str]) -> None:
    """Raise a KeyError naming every dataset that is neither a LOVM dataset nor an existing folder."""
    known = lovm_dataset_specs()
    bad = [d for d in datasets if d not in known and not Path(d).is_dir()]
    if bad:
        raise KeyError(f"unknown dataset(s) {bad}: not LOVM datasets ({list(known)}) and not folders")
    dup = sorted({d for d in datasets if list(datasets).count(d) > 1})
    if dup:
        raise ValueError(f"datasets listed more than once: {dup}")


def plan_profiles(
    entries: Sequence[ZooEntry],
    datasets: Sequence[str],
    store: str | os.PathLike,
    settings: ProfileSettings = ProfileSettings(),
    *,
    device: str | torch.device = "cpu",
    throughput_gflops: float | None = None,
    measure_unknown_gflops: bool = True,
    overwrite: bool = False,
    samples: dict[str, Sample] | None = None,
    n_shards: int | None = None,
) -> list[Job]:
    """The jobs of a run, models x datasets, with its estimated seconds (:func:`estimate_seconds`): what
    :func:`run_profiles` with the same arguments would do. Each job is ``"done"`` (a complete entry made
    with these settings), ``"todo"`` (absent, damaged, or to be overwritten: ``note`` says why),
    ``"refused"`` (stored with other settings or images and not ``overwrite``: ``error`` says how) or
    ``"claimed"`` (another living process is computing it now).

    ``datasets`` are task names as stored (LOVM names, or folder task names). The images of a stored
    entry are compared only for the tasks in ``samples`` (the plan opens no data itself). Models whose
    image GFLOPs are unknown are measured (:func:`vlmsel.data.zoo.measure_image_gflops`) when
    ``measure_unknown_gflops``. With ``n_shards``, each job's ``shard`` is set (:func:`shard_plan`).
    """
    check_store_folder(store)  # a damaged or foreign store.json is refused, never reported "done"
    for e in entries:
        check_entry(e, pretrained=settings.pretrained)
    shards = shard_plan(entries, datasets, settings, n_shards) if n_shards else {}
    jobs = []
    for e in entries:
        if measure_unknown_gflops and math.isnan(e.image_gflops):
            try:
                e = with_image_gflops(e)
            except ModelLoadError:
                pass
        est = estimate_seconds(e.image_gflops, settings.n_images, settings.n_steps, device, throughput_gflops)
        for d in datasets:
            job = Job(e, d, "todo", est, shard=shards.get((e.name, d)))
            _classify(Path(store), job, settings, overwrite, (samples or {}).get(d))
            if job.status == "todo":
                owner = claim_owner(claim_path(store, e.name, d))
                if owner is not None:
                    job.status, job.error = "claimed", _owner_text(owner)
            jobs.append(job)
    return jobs


def plan_table(jobs: Sequence[Job]) -> pd.DataFrame:
    """The plan as a DataFrame: model, dataset, status, image_gflops, est_seconds, wall_time_s, error, note,
    shard (None unless the plan was split)."""
    return pd.DataFrame(
        [
            dict(
                model=j.model.name,
                dataset=j.dataset,
                status=j.status,
                image_gflops=j.model.image_gflops,
                est_seconds=j.est_seconds,
                wall_time_s=j.wall_time_s,
                error=j.error,
                note=j.note,
                shard=j.shard,
            )
            for j in jobs
        ],
        columns=["model", "dataset", "status", "image_gflops", "est_seconds", "wall_time_s", "error", "note", "shard"],
    )


def _classify(store: Path, job: Job, settings: ProfileSettings, overwrite: bool, sample_: Sample | None) -> None:
    """Set ``job.status`` from what the store holds for it: ``"todo"`` when absent, damaged (``note``)
    or to be overwritten; ``"done"`` when made with these settings (and, given ``sample_``, from the same
    images); ``"refused"`` with the reason in ``error`` otherwise."""
    job.status, job.error, job.note = "todo", "", ""
    if not has_profile(store, job.model.name, job.dataset):
        return
    try:
        _, manifest = read_profile(store, job.model.name, job.dataset)
    except DamagedEntryError as err:
        job.note = f"recomputed: {err}"
        return
    wanted = _result_fields(settings, job.model)
    stored = {k: manifest.get(k, RESULT_FIELD_DEFAULTS.get(k)) for k in wanted}
    diff = {k: (stored[k], v) for k, v in wanted.items() if stored[k] != v}
    where = f"profile store {store}: the entry {job.model.name!r} / {job.dataset!r}"
    if diff:
        shown = ", ".join(f"{k}: stored {a!r}, asked {b!r}" for k, (a, b) in diff.items())
        reason = f"{where} was made with other settings ({shown})"
        hint = "; use another store, or overwrite=True (--overwrite) to recompute it"
    elif sample_ is not None and list(manifest.get("image_sha256", [])) != list(sample_.sha256):
        old, new = list(manifest.get("image_sha256", [])), list(sample_.sha256)
        changed = sum(a != b for a, b in zip(old, new)) + abs(len(old) - len(new))
        reason = (
            f"{where} was profiled on other images than the task now has ({changed} of {len(new)} differ; "
            f"stored from {manifest.get('source', '?')}, now {sample_.source})"
        )
        hint = "; overwrite=True (--overwrite) recomputes it, or give the new images another task name (NAME=DIR)"
    else:
        job.status = "done"
        return
    if overwrite:
        job.note = f"overwritten: {reason}"
    else:
        job.status, job.error = "refused", reason + hint


def _owner_text(owner: dict) -> str:
    since = owner.get("since")
    age = f", for {time.time() - since:.0f} s" if isinstance(since, (int, float)) else ""
    return f"being computed by pid {owner.get('pid', '?')} on {owner.get('host', '?')}{age}"


def _result_fields(settings: ProfileSettings, entry: ZooEntry) -> dict[str, Any]:
    return {
        "n_images": settings.n_images,
        "seed": settings.seed,
        "n_steps": settings.n_steps,
        "method": settings.method,
        "rule": settings.rule,
        "baseline": settings.baseline,
        "objective": settings.objective,
        "granularity": settings.granularity,
        "weights": settings.weights,
        "precision": settings.precision,
        "autocast": settings.autocast,
        "quick_gelu": entry.quick_gelu,
    }


def images_tensor(sample_: Sample, preprocess) -> torch.Tensor:
    """The sample's images through a model's preprocess: float tensor (N, 3, H, W)."""
    return torch.stack([preprocess(img) for img in sample_.images])


def image_features(model: Any, x: torch.Tensor, classifier: torch.Tensor | None = None) -> dict[str, Any]:
    """The arrays beside the block scalars (:data:`vlmsel.profiles.store.FEATURE_ARRAYS`) from one forward
    pass: ``embedding`` (N, E), the unit image embeddings, and with a zero-shot ``classifier`` (E, K)
    (:func:`vlmsel.data.zeroshot.zero_shot_classifier`) ``class_embeddings`` (K, E) and ``zs_logits``
    (N, K) = exp(logit_scale) x cosine (+ logit_bias for a SigLIP-style model), the model's own logits."""
    with torch.no_grad():
        emb = torch.nn.functional.normalize(model.encode_image(x).float(), dim=-1)
    out: dict[str, Any] = {"embedding": emb.cpu().numpy()}
    if classifier is not None:
        cls = classifier.float().to(emb.device)
        logits = emb @ cls
        scale = getattr(model, "logit_scale", None)
        if scale is not None:
            logits = logits * scale.detach().float().exp()
        bias = getattr(model, "logit_bias", None)
        if bias is not None:
            logits = logits + bias.detach().float()
        out.update(class_embeddings=cls.T.cpu().numpy(), zs_logits=logits.cpu().numpy())
    return out


def profile_one(
    model: torch.nn.Module,
    preprocess,
    tokenizer,
    entry: ZooEntry,
    task: Task,
    sample_: Sample,
    settings: ProfileSettings,
    device: torch.device,
) -> tuple[Any, dict[str, Any]]:
    """Block conductance of one model on one task's sample with the :func:`image_features`, as the arrays
    :func:`vlmsel.profiles.store.write_profile` takes, and its manifest (without ``created``)."""

    t0, c0 = time.perf_counter(), time.process_time()
    x = images_tensor(sample_, preprocess).to(device)
    objective, classifier = None, None
    if settings.objective == "zs_max_logit":
        if not task.classnames or not task.templates:
            raise ValueError(f"objective 'zs_max_logit' needs class names and templates; task {task.name!r} has none")
        if tokenizer is None:
            raise ValueError("objective 'zs_max_logit' needs the model's tokenizer")
    wanted = settings.zero_shot or settings.objective == "zs_max_logit"
    if wanted and task.classnames and task.templates and tokenizer is not None:
        classifier = zero_shot_classifier(model, tokenizer, task.classnames, task.templates, device=device)
    if settings.objective == "zs_max_logit":
        assert classifier is not None  # checked above: class names, templates and tokenizer
        objective = zs_max_logit(classifier)
    t_conductance = time.perf_counter()
    result = block_conductance(
        model,
        x,
        n_steps=settings.n_steps,
        method=settings.method,
        rule=settings.rule,
        baseline=settings.baseline,
        objective=objective,
        internal_batch_size=settings.internal_batch_size,
        granularity=settings.granularity,
        autocast=settings.autocast,
        show_progress=False,
    )
    t_features = time.perf_counter()
    features = image_features(model, x, classifier)
    features["pixel_stats"] = sample_.pixel_stats
    t_end = time.perf_counter()
    if classifier is not None:
        features["class_names"] = list(task.classnames or ())
    manifest = {
        "model": entry.name,
        "dataset": task.name,
        "n_images": len(sample_),
        "image_ids": list(sample_.ids),
        "image_sha256": list(sample_.sha256),
        "image_sha256_of": "rgb pixels" if "torchvision" in sample_.source else "file bytes",
        "source": sample_.source,
        "skipped": [list(s) for s in sample_.skipped],
        **_result_fields(settings, entry),
        "block_names": [str(b) for b in result.block_names],
        "block_kinds": [str(k) for k in result.block_kinds],
        "internal_batch_size": settings.internal_batch_size,
        "autocast": settings.autocast,
        "image_size": list(x.shape[-2:]),
        "arch": entry.arch,
        "pretrained": entry.pretrained,
        "family": entry.family,
        "versions": versions(),
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "wall_time_s": round(time.perf_counter() - t0, 3),
        "conductance_s": round(t_features - t_conductance, 3),  # the block conductance alone
        "features_s": round(t_end - t_features, 3),  # the forward pass of the feature arrays
        "cpu_time_s": round(time.process_time() - c0, 3),
        "threads": torch.get_num_threads(),
    }
    if not settings.pretrained:
        manifest["init_seed"] = init_seed(entry, settings.seed)
    return {**result.to_arrays(), **features}, manifest


@dataclass
class RunReport:
    """What a run did: the jobs (with status and wall time) and the tasks' samples."""

    jobs: list[Job]
    samples: dict[str, Sample] = field(default_factory=dict)

    @property
    def failed(self) -> list[Job]:
        return [j for j in self.jobs if j.status == "failed"]

    def table(self) -> pd.DataFrame:
        return plan_table(self.jobs)


def run_profiles(
    entries: Sequence[ZooEntry],
    tasks: Sequence[str | Task],
    store: str | os.PathLike,
    settings: ProfileSettings = ProfileSettings(),
    *,
    device: str | torch.device = "auto",
    data_root: str | os.PathLike | None = None,
    download: bool = False,
    skip_bad: bool = False,
    overwrite: bool = False,
    show_progress: bool | None = None,
    shard: tuple[int, int] | None = None,
) -> RunReport:
    """Profile every model on every task into ``store``, resuming what an earlier run left.

    Parameters
    ----------
    entries : the zoo (:func:`vlmsel.data.zoo.load_zoo`).
    tasks : LOVM dataset names, folders, or :class:`~vlmsel.data.tasks.Task` objects.
    store : profile store folder (created if missing).
    settings : :class:`ProfileSettings`.
    device : ``"auto"`` (default), ``"cpu"``, ``"cuda"``, ...
    data_root, download, skip_bad : how tasks are opened and sampled (:func:`vlmsel.data.tasks.open_task`).
    overwrite : recompute entries made with other settings instead of raising.
    show_progress : progress bar over models x datasets (default: on unless ``VLMSEL_PROGRESS=0``/CI).
    shard : ``(i, n)``: compute only shard ``i`` of ``n`` of the plan (:func:`shard_plan`); the
        report lists that shard's entries only. Every task is still opened and checked.

    Returns
    -------
    RunReport; ``.failed`` lists models that could not be loaded (the other models still ran).

    Raises
    ------
    KeyError, FileNotFoundError, ValueError, ~vlmsel.data.images.ImageReadError
        Before any model is loaded: unknown model or dataset, missing data, empty folder, fewer images
        than ``n_images``, unreadable image.
    ModelLoadError
        An unknown architecture or tag (checked up front).
    """
    dev = resolve_device(device)
    store = Path(store)
    check_store_folder(store)  # a damaged or foreign store.json is refused, never reported "done"
    for e in entries:
        check_entry(e, pretrained=settings.pretrained)
    opened: list[Task] = []
    for t in tasks:
        if isinstance(t, Task):
            opened.append(t)
        else:
            check_dataset_names([str(t)])
            opened.append(open_task(t, root=data_root, download=download, skip_bad=skip_bad))
    names = [t.name for t in opened]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"two tasks have the same name {dup}; name folders distinctly (NAME=DIR)")
    by_name = {t.name: t for t in opened}
    any_classes = settings.zero_shot and any(t.classnames and t.templates for t in opened)  # logits recorded

    jobs = [Job(e, t.name) for e in entries for t in opened]
    if shard is not None:
        index, count = shard
        mine = shard_plan(entries, names, settings, count)
        jobs = [j for j in jobs if mine[(j.model.name, j.dataset)] == index]
    # each task's sample, also for stored entries: their images are compared with what the task has now
    wanted = [name for name in names if any(j.dataset == name for j in jobs)]
    samples = {name: sample(by_name[name], settings.n_images, settings.seed, skip_bad=skip_bad) for name in wanted}
    for job in jobs:
        _classify(store, job, settings, overwrite, samples[job.dataset])
    refused = [j for j in jobs if j.status == "refused"]
    if refused:
        more = f" (and {len(refused) - 1} more entries)" if len(refused) > 1 else ""
        raise ValueError(refused[0].error + more)
    todo = [j for j in jobs if j.status == "todo"]
    if todo:
        _init_store(store)  # the marker before any claim: a store never holds entries without it

    current: tuple[str, Any] | None = None
    failed_models: dict[str, str] = {}

    def is_done(job: Job) -> bool:  # a model that failed to load is not retried for its other datasets
        if job.model.name in failed_models:
            job.status, job.error = "failed", failed_models[job.model.name]
            return True
        _classify(store, job, settings, overwrite, samples[job.dataset])  # finished meanwhile by another?
        return job.status != "todo"

    plan = progress(todo, total=len(todo), desc="profiling models x datasets", enabled=show_progress)
    for job, state in run_claimed(
        plan,
        is_done=is_done,
        claim=lambda j: claim_path(store, j.model.name, j.dataset),
        owner=lambda j: {"model": j.model.name, "dataset": j.dataset},
        partials=lambda j: partial_files(store, j.model.name, j.dataset),
    ):
        name = job.model.name
        if state == "claimed":  # another living process computes it: skip (a rerun picks up what is missing)
            job.status, job.error = "claimed", _owner_text(claim_owner(claim_path(store, name, job.dataset)) or {})
        if state != "mine":
            continue
        # this process holds the entry's claim until the loop moves on
        if current is None or current[0] != name:
            current = None  # free the previous model before loading the next
            try:
                loaded = load_model(
                    job.model,
                    pretrained=settings.pretrained,
                    device=dev,
                    precision=settings.precision,
                    seed=settings.seed,
                    with_tokenizer=settings.objective == "zs_max_logit" or any_classes,
                )
            except ModelLoadError as err:
                failed_models[name] = str(err)
                job.status, job.error = "failed", str(err)
                continue
            current = (name, loaded)
        model, preprocess, tokenizer = current[1]
        task = by_name[job.dataset]
        arrays, manifest = profile_one(
            model, preprocess, tokenizer, job.model, task, samples[job.dataset], settings, dev
        )
        write_profile(store, name, job.dataset, arrays, manifest)
        job.status, job.wall_time_s = "written", manifest["wall_time_s"]
    return RunReport(jobs, samples)
