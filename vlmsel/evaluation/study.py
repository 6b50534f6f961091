"""What should a practitioner use? The pre-registered comparison of DCD with the cheaper label-free signals.

:func:`run_study` carries out ``data/plans/what_to_use.md`` (fixed before any of its methods was evaluated):
every registered method (:data:`REGISTERED`) on the leave-one-dataset-out harness, the permutation nulls of
the source-weighted ones (:func:`vlmsel.evaluation.null.permutation_null` for fixed hyperparameters,
:func:`vlmsel.evaluation.null.relabelling_null` for nested ones), the paired differences against average
rank, INB and the paper's DCD, the cost of each method per target image, and the decision of the plan's
section 7 (:func:`decide`): which method ``vlmsel select`` should use by default. Every outcome is
reported; nothing here is tuned on the targets it scores.

``vlmsel study --benchmark mini --out DIR`` runs it and writes the tables (:meth:`Study.save`). Taught in
the chapter "What should I use?" (:ref:`ch-what-to-use`).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from vlmsel.evaluation.dcd import DcdMethod
from vlmsel.evaluation.harness import EvaluationResult, compare, evaluate
from vlmsel.evaluation.methods import make_method
from vlmsel.evaluation.metrics import K_DEFAULT
from vlmsel.evaluation.null import PermutationNull, paired_differences, permutation_null, relabelling_null
from vlmsel.evaluation.options import TARGET_ONLY_METHODS
from vlmsel.files import atomic_write
from vlmsel.profiles.store import ProfileStore

#: Every method of the plan, in the order of its table (sections 4 and 5).
REGISTERED: tuple[str, ...] = (
    "msp",
    "neg_entropy",
    "vega",
    "emb_cos_nested",
    "emb_mmd_nested",
    "objective_w1_nested",
    "pixel_mmd_nested",
    "dcd",
    "dcd_nested",
    "dcd_z",
    "dcd_z_nested",
    "avg_rank",
    "inb",
    "random",
    "oracle_sim",
)
#: DCD at the paper's setting, the reference of every paired comparison and of the decision.
REFERENCE = "dcd"
#: The methods every method is compared with, target by target.
AGAINST: tuple[str, ...] = ("avg_rank", "inb", "dcd")
#: The candidates for ``select``'s default (section 7): every registered method but the oracle, random and
#: the reference itself; k = 12 for the simultaneous (Bonferroni) intervals.
CANDIDATES: tuple[str, ...] = tuple(m for m in REGISTERED if m not in ("oracle_sim", "random", REFERENCE))
#: The candidates that weight sources (their permutation null must reject at 0.05 for step 1).
SOURCE_WEIGHTED: tuple[str, ...] = (
    "emb_cos_nested",
    "emb_mmd_nested",
    "objective_w1_nested",
    "pixel_mmd_nested",
    "dcd_nested",
    "dcd_z",
    "dcd_z_nested",
)
#: Non-inferiority margin of the decision's step 2, in NDCG@5.
MARGIN = 0.01
#: Means closer than this count as a tie in the decision's step 1.
TIE = 0.001
#: What each method reads (section 8's "inputs" column).
INPUTS: dict[str, str] = {
    **{m: "target images + class names" for m in ("msp", "neg_entropy", "vega")},
    **{
        m: "target images + source images and ground truth"
        for m in ("emb_cos_nested", "emb_mmd_nested", "objective_w1_nested", "dcd", "dcd_nested", "dcd_z")
    },
    "dcd_z_nested": "target images + source images and ground truth",
    "pixel_mmd_nested": "target images (pixels) + source images and ground truth",
    "avg_rank": "source ground truth",
    "inb": "reference ground truth",
    "random": "nothing",
    "oracle_sim": "the target's ground truth (upper bound)",
}


def cost_in_forward_passes(method: str, n_steps: int) -> float:
    """Image-tower work per target image and model, in forward passes G (a backward pass = 2 G): DCD's
    ``3 (n_steps + 1) + 2``, one pass for an embedding or zero-shot signal, none for the rest. The
    target-only scores also encode the K x J class prompts once per task with the text tower."""
    base = method.removesuffix("_nested")
    if base in ("dcd", "dcd_z"):
        return 3.0 * (n_steps + 1) + 2.0
    if base in ("msp", "neg_entropy", "vega", "emb_cos", "emb_mmd", "objective_w1"):
        return 1.0
    return 0.0


@dataclass
class Study:
    """The study's results: every method's evaluation, the nulls, the paired tables, costs and the decision."""

    results: dict[str, EvaluationResult]
    nulls: dict[str, PermutationNull]
    paired: pd.DataFrame
    costs: pd.DataFrame
    decision: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    def table(self, digits: int = 3) -> pd.DataFrame:
        """Section 8.1: one row per method: inputs, cost, every metric as ``mean [low, high]``, the null."""
        shown = compare(list(self.results.values()), digits=digits)
        rows = self.costs.join(shown)
        null_p, null_mean = {}, {}
        for name, null in self.nulls.items():
            s = null.summary()
            null_p[name] = s.loc["ndcg5", "p"]
            null_mean[name] = f"{s.loc['ndcg5', 'null_mean']:.{digits}f} ± {s.loc['ndcg5', 'null_sd']:.{digits}f}"
        rows["null_ndcg5"] = pd.Series(null_mean)
        rows["null_p_ndcg5"] = pd.Series(null_p)
        rows["null_shuffles"] = pd.Series({n: v.n for n, v in self.nulls.items()})
        return rows

    def means(self) -> pd.DataFrame:
        """Every method's mean, lower and upper bound of every metric (floats), one row per method."""
        out = {}
        for name, r in self.results.items():
            row = {}
            for m in r.metrics:
                row[m] = r.summary.loc[m, "mean"]
                row[f"{m}_low"] = r.summary.loc[m, "ci_low"]
                row[f"{m}_high"] = r.summary.loc[m, "ci_high"]
            out[name] = row
        return pd.DataFrame.from_dict(out, orient="index").rename_axis("method")

    def per_target(self, metric: str) -> pd.DataFrame:
        """Section 8.3: targets x methods of one metric."""
        return pd.DataFrame({n: r.per_target[metric] for n, r in self.results.items()})

    def nested_choices(self) -> pd.DataFrame:
        """The hyperparameters each nested method chose for each target (and its inner score)."""
        rows = []
        for name, r in self.results.items():
            if not name.endswith("_nested"):
                continue
            for target, row in r.per_target.iterrows():
                rows.append(
                    {
                        "method": name,
                        "target": target,
                        **{c: row[c] for c in ("eta", "gamma", "inner_score") if c in r.per_target},
                    }
                )
        return pd.DataFrame(rows)

    def save(self, folder: str | os.PathLike) -> list[Path]:
        """Write every table (CSV) and the decision and settings (JSON) into ``folder``; returns the paths."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "methods.csv": self.table(),
            "means.csv": self.means(),
            "paired.csv": self.paired,
            "per_target_ndcg5.csv": self.per_target("ndcg5"),
            "per_target_top1_regret.csv": self.per_target("top1_regret"),
            "nested_choices.csv": self.nested_choices(),
            "nulls.csv": (
                pd.concat({n: v.summary() for n, v in self.nulls.items()}, names=["method", "metric"])
                if self.nulls
                else pd.DataFrame(columns=["method", "metric", "observed", "null_mean", "null_sd", "p"])
            ),
        }
        written = []
        for name, frame in files.items():
            with atomic_write(out / name, "w") as fh:
                frame.to_csv(fh)
            written.append(out / name)
        with atomic_write(out / "decision.json", "w") as fh:
            json.dump({"decision": self.decision, "info": self.info}, fh, indent=1, default=_plain)
            fh.write("\n")
        written.append(out / "decision.json")
        return written


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def run_study(
    benchmark: Any,
    store: ProfileStore,
    *,
    methods: Sequence[str] = REGISTERED,
    exclude_targets: Sequence[str] = (),
    n_boot: int = 10_000,
    seed: int = 0,
    null: int = 1000,
    null_nested: int = 100,
    k: int = K_DEFAULT,
    show_progress: bool | None = None,
) -> Study:
    """Run the pre-registered study on ``benchmark`` with the profile ``store`` (its feature arrays included).

    Parameters
    ----------
    benchmark : a :class:`vlmsel.data.benchmarks.Benchmark` (its reference dataset is excluded as a target
        unless it is given in ``exclude_targets`` already).
    store : the :class:`~vlmsel.profiles.store.ProfileStore` of the benchmark's zoo on its datasets.
    methods : default :data:`REGISTERED`; the decision needs ``dcd`` and considers the :data:`CANDIDATES` run.
    n_boot, seed : bootstrap of every interval (10,000 resamples, seed 0: the same resamples for every method).
    null, null_nested : shuffles of the permutation null (fixed hyperparameters) and of the relabelling null
        (nested ones) of every source-weighted method (0: none).
    k : the cutoff of R@k, tau@k and NDCG@k (5).
    """
    exclude = list(exclude_targets)
    reference = getattr(benchmark, "reference_dataset", None)
    if reference is not None and reference in benchmark.datasets and reference not in exclude:
        exclude.append(reference)
    results: dict[str, EvaluationResult] = {}
    nulls: dict[str, PermutationNull] = {}
    seconds: dict[str, float] = {}
    for name in methods:
        method = make_method(name, profiles=store, **({"seed": seed} if name == "random" else {}))
        t0 = time.perf_counter()
        results[name] = evaluate(
            benchmark, method, exclude_targets=exclude, k=k, n_boot=n_boot, seed=seed, show_progress=show_progress
        )
        seconds[name] = time.perf_counter() - t0
        if isinstance(method, DcdMethod) and method.nested and null_nested:  # every source-weighted method
            nulls[name] = relabelling_null(
                benchmark, method, null_nested, seed, exclude_targets=exclude, k=k, show_progress=show_progress
            )
        elif isinstance(method, DcdMethod) and null:
            nulls[name] = permutation_null(
                benchmark, method, n_shuffles=null, seed=seed, exclude_targets=exclude, k=k, show_progress=show_progress
            )
    paired = _paired(results, n_boot, seed)
    n_steps = _store_steps(store)
    costs = _costs(results, benchmark, store, n_steps, seconds)
    decision = decide(results, nulls, costs, n_boot=n_boot, seed=seed)
    info = {
        "plan": "data/plans/what_to_use.md",
        "benchmark": getattr(benchmark, "name", "custom"),
        "store": str(store.path),
        "store_n_steps": n_steps,
        "targets": results[next(iter(results))].info["targets"],
        "excluded_targets": exclude,
        "n_boot": n_boot,
        "seed": seed,
        "null_shuffles": null,
        "null_nested_shuffles": null_nested,
        "k": k,
    }
    return Study(results, nulls, paired, costs, decision, info)


def _store_steps(store: ProfileStore) -> int:
    """The integration steps the store's entries were made with (one value, or ValueError)."""
    steps = {store.manifest(m, d).get("n_steps") for m, d in store._entries()}
    if len(steps) != 1 or not isinstance(next(iter(steps)), int):
        raise ValueError(f"profile store {store.path} mixes integration settings ({sorted(map(str, steps))})")
    return int(next(iter(steps)))  # type: ignore[arg-type]


