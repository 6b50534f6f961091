"""Select a model for your own images: :func:`select`, a short sequence of named steps.

This is what a practitioner runs: a folder of unlabeled images in, a ranked and explained list of
models out. :func:`select` does the method for *one new target*:

1. **Your images** (:func:`vlmsel.recommend.target.target_sample`): up to ``n_images`` (default 25),
   drawn with a fixed seed. Each model's own transform (open_clip's ``preprocess``) turns every image,
   however large, into the model's input.
2. **The inputs**: the zoo (:func:`vlmsel.data.zoo.load_zoo`), the source ground truth (the zoo's
   benchmark, or ``benchmark=``) and the source profiles (a profile store folder, or a published store,
   :mod:`vlmsel.profiles.registry`).
3. **Candidates**: the zoo's models that have ground truth and source profiles and fit ``max_gflops``.
4. **Source profiles and their settings**, read from the store's manifests. The target must be profiled
   exactly as the sources were (same weights, n_steps, path rule, baseline, objective, granularity,
   precision; for random weights the same init seed): a disagreement is an error naming the model.
5. **Only the target's profiles are computed** (:func:`vlmsel.profiles.compute.profile_one`, one model at
   a time: the block conductance, the unit image embeddings, pixel statistics and, with ``classes``, the
   zero-shot logits), cached per image set and settings under ``work_dir``.
6. **Scores** by the ranking method (:func:`vlmsel.recommend.methods.score_method`: ``method``, by default
   the one this project's evidence supports, :mod:`vlmsel.recommend.evidence`), for the images and for
   ``n_boot`` bootstrap resamples of them (:mod:`vlmsel.recommend.stability`); with ``compare``, the
   paper's DCD, the scale-free DCD and the best cheap signal rank the same images side by side, and the
   paper's DCD always explains the ranking (its weights over the sources and the block importances).
7. **The result** (:class:`vlmsel.recommend.result.SelectionResult`): ranking, explanations, stability,
   cost; :mod:`vlmsel.recommend.report` writes it as one HTML file, ``vlmsel select`` is the command line.

Taught in the chapter "Selecting a model for your own images" (:ref:`ch-select`); which method to use, in
the chapter "What should I use?" (:ref:`ch-what-to-use`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from vlmsel.conductance.options import DEFAULT_INTERNAL_BATCH_SIZE
from vlmsel.data.benchmarks import Benchmark, benchmark_names, load_benchmark, read_accuracy_table
from vlmsel.data.tasks import Sample, Task
from vlmsel.data.zoo import ModelLoadError, ZooEntry, load_model, load_zoo, named_zoo, resolve_device, with_image_gflops
from vlmsel.files import cache_dir
from vlmsel.jobs import versions
from vlmsel.method.aggregation import ranking_orders
from vlmsel.method.options import MethodOptions, resolve
from vlmsel.profiles.compute import RESULT_FIELD_DEFAULTS, ProfileSettings, profile_one
from vlmsel.profiles.pooling import Profiles
from vlmsel.profiles.registry import open_store
from vlmsel.profiles.store import (
    SIGNED_SCALARS,
    DamagedEntryError,
    ProfileStore,
    has_profile,
    read_profile,
    write_profile,
)
from vlmsel.progress import progress
from vlmsel.recommend.evidence import Evidence, load_evidence
from vlmsel.recommend.methods import (
    MethodScores,
    TargetInputs,
    agreement,
    check_method,
    score_method,
)
from vlmsel.recommend.options import DEFAULT_N_BOOT, DEFAULT_N_IMAGES, NEEDS_CLASSES, SELECT_METHODS, STABLE_AT
from vlmsel.recommend.result import SelectionResult
from vlmsel.recommend.stability import curve_sizes, images_for_stability, pareto_optimal, top_k_probabilities
from vlmsel.recommend.target import TARGET, ListedSample, target_key, target_sample, write_images_json

#: Manifest fields on which the target's profiles must agree with the sources' (plus ``seed`` for random weights).
MATCH_FIELDS: tuple[str, ...] = (
    "weights",
    "n_steps",
    "method",
    "rule",
    "baseline",
    "objective",
    "granularity",
    "precision",
    "autocast",
    "quick_gelu",
)


# ------------------------------------------------------------------------------------------ inputs
def _zoo_entries(zoo: Any, models: Sequence[str] | None) -> list[ZooEntry]:
    entries = load_zoo(zoo)
    if models is not None:
        names = [e.name for e in entries]
        unknown = [m for m in models if m not in names]
        if unknown:
            raise KeyError(f"model(s) {unknown} are not in zoo {zoo!r} ({len(names)} models, e.g. {names[:3]})")
        entries = [e for e in entries if e.name in set(models)]
    return entries


def _benchmark(benchmark: Any, zoo: Any) -> tuple[str, pd.DataFrame, pd.DataFrame | None, str | None]:
    """(name, wide accuracy table models x datasets, model_info or None, reference dataset or None)."""
    if benchmark is None:
        named = named_zoo(zoo) if isinstance(zoo, str) else None
        if named is None:
            raise ValueError(
                "the zoo is not a named zoo: say which ground truth to use with benchmark= "
                f"(one of {benchmark_names()}, a Benchmark, a models x datasets DataFrame or a CSV file)"
            )
        benchmark = named.benchmark
    if isinstance(benchmark, str) and benchmark in benchmark_names():
        benchmark = load_benchmark(benchmark)
    if isinstance(benchmark, Benchmark):
        return benchmark.name, benchmark.wide, benchmark.model_info, benchmark.reference_dataset
    if isinstance(benchmark, pd.DataFrame):
        return "custom", benchmark.astype(float), None, None
    path = Path(benchmark)
    if path.is_file():
        return path.name, read_accuracy_table(path), None, None
    raise KeyError(f"unknown benchmark {benchmark!r}: not one of {benchmark_names()} and not a CSV file")


def _settings_of(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's settings that the target must share (older manifests lack autocast: its default)."""
    out = {k: manifest.get(k, RESULT_FIELD_DEFAULTS.get(k)) for k in MATCH_FIELDS}
    if manifest.get("weights") == "random-init":
        out["seed"] = manifest.get("seed")
    return out


