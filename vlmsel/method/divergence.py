"""Divergences between two tasks' block importances, for one model (:ref:`method-dcd`).

The Directional Conductance Divergence asks how well a source task ``S`` covers the blocks that matter
for a target task ``T``, for model ``m``:

    DCD_m(S -> T) = sum_l w_T(l) * log( (w_T(l) + eps) / (w_S(l) + eps) )  = KL(w_T || w_S),  eps = 1e-8

It is asymmetric on purpose: a source that uses the target's important blocks (and more) is a good
proxy, the reverse need not hold. ``eps`` keeps the value finite when a source gives a block zero
weight. (With ``eps > 0`` the value can dip below zero by O(eps) for nearly equal distributions; it is
exactly 0 for identical ones.) Ablations (``divergence=``):

- ``"kl"`` (default): DCD above, on the importances ``w``;
- ``"coverage"``: ``sum_l w_T(l) * max(0, p_T(l) - p_S(l)) / (p_T(l) + eps)``: the importance-weighted
  share of the target's profile mass that the source lacks (uses ``w_T`` and the profiles ``p``);
- ``"js"``: Jensen-Shannon divergence of ``w_T`` and ``w_S`` (symmetric), with the same ``eps``:
  ``(KL(w_T || a) + KL(w_S || a)) / 2`` with ``a = (w_T + w_S) / 2``;
- ``"sym_kl"``: ``(KL(w_T || w_S) + KL(w_S || w_T)) / 2`` (symmetric, on the scale of ``kl``);
- ``"cosine"``: ``1 - cos(p_T, p_S)`` on the profiles (symmetric).

Single-pair functions broadcast over leading axes (..., L). :func:`pairwise_divergence` computes every
model's divergence for every (source, target) pair of datasets at once, shape (n_models, S, T).
Zero-padded blocks (zero in ``p`` and ``w``) add exactly 0 to every divergence.

Taught in the chapter :ref:`ch-dcd`.
"""

from __future__ import annotations

import numpy as np

from vlmsel.method.options import DEFAULT_EPS, DIVERGENCES, Divergence


def kl(w_t: np.ndarray, w_s: np.ndarray, eps: float = DEFAULT_EPS) -> np.ndarray:
    """DCD: ``sum_l w_t * log((w_t + eps) / (w_s + eps))`` over the last axis. Shapes (..., L) -> (...)."""
    w_t, w_s = np.asarray(w_t, dtype=np.float64), np.asarray(w_s, dtype=np.float64)
    return np.sum(w_t * (np.log(w_t + eps) - np.log(w_s + eps)), axis=-1)


def coverage(w_t: np.ndarray, p_t: np.ndarray, p_s: np.ndarray, eps: float = DEFAULT_EPS) -> np.ndarray:
    """Coverage gap: ``sum_l w_t * max(0, p_t - p_s) / (p_t + eps)``. Shapes (..., L) -> (...)."""
    w_t, p_t, p_s = (np.asarray(a, dtype=np.float64) for a in (w_t, p_t, p_s))
    return np.sum(w_t * np.maximum(0.0, p_t - p_s) / (p_t + eps), axis=-1)


def js(w_t: np.ndarray, w_s: np.ndarray, eps: float = DEFAULT_EPS) -> np.ndarray:
    """Jensen-Shannon divergence ``(KL(w_t||a) + KL(w_s||a)) / 2``, ``a = (w_t + w_s) / 2``. (..., L) -> (...)."""
    w_t, w_s = np.asarray(w_t, dtype=np.float64), np.asarray(w_s, dtype=np.float64)
    a = 0.5 * (w_t + w_s)
    return 0.5 * (kl(w_t, a, eps) + kl(w_s, a, eps))


def sym_kl(w_t: np.ndarray, w_s: np.ndarray, eps: float = DEFAULT_EPS) -> np.ndarray:
    """Symmetrised KL ``(KL(w_t||w_s) + KL(w_s||w_t)) / 2``. Shapes (..., L) -> (...)."""
    return 0.5 * (kl(w_t, w_s, eps) + kl(w_s, w_t, eps))


