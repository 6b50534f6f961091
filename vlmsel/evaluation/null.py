"""Is DCD's choice of sources better than chance? A permutation null and paired differences.

DCD weights each model's sources by how well their profiles cover the target's. If those weights carried
no information, shuffling them would not hurt. The *permutation null* does exactly that: for every
target and every model, the model's divergences are permuted over the sources (independently per
model and per shuffle), the softmin weights and scores are recomputed and the metrics evaluated; the
mean over targets of each shuffle is one draw of the null. The report gives DCD's mean, the null's
mean and spread, and the share of shuffles that score at least as well as DCD (a one-sided
permutation p-value, ``(1 + #{null >= DCD}) / (1 + n)``; for top-1 regret, lower is better).

:func:`paired_differences` compares two methods target by target (per-target differences of a metric
and their bootstrap interval), the fair way to say "DCD beats average rank by ...": both methods are
judged on the same targets. Taught in the chapter :ref:`ch-ranking`; the protocol is the method page's
(:ref:`method-protocol`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from vlmsel.evaluation.dcd import DcdMethod
from vlmsel.evaluation.harness import EvaluationResult, LeaveOneOutTask, _wide
from vlmsel.evaluation.metrics import bootstrap_ci, metric_names, ranking_metrics
from vlmsel.evaluation.options import K_DEFAULT
from vlmsel.method.aggregation import utilities
from vlmsel.method.scoring import weighted_scores
from vlmsel.progress import progress

LOWER_IS_BETTER = ("top1_regret",)


@dataclass
class PermutationNull:
    """The null distribution of a DCD method's mean metrics over targets.

    Attributes
    ----------
    method : the DCD method's table name. observed : its mean of each metric over ``targets``.
    null : DataFrame (n_shuffles x metrics): the mean over targets of each shuffle.
    """

    method: str
    targets: list[str]
    observed: dict[str, float]
    null: pd.DataFrame
    seed: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.null)

    def share_at_least(self, metric: str) -> float:
        """Share of shuffles at least as good as the method (``>=``; ``<=`` for lower-is-better metrics)."""
        v, obs = self.null[metric].to_numpy(), self.observed[metric]
        better = v <= obs if metric in LOWER_IS_BETTER else v >= obs
        return float(np.mean(better))

    def p_value(self, metric: str) -> float:
        """One-sided permutation p-value ``(1 + #{at least as good}) / (1 + n)``."""
        return (1.0 + self.share_at_least(metric) * self.n) / (1.0 + self.n)

    def summary(self) -> pd.DataFrame:
        """Per metric: the method's mean, the null's mean and standard deviation, share at least as good, p."""
        rows = {
            m: {
                "observed": self.observed[m],
                "null_mean": float(self.null[m].mean()),
                "null_sd": float(self.null[m].std(ddof=1)),
                "share_at_least": self.share_at_least(m),
                "p": self.p_value(m),
            }
            for m in self.null.columns
        }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("metric")

    def format(self, digits: int = 3) -> str:
        what = (
            "each model's sources relabelled at random and the nested selection rerun"
            if self.info.get("kind") == "relabelling"
            else "each model's divergences shuffled over the sources"
        )
        if self.info.get("shared_permutation"):
            what += " (one permutation for all models)"
        head = f"permutation null of {self.method}: {what}, {self.n} shuffles (seed {self.seed}), {len(self.targets)} targets"
        return head + "\n" + self.summary().to_string(float_format=lambda v: f"{v:.{digits}f}")


def permutation_null(
    benchmark: Any,
    method: DcdMethod,
    *,
    n_shuffles: int = 1000,
    seed: int = 0,
    targets: Sequence[str] | None = None,
    exclude_targets: Iterable[str] = (),
    k: int = K_DEFAULT,
    show_progress: bool | None = None,
) -> PermutationNull:
    """The permutation null of a fixed-hyperparameter DCD method on a benchmark (leave one dataset out).

    Parameters
    ----------
    benchmark : a :class:`vlmsel.data.benchmarks.Benchmark` or a DataFrame (models x datasets).
    method : a :class:`~vlmsel.evaluation.dcd.DcdMethod` with ``nested=False`` (a nested method chooses
        its hyperparameters from the sources' divergences; shuffling those is a different experiment).
        Fitted here unless it is fitted on the benchmark's models and datasets already.
    n_shuffles : number of shuffles (default 1000). seed : seeds the shuffles.
    targets, exclude_targets, k : as :func:`vlmsel.evaluation.harness.evaluate` (use the same values to
        compare with its result).
    """
    if method.nested:
        raise ValueError("the permutation null is defined for DCD with fixed eta and gamma, not nested selection")
    models, datasets, chosen, excluded, values = _prepare(benchmark, method, n_shuffles, targets, exclude_targets)
    d_full = method.source_divergences()
    names = metric_names(k)
    rng = np.random.default_rng(seed)
    observed_rows, null_rows = [], np.zeros((n_shuffles, len(chosen), len(names)))
    gamma, softmin = method.gamma, method.options.softmin
    n_perm = _n_permutations(method, models)
    for j, target in enumerate(progress(chosen, total=len(chosen), desc=f"null {method.name}", enabled=show_progress)):
        t = datasets.index(target)
        src = [i for i in range(len(datasets)) if i != t]
        u = utilities(values[:, src], method.options.utility)  # (M, S)
        d = d_full[:, src, t]  # (M, S)
        true = values[:, t]
        score, _ = weighted_scores(d[:, None, :], u, gamma, axis=-1, softmin=softmin)
        observed_rows.append(ranking_metrics(score[:, 0], true, models, k))
        perm = np.argsort(rng.random((n_perm, n_shuffles, len(src))), axis=-1)
        perm = np.broadcast_to(perm, (len(models), n_shuffles, len(src)))
        shuffled = np.take_along_axis(np.broadcast_to(d[:, None, :], perm.shape), perm, axis=-1)
        scores, _ = weighted_scores(shuffled, u, gamma, axis=-1, softmin=softmin)  # (M, n_shuffles)
        for b in range(n_shuffles):
            row = ranking_metrics(scores[:, b], true, models, k)
            null_rows[b, j] = [row[m] for m in names]
    info = {"k": k, "gamma": gamma, "eta": method.eta, "softmin": softmin}
    return _result(method, chosen, excluded, observed_rows, null_rows, names, seed, n_perm, info)


def _prepare(
    benchmark: Any,
    method: DcdMethod,
    n_shuffles: int,
    targets: Sequence[str] | None,
    exclude_targets: Iterable[str],
) -> tuple[tuple[str, ...], tuple[str, ...], list[str], set[str], np.ndarray]:
    """What both nulls start from: (models, datasets, chosen targets, excluded targets, ground truth (M, D)),
    with ``method`` fitted on the benchmark's models and datasets (unless it is already: evaluate() has
    usually fitted it, and the store is not read twice)."""
    if n_shuffles < 1:
        raise ValueError(f"n_shuffles must be >= 1, got {n_shuffles}")
    wide, _, _ = _wide(benchmark)
    models, datasets = tuple(map(str, wide.index)), tuple(map(str, wide.columns))
    excluded = set(exclude_targets)
    chosen = [d for d in (targets if targets is not None else datasets) if d not in excluded]
    if not chosen:
        raise ValueError("no target left")
    if (getattr(method, "models", None), getattr(method, "datasets", None)) != (models, datasets):
        method.fit(models, datasets)
    return models, datasets, chosen, excluded, wide.to_numpy(dtype=np.float64)


def _n_permutations(method: DcdMethod, models: Sequence[str]) -> int:
    """Permutations drawn per shuffle: one per model, or one for all models of a model-agnostic method
    (every model the same weights), so that its null stays model-agnostic."""
    return 1 if getattr(method, "model_agnostic", False) else len(models)


def _result(
    method: DcdMethod,
    chosen: list[str],
    excluded: set[str],
    observed_rows: list[dict[str, float]],
    null_rows: np.ndarray,
    names: list[str],
    seed: int,
    n_perm: int,
    info: dict[str, Any],
) -> PermutationNull:
    """The :class:`PermutationNull` of the per-target observed metrics and null draws (shuffle, target, metric)."""
    observed = pd.DataFrame(observed_rows)[names].mean(axis=0).to_dict()
    null = pd.DataFrame(np.nanmean(null_rows, axis=1), columns=names)
    info = {**info, "shared_permutation": n_perm == 1, "excluded_targets": sorted(excluded)}
    return PermutationNull(method.name, chosen, {m: float(v) for m, v in observed.items()}, null, seed, info=info)


def paired_differences(
    a: EvaluationResult,
    b: EvaluationResult,
    metrics: Sequence[str] | None = None,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Per metric, the mean over common targets of ``a - b`` with its bootstrap interval.

    Returns a DataFrame indexed by metric with ``mean, ci_low, ci_high, n_targets, a_wins, b_wins``
    (targets where one method is strictly better; for top-1 regret, lower is better).
    """
    common = [t for t in a.per_target.index if t in b.per_target.index]
    if not common:
        raise ValueError(f"{a.method} and {b.method} share no target")
    metrics = list(metrics or a.metrics)
    rows = {}
    for m in metrics:
        diff = a.per_target.loc[common, m].to_numpy(float) - b.per_target.loc[common, m].to_numpy(float)
        mean, lo, hi = bootstrap_ci(diff, n_boot=n_boot, level=level, seed=seed)
        sign = -1.0 if m in LOWER_IS_BETTER else 1.0
        rows[m] = {
            "mean": mean,
            "ci_low": lo,
            "ci_high": hi,
            "n_targets": int(np.isfinite(diff).sum()),
            "a_wins": int((sign * diff > 0).sum()),
            "b_wins": int((sign * diff < 0).sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("metric")


def relabelling_null(
    benchmark: Any,
    method: DcdMethod,
    n_shuffles: int = 100,
    seed: int = 0,
    *,
    targets: Sequence[str] | None = None,
    exclude_targets: Iterable[str] = (),
    k: int = K_DEFAULT,
    show_progress: bool | None = None,
) -> PermutationNull:
    """The null of a source-weighted method with *nested* hyperparameters: its sources relabelled at random.

    For each target and each model, one permutation ``sigma_m`` of the target's sources relabels that
    model's whole block of divergences, ``D_m(S -> T) -> D_m(sigma_m S -> T)`` and ``D_m(S -> S') ->
    D_m(sigma_m S -> sigma_m S')``, at every ``eta``; the ground truth is not touched. The nested selection
    then reruns on the relabelled divergences, so the null includes what the inner loop can make of noise.
    For a fixed setting it is :func:`permutation_null`. A model-agnostic method (``method.model_agnostic``:
    every model the same weights) is relabelled with one permutation for all models.

    Parameters and return value as :func:`permutation_null` (default 100 shuffles; the method may be nested).
    """
    models, datasets, chosen, excluded, values = _prepare(benchmark, method, n_shuffles, targets, exclude_targets)
    fitted = dict(method._divergences)
    names = metric_names(k)
    rng = np.random.default_rng(seed)
    n_perm = _n_permutations(method, models)
    observed_rows, null_rows = [], np.zeros((n_shuffles, len(chosen), len(names)))
    try:
        for j, target in enumerate(
            progress(chosen, total=len(chosen), desc=f"null {method.name}", enabled=show_progress)
        ):
            t = datasets.index(target)
            src = np.array([i for i in range(len(datasets)) if i != t])
            acc = values[:, src].copy()
            acc.setflags(write=False)
            task = LeaveOneOutTask(target, models, tuple(datasets[i] for i in src), acc)
            true = values[:, t]
            method._divergences = fitted
            observed_rows.append(ranking_metrics(method.predict(task), true, models, k))
            for b in range(n_shuffles):
                perm = np.argsort(rng.random((n_perm, len(src))), axis=-1)
                idx = np.broadcast_to(np.arange(len(datasets)), (len(models), len(datasets))).copy()
                idx[:, src] = src[np.broadcast_to(perm, (len(models), len(src)))]
                rows = idx[:, :, None]
                cols = idx[:, None, :]
                method._divergences = {
                    e: d[np.arange(len(models))[:, None, None], rows, cols] for e, d in fitted.items()
                }
                row = ranking_metrics(method.predict(task), true, models, k)
                null_rows[b, j] = [row[m] for m in names]
    finally:
        method._divergences = fitted
        method._selected = {}
    info = {"k": k, "kind": "relabelling", "nested": method.nested, "softmin": method.options.softmin}
    return _result(method, chosen, excluded, observed_rows, null_rows, names, seed, n_perm, info)