def _fmt_settings(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in d.items())


# ------------------------------------------------------------------------------------------ steps
def _candidates(
    entries: list[ZooEntry],
    acc: pd.DataFrame,
    model_info: pd.DataFrame | None,
    store: ProfileStore,
    bench_name: str,
    max_gflops: float | None,
) -> tuple[list[ZooEntry], dict[str, str]]:
    """Step 3: the models with ground truth and source profiles, within the compute budget."""
    stored = set(store.models)
    excluded: dict[str, str] = {}
    filled = []
    for e in entries:
        if e.name not in acc.index:
            excluded[e.name] = f"no ground truth in benchmark {bench_name!r}"
            continue
        if e.name not in stored:
            excluded[e.name] = f"no source profiles in {store.path}"
            continue
        if math.isnan(e.image_gflops):
            try:
                e = with_image_gflops(e)
            except (ModelLoadError, RuntimeError, ValueError):
                pass
        if math.isnan(e.image_gflops) and model_info is not None and e.name in model_info.index:
            e = dataclasses.replace(e, image_gflops=float(model_info.at[e.name, "image_gflops"]))
        if max_gflops is not None:
            if math.isnan(e.image_gflops):
                excluded[e.name] = "image GFLOPs unknown (max_gflops is set)"
                continue
            if e.image_gflops > max_gflops:
                excluded[e.name] = f"{e.image_gflops:.3g} image GFLOPs > max_gflops={max_gflops:g}"
                continue
        filled.append(e)
    if len(filled) < 2:
        shown = "; ".join(f"{m}: {r}" for m, r in list(excluded.items())[:6])
        why = f" (left out: {shown})" if shown else ""
        given = f" of the {len(entries)} given ({', '.join(e.name for e in entries[:6])})" if len(entries) < 2 else ""
        raise ValueError(f"only {len(filled)} candidate model(s) remain{given}, at least 2 are needed to rank{why}")
    return filled, excluded


