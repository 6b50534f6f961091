"""Leave-one-dataset-out evaluation of a model-selection method on a ground-truth benchmark (:ref:`method-protocol`).

Every dataset of the benchmark is the target once; every other dataset is a source. A method predicts a
score per model for the target from

- label-free inputs it holds itself (task profiles, text features), prepared in :meth:`Method.fit`,
  which sees only model and dataset *names*, never a ground-truth value;
- the ground truth of the sources, handed over in a :class:`LeaveOneOutTask` whose ``source_acc``
  does not contain the target's column.

So nothing derived from the target's ground truth reaches its prediction. The one documented exception
is a method that *declares* it uses the target's ground truth (:meth:`Method.uses_target_ground_truth`):
the oracle upper bound, and LOVM's ImageNet baseline on ImageNet itself (LOVM ranks imagenet1k by its own
column). Only then does the task carry ``target_acc``, and the result row is flagged
``uses_target_gt=True``; the CLI prints a note and ``exclude_targets`` drops such targets.

Hyperparameters are fixed, or chosen per target by an inner leave-one-out over the sources only
(``nested=True`` in :class:`vlmsel.evaluation.dcd.DcdMethod` and :class:`vlmsel.evaluation.baselines.ModelGptLite`).

Metrics per target and their means with seeded bootstrap intervals over targets come from
:mod:`vlmsel.evaluation.metrics`. Taught in the chapter :ref:`ch-ranking`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from vlmsel.evaluation.metrics import K_DEFAULT, metric_names, ranking_metrics, summarise
from vlmsel.files import atomic_write
from vlmsel.progress import progress


@dataclass(frozen=True)
class LeaveOneOutTask:
    """What a method may see when it predicts one target.

    Attributes
    ----------
    target : the target dataset.
    models : model names, one per row of ``source_acc`` and per predicted score.
    sources : the source datasets (every benchmark dataset but the target), one per column.
    source_acc : read-only array (n_models, n_sources): ground truth of the sources.
    target_acc : read-only array (n_models,) of the target's ground truth, or None. Set only for a
        method whose :meth:`Method.uses_target_ground_truth` says True for this target.
    """

    target: str
    models: tuple[str, ...]
    sources: tuple[str, ...]
    source_acc: np.ndarray
    target_acc: np.ndarray | None = None

    def source_frame(self) -> pd.DataFrame:
        """``source_acc`` as a DataFrame (models x sources)."""
        return pd.DataFrame(self.source_acc, index=list(self.models), columns=list(self.sources))


class Method:
    """A model-selection method, as the harness sees it. Subclasses override :meth:`predict`.

    Attributes
    ----------
    name : short name used in tables and file names.
    description : one line for tables (an oracle says so).
    expected_value : True for a method whose metrics are expectations computed by
        :meth:`expected_metrics` rather than from one prediction (the ``random`` baseline).
    """

    name: str = "method"
    description: str = ""
    expected_value: bool = False

    def fit(self, models: Sequence[str], datasets: Sequence[str]) -> None:
        """Label-free preparation for a benchmark with these models and datasets (names only)."""

    def set_reference_dataset(self, name: str | None) -> None:
        """Told by :func:`vlmsel.evaluation.harness.evaluate` which dataset plays ImageNet's role in the
        benchmark (``imagenet1k`` for LOVM, ``broad`` for the mini world; ``None`` for a bare table).
        Ignored by default."""

    def predict(self, task: LeaveOneOutTask) -> np.ndarray:
        """Predicted score per model on ``task.target``, array (n_models,); higher = better."""
        raise NotImplementedError

    def uses_target_ground_truth(self, target: str) -> bool:
        """Whether the prediction for ``target`` uses the target's ground truth (oracles; LOVM's INB)."""
        return False

    def selection(self, target: str) -> dict[str, Any]:
        """Hyperparameters chosen for ``target`` by nested selection (empty when fixed)."""
        return {}

    def params(self) -> dict[str, Any]:
        """The method's settings, recorded with every result."""
        return {}

    def expected_metrics(self, true: np.ndarray, models: Sequence[str], k: int) -> dict[str, float]:
        """Expected metrics on a target with ground truth ``true`` (only when ``expected_value``)."""
        raise NotImplementedError


def _wide(benchmark: Any) -> tuple[pd.DataFrame, str, str]:
    if isinstance(benchmark, pd.DataFrame):
        wide, name, metric = benchmark, "custom", "value"
    else:
        wide, name, metric = benchmark.wide, benchmark.name, benchmark.metric
    if wide.index.has_duplicates or wide.columns.has_duplicates:
        raise ValueError("benchmark has duplicate model or dataset names")
    if wide.shape[0] < 2 or wide.shape[1] < 3:
        raise ValueError(f"leave-one-dataset-out needs >= 2 models and >= 3 datasets, got {wide.shape}")
    values = wide.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        d = wide.columns[np.flatnonzero(~np.isfinite(values).all(axis=0))[0]]
        raise ValueError(f"benchmark {name!r} has missing values on dataset {d!r}")
    return wide.astype(np.float64), name, metric