def _paired(results: dict[str, EvaluationResult], n_boot: int, seed: int) -> pd.DataFrame:
    """Section 8.2: every method minus each of :data:`AGAINST`, every metric, 95% intervals."""
    frames = []
    for name, r in results.items():
        if r.per_target.isna().all().all():
            continue
        for other in AGAINST:
            if other not in results or other == name:
                continue
            d = paired_differences(r, results[other], n_boot=n_boot, seed=seed).reset_index()
            d.insert(0, "against", other)
            d.insert(0, "method", name)
            frames.append(d)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _costs(
    results: dict[str, EvaluationResult], benchmark: Any, store: ProfileStore, n_steps: int, seconds: dict[str, float]
) -> pd.DataFrame:
    """Inputs, image-tower forward passes per target image and model (G), GFLOPs per target image summed
    over the zoo, the classes whose J prompts the text tower encodes once per target (target-only scores),
    and wall seconds of the evaluation."""
    gflops = _zoo_gflops(benchmark)
    classes = _classes_per_task(store, results)
    rows = {}
    for name in results:
        g = cost_in_forward_passes(name, n_steps)
        rows[name] = {
            "inputs": INPUTS.get(name, ""),
            "forward_passes_G": g,
            "zoo_gflops_per_image": g * gflops if math.isfinite(gflops) else math.nan,
            "classes_per_task": classes if name in ("msp", "neg_entropy", "vega") else 0.0,
            "eval_seconds": round(seconds.get(name, math.nan), 2),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")


def _zoo_gflops(benchmark: Any) -> float:
    """The image towers' GFLOPs per image summed over the zoo (NaN when the zoo's table lacks them)."""
    try:
        from vlmsel.data.zoo import load_zoo

        zoo = load_zoo(benchmark.name)
        return float(sum(e.image_gflops for e in zoo if e.name in set(benchmark.models)))
    except Exception:  # noqa: BLE001 - a zoo without a GFLOPs table only loses this column
        return math.nan


def _classes_per_task(store: ProfileStore, results: dict[str, EvaluationResult]) -> float:
    """Mean over the targets of K, the classes whose prompts the text tower encodes once per target."""
    targets = results[next(iter(results))].info["targets"]
    model = store.models[0]
    try:
        return float(np.mean([len(store.features(model, t, "class_names")) for t in targets]))
    except ValueError:
        return math.nan


def decide(
    results: dict[str, EvaluationResult],
    nulls: dict[str, PermutationNull],
    costs: pd.DataFrame,
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """The plan's section 7: which candidate becomes ``select``'s default, with every step's numbers.

    Intervals are paired bootstraps of each candidate minus ``dcd`` at the Bonferroni level
    ``1 - alpha / k`` (k = the candidates run). Step 1 (*better*): the NDCG@5 interval lies above 0, the
    top-1 regret interval does not lie entirely above 0, and a source-weighted candidate's null p <= alpha;
    the best mean wins (ties within :data:`TIE` go to the cheaper). Step 2 (*as good and cheaper*): the NDCG@5
    interval's lower end is above ``-MARGIN``, the regret condition holds and it costs fewer forward passes
    than ``dcd``; the cheapest wins (ties to the higher mean). Otherwise ``dcd`` stays.
    """
    if REFERENCE not in results:
        raise ValueError(f"the decision compares with {REFERENCE!r}, which was not run")
    candidates = [c for c in CANDIDATES if c in results]
    level = 1.0 - alpha / max(len(candidates), 1)
    ref = results[REFERENCE]
    ref_cost = float(costs.loc[REFERENCE, "forward_passes_G"])
    rows = {}
    for c in candidates:
        d = paired_differences(results[c], ref, ["ndcg5", "top1_regret"], n_boot=n_boot, level=level, seed=seed)
        p = nulls[c].p_value("ndcg5") if c in nulls else math.nan
        regret_ok = not d.loc["top1_regret", "ci_low"] > 0
        null_ok = c not in SOURCE_WEIGHTED or p <= alpha  # no null run: condition (iii) is not met
        rows[c] = {
            "ndcg5": float(results[c].summary.loc["ndcg5", "mean"]),
            "delta_ndcg5": float(d.loc["ndcg5", "mean"]),
            "delta_low": float(d.loc["ndcg5", "ci_low"]),
            "delta_high": float(d.loc["ndcg5", "ci_high"]),
            "delta_regret": float(d.loc["top1_regret", "mean"]),
            "regret_low": float(d.loc["top1_regret", "ci_low"]),
            "regret_high": float(d.loc["top1_regret", "ci_high"]),
            "null_p": p,
            "cost_G": float(costs.loc[c, "forward_passes_G"]),
            "better": bool(d.loc["ndcg5", "ci_low"] > 0 and regret_ok and null_ok),
            "as_good_and_cheaper": bool(
                d.loc["ndcg5", "ci_low"] > -MARGIN and regret_ok and costs.loc[c, "forward_passes_G"] < ref_cost
            ),
        }
    better = [c for c in candidates if rows[c]["better"]]
    cheaper = [c for c in candidates if rows[c]["as_good_and_cheaper"]]

    def cost(c: str) -> tuple[float, bool]:  # image passes, then the text tower's class prompts (target-only)
        return rows[c]["cost_G"], c in TARGET_ONLY_METHODS

    if better:
        top = max(rows[c]["ndcg5"] for c in better)
        tied = [c for c in better if rows[c]["ndcg5"] >= top - TIE]
        default, step = min(tied, key=lambda c: (*cost(c), -rows[c]["ndcg5"])), 1
    elif cheaper:
        default, step = min(cheaper, key=lambda c: (*cost(c), -rows[c]["ndcg5"])), 2
    else:
        default, step = REFERENCE, 3
    return {
        "default": default,
        "step": step,
        "level": level,
        "k": len(candidates),
        "margin": MARGIN,
        "reference": REFERENCE,
        "reference_ndcg5": float(ref.summary.loc["ndcg5", "mean"]),
        "reference_cost_G": ref_cost,
        "better": better,
        "as_good_and_cheaper": cheaper,
        "candidates": rows,
    }