def _sources(store: ProfileStore, acc: pd.DataFrame, names: list[str], bench_name: str, notes: list[str]) -> list[str]:
    """Step 3b: the source datasets profiled for every candidate and with ground truth for all of them."""
    avail = store.available()
    sources = [
        d
        for d in acc.columns
        if d in avail.columns and bool(avail.loc[names, d].all()) and not acc.loc[names, d].isna().any()
    ]
    dropped = [d for d in acc.columns if d in avail.columns and d not in sources]
    if dropped:
        notes.append(f"sources left out (not profiled for every candidate, or no ground truth): {dropped}")
    if not sources:
        raise ValueError(
            f"profile store {store.path} holds no dataset of benchmark {bench_name!r} for every candidate "
            f"model (store datasets: {list(avail.columns)[:10]})"
        )
    if len(sources) < 3:
        notes.append(f"only {len(sources)} source dataset(s): the ranking can only echo them")
    return sources


def _block_scalars(arrays: dict[str, np.ndarray], scalar: str) -> np.ndarray:
    c = arrays[scalar]
    return np.abs(c) if scalar in SIGNED_SCALARS else c


def _read_sources(store: ProfileStore, names: list[str], sources: list[str], scalar: str, n_images: int | None):
    """Step 4: every candidate's block scalars on every source, and its profile settings (checked to agree)."""
    scalars: dict[str, dict[str, np.ndarray]] = {}
    settings_of: dict[str, dict[str, Any]] = {}
    block_names: dict[str, list[str]] = {}
    for m in names:
        per: dict[str, np.ndarray] = {}
        for d in sources:
            arrays, manifest = store.read(m, d)
            s = _settings_of(manifest)
            if m not in settings_of:
                settings_of[m], block_names[m] = s, list(arrays["block_names"])
            elif s != settings_of[m] or list(arrays["block_names"]) != block_names[m]:
                raise ValueError(
                    f"profile store {store.path}: model {m!r} was profiled with different settings "
                    f"on {d!r} ({_fmt_settings(s)}) than on {sources[0]!r} ({_fmt_settings(settings_of[m])})"
                )
            per[d] = _block_scalars(arrays, scalar)[:n_images]  # at most source_images images (None: all)
        scalars[m] = per
    return scalars, settings_of, block_names


def _target_settings(
    entries: list[ZooEntry],
    settings_of: dict[str, dict[str, Any]],
    store: ProfileStore,
    *,
    pretrained: bool,
    n_steps: int | None,
    n_images: int,
    seed: int,
    internal_batch_size: int,
) -> dict[str, ProfileSettings]:
    """Step 4b: each model's target settings are the store's, checked against what this run asked for."""
    weights = "pretrained" if pretrained else "random-init"
    out: dict[str, ProfileSettings] = {}
    for e in entries:
        s = settings_of[e.name]
        asked = {"weights": weights, "quick_gelu": e.quick_gelu}
        if n_steps is not None:
            asked["n_steps"] = n_steps
        diff = {k: (s.get(k), v) for k, v in asked.items() if s.get(k) != v}
        if diff:
            shown = ", ".join(f"{k}: store {a!r}, this run {b!r}" for k, (a, b) in diff.items())
            hint = (
                " (pass pretrained=False / --random-init)"
                if "weights" in diff and s.get("weights") == "random-init"
                else ""
            )
            raise ValueError(
                f"model {e.name!r}: the source profiles in {store.path} were made with other settings "
                f"({shown}){hint}; the target must be profiled like its sources"
            )
        if s.get("objective") != "norm":
            raise ValueError(
                f"model {e.name!r}: the store's objective is {s.get('objective')!r}; your images have no "
                "class names, so only the label-free 'norm' objective can profile them"
            )
        init = s["seed"] if weights == "random-init" else seed
        out[e.name] = ProfileSettings(
            n_images=n_images,
            n_steps=int(s["n_steps"]),
            seed=int(init),
            method=s["method"],
            rule=s["rule"],
            baseline=s["baseline"],
            objective="norm",
            granularity=s["granularity"],
            internal_batch_size=internal_batch_size,
            pretrained=pretrained,
            precision=s["precision"],
            autocast=bool(s["autocast"]),
        )
    return out


