"""Select a model for your own images: ranking, explanations, stability and cost (``vlmsel.select``).

This is what a practitioner runs: a folder of unlabeled images in, a ranked and explained list of
models out. :func:`select` does the method of chapters 3-6 for *one new target*:

1. **Your images.** :func:`target_sample` reads a folder (recursively) or a list of files, draws up to
   ``n_images`` (default 25) with a fixed seed, and reads each through :mod:`vlmsel.images` (EXIF
   orientation applied; grayscale, palette, 16-bit, CMYK made RGB). Files whose extension is not an
   image's are skipped and listed; a file that should be an image but cannot be decoded is an error
   naming it, unless ``skip_bad=True``; fewer than 2 usable images is an error. Each model's own
   transform (open_clip's ``preprocess``: resize of the shorter side, centre crop, normalisation) then
   turns every image, however large, into the model's input.
2. **Only the target's profiles are computed** (:func:`vlmsel.profiling.profile_one`, one model at a
   time). They are cached in a small profile store under ``work_dir`` (default
   ``~/.cache/vlmsel/targets``, or ``$VLMSEL_CACHE_DIR/targets``), one folder per image set and
   settings (a hash of the images' sha256 and the settings), so a rerun recomputes nothing.
3. **Source profiles come from a profile store**: a folder you built with ``vlmsel profile``, or a
   published store (:mod:`vlmsel.profile_registry`; for the ``mini`` zoo the store ships with vlmsel).
   The target must be profiled exactly as the sources were (same weights, n_steps, path rule,
   baseline, objective, granularity, precision; for random weights the same init seed): the settings
   are read from the store's manifests, and a disagreement is an error naming the model.
4. **Source ground truth** comes from the benchmark that matches the zoo (``openclip48`` ->
   ``load_benchmark("openclip48")``, ``lovm35`` -> ``lovm``, ``openclip121`` -> ``openclip121``,
   ``mini`` -> ``mini``), or from ``benchmark=`` (a name, a Benchmark, or a models x datasets table).
5. **Scores**: DCD -> softmin -> rank aggregation (:func:`vlmsel.selection.dcd_scores`).

**Stability.** The target profile of a model is the mean over images of per-image normalised block
scalars, so resampling the *images* needs no new conductance: a bootstrap resample draws ``n`` rows
(with replacement) of the stored ``(n, L)`` scalars, the same rows for every model, and re-scores the
zoo. Over ``n_boot`` resamples this gives each model's probability of being top-1 and top-5 (the top-1
probabilities sum to 1) and a 95% interval of its score. The top-1 choice is called *unstable* when
its probability is below :data:`STABLE_AT` (0.6).

**How many more images would help** (:func:`images_for_stability`). Resamples of ``k`` images for
``k = n/4, n/2, 3n/4, n`` give the curve ``P_k`` = probability that the chosen model stays top-1 with
``k`` images. If the score gap between the chosen model and its rivals is ``delta`` and a score's noise
shrinks like ``sigma / sqrt(k)`` (a mean over ``k`` images), then ``P_k ~ Phi(delta sqrt(k) / sigma)``:
the probit of ``P_k`` is linear in ``sqrt(k)``. A least-squares line through
``(sqrt(k), Phi^-1(P_k))`` is solved for the ``k*`` where ``P = 0.6``; the output suggests
``k* - n`` more images. It is a rough guide: it assumes new images look like the ones you gave, and it
is not reported when the line does not rise (the leading models are predicted about equally well; more
images will not separate them, so choose among them by cost) or when ``k*`` is more than 10 times ``n``.

**Cost-aware view.** Every model's image-tower GFLOPs per image (open_clip's ``model_profile.csv``, or
counted on the meta device for other models) sits beside its score: the Pareto-optimal models (no
other model is predicted better *and* cheaper) are flagged, :meth:`SelectionResult.plot_pareto` draws
score against GFLOPs, and ``max_gflops`` restricts the candidates before anything is computed.

The result (:class:`SelectionResult`) holds the ranking, per-model explanations (the sources with the
largest weights alpha and the model's ground truth on them; the target's block-importance distribution
against the best-covering source's), the stability numbers and plotting helpers;
:mod:`vlmsel.report` writes it as one self-contained HTML file, ``vlmsel select`` is the command line.

Taught in chapter 8, "Selecting a model for your own images".
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from vlmsel.aggregation import Utility, utilities
from vlmsel.datasets import FolderSource, Sample, Task
from vlmsel.divergence import DEFAULT_EPS, DIVERGENCES, Divergence, coverage, cosine, js, kl, sym_kl
from vlmsel.files import atomic_write
from vlmsel.images import ImageReadError, is_image_name, load_image
from vlmsel.importance import DEFAULT_ETA, Importance, block_importance
from vlmsel.profile_store import SIGNED_SCALARS, ProfileStore, has_profile, read_profile, write_profile
from vlmsel.profiles import Pooling, Profiles, normalise_per_image
from vlmsel.similarity import DEFAULT_GAMMA, softmin_weights

#: The top-1 choice is *stable* when the chosen model is top-1 in at least this share of resamples.
STABLE_AT = 0.6
#: The method was calibrated with this many images per task (the paper's N).
DEFAULT_N_IMAGES = 25
#: Named zoos and the benchmark that holds their ground truth.
ZOO_BENCHMARKS: dict[str, str] = {"openclip48": "openclip48", "lovm35": "lovm", "openclip121": "openclip121",
                                  "mini": "mini"}
#: Manifest fields on which the target's profiles must agree with the sources' (plus ``seed`` for random weights).
MATCH_FIELDS: tuple[str, ...] = ("weights", "n_steps", "method", "rule", "baseline", "objective", "granularity",
                                 "precision", "autocast", "quick_gelu")
#: Dataset name of the target inside its cache store.
TARGET = "target"
_TARGET_KEY = "__target__"  # the target's column in in-memory Profiles (cannot clash with a source name)
RESULT_FORMAT = "vlmsel-selection"
RESULT_VERSION = 1


# ------------------------------------------------------------------------------------------ images
class FileListSource:
    """An image source (:class:`vlmsel.datasets.ImageSource`) over an explicit list of files.

    Ids are the paths as given. Names without an image extension are kept aside in ``non_images``.
    """

    def __init__(self, paths: Iterable[str | os.PathLike]):
        files = [str(p) for p in paths]
        if not files:
            raise ValueError("the list of images is empty")
        dup = sorted({f for f in files if files.count(f) > 1})
        if dup:
            raise ValueError(f"images listed more than once: {dup[:5]}")
        self.non_images = [f for f in files if not is_image_name(f)]
        self._ids = [f for f in files if is_image_name(f)]
        self.description = f"{len(files)} listed files"

    def ids(self) -> list[str]:
        return list(self._ids)

    def read(self, image_id: str) -> tuple[Image.Image, str, Any]:
        img = load_image(image_id)
        return img, hashlib.sha256(Path(image_id).read_bytes()).hexdigest(), None


def _open_images(images: str | os.PathLike | Sequence[str | os.PathLike]) -> Task:
    if isinstance(images, (str, os.PathLike)):
        path = Path(images)
        if path.is_dir():
            # skip_bad=True here only keeps non-image *names* aside (listed, never an error); whether an
            # unreadable image is an error is decided when the images are read (target_sample's skip_bad).
            return Task(TARGET, FolderSource(path, skip_bad=True))
        if path.exists():
            raise ValueError(f"{path} is a file: give a folder of images or a list of image files")
        raise FileNotFoundError(f"image folder {path} does not exist")
    return Task(TARGET, FileListSource(images))


def target_sample(
    images: str | os.PathLike | Sequence[str | os.PathLike],
    n_images: int = DEFAULT_N_IMAGES,
    seed: int = 0,
    *,
    skip_bad: bool = False,
) -> Sample:
    """Read up to ``n_images`` of your images, reproducibly.

    The image files are put in a fixed order (sorted relative paths for a folder, the given order for a
    list) and shuffled by ``numpy.random.default_rng(seed)``; the first ``n_images`` readable ones are
    the sample (all of them when there are fewer), as :func:`vlmsel.datasets.sample` does, except that
    fewer images than asked is allowed (down to 2).

    Parameters
    ----------
    images : a folder (read recursively, hidden files ignored) or a list of image file paths.
    n_images : how many images to use at most (default 25, the paper's N).
    seed : sampling seed (default 0).
    skip_bad : skip images that cannot be decoded (listed in ``Sample.skipped``) instead of raising.

    Returns
    -------
    Sample with ``ids`` (relative paths, or the paths as given), ``sha256`` of the file bytes, the RGB
    ``images`` and ``skipped`` = ``(file, reason)`` for every non-image file and (with ``skip_bad``)
    every unreadable image.

    Raises
    ------
    ImageReadError : an image cannot be decoded (the message names the file) and ``skip_bad`` is False.
    ValueError : fewer than 2 usable images.
    """
    if n_images < 2:
        raise ValueError(f"n_images must be at least 2 (a profile needs several images); got {n_images}")
    task = _open_images(images)
    source = task.source
    ids = source.ids()
    skipped: list[tuple[str, str]] = [(f, "not an image file (extension)") for f in getattr(source, "non_images", [])]
    order = np.random.default_rng(seed).permutation(len(ids))
    out_ids, digests, imgs = [], [], []
    for i in order:
        image_id = ids[int(i)]
        try:
            img, digest, _ = source.read(image_id)
        except ImageReadError as err:
            if not skip_bad:
                raise ImageReadError(f"{err} [pass skip_bad=True / --skip-bad to skip it]") from err
            skipped.append((image_id, str(err)))
            continue
        out_ids.append(image_id)
        digests.append(digest)
        imgs.append(img)
        if len(out_ids) == n_images:
            break
    if len(out_ids) < 2:
        listed = f"; skipped: {[s[0] for s in skipped][:10]}" if skipped else ""
        raise ValueError(
            f"{source.description}: {len(out_ids)} usable image(s), at least 2 are needed "
            f"(25 recommended){listed}"
        )
    return Sample(TARGET, source.description, seed, out_ids, digests, imgs, None, skipped)


# ------------------------------------------------------------------------------------------ cache
def targets_cache_dir() -> Path:
    """Default ``work_dir``: ``$VLMSEL_CACHE_DIR/targets`` or ``~/.cache/vlmsel/targets``."""
    from vlmsel.upstream import CACHE_DIR_ENV

    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser() / "targets"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vlmsel" / "targets"


def target_key(sample_: Sample, settings: dict[str, Any]) -> str:
    """Cache key of a target: sha256 (first 16 hex digits) of its images (ids and sha256, in order) and settings."""
    payload = json.dumps({"images": list(zip(sample_.ids, sample_.sha256)), "settings": settings}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------ scoring
def _divergence(kind: str, w_t: np.ndarray, p_t: np.ndarray, w_s: np.ndarray, p_s: np.ndarray, eps: float) -> np.ndarray:
    """Divergence source -> target for targets (B, L) and sources (S, L): array (B, S)."""
    wt, pt, ws, ps = w_t[:, None, :], p_t[:, None, :], w_s[None], p_s[None]
    if kind == "kl":
        return kl(wt, ws, eps)
    if kind == "coverage":
        return coverage(wt, pt, ps, eps)
    if kind == "js":
        return js(wt, ws, eps)
    if kind == "sym_kl":
        return sym_kl(wt, ws, eps)
    if kind == "cosine":
        return cosine(pt, ps)
    raise ValueError(f"unknown divergence {kind!r}; choose one of {DIVERGENCES}")


class TargetScorer:
    """Scores of the zoo on one target, for any resample of the target's images (vectorised).

    Parameters
    ----------
    sources : :class:`~vlmsel.profiles.Profiles` of the zoo on the source datasets (n_models, S, L_max).
    source_acc : DataFrame (models x sources) of ground truth; rows and columns are aligned to ``sources``.
    eta, gamma, importance, divergence, utility, pooling, eps : as :func:`vlmsel.selection.dcd_scores`.

    :meth:`scores` with ``idx = arange(n)[None]`` reproduces :func:`vlmsel.selection.dcd_scores`.
    """

    def __init__(self, sources: Profiles, source_acc: pd.DataFrame, *, eta: float = DEFAULT_ETA,
                 gamma: float = DEFAULT_GAMMA, importance: Importance = "softmax_z", divergence: Divergence = "kl",
                 utility: Utility = "rank", pooling: Pooling = "mean_of_normalised", eps: float = DEFAULT_EPS):
        if divergence not in DIVERGENCES:
            raise ValueError(f"unknown divergence {divergence!r}; choose one of {DIVERGENCES}")
        self.models, self.sources = list(sources.models), list(sources.datasets)
        self.eta, self.gamma, self.importance, self.divergence = eta, gamma, importance, divergence
        self.pooling, self.eps = pooling, eps
        w = block_importance(sources.values, eta, importance, mask=sources.mask, eps=eps)
        self.p_s = [sources.values[m, :, :n] for m, n in enumerate(sources.n_blocks)]
        self.w_s = [w[m, :, :n] for m, n in enumerate(sources.n_blocks)]
        self.acc = source_acc.loc[self.models, self.sources].astype(float)
        self.u = utilities(self.acc.to_numpy(), utility)  # (M, S)

    def target_profiles(self, c: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Pooled target profiles of one model for every resample: ``c`` (N, L), ``idx`` (B, k) -> (B, L)."""
        if self.pooling == "mean_of_normalised":
            return normalise_per_image(c)[idx].mean(axis=1)
        mean = np.asarray(c, dtype=np.float64)[idx].mean(axis=1)
        return mean / mean.sum(axis=-1, keepdims=True)

    def scores(self, target: Sequence[np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
        """Score every model on every resample.

        Parameters
        ----------
        target : per model (in ``self.models`` order) the target's block scalars, array (N, L_m).
        idx : int array (B, k): row indices of the images in each resample.

        Returns
        -------
        dict with ``score`` (M, B), ``alpha`` (M, B, S), ``divergence`` (M, B, S), and per model lists
        ``p`` and ``w`` of target profiles / importances, arrays (B, L_m).
        """
        idx = np.atleast_2d(np.asarray(idx))
        out: dict[str, Any] = {"score": [], "alpha": [], "divergence": [], "p": [], "w": []}
        for m, c in enumerate(target):
            p = self.target_profiles(c, idx)
            w = block_importance(p, self.eta, self.importance, eps=self.eps)
            d = _divergence(self.divergence, w, p, self.w_s[m], self.p_s[m], self.eps)  # (B, S)
            a = softmin_weights(d, self.gamma, axis=-1)
            out["score"].append(a @ self.u[m])
            out["alpha"].append(a)
            out["divergence"].append(d)
            out["p"].append(p)
            out["w"].append(w)
        for k in ("score", "alpha", "divergence"):
            out[k] = np.stack(out[k])
        return out


def ranking_orders(scores: np.ndarray, models: Sequence[str]) -> np.ndarray:
    """Per column of ``scores`` (M, B), model indices best first (ties by name): int array (M, B)."""
    name_rank = np.argsort(np.argsort(np.asarray(models, dtype=object)))
    keys = (np.broadcast_to(name_rank[:, None], scores.shape), -scores)
    return np.lexsort(keys, axis=0)


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


def images_for_stability(sizes: Sequence[int], p_top1: Sequence[float], threshold: float = STABLE_AT,
                         n_boot: int = 200) -> StabilityEstimate:
    """Images needed for the chosen model to be top-1 with probability ``threshold`` (module docstring).

    Parameters
    ----------
    sizes : resample sizes ``k`` (e.g. n/4, n/2, 3n/4, n).
    p_top1 : the chosen model's top-1 probability at each size.
    threshold : target probability (default :data:`STABLE_AT`).
    n_boot : resamples behind each probability; probabilities are clipped to
        ``[0.5 / n_boot, 1 - 0.5 / n_boot]`` before the probit.
    """
    from scipy.stats import norm

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


# ------------------------------------------------------------------------------------------ result
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
    """What :func:`select` found (see the module docstring).

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
        """One paragraph: is the top-1 choice stable, and if not, what would help."""
        n, b = len(self.images), self.n_boot
        head = (f"'{self.top1}' is top-1 in {self.p_top1:.0%} of {b} bootstrap resamples of your {n} images")
        if self.stable:
            return f"Stable choice: {head} (threshold {self.stable_at:.0%})."
        rivals = self.ranking[(self.ranking["p_top1"] >= 0.1) & (self.ranking["model"] != self.top1)]
        rival_text = ""
        if len(rivals):
            rival_text = " Contenders: " + ", ".join(f"'{m}' ({p:.0%})" for m, p in zip(rivals["model"], rivals["p_top1"])) + "."
        msg = f"Unstable choice: {head}, below the {self.stable_at:.0%} threshold.{rival_text}"
        need = self.suggested_n_images
        if need is not None:
            msg += (f" About {need - n} more images ({need} in all) should make it stable (estimated from the "
                    f"bootstrap curve: the probability of the same top-1 at {', '.join(map(str, self.curve['n_images']))} "
                    f"images, extrapolated).")
        elif self.estimate.n_needed is not None:
            msg += (f" More images help only slowly (the bootstrap curve suggests over {10 * n}); the leading "
                    "models are predicted nearly equally well, so choose among them by cost (Pareto view).")
        else:
            msg += (" The bootstrap curve does not rise with more images: the leading models are predicted about "
                    "equally well and more images are unlikely to separate them; choose among them by cost (Pareto view).")
        return msg

    def explain(self, model: str, k: int = 5) -> pd.DataFrame:
        """The ``k`` sources with the largest weight alpha for ``model``: DataFrame with columns
        ``dataset, alpha, dcd, accuracy`` (the model's ground truth there), ``rank`` (its rank in the
        zoo there, 1 = best) and ``n_models``."""
        self._check_model(model)
        a = self.alpha.loc[model].sort_values(ascending=False).head(k)
        ranks = self.source_acc.rank(ascending=False, method="average")
        return pd.DataFrame({
            "dataset": a.index, "alpha": a.to_numpy(), "dcd": self.divergence.loc[model, a.index].to_numpy(),
            "accuracy": self.source_acc.loc[model, a.index].to_numpy(),
            "rank": ranks.loc[model, a.index].to_numpy(), "n_models": len(self.source_acc),
        }).reset_index(drop=True)

    def best_source(self, model: str) -> str:
        """The source that covers the target best for ``model`` (largest alpha, smallest divergence)."""
        self._check_model(model)
        return str(self.alpha.loc[model].idxmax())

    def blocks(self, model: str) -> pd.DataFrame:
        """Block importance of the target against the best-covering source: DataFrame over blocks with
        ``target_w, source_w`` (importances) and ``target_p, source_p`` (profiles)."""
        self._check_model(model)
        s = self.best_source(model)
        return pd.DataFrame({
            "target_w": self.target_importance[model], "source_w": self.source_importance[model].loc[s],
            "target_p": self.target_profile[model], "source_p": self.source_profiles[model].loc[s],
        })

    def _check_model(self, model: str) -> None:
        if model not in self.alpha.index:
            why = f": {self.excluded[model]}" if model in self.excluded else ""
            raise KeyError(f"model {model!r} was not ranked{why}; ranked models: {self.models[:10]}...")

    def table(self, top: int | None = 10) -> str:
        """The ranking as plain text (``top`` rows; all when None)."""
        t = self.ranking if top is None else self.ranking.head(top)
        show = pd.DataFrame({
            "rank": t["rank"], "model": t["model"], "score": t["score"].map("{:.3f}".format),
            "95% interval": [f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(t["score_lo"], t["score_hi"])],
            "P(top-1)": t["p_top1"].map("{:.0%}".format), "P(top-5)": t["p_top5"].map("{:.0%}".format),
            "GFLOPs/img": t["image_gflops"].map(lambda v: "?" if pd.isna(v) else f"{v:.3g}"),
            "Pareto": t["pareto"].map({True: "*", False: ""}), "family": t["family"].fillna(""),
        })
        return show.to_string(index=False)

    def summary(self, top: int = 5) -> str:
        """A short text report: the table, the stability message and why the top model ranks first."""
        lines = [f"Ranking of {len(self.ranking)} models ({self.info.get('zoo')}) for {len(self.images)} images "
                 f"(benchmark {self.info.get('benchmark')}):", "", self.table(top), "",
                 "* = Pareto-optimal in predicted score vs image-tower GFLOPs.", "", self.stability_message, ""]
        ex = self.explain(self.top1, 3)
        lines.append(f"Why '{self.top1}': its profile on your images is closest to "
                     + ", ".join(f"{r.dataset} (alpha {r.alpha:.2f}; there it ranks {r.rank:g}/{r.n_models}, "
                                 f"accuracy {r.accuracy:.2f})" for r in ex.itertuples()) + ".")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} file(s):")
            lines += [f"  {f}: {why}" for f, why in self.skipped[:20]]
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more")
        if self.excluded:
            lines.append(f"Not ranked: {len(self.excluded)} model(s) (see .excluded).")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

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
        return {
            "format": RESULT_FORMAT, "version": RESULT_VERSION,
            "top1": self.top1,
            "ranking": ranking,
            "stability": {
                "top1": self.top1, "p_top1": self.p_top1, "stable": self.stable, "threshold": self.stable_at,
                "n_boot": self.n_boot, "message": self.stability_message,
                "curve": [{"n_images": int(r.n_images), "p_top1": float(r.p_top1)} for r in self.curve.itertuples()],
                "suggested_n_images": self.suggested_n_images,
                "fit": {"a": _finite(self.estimate.a), "b": _finite(self.estimate.b),
                        "n_needed": _finite(self.estimate.n_needed)},
            },
            "explanations": explanations,
            "images": {"n": len(self.images), "used": list(self.images), "sha256": list(self.image_sha256),
                       "skipped": [{"file": f, "reason": r} for f, r in self.skipped]},
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

    # -------------------------------------------------------------------------------- plots
    def plot_ranking(self, top: int | None = 15, ax=None):
        """Horizontal bars of the predicted score (95% bootstrap interval as whiskers), best on top,
        each labelled with its top-1 probability; Pareto-optimal models hatched. Returns the axes."""
        import matplotlib.pyplot as plt

        t = self.ranking if top is None else self.ranking.head(top)
        if ax is None:
            _, ax = plt.subplots(figsize=(8.0, max(2.2, 0.36 * len(t) + 1.2)), layout="constrained")
        y = np.arange(len(t))[::-1]
        s = t["score"].to_numpy()
        err = np.vstack([s - t["score_lo"].to_numpy(), t["score_hi"].to_numpy() - s]).clip(min=0)
        bars = ax.barh(y, s, xerr=err, color="#4c72b0", ecolor="#333333", capsize=2, height=0.65)
        for bar, par in zip(bars, t["pareto"]):
            if par:
                bar.set_hatch("//")
                bar.set_facecolor("#dd8452")
        for yi, si, hi, p in zip(y, s, t["score_hi"], t["p_top1"]):
            ax.text(max(si, hi) + 0.01, yi, f"P(top-1) {p:.0%}", va="center", fontsize=8)
        ax.set_yticks(y, t["model"], fontsize=8)
        ax.set_xlim(0, max(1.0, float(np.nanmax(t["score_hi"]))) * 1.22)
        ax.set_xlabel("predicted score (weighted source rank utility, 1 = best)")
        ax.set_title("Predicted ranking (hatched = Pareto-optimal in score vs GFLOPs)")
        return ax

    def plot_explanation(self, model: str | None = None, k: int = 5):
        """Why ``model`` (default: the top one) scores as it does. Left: the ``k`` sources with the
        largest alpha, labelled with the model's ground truth there. Right: the target's
        block-importance distribution against the best-covering source's. Returns the figure."""
        import matplotlib.pyplot as plt

        model = model or self.top1
        ex = self.explain(model, k)
        bl = self.blocks(model)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11.0, max(2.8, 0.42 * len(ex) + 1.6)),
                                     gridspec_kw={"width_ratios": [1, 1.3]}, layout="constrained")
        y = np.arange(len(ex))[::-1]
        a1.barh(y, ex["alpha"], color="#55a868", height=0.6)
        for yi, r in zip(y, ex.itertuples()):
            a1.text(r.alpha + 0.01, yi, f"acc {r.accuracy:.2f}, rank {r.rank:g}/{r.n_models}", va="center", fontsize=8)
        a1.set_yticks(y, ex["dataset"], fontsize=8)
        a1.set_xlim(0, min(1.0, float(ex["alpha"].max())) * 1.9 + 0.05)
        a1.set_xlabel("weight alpha of the source (softmin of DCD)")
        a1.set_title("Sources that resemble your images")
        x = np.arange(len(bl))
        best = self.best_source(model)
        a2.plot(x, bl["target_w"], marker="o", linestyle="-", label="your images (target)")
        a2.plot(x, bl["source_w"], marker="s", linestyle="--", label=f"best source: {best}")
        a2.set_xticks(x, [_short_block(b) for b in bl.index], rotation=70, fontsize=7)
        a2.set_xlabel("block of the image tower (input -> output)")
        a2.set_ylabel("block importance w")
        a2.set_title("Where the model's conductance concentrates")
        a2.legend(fontsize=8)
        fig.suptitle(model, fontsize=11, fontweight="bold")
        return fig

    def plot_pareto(self, ax=None, label: int = 8):
        """Predicted score against image-tower GFLOPs per image (log scale): the Pareto front (no model
        is better *and* cheaper) drawn as a step line with filled markers, the recommended model
        circled; the ``label`` best models and all Pareto-optimal ones are named. Returns the axes."""
        import matplotlib.pyplot as plt

        t = self.ranking.dropna(subset=["image_gflops"])
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
        par = t[t["pareto"]].sort_values("image_gflops")
        rest = t[~t["pareto"]]
        ax.scatter(rest["image_gflops"], rest["score"], marker="o", facecolors="none", edgecolors="#4c72b0",
                   label="other models")
        ax.scatter(par["image_gflops"], par["score"], marker="D", color="#dd8452", zorder=3, label="Pareto-optimal")
        if len(par):
            ax.step(par["image_gflops"], par["score"], where="post", color="#dd8452", linestyle="--", linewidth=1)
        top = t[t["model"] == self.top1]
        ax.scatter(top["image_gflops"], top["score"], s=220, facecolors="none", edgecolors="black", linewidths=1.5,
                   label="recommended", zorder=4)
        named = set(t.head(label)["model"]) | set(par["model"])
        for r in t.itertuples():
            if r.model in named:
                ax.annotate(_short_model(r.model), (r.image_gflops, r.score), xytext=(4, 4), textcoords="offset points",
                            fontsize=8)
        ax.margins(x=0.25, y=0.12)
        if len(t) and t["image_gflops"].max() / max(t["image_gflops"].min(), 1e-12) > 20:
            ax.set_xscale("log")
        max_g = self.info.get("settings", {}).get("max_gflops")
        if max_g is not None:
            ax.axvline(max_g, color="grey", linestyle=":", label=f"max_gflops = {max_g:g}")
        ax.set_xlabel("image-tower GFLOPs per image")
        ax.set_ylabel("predicted score")
        ax.set_title("Cost-aware view: predicted score vs compute")
        ax.legend(fontsize=8, loc="best", markerscale=0.6)
        missing = len(self.ranking) - len(t)
        if missing:
            ax.text(0.01, 0.01, f"{missing} model(s) with unknown GFLOPs not shown", transform=ax.transAxes, fontsize=7)
        return ax

    def plot_stability(self, ax=None):
        """The bootstrap curve: the chosen model's top-1 probability against the number of images, the
        fitted probit line extended to where it reaches the threshold, and the threshold. Returns the axes."""
        import matplotlib.pyplot as plt
        from scipy.stats import norm

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.6), layout="constrained")
        ax.plot(self.curve["n_images"], self.curve["p_top1"], marker="o", linestyle="-", label="bootstrap")
        n = len(self.images)
        if np.isfinite(self.estimate.b):
            hi = n * 2
            if self.estimate.n_needed is not None:
                hi = max(hi, min(self.estimate.n_needed * 1.2, 10 * n))
            k = np.linspace(2, hi, 100)
            ax.plot(k, norm.cdf(self.estimate.a + self.estimate.b * np.sqrt(k)), linestyle="--",
                    label="fit: probit linear in sqrt(images)")
        ax.axhline(self.stable_at, color="grey", linestyle=":", label=f"stable at {self.stable_at:.0%}")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("number of images")
        ax.set_ylabel(f"P('{_short_model(self.top1)}' is top-1)")
        ax.set_title("Stability of the top-1 choice")
        ax.legend(fontsize=8, loc="lower right")
        return ax


