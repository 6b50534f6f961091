"""Label-free signals a practitioner could use instead of DCD: target-only scores and source divergences.

Two families, both computed from what a user has without labels: the target's images, its class names and
the images of the source tasks.

**Target-only scores** (one model, one target task; higher = predicted better):

- :func:`msp_score`: the mean maximum softmax probability of the zero-shot classifier,
  ``(1/N) sum_x max_c p_c(x)``, with ``p = softmax(logits)`` and the logits already scaled by the model's
  own logit scale (``kappa * cosine [+ bias]``);
- :func:`neg_entropy_score`: minus the mean prediction entropy, ``-(1/N) sum_x H(p(x))``,
  ``H(p) = -sum_c p_c log p_c`` (natural log, ``0 log 0 = 0``);
- :func:`vega_score`: VEGA, Visual-tExtual Graph Alignment (Ding et al., arXiv 2412.20682). Pseudo-labels
  ``yhat(x) = argmax_c <e(x), t_c>`` split the images into classes ``X_c``; the occupied classes
  ``C+ = {c : N_c >= 1}`` are the nodes of two graphs. The textual graph's edges are ``<t_i, t_j>``; the
  visual graph's node ``c`` is a diagonal Gaussian of ``X_c``'s embeddings (variances shrunk towards the
  target's pooled variance) and its edges are minus the Bhattacharyya distance. The score is the node
  similarity ``s_n`` (an MSP at the fixed scale ``1 / temperature``) plus the edge similarity
  ``s_e = (rho + 1) / 2``, ``rho`` Pearson's correlation of the two graphs' edges (:func:`vega_parts`).

**Source-weighted divergences** (one model; per-dataset arrays in, a (D, D) array ``Dv[s, t]`` = divergence
from source ``s`` to target ``t`` out), for DCD's utilities and aggregation to weight the sources with:

- :func:`mean_embedding_cosine`: ``1 - cos`` of the mean embeddings;
- :func:`pairwise_mmd2`: the unbiased kernel two-sample statistic ``MMD^2_u`` (Gretton et al. 2012) with a
  Gaussian kernel whose bandwidth is the median heuristic (:func:`median_sq_distance`); one Gram matrix of
  the union serves every pair;
- :func:`pairwise_w1`: the 1-Wasserstein distance between empirical distributions of a scalar (equal sizes);
- :func:`standardise_features`: for the model-agnostic control, the seven pixel statistics of every image
  (:func:`vlmsel.data.images.pixel_features`, recorded in the store) standardised over the union of all
  tasks, then fed to :func:`pairwise_mmd2`.

Everything is computed in float64; every function rejects NaN, empty sets and mismatched widths with a
``ValueError`` naming the problem.

Specified in data/plans/what_to_use.md (sections 4a, 4b).
"""

from __future__ import annotations

from typing import Sequence, TypedDict

import numpy as np


class VegaParts(TypedDict):
    """The parts of :func:`vega_score`: ``vega = s_n + s_e``, ``s_e = (rho + 1) / 2``, over ``n_nodes`` classes."""

    s_n: float
    s_e: float
    rho: float
    n_nodes: int


# --------------------------------------------------------------------------------------------------------
# validation


