"""The method end to end: task profiles -> importance -> DCD -> softmin -> rank aggregation.

For a target task with no labels, every model of the zoo is scored by how it ranks on the source tasks
whose profiles, *for that model*, look like the target's (the method page, :ref:`method-importance` to
:ref:`method-aggregation`):

1. ``w = block_importance(p, eta)`` for every (model, dataset) profile (:mod:`vlmsel.method.importance`);
2. ``D[m, s, t] = DCD_m(s -> t)`` (:mod:`vlmsel.method.divergence`);
3. ``alpha[m, s, t] = softmin_s(gamma * D[m, s, t])`` over the sources (:mod:`vlmsel.method.similarity`);
4. ``score[m, t] = sum_s alpha[m, s, t] * u_m(s)`` with ``u`` from the sources' ground truth
   (:mod:`vlmsel.method.aggregation`); the ranking sorts scores descending, ties by model name.

This module is the one implementation of that composition. :func:`dataset_divergences` does steps
1-2 for every pair of datasets, :func:`weighted_scores` steps 3-4 for any divergences,
:func:`dcd_scores` all four for one target, and :class:`TargetScorer` all four for many resamples of
one target's images at once (the bootstrap of :func:`vlmsel.select`). The leave-one-dataset-out
adapter is :class:`vlmsel.evaluation.dcd.DcdMethod`; it calls the functions here.

Taught in the chapter "Ranking models by aggregating source ranks" (:ref:`ch-ranking`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from vlmsel.method.aggregation import aggregate, utilities
from vlmsel.method.divergence import divergence_between, pairwise_divergence
from vlmsel.method.importance import block_importance
from vlmsel.method.options import MethodOptions, Softmin, resolve
from vlmsel.method.similarity import softmin_weights
from vlmsel.profiles.pooling import Profiles, pool_resamples


def dataset_divergences(profiles: Profiles, options: MethodOptions | None = None, **overrides: Any) -> np.ndarray:
    """Divergence of every (source, target) dataset pair for every model: array (n_models, D, D).

    ``D[m, s, t] = divergence_m(s -> t)`` over ``profiles.datasets``; label-free (profiles only).
    ``options`` / keyword overrides: ``eta, importance, divergence, eps`` are used.
    """
    o = resolve(options, **overrides)
    w = block_importance(profiles.values, o.eta, o.importance, mask=profiles.mask, eps=o.eps)
    return pairwise_divergence(o.divergence, w=w, p=profiles.values, eps=o.eps)


def weighted_scores(
    divergences: np.ndarray,
    u: np.ndarray,
    gamma: float,
    valid: np.ndarray | None = None,
    *,
    axis: int = -2,
    softmin: Softmin = "raw",
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 3-4: softmin weights over the sources and the weighted utilities.

    Parameters
    ----------
    divergences : array (n_models, S, T) with ``D[m, s, t] = D_m(s -> t)``, or (n_models, B, S) with
        ``axis=-1`` (many targets, sources last).
    u : array (n_models, S): source utilities (:func:`vlmsel.method.aggregation.utilities`).
    gamma : softmin inverse temperature (>= 0).
    valid : bool mask broadcastable to ``divergences``; False excludes a source (e.g. the target itself).
    softmin : ``"raw"`` (the paper's) or ``"zscore"`` (:func:`vlmsel.method.similarity.softmin_weights`).

    Returns
    -------
    (scores, alpha): scores (n_models, T) (or (n_models, B)) and the weights, shaped like ``divergences``.
    """
    alpha = softmin_weights(divergences, gamma, valid, axis=axis, softmin=softmin)
    if axis in (-1, alpha.ndim - 1):
        return np.einsum("mbs,ms->mb", alpha, u), alpha
    return aggregate(alpha, u), alpha