def cosine(p_t: np.ndarray, p_s: np.ndarray) -> np.ndarray:
    """Cosine distance ``1 - <p_t, p_s> / (|p_t| |p_s|)``. Shapes (..., L) -> (...)."""
    p_t, p_s = np.asarray(p_t, dtype=np.float64), np.asarray(p_s, dtype=np.float64)
    den = np.linalg.norm(p_t, axis=-1) * np.linalg.norm(p_s, axis=-1)
    if np.any(den == 0):
        raise ValueError("cosine distance of an all-zero profile is undefined")
    return 1.0 - np.sum(p_t * p_s, axis=-1) / den


def _check(name: str, a: np.ndarray | None, ndim: int = 3) -> np.ndarray:
    if a is None:
        raise ValueError(f"this divergence needs {name}")
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape (n_models, n_datasets, L), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} hold NaN or inf")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative, found {arr.min():.3g}")
    return arr


def divergence_between(
    divergence: Divergence = "kl",
    *,
    w_t: np.ndarray | None = None,
    w_s: np.ndarray | None = None,
    p_t: np.ndarray | None = None,
    p_s: np.ndarray | None = None,
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """The divergence ``source -> target`` of any broadcastable (..., L) arrays: the one dispatcher.

    Parameters
    ----------
    divergence : ``"kl"`` (DCD, default), ``"coverage"``, ``"js"``, ``"sym_kl"`` or ``"cosine"``.
    w_t, w_s : block importances of the target and the source (every divergence but ``cosine``).
    p_t, p_s : task profiles of the target and the source (``coverage`` needs ``p_t, p_s``; ``cosine`` too).
    eps : smoothing of the logarithms and of the coverage ratio (default 1e-8).

    Returns
    -------
    array: the arrays' broadcast shape without its last (block) axis.
    """

    def need(name: str, a: np.ndarray | None) -> np.ndarray:
        if a is None:
            raise ValueError(f"divergence {divergence!r} needs {name}")
        return a

    if divergence == "kl":
        return kl(need("w_t", w_t), need("w_s", w_s), eps)
    if divergence == "sym_kl":
        return sym_kl(need("w_t", w_t), need("w_s", w_s), eps)
    if divergence == "js":
        return js(need("w_t", w_t), need("w_s", w_s), eps)
    if divergence == "coverage":
        return coverage(need("w_t", w_t), need("p_t", p_t), need("p_s", p_s), eps)
    if divergence == "cosine":
        return cosine(need("p_t", p_t), need("p_s", p_s))
    raise ValueError(f"unknown divergence {divergence!r}; choose one of {DIVERGENCES}")


def pairwise_divergence(
    divergence: Divergence = "kl",
    *,
    w: np.ndarray | None = None,
    p: np.ndarray | None = None,
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """Divergence of every (source, target) pair of datasets, for every model.

    Parameters
    ----------
    divergence : ``"kl"`` (DCD, default), ``"coverage"``, ``"js"``, ``"sym_kl"`` or ``"cosine"``.
    w : array (n_models, n_datasets, L): block importances (:func:`vlmsel.method.importance.block_importance`);
        needed by every divergence except ``cosine``.
    p : array (n_models, n_datasets, L): task profiles; needed by ``coverage`` and ``cosine``.
    eps : smoothing of the logarithms and of the coverage ratio (default 1e-8).

    Returns
    -------
    D : array (n_models, n_datasets, n_datasets) with ``D[m, s, t] = divergence_m(source s -> target t)``;
        the diagonal is the divergence of a dataset with itself (0).
    """
    if divergence not in DIVERGENCES:
        raise ValueError(f"unknown divergence {divergence!r}; choose one of {DIVERGENCES}")
    needs_w = divergence != "cosine"
    needs_p = divergence in ("coverage", "cosine")
    w = _check("importances w", w) if needs_w else None
    p = _check("profiles p", p) if needs_p else None
    if w is not None and p is not None and w.shape != p.shape:
        raise ValueError(f"importances {w.shape} and profiles {p.shape} must have the same shape")
    # sources along axis 1, targets along axis 2: (M, S, 1, L) against (M, 1, T, L)
    src = lambda a: None if a is None else a[:, :, None, :]  # noqa: E731
    tgt = lambda a: None if a is None else a[:, None, :, :]  # noqa: E731
    return divergence_between(divergence, w_t=tgt(w), w_s=src(w), p_t=tgt(p), p_s=src(p), eps=eps)
