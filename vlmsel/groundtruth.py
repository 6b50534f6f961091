"""Ground-truth benchmarks: which model is best on which dataset, as pandas tables.

Model selection is judged against published zero-shot accuracies. This module turns the upstream
files (fetched and verified by :mod:`vlmsel.upstream`) into one shape, a :class:`Benchmark`:

======================  ===============  ================================================================
name                    models x data    source
======================  ===============  ================================================================
``lovm``                35 x 23          LOVM ``eval_table.csv``; ``acc1``, ``mean_per_class_recall`` or
                                         ``acc5`` (acc5 is undefined for 3 datasets, which are dropped)
``openclip48``          48 x 20          open_clip's published table, the 48-model zoo of vlmsel
``openclip121``         121 x 20         open_clip's published table, every model
``swab``                43 x 23          SWAB's recomputed table (8 models are BLIP/BEiT-3, not open_clip)
======================  ===============  ================================================================

open_clip's table reports one metric per dataset: top-1 accuracy, except mean per-class recall for
``flowers`` and ``pets`` (see ``Benchmark.notes``). Never mix tables within one experiment: SWAB's
numbers for the same 35 models differ from LOVM's (chapter 1 of the book shows by how much).

Upstream traps handled here (each has a test): ``dataset_domains.json`` is invalid JSON (a missing
comma); the clevr_closest_object_distance class-name file lost its blank 4th class, so names no longer
line up with labels; ``acc5`` is NaN for datasets with fewer than 5 classes; dataset names differ between
CLIP_benchmark, open_clip's table and LOVM (``benchmark_rename.yml`` and :data:`OPENCLIP_COLUMNS`).

Taught in chapter 1, "The model-selection problem and its benchmarks".
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd
import yaml

from vlmsel.upstream import DataFileError, fetch

#: Names accepted by :func:`load_benchmark`.
BENCHMARKS = ("lovm", "openclip48", "openclip121", "swab", "mini")
LOVM_METRICS = ("acc1", "mean_per_class_recall", "acc5")
#: LOVM's text-derived modelGPT features (``modelGPT/eval_table_features.csv``).
MODELGPT_FEATURES = ("IN-score", "text-f1", "text-acc1", "intraclass_sim", "inter_close", "intra_close",
                     "superclass_metric")

#: LOVM dataset name -> column of open_clip's ``docs/openclip_results.csv`` (20 of LOVM's 23 datasets;
#: diabetic_retinopathy, dmlab and fer2013 have no column there).
OPENCLIP_COLUMNS: dict[str, str] = {
    "cars": "Stanford Cars",
    "cifar100": "CIFAR-100",
    "clevr_closest_object_distance": "CLEVR Distance",
    "clevr_count_all": "CLEVR Counts",
    "country211": "Country211",
    "dtd": "Describable Textures",
    "eurosat": "EuroSAT",
    "flowers": "Oxford Flowers-102",
    "gtsrb": "GTSRB",
    "imagenet1k": "ImageNet 1k",
    "kitti_closest_vehicle_distance": "KITTI Vehicle Distance",
    "mnist": "MNIST",
    "pcam": "PatchCamelyon",
    "pets": "Oxford-IIIT Pet",
    "renderedsst2": "Rendered SST2",
    "resisc45": "RESISC45",
    "stl10": "STL-10",
    "sun397": "SUN397",
    "svhn": "SVHN",
    "voc2007": "Pascal VOC 2007",
}
#: Datasets whose open_clip column is mean per-class recall rather than top-1 accuracy.
OPENCLIP_MPCR_DATASETS = ("flowers", "pets")

#: CLIP_benchmark's class names for clevr_closest_object_distance (6 label bins, the 4th name blank).
#: LOVM's file lost the blank line upstream, which shifts labels 3-5 (see the data README).
CLEVR_DISTANCE_CLASSNAMES = ["very nearby", "nearby", "near", "", "distant", "very distant"]


@dataclass(frozen=True)
class Benchmark:
    """A ground-truth table: zero-shot performance of every model of a zoo on every dataset.

    Attributes
    ----------
    name : benchmark name (``"lovm"``, ``"openclip48"``, ...).
    metric : what the values measure (``"acc1"``, ``"mean_per_class_recall"``, ...).
    wide : DataFrame (n_models, n_datasets) of values in [0, 1]; index = model full name
        ``"<arch> <pretrained>"``, columns = dataset names, in the benchmark's canonical order.
    model_info : DataFrame indexed like ``wide``: ``arch, pretrained, family, params_M, gflops,
        image_params_M, image_gflops`` (NaN where unknown; parameters in millions, GFLOPs per image).
    reference_dataset : the broad dataset the INB baseline ranks by (``"imagenet1k"``).
    notes : caveats a reader of results must know.
    dropped_datasets : datasets left out because the metric is undefined there.
    """

    name: str
    metric: str
    wide: pd.DataFrame
    model_info: pd.DataFrame
    reference_dataset: str = "imagenet1k"
    notes: tuple[str, ...] = ()
    dropped_datasets: tuple[str, ...] = field(default=())

    @property
    def models(self) -> list[str]:
        """Model full names, in the benchmark's order."""
        return list(self.wide.index)

    @property
    def datasets(self) -> list[str]:
        """Dataset names, in the benchmark's order."""
        return list(self.wide.columns)

    @property
    def tidy(self) -> pd.DataFrame:
        """The table in long form, one row per (model, dataset), columns ``model, dataset, metric, value``."""
        long = self.wide.rename_axis(index="model", columns="dataset").stack().rename("value").reset_index()
        long.insert(2, "metric", self.metric)
        return long

    @property
    def shape(self) -> tuple[int, int]:
        """(n_models, n_datasets)."""
        return self.wide.shape

    def accuracy(self, dataset: str) -> pd.Series:
        """Ground truth on one dataset: Series over models. Unknown names raise a KeyError naming them."""
        if dataset not in self.wide.columns:
            raise KeyError(f"dataset {dataset!r} is not in benchmark {self.name!r}; it has {self.datasets}")
        return self.wide[dataset]