def _profile_target(
    entries: list[ZooEntry],
    sample_: Sample,
    run_settings: dict[str, ProfileSettings],
    settings_of: dict[str, dict[str, Any]],
    block_names: dict[str, list[str]],
    scalar: str,
    *,
    root: Path,
    device,
    pretrained: bool,
    seed: int,
    classes: Sequence[str] | None,
    templates: Sequence[str],
    show_progress: bool | None,
):
    """Step 5: the target's arrays per model (block scalars under ``"scalars"``, the image embeddings, pixel
    statistics, F(x) and, with class names, the zero-shot logits), read from the cache or computed (one model
    at a time). A cached entry is reused only if it holds every array this run needs, for the same classes."""
    # the key holds the run's settings; per-model facts (quick_gelu) are checked against each manifest instead
    task = Task(TARGET, ListedSample(sample_), classnames=list(classes) if classes else None, templates=list(templates))
    target: dict[str, dict[str, np.ndarray]] = {}
    computed, reused, stores = [], [], {}
    timing = {"conductance_s": 0.0, "features_s": 0.0, "load_s": 0.0}
    for e in progress(entries, total=len(entries), desc="profiling your images (models)", enabled=show_progress):
        key_settings = {k: v for k, v in settings_of[e.name].items() if k != "quick_gelu"}
        tdir = root / target_key(sample_, key_settings)
        stores[e.name] = str(tdir)
        arrays = None
        if has_profile(tdir, e.name, TARGET):
            try:
                arrays, man = read_profile(tdir, e.name, TARGET)
            except DamagedEntryError:  # a damaged cache entry is recomputed, never used
                arrays, man = None, {}
            if arrays is not None and (
                man.get("image_sha256") != list(sample_.sha256)
                or _settings_of(man) != settings_of[e.name]
                or list(arrays["block_names"]) != block_names[e.name]
                or "embedding" not in arrays
                or (classes and not _same_classes(arrays, man, classes, templates))
            ):
                arrays = None
        if arrays is None:
            st = run_settings[e.name]
            t_load = time.perf_counter()
            model, preprocess, tokenizer = load_model(
                e,
                pretrained=pretrained,
                device=device,
                precision=st.precision,
                seed=st.seed,
                with_tokenizer=bool(classes),
            )
            timing["load_s"] += time.perf_counter() - t_load
            new, manifest = profile_one(model, preprocess, tokenizer, e, task, sample_, st, device)
            del model
            if [str(b) for b in new["block_names"]] != block_names[e.name]:
                raise ValueError(
                    f"model {e.name!r}: its blocks on your images differ from the stored ones "
                    f"({len(new['block_names'])} vs {len(block_names[e.name])}); was the store made with "
                    "another open_clip version or architecture?"
                )
            manifest.update(sample_seed=seed, purpose="vlmsel select target")
            if classes:
                manifest["zs_templates"] = list(templates)
            write_profile(tdir, e.name, TARGET, new, manifest)
            write_images_json(tdir, sample_)
            arrays, man = read_profile(tdir, e.name, TARGET)
            computed.append(e.name)
        else:
            reused.append(e.name)
        for key in ("conductance_s", "features_s"):  # as recorded when the entry was computed
            timing[key] += float(man.get(key, math.nan))
        target[e.name] = {
            "scalars": _block_scalars(arrays, scalar),
            **{k: arrays[k] for k in _TARGET_ARRAYS if k in arrays},
        }
    return target, computed, reused, stores, timing


#: The target arrays the methods read besides the block scalars.
_TARGET_ARRAYS = ("embedding", "pixel_stats", "f_x", "zs_logits", "class_embeddings")


def _same_classes(arrays: dict[str, np.ndarray], manifest: dict[str, Any], classes: Sequence[str], templates) -> bool:
    return (
        "zs_logits" in arrays
        and list(arrays.get("class_names", [])) == list(classes)
        and manifest.get("zs_templates") == list(templates)
    )


#: The prompt template of ``classes`` given without templates.
DEFAULT_TEMPLATE = "a photo of a {c}."


def _evidence(notes: list[str]) -> Evidence | None:
    """The packaged study's evidence, or None (with a note) when this installation has none."""
    try:
        return load_evidence()
    except (FileNotFoundError, ValueError, KeyError) as err:
        notes.append(f"no evidence of which method to use ({err}); ranking with the paper's DCD")
        return None


def _default_method(evidence: Evidence | None, has_classes: bool, notes: list[str]) -> str:
    """The evidence's default; when it needs class names that were not given, the best method that does not."""
    if evidence is None:
        return "dcd"
    default = evidence.default
    if default in NEEDS_CLASSES and not has_classes:
        fallback = evidence.best_cheap([m for m in SELECT_METHODS if m not in NEEDS_CLASSES]) or "dcd"
        notes.append(
            f"the evidence's default '{default}' needs your class names (--classes); ranked with '{fallback}' instead"
        )
        return fallback
    return default


