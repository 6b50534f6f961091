"""How much do the selections change when the conductance is computed more cheaply?

Profiles approximate a path integral (:ref:`method-conductance`); fewer path points make them cheaper and
less exact. What matters to a user is not the profile error but whether the *selection* changes. This
module measures both, for the settings swept by ``perf/fidelity_sweep.py`` on the mini world (the same 25
images of every task profiled at every (points, rule, n_steps); stored in ``data/mini/fidelity.npz``, :func:`vlmsel.mini.paths.fidelity_sweep_path`):

- :func:`load_sweep` reads the sweep as a :class:`Sweep` (block scalars per setting; :meth:`Sweep.profiles`
  pools them exactly as a profile store does);
- :func:`profile_error`: total-variation distance of every (model, task) profile to the reference's;
- :func:`selection_agreement`: per target, Kendall tau between the DCD scores of all models under two
  settings, and whether they pick the same top-1 and how many of the same top-5;
- :func:`image_noise`: the same agreement between two *disjoint* samples of 25 images under one setting.
  This is the yardstick: a cheaper setting whose selections stay as close to the reference as two image
  samples stay to each other changes nothing a user could notice;
- :func:`fidelity_table` and :func:`cheapest_within_noise`: every setting's cost and agreement, and the
  cheapest one within the noise (the package's default, :data:`vlmsel.conductance.options.DEFAULT_SETTING`).

Taught in the chapters :ref:`ch-conductance` (the curves) and :ref:`ch-ablations` (point set and rule).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from vlmsel.evaluation.harness import evaluate
from vlmsel.evaluation.methods import make_method
from vlmsel.evaluation.metrics import K_DEFAULT, kendall_tau_b, name_ranks
from vlmsel.method.options import MethodOptions
from vlmsel.profiles.pooling import Profiles

__all__ = [
    "Sweep",
    "load_sweep",
    "setting_name",
    "parse_setting",
    "points_per_image",
    "cost_per_image",
    "profile_error",
    "selection_agreement",
    "image_noise",
    "fidelity_table",
    "cheapest_within_noise",
    "AGREEMENT",
]

#: The agreement measures of :func:`selection_agreement`, higher is closer.
AGREEMENT: tuple[str, ...] = ("score_tau", "top1_same", "top5_overlap")


def setting_name(method: str, rule: str, n_steps: int) -> str:
    """``"<points>-<rule>-<n_steps>"``, e.g. ``"riemann_trapezoid-trapezoid-16"``."""
    return f"{method}-{rule}-{int(n_steps)}"


def parse_setting(name: str) -> dict[str, Any]:
    """The inverse of :func:`setting_name`: ``{"method", "rule", "n_steps"}``."""
    method, rule, n = name.rsplit("-", 2)
    return {"method": method, "rule": rule, "n_steps": int(n)}


def points_per_image(name: str) -> int:
    """Path points per image, ``n_steps + 1``: one forward and one backward pass each."""
    return parse_setting(name)["n_steps"] + 1


def cost_per_image(name: str) -> float:
    """Work per image in units of one path point (a forward pass and a backward pass of about twice its
    cost): the ``n_steps + 1`` points, plus, for Gauss-Legendre points (which do not contain the ends
    ``α = 0, 1``), the two gradient-free forward passes for ``F(x)`` and ``F(x')``, 2/3 of a point."""
    s = parse_setting(name)
    return s["n_steps"] + 1 + (2 / 3 if s["method"] == "gausslegendre" else 0.0)


@dataclass(frozen=True)
class Sweep:
    """Block scalars of the mini world under several conductance settings, on the same images.

    Attributes
    ----------
    settings : setting names (:func:`setting_name`), one per first axis of the arrays.
    models, tasks : the mini zoo and the mini tasks.
    n_blocks : blocks of every model, (models,); or (settings, models) when the settings differ in their
        units (``perf/fidelity_sweep.py variants``: stage granularity).
    scalars : float32 array (settings, models, tasks, images, max blocks): the ``abs`` block scalars
        (NaN past a model's blocks).
    completeness_gap : (settings, models, tasks): median over images and blocks of
        ``|sum_j Cond_lj - (F(x) - F(x'))| / |F(x) - F(x')|``.
    seconds : (settings, models, tasks): CPU seconds of each entry (the published store's wall seconds,
        scaled to 25 images, for the setting it holds).
    meta : per setting, the store's recorded settings and versions.
    """

    settings: tuple[str, ...]
    models: tuple[str, ...]
    tasks: tuple[str, ...]
    n_blocks: np.ndarray
    scalars: np.ndarray
    completeness_gap: np.ndarray
    seconds: np.ndarray
    meta: tuple[dict, ...]

    def index(self, setting: str) -> int:
        try:
            return self.settings.index(setting)
        except ValueError:
            raise KeyError(f"setting {setting!r} is not in the sweep; it has {list(self.settings)}") from None

    def profiles(self, setting: str, options: MethodOptions | None = None) -> Profiles:
        """Task profiles of one setting, pooled as a profile store pools them (``options.pooling``)."""
        o = options or MethodOptions()
        s = self.index(setting)
        x = self.scalars[s]
        n_blocks = self.n_blocks if self.n_blocks.ndim == 1 else self.n_blocks[s]
        per_model = {
            m: {t: x[i, j, :, : n_blocks[i]].astype(np.float64) for j, t in enumerate(self.tasks)}
            for i, m in enumerate(self.models)
        }
        return Profiles.from_block_scalars(per_model, self.tasks, pooling=o.pooling)


def load_sweep(path: str | os.PathLike) -> Sweep:
    """Read a fidelity sweep written by ``perf/fidelity_sweep.py collect`` (the mini world's:
    :func:`vlmsel.mini.paths.fidelity_sweep_path`) or ``... variants`` (:func:`vlmsel.mini.paths.variants_path`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no fidelity sweep at {path}: run perf/fidelity_sweep.py run, then collect")
    with np.load(path, allow_pickle=False) as z:
        return Sweep(
            settings=tuple(str(s) for s in z["settings"]),
            models=tuple(str(m) for m in z["models"]),
            tasks=tuple(str(t) for t in z["tasks"]),
            n_blocks=z["n_blocks"].astype(np.int64),
            scalars=z["scalars"],
            completeness_gap=z["completeness_gap"],
            seconds=z["seconds"],
            meta=tuple(json.loads(str(z["meta"]))),
        )


def profile_error(profiles: Profiles, reference: Profiles) -> np.ndarray:
    """Total-variation distance ``0.5 sum_l |p_l - p_ref_l|`` of every (model, task) profile, (models, tasks)."""
    if profiles.models != reference.models or profiles.datasets != reference.datasets:
        raise ValueError("profiles and reference must cover the same models and tasks in the same order")
    return 0.5 * np.abs(profiles.values - reference.values).sum(axis=2)


def selection_agreement(scores: pd.DataFrame, reference: pd.DataFrame, k: int = K_DEFAULT) -> pd.DataFrame:
    """Per target: how close two sets of predicted scores (models x targets) rank the models.

    Returns a DataFrame indexed by target with ``score_tau`` (Kendall tau-b between the two score vectors),
    ``top1_same`` (1 if both pick the same model, else 0) and ``top5_overlap`` (shared models among the top
    ``k``, divided by ``k``). Ties are broken by model name, as every metric of the package does.
    """
    if list(scores.index) != list(reference.index) or list(scores.columns) != list(reference.columns):
        raise ValueError("the two score tables must have the same models and targets in the same order")
    ranks = name_ranks([str(m) for m in scores.index])
    rows = {}
    for t in scores.columns:
        a, b = scores[t].to_numpy(float), reference[t].to_numpy(float)
        ta, tb = np.lexsort((ranks, -a))[:k], np.lexsort((ranks, -b))[:k]
        rows[t] = {
            "score_tau": kendall_tau_b(a, b),
            "top1_same": float(ta[0] == tb[0]),
            "top5_overlap": len(set(ta) & set(tb)) / k,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _predict(benchmark, profiles: Profiles, exclude: Sequence[str], options: MethodOptions | None):
    res = evaluate(
        benchmark,
        make_method("dcd", profiles=profiles, options=options),
        exclude_targets=exclude,
        n_boot=200,
        show_progress=False,
    )
    return res


def image_noise(
    store, benchmark, *, n_images: int = 25, exclude: Sequence[str] = (), options: MethodOptions | None = None
) -> pd.DataFrame:
    """Agreement between the selections from disjoint samples of ``n_images`` images of one store.

    Sample ``i`` is images ``i n .. (i + 1) n - 1`` of every stored entry (the store's sample order is a
    seeded shuffle, so these are independent uniform samples); sample 0 (the first ``n_images``, the ones
    the method pools) is compared with every other full sample. Returns one row per comparison with the mean
    of every :data:`AGREEMENT` measure over targets.
    """
    o = options or MethodOptions()
    models, tasks = benchmark.models, benchmark.datasets
    stored = min(int(store.manifest(m, t)["n_images"]) for m in models for t in tasks)
    n_samples = stored // n_images
    if n_samples < 2:
        raise ValueError(f"the store holds {stored} images per task: too few for two samples of {n_images}")
    scalars = {m: {t: store.block_scalars(m, t, o.scalar) for t in tasks} for m in models}
    preds = []
    for i in range(n_samples):
        part = {m: {t: c[i * n_images : (i + 1) * n_images] for t, c in per.items()} for m, per in scalars.items()}
        prof = Profiles.from_block_scalars(part, tasks, pooling=o.pooling)
        preds.append(_predict(benchmark, prof, exclude, o).predictions)
    rows = []
    for i in range(1, n_samples):
        agree = selection_agreement(preds[i], preds[0])
        rows.append(
            {"samples": f"images 0-{n_images - 1} vs {i * n_images}-{(i + 1) * n_images - 1}", **agree.mean().to_dict()}
        )
    return pd.DataFrame(rows).set_index("samples")


def fidelity_table(
    sweep: Sweep,
    benchmark,
    *,
    reference: str,
    today: str,
    exclude: Sequence[str] = (),
    options: MethodOptions | None = None,
) -> pd.DataFrame:
    """Every setting of the sweep against the ``reference`` setting: cost and agreement.

    Columns: ``method, rule, n_steps, points`` (per image), ``cost`` (:func:`cost_per_image`),
    ``cost_vs_today`` (``today``'s cost divided by this one's: how many times cheaper), ``cpu_min`` (CPU minutes for the whole mini world), ``completeness_gap`` (median),
    ``profile_tv`` (median total-variation distance to the reference profiles), the mean over targets of
    every :data:`AGREEMENT` measure against the reference's selections, and the setting's own
    leave-one-out ``ndcg5``, ``r5`` and ``top1_regret``.
    """
    o = options or MethodOptions()
    ref_prof = sweep.profiles(reference, o)
    ref = _predict(benchmark, ref_prof, exclude, o)
    rows = {}
    for name in sweep.settings:
        s = sweep.index(name)
        prof = sweep.profiles(name, o)
        res = ref if name == reference else _predict(benchmark, prof, exclude, o)
        agree = selection_agreement(res.predictions, ref.predictions).mean()
        rows[name] = {
            **parse_setting(name),
            "points": points_per_image(name),
            "cost": cost_per_image(name),
            "cost_vs_today": cost_per_image(today) / cost_per_image(name),
            "cpu_min": float(np.nansum(sweep.seconds[s]) / 60),
            "completeness_gap": float(np.nanmedian(sweep.completeness_gap[s])),
            "profile_tv": float(np.median(profile_error(prof, ref_prof))),
            **agree.to_dict(),
            "ndcg5": res.mean("ndcg5"),
            "r5": res.mean("r5"),
            "top1_regret": res.mean("top1_regret"),
        }
    return pd.DataFrame.from_dict(rows, orient="index").sort_values(["method", "rule", "n_steps"])


def cheapest_within_noise(table: pd.DataFrame, noise: pd.DataFrame, *, exclude: Sequence[str] = ()) -> str:
    """The setting of least cost (:func:`cost_per_image`) whose every :data:`AGREEMENT` measure against the reference
    is at least the mean agreement of two disjoint image samples (``noise``); ties go to the smaller
    profile error. ``exclude``: settings not to consider (the reference itself)."""
    floor = noise[list(AGREEMENT)].mean()
    ok = table.drop(index=[e for e in exclude if e in table.index])
    ok = ok[np.all([ok[a] >= floor[a] for a in AGREEMENT], axis=0)]
    if ok.empty:
        raise ValueError("no setting of the sweep agrees with the reference within the image noise")
    return str(ok.sort_values(["cost", "profile_tv"]).index[0])
