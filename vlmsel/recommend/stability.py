"""How sure is the choice: a bootstrap over your images, the images that would help, and the cost view.

**Stability.** The target profile of a model is the mean over images of per-image normalised block
scalars, so resampling the *images* needs no new conductance: a bootstrap resample draws ``n`` rows
(with replacement) of the stored ``(n, L)`` scalars, the same rows for every model, and re-scores the
zoo (:class:`vlmsel.method.scoring.TargetScorer`). Over ``n_boot`` resamples this gives each model's
probability of being top-1 and top-5 (:func:`top_k_probabilities`; the top-1 probabilities sum to 1)
and a 95% interval of its score. The top-1 choice is called *unstable* when its probability is below
:data:`vlmsel.recommend.options.STABLE_AT` (0.6).

**How many more images would help** (:func:`images_for_stability`). Resamples of ``k`` images for
``k = n/4, n/2, 3n/4, n`` (:func:`curve_sizes`) give the curve ``P_k`` = probability that the chosen
model stays top-1 with ``k`` images. If the score gap between the chosen model and its rivals is
``delta`` and a score's noise shrinks like ``sigma / sqrt(k)`` (a mean over ``k`` images), then
``P_k ~ Phi(delta sqrt(k) / sigma)``: the probit of ``P_k`` is linear in ``sqrt(k)``. A least-squares
line through ``(sqrt(k), Phi^-1(P_k))`` is solved for the ``k*`` where ``P = 0.6``. It is a rough guide:
it assumes new images look like the ones you gave, and it is not reported when the line does not rise
or when ``k*`` is more than 10 times ``n``.

**Cost-aware view.** :func:`pareto_optimal` flags the models that no other model beats in predicted
score *and* image-tower GFLOPs.

Taught in the chapter "Selecting a model for your own images" (:ref:`ch-select`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.stats import norm

from vlmsel.method.aggregation import ranking_orders
from vlmsel.recommend.options import STABLE_AT


def top_k_probabilities(scores: np.ndarray, models: Sequence[str], k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Share of columns (resamples) in which each model is top-1 and in the top ``k``: two arrays (M,).

    The top-1 shares sum to 1 and the top-k shares to ``min(k, M)``.
    """
    order = ranking_orders(scores, models)
    m, b = scores.shape
    top1 = np.bincount(order[0], minlength=m) / b
    topk = np.bincount(order[: min(k, m)].ravel(), minlength=m) / b
    return top1, topk


def pareto_optimal(score: Sequence[float], cost: Sequence[float]) -> np.ndarray:
    """Bool array: True where no other model has a score >= and a cost <= with one of them strict.

    Models with an unknown (NaN) cost are never Pareto-optimal and do not dominate others.
    """
    s, c = np.asarray(score, dtype=np.float64), np.asarray(cost, dtype=np.float64)
    known = ~np.isnan(c)
    out = np.zeros(len(s), dtype=bool)
    for i in np.flatnonzero(known):
        others = known & (np.arange(len(s)) != i)
        dominated = others & (s >= s[i]) & (c <= c[i]) & ((s > s[i]) | (c < c[i]))
        out[i] = not dominated.any()
    return out


@dataclass(frozen=True)
class StabilityEstimate:
    """Fit of ``Phi^-1(P_k) = a + b sqrt(k)`` to the bootstrap curve and the images it asks for.

    Attributes
    ----------
    a, b : intercept and slope of the probit line (NaN when it could not be fitted).
    n_needed : images at which the fitted ``P`` reaches the threshold (``k*``), or None when the line
        does not rise (``b <= 0``) or fewer than 2 distinct sizes were measured.
    """

    a: float
    b: float
    n_needed: float | None


def images_for_stability(
    sizes: Sequence[int], p_top1: Sequence[float], threshold: float = STABLE_AT, n_boot: int = 200
) -> StabilityEstimate:
    """Images needed for the chosen model to be top-1 with probability ``threshold`` (module docstring).

    Parameters
    ----------
    sizes : resample sizes ``k`` (e.g. n/4, n/2, 3n/4, n).
    p_top1 : the chosen model's top-1 probability at each size.
    threshold : target probability (default :data:`vlmsel.recommend.options.STABLE_AT`).
    n_boot : resamples behind each probability; probabilities are clipped to
        ``[0.5 / n_boot, 1 - 0.5 / n_boot]`` before the probit.
    """
    k = np.asarray(sizes, dtype=np.float64)
    p = np.clip(np.asarray(p_top1, dtype=np.float64), 0.5 / n_boot, 1 - 0.5 / n_boot)
    if len(np.unique(k)) < 2:
        return StabilityEstimate(math.nan, math.nan, None)
    b, a = np.polyfit(np.sqrt(k), norm.ppf(p), 1)
    if not b > 1e-9:
        return StabilityEstimate(float(a), float(b), None)
    root = (norm.ppf(threshold) - a) / b
    return StabilityEstimate(float(a), float(b), float(max(root, 0.0) ** 2))


def curve_sizes(n: int) -> list[int]:
    """Resample sizes of the stability curve: n/4, n/2, 3n/4, n (rounded, at least 2, distinct)."""
    return sorted({max(2, int(round(f * n))) for f in (0.25, 0.5, 0.75)} | {n})