# --------------------------------------------------------------------------------------------- files
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


def _models_yml(relpath: str) -> list[str]:
    pairs = yaml.safe_load(fetch(relpath).read_text(encoding="utf-8"))
    return [f"{arch} {tag}" for arch, tag in pairs]


@functools.lru_cache(maxsize=1)
def _openclip_models_meta() -> pd.DataFrame:
    """vlmsel's own metadata for the 121 models of open_clip's table (family, tower, QuickGELU, zoo)."""
    with resources.files("vlmsel").joinpath("resources/openclip_models.csv").open("r", encoding="utf-8") as fh:
        meta = pd.read_csv(fh, keep_default_na=False, na_values=[""], dtype={"zoo": "string"})
    meta.index = meta["arch"] + " " + meta["pretrained"]
    return meta


def _openclip_results() -> pd.DataFrame:
    table = pd.read_csv(fetch("openclip/docs/openclip_results.csv"))
    table.index = table["name"] + " " + table["pretrained"]
    if table.index.duplicated().any():
        raise DataFileError(f"duplicate models in openclip_results.csv: {list(table.index[table.index.duplicated()])}")
    return table


def _model_info(fullnames: list[str]) -> pd.DataFrame:
    """Architecture facts for the given model full names (NaN for models outside open_clip's table)."""
    results = _openclip_results()
    profile = pd.read_csv(fetch("openclip/docs/model_profile.csv")).set_index("model")
    meta = _openclip_models_meta()
    rows = []
    for name in fullnames:
        arch, _, tag = name.partition(" ")
        row = {"arch": arch, "pretrained": tag, "family": np.nan, "params_M": np.nan, "gflops": np.nan,
               "image_params_M": np.nan, "image_gflops": np.nan}
        if name in meta.index:
            row["family"] = meta.at[name, "family"]
        if name in results.index:
            row["params_M"] = float(results.at[name, "params (M)"])
            row["gflops"] = float(results.at[name, "FLOPs (B)"])
        if arch in profile.index:
            row["image_params_M"] = float(profile.at[arch, "image_mparams"])
            row["image_gflops"] = float(profile.at[arch, "image_gflops"])
        if arch in ("BLIP", "BEIT3"):
            row["family"] = arch
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(fullnames, name="model"))


# ---------------------------------------------------------------------------------------- benchmarks
def _pivot(table: pd.DataFrame, value: str, models: list[str], datasets: list[str], source: str) -> pd.DataFrame:
    dup = table.duplicated(["model_fullname", "dataset"])
    if dup.any():
        raise DataFileError(f"{source}: duplicate (model, dataset) rows, e.g. {table[dup].iloc[0].to_dict()}")
    wide = table.pivot(index="model_fullname", columns="dataset", values=value)
    missing_models = sorted(set(models) - set(wide.index))
    missing_sets = sorted(set(datasets) - set(wide.columns))
    if missing_models or missing_sets:
        raise DataFileError(f"{source} lacks models {missing_models} / datasets {missing_sets}")
    wide = wide.loc[models, datasets].astype(float)
    wide.index.name, wide.columns.name = "model", "dataset"
    return wide


