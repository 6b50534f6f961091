"""Does the mini world look like a real benchmark? Task-similarity figures, side by side with LOVM's.

A label-blind selection method can only work in a world where tasks whose images are alike also rank
the models alike, as in the real benchmarks; and a world built so that one method wins tells nothing.
So the mini world is judged, **before any selection method is run on it**, by how much its ground
truth resembles LOVM's table (35 models x 23 datasets), with figures that need no profile:

- the Kendall tau between two tasks' model rankings: mean and median over task pairs, share of
  negative pairs, mean for pairs in the same image domain and across domains;
- for each target, the tau of its best-matching source (mean over targets): how much a perfect
  source chooser could gain;
- the share of (model, task) cells above 1.5 x chance, the number of distinct best models, the median
  best-minus-worst accuracy of a task;
- R5, tau5 and NDCG@5 of three baselines that need no profile (INB, average rank, oracle_sim), with
  the broad reference task excluded from the targets.

:func:`realism_table` computes them for both worlds; :func:`acceptance` applies the rule fixed in
advance (same-domain tau at least 0.1 above cross-domain tau, mean tau within 0.15 of LOVM's).
``vlmsel mini realism`` prints both. Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

FIGURES: dict[str, str] = {
    "n_models": "models",
    "n_tasks": "tasks (datasets)",
    "n_domains": "image domains",
    "mean_tau": "mean Kendall tau between two tasks' model rankings",
    "median_tau": "median of those taus",
    "share_negative": "share of task pairs with negative tau",
    "same_domain_tau": "mean tau, pairs of the same image domain",
    "cross_domain_tau": "mean tau, pairs of different domains",
    "best_source_tau": "mean over targets of the best source's tau",
    "share_above_chance": "share of (model, task) cells above 1.5 x chance",
    "distinct_winners": "distinct best models over the tasks",
    "median_spread": "median best-minus-worst accuracy of a task",
}
"""Figure name -> what it measures (the rows of :func:`realism_table`, before the baselines)."""

BASELINES = ("inb", "avg_rank", "oracle_sim")
BASELINE_METRICS = ("r5", "tau5", "ndcg5")

MAX_MEAN_TAU_GAP = 0.15
"""For acceptance, the mini world's mean tau is within this of LOVM's."""
MIN_DOMAIN_GAP = 0.10
"""For acceptance, same-domain tau exceeds cross-domain tau by at least this ("clearly")."""


@dataclass(frozen=True)
class WorldTable:
    """A benchmark (:class:`vlmsel.data.benchmarks.Benchmark`: accuracies models x tasks and the broad
    reference task), each task's image domain and its chance level."""

    name: str
    benchmark: Any
    domains: Mapping[str, str]
    chance: Mapping[str, float]

    @property
    def wide(self) -> pd.DataFrame:
        return self.benchmark.wide

    @property
    def reference(self) -> str | None:
        return self.benchmark.reference_dataset


def tau_matrix(wide: pd.DataFrame) -> pd.DataFrame:
    """Kendall tau-b between every two tasks' model accuracies (tasks x tasks)."""
    return wide.corr(method="kendall")


def similarity_figures(world: WorldTable) -> dict[str, float]:
    """The task-similarity figures of :data:`FIGURES` for one world."""
    wide = world.wide.astype(float)
    tasks = list(wide.columns)
    tau = tau_matrix(wide).to_numpy()
    iu = np.triu_indices(len(tasks), 1)
    pairs = tau[iu]
    dom = np.array([world.domains[t] for t in tasks])
    same = dom[iu[0]] == dom[iu[1]]
    off = tau.copy()
    np.fill_diagonal(off, np.nan)
    chance = np.array([world.chance[t] for t in tasks])
    acc = wide.to_numpy()
    return {
        "n_models": float(wide.shape[0]),
        "n_tasks": float(len(tasks)),
        "n_domains": float(len(set(dom))),
        "mean_tau": float(np.mean(pairs)),
        "median_tau": float(np.median(pairs)),
        "share_negative": float(np.mean(pairs < 0)),
        "same_domain_tau": float(np.mean(pairs[same])) if same.any() else float("nan"),
        "cross_domain_tau": float(np.mean(pairs[~same])) if (~same).any() else float("nan"),
        "best_source_tau": float(np.mean(np.nanmax(off, axis=1))),
        "share_above_chance": float(np.mean(acc > 1.5 * chance[None, :])),
        "distinct_winners": float(len(set(wide.idxmax(axis=0)))),
        "median_spread": float(np.median(acc.max(axis=0) - acc.min(axis=0))),
    }


