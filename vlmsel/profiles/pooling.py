"""Task profiles: how a model spreads its conductance over its blocks on a task (:ref:`method-profile`).

For one model ``m`` and one task ``t`` the conductance engine gives a block scalar ``c_l(x) >= 0`` for
every image ``x`` of the task and every block ``l`` (an array of shape ``(N, L_m)``). The task profile is
a probability distribution over the model's blocks:

- ``pooling="mean_of_normalised"`` (default): normalise each image over blocks,
  ``q_l(x) = c_l(x) / sum_k c_k(x)``, then average over images, ``p(l) = mean_x q_l(x)``;
- ``pooling="normalised_mean"``: average the raw scalars over images, then normalise once
  (images with large conductance weigh more).

Models have different numbers of blocks, so a zoo's profiles are held in :class:`Profiles`: one
zero-padded array ``values`` of shape ``(n_models, n_datasets, L_max)`` plus the block count of every
model. Zero padding is exact for everything downstream: a padded block has zero mass in ``p`` and
(see :mod:`vlmsel.method.importance`) zero weight in ``w``, so it adds exactly nothing to any divergence.

Taught in the chapter :ref:`ch-profiles`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal, Mapping, Sequence

import numpy as np

Pooling = Literal["mean_of_normalised", "normalised_mean"]
POOLINGS: tuple[str, ...] = ("mean_of_normalised", "normalised_mean")

#: How far a profile's sum may be from 1 before :class:`Profiles` refuses it.
SUM_TOLERANCE = 1e-6


def _where(model: str | None, dataset: str | None) -> str:
    parts = [f"model {model!r}" if model else "", f"dataset {dataset!r}" if dataset else ""]
    text = " on ".join(p for p in parts if p)
    return f" ({text})" if text else ""


def check_block_scalars(c: np.ndarray, *, model: str | None = None, dataset: str | None = None) -> np.ndarray:
    """Validate per-image block scalars and return them as a float64 array.

    Parameters
    ----------
    c : array (N, L): block scalar of every image (rows) and block (columns), non-negative
        (the ``"abs"`` or ``"l2"`` scalar of :mod:`vlmsel.conductance`).
    model, dataset : names used in error messages only.

    Raises
    ------
    ValueError : if ``c`` is not 2-D, is empty, holds NaN/inf or negative values, or an image has
        zero conductance on every block (its normalisation is undefined).
    """
    where = _where(model, dataset)
    arr = np.asarray(c, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"block scalars must have shape (N images, L blocks), got shape {arr.shape}{where}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"block scalars are empty, shape {arr.shape}{where}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"block scalars hold NaN or inf (first at image {bad[0]}, block {bad[1]}){where}")
    if np.any(arr < 0):
        bad = np.argwhere(arr < 0)[0]
        raise ValueError(
            f"block scalars must be non-negative, found {arr[tuple(bad)]:.3g} at image {bad[0]}, block {bad[1]}"
            f"{where}; a profile needs the 'abs' or 'l2' scalar (take |.| of 'signed'/'branch' first)"
        )
    return arr


def normalise_per_image(c: np.ndarray, *, model: str | None = None, dataset: str | None = None) -> np.ndarray:
    """Normalise every image's block scalars to sum to one: ``q_l(x) = c_l(x) / sum_k c_k(x)``.

    Parameters
    ----------
    c : array (N, L), non-negative (see :func:`check_block_scalars`).

    Returns
    -------
    q : array (N, L), each row sums to 1.
    """
    arr = check_block_scalars(c, model=model, dataset=dataset)
    totals = arr.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        bad = int(np.flatnonzero(totals[:, 0] <= 0)[0])
        raise ValueError(f"image {bad} has zero conductance on every block{_where(model, dataset)}")
    return arr / totals


def pool_resamples(
    c: np.ndarray,
    idx: np.ndarray,
    pooling: Pooling = "mean_of_normalised",
    *,
    model: str | None = None,
    dataset: str | None = None,
) -> np.ndarray:
    """Task profiles of many resamples of one task's images at once.

    Parameters
    ----------
    c : array (N, L): non-negative block scalar per image and block.
    idx : int array (B, k): the rows (images) of each resample; ``arange(N)[None]`` is the task itself.
    pooling : ``"mean_of_normalised"`` (default, :ref:`method-profile`) or ``"normalised_mean"``.
    model, dataset : names used in error messages only.

    Returns
    -------
    p : array (B, L), each row non-negative and summing to 1.
    """
    idx = np.atleast_2d(np.asarray(idx))
    if pooling == "mean_of_normalised":
        return normalise_per_image(c, model=model, dataset=dataset)[idx].mean(axis=1)
    if pooling == "normalised_mean":
        mean = check_block_scalars(c, model=model, dataset=dataset)[idx].mean(axis=1)
        total = mean.sum(axis=-1, keepdims=True)
        if np.any(total <= 0):
            raise ValueError(f"zero conductance on every block of every image{_where(model, dataset)}")
        return mean / total
    raise ValueError(f"unknown pooling {pooling!r}; choose one of {POOLINGS}")


def task_profile(
    c: np.ndarray,
    pooling: Pooling = "mean_of_normalised",
    *,
    model: str | None = None,
    dataset: str | None = None,
) -> np.ndarray:
    """Task profile ``p_{m,t}``: a distribution over blocks pooled from per-image block scalars.

    Parameters
    ----------
    c : array (N, L): non-negative block scalar per image and block.
    pooling : ``"mean_of_normalised"`` (default, :ref:`method-profile`) or ``"normalised_mean"``.
    model, dataset : names used in error messages only.

    Returns
    -------
    p : array (L,), non-negative, sums to 1.
    """
    n = np.asarray(c).shape[0] if np.ndim(c) == 2 else 0
    if n == 0:
        check_block_scalars(c, model=model, dataset=dataset)  # raises with the shape in the message
    return pool_resamples(c, np.arange(n)[None], pooling, model=model, dataset=dataset)[0]


def block_mask(n_blocks: np.ndarray, max_blocks: int) -> np.ndarray:
    """Boolean mask (n_models, max_blocks): True where block ``l < n_blocks[m]`` exists."""
    n_blocks = np.asarray(n_blocks)
    return np.arange(max_blocks)[None, :] < n_blocks[:, None]


@dataclass(frozen=True)
class Profiles:
    """Task profiles of a model zoo on a set of datasets, zero-padded to a common block count.

    Attributes
    ----------
    values : array (n_models, n_datasets, L_max): ``values[m, d, :n_blocks[m]]`` is the profile of
        model ``m`` on dataset ``d`` (non-negative, sums to 1); entries past ``n_blocks[m]`` are 0.
    n_blocks : int array (n_models,): number of blocks ``L_m`` of every model.
    models : model full names ``"<arch> <pretrained>"``, one per row of ``values``.
    datasets : dataset names, one per column of ``values``.

    Build one with :meth:`from_dict` (``{model: array (n_datasets, L_m)}``), :meth:`from_padded`, or
    :meth:`vlmsel.profiles.store.ProfileStore.task_profiles`. Construction validates everything: shapes,
    NaN/inf, negative mass, sums that are not 1, and non-zero padding raise a ``ValueError`` naming the
    model and dataset.
    """

    values: np.ndarray
    n_blocks: np.ndarray
    models: tuple[str, ...]
    datasets: tuple[str, ...]

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        n_blocks = np.asarray(self.n_blocks)
        models, datasets = tuple(self.models), tuple(self.datasets)
        if values.ndim != 3:
            raise ValueError(f"profiles must have shape (n_models, n_datasets, L_max), got shape {values.shape}")
        n_m, n_d, n_l = values.shape
        if (n_m, n_d) != (len(models), len(datasets)):
            raise ValueError(
                f"profiles have shape {values.shape} but {len(models)} model names and {len(datasets)} dataset names"
            )
        if len(set(models)) != len(models) or len(set(datasets)) != len(datasets):
            raise ValueError("model and dataset names of profiles must be unique")
        if n_blocks.shape != (n_m,) or not np.issubdtype(n_blocks.dtype, np.integer):
            raise ValueError(
                f"n_blocks must be an integer array of shape ({n_m},), got {n_blocks.dtype} {n_blocks.shape}"
            )
        if np.any(n_blocks < 1) or np.any(n_blocks > n_l):
            bad = int(np.flatnonzero((n_blocks < 1) | (n_blocks > n_l))[0])
            raise ValueError(f"model {models[bad]!r} has n_blocks={n_blocks[bad]}, outside 1..{n_l}")
        mask = block_mask(n_blocks, n_l)[:, None, :]
        finite = np.isfinite(values)
        if not finite.all():
            m, d, l = np.argwhere(~finite)[0]
            raise ValueError(f"profile holds NaN or inf at block {l}{_where(models[m], datasets[d])}")
        if np.any(values < 0):
            m, d, l = np.argwhere(values < 0)[0]
            raise ValueError(
                f"profile has negative mass {values[m, d, l]:.3g} at block {l}{_where(models[m], datasets[d])}"
            )
        if np.any(values[~np.broadcast_to(mask, values.shape)] != 0):
            m, d, l = np.argwhere((values != 0) & ~mask)[0]
            raise ValueError(
                f"profile has mass at padded block {l} >= n_blocks={n_blocks[m]}{_where(models[m], datasets[d])}"
            )
        sums = values.sum(axis=2)
        off = np.abs(sums - 1.0) > SUM_TOLERANCE
        if off.any():
            m, d = np.argwhere(off)[0]
            raise ValueError(
                f"profile sums to {sums[m, d]:.6g}, not 1{_where(models[m], datasets[d])}; "
                "pool per-image block scalars with vlmsel.profiles.pooling.task_profile"
            )
        values.setflags(write=False)
        n_blocks = n_blocks.astype(np.int64)
        n_blocks.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "n_blocks", n_blocks)
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "datasets", datasets)

    # ------------------------------------------------------------------------------------ builders
    @classmethod
    def from_dict(cls, profiles: Mapping[str, np.ndarray], datasets: Sequence[str]) -> "Profiles":
        """Build from ``{model: array (n_datasets, L_m)}``; row ``i`` of each array is ``datasets[i]``."""
        datasets = tuple(datasets)
        if not profiles:
            raise ValueError("no profiles given")
        arrays = {}
        for model, arr in profiles.items():
            a = np.asarray(arr, dtype=np.float64)
            if a.ndim != 2 or a.shape[0] != len(datasets):
                raise ValueError(
                    f"profiles of model {model!r} must have shape (n_datasets={len(datasets)}, L_m), got {a.shape}"
                )
            arrays[model] = a
        n_blocks = np.array([a.shape[1] for a in arrays.values()], dtype=np.int64)
        values = np.zeros((len(arrays), len(datasets), int(n_blocks.max())))
        for i, a in enumerate(arrays.values()):
            values[i, :, : a.shape[1]] = a
        return cls(values, n_blocks, tuple(arrays), datasets)

    @classmethod
    def from_padded(
        cls, values: np.ndarray, n_blocks: Iterable[int], models: Sequence[str], datasets: Sequence[str]
    ) -> "Profiles":
        """Build from an already padded array (n_models, n_datasets, L_max) and block counts."""
        return cls(
            np.asarray(values, dtype=np.float64),
            np.asarray(list(n_blocks), dtype=np.int64),
            tuple(models),
            tuple(datasets),
        )

    @classmethod
    def from_block_scalars(
        cls,
        scalars: Mapping[str, Mapping[str, np.ndarray]],
        datasets: Sequence[str],
        pooling: Pooling = "mean_of_normalised",
    ) -> "Profiles":
        """Pool ``{model: {dataset: array (N, L_m)}}`` per-image block scalars into profiles."""
        out = {}
        for model, per_dataset in scalars.items():
            missing = [d for d in datasets if d not in per_dataset]
            if missing:
                raise KeyError(f"block scalars of model {model!r} lack datasets {missing}")
            rows = [task_profile(per_dataset[d], pooling, model=model, dataset=d) for d in datasets]
            if len({r.shape for r in rows}) != 1:
                shapes = {d: r.shape[0] for d, r in zip(datasets, rows)}
                raise ValueError(f"model {model!r} has different block counts across datasets: {shapes}")
            out[model] = np.stack(rows)
        return cls.from_dict(out, datasets)

    # ------------------------------------------------------------------------------------ views
    @property
    def mask(self) -> np.ndarray:
        """Boolean array (n_models, 1, L_max), True on real blocks, broadcastable against ``values``."""
        return block_mask(self.n_blocks, self.values.shape[2])[:, None, :]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(n_models, n_datasets, L_max)."""
        return self.values.shape

    def profile(self, model: str, dataset: str) -> np.ndarray:
        """The profile (L_m,) of one model on one dataset, without padding."""
        m, d = self._index(self.models, model, "model"), self._index(self.datasets, dataset, "dataset")
        return self.values[m, d, : self.n_blocks[m]].copy()

    def subset(self, models: Sequence[str] | None = None, datasets: Sequence[str] | None = None) -> "Profiles":
        """Profiles restricted to (and reordered as) the given models and datasets."""
        models = tuple(self.models if models is None else models)
        datasets = tuple(self.datasets if datasets is None else datasets)
        mi = [self._index(self.models, m, "model") for m in models]
        di = [self._index(self.datasets, d, "dataset") for d in datasets]
        n_blocks = self.n_blocks[mi]
        values = self.values[np.ix_(mi, di)][:, :, : int(n_blocks.max())]
        return Profiles(values, n_blocks, models, datasets)

    @staticmethod
    def _index(names: tuple[str, ...], name: str, kind: str) -> int:
        try:
            return names.index(name)
        except ValueError:
            raise KeyError(f"no profile for {kind} {name!r}; profiles cover {len(names)} {kind}s") from None