def _load_lovm(metric: str) -> Benchmark:
    if metric not in LOVM_METRICS:
        raise ValueError(f"benchmark 'lovm' has metrics {LOVM_METRICS}, not {metric!r}")
    table = pd.read_csv(fetch("lovm/LOVM/eval_table.csv"))
    wide = _pivot(table, metric, _models_yml("lovm/LOVM/models.yml"), lovm_datasets(), "LOVM eval_table.csv")
    dropped = tuple(c for c in wide.columns if wide[c].isna().any())
    notes = ["LOVM eval_table.csv (CLIP_benchmark zero-shot, LOVM templates and class names)."]
    if dropped:
        # acc5 is undefined for datasets with fewer than 5 classes (NaN upstream): leave them out.
        wide = wide.drop(columns=list(dropped))
        notes.append(f"{metric} is undefined (NaN upstream) for {', '.join(dropped)}; those datasets are dropped.")
    return Benchmark("lovm", metric, wide, _model_info(list(wide.index)), notes=tuple(notes),
                     dropped_datasets=dropped)


def _load_openclip(zoo: str) -> Benchmark:
    results = _openclip_results()
    meta = _openclip_models_meta()
    if zoo == "openclip48":
        models = list(meta.index[meta["zoo"] == "core"])
    else:
        models = list(meta.index)
    missing = [m for m in models if m not in results.index]
    if missing:
        raise DataFileError(f"open_clip's results table lacks zoo models {missing}")
    datasets = [d for d in lovm_datasets() if d in OPENCLIP_COLUMNS]
    wide = results.loc[models, [OPENCLIP_COLUMNS[d] for d in datasets]].astype(float)
    wide.columns = pd.Index(datasets, name="dataset")
    wide.index.name = "model"
    notes = (
        "open_clip docs/openclip_results.csv (CLIP_benchmark zero-shot via the DataComp suite).",
        "Values are top-1 accuracy except flowers and pets, which are mean per-class recall.",
    )
    return Benchmark(zoo, "acc1 (mpcr for flowers, pets)", wide, _model_info(models), notes=notes)


def _load_swab() -> Benchmark:
    table = pd.read_csv(fetch("swab/LOVM/eval_table.csv"))
    wide = _pivot(table, "acc1", _models_yml("swab/model/models.yml"), lovm_datasets(), "SWAB eval_table.csv")
    notes = (
        "SWAB LOVM/eval_table.csv: recomputed with SWAB's own pipeline; differs from LOVM for the same models.",
        "8 of the 43 models (BLIP, BEIT3 retrieval checkpoints) are not open_clip models: table-only baselines.",
    )
    return Benchmark("swab", "acc1", wide, _model_info(list(wide.index)), notes=notes)


def load_benchmark(name: str, metric: str = "acc1") -> Benchmark:
    """Load a ground-truth benchmark.

    Parameters
    ----------
    name : one of :data:`BENCHMARKS`.
    metric : ``"acc1"`` (default); ``lovm`` also has ``"mean_per_class_recall"`` and ``"acc5"``,
        ``mini`` has ``"mean_per_class_recall"``.

    Returns
    -------
    Benchmark with ``wide`` of shape (n_models, n_datasets): lovm 35 x 23, openclip48 48 x 20,
    openclip121 121 x 20, swab 43 x 23.
    """
    if name == "lovm":
        return _load_lovm(metric)
    if name == "mini":
        from vlmsel.mini.groundtruth import load_mini_benchmark

        return load_mini_benchmark(metric)
    if metric != "acc1":
        raise ValueError(f"benchmark {name!r} has only the metric 'acc1', not {metric!r}")
    if name in ("openclip48", "openclip121"):
        return _load_openclip(name)
    if name == "swab":
        return _load_swab()
    raise ValueError(f"unknown benchmark {name!r}; choose one of {BENCHMARKS}")


def modelgpt_features() -> pd.DataFrame:
    """LOVM's modelGPT inputs: one row per (model, dataset) of the lovm benchmark.

    Columns: ``model, dataset`` and the 7 text-derived scores ``IN-score, text-f1, text-acc1,
    intraclass_sim, inter_close, intra_close, superclass_metric`` (no ground-truth columns: those come from
    :func:`load_benchmark`, so a baseline cannot read the target's accuracy by accident).
    """
    table = pd.read_csv(fetch("lovm/modelGPT/eval_table_features.csv"))
    out = table[["model_fullname", "dataset", *MODELGPT_FEATURES]].rename(columns={"model_fullname": "model"})
    return out.reset_index(drop=True)

