"""Is there a signal? Diagnostics of profiles and source weights.

- :func:`split_half_divergences`: the divergence between random halves of tasks' images. Its diagonal
  (one task's two halves) is the *split-half null*: a difference between two tasks' profiles means
  something only when it exceeds the difference between two halves of one task (:ref:`method-protocol`).
- :func:`effective_sources`: ``1 / sum_S alpha_S^2``, the number of sources the softmin weights
  effectively spread over (equal to the number of sources for uniform weights, 1 for a single source).

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
    return divergence_between(o.divergence, w_t=w_b[:, None, :, :], w_s=w_a[:, :, None, :],
                              p_t=p_b[:, None, :, :], p_s=p_a[:, :, None, :], eps=o.eps)


def effective_sources(alpha: np.ndarray, axis: int = -2) -> np.ndarray:
    """Effective number of sources ``1 / sum_S alpha_S^2`` along the source ``axis`` (default -2, the
    ``S`` of (n_models, S, T) weights). Weights must sum to 1 along ``axis``."""
    a = np.asarray(alpha, dtype=np.float64)
    return 1.0 / np.sum(a**2, axis=axis)
