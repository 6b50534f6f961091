"""How good is a predicted ranking of models on one target dataset (:ref:`method-metrics`).

Every metric compares a predicted score per model (higher = predicted better) with the ground-truth
accuracy per model on the target:

- ``r5`` and ``tau5``, exactly as LOVM's ``lovm.py`` (``get_acc`` and ``get_k_tau``, ``NUM_RANK = 5``):
  both lists are sorted in descending order and cut to their top 5; ``r5 = |top5_true ∩ top5_pred| / 5``;
  ``tau5`` is scipy's Kendall tau-b between the true and the predicted ranks of the models common to both
  top-5 lists, where those ranks are pandas' ``rank(ascending=False)`` (mean rank for ties) *truncated
  to integers* within the common models; 0 when 2 or fewer models are common, NaN when scipy's tau is
  undefined (a constant rank vector; LOVM's ``DataFrame.mean`` then skips it, as :func:`summarise` does).
  Sorting ties: LOVM sorts with pandas' default (non-stable) quicksort on the models in alphabetical
  order; here ties are broken by model name, which is what a stable sort of that order gives. The LOVM
  tables have no tie that straddles a top-5 boundary, so LOVM's published values are unaffected.
- ``ndcg5``: NDCG@5 with gain = the true accuracy, identical to ``sklearn.metrics.ndcg_score(acc, score,
  k=5)`` (log2 discount; tied predicted scores share their gain, as sklearn does by default);
  ``ndcg5_minmax``: the same with gain = min-max normalised accuracy on the target (0 = worst model).
- ``tau_b``: Kendall tau-b over the full list (scipy's ``kendalltau``).
- ``top1_regret``: best true accuracy minus the true accuracy of the predicted top-1 model.

:func:`bootstrap_ci` gives a seeded 95% percentile bootstrap interval of a mean over target datasets.

Taught in the chapter :ref:`ch-benchmarks` (each metric built by hand on a
toy ranking); used for every result of the chapter :ref:`ch-ranking`.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from vlmsel.evaluation.options import K_DEFAULT


def metric_labels(k: int = K_DEFAULT) -> dict[str, str]:
    """Readable labels of the metric columns, for tables and figure axes (every table says its gain)."""
    return {
        f"r{k}": f"R{k}",
        f"tau{k}": f"tau{k}",
        f"ndcg{k}": f"NDCG@{k} (gain: accuracy)",
        f"ndcg{k}_minmax": f"NDCG@{k} (gain: min-max)",
        "tau_b": "Kendall tau-b, full list",
        "top1_regret": "top-1 regret (lower = better)",
    }


def metric_names(k: int = K_DEFAULT) -> list[str]:
    """Column names of :func:`ranking_metrics` for cutoff ``k``."""
    return [f"r{k}", f"tau{k}", f"ndcg{k}", f"ndcg{k}_minmax", "tau_b", "top1_regret"]


def name_ranks(models: Sequence[str]) -> np.ndarray:
    """Position of every model name in alphabetical order (int array, for tie-breaking)."""
    return np.argsort(np.argsort(np.asarray(list(models), dtype=object), kind="stable"), kind="stable")


def _vec(x: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one value per model), got shape {arr.shape}")
    if np.any(np.isnan(arr)):
        raise ValueError(f"{what} hold NaN")
    return arr


def _pair(pred: np.ndarray, true: np.ndarray, models: Sequence[str] | None):
    pred, true = _vec(pred, "predicted scores"), _vec(true, "true accuracies")
    if pred.shape != true.shape:
        raise ValueError(f"predicted scores {pred.shape} and true accuracies {true.shape} differ in length")
    if models is None:
        models = [f"{i:08d}" for i in range(len(pred))]
    if len(models) != len(pred):
        raise ValueError(f"{len(models)} model names for {len(pred)} scores")
    return pred, true, name_ranks(models)


def top_k(values: np.ndarray, models: Sequence[str] | None = None, k: int = K_DEFAULT) -> np.ndarray:
    """Indices of the ``k`` largest values, best first; ties broken by model name (or by index)."""
    v = _vec(values, "values")
    ranks = name_ranks(models) if models is not None else np.arange(len(v))
    return np.lexsort((ranks, -v))[:k]


def _top(v: np.ndarray, ranks: np.ndarray, k: int) -> np.ndarray:
    return np.lexsort((ranks, -v))[:k]


# --------------------------------------------------------------------------------------- Kendall
def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two equally long vectors (scipy's ``kendalltau`` default); NaN if undefined.

    ``tau_b = sum_{i<j} sgn(x_i - x_j) sgn(y_i - y_j) / sqrt(n_x n_y)`` where ``n_x`` (``n_y``) counts the
    pairs not tied in ``x`` (``y``). Undefined (NaN) when either vector is constant or has < 2 entries.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"kendall_tau_b needs two 1-D vectors of equal length, got {x.shape} and {y.shape}")
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    den = np.sqrt(np.sum(sx * sx) * np.sum(sy * sy))
    if den == 0:
        return float("nan")
    return float(np.clip(np.sum(sx * sy) / den, -1.0, 1.0))


# --------------------------------------------------------------------------------------- LOVM
def _lovm_r(top_pred: np.ndarray, top_true: np.ndarray) -> float:
    return float(np.isin(top_true, top_pred).sum() / len(top_true))


def _lovm_tau(pred: np.ndarray, true: np.ndarray, top_pred: np.ndarray, top_true: np.ndarray) -> float:
    common = top_true[np.isin(top_true, top_pred)]
    if len(common) <= 2:
        return 0.0
    # pandas Series.rank(ascending=False) = mean rank of the negated values, then LOVM's .astype(int).
    r_true = np.trunc(rankdata(-true[common], method="average"))
    r_pred = np.trunc(rankdata(-pred[common], method="average"))
    return kendall_tau_b(r_true, r_pred)


def lovm_r5(pred: np.ndarray, true: np.ndarray, models: Sequence[str] | None = None, k: int = K_DEFAULT) -> float:
    """LOVM's top-k recall ``R5``: share of the true top-k models that are in the predicted top-k.

    Parameters
    ----------
    pred : array (n_models,) of predicted scores (higher = better).
    true : array (n_models,) of true accuracies on the target.
    models : names, used to break ties (ascending); default: by position.
    k : cutoff (LOVM's ``NUM_RANK = 5``).
    """
    pred, true, ranks = _pair(pred, true, models)
    return _lovm_r(_top(pred, ranks, k), _top(true, ranks, k))


def lovm_tau5(pred: np.ndarray, true: np.ndarray, models: Sequence[str] | None = None, k: int = K_DEFAULT) -> float:
    """LOVM's ``tau``: Kendall tau-b of the (integer-truncated) ranks of the models common to both top-k lists.

    0 when 2 or fewer models are common; NaN when scipy's tau-b is undefined (constant ranks).
    Arguments as :func:`lovm_r5`.
    """
    pred, true, ranks = _pair(pred, true, models)
    return _lovm_tau(pred, true, _top(pred, ranks, k), _top(true, ranks, k))


# --------------------------------------------------------------------------------------- NDCG
def ndcg_at_k(gain: np.ndarray, score: np.ndarray, k: int = K_DEFAULT) -> float:
    """NDCG@k of a scored list, identical to ``sklearn.metrics.ndcg_score([gain], [score], k=k)``.

    DCG uses the discount ``1 / log2(position + 1)`` on the first ``k`` positions; models with tied
    scores share the mean gain of their tie group and the discounts of the positions the group spans
    (sklearn's ``ignore_ties=False``). The ideal DCG sorts by ``gain``; NDCG is 0 if the ideal DCG is 0.

    Parameters
    ----------
    gain : array (n_models,), non-negative relevance (the true accuracy).
    score : array (n_models,), predicted scores.
    """
    gain, score = _vec(gain, "gains"), _vec(score, "scores")
    if gain.shape != score.shape:
        raise ValueError(f"gains {gain.shape} and scores {score.shape} differ in length")
    if np.any(gain < 0):
        raise ValueError("NDCG needs non-negative gains")
    n = len(gain)
    discount = 1.0 / np.log2(np.arange(n) + 2.0)
    discount[k:] = 0.0
    ideal = float(-np.sort(-gain) @ discount)
    if ideal == 0:
        return 0.0
    order = np.argsort(-score, kind="stable")
    s_sorted, g_sorted = score[order], gain[order]
    starts = np.flatnonzero(np.concatenate([[True], s_sorted[1:] != s_sorted[:-1]]))
    if len(starts) == n:  # no ties: plain DCG
        return float(g_sorted @ discount / ideal)
    # tie groups share their mean gain over the discounts of the positions they span
    counts = np.diff(np.append(starts, n))
    group_gain = np.add.reduceat(g_sorted, starts) / counts
    group_discount = np.add.reduceat(discount, starts)
    return float(group_gain @ group_discount / ideal)


def ndcg_columns(gain: np.ndarray, score: np.ndarray, k: int = K_DEFAULT) -> np.ndarray:
    """:func:`ndcg_at_k` of every column at once: arrays (n_models, n_targets) -> (n_targets,).

    Columns whose top-k positions hold tied scores go through :func:`ndcg_at_k` (tie-averaged gains);
    the others use one vectorised sort.
    """
    gain, score = np.asarray(gain, dtype=np.float64), np.asarray(score, dtype=np.float64)
    if gain.shape != score.shape or gain.ndim != 2:
        raise ValueError(f"gains {gain.shape} and scores {score.shape} must both be (n_models, n_targets)")
    if np.isnan(gain).any() or np.isnan(score).any():
        raise ValueError("gains or scores hold NaN")
    if np.any(gain < 0):
        raise ValueError("NDCG needs non-negative gains")
    n = gain.shape[0]
    kk = min(k, n)
    discount = 1.0 / np.log2(np.arange(kk) + 2.0)
    order = np.argsort(-score, axis=0, kind="stable")
    top_scores = np.take_along_axis(score, order[: kk + 1], axis=0)
    dcg = discount @ np.take_along_axis(gain, order[:kk], axis=0)
    ideal = discount @ -np.sort(-gain, axis=0)[:kk]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0)
    tied = np.any(top_scores[1:] == top_scores[:-1], axis=0)
    for j in np.flatnonzero(tied):
        out[j] = ndcg_at_k(gain[:, j], score[:, j], k)
    return out


def minmax(acc: np.ndarray) -> np.ndarray:
    """Min-max normalised accuracy over models: 0 for the worst, 1 for the best (NaN if all equal)."""
    acc = _vec(acc, "accuracies")
    span = acc.max() - acc.min()
    if span == 0:
        return np.full_like(acc, np.nan)
    return (acc - acc.min()) / span


# --------------------------------------------------------------------------------------- one target
def top1_regret(pred: np.ndarray, true: np.ndarray, models: Sequence[str] | None = None) -> float:
    """Best true accuracy minus the true accuracy of the predicted top-1 (ties by model name)."""
    pred, true, ranks = _pair(pred, true, models)
    return float(true.max() - true[_top(pred, ranks, 1)[0]])


def ranking_metrics(
    pred: np.ndarray, true: np.ndarray, models: Sequence[str] | None = None, k: int = K_DEFAULT
) -> dict[str, float]:
    """Every metric of this module for one target.

    Parameters
    ----------
    pred : array (n_models,) predicted scores.
    true : array (n_models,) true accuracies in [0, 1].
    models : names for tie-breaking.
    k : cutoff (default 5).

    Returns
    -------
    dict with keys ``r{k}, tau{k}, ndcg{k}, ndcg{k}_minmax, tau_b, top1_regret`` (see :func:`metric_names`).
    """
    pred, true, ranks = _pair(pred, true, models)
    return _ranking_metrics(pred, true, ranks, k)


def _ranking_metrics(pred: np.ndarray, true: np.ndarray, ranks: np.ndarray, k: int) -> dict[str, float]:
    top_pred, top_true = _top(pred, ranks, k), _top(true, ranks, k)
    mm = minmax(true)
    return {
        f"r{k}": _lovm_r(top_pred, top_true),
        f"tau{k}": _lovm_tau(pred, true, top_pred, top_true),
        f"ndcg{k}": ndcg_at_k(true, pred, k),
        f"ndcg{k}_minmax": float("nan") if np.isnan(mm).any() else ndcg_at_k(mm, pred, k),
        "tau_b": kendall_tau_b(pred, true),
        "top1_regret": float(true.max() - true[top_pred[0]]),
    }


def expected_random_metrics(true: np.ndarray, k: int = K_DEFAULT) -> dict[str, float]:
    """Exact expected metrics of a uniformly random ranking (the ``random`` baseline).

    ``r_k = min(k, n) / n``; ``tau_k = tau_b = 0`` (reversing a random order is equally likely, so the
    expectation is 0); ``ndcg_k = mean(gain) * sum_{i<k} discount_i / IDCG`` (every position holds each
    model with probability 1/n); ``top1_regret = max(acc) - mean(acc)``.
    """
    true = _vec(true, "true accuracies")
    n = len(true)
    discount = 1.0 / np.log2(np.arange(n) + 2.0)
    discount[k:] = 0.0

    def expected_ndcg(gain: np.ndarray) -> float:
        ideal = np.sort(gain)[::-1] @ discount
        return float(gain.mean() * discount.sum() / ideal) if ideal > 0 else 0.0

    mm = minmax(true)
    return {
        f"r{k}": min(k, n) / n,
        f"tau{k}": 0.0,
        f"ndcg{k}": expected_ndcg(true),
        f"ndcg{k}_minmax": float("nan") if np.isnan(mm).any() else expected_ndcg(mm),
        "tau_b": 0.0,
        "top1_regret": float(true.max() - true.mean()),
    }


# --------------------------------------------------------------------------------------- many targets
def metrics_table(
    pred: pd.DataFrame | np.ndarray,
    true: pd.DataFrame | np.ndarray,
    models: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
    k: int = K_DEFAULT,
) -> pd.DataFrame:
    """Metrics of every target: one row per target, columns :func:`metric_names`.

    Parameters
    ----------
    pred, true : (n_models, n_targets) arrays or DataFrames (index = models, columns = targets; ``pred``
        is aligned to ``true``'s labels when both are DataFrames).
    """
    if isinstance(true, pd.DataFrame):
        if isinstance(pred, pd.DataFrame):
            pred = pred.loc[true.index, true.columns]
        models = list(true.index) if models is None else models
        targets = list(true.columns) if targets is None else targets
    p, t = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if p.shape != t.shape or p.ndim != 2:
        raise ValueError(f"predictions {p.shape} and ground truth {t.shape} must both be (n_models, n_targets)")
    models = [f"{i:08d}" for i in range(p.shape[0])] if models is None else list(models)
    targets = [str(i) for i in range(p.shape[1])] if targets is None else list(targets)
    ranks = name_ranks(models)
    rows = [
        _ranking_metrics(_vec(p[:, j], "predicted scores"), _vec(t[:, j], "true accuracies"), ranks, k)
        for j in range(p.shape[1])
    ]
    return pd.DataFrame(rows, index=pd.Index(targets, name="target"))


SELECTION_METRICS: tuple[str, ...] = ("ndcg5", "r5+tau5", "tau_b")


def selection_score(
    pred: np.ndarray, true: np.ndarray, ranks: np.ndarray, metric: str = "ndcg5", k: int = K_DEFAULT
) -> float:
    """Mean over targets of the criterion that nested hyperparameter selection maximises.

    Parameters
    ----------
    pred, true : arrays (n_models, n_targets): predicted scores and true accuracies.
    ranks : :func:`name_ranks` of the models (tie-breaking).
    metric : ``"ndcg5"`` (NDCG@k, gain = accuracy; default), ``"r5+tau5"`` (LOVM's R@k + tau@k, the
        criterion SWAB's feature search uses) or ``"tau_b"`` (full-list Kendall tau-b).
    """
    if metric == "ndcg5":
        return float(np.mean(ndcg_columns(true, pred, k)))
    values = []
    for j in range(pred.shape[1]):
        p, t = pred[:, j], true[:, j]
        if metric == "r5+tau5":
            top_p, top_t = _top(p, ranks, k), _top(t, ranks, k)
            values.append(_lovm_r(top_p, top_t) + _lovm_tau(p, t, top_p, top_t))
        elif metric == "tau_b":
            values.append(kendall_tau_b(p, t))
        else:
            raise ValueError(f"unknown selection metric {metric!r}; choose one of {SELECTION_METRICS}")
    v = np.asarray(values)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("-inf")


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean over targets and its percentile bootstrap interval (targets resampled with replacement).

    Parameters
    ----------
    values : array (n_targets,), one metric value per target; NaN entries are skipped in every mean.
    n_boot : bootstrap resamples (default 10000).
    level : interval coverage (default 0.95).
    seed : seed of ``numpy.random.default_rng`` (the interval is reproducible).

    Returns
    -------
    (mean, low, high)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) == 0:
        raise ValueError(f"bootstrap needs a non-empty 1-D array, got shape {v.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples give NaN, ignored below
        mean = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
        if np.isnan(mean):
            return mean, float("nan"), float("nan")
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, len(v), size=(n_boot, len(v)))
        means = np.nanmean(v[idx], axis=1)
    means = means[~np.isnan(means)]
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return mean, float(low), float(high)


def summarise(
    per_target: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean of every metric over targets with its bootstrap interval.

    Returns
    -------
    DataFrame indexed by metric with columns ``mean, ci_low, ci_high, n_targets`` (targets with a
    defined value; NaN values are skipped as LOVM's pandas mean skips them).
    """
    metrics = [c for c in per_target.columns if per_target[c].dtype.kind == "f"] if metrics is None else metrics
    rows = {}
    for name in metrics:  # one seed for every metric (and method): the same resamples, paired comparisons
        col = per_target[name].to_numpy(dtype=np.float64)
        mean, lo, hi = bootstrap_ci(col, n_boot=n_boot, level=level, seed=seed)
        rows[name] = {"mean": mean, "ci_low": lo, "ci_high": hi, "n_targets": int(np.isfinite(col).sum())}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("metric")