def _check_classes(classes: Sequence[str] | None, templates: Sequence[str]) -> list[str] | None:
    """Class names and templates checked: ValueError naming the problem (empty, repeated, no ``{c}``)."""
    if classes is None:
        return None
    if isinstance(classes, str):
        raise ValueError("classes must be a list of class names, not one string")
    names = [str(c).strip() for c in classes]
    if len(names) < 2 or any(not c for c in names):
        raise ValueError(f"give at least 2 non-empty class names, got {names[:5]}")
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise ValueError(f"class names listed more than once: {dup[:5]}")
    bad = [t for t in templates if "{c}" not in t]
    if bad:
        raise ValueError(f"every template must contain {{c}} (where the class name goes): {bad[:3]}")
    return names


#: What each role of the comparison is called in reports.
ROLES = {"dcd": "the paper's DCD", "dcd_z": "DCD, scale-free softmin"}


def _comparison(
    main: str,
    scored: MethodScores,
    inputs: TargetInputs,
    evidence: Evidence | None,
    n_steps: int,
    timing: dict[str, float],
) -> pd.DataFrame:
    """The side-by-side table: the method used, the paper's DCD, the scale-free DCD and the best cheap signal
    (by the evidence, among the methods this run can use): top-5, agreement with the method used, cost in
    forward passes and in seconds (the target's profiling that the method needs, summed over the zoo as
    recorded when it was computed, plus the scoring; loading the models is common to all and left out)."""
    usable = [m for m in SELECT_METHODS if m not in NEEDS_CLASSES or inputs.has_classes]
    cheap = evidence.best_cheap(usable) if evidence is not None else None
    rows = [(main, "used")]
    for name, role in (("dcd", ROLES["dcd"]), ("dcd_z", ROLES["dcd_z"]), (cheap, "best cheap signal")):
        if name is not None and name not in [r[0] for r in rows]:
            rows.append((name, role))
    if inputs.has_classes and evidence is not None:
        best_to = evidence.best_cheap(NEEDS_CLASSES)
        if best_to is not None and best_to not in [r[0] for r in rows]:
            rows.append((best_to, "best target-only score"))
    full = np.arange(inputs.n_images)[None]
    main_order = [inputs.models[i] for i in ranking_orders(scored.point[:, None], inputs.models)[:, 0]]
    out = []
    for name, role in rows:
        res = scored if name == main else score_method(name, inputs, full, n_steps=n_steps)
        order = [inputs.models[i] for i in ranking_orders(res.point[:, None], inputs.models)[:, 0]]
        overlap, tau = agreement(order, main_order)
        mean, lo, hi = evidence.ndcg5(name) if evidence is not None else (math.nan,) * 3
        out.append(
            {
                "method": name,
                "role": role if name != main else ("used" if role == "used" else f"used ({role})"),
                "top5": order[:5],
                "top5_overlap": overlap,
                "kendall_tau": tau,
                "cost_G": res.cost_G,
                "seconds": res.seconds + _profiling_seconds(res.cost_G, timing),
                "evidence_ndcg5": mean,
                "evidence_ndcg5_low": lo,
                "evidence_ndcg5_high": hi,
                "params": res.params,
            }
        )
    return pd.DataFrame(out).set_index("method")


def _profiling_seconds(cost_g: float, timing: dict[str, float]) -> float:
    """The target profiling a method needs, in seconds: the conductance (DCD), the forward pass of the
    feature arrays (the one-pass signals) or none."""
    if cost_g > 1:
        return timing["conductance_s"]
    return timing["features_s"] if cost_g > 0 else 0.0


