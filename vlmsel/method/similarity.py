"""Softmin similarity: how much each source task counts when predicting a target, per model (:ref:`method-similarity`).

For model ``m`` and target ``T`` the weight of source ``S`` is a softmin over the divergences of the
allowed sources (every dataset but the target, in leave-one-dataset-out):

    alpha_m(S | T) = exp(-gamma * D_m(S -> T)) / sum_{S' allowed} exp(-gamma * D_m(S' -> T)),  gamma = 5.0

``gamma = 0`` gives uniform weights (the average-rank baseline); ``gamma -> inf`` puts all weight on the
closest source. The weights are computed stably (the smallest divergence is subtracted first).

That is the paper's softmin (``softmin="raw"``). Its ``gamma`` acts on the divergences' own scale, which
differs about fifty-fold between the models of one zoo, so one ``gamma`` is nearly uniform for some models
and nearly one-hot for others. The **scale-free softmin** (``softmin="zscore"``, :func:`standardise_sources`)
first standardises each (model, target)'s divergences over its allowed sources,

    D~_m(S -> T) = (D_m(S -> T) - mean_S' D_m(S' -> T)) / (sd_S' D_m(S' -> T) + eps),

so its ``gamma`` is the log weight ratio per standard deviation, the same for every model.

Taught in the chapter :ref:`ch-dcd`.
"""

from __future__ import annotations

import numpy as np

from vlmsel.method.options import DEFAULT_EPS, DEFAULT_GAMMA, SOFTMINS, Softmin


def _mask(d: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    if valid is None:
        return np.ones(d.shape, dtype=bool)
    try:
        return np.broadcast_to(np.asarray(valid, dtype=bool), d.shape)
    except ValueError:
        raise ValueError(f"valid mask {np.shape(valid)} does not broadcast to divergences {d.shape}") from None


def standardise_sources(
    divergences: np.ndarray, valid: np.ndarray | None = None, *, axis: int = -2, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """Divergences standardised over the valid sources of every (model, target): ``(D - mean) / (sd + eps)``
    along ``axis``, with the mean and the population sd taken over the valid sources only (excluded sources
    come out as 0). Equal divergences give all zeros, hence uniform softmin weights."""
    d = np.asarray(divergences, dtype=np.float64)
    m = _mask(d, valid)
    n = m.sum(axis=axis, keepdims=True)
    if np.any(n == 0):
        raise ValueError("a target has no valid source")
    x = np.where(m, d, 0.0)
    if not np.all(np.isfinite(x)):
        raise ValueError("divergences of valid sources hold NaN or inf")
    mean = x.sum(axis=axis, keepdims=True) / n
    sd = np.sqrt(np.where(m, (x - mean) ** 2, 0.0).sum(axis=axis, keepdims=True) / n)
    return np.where(m, (x - mean) / (sd + eps), 0.0)


def softmin_weights(
    divergences: np.ndarray,
    gamma: float = DEFAULT_GAMMA,
    valid: np.ndarray | None = None,
    *,
    axis: int = -2,
    softmin: Softmin = "raw",
) -> np.ndarray:
    """Softmin weights over sources.

    Parameters
    ----------
    divergences : array, e.g. (n_models, S, T) with ``D[m, s, t] = D_m(source s -> target t)``.
    gamma : inverse temperature, >= 0 (default 5.0); ``inf`` is not allowed (use a large number).
    valid : bool array broadcastable to ``divergences``; False excludes a source (its weight is exactly 0).
        In leave-one-dataset-out pass ``~np.eye(S, dtype=bool)`` so a target is never its own source.
        Divergences of excluded sources may be anything, even NaN.
    axis : the source axis (default -2, i.e. the ``S`` of (M, S, T)).
    softmin : ``"raw"`` (the paper's, default) or ``"zscore"``: the divergences are first standardised over
        the valid sources of every (model, target) (:func:`standardise_sources`), so ``gamma`` is per sd.

    Returns
    -------
    alpha : array like ``divergences``, non-negative, summing to 1 along ``axis`` over valid sources.
        ``gamma = 0`` gives exactly ``1 / n_valid`` on every valid source.
    """
    if not np.isfinite(gamma) or gamma < 0:
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma}")
    if softmin not in SOFTMINS:
        raise ValueError(f"unknown softmin {softmin!r}; choose one of {', '.join(SOFTMINS)}")
    d = np.asarray(divergences, dtype=np.float64)
    m = _mask(d, valid)
    if softmin == "zscore":
        d = standardise_sources(d, m, axis=axis)
    if np.any(m.sum(axis=axis) == 0):
        raise ValueError("a target has no valid source")
    if not np.all(np.isfinite(d[m])):
        raise ValueError("divergences of valid sources hold NaN or inf")
    if gamma == 0:
        e = m.astype(np.float64)
    else:
        logits = np.where(m, -gamma * np.where(m, d, 0.0), -np.inf)
        logits = logits - logits.max(axis=axis, keepdims=True)
        e = np.exp(logits)
    return e / e.sum(axis=axis, keepdims=True)