def baseline_figures(world: WorldTable) -> dict[str, float]:
    """Mean R5, tau5 and NDCG@5 of ``BASELINES`` (leave one task out; the reference task is not a target)."""
    from vlmsel.evaluation.harness import evaluate
    from vlmsel.evaluation.methods import make_method

    out = {}
    exclude = tuple(r for r in (world.reference,) if r is not None and r in world.wide.columns)
    for name in BASELINES:
        result = evaluate(world.benchmark, make_method(name), exclude_targets=exclude, n_boot=200, show_progress=False)
        for metric in BASELINE_METRICS:
            out[f"{name}_{metric}"] = result.mean(metric)
    return out


def figures(world: WorldTable, baselines: bool = True) -> dict[str, float]:
    out = similarity_figures(world)
    if baselines:
        out.update(baseline_figures(world))
    return out


def lovm_world() -> WorldTable:
    """LOVM's table (acc1, 35 x 23); domain = first word of ``dataset_domains.json``; chance = 1 / classes."""
    from vlmsel.data.benchmarks import load_benchmark
    from vlmsel.data.lovm import lovm_classnames, lovm_dataset_domains

    bench = load_benchmark("lovm")
    domains = {d: v.split("/")[0].strip() for d, v in lovm_dataset_domains().items()}
    tasks = list(bench.wide.columns)
    return WorldTable("LOVM", bench, {t: domains[t] for t in tasks}, {t: 1.0 / len(lovm_classnames(t)) for t in tasks})


def mini_world_table(root=None) -> WorldTable:
    """The mini world's committed ground truth; domain and chance from :mod:`vlmsel.mini.tasks`."""
    from vlmsel.mini.groundtruth import load_mini_benchmark
    from vlmsel.mini.tasks import get_task

    bench = load_mini_benchmark(root=root)
    tasks = list(bench.wide.columns)
    return WorldTable(
        "mini", bench, {t: get_task(t).domain for t in tasks}, {t: 1.0 / get_task(t).n_classes for t in tasks}
    )


def realism_table(worlds: list[WorldTable] | None = None, baselines: bool = True) -> pd.DataFrame:
    """Figures (rows) x worlds (columns, LOVM first); ``what`` says what each row measures."""
    worlds = worlds if worlds is not None else [lovm_world(), mini_world_table()]
    table = pd.DataFrame({w.name: figures(w, baselines) for w in worlds})
    labels = dict(FIGURES)
    for name in BASELINES:
        for metric in BASELINE_METRICS:
            shown = {"r5": "R5", "tau5": "tau5", "ndcg5": "NDCG@5"}[metric]
            labels[f"{name}_{metric}"] = f"{name} {shown} (reference task excluded)"
    table.insert(0, "what", [labels.get(i, i) for i in table.index])
    table.index.name = "figure"
    return table


def acceptance(table: pd.DataFrame, world: str = "mini", reference: str = "LOVM") -> tuple[bool, list[str]]:
    """The rule fixed before any method is run: ``(accepted, one line per criterion)``."""
    gap = table.at["same_domain_tau", world] - table.at["cross_domain_tau", world]
    dist = abs(table.at["mean_tau", world] - table.at["mean_tau", reference])
    checks = [
        (gap >= MIN_DOMAIN_GAP, f"same-domain minus cross-domain tau = {gap:+.2f} (needs >= {MIN_DOMAIN_GAP:.2f})"),
        (dist <= MAX_MEAN_TAU_GAP, f"|mean tau - {reference}'s| = {dist:.2f} (needs <= {MAX_MEAN_TAU_GAP:.2f})"),
    ]
    return all(ok for ok, _ in checks), [("ok   " if ok else "FAIL ") + line for ok, line in checks]
