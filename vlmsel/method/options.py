"""Every option of the method, from block scalars to aggregation, as one small dataclass.

:class:`MethodOptions` is passed through every layer that runs the method — :func:`vlmsel.method.scoring.dcd_scores`,
:class:`vlmsel.method.scoring.TargetScorer`, :class:`vlmsel.evaluation.dcd.DcdMethod`, :func:`vlmsel.select` and
the command line — so the defaults live in one place and an unknown value fails once, with its name.
Functions that take ``options`` also take single options as keywords (``dcd_scores(..., gamma=0)``),
which override the dataclass's fields.

This module also holds every option's name list and default (and imports neither scipy nor pandas, so
the command line parses fast). Defaults: the paper states eta = 2, gamma = 5 and eps = 1e-8; the others are this project's choices
(the method page lists who fixed what, :ref:`method-choices`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from vlmsel.conductance.options import SCALARS
from vlmsel.profiles.pooling import POOLINGS, Pooling

#: The sharpness eta of the block importance (stated by the paper).
DEFAULT_ETA = 2.0
#: The inverse temperature gamma of the softmin over sources (stated by the paper).
DEFAULT_GAMMA = 5.0
#: The epsilon of the z-score and of the divergences (stated by the paper).
DEFAULT_EPS = 1e-8
#: Images per source task pooled into a profile (the paper's N = 25).
DEFAULT_SOURCE_IMAGES = 25
Importance = Literal["softmax_z", "power"]
#: How a profile becomes a block-importance distribution (:mod:`vlmsel.method.importance`).
IMPORTANCES: tuple[str, ...] = ("softmax_z", "power")
Divergence = Literal["kl", "coverage", "js", "sym_kl", "cosine"]
#: DCD (``kl``) and its ablations (:mod:`vlmsel.method.divergence`).
DIVERGENCES: tuple[str, ...] = ("kl", "coverage", "js", "sym_kl", "cosine")
#: The divergences that are symmetric (ablations of DCD's asymmetry).
SYMMETRIC_DIVERGENCES: tuple[str, ...] = ("js", "sym_kl", "cosine")
Softmin = Literal["raw", "zscore"]
#: The paper's softmin on the raw divergences, and the scale-free one on divergences standardised over
#: each (model, target)'s sources (:mod:`vlmsel.method.similarity`).
SOFTMINS: tuple[str, ...] = ("raw", "zscore")
Utility = Literal["rank", "zscore_acc"]
#: How a source's ground truth becomes a utility (:mod:`vlmsel.method.aggregation`).
UTILITIES: tuple[str, ...] = ("rank", "zscore_acc")


@dataclass(frozen=True)
class MethodOptions:
    """The method's options (the method page defines each one).

    Attributes
    ----------
    scalar : block scalar pooled into profiles: ``"abs"`` (default), ``"l2"``, ``"signed"``, ``"branch"``
        (:ref:`method-block-scalars`); used where profiles are pooled from a store.
    pooling : ``"mean_of_normalised"`` (default) or ``"normalised_mean"`` (:ref:`method-profile`).
    source_images : pool at most this many images of every source entry of a store (default 25, the
        paper's N; None: all it holds). A store's images are a seeded random sample of each task, so its
        first N are a random sample of N: the mini store holds 100 per task and serves N = 5 ... 100.
    eta : sharpness of the block importance, >= 0 (default 2.0, :ref:`method-importance`).
    importance : ``"softmax_z"`` (default) or ``"power"``.
    divergence : ``"kl"`` (DCD, default), ``"coverage"``, ``"js"``, ``"sym_kl"``, ``"cosine"`` (:ref:`method-dcd`).
    eps : smoothing of the z-score and the logarithms (default 1e-8).
    gamma : inverse temperature of the softmin over sources, >= 0 (default 5.0, :ref:`method-similarity`).
    softmin : ``"raw"`` (the paper's, default) or ``"zscore"`` (scale-free: ``gamma`` per standard deviation
        of the divergences over the sources, :func:`vlmsel.method.similarity.standardise_sources`).
    utility : ``"rank"`` (default) or ``"zscore_acc"`` (:ref:`method-aggregation`).
    """

    scalar: str = "abs"
    pooling: Pooling = "mean_of_normalised"
    source_images: int | None = DEFAULT_SOURCE_IMAGES
    eta: float = DEFAULT_ETA
    importance: Importance = "softmax_z"
    divergence: Divergence = "kl"
    eps: float = DEFAULT_EPS
    gamma: float = DEFAULT_GAMMA
    softmin: Softmin = "raw"
    utility: Utility = "rank"

    def __post_init__(self) -> None:
        _choice("scalar", self.scalar, SCALARS)
        _choice("pooling", self.pooling, POOLINGS)
        _choice("importance", self.importance, IMPORTANCES)
        _choice("divergence", self.divergence, DIVERGENCES)
        _choice("softmin", self.softmin, SOFTMINS)
        _choice("utility", self.utility, UTILITIES)
        n = self.source_images
        if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
            raise ValueError(f"option source_images must be an integer >= 1 or None, got {n!r}")
        if n is not None:
            object.__setattr__(self, "source_images", int(n))
        for name in ("eta", "gamma", "eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"option {name} must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))

    def replace(self, **changes: Any) -> "MethodOptions":
        """A copy with some options changed (validated like a new one)."""
        return resolve(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The options as a plain dict (for manifests and JSON)."""
        return dataclasses.asdict(self)


#: The option names, in the order of the data flow.
OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(MethodOptions))


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")


def resolve(options: MethodOptions | None = None, **overrides: Any) -> MethodOptions:
    """``options`` (default: the defaults) with ``overrides`` applied; None values are ignored.

    Raises TypeError naming an override that is not an option.
    """
    base = options if options is not None else MethodOptions()
    if not isinstance(base, MethodOptions):
        raise TypeError(f"options must be MethodOptions, not {type(base).__name__}")
    unknown = sorted(set(overrides) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"unknown method option(s) {unknown}; the options are {list(OPTION_NAMES)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(base, **changes) if changes else base
