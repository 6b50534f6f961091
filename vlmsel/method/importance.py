"""Block importance: which blocks matter for a task, as a sharpened distribution (:ref:`method-importance`).

A task profile ``p`` (a distribution over the blocks of one model, :mod:`vlmsel.profiles.pooling`) is nearly
uniform when blocks share conductance evenly, so its differences between tasks are small. The
importance distribution sharpens it:

- ``importance="softmax_z"`` (default): ``w = softmax(eta * z(p))`` with the z-score over blocks
  ``z(v) = (v - mean(v)) / (std(v) + eps)`` (population std, ``ddof=0``), ``eta = 2.0``. It is the
  closed-form maximiser of ``<w, z> + (1/eta) H(w)`` over the simplex (Gibbs variational principle):
  ``eta -> 0`` gives the uniform distribution, ``eta -> inf`` puts all weight on the top block.
- ``importance="power"``: ``w ∝ p ** eta`` (``eta = 1`` returns ``p``).

Every function works on the last axis and accepts any leading axes (models, datasets, ...). An optional
boolean ``mask`` marks the real blocks of zero-padded profiles (:class:`vlmsel.profiles.pooling.Profiles`):
statistics use real blocks only and padded blocks get weight exactly 0.

Taught in the chapter :ref:`ch-profiles` (the entropy-regularised alignment).
"""

from __future__ import annotations

import numpy as np

from vlmsel.method.options import DEFAULT_EPS, DEFAULT_ETA, IMPORTANCES, Importance


def _mask_for(p: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        return np.ones(p.shape, dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    try:
        return np.broadcast_to(mask, p.shape)
    except ValueError:
        raise ValueError(
            f"block mask of shape {mask.shape} does not broadcast to profiles of shape {p.shape}"
        ) from None


def _check_profiles(p: np.ndarray, mask: np.ndarray) -> np.ndarray:
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[-1] == 0:
        raise ValueError(f"profiles need a last axis of blocks, got shape {arr.shape}")
    real = arr[mask]
    if not np.all(np.isfinite(real)):
        raise ValueError("profiles hold NaN or inf")
    if np.any(real < 0):
        raise ValueError(f"profiles must be non-negative, found {real.min():.3g}")
    if np.any(mask.sum(axis=-1) == 0):
        raise ValueError("a profile has no real block (mask is all False)")
    return arr


def zscore_blocks(p: np.ndarray, *, mask: np.ndarray | None = None, eps: float = DEFAULT_EPS) -> np.ndarray:
    """z-score over blocks: ``(p - mean(p)) / (std(p) + eps)`` on the last axis, real blocks only.

    Parameters
    ----------
    p : array (..., L).
    mask : bool array broadcastable to ``p``; False marks padded blocks (set to 0 in the output).
    eps : added to the standard deviation (default 1e-8), so a constant profile gives z = 0.

    Returns
    -------
    z : array (..., L).
    """
    m = _mask_for(np.asarray(p), mask)
    arr = np.where(m, np.asarray(p, dtype=np.float64), 0.0)
    n = m.sum(axis=-1, keepdims=True)
    mean = arr.sum(axis=-1, keepdims=True) / n
    dev = np.where(m, arr - mean, 0.0)
    std = np.sqrt((dev**2).sum(axis=-1, keepdims=True) / n)
    return dev / (std + eps)


def block_importance(
    p: np.ndarray,
    eta: float = DEFAULT_ETA,
    importance: Importance = "softmax_z",
    *,
    mask: np.ndarray | None = None,
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """Block-importance distribution ``w`` of task profiles (:ref:`method-importance`).

    Parameters
    ----------
    p : array (..., L): task profiles (non-negative; ``softmax_z`` does not need them to sum to 1).
    eta : sharpness, >= 0 (default 2.0). ``eta = 0`` gives the uniform distribution for both kinds.
    importance : ``"softmax_z"`` (default) or ``"power"``.
    mask : bool array broadcastable to ``p``; False marks padded blocks, which get weight exactly 0.
    eps : the z-score's epsilon (default 1e-8).

    Returns
    -------
    w : array (..., L), non-negative, sums to 1 over the real blocks of the last axis.
    """
    if not np.isfinite(eta) or eta < 0:
        raise ValueError(f"eta must be a finite number >= 0, got {eta}")
    m = _mask_for(np.asarray(p), mask)
    arr = _check_profiles(p, m)
    if importance == "softmax_z":
        logits = eta * zscore_blocks(arr, mask=m, eps=eps)
        logits = np.where(m, logits, -np.inf)
        logits = logits - logits.max(axis=-1, keepdims=True)
        e = np.exp(logits)
    elif importance == "power":
        if eta == 0:
            e = m.astype(np.float64)
        else:
            e = np.where(m, arr, 0.0) ** eta
        if np.any(e.sum(axis=-1) <= 0):
            raise ValueError("a profile has zero mass on every block; 'power' importance is undefined")
    else:
        raise ValueError(f"unknown importance {importance!r}; choose one of {IMPORTANCES}")
    return e / e.sum(axis=-1, keepdims=True)
