"""The ranking methods :func:`vlmsel.select` can use for one new target, and their bootstrap.

The evaluation (:mod:`vlmsel.evaluation`) scores a method on benchmark targets; here the same methods rank a
zoo for *your* images. Each one is computed as in the evaluation, from the same functions:

- ``dcd`` (the paper's: eta = 2, gamma = 5, raw softmin) and ``dcd_z`` (the scale-free softmin), with
  fixed hyperparameters or ``_nested`` (chosen by the inner leave-one-out over the sources,
  :func:`vlmsel.evaluation.dcd.choose_hyperparameters`, which never sees your images' labels: there are none);
- the source-weighted signals ``emb_cos, emb_mmd, objective_w1, pixel_mmd`` (``_nested`` or at the fixed
  gamma), from the arrays a profile records beside the block scalars;
- the target-only scores ``msp, neg_entropy, vega`` (they need your class names: ``--classes``);
- ``avg_rank`` and ``inb``, which do not look at your images.

:func:`score_method` returns a method's scores of the zoo for the images and for bootstrap resamples of them
(:class:`MethodScores`), with the work it costs per image. Taught in the chapter :ref:`ch-what-to-use`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from vlmsel.evaluation.dcd import DEFAULT_ETA_GRID, DEFAULT_GAMMA_GRID, ZSCORE_GAMMA_GRID, choose_hyperparameters
from vlmsel.evaluation.metrics import name_ranks
from vlmsel.evaluation.options import FIXED_ZSCORE_GAMMA, SIGNAL_METHODS, TARGET_ONLY_METHODS
from vlmsel.evaluation.signals import signal_sets, target_only_score
from vlmsel.evaluation.study import cost_in_forward_passes
from vlmsel.method import signals
from vlmsel.method.aggregation import utilities
from vlmsel.method.options import MethodOptions
from vlmsel.method.scoring import TargetScorer, dataset_divergences, weighted_scores
from vlmsel.profiles.pooling import Profiles
from vlmsel.profiles.store import ProfileStore
from vlmsel.recommend.options import NEEDS_CLASSES, SELECT_METHODS


@dataclass
class TargetInputs:
    """What every method may use for one new target.

    Attributes
    ----------
    models, sources : the candidate models and the source datasets.
    source_acc : DataFrame (models x sources) of the sources' ground truth.
    source_profiles : the sources' pooled :class:`~vlmsel.profiles.pooling.Profiles` (for DCD).
    store : the source :class:`~vlmsel.profiles.store.ProfileStore` (for the signals' arrays).
    target : per model (in ``models`` order), the target's arrays: the block scalar of the options (N, L)
        under ``"scalars"``, and ``embedding, pixel_stats, f_x`` (and ``zs_logits, class_embeddings`` with
        class names).
    options : the method options (:class:`~vlmsel.method.options.MethodOptions`; ``source_images`` is the N of
        the sources).
    reference : the benchmark's reference dataset (INB's), if among the sources.
    """

    models: list[str]
    sources: list[str]
    source_acc: pd.DataFrame
    source_profiles: Profiles
    store: ProfileStore
    target: list[dict[str, np.ndarray]]
    options: MethodOptions
    reference: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_images(self) -> int:
        return len(self.target[0]["scalars"])

    @property
    def has_classes(self) -> bool:
        return all("zs_logits" in a for a in self.target)

    def utilities(self) -> np.ndarray:
        return utilities(self.source_acc.to_numpy(dtype=np.float64), self.options.utility)


@dataclass
class MethodScores:
    """One method's scores of the zoo: ``point`` (n_models,) for the images, ``boot`` (n_models, B) for the
    resamples; ``params`` (chosen hyperparameters), ``cost_G`` (image-tower forward passes per image and
    model) and ``seconds`` (to compute the scores once the target's arrays exist)."""

    name: str
    point: np.ndarray
    boot: np.ndarray
    params: dict[str, Any]
    cost_G: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


def check_method(name: str, has_classes: bool) -> None:
    """ValueError naming the problem when ``select`` cannot run ``name``."""
    if name not in SELECT_METHODS:
        raise ValueError(f"unknown selection method {name!r}; choose one of {', '.join(SELECT_METHODS)}")
    if name in NEEDS_CLASSES and not has_classes:
        raise ValueError(
            f"method {name!r} reads the zero-shot prediction on your images: give your task's class names "
            "(--classes NAMES or a file of names; classes= in Python)"
        )


def score_method(name: str, inputs: TargetInputs, resamples: np.ndarray, *, n_steps: int) -> MethodScores:
    """Scores of every model by ``name`` for the target's images (``point``) and for each row of
    ``resamples`` (B, k) of image indices (``boot``). ``n_steps`` prices DCD (:func:`vlmsel.evaluation.study.cost_in_forward_passes`)."""
    check_method(name, inputs.has_classes)
    t0 = time.perf_counter()
    idx = np.atleast_2d(np.asarray(resamples, dtype=np.int64))
    full = np.arange(inputs.n_images)[None]
    base = name.removesuffix("_nested")
    nested = name.endswith("_nested")
    extra: dict[str, Any] = {}
    if base in ("dcd", "dcd_z"):
        point, boot, params, extra = _dcd(inputs, base == "dcd_z", nested, full, idx)
    elif base in SIGNAL_METHODS:
        point, boot, params = _signal(inputs, base, nested, full, idx)
    elif base in TARGET_ONLY_METHODS:
        point = _target_only(inputs, base, full)[:, 0]
        boot = _target_only(inputs, base, idx)
        params = {}
    else:
        point, params = _image_free(inputs, base)
        boot = np.repeat(point[:, None], idx.shape[0], axis=1)
    return MethodScores(
        name, point, boot, params, cost_in_forward_passes(name, n_steps), time.perf_counter() - t0, extra
    )


def _dcd(
    inputs: TargetInputs, zscore: bool, nested: bool, full: np.ndarray, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, Any], dict[str, Any]]:
    o = inputs.options
    if zscore:
        o = o.replace(softmin="zscore", gamma=FIXED_ZSCORE_GAMMA if o.gamma == MethodOptions().gamma else o.gamma)
    params: dict[str, Any] = {}
    if nested:
        key = f"nested:{o}"
        if key not in inputs._cache:  # the choice depends on the sources only: made once
            grid = ZSCORE_GAMMA_GRID if zscore else DEFAULT_GAMMA_GRID
            divergences = {e: dataset_divergences(inputs.source_profiles, o, eta=e) for e in DEFAULT_ETA_GRID}
            inputs._cache[key] = choose_hyperparameters(
                divergences,
                inputs.utilities(),
                inputs.source_acc.to_numpy(dtype=np.float64),
                grid,
                softmin=o.softmin,
                ranks=name_ranks(inputs.models),
            )
        eta, gamma, inner = inputs._cache[key]
        o = o.replace(eta=eta, gamma=gamma)
        params = {"eta": eta, "gamma": gamma, "inner_score": inner}
    else:
        params = {"eta": o.eta, "gamma": o.gamma}
    params["softmin"] = o.softmin
    key = f"scorer:{o}"
    if key not in inputs._cache:  # the sources' importances are computed once per options
        inputs._cache[key] = TargetScorer(inputs.source_profiles, inputs.source_acc, o)
    scorer = inputs._cache[key]
    target = [a["scalars"] for a in inputs.target]
    out = scorer.scores(target, full)
    boot = scorer.scores(target, idx)["score"]
    return out["score"][:, 0], boot, params, {"scorer": scorer, "full": out}