def _finite(name: str, a: object, ndim: int) -> np.ndarray:
    """``a`` as a float64 array of ``ndim`` dimensions, non-empty and finite, else a ``ValueError``."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a numeric array: {e}") from e
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or inf")
    return arr


def _sets(name: str, sets: Sequence[object], min_rows: int = 1) -> list[np.ndarray]:
    """Each of ``sets`` as a finite float64 (N_d, E) array with ``N_d >= min_rows`` and one common ``E``."""
    if isinstance(sets, np.ndarray) and sets.ndim != 3:
        raise ValueError(f"{name} must be a sequence of (N_d, E) arrays, got one array of shape {sets.shape}")
    out = [_finite(f"{name}[{d}]", s, 2) for d, s in enumerate(sets)]
    if not out:
        raise ValueError(f"{name} holds no set")
    widths = {s.shape[1] for s in out}
    if len(widths) != 1:
        raise ValueError(f"{name} have mismatched widths {[s.shape[1] for s in out]}")
    for d, s in enumerate(out):
        if s.shape[0] < min_rows:
            raise ValueError(f"{name}[{d}] has {s.shape[0]} point(s); at least {min_rows} are needed")
    return out


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite {'non-negative' if allow_zero else 'positive'} number, got {value}")
    return v


# --------------------------------------------------------------------------------------------------------
# target-only scores


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def zero_shot_probabilities(logits: np.ndarray) -> np.ndarray:
    """Softmax of the zero-shot logits over the classes, numerically stable (the row maximum is subtracted).

    Parameters
    ----------
    logits : array (N, K): one row of class logits per image.

    Returns
    -------
    array (N, K) of float64: each row a probability distribution over the K classes.
    """
    z = _finite("logits", logits, 2)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def msp_score(logits: np.ndarray) -> float:
    """Mean maximum softmax probability ``(1/N) sum_x max_c p_c(x)``; in ``[1/K, 1]``, higher = more confident.

    Parameters
    ----------
    logits : array (N, K): the zero-shot logits, already scaled by the model's own logit scale
        (``kappa * cosine [+ bias]``).

    Returns
    -------
    float: the mean over the N images of the largest class probability.
    """
    return float(np.mean(np.max(zero_shot_probabilities(logits), axis=1)))


def neg_entropy_score(logits: np.ndarray) -> float:
    """Minus the mean prediction entropy ``-(1/N) sum_x H(p(x))``, ``H(p) = -sum_c p_c log p_c``.

    Natural logarithm, with ``0 log 0 = 0`` (the log-probabilities are computed as a log-softmax, so they are
    finite, and a probability that underflows to 0 adds exactly 0). In ``[-log K, 0]``.

    Parameters
    ----------
    logits : array (N, K): the zero-shot logits, already scaled by the model's own logit scale.

    Returns
    -------
    float: minus the mean entropy over the N images.
    """
    logp = _log_softmax(_finite("logits", logits, 2))
    entropy = -np.sum(np.exp(logp) * logp, axis=1)
    return float(-np.mean(entropy))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's correlation; 0 for fewer than 2 values or when either vector is constant."""
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    da, db = a - a.mean(), b - b.mean()
    den = np.sqrt(np.sum(da * da) * np.sum(db * db))
    if den == 0:
        return 0.0
    return float(np.clip(np.sum(da * db) / den, -1.0, 1.0))