def _short_block(name: str) -> str:
    parts = str(name).split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else str(name)


def _short_model(name: str, n: int = 28) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


# ------------------------------------------------------------------------------------------ inputs
def _zoo_entries(zoo: Any, models: Sequence[str] | None):
    from vlmsel.zoo import load_zoo

    if isinstance(zoo, str) and zoo == "mini":
        from vlmsel.mini.models import is_trained, list_mini_models
        from vlmsel.mini.profiling import mini_zoo_entries

        trained = [m for m in list_mini_models() if is_trained(m)]
        if not trained:
            raise FileNotFoundError("no trained mini model (data/mini/models/*/training.json); run `vlmsel mini train`")
        entries = mini_zoo_entries(trained)
    else:
        entries = load_zoo(zoo)
    if models is not None:
        names = [e.name for e in entries]
        unknown = [m for m in models if m not in names]
        if unknown:
            raise KeyError(f"model(s) {unknown} are not in zoo {zoo!r} ({len(names)} models, e.g. {names[:3]})")
        entries = [e for e in entries if e.name in set(models)]
    return entries


def _benchmark(benchmark: Any, zoo: Any) -> tuple[str, pd.DataFrame, pd.DataFrame | None]:
    """(name, wide accuracy table models x datasets, model_info or None)."""
    from vlmsel.groundtruth import BENCHMARKS, Benchmark, load_benchmark

    if benchmark is None:
        if isinstance(zoo, str) and zoo in ZOO_BENCHMARKS:
            benchmark = ZOO_BENCHMARKS[zoo]
        else:
            raise ValueError("the zoo is not a named zoo: say which ground truth to use with benchmark= "
                             f"(one of {BENCHMARKS}, a Benchmark, a models x datasets DataFrame or a CSV file)")
    if isinstance(benchmark, Benchmark):
        return benchmark.name, benchmark.wide, benchmark.model_info
    if isinstance(benchmark, pd.DataFrame):
        return "custom", benchmark.astype(float), None
    if isinstance(benchmark, str) and benchmark in BENCHMARKS:
        b = load_benchmark(benchmark)
        return b.name, b.wide, b.model_info
    path = Path(benchmark)
    if path.is_file():
        return path.name, read_accuracy_table(path), None
    raise KeyError(f"unknown benchmark {benchmark!r}: not one of {BENCHMARKS} and not a CSV file")


