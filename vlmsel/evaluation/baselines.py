"""Baselines for model selection, on the same leave-one-dataset-out harness as DCD (:ref:`method-baselines`).

- :class:`Inb` (``inb``): rank every target by ImageNet zero-shot accuracy (LOVM's "ImageNet Benchmark").
  On ImageNet itself there is no other ImageNet to rank by: LOVM ranks imagenet1k by its own column,
  which uses the target's ground truth. ``on_reference_target="own_column"`` (default) does the same so
  that LOVM's published numbers are reproduced, and the result row is flagged ``uses_target_gt``;
  ``"error"`` refuses (evaluate with ``exclude_targets=("imagenet1k",)`` then).
- :class:`AvgRank` (``avg_rank``): uniform weights over sources, the ``gamma = 0`` limit of DCD.
- :class:`RandomRanking` (``random``): the expected metrics of a uniformly random ranking, exact
  (:func:`vlmsel.evaluation.metrics.expected_random_metrics`) or averaged over many seeded draws.
- :class:`OracleSim` (``oracle_sim``): an **upper bound, not a method**: source weights from the
  target's *true* Kendall tau-b with each source (it reads the target's ground truth).
- :class:`ModelGptLite` (``modelgpt_lite``): linear regression of accuracy on LOVM's seven text-derived
  modelGPT features, trained on the sources' (model, dataset) rows and applied to the target's rows;
  the feature set is fixed in advance (all seven, as LOVM's ``ALL_FEATURES``) or chosen per target among
  all 127 non-empty subsets by an inner leave-one-out over the sources (``nested=True``). The
  ``IN-score`` feature is ImageNet accuracy, so on the imagenet1k target it is (nearly) the target's
  ground truth: those rows are flagged ``uses_target_gt`` as for INB.
- The divergence ablations of DCD (``dcd_coverage``, ``dcd_js``, ``dcd_sym_kl``, ``dcd_cosine``) are
  :class:`vlmsel.evaluation.dcd.DcdMethod` with another ``divergence``; :func:`vlmsel.evaluation.methods.make_method`
  builds any method by name.

INB, average rank, random and the oracle are introduced in the chapter :ref:`ch-benchmarks`; the chapter :ref:`ch-ranking` compares every method.
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np
import pandas as pd

from vlmsel.data.lovm import MODELGPT_FEATURES, modelgpt_features
from vlmsel.evaluation.harness import LeaveOneOutTask, Method
from vlmsel.evaluation.metrics import (
    K_DEFAULT,
    SELECTION_METRICS,
    expected_random_metrics,
    kendall_tau_b,
    name_ranks,
    ranking_metrics,
    selection_score,
)
from vlmsel.method.aggregation import Utility, utilities
from vlmsel.method.scoring import weighted_scores


class Inb(Method):
    """ImageNet baseline: the predicted score of a model is its accuracy on the reference dataset.

    Parameters
    ----------
    reference : the reference dataset; it must be in the benchmark. Default: the benchmark's
        ``reference_dataset`` (``imagenet1k`` for LOVM and open_clip, ``broad`` for the mini world),
        or ``imagenet1k`` when the benchmark is a bare table.
    on_reference_target : ``"own_column"`` (default, LOVM's convention: rank the reference dataset by its
        own ground truth, flagged ``uses_target_gt``) or ``"error"``.
    """

    name = "inb"

    def __init__(self, reference: str | None = None, on_reference_target: str = "own_column") -> None:
        if on_reference_target not in ("own_column", "error"):
            raise ValueError(f"on_reference_target must be 'own_column' or 'error', not {on_reference_target!r}")
        self._fixed_reference = reference
        self.policy = on_reference_target
        self._use_reference(reference or "imagenet1k")

    def _use_reference(self, reference: str) -> None:
        self.reference = reference
        self.description = f"rank by {reference} accuracy"

    def set_reference_dataset(self, name: str | None) -> None:
        if self._fixed_reference is None:
            self._use_reference(name or "imagenet1k")

    def params(self) -> dict[str, Any]:
        return {"reference": self.reference, "on_reference_target": self.policy}

    def fit(self, models: Sequence[str], datasets: Sequence[str]) -> None:
        if self.reference not in datasets:
            raise ValueError(f"INB ranks by {self.reference!r}, which is not a dataset of this benchmark")

    def uses_target_ground_truth(self, target: str) -> bool:
        return target == self.reference and self.policy == "own_column"

    def predict(self, task: LeaveOneOutTask) -> np.ndarray:
        if task.target != self.reference:
            return np.array(task.source_acc[:, task.sources.index(self.reference)])
        if task.target_acc is None:
            raise ValueError(
                f"INB cannot rank the reference dataset {self.reference!r} without its own ground truth; "
                f"evaluate with exclude_targets=({self.reference!r},)"
            )
        return np.array(task.target_acc)


class AvgRank(Method):
    """Average-rank baseline: every source weighs the same (DCD with ``gamma = 0``)."""

    name = "avg_rank"
    description = "uniform weights over sources (gamma = 0)"

    def __init__(self, utility: Utility = "rank") -> None:
        self.utility = utility

    def params(self) -> dict[str, Any]:
        return {"utility": self.utility}

    def predict(self, task: LeaveOneOutTask) -> np.ndarray:
        u = utilities(task.source_acc, self.utility)
        return weighted_scores(np.zeros((*u.shape, 1)), u, gamma=0.0)[0][:, 0]


class RandomRanking(Method):
    """Expected metrics of a uniformly random ranking.

    Parameters
    ----------
    n_draws : None (default) for the exact expectation; else the mean over this many seeded random
        rankings (each draw scores models with independent uniform numbers).
    seed : seed of the draws.
    """

    name = "random"
    expected_value = True

    def __init__(self, n_draws: int | None = None, seed: int = 0) -> None:
        if n_draws is not None and n_draws < 1:
            raise ValueError(f"n_draws must be >= 1, got {n_draws}")
        self.n_draws, self.seed = n_draws, seed
        self.description = "expected value, exact" if n_draws is None else f"mean of {n_draws} random rankings"

    def params(self) -> dict[str, Any]:
        return {"n_draws": self.n_draws, "seed": self.seed}

    def expected_metrics(self, true: np.ndarray, models: Sequence[str], k: int = K_DEFAULT) -> dict[str, float]:
        if self.n_draws is None:
            return expected_random_metrics(true, k)
        rng = np.random.default_rng(self.seed)
        draws = [ranking_metrics(rng.random(len(true)), true, models, k) for _ in range(self.n_draws)]
        return pd.DataFrame(draws).mean(skipna=True).to_dict()


class OracleSim(Method):
    """Oracle upper bound: source weights from the target's true similarity to each source.

    ``alpha(S | T) = softmax_S(gamma * tau_b(acc_S, acc_T))`` (the same for every model) and
    ``score_m = sum_S alpha(S | T) u_m(S)``. It reads the target's ground truth: an upper bound for
    similarity-weighted aggregation, never a competitor.
    """

    name = "oracle_sim"
    description = "ORACLE upper bound (uses the target's ground truth)"

    def __init__(self, gamma: float = 10.0, utility: Utility = "rank") -> None:
        if not np.isfinite(gamma) or gamma < 0:
            raise ValueError(f"gamma must be a finite number >= 0, got {gamma}")
        self.gamma, self.utility = float(gamma), utility

    def params(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "utility": self.utility, "oracle": True}

    def uses_target_ground_truth(self, target: str) -> bool:
        return True

    def predict(self, task: LeaveOneOutTask) -> np.ndarray:
        if task.target_acc is None:
            raise ValueError("oracle_sim needs the target's ground truth")
        tau = np.array([kendall_tau_b(task.source_acc[:, j], task.target_acc) for j in range(len(task.sources))])
        tau = np.nan_to_num(tau, nan=0.0)
        u = utilities(task.source_acc, self.utility)
        return weighted_scores(np.broadcast_to(-tau[None, :, None], (*u.shape, 1)), u, self.gamma)[0][:, 0]


class ModelGptLite(Method):
    """Linear regression on LOVM's text-derived modelGPT features.

    Parameters
    ----------
    features : DataFrame with columns ``model, dataset`` and feature columns (default:
        :func:`vlmsel.data.lovm.modelgpt_features`, 35 LOVM models x 23 datasets). It must cover every
        (model, dataset) of the benchmark.
    feature_set : the features used when not nested (default: all seven, fixed in advance).
    nested : choose the feature subset per target among all non-empty subsets of ``feature_set`` by an
        inner leave-one-out over the sources, maximising ``selection_metric``.
    reference : the dataset whose ground truth ``IN-score`` equals (``uses_target_gt`` there).
    """

    def __init__(
        self,
        features: pd.DataFrame | None = None,
        *,
        feature_set: Sequence[str] = MODELGPT_FEATURES,
        nested: bool = False,
        selection_metric: str = "ndcg5",
        k: int = K_DEFAULT,
        reference: str = "imagenet1k",
        name: str | None = None,
    ) -> None:
        if selection_metric not in SELECTION_METRICS:
            raise ValueError(f"unknown selection metric {selection_metric!r}; choose one of {SELECTION_METRICS}")
        self._features_arg = features
        self.feature_set = tuple(feature_set)
        if not self.feature_set:
            raise ValueError("feature_set is empty")
        self.nested, self.selection_metric, self.k, self.reference = nested, selection_metric, k, reference
        self.name = name or ("modelgpt_lite_nested" if nested else "modelgpt_lite")
        self.description = "linear regression on text features, " + (
            "subset chosen by nested leave-one-out" if nested else f"features {list(self.feature_set)}"
        )
        self._selected: dict[str, dict[str, Any]] = {}

    def params(self) -> dict[str, Any]:
        out = {"feature_set": list(self.feature_set), "nested": self.nested}
        if self.nested:
            out["selection_metric"] = self.selection_metric
        return out

    def uses_target_ground_truth(self, target: str) -> bool:
        return target == self.reference and "IN-score" in self.feature_set

    def fit(self, models: Sequence[str], datasets: Sequence[str]) -> None:
        table = self._features_arg
        if table is None:
            table = modelgpt_features()
        missing_cols = [c for c in ("model", "dataset", *self.feature_set) if c not in table.columns]
        if missing_cols:
            raise ValueError(f"modelGPT feature table lacks columns {missing_cols}")
        indexed = table.set_index(["model", "dataset"])[list(self.feature_set)]
        if indexed.index.has_duplicates:
            raise ValueError("modelGPT feature table has duplicate (model, dataset) rows")
        want = pd.MultiIndex.from_product([list(models), list(datasets)], names=["model", "dataset"])
        absent = want.difference(indexed.index)
        if len(absent):
            lacking_models = sorted({m for m, _ in absent})
            raise ValueError(
                f"modelGPT features are missing for {len(absent)} (model, dataset) pairs "
                f"({len(lacking_models)} models, e.g. {lacking_models[:3]}); "
                "modelgpt_lite runs only on benchmarks of LOVM's 35 models and 23 datasets"
            )
        x = indexed.loc[want].to_numpy(dtype=np.float64).reshape(len(models), len(datasets), -1)
        if not np.all(np.isfinite(x)):
            raise ValueError("modelGPT features hold NaN or inf")
        # design matrices with an intercept column: (n_datasets, n_models, 1 + n_features)
        self._design = np.concatenate([np.ones((len(datasets), len(models), 1)), x.transpose(1, 0, 2)], axis=2)
        self.models, self.datasets = tuple(models), tuple(datasets)
        self._ranks = name_ranks(self.models)
        self._subsets = [
            tuple(c)
            for r in range(1, len(self.feature_set) + 1)
            for c in itertools.combinations(range(len(self.feature_set)), r)
        ]
        self._selected = {}

    def _fit_predict(self, src: list[int], y: np.ndarray, target: int, cols: list[int]) -> np.ndarray:
        a = self._design[src][:, :, cols]  # (S, M, k): rows are (source, model) pairs
        gram = np.einsum("smi,smj->ij", a, a)
        rhs = np.einsum("smi,ms->i", a, y)
        beta = _least_squares(gram[None], rhs[None])[0]
        return self._design[target][:, cols] @ beta

    def predict(self, task: LeaveOneOutTask) -> np.ndarray:
        if tuple(task.models) != self.models:
            raise ValueError("task models differ from the models the method was fitted on")
        src = [self.datasets.index(s) for s in task.sources]
        t = self.datasets.index(task.target)
        y = task.source_acc  # (M, S)
        subset = tuple(range(len(self.feature_set)))
        if self.nested:
            subset, best = self._select(src, y)
            self._selected[task.target] = {
                "features": "+".join(self.feature_set[i] for i in subset),
                "inner_score": best,
            }
        return self._fit_predict(src, y, t, [0, *(1 + i for i in subset)])

    def _select(self, src: list[int], y: np.ndarray) -> tuple[tuple[int, ...], float]:
        a = self._design[src]  # (S, M, F+1)
        gram = np.einsum("smi,smj->sij", a, a)  # per source
        rhs = np.einsum("smi,ms->si", a, y)
        gram_loo = gram.sum(axis=0)[None] - gram  # training Gram without inner target j, (S, F+1, F+1)
        rhs_loo = rhs.sum(axis=0)[None] - rhs
        best: tuple[tuple[int, ...], float] = (self._subsets[0], -np.inf)
        for subset in self._subsets:
            cols = [0, *(1 + i for i in subset)]
            beta = _least_squares(gram_loo[:, cols][:, :, cols], rhs_loo[:, cols])
            scores = np.einsum("smc,sc->ms", a[:, :, cols], beta)  # (M, S inner targets)
            value = selection_score(scores, y, self._ranks, self.selection_metric, self.k)
            if value > best[1]:
                best = (subset, value)
        return best

    def selection(self, target: str) -> dict[str, Any]:
        return dict(self._selected.get(target, {}))


def _least_squares(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Ordinary least squares from the normal equations, batched: (B, k, k), (B, k) -> (B, k).

    The Gram matrices are small (k <= 8), so this is far cheaper than factorising the tall design
    matrix; a diagonal (Jacobi) scaling keeps them well conditioned. Singular systems fall back to the
    minimum-norm least-squares solution.
    """
    scale = 1.0 / np.sqrt(np.maximum(np.einsum("bii->bi", gram), 1e-300))
    g = gram * scale[:, :, None] * scale[:, None, :]
    b = rhs * scale
    try:
        z = np.linalg.solve(g, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        z = np.stack([np.linalg.lstsq(g[i], b[i], rcond=None)[0] for i in range(len(g))])
    return z * scale
