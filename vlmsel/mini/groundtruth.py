"""Ground truth of the mini world: zero-shot accuracy of every mini model on every mini task.

Computed with the same code as for open_clip models (:func:`vlmsel.data.zeroshot.evaluate_zero_shot`: the
class embedding is the renormalised mean of the normalised prompt embeddings) on each task's fixed
evaluation split (:func:`vlmsel.mini.tasks.make_task_data`, 1,000 seeded pictures), and committed as
``data/mini/groundtruth.csv`` (tidy: ``model, dataset, acc1, mean_per_class_recall, n``).
:func:`load_mini_benchmark` turns it into the ``mini`` :class:`~vlmsel.data.benchmarks.Benchmark` whose
broad task (the INB baseline's reference) is ``broad``. Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import pandas as pd

from vlmsel.data.benchmarks import Benchmark
from vlmsel.data.zeroshot import evaluate_zero_shot
from vlmsel.files import atomic_write
from vlmsel.mini.models import (
    ARCH_FAMILY,
    is_trained,
    load_mini_model,
    model_cost,
    model_dir,
    to_model_input,
)
from vlmsel.mini.paths import default_mini_dir
from vlmsel.mini.tasks import BROAD_TASK, DEFAULT_N_IMAGES, get_task, list_tasks, make_task_data
from vlmsel.mini.zoo import MINI_ZOO, list_mini_models
from vlmsel.progress import progress

METRICS = ("acc1", "mean_per_class_recall")
GROUNDTRUTH_FILE = "groundtruth.csv"
MODEL_INFO_FILE = "models.csv"


def default_groundtruth_path(root: str | os.PathLike | None = None) -> Path:
    """``<mini dir>/groundtruth.csv``."""
    return (Path(root) if root is not None else default_mini_dir()) / GROUNDTRUTH_FILE


def compute_groundtruth(
    models: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    *,
    root: str | os.PathLike | None = None,
    n_images: int = DEFAULT_N_IMAGES,
    seed: int = 0,
    batch_size: int = 250,
    out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Zero-shot accuracy of trained mini models on mini tasks.

    Parameters
    ----------
    models : full model names (default: the whole zoo; every one must be trained).
    tasks : task names (default: every task).
    root : the mini data folder holding ``models/`` (default :func:`default_mini_dir`).
    n_images, seed : the evaluation split of each task (default 1,000 pictures, seed 0).
    out : when given, the table is also written there as CSV (atomically), with ``models.csv``
        (the zoo's model information, :func:`mini_model_info`) beside it.

    Returns
    -------
    Tidy DataFrame with columns ``model, dataset, acc1, mean_per_class_recall, n`` (one row per pair,
    models in zoo order, tasks in task order).
    """
    models = list(models) if models is not None else list_mini_models()
    tasks = list(tasks) if tasks is not None else list_tasks()
    missing = [m for m in models if not is_trained(m, root)]
    if missing:
        raise FileNotFoundError(f"mini models not trained under {model_dir('x', root).parent}: {missing}")

    data = {t: make_task_data(t, n=n_images, seed=seed) for t in tasks}
    inputs = {t: to_model_input(d.images) for t, d in data.items()}
    rows = []
    for model in progress(models, total=len(models), desc="mini ground truth"):
        net, _, tokenizer = load_mini_model(model, root)
        for t in tasks:
            res = evaluate_zero_shot(
                net, tokenizer, inputs[t], data[t].labels, data[t].classnames, data[t].templates, batch_size=batch_size
            )
            rows.append(
                dict(
                    model=model,
                    dataset=t,
                    acc1=res["acc1"],
                    mean_per_class_recall=res["mean_per_class_recall"],
                    n=res["n"],
                )
            )
    table = pd.DataFrame(rows)
    if out is not None:
        out = Path(out)
        with atomic_write(out, "w") as fh:
            table.to_csv(fh, index=False, float_format="%.4f")
        info = mini_model_info(root, compute=True)
        with atomic_write(out.parent / MODEL_INFO_FILE, "w") as fh:
            info.to_csv(fh, float_format="%.6g")
    return table