def _signal_divergences(inputs: TargetInputs, signal: str) -> list[np.ndarray]:
    """Per model, the signal's divergences among the sources and the target, (S + 1, S + 1), the target last:
    computed exactly as in the evaluation (bandwidth and standardisation over the union included)."""
    key = f"signal:{signal}"
    if key not in inputs._cache:
        name = signals.SIGNAL_ARRAYS[signal]
        out: list[tuple[list[np.ndarray], np.ndarray]] = []
        for i, m in enumerate(inputs.models):
            if signal == "pixel_mmd" and out:  # the same images for every model: the same divergences
                out.append(out[0])
                continue
            sets = signal_sets(inputs.store, signal, m, inputs.sources, inputs.options.source_images)
            out.append((sets, signals.signal_divergence(signal, [*sets, inputs.target[i][name]])))
        inputs._cache[key] = out
    return inputs._cache[key]


def _signal(
    inputs: TargetInputs, signal: str, nested: bool, full: np.ndarray, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    per_model = _signal_divergences(inputs, signal)
    s = len(inputs.sources)
    o = inputs.options.replace(softmin="zscore")
    gamma = FIXED_ZSCORE_GAMMA
    params: dict[str, Any] = {}
    u = inputs.utilities()
    if nested:
        key = f"nested:{signal}"
        if key not in inputs._cache:
            among = np.stack([d[:s, :s] for _, d in per_model])  # (M, S, S)
            inputs._cache[key] = choose_hyperparameters(
                {o.eta: among},
                u,
                inputs.source_acc.to_numpy(dtype=np.float64),
                ZSCORE_GAMMA_GRID,
                softmin="zscore",
                ranks=name_ranks(inputs.models),
            )
        _, gamma, inner = inputs._cache[key]
        params["inner_score"] = inner
    params.update(gamma=gamma, softmin="zscore")
    name = signals.SIGNAL_ARRAYS[signal]
    point_d = np.stack([d[:s, s] for _, d in per_model])  # (M, S)
    boot_d = np.stack(
        [
            signals.signal_divergence_to_target(signal, sets, inputs.target[i][name], idx)
            for i, (sets, _) in enumerate(per_model)
        ]
    )  # (M, B, S)
    point = weighted_scores(point_d[:, None, :], u, gamma, axis=-1, softmin="zscore")[0][:, 0]
    boot = weighted_scores(boot_d, u, gamma, axis=-1, softmin="zscore")[0]
    return point, boot, params


def _target_only(inputs: TargetInputs, score: str, idx: np.ndarray) -> np.ndarray:
    out = np.empty((len(inputs.models), idx.shape[0]))
    for i, a in enumerate(inputs.target):
        for b, rows in enumerate(idx):
            arrays = {k: (v if k == "class_embeddings" else v[rows]) for k, v in a.items() if k != "scalars"}
            out[i, b] = target_only_score(score, arrays)
    return out


def _image_free(inputs: TargetInputs, name: str) -> tuple[np.ndarray, dict[str, Any]]:
    if name == "avg_rank":
        return inputs.utilities().mean(axis=1), {}
    if inputs.reference is None or inputs.reference not in inputs.sources:
        raise ValueError("method 'inb' ranks by the benchmark's reference dataset, which is not among the sources")
    return inputs.source_acc[inputs.reference].to_numpy(dtype=np.float64), {"reference": inputs.reference}


def agreement(a: Sequence[str], b: Sequence[str], k: int = 5) -> tuple[int, float]:
    """How two rankings (model names, best first) agree: the overlap of their top ``k`` and Kendall's tau-b
    over all models."""
    from vlmsel.evaluation.metrics import kendall_tau_b

    pos_b = {m: i for i, m in enumerate(b)}
    ra = np.arange(len(a), dtype=np.float64)
    rb = np.array([pos_b[m] for m in a], dtype=np.float64)
    return len(set(a[:k]) & set(b[:k])), float(kendall_tau_b(-ra, -rb))
