"""The figures of a :class:`~vlmsel.recommend.result.SelectionResult`, in the book's style.

Each function draws on a given matplotlib axes (or a new figure) and returns it; the result's
``plot_*`` methods call them, and :mod:`vlmsel.recommend.report` embeds them in the HTML report
(which applies :func:`vlmsel.plotting.use_style` first). The bar and marker colours are fixed here
(seaborn's "deep" blue, orange and green); shapes and hatching carry the same information.

Taught in the chapter "Selecting a model for your own images" (:ref:`ch-select`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

if TYPE_CHECKING:
    from vlmsel.recommend.result import SelectionResult


def plot_ranking(result: "SelectionResult", top: int | None = 15, ax=None):
    """Horizontal bars of the predicted score (95% bootstrap interval as whiskers), best on top,
    each labelled with its top-1 probability; Pareto-optimal models hatched. Returns the axes."""
    t = result.ranking if top is None else result.ranking.head(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, max(2.2, 0.36 * len(t) + 1.2)), layout="constrained")
    y = np.arange(len(t))[::-1]
    s = t["score"].to_numpy()
    err = np.vstack([s - t["score_lo"].to_numpy(), t["score_hi"].to_numpy() - s]).clip(min=0)
    bars = ax.barh(y, s, xerr=err, color="#4c72b0", ecolor="#333333", capsize=2, height=0.65)
    for bar, par in zip(bars, t["pareto"]):
        if par:
            bar.set_hatch("//")
            bar.set_facecolor("#dd8452")
    for yi, p in zip(y, t["p_top1"]):  # in a column right of the axes: the score axis ends at its maximum, 1
        ax.text(
            1.01, yi, f"P(top-1) {p:.0%}", va="center", fontsize=8, transform=ax.get_yaxis_transform(), clip_on=False
        )
    ax.set_yticks(y, t["model"], fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("predicted score (weighted source rank utility, 1 = best)")
    ax.set_title("Predicted ranking (hatched = Pareto-optimal in score vs GFLOPs)")
    return ax


def plot_explanation(result: "SelectionResult", model: str | None = None, k: int = 5):
    """Why ``model`` (default: the top one) scores as it does. Left: the ``k`` sources with the
    largest alpha, labelled with the model's ground truth there. Right: the target's
    block-importance distribution against the best-covering source's. Returns the figure."""
    model = model or result.top1
    ex = result.explain(model, k)
    bl = result.blocks(model)
    # one panel above the other at the book's page width (7.5 in), so that the text keeps its size
    top_h = max(1.8, 0.42 * len(ex) + 1.0)
    fig, (a1, a2) = plt.subplots(
        2, 1, figsize=(7.5, top_h + 3.4), gridspec_kw={"height_ratios": [top_h, 3.4]}, layout="constrained"
    )
    y = np.arange(len(ex))[::-1]
    a1.barh(y, ex["alpha"], color="#55a868", height=0.6)
    for yi, r in zip(y, ex.itertuples()):
        a1.text(r.alpha + 0.01, yi, f"acc {r.accuracy:.2f}, rank {r.rank:g}/{r.n_models}", va="center", fontsize=8)
    a1.set_yticks(y, ex["dataset"], fontsize=8)
    a1.set_xlim(0, min(1.0, float(ex["alpha"].max())) * 1.9 + 0.05)
    a1.set_xlabel("weight alpha of the source (softmin of DCD)")
    if result.uniform_weights(model):  # equal bars carry no information: say so instead
        a1.set_title(
            f"No source stands out: {result.effective_sources(model):.1f} effective sources of "
            f"{result.alpha.shape[1]}\n(nearly equal weights: the score is essentially the average rank)",
            fontsize=9,
        )
    else:
        a1.set_title("Sources that resemble your images")
    x = np.arange(len(bl))
    best = result.best_source(model)
    a2.plot(x, bl["target_w"], marker="o", linestyle="-", label="your images (target)")
    a2.plot(x, bl["source_w"], marker="s", linestyle="--", label=f"best source: {best}")
    a2.set_xticks(x, [_short_block(b) for b in bl.index], rotation=70, fontsize=7)
    a2.set_xlabel("block of the image tower (input -> output)")
    a2.set_ylabel("block importance w")
    a2.set_title("Where the model's conductance concentrates")
    a2.legend(fontsize=8)
    fig.suptitle(model, fontsize=11, fontweight="bold")
    return fig