def read_accuracy_table(path: str | os.PathLike) -> pd.DataFrame:
    """A ground-truth CSV as a models x datasets DataFrame: tidy (columns ``model, dataset`` and
    ``acc1`` or ``value``) or wide (first column the model, one column per dataset)."""
    table = pd.read_csv(path)
    if {"model", "dataset"} <= set(table.columns):
        value = "acc1" if "acc1" in table.columns else "value"
        if value not in table.columns:
            raise ValueError(f"{path}: a tidy table needs an 'acc1' or 'value' column; it has {list(table.columns)}")
        wide = table.pivot(index="model", columns="dataset", values=value)
    else:
        wide = table.set_index(table.columns[0])
    wide.index.name, wide.columns.name = "model", "dataset"
    return wide.astype(float)


def _resolve_store(profiles: Any, zoo: Any) -> ProfileStore:
    from vlmsel.profile_registry import fetch_store, registry, store_for_zoo

    if isinstance(profiles, ProfileStore):
        return profiles
    if profiles is None:
        entry = store_for_zoo(zoo) if isinstance(zoo, str) else None
        if entry is None:
            raise FileNotFoundError(
                f"no published profile store for zoo {zoo!r} (the registry lists {sorted(registry())}); build the "
                "source profiles with `vlmsel profile --zoo ... --datasets all20 --out STORE` and pass profiles=STORE "
                "(--profiles STORE)"
            )
        return ProfileStore(fetch_store(entry.name))
    path = Path(profiles)
    if path.is_dir():
        return ProfileStore(path)
    if isinstance(profiles, str) and profiles in registry():
        return ProfileStore(fetch_store(profiles))
    raise FileNotFoundError(f"profiles {profiles!r}: not a profile store folder and not a published store "
                            f"({sorted(registry())})")


