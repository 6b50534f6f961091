"""What :func:`vlmsel.select` returns: the ranking, why each model ranks where it does, and how sure it is.

:class:`SelectionResult` holds the ranking, per-model explanations (the sources with the largest
weights alpha and the model's ground truth on them; the target's block-importance distribution against
the best-covering source's), the stability numbers (:mod:`vlmsel.recommend.stability`) and the figures
(:mod:`vlmsel.recommend.figures`); :meth:`SelectionResult.to_json` writes it for machines and
:mod:`vlmsel.recommend.report` as one HTML page.

Taught in the chapter "Selecting a model for your own images" (:ref:`ch-select`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from vlmsel.files import atomic_write
from vlmsel.recommend import figures
from vlmsel.recommend.options import STABLE_AT
from vlmsel.recommend.stability import StabilityEstimate

#: Source weights count as uniform when the effective number of sources is at least this share of them.
UNIFORM_SHARE = 0.9

RESULT_FORMAT = "vlmsel-selection"
RESULT_VERSION = 2
#: What the ranking of a result means, in one line per selection method.
METHOD_TEXT: dict[str, str] = {
    "dcd": "the paper's DCD: the zoo's ranks on the sources, weighted by how well each source's block "
    "conductance covers your images' (eta 2, gamma 5)",
    "dcd_nested": "DCD with eta and gamma chosen on the sources",
    "dcd_z": "DCD with the scale-free softmin (gamma per standard deviation of the divergences)",
    "dcd_z_nested": "DCD with the scale-free softmin, eta and gamma chosen on the sources",
    "emb_cos": "the zoo's ranks on the sources, weighted by how close your images' mean embedding is to each "
    "source's, in each model's own space",
    "emb_mmd": "the zoo's ranks on the sources, weighted by a kernel two-sample distance of the image "
    "embeddings, in each model's own space",
    "objective_w1": "the zoo's ranks on the sources, weighted by how alike the distributions of the embedding norm are",
    "pixel_mmd": "the zoo's ranks on the sources, weighted by pixel statistics (the same weights for every model)",
    "msp": "the mean confidence of each model's zero-shot prediction on your images (your class names)",
    "neg_entropy": "minus the mean entropy of each model's zero-shot prediction on your images (your class names)",
    "vega": "VEGA: how well each model's image clusters align with its text embeddings of your class names",
    "avg_rank": "the zoo's average rank over the sources (your images play no part)",
    "inb": "the zoo's accuracy on the broad reference dataset (your images play no part)",
}


def method_text(method: str) -> str:
    """What a ranking made with ``method`` means, in one line."""
    base = method.removesuffix("_nested")
    text = METHOD_TEXT.get(method) or METHOD_TEXT.get(base, method)
    return text + (", gamma chosen on the sources" if method.endswith("_nested") and method not in METHOD_TEXT else "")


def _finite(x: Any) -> Any:
    if isinstance(x, (float, np.floating)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclass
class SelectionResult:
    """What :func:`vlmsel.select` found (see the module docstring).

    Attributes
    ----------
    ranking : DataFrame, one row per candidate model, best first: ``rank, model, score`` (predicted,
        higher = better), ``score_lo, score_hi`` (95% bootstrap interval), ``p_top1, p_top5``
        (bootstrap probabilities), ``family, params_M, gflops`` (image + text, open_clip's table),
        ``image_gflops`` (image tower per image: the cost axis), ``pareto`` (Pareto-optimal in score vs
        image GFLOPs).
    alpha, divergence : DataFrames (models x sources): the weights ``alpha_m(S | target)`` and the
        divergences ``DCD_m(S -> target)`` of the full image set.
    source_acc : DataFrame (models x sources): the ground truth the scores aggregate.
    source_importance, source_profiles : per model, DataFrame (sources x blocks) of ``w_S`` / ``p_S``.
    target_importance, target_profile : per model, Series over blocks of ``w_T`` / ``p_T``.
    curve : DataFrame ``n_images, p_top1`` (the chosen model's top-1 probability per resample size).
    estimate : :class:`StabilityEstimate` of the curve.
    images : ids of the images used; image_sha256 : their sha256; skipped : ``(file, reason)``.
    thumbnails : small RGB copies of the images used (for reports).
    excluded : ``{model: reason}`` for zoo models that were not ranked.
    info : zoo, benchmark, profile store, target store, settings, computed/reused models, versions.
    notes : caveats a reader must know (few images, dropped sources, ...).
    method : the method that made the ranking (:data:`vlmsel.recommend.options.SELECT_METHODS`); ``alpha``,
        ``divergence`` and the importances are always the paper's DCD's (they explain it).
    comparison : one row per method ranked side by side (the method used, the paper's DCD, the scale-free DCD,
        the best cheap signal): ``role, top5, top5_overlap`` and ``kendall_tau`` with the method used,
        ``cost_G`` (image-tower forward passes per image and model), ``seconds``, the evidence's
        ``evidence_ndcg5`` with its interval, ``params``.
    evidence : one sentence: what the project's study found and why this method ranks.
    """

    ranking: pd.DataFrame
    alpha: pd.DataFrame
    divergence: pd.DataFrame
    source_acc: pd.DataFrame
    source_importance: dict[str, pd.DataFrame]
    source_profiles: dict[str, pd.DataFrame]
    target_importance: dict[str, pd.Series]
    target_profile: dict[str, pd.Series]
    curve: pd.DataFrame
    estimate: StabilityEstimate
    images: list[str]
    image_sha256: list[str]
    skipped: list[tuple[str, str]]
    thumbnails: list[Image.Image] = field(default_factory=list, repr=False)
    excluded: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stable_at: float = STABLE_AT
    method: str = "dcd"
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    evidence: str = ""

    # -------------------------------------------------------------------------------- numbers
    @property
    def models(self) -> list[str]:
        """Ranked models, best first."""
        return list(self.ranking["model"])

    @property
    def top1(self) -> str:
        """The recommended model (highest predicted score)."""
        return str(self.ranking["model"].iloc[0])

    @property
    def p_top1(self) -> float:
        """Bootstrap probability that the recommended model is top-1."""
        return float(self.ranking["p_top1"].iloc[0])

    @property
    def stable(self) -> bool:
        """Whether the top-1 choice is stable (``p_top1 >= stable_at``)."""
        return self.p_top1 >= self.stable_at

    def effective_sources(self, model: str | None = None) -> float:
        """The effective number of sources ``1 / sum_S alpha(S)^2`` of ``model`` (default: the top-1): the
        number of equally weighted sources with the same concentration (all of them when none stands out)."""
        from vlmsel.method.diagnostics import effective_sources

        return float(effective_sources(self.alpha.loc[model or self.top1].to_numpy(dtype=float), axis=0))

    def uniform_weights(self, model: str | None = None) -> bool:
        """Whether no source stands out for ``model`` (default: the top-1), i.e. its effective number of
        sources is at least 90 % of the sources, so its score is essentially its average rank."""
        return self.effective_sources(model) >= UNIFORM_SHARE * self.alpha.shape[1]

    @property
    def n_boot(self) -> int:
        return int(self.info["settings"]["n_boot"])

    @property
    def suggested_n_images(self) -> int | None:
        """Images that would likely make an unstable choice stable (None when stable or not estimable)."""
        n = len(self.images)
        if self.stable or self.estimate.n_needed is None or self.estimate.n_needed > 10 * n:
            return None
        return max(int(math.ceil(self.estimate.n_needed)), n + 1)

    @property
    def stability_message(self) -> str:
        """Whether the top-1 choice is stable and, if not, what would help (one paragraph)."""
        n, b = len(self.images), self.n_boot
        head = f"'{self.top1}' is top-1 in {self.p_top1:.0%} of {b} bootstrap resamples of your {n} images"
        if self.method in ("avg_rank", "inb"):
            return (
                f"The ranking by '{self.method}' does not depend on your images, so resampling them cannot "
                "show whether they chose it; the side-by-side table shows what the image-based methods say."
            )
        if self.stable and self.method.startswith("dcd") and self.uniform_weights():
            return (
                f"{head}, but no source stands out for it (effective number of sources {self.effective_sources():.1f} of "
                f"{self.alpha.shape[1]}): its score is essentially its average rank over the sources, which does not "
                "depend on your images, so resampling them cannot show whether they chose it."
            )
        if self.stable:
            return f"Stable choice: {head} (threshold {self.stable_at:.0%})."
        rivals = self.ranking[(self.ranking["p_top1"] >= 0.1) & (self.ranking["model"] != self.top1)]
        rival_text = ""
        if len(rivals):
            rival_text = (
                " Contenders: " + ", ".join(f"'{m}' ({p:.0%})" for m, p in zip(rivals["model"], rivals["p_top1"])) + "."
            )
        msg = f"Unstable choice: {head}, below the {self.stable_at:.0%} threshold.{rival_text}"
        need = self.suggested_n_images
        if need is not None:
            msg += (
                f" About {need - n} more images ({need} in all) should make it stable (estimated from the "
                f"bootstrap curve: the probability of the same top-1 at {', '.join(map(str, self.curve['n_images']))} "
                f"images, extrapolated)."
            )
        elif self.estimate.n_needed is not None:
            msg += (
                f" More images help only slowly (the bootstrap curve suggests over {10 * n}); the leading "
                "models are predicted nearly equally well, so choose among them by cost (Pareto view)."
            )
        else:
            msg += (
                " The bootstrap curve does not rise with more images: the leading models are predicted about "
                "equally well and more images are unlikely to separate them; choose among them by cost (Pareto view)."
            )
        return msg

    def explain(self, model: str, k: int = 5) -> pd.DataFrame:
        """The ``k`` sources with the largest weight alpha for ``model``: DataFrame with columns
        ``dataset, alpha, dcd, accuracy`` (the model's ground truth there), ``rank`` (its rank in the
        zoo there, 1 = best) and ``n_models``."""
        self._check_model(model)
        a = self.alpha.loc[model].sort_values(ascending=False).head(k)
        ranks = self.source_acc.rank(ascending=False, method="average")
        return pd.DataFrame(
            {
                "dataset": a.index,
                "alpha": a.to_numpy(),
                "dcd": self.divergence.loc[model, a.index].to_numpy(),
                "accuracy": self.source_acc.loc[model, a.index].to_numpy(),
                "rank": ranks.loc[model, a.index].to_numpy(),
                "n_models": len(self.source_acc),
            }
        ).reset_index(drop=True)

    def best_source(self, model: str) -> str:
        """The source that covers the target best for ``model`` (largest alpha, smallest divergence)."""
        self._check_model(model)
        return str(self.alpha.loc[model].idxmax())

    def blocks(self, model: str) -> pd.DataFrame:
        """Block importance of the target against the best-covering source: DataFrame over blocks with
        ``target_w, source_w`` (importances) and ``target_p, source_p`` (profiles)."""
        self._check_model(model)
        s = self.best_source(model)
        return pd.DataFrame(
            {
                "target_w": self.target_importance[model],
                "source_w": self.source_importance[model].loc[s],
                "target_p": self.target_profile[model],
                "source_p": self.source_profiles[model].loc[s],
            }
        )

    def _check_model(self, model: str) -> None:
        if model not in self.alpha.index:
            why = f": {self.excluded[model]}" if model in self.excluded else ""
            raise KeyError(f"model {model!r} was not ranked{why}; ranked models: {self.models[:10]}...")

    def table(self, top: int | None = 10) -> str:
        """The ranking as plain text (``top`` rows; all when None)."""
        t = self.ranking if top is None else self.ranking.head(top)
        show = pd.DataFrame(
            {
                "rank": t["rank"],
                "model": t["model"],
                "score": t["score"].map("{:.3f}".format),
                "95% interval": [f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(t["score_lo"], t["score_hi"])],
                "P(top-1)": t["p_top1"].map("{:.0%}".format),
                "P(top-5)": t["p_top5"].map("{:.0%}".format),
                "GFLOPs/img": t["image_gflops"].map(lambda v: "?" if pd.isna(v) else f"{v:.3g}"),
                "Pareto": t["pareto"].map({True: "*", False: ""}),
                "family": t["family"].fillna(""),
            }
        )
        return show.to_string(index=False)

    def summary(self, top: int = 5) -> str:
        """A short text report: the table, the stability message and why the top model ranks first."""
        lines = [
            f"Ranking of {len(self.ranking)} models ({self.info.get('zoo')}) for {len(self.images)} images "
            f"(benchmark {self.info.get('benchmark')}) by '{self.method}': {method_text(self.method)}.",
            "",
            self.table(top),
            "",
            "* = Pareto-optimal in predicted score vs image-tower GFLOPs.",
            "",
            self.stability_message,
            "",
        ]
        if len(self.comparison):
            lines += [self.comparison_text(), ""]
        if self.evidence:
            lines += [self.evidence, ""]
        ex = self.explain(self.top1, 3)
        lines.append(
            ("Why" if self.method.startswith("dcd") else "In the paper's DCD")
            + f" '{self.top1}': its profile on your images is closest to "
            + ", ".join(
                f"{r.dataset} (alpha {r.alpha:.2f}; there it ranks {r.rank:g}/{r.n_models}, accuracy {r.accuracy:.2f})"
                for r in ex.itertuples()
            )
            + "."
        )
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} file(s):")
            lines += [f"  {f}: {why}" for f, why in self.skipped[:20]]
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more")
        if self.excluded:
            lines.append(f"Not ranked: {len(self.excluded)} model(s) (see .excluded).")
        if self.method.startswith("dcd") and self.uniform_weights() and not self.stable:
            lines.append(
                f"Note: no source stands out for '{self.top1}' (effective number of sources "
                f"{self.effective_sources():.1f} of {self.alpha.shape[1]}): its score is essentially its average rank."
            )
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def comparison_text(self) -> str:
        """The side-by-side table as plain text: each method's top-5, its agreement with the method used
        (top-5 overlap, Kendall tau), its cost per image and the evidence's NDCG@5."""
        c = self.comparison
        top = max(len(t) for t in c["top5"])
        table = pd.DataFrame(
            {f"{m} ({r})": list(t) + [""] * (top - len(t)) for m, r, t in zip(c.index, c["role"], c["top5"])},
            index=pd.Index(range(1, top + 1), name="rank"),
        )
        rows = [
            f"  {m}: top-5 overlap {o}/5, Kendall tau {t:+.2f} with '{self.method}'; {g:g} forward passes per "
            f"image and model ({s:.1f} s of profiling and scoring here); evidence NDCG@5 {e:.3f} [{lo:.3f}, {hi:.3f}]"
            for m, o, t, g, s, e, lo, hi in zip(
                c.index,
                c["top5_overlap"],
                c["kendall_tau"],
                c["cost_G"],
                c["seconds"],
                c["evidence_ndcg5"],
                c["evidence_ndcg5_low"],
                c["evidence_ndcg5_high"],
            )
        ]
        return "Side by side (top 5 of each method):\n" + table.to_string() + "\n" + "\n".join(rows)

    def to_dict(self, explain_top: int = 5, k: int = 5) -> dict[str, Any]:
        """Machine-readable result (the ``--json`` output); NaN becomes None."""
        ranking = [{k_: _finite(v) for k_, v in row.items()} for row in self.ranking.to_dict("records")]
        explanations = {}
        for model in self.models[:explain_top]:
            ex = self.explain(model, k)
            bl = self.blocks(model)
            explanations[model] = {
                "sources": [{k_: _finite(v) for k_, v in r.items()} for r in ex.to_dict("records")],
                "best_source": self.best_source(model),
                "blocks": [str(b) for b in bl.index],
                "target_importance": [float(v) for v in bl["target_w"]],
                "source_importance": [float(v) for v in bl["source_w"]],
            }
        comparison = [
            {"method": m, **{k_: _finite(v) for k_, v in row.items()}}
            for m, row in zip(self.comparison.index, self.comparison.to_dict("records"))
        ]
        return {
            "format": RESULT_FORMAT,
            "version": RESULT_VERSION,
            "method": self.method,
            "method_text": method_text(self.method),
            "evidence": self.evidence,
            "comparison": json.loads(json.dumps(comparison, default=_finite)),
            "top1": self.top1,
            "ranking": ranking,
            "stability": {
                "top1": self.top1,
                "p_top1": self.p_top1,
                "stable": self.stable,
                "threshold": self.stable_at,
                "n_boot": self.n_boot,
                "message": self.stability_message,
                "curve": [{"n_images": int(r.n_images), "p_top1": float(r.p_top1)} for r in self.curve.itertuples()],
                "suggested_n_images": self.suggested_n_images,
                "fit": {
                    "a": _finite(self.estimate.a),
                    "b": _finite(self.estimate.b),
                    "n_needed": _finite(self.estimate.n_needed),
                },
            },
            "explanations": explanations,
            "images": {
                "n": len(self.images),
                "used": list(self.images),
                "sha256": list(self.image_sha256),
                "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            },
            "excluded": [{"model": m, "reason": r} for m, r in self.excluded.items()],
            "info": json.loads(json.dumps(self.info, default=str)),
            "notes": list(self.notes),
        }

    def to_json(self, path: str | os.PathLike, **kwargs: Any) -> Path:
        """Write :meth:`to_dict` as JSON (atomically)."""
        path = Path(path)
        with atomic_write(path, "w") as fh:
            json.dump(self.to_dict(**kwargs), fh, indent=1, allow_nan=False)
            fh.write("\n")
        return path

    # -------------------------------------------------------------------------------- figures
    def plot_ranking(self, top: int | None = 15, ax=None):
        """Horizontal bars of the predicted score (95% bootstrap interval as whiskers), best on top,
        each labelled with its top-1 probability; Pareto-optimal models hatched. Returns the axes."""
        return figures.plot_ranking(self, top=top, ax=ax)

    def plot_explanation(self, model: str | None = None, k: int = 5):
        """Why ``model`` (default: the top one) scores as it does. Left: the ``k`` sources with the
        largest alpha, labelled with the model's ground truth there. Right: the target's
        block-importance distribution against the best-covering source's. Returns the figure."""
        return figures.plot_explanation(self, model=model, k=k)

    def plot_pareto(self, ax=None, label: int = 8):
        """Predicted score against image-tower GFLOPs per image (log scale): the Pareto front (no model
        is better *and* cheaper) drawn as a step line with filled markers, the recommended model
        circled; the ``label`` best models and all Pareto-optimal ones are named. Returns the axes."""
        return figures.plot_pareto(self, ax=ax, label=label)

    def plot_stability(self, ax=None):
        """The bootstrap curve: the chosen model's top-1 probability against the number of images, the
        fitted probit line extended to where it reaches the threshold, and the threshold. Returns the axes."""
        return figures.plot_stability(self, ax=ax)