def plot_pareto(result: "SelectionResult", ax=None, label: int = 8):
    """Predicted score against image-tower GFLOPs per image (log scale): the Pareto front (no model
    is better *and* cheaper) drawn as a step line with filled markers, the recommended model
    circled; the ``label`` best models and all Pareto-optimal ones are named. Returns the axes."""
    t = result.ranking.dropna(subset=["image_gflops"])
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
    par = t[t["pareto"]].sort_values("image_gflops")
    rest = t[~t["pareto"]]
    ax.scatter(
        rest["image_gflops"], rest["score"], marker="o", facecolors="none", edgecolors="#4c72b0", label="other models"
    )
    ax.scatter(par["image_gflops"], par["score"], marker="D", color="#dd8452", zorder=3, label="Pareto-optimal")
    if len(par):
        ax.step(par["image_gflops"], par["score"], where="post", color="#dd8452", linestyle="--", linewidth=1)
    top = t[t["model"] == result.top1]
    ax.scatter(
        top["image_gflops"],
        top["score"],
        s=220,
        facecolors="none",
        edgecolors="black",
        linewidths=1.5,
        label="recommended",
        zorder=4,
    )
    named = set(t.head(label)["model"]) | set(par["model"])
    # labels alternate above and below their points in score order, so neighbours do not overlap
    shown = t[t["model"].isin(named)].sort_values("score")
    for k, r in enumerate(shown.itertuples()):
        ax.annotate(
            _short_model(r.model),
            (r.image_gflops, r.score),
            xytext=(5, 5 if k % 2 else -11),
            textcoords="offset points",
            fontsize=8,
        )
    ax.margins(x=0.25, y=0.12)
    if len(t) and t["image_gflops"].max() / max(t["image_gflops"].min(), 1e-12) > 20:
        ax.set_xscale("log")
    max_g = result.info.get("settings", {}).get("max_gflops")
    if max_g is not None:
        ax.axvline(max_g, color="grey", linestyle=":", label=f"max_gflops = {max_g:g}")
    ax.set_xlabel("image-tower GFLOPs per image")
    ax.set_ylabel("predicted score")
    ax.set_title("Cost-aware view: predicted score vs compute")
    ax.legend(fontsize=8, loc="best", markerscale=0.6)
    missing = len(result.ranking) - len(t)
    if missing:
        ax.text(0.01, 0.01, f"{missing} model(s) with unknown GFLOPs not shown", transform=ax.transAxes, fontsize=7)
    return ax


def plot_stability(result: "SelectionResult", ax=None):
    """The bootstrap curve: the chosen model's top-1 probability against the number of images, the
    fitted probit line extended to where it reaches the threshold, and the threshold. Returns the axes."""

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
    ax.plot(result.curve["n_images"], result.curve["p_top1"], marker="o", linestyle="-", label="bootstrap")
    n = len(result.images)
    if np.isfinite(result.estimate.b):
        hi: float = n * 2
        if result.estimate.n_needed is not None:
            hi = max(hi, min(result.estimate.n_needed * 1.2, 10 * n))
        k = np.linspace(2, hi, 100)
        ax.plot(
            k,
            norm.cdf(result.estimate.a + result.estimate.b * np.sqrt(k)),
            linestyle="--",
            label="fit: probit linear in sqrt(images)",
        )
    ax.axhline(result.stable_at, color="grey", linestyle=":", label=f"stable at {result.stable_at:.0%}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("number of images")
    ax.set_ylabel(f"P('{_short_model(result.top1)}' is top-1)")
    ax.set_title("Stability of the top-1 choice")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def _short_block(name: str) -> str:
    parts = str(name).split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else str(name)


def _short_model(name: str, n: int = 28) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"