def vega_parts(
    embeddings: np.ndarray,
    class_embeddings: np.ndarray,
    temperature: float = 0.05,
    shrinkage: float = 1.0,
    var_floor: float = 1e-8,
) -> VegaParts:
    """The parts of VEGA (:func:`vega_score`): node similarity, edge similarity, correlation, node count.

    Parameters
    ----------
    embeddings : array (N, E): the target's image embeddings ``e(x)``, assumed unit-norm (not renormalised).
    class_embeddings : array (K, E): the class (text) embeddings ``t_c``, assumed unit-norm.
    temperature : softmax temperature of the node similarity (the paper's 0.05).
    shrinkage : ``nu``, the pseudo-count with which each class's variances are shrunk towards the pooled ones.
    var_floor : lower bound of the pooled variance ``sbar2_d`` of each dimension.

    Returns
    -------
    dict with ``s_n`` (node similarity, ``(1/N) sum_x max_c softmax_c(<e(x), t_.> / temperature)``),
    ``rho`` (Pearson's correlation of the textual edges ``<t_i, t_j>`` and the visual edges ``-D_B(i, j)``
    over the pairs ``i < j`` of occupied classes; 0 when fewer than 3 classes are occupied or either vector
    is constant), ``s_e = (rho + 1) / 2`` and ``n_nodes`` (the number of occupied classes ``|C+|``).
    """
    e = _finite("embeddings", embeddings, 2)
    t = _finite("class_embeddings", class_embeddings, 2)
    if e.shape[1] != t.shape[1]:
        raise ValueError(
            f"embeddings have width {e.shape[1]} but class_embeddings have width {t.shape[1]}; they must match"
        )
    tau = _positive("temperature", temperature)
    nu = _positive("shrinkage", shrinkage, allow_zero=True)
    floor = _positive("var_floor", var_floor)

    sims = e @ t.T  # (N, K)
    s_n = float(np.mean(np.exp(np.max(_log_softmax(sims / tau), axis=1))))

    yhat = np.argmax(sims, axis=1)  # ties: the lowest index
    nodes = np.unique(yhat)  # C+, ascending
    p = nodes.size
    if p < 3:
        return VegaParts(s_n=s_n, s_e=0.5, rho=0.0, n_nodes=int(p))

    sbar2 = np.maximum(np.var(e, axis=0), floor)  # pooled population variance per dimension
    mu = np.empty((p, e.shape[1]))
    var = np.empty((p, e.shape[1]))
    for i, c in enumerate(nodes):
        xc = e[yhat == c]
        nc = xc.shape[0]
        mu[i] = xc.mean(axis=0)
        var[i] = (nc * np.var(xc, axis=0) + nu * sbar2) / (nc + nu)  # np.var of one row is 0
    if np.any(var <= 0):
        raise ValueError("a class variance is zero: shrinkage=0 with a single-image class; use shrinkage > 0")
    logdet = np.sum(np.log(var), axis=1)

    iu, ju = np.triu_indices(p, k=1)
    edge_t = np.sum(t[nodes[iu]] * t[nodes[ju]], axis=1)
    edge_v = np.empty(iu.size)
    k = 0
    for i in range(p - 1):  # vectorised over j > i: memory O(K E), not O(K^2 E)
        vbar = 0.5 * (var[i] + var[i + 1 :])
        dmu = mu[i] - mu[i + 1 :]
        d_b = 0.125 * np.sum(dmu * dmu / vbar, axis=1) + 0.5 * (
            np.sum(np.log(vbar), axis=1) - 0.5 * (logdet[i] + logdet[i + 1 :])
        )
        edge_v[k : k + d_b.size] = -d_b
        k += d_b.size
    rho = _pearson(edge_t, edge_v)
    return VegaParts(s_n=s_n, s_e=0.5 * (rho + 1.0), rho=rho, n_nodes=int(p))


def vega_score(
    embeddings: np.ndarray,
    class_embeddings: np.ndarray,
    temperature: float = 0.05,
    shrinkage: float = 1.0,
    var_floor: float = 1e-8,
) -> float:
    """VEGA, Visual-tExtual Graph Alignment (Ding et al., arXiv 2412.20682): ``s_n + s_e``, in ``[0, 2]``.

    Parameters
    ----------
    embeddings : array (N, E): the target's image embeddings, assumed unit-norm (not renormalised).
    class_embeddings : array (K, E): the class (text) embeddings, assumed unit-norm.
    temperature : softmax temperature of the node similarity (the paper's 0.05).
    shrinkage : ``nu``, the pseudo-count shrinking each class's variances towards the pooled ones.
    var_floor : lower bound of the pooled variance of each dimension.

    Returns
    -------
    float: node similarity plus edge similarity (see :func:`vega_parts` for the parts).
    """
    parts = vega_parts(embeddings, class_embeddings, temperature, shrinkage, var_floor)
    return parts["s_n"] + parts["s_e"]


# --------------------------------------------------------------------------------------------------------
# source-weighted divergences