def dcd_scores(
    profiles: Profiles,
    source_acc: pd.DataFrame,
    target: str,
    options: MethodOptions | None = None,
    **overrides: Any,
) -> pd.Series:
    """Predicted score of every model on an unlabeled target task.

    Parameters
    ----------
    profiles : task profiles of the models on the target and on every source (unlabeled images only).
    source_acc : DataFrame (models x sources) of ground-truth accuracies on the source datasets; it
        must not contain the target. Its index gives the models to score.
    target : the target dataset (a dataset of ``profiles``).
    options : :class:`~vlmsel.method.options.MethodOptions` (default: the method's defaults); single
        options may be given as keywords (``eta=4.0, gamma=0``), which override it.

    Returns
    -------
    Series over models (``source_acc.index``), higher = predicted better; sort it descending (ties by
    name, :func:`vlmsel.method.aggregation.ranking`) for the predicted ranking.
    """
    o = resolve(options, **overrides)
    if target in source_acc.columns:
        raise ValueError(f"source_acc contains the target {target!r}: its ground truth must not be used")
    models, sources = list(source_acc.index), list(source_acc.columns)
    sub = profiles.subset(models, [*sources, target])
    d = dataset_divergences(sub, o)[:, : len(sources), -1:]  # (M, S, 1)
    u = utilities(source_acc.to_numpy(dtype=np.float64), o.utility)
    scores, _ = weighted_scores(d, u, o.gamma, softmin=o.softmin)
    return pd.Series(scores[:, 0], index=pd.Index(models, name="model"), name=target)


class TargetScorer:
    """Scores of the zoo on one target, for any resample of the target's images (vectorised).

    Parameters
    ----------
    sources : :class:`~vlmsel.profiles.pooling.Profiles` of the zoo on the source datasets (n_models, S, L_max).
    source_acc : DataFrame (models x sources) of ground truth; rows and columns are aligned to ``sources``.
    options : :class:`~vlmsel.method.options.MethodOptions` (keyword overrides as :func:`dcd_scores`).

    :meth:`scores` with ``idx = arange(n)[None]`` equals :func:`dcd_scores` on the pooled target.
    """

    def __init__(
        self, sources: Profiles, source_acc: pd.DataFrame, options: MethodOptions | None = None, **overrides: Any
    ):
        self.options = o = resolve(options, **overrides)
        self.models, self.sources = list(sources.models), list(sources.datasets)
        w = block_importance(sources.values, o.eta, o.importance, mask=sources.mask, eps=o.eps)
        self.p_s = [sources.values[m, :, :n] for m, n in enumerate(sources.n_blocks)]
        self.w_s = [w[m, :, :n] for m, n in enumerate(sources.n_blocks)]
        self.acc = source_acc.loc[self.models, self.sources].astype(float)
        self.u = utilities(self.acc.to_numpy(), o.utility)  # (M, S)

    def scores(self, target: Sequence[np.ndarray], idx: np.ndarray) -> dict[str, Any]:
        """Score every model on every resample.

        Parameters
        ----------
        target : per model (in ``self.models`` order) the target's block scalars, array (N, L_m).
        idx : int array (B, k): row indices of the images in each resample.

        Returns
        -------
        dict with ``score`` (M, B), ``alpha`` (M, B, S), ``divergence`` (M, B, S), and per model lists
        ``p`` and ``w`` of target profiles / importances, arrays (B, L_m).
        """
        o = self.options
        idx = np.atleast_2d(np.asarray(idx))
        out: dict[str, Any] = {"divergence": [], "p": [], "w": []}
        for m, c in enumerate(target):
            p = pool_resamples(c, idx, o.pooling)  # (B, L)
            w = block_importance(p, o.eta, o.importance, eps=o.eps)
            d = divergence_between(
                o.divergence,
                w_t=w[:, None, :],
                w_s=self.w_s[m][None],
                p_t=p[:, None, :],
                p_s=self.p_s[m][None],
                eps=o.eps,
            )  # (B, S)
            out["divergence"].append(d)
            out["p"].append(p)
            out["w"].append(w)
        d = np.stack(out["divergence"])  # (M, B, S)
        out["score"], out["alpha"] = weighted_scores(d, self.u, o.gamma, axis=-1, softmin=o.softmin)
        out["divergence"] = d
        return out