@dataclass
class EvaluationResult:
    """Result of :func:`evaluate`: per-target metrics, their means with intervals, the predictions.

    Attributes
    ----------
    method, description, benchmark, metric : what was evaluated.
    per_target : DataFrame indexed by target: the metrics of :func:`vlmsel.evaluation.metrics.metric_names`,
        ``uses_target_gt`` and any hyperparameters chosen by nested selection.
    summary : DataFrame indexed by metric: ``mean, ci_low, ci_high, n_targets``.
    predictions : DataFrame (models x targets) of predicted scores (NaN for expected-value methods).
    info : settings (k, n_boot, level, seed, method params, excluded targets, notes).
    """

    method: str
    description: str
    benchmark: str
    metric: str
    per_target: pd.DataFrame
    summary: pd.DataFrame
    predictions: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def metrics(self) -> list[str]:
        """Metric columns of ``per_target``."""
        return list(self.summary.index)

    def mean(self, metric: str) -> float:
        """Mean of one metric over targets."""
        return float(self.summary.loc[metric, "mean"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: method, benchmark, info, summary and per-target metrics."""

        def clean(v: Any) -> Any:
            if isinstance(v, (float, np.floating)):
                return None if np.isnan(v) else float(v)
            if isinstance(v, np.integer):
                return int(v)
            if isinstance(v, np.bool_):
                return bool(v)
            return v

        return {
            "method": self.method,
            "description": self.description,
            "benchmark": self.benchmark,
            "metric": self.metric,
            "info": self.info,
            "summary": {m: {c: clean(v) for c, v in row.items()} for m, row in self.summary.iterrows()},
            "per_target": {t: {c: clean(v) for c, v in row.items()} for t, row in self.per_target.iterrows()},
        }

    def save(self, out_dir: str | os.PathLike) -> dict[str, Path]:
        """Write ``<stem>_per_target.csv``, ``<stem>_summary.csv``, ``<stem>_predictions.csv`` and
        ``<stem>.json`` (stem = ``<benchmark>_<metric>_<method>``) atomically; return their paths."""
        out = Path(out_dir)
        stem = f"{self.benchmark}_{self.metric.split(' ')[0]}_{self.method}"
        paths = {
            "per_target": out / f"{stem}_per_target.csv",
            "summary": out / f"{stem}_summary.csv",
            "predictions": out / f"{stem}_predictions.csv",
            "json": out / f"{stem}.json",
        }
        for key, frame in (
            ("per_target", self.per_target),
            ("summary", self.summary),
            ("predictions", self.predictions),
        ):
            with atomic_write(paths[key], "w") as fh:
                frame.to_csv(fh)
        with atomic_write(paths["json"], "w") as fh:
            json.dump(self.to_dict(), fh, indent=1, default=str)
            fh.write("\n")
        return paths

    def format(self, per_target: bool = True, digits: int = 3) -> str:
        """Plain-text tables: per target (optional) and the means with their intervals."""
        lines = [
            f"{self.method} on {self.benchmark} ({self.metric})" + (f": {self.description}" if self.description else "")
        ]
        if per_target:
            cols = [c for c in self.per_target.columns if c != "uses_target_gt"]
            table = self.per_target[cols].copy()
            if self.per_target["uses_target_gt"].any():
                table["uses_target_gt"] = self.per_target["uses_target_gt"].map({True: "yes", False: ""})
            lines.append(table.to_string(float_format=lambda x: f"{x:.{digits}f}"))
        lines.append(format_summary(self.summary, self.info.get("level", 0.95), digits))
        flagged = list(self.per_target.index[self.per_target["uses_target_gt"]])
        if flagged:
            lines.append(
                f"note: the prediction for {', '.join(flagged)} uses that target's own ground truth "
                "(see uses_target_gt); pass exclude_targets / --exclude-targets to leave it out."
            )
        return "\n".join(lines)


def format_summary(summary: pd.DataFrame, level: float = 0.95, digits: int = 3) -> str:
    """Means with intervals as text: ``metric  mean  [low, high]  n``."""
    pct = int(round(level * 100))
    intervals = [f"[{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]" for _, row in summary.iterrows()]
    width = max([len(f"{pct}% interval"), *map(len, intervals)])
    rows = [f"{'metric':<14}{'mean':>8}  {f'{pct}% interval':<{width}}{'n':>4}"]
    for (metric, row), interval in zip(summary.iterrows(), intervals):
        rows.append(f"{metric:<14}{row['mean']:>8.{digits}f}  {interval:<{width}}{int(row['n_targets']):>4}")
    return "\n".join(rows)


def evaluate(
    benchmark: Any,
    method: Method,
    *,
    targets: Sequence[str] | None = None,
    exclude_targets: Iterable[str] = (),
    k: int = K_DEFAULT,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
    show_progress: bool | None = None,
) -> EvaluationResult:
    """Leave-one-dataset-out evaluation of one method.

    Parameters
    ----------
    benchmark : a :class:`vlmsel.data.benchmarks.Benchmark` or a DataFrame (models x datasets) of accuracies.
    method : a :class:`Method` (see :mod:`vlmsel.evaluation.baselines` and :mod:`vlmsel.method.scoring`).
    targets : datasets to predict (default: all). Every other benchmark dataset is a source of each,
        including datasets left out of ``targets``.
    exclude_targets : datasets not to predict (they remain sources), e.g. ``("imagenet1k",)``.
    k : cutoff of R@k, tau@k and NDCG@k (default 5, as LOVM).
    n_boot, level, seed : bootstrap of the means over targets (10000 resamples, 95%, seed 0).
    show_progress : progress bar over targets (default: the environment's setting).

    Returns
    -------
    EvaluationResult
    """
    wide, bench_name, bench_metric = _wide(benchmark)
    models = tuple(str(m) for m in wide.index)
    datasets = tuple(str(d) for d in wide.columns)
    excluded = set(exclude_targets)
    unknown = sorted((set(targets or ()) | excluded) - set(datasets))
    if unknown:
        raise KeyError(f"datasets {unknown} are not in benchmark {bench_name!r}; it has {list(datasets)}")
    chosen = [d for d in (targets if targets is not None else datasets) if d not in excluded]
    if not chosen:
        raise ValueError("no target left to evaluate")
    values = wide.to_numpy()
    method.set_reference_dataset(getattr(benchmark, "reference_dataset", None))
    method.fit(models, datasets)

    rows, preds = [], {}
    for target in progress(chosen, total=len(chosen), desc=f"evaluate {method.name}", enabled=show_progress):
        t = datasets.index(target)
        src = [j for j in range(len(datasets)) if j != t]
        source_acc = values[:, src].copy()
        source_acc.setflags(write=False)
        uses_gt = bool(method.uses_target_ground_truth(target))
        target_acc = None
        if uses_gt:
            target_acc = values[:, t].copy()
            target_acc.setflags(write=False)
        task = LeaveOneOutTask(target, models, tuple(datasets[j] for j in src), source_acc, target_acc)
        true = values[:, t]
        if method.expected_value:
            scores = np.full(len(models), np.nan)
            row = dict(method.expected_metrics(true, models, k))
        else:
            scores = np.asarray(method.predict(task), dtype=np.float64)
            if scores.shape != (len(models),):
                raise ValueError(
                    f"{method.name} predicted shape {scores.shape} for {target!r}, expected ({len(models)},)"
                )
            if not np.all(np.isfinite(scores)):
                raise ValueError(f"{method.name} predicted NaN or inf scores for {target!r}")
            row = ranking_metrics(scores, true, models, k)
        row["uses_target_gt"] = uses_gt
        row.update(method.selection(target))
        rows.append(row)
        preds[target] = scores
    per_target = pd.DataFrame(rows, index=pd.Index(chosen, name="target"))
    summary = summarise(per_target, metric_names(k), n_boot=n_boot, level=level, seed=seed)
    predictions = pd.DataFrame(preds, index=pd.Index(models, name="model"))
    info = {
        "k": k,
        "n_boot": n_boot,
        "level": level,
        "seed": seed,
        "params": method.params(),
        "n_models": len(models),
        "n_datasets": len(datasets),
        "targets": chosen,
        "excluded_targets": sorted(excluded),
        "uses_target_gt": [t for t, r in zip(chosen, rows) if r["uses_target_gt"]],
    }
    if not isinstance(benchmark, pd.DataFrame):
        info["notes"] = list(getattr(benchmark, "notes", ()))
    return EvaluationResult(
        method.name, method.description, bench_name, bench_metric, per_target, summary, predictions, info
    )


def compare(results: Sequence[EvaluationResult], metrics: Sequence[str] | None = None, digits: int = 3) -> pd.DataFrame:
    """One row per method, one column per metric: ``mean [low, high]`` strings, for printing."""
    if not results:
        raise ValueError("no results to compare")
    metrics = list(metrics or results[0].metrics)
    table = {}
    for r in results:
        table[r.method] = {
            m: f"{r.summary.loc[m, 'mean']:.{digits}f} [{r.summary.loc[m, 'ci_low']:.{digits}f}, "
            f"{r.summary.loc[m, 'ci_high']:.{digits}f}]"
            for m in metrics
        }
    return pd.DataFrame.from_dict(table, orient="index").rename_axis("method")


def compare_means(results: Sequence[EvaluationResult], metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per method, one column per metric: the mean over targets (floats)."""
    if not results:
        raise ValueError("no results to compare")
    metrics = list(metrics or results[0].metrics)
    return pd.DataFrame({r.method: r.summary.loc[metrics, "mean"] for r in results}).T.rename_axis("method")
