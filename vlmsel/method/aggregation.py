"""Model-specific rank aggregation: from source accuracies and softmin weights to a ranking (:ref:`method-aggregation`).

Each source dataset ``S`` has ground truth for every model of the zoo. It is turned into a utility:

- ``utility="rank"`` (default): ``u_m(S) = 1 - (rank_m(S) - 1) / (|M| - 1)`` where ``rank_m(S)`` is
  model ``m``'s rank by accuracy on ``S`` within the zoo (1 = best; ties share the mean rank), so the
  best model scores 1 and the worst 0;
- ``utility="zscore_acc"``: the accuracy z-scored over the zoo on ``S`` (population std).

The predicted score of model ``m`` on the target ``T`` is the weighted mean of its utilities with its
own (model-specific) weights ``alpha_m(S | T)`` from :mod:`vlmsel.method.similarity`:

    s_hat_m(T) = sum_{S != T} alpha_m(S | T) * u_m(S)

The predicted ranking sorts ``s_hat`` in descending order, ties broken by model name.

Taught in the chapter :ref:`ch-ranking`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import rankdata

from vlmsel.method.options import UTILITIES, Utility


def _check_acc(acc: np.ndarray) -> np.ndarray:
    arr = np.asarray(acc, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"accuracies must have shape (n_models, n_datasets), got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"ranking needs at least 2 models, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("accuracies hold NaN or inf")
    return arr


def rank_models(acc: np.ndarray) -> np.ndarray:
    """Rank of every model on every dataset: 1 = best (highest accuracy), ties share the mean rank.

    Parameters
    ----------
    acc : array (n_models, n_datasets).

    Returns
    -------
    rank : float array (n_models, n_datasets) with values in [1, n_models].
    """
    return rankdata(-_check_acc(acc), method="average", axis=0)


def utilities(acc: np.ndarray, utility: Utility = "rank") -> np.ndarray:
    """Source utilities ``u_m(S)`` from ground-truth accuracies.

    Parameters
    ----------
    acc : array (n_models, n_sources): accuracies of the zoo on the source datasets.
    utility : ``"rank"`` (default; in [0, 1], 1 = best model) or ``"zscore_acc"``.

    Returns
    -------
    u : array (n_models, n_sources).
    """
    arr = _check_acc(acc)
    if utility == "rank":
        return 1.0 - (rank_models(arr) - 1.0) / (arr.shape[0] - 1)
    if utility == "zscore_acc":
        std = arr.std(axis=0, keepdims=True)
        return (arr - arr.mean(axis=0, keepdims=True)) / np.where(std > 0, std, 1.0)
    raise ValueError(f"unknown utility {utility!r}; choose one of {UTILITIES}")


def aggregate(alpha: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Predicted scores ``s_hat[m, t] = sum_s alpha[m, s, t] * u[m, s]``.

    Parameters
    ----------
    alpha : array (n_models, n_sources, n_targets): weights, summing to 1 over sources.
    u : array (n_models, n_sources): utilities.

    Returns
    -------
    scores : array (n_models, n_targets); higher = predicted better.
    """
    alpha, u = np.asarray(alpha, dtype=np.float64), np.asarray(u, dtype=np.float64)
    if alpha.ndim != 3 or u.shape != alpha.shape[:2]:
        raise ValueError(f"alpha (n_models, S, T) {alpha.shape} and utilities (n_models, S) {u.shape} do not match")
    return np.einsum("mst,ms->mt", alpha, u)


def ranking(scores: np.ndarray, models: Sequence[str]) -> list[str]:
    """Models sorted by predicted score, best first; ties broken by model name (ascending).

    Parameters
    ----------
    scores : array (n_models,).
    models : names, one per score.
    """
    return [models[i] for i in ranking_order(scores, models)]


def ranking_order(scores: np.ndarray, models: Sequence[str]) -> np.ndarray:
    """Indices that sort ``scores`` descending, ties broken by model name. Shape (n_models,)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or len(s) != len(models):
        raise ValueError(f"scores {s.shape} and {len(models)} model names do not match")
    if np.any(np.isnan(s)):
        raise ValueError("scores hold NaN")
    return ranking_orders(s[:, None], models)[:, 0]


def ranking_orders(scores: np.ndarray, models: Sequence[str]) -> np.ndarray:
    """Per column of ``scores`` (M, B), model indices best first (ties by name): int array (M, B)."""
    name_rank = np.argsort(np.argsort(np.asarray(models, dtype=object)))
    keys = (np.broadcast_to(name_rank[:, None], scores.shape), -scores)
    return np.lexsort(keys, axis=0)
