"""The label-free signals a practitioner would try before DCD, on the leave-one-dataset-out harness.

Two families, specified with their equations and costs in ``data/plans/what_to_use.md`` (fixed before
any of them was evaluated) and on the method page (:ref:`method-alternatives`):

- **target only** (:class:`TargetOnlyMethod`): the target's unlabeled images and its class names, no
  source task at all: the confidence of the zero-shot prediction (``msp``), minus its entropy
  (``neg_entropy``) and VEGA's visual-textual graph alignment (``vega``);
- **source-weighted** (:class:`SignalMethod`): DCD's utilities and aggregation, with the task similarity
  measured more cheaply: the cosine of the two tasks' mean image embeddings in the model's own space
  (``emb_cos``), a kernel two-sample distance of the embeddings (``emb_mmd``), the distribution of the
  objective alone (``objective_w1``), and a control that gives every model the same weights, from pixel
  statistics (``pixel_mmd``). Their raw scales are arbitrary, so they use the scale-free softmin
  (:func:`vlmsel.method.similarity.standardise_sources`).

Both read the arrays a profile store records beside the block scalars
(:data:`vlmsel.profiles.store.FEATURE_ARRAYS`), so evaluating them runs no model. The formulas are
:mod:`vlmsel.method.signals`. Taught in the chapter "What should I use?" (:ref:`ch-what-to-use`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from vlmsel.evaluation.dcd import ZSCORE_GAMMA_GRID, DcdMethod
from vlmsel.evaluation.harness import LeaveOneOutTask, Method
from vlmsel.evaluation.options import FIXED_ZSCORE_GAMMA
from vlmsel.method import signals
from vlmsel.method.options import DEFAULT_SOURCE_IMAGES, MethodOptions
from vlmsel.profiles.store import ProfileStore

#: The target-only scores by name, each with its description and the store arrays it reads.
TARGET_ONLY: dict[str, tuple[str, tuple[str, ...]]] = {
    "msp": ("mean maximum softmax probability of the zero-shot prediction (target only)", ("zs_logits",)),
    "neg_entropy": ("minus the mean entropy of the zero-shot prediction (target only)", ("zs_logits",)),
    "vega": ("VEGA: visual-textual graph alignment (target only)", ("embedding", "class_embeddings")),
}
#: The source-weighted signals by name, each with its description.
SIGNALS: dict[str, str] = {
    "emb_cos": "cosine distance of the tasks' mean unit image embeddings, per model",
    "emb_mmd": "unbiased MMD^2 (Gaussian kernel, median bandwidth) of the tasks' image embeddings, per model",
    "objective_w1": "Wasserstein-1 distance of the objective F(x) = ||f(x)||, per model",
    "pixel_mmd": "unbiased MMD^2 of pixel statistics: the same weights for every model (control)",
}


def target_only_score(name: str, arrays: dict[str, np.ndarray]) -> float:
    """One target-only score of one model from its arrays (``zs_logits`` (N, K); ``embedding`` (N, E) and
    ``class_embeddings`` (K, E))."""
    if name == "msp":
        return signals.msp_score(arrays["zs_logits"])
    if name == "neg_entropy":
        return signals.neg_entropy_score(arrays["zs_logits"])
    if name == "vega":
        return signals.vega_score(arrays["embedding"], arrays["class_embeddings"])
    raise ValueError(f"unknown target-only score {name!r}; choose one of {list(TARGET_ONLY)}")


class TargetOnlyMethod(Method):
    """A score computed from the target's images and class names alone (no source task).

    Parameters
    ----------
    store : the :class:`~vlmsel.profiles.store.ProfileStore` whose entries hold the target's zero-shot
        logits and embeddings (every model on every target).
    score : ``"msp"``, ``"neg_entropy"`` or ``"vega"`` (:data:`TARGET_ONLY`).
    source_images : the first N images of each entry (default 25, as every method).
    """

    def __init__(self, store: ProfileStore, score: str, source_images: int | None = DEFAULT_SOURCE_IMAGES) -> None:
        if score not in TARGET_ONLY:
            raise ValueError(f"unknown target-only score {score!r}; choose one of {list(TARGET_ONLY)}")
        if not isinstance(store, ProfileStore):
            raise TypeError(f"method {score!r} needs a ProfileStore, not {type(store).__name__}")
        self.store, self.score, self.source_images = store, score, source_images
        self.name = score
        self.description = TARGET_ONLY[score][0]

    def params(self) -> dict[str, Any]:
        return {"score": self.score, "source_images": self.source_images, "profiles": str(self.store.path)}

    def fit(self, models: Sequence[str], datasets: Sequence[str]) -> None:
        self.models = tuple(models)

    def predict(self, task: LeaveOneOutTask) -> np.ndarray:
        needs = TARGET_ONLY[self.score][1]
        out = []
        for m in task.models:
            arrays = {a: self.store.features(m, task.target, a, self.source_images) for a in needs}
            out.append(target_only_score(self.score, arrays))
        return np.asarray(out, dtype=np.float64)


def signal_sets(
    store: ProfileStore, signal: str, model: str, datasets: Sequence[str], n_images: int | None = DEFAULT_SOURCE_IMAGES
) -> list[np.ndarray]:
    """The per-image array the signal reads (:data:`vlmsel.method.signals.SIGNAL_ARRAYS`) of one model on
    every dataset, the first ``n_images`` rows of each entry."""
    name = signals.SIGNAL_ARRAYS[signal]
    if name == "f_x":
        return [_rows(store.read(model, d)[0]["f_x"], n_images) for d in datasets]
    return [store.features(model, d, name, n_images) for d in datasets]


def signal_divergences(
    store: ProfileStore,
    signal: str,
    models: Sequence[str],
    datasets: Sequence[str],
    n_images: int | None = DEFAULT_SOURCE_IMAGES,
) -> np.ndarray:
    """``D[m, s, t]``, the divergence of the signal between every pair of datasets for every model, array
    (n_models, D, D) (:func:`vlmsel.method.signals.signal_divergence` of :func:`signal_sets`)."""
    if signal not in SIGNALS:
        raise ValueError(f"unknown signal {signal!r}; choose one of {list(SIGNALS)}")
    if signal == "pixel_mmd":  # the images are the same for every model: their statistics too
        d = signals.signal_divergence(signal, signal_sets(store, signal, models[0], datasets, n_images))
        return np.broadcast_to(d, (len(models), *d.shape)).copy()
    return np.stack(
        [signals.signal_divergence(signal, signal_sets(store, signal, m, datasets, n_images)) for m in models]
    )


def _rows(a: np.ndarray, n: int | None) -> np.ndarray:
    return a if n is None else a[: int(n)]


class SignalMethod(DcdMethod):
    """A source-weighted signal: DCD's utilities, softmin and aggregation over another divergence.

    Parameters
    ----------
    store : the :class:`~vlmsel.profiles.store.ProfileStore` with the arrays the signal reads.
    signal : ``"emb_cos"``, ``"emb_mmd"``, ``"objective_w1"`` or ``"pixel_mmd"`` (:data:`SIGNALS`).
    nested : choose ``gamma`` per target on ``gamma_grid`` (default :data:`~vlmsel.evaluation.dcd.ZSCORE_GAMMA_GRID`)
        by the inner leave-one-out over the sources, as :class:`~vlmsel.evaluation.dcd.DcdMethod`; else
        ``gamma`` (default :data:`~vlmsel.evaluation.options.FIXED_ZSCORE_GAMMA`).
    options, overrides : :class:`~vlmsel.method.options.MethodOptions` (``softmin`` defaults to
        ``"zscore"``; ``utility``, ``source_images`` are used; ``eta`` plays no role).
    """

    def __init__(
        self,
        store: ProfileStore,
        signal: str,
        options: MethodOptions | None = None,
        *,
        nested: bool = False,
        gamma_grid: Sequence[float] = ZSCORE_GAMMA_GRID,
        name: str | None = None,
        **overrides: Any,
    ) -> None:
        if signal not in SIGNALS:
            raise ValueError(f"unknown signal {signal!r}; choose one of {list(SIGNALS)}")
        if not isinstance(store, ProfileStore):
            raise TypeError(f"method {signal!r} needs a ProfileStore, not {type(store).__name__}")
        overrides.setdefault("softmin", "zscore")
        if options is None:
            overrides.setdefault("gamma", FIXED_ZSCORE_GAMMA)
        super().__init__(
            store,
            options,
            nested=nested,
            eta_grid=(MethodOptions().eta,),
            gamma_grid=gamma_grid,
            name=name or signal + ("_nested" if nested else ""),
            **overrides,
        )
        self.signal = signal
        #: Whether every model gets the same weights (then the permutation null shuffles all models alike).
        self.model_agnostic = signal == "pixel_mmd"
        self.description = SIGNALS[signal] + (
            ", nested gamma" if nested else f", gamma={self.options.gamma:g} ({self.options.softmin} softmin)"
        )

    def params(self) -> dict[str, Any]:
        out = super().params()
        for key in ("scalar", "pooling", "eta", "importance", "divergence", "eps"):
            out.pop(key, None)
        out.pop("eta_grid", None)
        return {"signal": self.signal, **out}

    def fit_divergences(
        self, models: Sequence[str], datasets: Sequence[str], etas: Sequence[float]
    ) -> dict[float, np.ndarray]:
        assert isinstance(self.source, ProfileStore)
        d = signal_divergences(self.source, self.signal, models, datasets, self.options.source_images)
        return {e: d for e in etas}
