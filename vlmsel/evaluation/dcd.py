"""The DCD selection method on the leave-one-dataset-out harness, with fixed or nested hyperparameters.

:class:`DcdMethod` adapts :mod:`vlmsel.method.scoring` to :func:`vlmsel.evaluation.harness.evaluate`: it
computes every dataset pair's divergences once per ``eta`` (label-free), and for each target weights
the sources and aggregates their utilities with :func:`vlmsel.method.scoring.weighted_scores`. With
``nested=True`` it chooses (eta, gamma) per target on a grid by an inner leave-one-out over the target's
sources only (the protocol, :ref:`method-protocol`). Other divergences (``divergence="js"``, ...) are the
ablations of the chapter "Ablations" (:ref:`ch-ablations`).

Taught in the chapter "Ranking models by aggregating source ranks" (:ref:`ch-ranking`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from vlmsel.evaluation.harness import LeaveOneOutTask, Method
from vlmsel.evaluation.metrics import K_DEFAULT, SELECTION_METRICS, name_ranks, selection_score
from vlmsel.method.aggregation import utilities
from vlmsel.method.options import MethodOptions, resolve
from vlmsel.method.scoring import dataset_divergences, weighted_scores
from vlmsel.profiles.pooling import Profiles
from vlmsel.profiles.store import ProfileStore

#: Grids of the nested selection (``gamma = 0`` is the average-rank baseline, so nesting can fall back to it).
DEFAULT_ETA_GRID: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
DEFAULT_GAMMA_GRID: tuple[float, ...] = (0.0, 1.0, 2.5, 5.0, 10.0, 20.0)
#: The gamma grid of the scale-free softmin (``softmin="zscore"``: gamma per standard deviation of the
#: divergences over the sources; ``data/plans/what_to_use.md``, section 4b).
ZSCORE_GAMMA_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def choose_hyperparameters(
    divergences: dict[float, np.ndarray],
    u: np.ndarray,
    source_acc: np.ndarray,
    gamma_grid: Sequence[float],
    *,
    softmin: str = "raw",
    ranks: np.ndarray,
    metric: str = "ndcg5",
    k: int = K_DEFAULT,
) -> tuple[float, float, float]:
    """The nested selection of (eta, gamma) for one target, from its sources alone (:ref:`method-protocol`).

    Each source becomes an inner target, predicted from the other sources with every grid point; the point
    with the best mean ``metric`` over the inner targets wins (ties: the first in grid order, eta outer).

    Parameters
    ----------
    divergences : ``{eta: D}`` with ``D`` (n_models, S, S) the divergences among the target's S sources, in
        grid order (the target's own row and column left out).
    u : (n_models, S) the sources' utilities. source_acc : (n_models, S) their ground truth.
    gamma_grid : the gamma values. softmin : ``"raw"`` or ``"zscore"``.
    ranks : :func:`vlmsel.evaluation.metrics.name_ranks` of the models (tie-breaking).

    Returns
    -------
    (eta, gamma, inner score)
    """
    valid = ~np.eye(u.shape[1], dtype=bool)  # an inner target is never its own source
    best = (next(iter(divergences)), float(gamma_grid[0]), -np.inf)
    for eta, d in divergences.items():
        for gamma in gamma_grid:
            scores = weighted_scores(d, u, gamma, valid, softmin=softmin)[0]  # type: ignore[arg-type]
            value = selection_score(scores, source_acc, ranks, metric, k)
            if value > best[2]:
                best = (eta, float(gamma), value)
    return best


class DcdMethod(Method):
    """The DCD selection method for :func:`vlmsel.evaluation.harness.evaluate`.

    Parameters
    ----------
    profiles : :class:`~vlmsel.profiles.pooling.Profiles` (in memory) or a
        :class:`~vlmsel.profiles.store.ProfileStore` (pooled with the options' ``scalar`` and ``pooling``
        when the benchmark is known). They must cover every model and dataset of the benchmark.
    options : :class:`~vlmsel.method.options.MethodOptions`; single options may be given as keywords
        (``eta=4.0``, ``divergence="js"``), which override it. ``eta`` and ``gamma`` are used unless ``nested``.
    nested : choose (eta, gamma) per target on ``eta_grid x gamma_grid`` by an inner leave-one-out over
        the target's sources, maximising ``selection_metric`` (``"ndcg5"``, ``"r5+tau5"`` or ``"tau_b"``)
        averaged over the inner targets. Grid ties go to the first combination in grid order.
    name : table name (default ``"dcd"``, ``"dcd_<divergence>"`` for ablations, ``"_nested"`` appended).
    """

    def __init__(
        self,
        profiles: Profiles | ProfileStore,
        options: MethodOptions | None = None,
        *,
        nested: bool = False,
        eta_grid: Sequence[float] = DEFAULT_ETA_GRID,
        gamma_grid: Sequence[float] | None = None,
        selection_metric: str = "ndcg5",
        k: int = K_DEFAULT,
        name: str | None = None,
        **overrides: Any,
    ) -> None:
        self.options = o = resolve(options, **overrides)
        if selection_metric not in SELECTION_METRICS:
            raise ValueError(f"unknown selection metric {selection_metric!r}; choose one of {SELECTION_METRICS}")
        if not isinstance(profiles, (Profiles, ProfileStore)):
            raise TypeError(
                f"profiles must be Profiles or a ProfileStore, not {type(profiles).__name__} "
                "(a dict {model: array (n_datasets, L_m)} becomes Profiles via Profiles.from_dict(d, datasets))"
            )
        self.source = profiles
        self.nested = nested
        self.eta_grid = tuple(float(e) for e in eta_grid)
        if gamma_grid is None:
            gamma_grid = ZSCORE_GAMMA_GRID if o.softmin == "zscore" else DEFAULT_GAMMA_GRID
        self.gamma_grid = tuple(float(g) for g in gamma_grid)
        if nested and (not self.eta_grid or not self.gamma_grid):
            raise ValueError("nested selection needs non-empty eta and gamma grids")
        self.selection_metric, self.k = selection_metric, k
        base = ("dcd" if o.divergence == "kl" else f"dcd_{o.divergence}") + ("_z" if o.softmin == "zscore" else "")
        self.name = name or (base + ("_nested" if nested else ""))
        kind = "DCD (KL)" if o.divergence == "kl" else f"DCD ablation: divergence={o.divergence}"
        kind += ", scale-free softmin" if o.softmin == "zscore" else ""
        self.description = kind + (
            " with nested eta/gamma selection" if nested else f", eta={o.eta:g}, gamma={o.gamma:g}"
        )
        self._divergences: dict[float, np.ndarray] = {}
        self._selected: dict[str, dict[str, Any]] = {}

    @property
    def eta(self) -> float:
        return self.options.eta

    @property
    def gamma(self) -> float:
        return self.options.gamma

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.options.to_dict(), "nested": self.nested}
        if isinstance(self.source, ProfileStore):
            out["profiles"] = str(self.source.path)
        else:
            del out["scalar"], out["pooling"], out["source_images"]  # in-memory profiles are pooled already
        if self.nested:
            out.update(
                eta_grid=list(self.eta_grid), gamma_grid=list(self.gamma_grid), selection_metric=self.selection_metric
            )
        return out

    def fit(self, models: Sequence[str], datasets: Sequence[str]) -> None:
        self.models, self.datasets = tuple(models), tuple(datasets)
        self._ranks = name_ranks(self.models)
        etas = self.eta_grid if self.nested else (self.options.eta,)
        self._divergences = self.fit_divergences(self.models, self.datasets, etas)
        self._selected = {}

    def fit_divergences(
        self, models: Sequence[str], datasets: Sequence[str], etas: Sequence[float]
    ) -> dict[float, np.ndarray]:
        """``{eta: D}`` with ``D[m, s, t]`` the divergence of every dataset pair (label-free), array
        (n_models, D, D): from the task profiles here; another source-weighted method
        (:class:`vlmsel.evaluation.signals.SignalMethod`) overrides it."""
        o = self.options
        if isinstance(self.source, ProfileStore):
            profiles = self.source.task_profiles(
                models, datasets, scalar=o.scalar, pooling=o.pooling, n_images=o.source_images
            )
        else:
            profiles = self.source.subset(models, datasets)
        if o.divergence == "cosine":  # cosine compares profiles p: eta plays no role
            d = dataset_divergences(profiles, o, eta=etas[0])
            return {e: d for e in etas}
        return {e: dataset_divergences(profiles, o, eta=e) for e in etas}

    def source_divergences(self, eta: float | None = None) -> np.ndarray:
        """The fitted divergences ``D[m, s, t]`` of every dataset pair, array (n_models, D, D), at ``eta``
        (default: the method's); :meth:`fit` computes them."""
        eta = self.options.eta if eta is None else float(eta)
        if eta not in self._divergences:
            raise ValueError(
                f"{self.name}: no divergences at eta={eta:g} (fit() first; fitted: {sorted(self._divergences)})"
            )
        return self._divergences[eta]

    def _scores(
        self, d_full: np.ndarray, src: list[int], tgt: list[int], u: np.ndarray, gamma: float, exclude_self: bool
    ) -> np.ndarray:
        d = d_full[:, src][:, :, tgt]  # (M, S, T)
        valid = np.asarray(src)[:, None] != np.asarray(tgt)[None, :] if exclude_self else None
        return weighted_scores(d, u, gamma, valid, softmin=self.options.softmin)[0]

    def predict(self, task: LeaveOneOutTask) -> np.ndarray:
        if tuple(task.models) != self.models:
            raise ValueError("task models differ from the models the method was fitted on")
        src = [self.datasets.index(s) for s in task.sources]
        t = self.datasets.index(task.target)
        u = utilities(task.source_acc, self.options.utility)
        eta, gamma = self.options.eta, self.options.gamma
        if self.nested:
            eta, gamma, best = self._select(src, u, task.source_acc)
            self._selected[task.target] = {"eta": eta, "gamma": gamma, "inner_score": best}
        return self._scores(self._divergences[eta], src, [t], u, gamma, exclude_self=False)[:, 0]

    def _select(self, src: list[int], u: np.ndarray, source_acc: np.ndarray) -> tuple[float, float, float]:
        """Inner leave-one-out over the sources (:func:`choose_hyperparameters`)."""
        return choose_hyperparameters(
            {e: d[:, src][:, :, src] for e, d in self._divergences.items() if e in self.eta_grid},
            u,
            source_acc,
            self.gamma_grid,
            softmin=self.options.softmin,
            ranks=self._ranks,
            metric=self.selection_metric,
            k=self.k,
        )

    def selection(self, target: str) -> dict[str, Any]:
        return dict(self._selected.get(target, {}))