def _store_cost(zoo: str, entries: list[ZooEntry], acc: pd.DataFrame) -> str:
    """What building a zoo's source store costs, by the cost model of ``vlmsel profile --dry-run``."""
    from vlmsel.profiles.compute import THROUGHPUT_GFLOPS, estimate_seconds

    n_sets = acc.shape[1]
    known = [e for e in entries if not math.isnan(e.image_gflops)]
    times = {
        dev: n_sets * sum(estimate_seconds(e.image_gflops, DEFAULT_N_IMAGES, 50, dev) for e in known)
        for dev in ("cpu", "cuda")
    }
    return (
        f"For zoo {zoo!r} that is {len(entries)} models x {n_sets} datasets: about {times['cpu'] / 3600:,.0f} h on "
        f"this kind of CPU ({THROUGHPUT_GFLOPS['cpu']:g} GFLOP/s measured) or {times['cuda'] / 3600:,.1f} h on a "
        f"GPU ({THROUGHPUT_GFLOPS['cuda']:g} GFLOP/s assumed), N = {DEFAULT_N_IMAGES}, 50 steps; "
        f"`vlmsel profile --zoo {zoo} --dry-run ...` plans it. Or try it out of the box with --zoo mini"
    )


def _thumbnail(img: Image.Image, size: int = 112) -> Image.Image:
    t = img.copy()
    t.thumbnail((size, size))
    return t