def load_mini_table(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The committed ground truth: tidy DataFrame ``model, dataset, acc1, mean_per_class_recall, n``."""
    path = Path(path) if path is not None else default_groundtruth_path()
    if not path.is_file():
        raise FileNotFoundError(f"mini ground truth {path} is missing (make it with `vlmsel mini groundtruth`)")
    table = pd.read_csv(path)
    need = {"model", "dataset", *METRICS}
    if not need <= set(table.columns):
        raise ValueError(f"{path}: expected columns {sorted(need)}, got {list(table.columns)}")
    if table.duplicated(["model", "dataset"]).any():
        raise ValueError(f"{path}: duplicate (model, dataset) rows")
    return table


def mini_model_info(root: str | os.PathLike | None = None, compute: bool = False) -> pd.DataFrame:
    """Facts about the zoo, indexed by model full name: ``arch, pretrained, family, params_M, gflops,
    image_params_M, image_gflops, steps, train_time_s`` (GFLOPs of the image tower per 64 px image;
    ``gflops`` equals ``image_gflops``: the text side is the same for every mini model).

    Read from ``<root>/models.csv`` unless ``compute`` (then measured and read from the manifests).
    """
    root_p = Path(root) if root is not None else default_mini_dir()
    path = root_p / MODEL_INFO_FILE
    if not compute:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing (it is written by `vlmsel mini groundtruth`)")
        return pd.read_csv(path, index_col="model")
    costs = {}
    rows = []
    for spec in MINI_ZOO:
        if spec.arch not in costs:
            costs[spec.arch] = model_cost(spec.arch)
        c = costs[spec.arch]
        manifest = {}
        mpath = model_dir(spec.name, root) / "training.json"
        if mpath.is_file():
            manifest = json.loads(mpath.read_text())
        rows.append(
            dict(
                model=spec.name,
                arch=spec.arch,
                pretrained=spec.mixture,
                family=ARCH_FAMILY[spec.arch],
                params_M=c["params_M"],
                gflops=c["gflops"],
                image_params_M=c["visual_params_M"],
                image_gflops=c["gflops"],
                steps=manifest.get("steps", spec.steps),
                train_time_s=manifest.get("wall_time_s", float("nan")),
            )
        )
    return pd.DataFrame(rows).set_index("model")


def load_mini_benchmark(metric: str = "acc1", root: str | os.PathLike | None = None):
    """The ``mini`` benchmark as a :class:`vlmsel.data.benchmarks.Benchmark` (reference dataset ``broad``).

    ``metric`` is ``"acc1"`` or ``"mean_per_class_recall"``. Models in zoo order, datasets in task order.
    """
    if metric not in METRICS:
        raise ValueError(f"benchmark 'mini' has metrics {METRICS}, not {metric!r}")
    root_p = Path(root) if root is not None else default_mini_dir()
    table = load_mini_table(root_p / GROUNDTRUTH_FILE)
    wide = table.pivot(index="model", columns="dataset", values=metric)
    models = [m for m in list_mini_models() if m in wide.index]
    extra = sorted(set(wide.index) - set(models))
    datasets = [t for t in list_tasks() if t in wide.columns]
    wide = wide.loc[models + extra, datasets].astype(float)
    if wide.isna().any().any():
        raise ValueError(f"{root_p / GROUNDTRUTH_FILE}: the table is incomplete (missing model/task pairs)")
    wide.index.name, wide.columns.name = "model", "dataset"
    info = mini_model_info(root_p).reindex(wide.index)
    notes = (
        "Mini world: tiny CLIP models trained contrastively here on generated 64x64 pictures of eight image domains "
        "(vlmsel.mini); zero-shot on each task's fixed 1,000-picture evaluation split.",
    )
    return Benchmark("mini", metric, wide, info, reference_dataset=BROAD_TASK, notes=notes)


def rank_correlations(wide: pd.DataFrame, method: str = "kendall") -> pd.DataFrame:
    """Task-by-task rank correlation of the models' accuracies (``method`` as ``DataFrame.corr``)."""
    return wide.corr(method=method)


def summary(wide: pd.DataFrame, reference: str = BROAD_TASK) -> pd.DataFrame:
    """Per task: the best model, its accuracy, chance, the INB-style pick (best on ``reference``) and
    its regret (best accuracy minus the INB pick's accuracy), and Kendall tau with the reference."""
    inb = wide[reference].idxmax()
    rows = []
    for t in wide.columns:
        col = wide[t]
        rows.append(
            dict(
                dataset=t,
                chance=1.0 / get_task(t).n_classes,
                best_model=col.idxmax(),
                best=col.max(),
                median=col.median(),
                worst=col.min(),
                inb_pick=inb,
                inb_regret=col.max() - col[inb],
                tau_with_reference=col.corr(wide[reference], method="kendall"),
            )
        )
    return pd.DataFrame(rows).set_index("dataset")
