"""Is there a signal? Diagnostics of profiles and source weights.

- :func:`split_half_divergences`: the divergence between random halves of tasks' images. Its diagonal
  (one task's two halves) is the *split-half null*: a difference between two tasks' profiles means
  something only when it exceeds the difference between two halves of one task (:ref:`method-protocol`).
- :func:`effective_blocks`: ``exp(H(w))``, the exponential of the Shannon entropy of a block-importance
  distribution, the number of blocks it effectively spreads over (:ref:`method-importance`).
- :func:`effective_sources`: ``1 / sum_S alpha_S^2`` (the inverse Simpson index), the number of sources the
  softmin weights effectively spread over (:ref:`method-similarity`).

Both equal the number of entries for uniform weights and 1 for all weight on one entry; in between they
differ (``exp(H) >= 1 / sum w^2``), so each diagnostic has one definition and this module holds it.

Taught in the chapters "Directional Conductance Divergence" (:ref:`ch-dcd`) and "Ranking models by
aggregating source ranks" (:ref:`ch-ranking`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from vlmsel.method.divergence import divergence_between
from vlmsel.method.importance import block_importance
from vlmsel.method.options import MethodOptions, resolve
from vlmsel.profiles.pooling import pool_resamples


def split_half_divergences(
    block_scalars: Sequence[np.ndarray],
    n_splits: int = 50,
    seed: int | np.random.Generator = 0,
    options: MethodOptions | None = None,
    **overrides: Any,
) -> np.ndarray:
    """Divergences between random halves of several tasks' images, for one model.

    Each split draws one random permutation of the ``N`` image indices (the same for every task), calls
    its first ``N // 2`` images half A and the rest half B, pools each half into a profile, and computes
    ``D[r, s, t] = divergence(A_s -> B_t)``: source = half A of task ``s``, target = half B of task ``t``.

    Parameters
    ----------
    block_scalars : per task, the block scalars of one model, arrays (N, L) with the same N and L
        (absolute values are taken of signed scalars).
    n_splits : random splits (default 50).
    seed : seed or generator of the permutations.
    options : the method's options (``pooling, eta, importance, divergence, eps`` are used).

    Returns
    -------
    D : array (n_splits, T, T). ``D[:, t, t]`` is the split-half null of task ``t``.
    """
    o = resolve(options, **overrides)
    c = np.stack([np.abs(np.asarray(b, dtype=np.float64)) for b in block_scalars])  # (T, N, L)
    if c.ndim != 3 or c.shape[1] < 2:
        raise ValueError(f"block scalars must be (N >= 2 images, L blocks) per task, got {c.shape[1:]}")
    n = c.shape[1]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    perms = np.stack([rng.permutation(n) for _ in range(n_splits)])
    half = n // 2
    p_a = np.stack([pool_resamples(ct, perms[:, :half], o.pooling) for ct in c], axis=1)  # (splits, T, L)
    p_b = np.stack([pool_resamples(ct, perms[:, half:], o.pooling) for ct in c], axis=1)
    w_a = block_importance(p_a, o.eta, o.importance, eps=o.eps)
    w_b = block_importance(p_b, o.eta, o.importance, eps=o.eps)
    return divergence_between(
        o.divergence,
        w_t=w_b[:, None, :, :],
        w_s=w_a[:, :, None, :],
        p_t=p_b[:, None, :, :],
        p_s=p_a[:, :, None, :],
        eps=o.eps,
    )


def effective_blocks(w: np.ndarray, axis: int = -1) -> np.ndarray:
    """Effective number of blocks ``exp(H(w))``, ``H(w) = -sum_l w_l log w_l``, along the block ``axis``.

    Parameters
    ----------
    w : block importances, summing to 1 along ``axis``; zero weights (padded blocks) add nothing.
    axis : the block axis (default -1, the ``L`` of (..., L) importances).

    Returns
    -------
    n_eff : array without ``axis``, in ``[1, L]``: ``L`` for uniform weights, 1 for a single block.
    """
    a = np.asarray(w, dtype=np.float64)
    positive = a > 0
    h = -np.sum(np.where(positive, a * np.log(np.where(positive, a, 1.0)), 0.0), axis=axis)
    return np.exp(h)


def effective_sources(alpha: np.ndarray, axis: int = -2) -> np.ndarray:
    """Effective number of sources ``1 / sum_S alpha_S^2`` (the inverse Simpson index) along the source
    ``axis``.

    Parameters
    ----------
    alpha : softmin weights, summing to 1 along ``axis``.
    axis : the source axis (default -2, the ``S`` of (n_models, S, T) weights).

    Returns
    -------
    n_eff : array without ``axis``, in ``[1, S]``: ``S`` for uniform weights, 1 for a single source.
    """
    a = np.asarray(alpha, dtype=np.float64)
    return 1.0 / np.sum(a**2, axis=axis)