def mean_embedding_cosine(sets: Sequence[np.ndarray]) -> np.ndarray:
    """Cosine distance of the mean embeddings of every pair of sets: ``Dv[s, t] = 1 - cos(mean_s, mean_t)``.

    Parameters
    ----------
    sets : sequence of D arrays (N_d, E): the (unit) embeddings of each dataset's images.

    Returns
    -------
    array (D, D), symmetric, with (up to rounding) zeros on the diagonal.
    """
    arrs = _sets("sets", sets)
    means = np.stack([s.mean(axis=0) for s in arrs])
    norms = np.linalg.norm(means, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"the mean embedding of set(s) {np.flatnonzero(norms == 0).tolist()} is zero")
    u = means / norms[:, None]
    return 1.0 - u @ u.T


def _sq_dists(x: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between all rows of ``x`` (n, E), from one Gram matrix of the centred rows.

    Clipped at 0; exactly 0 between identical rows (the diagonal included), so that duplicates give a kernel
    value of exactly 1 and the median heuristic sees them as equal.
    """
    xc = x - x.mean(axis=0)
    sq = np.einsum("ij,ij->i", xc, xc)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (xc @ xc.T)
    np.maximum(d2, 0.0, out=d2)
    _, ids = np.unique(x, axis=0, return_inverse=True)
    ids = np.ravel(ids)
    d2[ids[:, None] == ids[None, :]] = 0.0
    return d2


def _median_upper(d2: np.ndarray) -> float:
    iu = np.triu_indices(d2.shape[0], k=1)
    med = float(np.median(d2[iu]))
    return med if med > 0 else 1.0


def median_sq_distance(sets: Sequence[np.ndarray]) -> float:
    """The median heuristic ``h^2``: the median squared distance between distinct points of the union.

    Parameters
    ----------
    sets : sequence of D arrays (N_d, E): the points of each set; their union needs at least 2 points.

    Returns
    -------
    float: the median of ``||a_i - a_j||^2`` over the pairs ``i < j`` of the union, or 1.0 if that is 0
    (all points, or most pairs, equal).
    """
    x = np.concatenate(_sets("sets", sets))
    if x.shape[0] < 2:
        raise ValueError(f"the union of the sets has {x.shape[0]} point; at least 2 are needed")
    return _median_upper(_sq_dists(x))


def _mmd2_blocks(kernel: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``MMD^2_u`` of every pair of consecutive blocks of a Gram matrix; each pair's sums read once."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    block = np.add.reduceat(np.add.reduceat(kernel, starts, axis=0), starts, axis=1)  # (D, D) block sums
    block = 0.5 * (block + block.T)
    n = sizes.astype(np.float64)
    diag_sums = np.add.reduceat(np.diag(kernel), starts)  # sum of k(x_i, x_i) per set
    within_mean = (np.diag(block) - diag_sums) / (n * (n - 1.0))
    return within_mean[:, None] + within_mean[None, :] - 2.0 * block / np.outer(n, n)


def _gaussian(d2: np.ndarray, h2: float) -> np.ndarray:
    return np.exp(-d2 / (2.0 * h2))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, h2: float) -> float:
    """Unbiased ``MMD^2_u`` (Gretton et al. 2012) of two samples with the Gaussian kernel of bandwidth ``h2``.

    ``1/(n(n-1)) sum_{i!=j} k(x_i,x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i,y_j) - 2/(nm) sum_{i,j} k(x_i,y_j)`` with
    ``k(a, b) = exp(-||a - b||^2 / (2 h2))``. Unbiased, so it can be slightly negative.

    Parameters
    ----------
    x : array (n, E), n >= 2: the first sample.
    y : array (m, E), m >= 2: the second sample.
    h2 : the squared bandwidth, > 0 (e.g. :func:`median_sq_distance`).

    Returns
    -------
    float: the unbiased estimate of the squared maximum mean discrepancy.
    """
    a, b = _sets("samples (x, y)", [x, y], min_rows=2)
    h = _positive("h2", h2)
    kernel = _gaussian(_sq_dists(np.concatenate([a, b])), h)
    return float(_mmd2_blocks(kernel, np.array([a.shape[0], b.shape[0]]))[0, 1])


def pairwise_mmd2(sets: Sequence[np.ndarray], h2: float | None = None) -> np.ndarray:
    """``MMD^2_u`` (:func:`mmd2_unbiased`) of every pair of sets, from one Gram matrix of their union.

    Parameters
    ----------
    sets : sequence of D arrays (N_d, E), every N_d >= 2: the points of each dataset.
    h2 : the kernel's squared bandwidth; ``None`` (default) takes the median heuristic of the union
        (:func:`median_sq_distance`).

    Returns
    -------
    array (D, D), symmetric: ``Dv[s, t] = MMD^2_u(set s, set t)``; the diagonal is the statistic of a set
    with itself (near 0, slightly negative).
    """
    arrs = _sets("sets", sets, min_rows=2)
    d2 = _sq_dists(np.concatenate(arrs))
    h = _median_upper(d2) if h2 is None else _positive("h2", h2)
    return _mmd2_blocks(_gaussian(d2, h), np.array([s.shape[0] for s in arrs]))


def _w1(a: np.ndarray, b: np.ndarray) -> float:
    """W1 of two empirical distributions of any sizes: the integral of ``|F_a - F_b|`` over the values."""
    z = np.sort(np.concatenate([a, b]))
    fa = np.searchsorted(np.sort(a), z[:-1], side="right") / a.size
    fb = np.searchsorted(np.sort(b), z[:-1], side="right") / b.size
    return float(np.sum(np.abs(fa - fb) * np.diff(z)))


def pairwise_w1(values: Sequence[np.ndarray]) -> np.ndarray:
    """1-Wasserstein distance between the empirical distributions of every pair of samples.

    With equal sizes ``N``, ``W1 = (1/N) sum_i |a_(i) - b_(i)|`` over the order statistics; otherwise the
    integral of the absolute difference of the two empirical CDFs (the same quantity).

    Parameters
    ----------
    values : sequence of D 1-d arrays (each of length >= 1): a scalar per image of each dataset.

    Returns
    -------
    array (D, D), symmetric, zeros on the diagonal.
    """
    arrs = [_finite(f"values[{d}]", v, 1) for d, v in enumerate(values)]
    if not arrs:
        raise ValueError("values holds no sample")
    if len({v.size for v in arrs}) == 1:
        s = np.sort(np.stack(arrs), axis=1)  # (D, N)
        return np.mean(np.abs(s[:, None, :] - s[None, :, :]), axis=2)
    out = np.zeros((len(arrs), len(arrs)))
    for i in range(len(arrs)):
        for j in range(i + 1, len(arrs)):
            out[i, j] = out[j, i] = _w1(arrs[i], arrs[j])
    return out


def standardise_features(sets: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Standardise each coordinate over the union of all sets: mean 0, population sd 1 (sd 0 -> all 0).

    Parameters
    ----------
    sets : sequence of D arrays (N_d, F), every N_d >= 1: the features of each dataset's images.

    Returns
    -------
    list of D float64 arrays (N_d, F): the sets, standardised with the union's mean and sd.
    """
    arrs = _sets("sets", sets)
    union = np.concatenate(arrs)
    mean, sd = union.mean(axis=0), union.std(axis=0)
    keep = np.ptp(union, axis=0) > 0  # a constant coordinate (sd 0, exactly) becomes 0
    scale = np.where(keep, sd, 1.0)
    return [np.where(keep, (s - mean) / scale, 0.0) for s in arrs]


# --------------------------------------------------------------------------------------------------------
# the four source-weighted signals, by name


#: The source-weighted signals (``data/plans/what_to_use.md``, section 4b) and the per-image array each reads
#: from a profile store (``f_x``: the objective F(x) = ||f(x)||).
SIGNAL_ARRAYS: dict[str, str] = {
    "emb_cos": "embedding",
    "emb_mmd": "embedding",
    "objective_w1": "f_x",
    "pixel_mmd": "pixel_stats",
}


def signal_divergence(signal: str, sets: Sequence[np.ndarray]) -> np.ndarray:
    """The divergence of ``signal`` between every pair of datasets, array (D, D) with ``Dv[s, t]`` from ``s``
    to ``t``: :func:`mean_embedding_cosine` (``emb_cos``), :func:`pairwise_mmd2` with the median bandwidth
    (``emb_mmd``), :func:`pairwise_w1` (``objective_w1``), or :func:`pairwise_mmd2` of the pixel statistics
    standardised over the union (``pixel_mmd``). ``sets``: each dataset's per-image array
    (:data:`SIGNAL_ARRAYS`)."""
    if signal == "emb_cos":
        return mean_embedding_cosine(sets)
    if signal == "emb_mmd":
        return pairwise_mmd2(sets)
    if signal == "objective_w1":
        return pairwise_w1(sets)
    if signal == "pixel_mmd":
        return pairwise_mmd2(standardise_features(sets))
    raise ValueError(f"unknown signal {signal!r}; choose one of {list(SIGNAL_ARRAYS)}")


def signal_divergence_to_target(
    signal: str, sources: Sequence[np.ndarray], target: np.ndarray, resamples: np.ndarray
) -> np.ndarray:
    """``Dv(S -> T)`` of every source for many resamples of the target's images, array (B, S).

    ``resamples`` (B, k) holds row indices of ``target``. With ``resamples = arange(n)[None]`` the result is
    the last column of :func:`signal_divergence` on ``[*sources, target]`` (a test checks it). The bandwidth
    of the MMDs and the pixel statistics' standardisation come from the whole sample and stay fixed over the
    resamples; the kernels are computed once, so many resamples cost little (the bootstrap of ``vlmsel select``).
    """
    idx = np.atleast_2d(np.asarray(resamples, dtype=np.int64))
    if signal not in SIGNAL_ARRAYS:
        raise ValueError(f"unknown signal {signal!r}; choose one of {list(SIGNAL_ARRAYS)}")
    if signal == "pixel_mmd":
        *sources, target = standardise_features([*sources, target])
    if signal == "objective_w1":
        src = [_finite(f"sources[{d}]", v, 1) for d, v in enumerate(sources)]
        t = _finite("target", target, 1)
        return np.array([[_w1(s, t[row]) for s in src] for row in idx])
    src = _sets("sources", sources, min_rows=2)
    t = _sets("target", [target], min_rows=1)[0]
    if signal == "emb_cos":
        means = np.stack([s.mean(axis=0) for s in src])
        means = means / np.linalg.norm(means, axis=1, keepdims=True)
        tm = t[idx].mean(axis=1)  # (B, E)
        tm = tm / np.linalg.norm(tm, axis=1, keepdims=True)
        return 1.0 - tm @ means.T
    if idx.shape[1] < 2:
        raise ValueError("an MMD needs at least 2 target images per resample")
    sizes = [s.shape[0] for s in src]
    union = np.concatenate([*src, t])
    d2 = _sq_dists(union)
    kernel = _gaussian(d2, _median_upper(d2))
    n_src = int(sum(sizes))
    k_tt = kernel[n_src:, n_src:]  # (n, n)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    k_ss = kernel[:n_src, :n_src]
    ss_sum = np.add.reduceat(np.add.reduceat(k_ss, starts, axis=0), starts, axis=1).diagonal()
    ss_diag = np.add.reduceat(np.diag(k_ss), starts)
    n_s = np.asarray(sizes, dtype=np.float64)
    within_s = (ss_sum - ss_diag) / (n_s * (n_s - 1.0))  # (S,)
    cross = np.add.reduceat(kernel[n_src:, :n_src], starts, axis=1) / n_s  # (n, S): row mean per source
    k = idx.shape[1]
    sub = k_tt[idx[:, :, None], idx[:, None, :]]  # (B, k, k)
    within_t = (sub.sum(axis=(1, 2)) - np.trace(sub, axis1=1, axis2=2)) / (k * (k - 1.0))  # (B,)
    between = cross[idx].mean(axis=1)  # (B, S)
    return within_s[None, :] + within_t[:, None] - 2.0 * between
