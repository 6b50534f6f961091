"""Every selection method by its table name: the baselines, DCD, DCD's ablations and the cheaper signals.

:func:`make_method` is what ``vlmsel evaluate --method ...`` and the chapters call; :data:`vlmsel.evaluation.options.METHODS` lists
the names. Method options (eta, gamma, ...) are a :class:`vlmsel.method.options.MethodOptions` or keywords.
"""

from __future__ import annotations

from typing import Any

from vlmsel.evaluation.baselines import AvgRank, Inb, ModelGptLite, OracleSim, RandomRanking
from vlmsel.evaluation.dcd import DcdMethod
from vlmsel.evaluation.harness import Method
from vlmsel.evaluation.options import (
    BASELINES,
    DCD_METHODS,
    FIXED_ZSCORE_GAMMA,
    METHODS,
    SIGNAL_METHODS,
    TARGET_ONLY_METHODS,
    ZSCORE_METHODS,
)
from vlmsel.evaluation.signals import SignalMethod, TargetOnlyMethod

__all__ = ["BASELINES", "DCD_METHODS", "METHODS", "SIGNAL_METHODS", "TARGET_ONLY_METHODS", "make_method"]


def make_method(name: str, *, profiles: Any = None, **options: Any) -> Method:
    """Build a method by its table name.

    Parameters
    ----------
    name : one of :data:`vlmsel.evaluation.options.METHODS`: ``inb, avg_rank, random, oracle_sim, modelgpt_lite[_nested], dcd,
        dcd_coverage, dcd_js, dcd_sym_kl, dcd_cosine`` (each DCD name also with ``_nested``); ``dcd_z[_nested]``
        (the scale-free softmin, fixed gamma 2 per sd); the target-only ``msp, neg_entropy, vega``; the
        source-weighted ``emb_cos, emb_mmd, objective_w1, pixel_mmd`` (each also ``_nested``).
    profiles : :class:`~vlmsel.profiles.pooling.Profiles` or :class:`~vlmsel.profiles.store.ProfileStore`;
        required by every method but the baselines (the target-only and signal methods need a store with
        the feature arrays, :data:`vlmsel.profiles.store.FEATURE_ARRAYS`).
    options : keyword arguments of the method's class (e.g. ``eta=2.0, gamma=5.0`` or
        ``options=MethodOptions(...)`` for DCD, ``n_draws`` for random, ``features`` for modelgpt_lite).
    """
    if name == "inb":
        return Inb(**options)
    if name == "avg_rank":
        return AvgRank(**options)
    if name == "random":
        return RandomRanking(**options)
    if name == "oracle_sim":
        return OracleSim(**options)
    if name in ("modelgpt_lite", "modelgpt_lite_nested"):
        return ModelGptLite(nested=name.endswith("_nested") or options.pop("nested", False), **options)
    base = name[: -len("_nested")] if name.endswith("_nested") else name
    nested = name.endswith("_nested") or options.pop("nested", False)
    if base in TARGET_ONLY_METHODS or base in SIGNAL_METHODS or base in ZSCORE_METHODS or base in DCD_METHODS:
        if profiles is None:
            raise ValueError(f"method {name!r} needs a profile store (or, for the dcd methods, in-memory Profiles)")
    if name in TARGET_ONLY_METHODS:
        return TargetOnlyMethod(profiles, name, **options)
    if base in SIGNAL_METHODS:
        return SignalMethod(profiles, base, nested=nested, **options)
    if base in ZSCORE_METHODS:
        if "options" not in options:
            options.setdefault("gamma", FIXED_ZSCORE_GAMMA)
        return DcdMethod(
            profiles, divergence=DCD_METHODS[base[: -len("_z")]], softmin="zscore", nested=nested, **options
        )
    if base in DCD_METHODS:
        return DcdMethod(profiles, divergence=DCD_METHODS[base], nested=nested, **options)
    raise ValueError(f"unknown method {name!r}; choose one of {list(METHODS)}")