def _settings_of(manifest: dict[str, Any]) -> dict[str, Any]:
    from vlmsel.profiling import RESULT_FIELD_DEFAULTS  # what older manifests lack (made without autocast)

    out = {k: manifest.get(k, RESULT_FIELD_DEFAULTS.get(k)) for k in MATCH_FIELDS}
    if manifest.get("weights") == "random-init":
        out["seed"] = manifest.get("seed")
    return out


def _fmt_settings(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in d.items())


# ------------------------------------------------------------------------------------------ select
def select(
    images: str | os.PathLike | Sequence[str | os.PathLike],
    zoo: Any = "openclip48",
    profiles: str | os.PathLike | ProfileStore | None = None,
    benchmark: Any = None,
    *,
    models: Sequence[str] | None = None,
    n_images: int = DEFAULT_N_IMAGES,
    seed: int = 0,
    n_steps: int | None = None,
    device: str = "auto",
    pretrained: bool = True,
    max_gflops: float | None = None,
    skip_bad: bool = False,
    n_boot: int = 200,
    eta: float = DEFAULT_ETA,
    gamma: float = DEFAULT_GAMMA,
    importance: Importance = "softmax_z",
    divergence: Divergence = "kl",
    utility: Utility = "rank",
    scalar: str = "abs",
    pooling: Pooling = "mean_of_normalised",
    internal_batch_size: int = 64,
    work_dir: str | os.PathLike | None = None,
    stable_at: float = STABLE_AT,
    show_progress: bool | None = None,
) -> SelectionResult:
    """Rank the models of a zoo for your unlabeled images (see the module docstring).

    Parameters
    ----------
    images : a folder of images (recursive) or a list of image files.
    zoo : ``"openclip48"`` (default), ``"lovm35"``, ``"openclip121"``, ``"mini"``, a model list file or a
        list of models (:func:`vlmsel.zoo.load_zoo`; then give ``benchmark``).
    profiles : the source profile store: a folder, a :class:`~vlmsel.profile_store.ProfileStore`, or the
        name of a published store (:mod:`vlmsel.profile_registry`); default: the zoo's published store.
    benchmark : source ground truth; default: the zoo's benchmark (:data:`ZOO_BENCHMARKS`).
    models : rank only these models of the zoo (full names).
    n_images : images to use at most (default 25); seed : which ones (default 0).
    n_steps : integration steps; default: the store's (they must agree anyway).
    device : ``"auto"`` (default), ``"cpu"``, ``"cuda"``, ...
    pretrained : real weights (default) or random init (``False``; tests and CI, against a store built
        with ``--random-init``).
    max_gflops : rank only models whose image tower costs at most this many GFLOPs per image.
    skip_bad : skip images that cannot be decoded instead of raising.
    n_boot : bootstrap resamples of the images (default 200).
    eta, gamma, importance, divergence, utility, scalar, pooling : the method's options (SPEC defaults).
    internal_batch_size : path points per forward/backward pass (memory bound).
    work_dir : where target profiles are cached (default :func:`targets_cache_dir`).
    stable_at : top-1 probability below which the choice is called unstable (default 0.6).
    show_progress : progress bar over models (default: on unless ``VLMSEL_PROGRESS=0``).

    Returns
    -------
    SelectionResult

    Raises
    ------
    ImageReadError : an undecodable image (without ``skip_bad``). ValueError : fewer than 2 images,
    settings that disagree with the store's (naming the model), fewer than 2 candidate models.
    FileNotFoundError : no profile store. KeyError : unknown model, benchmark or zoo.
    vlmsel.zoo.ModelLoadError : a model cannot be loaded (named).
    """
    from vlmsel.profiling import ProfileSettings, profile_one, versions
    from vlmsel.progress import progress
    from vlmsel.selection import dcd_scores
    from vlmsel.zoo import ModelLoadError, load_model, resolve_device, with_image_gflops

    if n_boot < 10:
        raise ValueError(f"n_boot must be at least 10; got {n_boot}")
    if divergence not in DIVERGENCES:
        raise ValueError(f"unknown divergence {divergence!r}; choose one of {DIVERGENCES}")
    if scalar not in ("abs", "l2", "signed", "branch"):
        raise ValueError(f"unknown block scalar {scalar!r}")
    sample_ = target_sample(images, n_images, seed, skip_bad=skip_bad)
    entries = _zoo_entries(zoo, models)
    bench_name, acc, model_info = _benchmark(benchmark, zoo)
    store = _resolve_store(profiles, zoo)
    notes: list[str] = []
    excluded: dict[str, str] = {}

    # candidates: in the benchmark, in the store, within the compute budget
    stored = set(store.models)
    filled = []
    for e in entries:
        if e.name not in acc.index:
            excluded[e.name] = f"no ground truth in benchmark {bench_name!r}"
            continue
        if e.name not in stored:
            excluded[e.name] = f"no source profiles in {store.path}"
            continue
        if math.isnan(e.image_gflops):
            try:
                e = with_image_gflops(e)
            except (ModelLoadError, RuntimeError, ValueError):
                pass
        if math.isnan(e.image_gflops) and model_info is not None and e.name in model_info.index:
            e = dataclasses.replace(e, image_gflops=float(model_info.at[e.name, "image_gflops"]))
        if max_gflops is not None:
            if math.isnan(e.image_gflops):
                excluded[e.name] = "image GFLOPs unknown (max_gflops is set)"
                continue
            if e.image_gflops > max_gflops:
                excluded[e.name] = f"{e.image_gflops:.3g} image GFLOPs > max_gflops={max_gflops:g}"
                continue
        filled.append(e)
    if len(filled) < 2:
        shown = "; ".join(f"{m}: {r}" for m, r in list(excluded.items())[:6])
        raise ValueError(f"only {len(filled)} candidate model(s) remain, at least 2 are needed to rank ({shown})")
    avail = store.available()
    names = [e.name for e in filled]
    sources = [d for d in acc.columns if d in avail.columns and bool(avail.loc[names, d].all())
               and not acc.loc[names, d].isna().any()]
    dropped = [d for d in acc.columns if d in avail.columns and d not in sources]
    if dropped:
        notes.append(f"sources left out (not profiled for every candidate, or no ground truth): {dropped}")
    if not sources:
        raise ValueError(f"profile store {store.path} holds no dataset of benchmark {bench_name!r} for every candidate "
                         f"model (store datasets: {list(avail.columns)[:10]})")
    if len(sources) < 3:
        notes.append(f"only {len(sources)} source dataset(s): the ranking can only echo them")

    # source profiles and their settings (one read per entry)
    scalars_src: dict[str, dict[str, np.ndarray]] = {}
    settings_of: dict[str, dict[str, Any]] = {}
    block_names: dict[str, list[str]] = {}
    for e in filled:
        per: dict[str, np.ndarray] = {}
        for d in sources:
            arrays, manifest = read_profile(store, e.name, d)
            s = _settings_of(manifest)
            if e.name not in settings_of:
                settings_of[e.name], block_names[e.name] = s, list(arrays["block_names"])
            elif s != settings_of[e.name] or list(arrays["block_names"]) != block_names[e.name]:
                raise ValueError(f"profile store {store.path}: model {e.name!r} was profiled with different settings "
                                 f"on {d!r} ({_fmt_settings(s)}) than on {sources[0]!r} ({_fmt_settings(settings_of[e.name])})")
            c = arrays[scalar]
            per[d] = np.abs(c) if scalar in SIGNED_SCALARS else c
        scalars_src[e.name] = per

    # the target's settings: the store's, checked against what was asked
    dev = resolve_device(device)
    weights = "pretrained" if pretrained else "random-init"
    run_settings: dict[str, ProfileSettings] = {}
    for e in filled:
        s = settings_of[e.name]
        asked = {"weights": weights, "quick_gelu": e.quick_gelu}
        if n_steps is not None:
            asked["n_steps"] = n_steps
        diff = {k: (s.get(k), v) for k, v in asked.items() if s.get(k) != v}
        if diff:
            shown = ", ".join(f"{k}: store {a!r}, this run {b!r}" for k, (a, b) in diff.items())
            hint = " (pass pretrained=False / --random-init)" if "weights" in diff and s.get("weights") == "random-init" else ""
            raise ValueError(f"model {e.name!r}: the source profiles in {store.path} were made with other settings "
                             f"({shown}){hint}; the target must be profiled like its sources")
        if s.get("objective") != "norm":
            raise ValueError(f"model {e.name!r}: the store's objective is {s.get('objective')!r}; your images have no "
                             "class names, so only the label-free 'norm' objective can profile them")
        init = s["seed"] if weights == "random-init" else seed
        run_settings[e.name] = ProfileSettings(
            n_images=len(sample_), n_steps=int(s["n_steps"]), seed=int(init), method=s["method"], rule=s["rule"],
            baseline=s["baseline"], objective="norm", granularity=s["granularity"],
            internal_batch_size=internal_batch_size, pretrained=pretrained, precision=s["precision"],
            autocast=bool(s["autocast"]))

    # target profiles: cached per (images, settings); one model at a time
    # the key holds the run's settings; per-model facts (quick_gelu) are checked against each manifest instead
    key_settings = {m: {k: v for k, v in settings_of[m].items() if k != "quick_gelu"} for m in names}
    root = Path(work_dir) if work_dir is not None else targets_cache_dir()
    task = Task(TARGET, _ListedSample(sample_))
    target_c: dict[str, np.ndarray] = {}
    computed, reused, target_stores = [], [], {}
    for e in progress(filled, total=len(filled), desc="profiling your images (models)", enabled=show_progress):
        tdir = root / target_key(sample_, key_settings[e.name])
        target_stores[e.name] = str(tdir)
        arrays = None
        if has_profile(tdir, e.name, TARGET):
            arrays, man = read_profile(tdir, e.name, TARGET)
            if (man.get("image_sha256") != list(sample_.sha256) or _settings_of(man) != settings_of[e.name]
                    or list(arrays["block_names"]) != block_names[e.name]):
                arrays = None
        if arrays is None:
            st = run_settings[e.name]
            model, preprocess, _ = load_model(e, pretrained=pretrained, device=dev, precision=st.precision,
                                              seed=st.seed, with_tokenizer=False)
            result, manifest = profile_one(model, preprocess, None, e, task, sample_, st, dev)
            del model
            if [str(b) for b in result.block_names] != block_names[e.name]:
                raise ValueError(f"model {e.name!r}: its blocks on your images differ from the stored ones "
                                 f"({len(result.block_names)} vs {len(block_names[e.name])}); was the store made with "
                                 "another open_clip version or architecture?")
            manifest.update(sample_seed=seed, purpose="vlmsel select target")
            write_profile(tdir, e.name, TARGET, result.to_arrays(), manifest)
            _write_images_json(tdir, sample_)
            arrays, _ = read_profile(tdir, e.name, TARGET)
            computed.append(e.name)
        else:
            reused.append(e.name)
        c = arrays[scalar]
        target_c[e.name] = np.abs(c) if scalar in SIGNED_SCALARS else c

    # scores: the library's dcd_scores for the point estimate, the vectorised scorer for the bootstrap
    all_c = {m: {**scalars_src[m], _TARGET_KEY: target_c[m]} for m in names}
    prof = Profiles.from_block_scalars(all_c, [*sources, _TARGET_KEY], pooling)
    source_acc = acc.loc[names, sources].astype(float)
    point = dcd_scores(prof, source_acc, _TARGET_KEY, eta=eta, gamma=gamma, importance=importance,
                       divergence=divergence, utility=utility)
    scorer = TargetScorer(prof.subset(names, sources), source_acc, eta=eta, gamma=gamma, importance=importance,
                          divergence=divergence, utility=utility, pooling=pooling)
    cs = [target_c[m] for m in names]
    n = len(sample_)
    full = scorer.scores(cs, np.arange(n)[None])
    rng = np.random.default_rng(seed + 1)
    boot = scorer.scores(cs, rng.integers(0, n, size=(n_boot, n)))["score"]  # (M, B)
    p1, p5 = top_k_probabilities(boot, names, 5)
    order = ranking_orders(point.to_numpy()[:, None], names)[:, 0]
    chosen = order[0]
    sizes = curve_sizes(n)
    curve = []
    for k in sizes:
        if k == n:
            curve.append(float(p1[chosen]))
            continue
        sc = scorer.scores(cs, rng.integers(0, n, size=(n_boot, k)))["score"]
        curve.append(float((ranking_orders(sc, names)[0] == chosen).mean()))
    estimate = images_for_stability(sizes, curve, stable_at, n_boot)

    info_df = pd.DataFrame([e.to_dict() for e in filled]).set_index("name")
    if model_info is not None:
        for col in ("family", "params_M", "gflops"):
            if col in model_info.columns:
                info_df[col] = info_df[col].where(info_df[col].notna(), model_info[col].reindex(info_df.index))
    ranking = pd.DataFrame({
        "rank": np.arange(1, len(names) + 1),
        "model": [names[i] for i in order],
        "score": point.to_numpy()[order],
        "score_lo": np.percentile(boot, 2.5, axis=1)[order],
        "score_hi": np.percentile(boot, 97.5, axis=1)[order],
        "p_top1": p1[order], "p_top5": p5[order],
    })
    for col in ("family", "params_M", "gflops", "image_gflops"):
        ranking[col] = info_df.loc[ranking["model"], col].to_numpy()
    ranking["pareto"] = pareto_optimal(ranking["score"], ranking["image_gflops"].astype(float))

    alpha = pd.DataFrame(full["alpha"][:, 0, :], index=pd.Index(names, name="model"), columns=pd.Index(sources, name="dataset"))
    div = pd.DataFrame(full["divergence"][:, 0, :], index=alpha.index, columns=alpha.columns)
    src_w = {m: pd.DataFrame(scorer.w_s[i], index=sources, columns=block_names[m]) for i, m in enumerate(names)}
    src_p = {m: pd.DataFrame(scorer.p_s[i], index=sources, columns=block_names[m]) for i, m in enumerate(names)}
    tgt_w = {m: pd.Series(full["w"][i][0], index=block_names[m], name="target") for i, m in enumerate(names)}
    tgt_p = {m: pd.Series(full["p"][i][0], index=block_names[m], name="target") for i, m in enumerate(names)}

    if n < DEFAULT_N_IMAGES:
        notes.append(f"{n} images were used; the method was calibrated with {DEFAULT_N_IMAGES} per task, so expect "
                     "a noisier ranking (see the stability numbers)")
    if not pretrained:
        notes.append("random weights (pretrained=False): the ranking exercises the pipeline and means nothing")
    first = settings_of[names[0]]
    info = {
        "zoo": zoo if isinstance(zoo, str) else "custom",
        "benchmark": bench_name,
        "profiles": str(store.path),
        "target_stores": sorted(set(target_stores.values())),
        "sources": sources,
        "computed": computed, "reused": reused,
        "device": str(dev),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "image_source": sample_.source,
        "settings": {
            "n_images": n, "n_images_asked": n_images, "seed": seed, "n_boot": n_boot, "eta": eta, "gamma": gamma,
            "importance": importance, "divergence": divergence, "utility": utility, "scalar": scalar,
            "pooling": pooling, "max_gflops": max_gflops, "skip_bad": skip_bad, "stable_at": stable_at,
            **{k: first.get(k) for k in ("weights", "n_steps", "method", "rule", "baseline", "objective",
                                         "granularity", "precision")},
        },
        "versions": versions(),
    }
    return SelectionResult(
        ranking=ranking, alpha=alpha, divergence=div, source_acc=source_acc, source_importance=src_w,
        source_profiles=src_p, target_importance=tgt_w, target_profile=tgt_p,
        curve=pd.DataFrame({"n_images": sizes, "p_top1": curve}), estimate=estimate,
        images=list(sample_.ids), image_sha256=list(sample_.sha256), skipped=list(sample_.skipped),
        thumbnails=[_thumbnail(im) for im in sample_.images], excluded=excluded, info=info, notes=notes,
        stable_at=stable_at,
    )


class _ListedSample:
    """The image source of an already drawn sample (``profile_one`` reads the sample, not the source)."""

    def __init__(self, sample_: Sample):
        self.description = sample_.source

    def ids(self) -> list[str]:  # pragma: no cover - not used by profile_one
        return []

    def read(self, image_id: str):  # pragma: no cover
        raise KeyError(image_id)


def _thumbnail(img: Image.Image, size: int = 112) -> Image.Image:
    t = img.copy()
    t.thumbnail((size, size))
    return t


def _write_images_json(folder: Path, sample_: Sample) -> None:
    path = folder / "images.json"
    if path.exists():
        return
    with atomic_write(path, "w") as fh:
        json.dump({"source": sample_.source, "seed": sample_.seed, "ids": sample_.ids, "sha256": sample_.sha256,
                   "skipped": [list(s) for s in sample_.skipped]}, fh, indent=1)
