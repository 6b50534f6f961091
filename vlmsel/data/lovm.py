"""LOVM's dataset metadata: the 23 datasets, their class names, prompt templates, image domains and tasks.

Every file is one of LOVM's upstream files (fetched and sha256-checked by :mod:`vlmsel.data.upstream`).
The ground-truth *tables* are in :mod:`vlmsel.data.benchmarks`; this module holds what describes the
datasets themselves, which tasks (:mod:`vlmsel.data.tasks`), zero-shot evaluation
(:mod:`vlmsel.data.zeroshot`) and the modelGPT baseline read.

Upstream traps handled here (each has a test): ``dataset_domains.json`` is invalid JSON (a missing
comma); the clevr_closest_object_distance class-name file lost its blank 4th class, so names no longer
line up with labels; dataset names differ between CLIP_benchmark and LOVM (``benchmark_rename.yml``).

Taught in the chapter "The model-selection problem and its benchmarks" (:ref:`ch-benchmarks`).
"""

from __future__ import annotations

import functools
import json
import re

import pandas as pd
import yaml

from vlmsel.data.upstream import DataFileError, fetch

#: LOVM's text-derived modelGPT features (``modelGPT/eval_table_features.csv``).
MODELGPT_FEATURES = ("IN-score", "text-f1", "text-acc1", "intraclass_sim", "inter_close", "intra_close",
                     "superclass_metric")

#: CLIP_benchmark's class names for clevr_closest_object_distance (6 label bins, the 4th name blank).
#: LOVM's file lost the blank line upstream, which shifts labels 3-5 (see the data README).
CLEVR_DISTANCE_CLASSNAMES = ["very nearby", "nearby", "near", "", "distant", "very distant"]


def _read_text_lines(relpath: str) -> list[str]:
    text = fetch(relpath).read_text(encoding="utf-8")
    return [line.rstrip("\r") for line in text.split("\n") if line.strip() != ""]


@functools.lru_cache(maxsize=None)
def lovm_datasets() -> list[str]:
    """The 23 LOVM datasets, in LOVM's order (``datasets.txt``)."""
    return _read_text_lines("lovm/LOVM/datasets.txt")


def _check_lovm_dataset(dataset: str) -> None:
    if dataset not in lovm_datasets():
        raise KeyError(f"{dataset!r} is not a LOVM dataset; the 23 datasets are {lovm_datasets()}")


def lovm_classnames(dataset: str) -> list[str]:
    """Class names of a LOVM dataset, in label order.

    For ``clevr_closest_object_distance`` the blank 4th class that LOVM's file dropped is restored, so that
    the list has 6 entries and index ``i`` is label ``i`` (as in CLIP_benchmark).
    """
    _check_lovm_dataset(dataset)
    text = fetch(f"lovm/LOVM/classnames/{dataset}.txt").read_text(encoding="utf-8")
    names = [line.rstrip("\r").strip() for line in text.split("\n")]
    names = [n for n in names if n]
    if dataset == "clevr_closest_object_distance" and names == [n for n in CLEVR_DISTANCE_CLASSNAMES if n]:
        return list(CLEVR_DISTANCE_CLASSNAMES)
    return names


def lovm_templates(dataset: str) -> list[str]:
    """Prompt templates of a LOVM dataset, each with a ``{c}`` placeholder for the class name."""
    _check_lovm_dataset(dataset)
    templates = [t.strip() for t in _read_text_lines(f"lovm/LOVM/templates/{dataset}.txt")]
    bad = [t for t in templates if "{c}" not in t]
    if bad:
        raise DataFileError(f"templates of {dataset} without a {{c}} placeholder: {bad}")
    return templates


def _lenient_json(text: str) -> dict:
    """Parse a JSON object that may lack commas between ``"key": "value"`` lines (LOVM's domains file)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        fixed = re.sub(r'"\s*\n(\s*)"', r'",\n\1"', text)
        return json.loads(fixed)


def lovm_dataset_domains() -> dict[str, str]:
    """Dataset -> image domain (e.g. ``"medical/eye images"``), parsed leniently (upstream JSON is invalid)."""
    return _lenient_json(fetch("lovm/LOVM/dataset_domains.json").read_text(encoding="utf-8"))


def lovm_dataset_tasks() -> dict[str, str]:
    """Dataset -> task description (e.g. ``"scene recognition"``)."""
    return _lenient_json(fetch("lovm/LOVM/dataset_tasks.json").read_text(encoding="utf-8"))


def clip_benchmark_ids() -> dict[str, str]:
    """LOVM dataset name -> CLIP_benchmark dataset id (``vtab/cifar100``, ``cars``, ...).

    From ``benchmark_rename.yml`` inverted; entries mapped to ``''`` are unused, and the ``wds/`` prefix
    (CLIP_benchmark's webdataset mirror) is removed.
    """
    rename = yaml.safe_load(fetch("lovm/LOVM/benchmark_rename.yml").read_text(encoding="utf-8"))
    return {lovm: cb.removeprefix("wds/") for cb, lovm in rename.items() if lovm}


def modelgpt_features() -> pd.DataFrame:
    """LOVM's modelGPT inputs: one row per (model, dataset) of the lovm benchmark.

    Columns: ``model, dataset`` and the 7 text-derived scores ``IN-score, text-f1, text-acc1,
    intraclass_sim, inter_close, intra_close, superclass_metric`` (no ground-truth columns: those come from
    :func:`vlmsel.data.benchmarks.load_benchmark`, so a baseline cannot read the target's accuracy by accident).
    """
    table = pd.read_csv(fetch("lovm/modelGPT/eval_table_features.csv"))
    out = table[["model_fullname", "dataset", *MODELGPT_FEATURES]].rename(columns={"model_fullname": "model"})
    return out.reset_index(drop=True)

