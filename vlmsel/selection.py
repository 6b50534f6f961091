"""The selection method end to end: task profiles -> importance -> DCD -> softmin -> rank aggregation.

For a target task with no labels, every model of the zoo is scored by how it ranks on the source tasks
whose profiles, *for that model*, look like the target's (SPEC sections 4-7):

1. ``w = block_importance(p, eta)`` for every (model, dataset) profile (:mod:`vlmsel.importance`);
2. ``D[m, s, t] = DCD_m(s -> t)`` (:mod:`vlmsel.divergence`);
3. ``alpha[m, s, t] = softmin_s(gamma * D[m, s, t])`` over the sources (:mod:`vlmsel.similarity`);
4. ``score[m, t] = sum_s alpha[m, s, t] * u_m(s)`` with ``u`` from the sources' ground truth
   (:mod:`vlmsel.aggregation`); the ranking sorts scores descending, ties by model name.

:func:`dcd_scores` does this for one target from a table of source accuracies; :class:`DcdMethod`
wraps it for the leave-one-dataset-out harness (:mod:`vlmsel.evaluation`), with fixed ``eta, gamma``
or with both chosen per target on a grid by an inner leave-one-out over the sources only
(``nested=True``). Other divergences (``divergence="js"``, ...) are the ablations of chapter 7.

Taught in chapter 6, "Ranking models by aggregating source ranks".
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from vlmsel.aggregation import Utility, aggregate, utilities
from vlmsel.divergence import DEFAULT_EPS, DIVERGENCES, Divergence, pairwise_divergence
from vlmsel.evaluation import LeaveOneOutTask, Method
from vlmsel.importance import DEFAULT_ETA, Importance, block_importance
from vlmsel.metrics import K_DEFAULT, SELECTION_METRICS, name_ranks, selection_score
from vlmsel.profile_store import ProfileStore
from vlmsel.profiles import Pooling, Profiles
from vlmsel.similarity import DEFAULT_GAMMA, softmin_weights

#: Grids of the nested selection (``gamma = 0`` is the average-rank baseline, so nesting can fall back to it).
DEFAULT_ETA_GRID: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
DEFAULT_GAMMA_GRID: tuple[float, ...] = (0.0, 1.0, 2.5, 5.0, 10.0, 20.0)


def dataset_divergences(
    profiles: Profiles,
    eta: float = DEFAULT_ETA,
    importance: Importance = "softmax_z",
    divergence: Divergence = "kl",
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """Divergence of every (source, target) dataset pair for every model: array (n_models, D, D).

    ``D[m, s, t] = divergence_m(s -> t)`` over ``profiles.datasets``; label-free (profiles only).
    """
    w = block_importance(profiles.values, eta, importance, mask=profiles.mask, eps=eps)
    return pairwise_divergence(divergence, w=w, p=profiles.values, eps=eps)


def dcd_scores(
    profiles: Profiles,
    source_acc: pd.DataFrame,
    target: str,
    *,
    eta: float = DEFAULT_ETA,
    gamma: float = DEFAULT_GAMMA,
    importance: Importance = "softmax_z",
    divergence: Divergence = "kl",
    utility: Utility = "rank",
    eps: float = DEFAULT_EPS,
) -> pd.Series:
    """Predicted score of every model on an unlabeled target task.

    Parameters
    ----------
    profiles : task profiles of the models on the target and on every source (unlabeled images only).
    source_acc : DataFrame (models x sources) of ground-truth accuracies on the source datasets; it
        must not contain the target. Its index gives the models to score.
    target : the target dataset (a dataset of ``profiles``).
    eta, gamma, importance, divergence, utility, eps : SPEC defaults (2.0, 5.0, softmax_z, kl, rank, 1e-8).

    Returns
    -------
    Series over models (``source_acc.index``), higher = predicted better; sort it descending (ties by
    name, :func:`vlmsel.aggregation.ranking`) for the predicted ranking.
    """
    if target in source_acc.columns:
        raise ValueError(f"source_acc contains the target {target!r}: its ground truth must not be used")
    models, sources = list(source_acc.index), list(source_acc.columns)
    sub = profiles.subset(models, [*sources, target])
    d = dataset_divergences(sub, eta, importance, divergence, eps)[:, : len(sources), -1]  # (M, S)
    alpha = softmin_weights(d[:, :, None], gamma)  # (M, S, 1)
    u = utilities(source_acc.to_numpy(dtype=np.float64), utility)
    return pd.Series(aggregate(alpha, u)[:, 0], index=pd.Index(models, name="model"), name=target)


class DcdMethod(Method):
    """The DCD selection method for :func:`vlmsel.evaluation.evaluate`.

    Parameters
    ----------
    profiles : :class:`~vlmsel.profiles.Profiles` (in memory) or a :class:`~vlmsel.profile_store.ProfileStore`
        (pooled with ``scalar`` and ``pooling`` when the benchmark is known). They must cover every model
        and dataset of the benchmark.
    eta, gamma : fixed hyperparameters (SPEC: 2.0 and 5.0), used unless ``nested``.
    importance, divergence, utility, eps : see :mod:`vlmsel.importance`, :mod:`vlmsel.divergence`,
        :mod:`vlmsel.aggregation`.
    nested : choose (eta, gamma) per target on ``eta_grid x gamma_grid`` by an inner leave-one-out over
        the target's sources, maximising ``selection_metric`` (``"ndcg5"``, ``"r5+tau5"`` or ``"tau_b"``)
        averaged over the inner targets. Grid ties go to the first combination in grid order.
    name : table name (default ``"dcd"``, ``"dcd_<divergence>"`` for ablations, ``"_nested"`` appended).
    """

    def __init__(
        self,
        profiles: Profiles | ProfileStore,
        *,
        eta: float = DEFAULT_ETA,
        gamma: float = DEFAULT_GAMMA,
        importance: Importance = "softmax_z",
        divergence: Divergence = "kl",
        utility: Utility = "rank",
        eps: float = DEFAULT_EPS,
        scalar: str = "abs",
        pooling: Pooling = "mean_of_normalised",
        nested: bool = False,
        eta_grid: Sequence[float] = DEFAULT_ETA_GRID,
        gamma_grid: Sequence[float] = DEFAULT_GAMMA_GRID,
        selection_metric: str = "ndcg5",
        k: int = K_DEFAULT,
        name: str | None = None,
    ) -> None:
        if divergence not in DIVERGENCES:
            raise ValueError(f"unknown divergence {divergence!r}; choose one of {DIVERGENCES}")
        if selection_metric not in SELECTION_METRICS:
            raise ValueError(f"unknown selection metric {selection_metric!r}; choose one of {SELECTION_METRICS}")
        if not isinstance(profiles, (Profiles, ProfileStore)):
            raise TypeError(f"profiles must be Profiles or a ProfileStore, not {type(profiles).__name__} "
                            "(a dict {model: array (n_datasets, L_m)} becomes Profiles via Profiles.from_dict(d, datasets))")
        self.source = profiles
        self.eta, self.gamma = float(eta), float(gamma)
        self.importance, self.divergence, self.utility, self.eps = importance, divergence, utility, eps
        self.scalar, self.pooling = scalar, pooling
        self.nested = nested
        self.eta_grid = tuple(float(e) for e in eta_grid)
        self.gamma_grid = tuple(float(g) for g in gamma_grid)
        if nested and (not self.eta_grid or not self.gamma_grid):
            raise ValueError("nested selection needs non-empty eta and gamma grids")
        self.selection_metric, self.k = selection_metric, k
        base = "dcd" if divergence == "kl" else f"dcd_{divergence}"
        self.name = name or (base + ("_nested" if nested else ""))
        kind = "DCD (KL)" if divergence == "kl" else f"DCD ablation: divergence={divergence}"
        self.description = kind + (" with nested eta/gamma selection" if nested else f", eta={eta:g}, gamma={gamma:g}")
        self._divergences: dict[float, np.ndarray] = {}
        self._selected: dict[str, dict[str, Any]] = {}

    def params(self) -> dict[str, Any]:
        out = {"eta": self.eta, "gamma": self.gamma, "importance": self.importance, "divergence": self.divergence,
               "utility": self.utility, "eps": self.eps, "nested": self.nested}
        if isinstance(self.source, ProfileStore):
            out.update(profiles=str(self.source.path), scalar=self.scalar, pooling=self.pooling)
        if self.nested:
            out.update(eta_grid=list(self.eta_grid), gamma_grid=list(self.gamma_grid),
                       selection_metric=self.selection_metric)
        return out

    def fit(self, models: Sequence[str], datasets: Sequence[str]) -> None:
        if isinstance(self.source, ProfileStore):
            profiles = self.source.task_profiles(models, datasets, scalar=self.scalar, pooling=self.pooling)
        else:
            profiles = self.source.subset(models, datasets)
        self.models, self.datasets = tuple(models), tuple(datasets)
        self._ranks = name_ranks(self.models)
        etas = self.eta_grid if self.nested else (self.eta,)
        if self.divergence == "cosine":  # cosine compares profiles p: eta plays no role
            d = dataset_divergences(profiles, etas[0], self.importance, "cosine", self.eps)
            self._divergences = {e: d for e in etas}
        else:
            self._divergences = {e: dataset_divergences(profiles, e, self.importance, self.divergence, self.eps)
                                 for e in etas}
        self._selected = {}

    def _scores(self, d_full: np.ndarray, src: list[int], tgt: list[int], u: np.ndarray, gamma: float,
                exclude_self: bool) -> np.ndarray:
        d = d_full[:, src][:, :, tgt]  # (M, S, T)
        valid = None
        if exclude_self:
            valid = np.asarray(src)[:, None] != np.asarray(tgt)[None, :]
        return aggregate(softmin_weights(d, gamma, valid), u)

    def predict(self, task: LeaveOneOutTask) -> np.ndarray:
        if tuple(task.models) != self.models:
            raise ValueError("task models differ from the models the method was fitted on")
        src = [self.datasets.index(s) for s in task.sources]
        t = self.datasets.index(task.target)
        u = utilities(task.source_acc, self.utility)
        eta, gamma = self.eta, self.gamma
        if self.nested:
            eta, gamma, best = self._select(src, u, task.source_acc)
            self._selected[task.target] = {"eta": eta, "gamma": gamma, "inner_score": best}
        return self._scores(self._divergences[eta], src, [t], u, gamma, exclude_self=False)[:, 0]

    def _select(self, src: list[int], u: np.ndarray, source_acc: np.ndarray) -> tuple[float, float, float]:
        """Inner leave-one-out over the sources: each source is an inner target, the others its sources."""
        best = (self.eta_grid[0], self.gamma_grid[0], -np.inf)
        for eta in self.eta_grid:
            d = self._divergences[eta]
            for gamma in self.gamma_grid:
                scores = self._scores(d, src, src, u, gamma, exclude_self=True)  # (M, S inner targets)
                value = selection_score(scores, source_acc, self._ranks, self.selection_metric, self.k)
                if value > best[2]:
                    best = (eta, gamma, value)
        return best

    def selection(self, target: str) -> dict[str, Any]:
        return dict(self._selected.get(target, {}))