# ------------------------------------------------------------------------------------------ select
def select(
    images: str | os.PathLike | Sequence[str | os.PathLike],
    zoo: Any = "openclip48",
    profiles: str | os.PathLike | ProfileStore | None = None,
    benchmark: Any = None,
    *,
    options: MethodOptions | None = None,
    models: Sequence[str] | None = None,
    n_images: int = DEFAULT_N_IMAGES,
    seed: int = 0,
    n_steps: int | None = None,
    device: str = "auto",
    pretrained: bool = True,
    max_gflops: float | None = None,
    skip_bad: bool = False,
    n_boot: int = DEFAULT_N_BOOT,
    internal_batch_size: int = DEFAULT_INTERNAL_BATCH_SIZE,
    work_dir: str | os.PathLike | None = None,
    stable_at: float = STABLE_AT,
    method: str | None = None,
    classes: Sequence[str] | None = None,
    templates: Sequence[str] | None = None,
    compare: bool = True,
    show_progress: bool | None = None,
    **overrides: Any,
) -> SelectionResult:
    """Rank the models of a zoo for your unlabeled images (see the module docstring).

    Parameters
    ----------
    images : a folder of images (recursive) or a list of image files.
    zoo : a named zoo (:func:`vlmsel.data.zoo.zoo_names`: ``"openclip48"`` (default), ``"lovm35"``,
        ``"openclip121"``, ``"mini"``), a model list file or a list of models (then give ``benchmark``).
    profiles : the source profile store: a folder, a :class:`~vlmsel.profiles.store.ProfileStore`, or the
        name of a published store (:mod:`vlmsel.profiles.registry`); default: the zoo's published store.
    benchmark : source ground truth; default: the zoo's benchmark.
    options : the method's options (:class:`~vlmsel.method.options.MethodOptions`); single options may be
        given as keywords (``eta=4.0``, ``divergence="js"``, ``scalar="l2"``), which override it.
    models : rank only these models of the zoo (full names).
    n_images : images to use at most (default 25); seed : which ones (default 0).
    n_steps : integration steps; default: the store's (they must agree anyway).
    device : ``"auto"`` (default), ``"cpu"``, ``"cuda"``, ...
    pretrained : real weights (default) or random init (``False``; tests and CI, against a store built
        with ``--random-init``).
    max_gflops : rank only models whose image tower costs at most this many GFLOPs per image.
    skip_bad : skip images that cannot be decoded instead of raising.
    n_boot : bootstrap resamples of the images (default 200).
    internal_batch_size : path points per forward/backward pass (memory bound; default 64).
    work_dir : where target profiles are cached (default ``cache_dir("targets")``, :func:`vlmsel.files.cache_dir`).
    stable_at : top-1 probability below which the choice is called unstable (default 0.6).
    method : the ranking method (:data:`vlmsel.recommend.options.SELECT_METHODS`); default: the one this
        project's evidence supports (:mod:`vlmsel.recommend.evidence`); ``"dcd"`` is the paper's method.
    classes : your task's class names, in any order: they enable the target-only scores (``msp``,
        ``neg_entropy``, ``vega``: the confidence of each model's zero-shot prediction on your images).
    templates : prompt templates with ``{c}`` (default: ``"a photo of a {c}."``).
    compare : also rank with the paper's DCD, the scale-free DCD and the best cheap signal the evidence
        names, and report their top-5s side by side (default True; they reuse the same forward passes).
    show_progress : progress bar over models (default: on unless ``VLMSEL_PROGRESS=0``).

    Returns
    -------
    SelectionResult

    Raises
    ------
    ImageReadError : an undecodable image (without ``skip_bad``). ValueError : fewer than 2 images,
    settings that disagree with the store's (naming the model), fewer than 2 candidate models.
    FileNotFoundError : no profile store. KeyError : unknown model, benchmark or zoo.
    vlmsel.data.zoo.ModelLoadError : a model cannot be loaded (named).
    """
    opts = resolve(options, **overrides)
    if n_boot < 10:
        raise ValueError(f"n_boot must be at least 10; got {n_boot}")
    # 1-2: the images and the inputs
    sample_ = target_sample(images, n_images, seed, skip_bad=skip_bad)
    entries = _zoo_entries(zoo, models)
    bench_name, acc, model_info, reference = _benchmark(benchmark, zoo)
    try:
        store = open_store(profiles, zoo if isinstance(zoo, str) else None)
    except FileNotFoundError as err:
        if profiles is None and isinstance(zoo, str):
            raise FileNotFoundError(f"{err}. {_store_cost(zoo, entries, acc)}") from None
        raise
    notes: list[str] = []
    # 3: candidates and sources
    filled, excluded = _candidates(entries, acc, model_info, store, bench_name, max_gflops)
    names = [e.name for e in filled]
    sources = _sources(store, acc, names, bench_name, notes)
    # 4: the sources' profiles and settings; the target's settings follow them
    scalars_src, settings_of, block_names = _read_sources(store, names, sources, opts.scalar, opts.source_images)
    dev = resolve_device(device)
    run_settings = _target_settings(
        filled,
        settings_of,
        store,
        pretrained=pretrained,
        n_steps=n_steps,
        n_images=len(sample_),
        seed=seed,
        internal_batch_size=internal_batch_size,
    )
    # the method: asked, or the one the evidence supports (a method that needs class names falls back)
    evidence = _evidence(notes)
    templates = list(templates) if templates else [DEFAULT_TEMPLATE]
    classes = _check_classes(classes, templates)
    main = method or _default_method(evidence, bool(classes), notes)
    check_method(main, bool(classes))
    # 5: the target's arrays
    root = Path(work_dir) if work_dir is not None else cache_dir("targets")
    target_arrays, computed, reused, target_stores, timing = _profile_target(
        filled,
        sample_,
        run_settings,
        settings_of,
        block_names,
        opts.scalar,
        root=root,
        device=dev,
        pretrained=pretrained,
        seed=seed,
        classes=classes,
        templates=templates,
        show_progress=show_progress,
    )

    # 6: scores of the images and of their bootstrap resamples, by the method (vlmsel.recommend.methods)
    source_acc = acc.loc[names, sources].astype(float)
    prof = Profiles.from_block_scalars(scalars_src, sources, opts.pooling)
    inputs = TargetInputs(
        names,
        sources,
        source_acc,
        prof,
        store,
        [target_arrays[m] for m in names],
        opts,
        reference=reference,
    )
    n = len(sample_)
    n_steps_used = int(settings_of[names[0]]["n_steps"])
    rng = np.random.default_rng(seed + 1)
    scored = score_method(main, inputs, rng.integers(0, n, size=(n_boot, n)), n_steps=n_steps_used)
    point, boot = scored.point, scored.boot
    p1, p5 = top_k_probabilities(boot, names, 5)
    order = ranking_orders(point[:, None], names)[:, 0]
    chosen = order[0]
    sizes = curve_sizes(n)
    curve = []
    for k in sizes:
        if k == n:
            curve.append(float(p1[chosen]))
            continue
        sc = score_method(main, inputs, rng.integers(0, n, size=(n_boot, k)), n_steps=n_steps_used).boot
        curve.append(float((ranking_orders(sc, names)[0] == chosen).mean()))
    estimate = images_for_stability(sizes, curve, stable_at, n_boot)
    # the paper's DCD explains every ranking (its weights over the sources and the block importances)
    paper = scored if main == "dcd" else score_method("dcd", inputs, np.arange(n)[None], n_steps=n_steps_used)
    scorer, full = paper.extra["scorer"], paper.extra["full"]
    comparison = _comparison(main, scored, inputs, evidence, n_steps_used, timing) if compare else pd.DataFrame()

    # 7: the result
    info_df = pd.DataFrame([e.to_dict() for e in filled]).set_index("name")
    if model_info is not None:
        for col in ("family", "params_M", "gflops"):
            if col in model_info.columns:
                info_df[col] = info_df[col].where(info_df[col].notna(), model_info[col].reindex(info_df.index))
    ranking = pd.DataFrame(
        {
            "rank": np.arange(1, len(names) + 1),
            "model": [names[i] for i in order],
            "score": point[order],
            "score_lo": np.percentile(boot, 2.5, axis=1)[order],
            "score_hi": np.percentile(boot, 97.5, axis=1)[order],
            "p_top1": p1[order],
            "p_top5": p5[order],
        }
    )
    for col in ("family", "params_M", "gflops", "image_gflops"):
        ranking[col] = info_df.loc[ranking["model"], col].to_numpy()
    ranking["pareto"] = pareto_optimal(ranking["score"], ranking["image_gflops"].astype(float))

    alpha = pd.DataFrame(
        full["alpha"][:, 0, :], index=pd.Index(names, name="model"), columns=pd.Index(sources, name="dataset")
    )
    div = pd.DataFrame(full["divergence"][:, 0, :], index=alpha.index, columns=alpha.columns)
    src_w = {m: pd.DataFrame(scorer.w_s[i], index=sources, columns=block_names[m]) for i, m in enumerate(names)}
    src_p = {m: pd.DataFrame(scorer.p_s[i], index=sources, columns=block_names[m]) for i, m in enumerate(names)}
    tgt_w = {m: pd.Series(full["w"][i][0], index=block_names[m], name="target") for i, m in enumerate(names)}
    tgt_p = {m: pd.Series(full["p"][i][0], index=block_names[m], name="target") for i, m in enumerate(names)}

    if n < DEFAULT_N_IMAGES:
        notes.append(
            f"{n} images were used; the method was calibrated with {DEFAULT_N_IMAGES} per task, so expect "
            "a noisier ranking (see the stability numbers)"
        )
    if not pretrained:
        notes.append("random weights (pretrained=False): the ranking exercises the pipeline and means nothing")
    named = named_zoo(zoo) if isinstance(zoo, str) else None
    if named is not None and named.note:
        notes.insert(0, named.note)
    first = settings_of[names[0]]
    info = {
        "method": main,
        "method_params": scored.params,
        "classes": list(classes) if classes else None,
        "templates": templates if classes else None,
        "zoo": zoo if isinstance(zoo, str) else "custom",
        "benchmark": bench_name,
        "profiles": str(store.path),
        "target_stores": sorted(set(target_stores.values())),
        "sources": sources,
        "computed": computed,
        "reused": reused,
        "profiling_seconds": {k: round(v, 3) for k, v in timing.items()},
        "device": str(dev),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "image_source": sample_.source,
        "settings": {
            "n_images": n,
            "n_images_asked": n_images,
            "seed": seed,
            "n_boot": n_boot,
            **opts.to_dict(),
            "max_gflops": max_gflops,
            "skip_bad": skip_bad,
            "stable_at": stable_at,
            **{
                k: first.get(k)
                for k in ("weights", "n_steps", "method", "rule", "baseline", "objective", "granularity", "precision")
            },
        },
        "versions": versions(),
    }
    return SelectionResult(
        ranking=ranking,
        alpha=alpha,
        divergence=div,
        source_acc=source_acc,
        source_importance=src_w,
        source_profiles=src_p,
        target_importance=tgt_w,
        target_profile=tgt_p,
        curve=pd.DataFrame({"n_images": sizes, "p_top1": curve}),
        estimate=estimate,
        images=list(sample_.ids),
        image_sha256=list(sample_.sha256),
        skipped=list(sample_.skipped),
        thumbnails=[_thumbnail(im) for im in sample_.images],
        excluded=excluded,
        info=info,
        notes=notes,
        stable_at=stable_at,
        method=main,
        comparison=comparison,
        evidence=evidence.sentence(main) if evidence is not None else "",
    )
