"""Ground-truth benchmarks: which model is best on which dataset, as pandas tables.

Model selection is judged against published zero-shot accuracies. This module turns the upstream
files (fetched and verified by :mod:`vlmsel.data.upstream`) into one shape, a :class:`Benchmark`:

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
numbers for the same 35 models differ from LOVM's (the chapter :ref:`ch-benchmarks` shows by how much).

Other worlds add their own benchmark with :func:`register_benchmark` (the mini world does so through
the ``vlmsel.worlds`` entry point, :mod:`vlmsel.plugins`), and :func:`load_benchmark` then knows it by name.
:meth:`Benchmark.subset` cuts a table to some models and datasets (model facts kept in step) and
:meth:`Benchmark.covered_by` to what a profile store holds.

Upstream traps handled here: ``acc5`` is NaN for datasets with fewer than 5 classes; dataset names
differ between open_clip's table and LOVM (:data:`OPENCLIP_COLUMNS`).

Taught in the chapter "The model-selection problem and its benchmarks" (:ref:`ch-benchmarks`); the
benchmarks are listed on the method page (:ref:`method-benchmarks`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Callable, Protocol, Sequence

import numpy as np
import pandas as pd
import yaml

from vlmsel import plugins
from vlmsel.data.lovm import lovm_datasets
from vlmsel.data.upstream import DataFileError, fetch

#: The benchmarks built into vlmsel; :func:`benchmark_names` adds the registered ones (``mini``, yours).
BUILTIN_BENCHMARKS = ("lovm", "openclip48", "openclip121", "swab")
LOVM_METRICS = ("acc1", "mean_per_class_recall", "acc5")

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

    def subset(self, models: Sequence[str] | None = None, datasets: Sequence[str] | None = None) -> "Benchmark":
        """The same benchmark on some of its models and datasets (in the given order; None keeps all).

        ``model_info`` is cut to the same models, so the two never disagree. Unknown names raise a
        KeyError naming them.
        """
        models = self.models if models is None else list(models)
        datasets = self.datasets if datasets is None else list(datasets)
        bad_m = [m for m in models if m not in self.wide.index]
        bad_d = [d for d in datasets if d not in self.wide.columns]
        if bad_m or bad_d:
            raise KeyError(f"benchmark {self.name!r} has no model(s) {bad_m} / dataset(s) {bad_d}")
        return dataclasses.replace(self, wide=self.wide.loc[models, datasets],
                                   model_info=self.model_info.reindex(models))

    def with_table(self, wide: pd.DataFrame) -> "Benchmark":
        """The same benchmark with another table (models or datasets added, changed or dropped);
        ``model_info`` follows its rows (NaN for models it does not know)."""
        return dataclasses.replace(self, wide=wide, model_info=self.model_info.reindex(wide.index))

    def covered_by(self, store: "CoversProfiles", *, min_models: int = 2, min_datasets: int = 3) -> "Benchmark":
        """The benchmark cut to what a profile store holds: the datasets the store has for some model,
        and the models it has on *every* one of them (the benchmark's order is kept).

        Raises ValueError (naming the store) when fewer than ``min_models`` models or ``min_datasets``
        datasets remain: leave-one-dataset-out needs at least 2 and 3.
        """
        stored_models, stored_datasets = set(store.models), set(store.datasets)
        datasets = [d for d in self.datasets if d in stored_datasets]
        models = [m for m in self.models if m in stored_models and all(store.has(m, d) for d in datasets)]
        if len(models) < min_models or len(datasets) < min_datasets:
            raise ValueError(
                f"the profile store {getattr(store, 'path', store)} covers {len(models)} models x {len(datasets)} "
                f"datasets of benchmark {self.name!r}; at least {min_models} models and {min_datasets} datasets "
                "are needed")
        return self.subset(models, datasets)


class CoversProfiles(Protocol):
    """What :meth:`Benchmark.covered_by` needs of a profile store (:class:`vlmsel.profiles.store.ProfileStore`)."""

    @property
    def models(self) -> list[str]: ...

    @property
    def datasets(self) -> list[str]: ...

    def has(self, model: str, dataset: str) -> bool: ...


def _models_yml(relpath: str) -> list[str]:
    pairs = yaml.safe_load(fetch(relpath).read_text(encoding="utf-8"))
    return [f"{arch} {tag}" for arch, tag in pairs]


@functools.lru_cache(maxsize=1)
def openclip_models_meta() -> pd.DataFrame:
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
    meta = openclip_models_meta()
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
def _only_acc1(name: str, metric: str) -> None:
    if metric != "acc1":
        raise ValueError(f"benchmark {name!r} has only the metric 'acc1', not {metric!r}")


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


def _load_openclip(zoo: str, metric: str = "acc1") -> Benchmark:
    _only_acc1(zoo, metric)
    results = _openclip_results()
    meta = openclip_models_meta()
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


def _load_swab(metric: str = "acc1") -> Benchmark:
    _only_acc1("swab", metric)
    table = pd.read_csv(fetch("swab/LOVM/eval_table.csv"))
    wide = _pivot(table, "acc1", _models_yml("swab/model/models.yml"), lovm_datasets(), "SWAB eval_table.csv")
    notes = (
        "SWAB LOVM/eval_table.csv: recomputed with SWAB's own pipeline; differs from LOVM for the same models.",
        "8 of the 43 models (BLIP, BEIT3 retrieval checkpoints) are not open_clip models: table-only baselines.",
    )
    return Benchmark("swab", "acc1", wide, _model_info(list(wide.index)), notes=notes)


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


_BUILTIN_LOADERS: dict[str, Callable[[str], Benchmark]] = {
    "lovm": _load_lovm,
    "openclip48": lambda metric: _load_openclip("openclip48", metric),
    "openclip121": lambda metric: _load_openclip("openclip121", metric),
    "swab": _load_swab,
}
#: Benchmark name -> loader ``loader(metric) -> Benchmark``: the built-in ones and those worlds register.
BENCHMARK_REGISTRY: plugins.Registry[Callable[[str], Benchmark]] = plugins.Registry("benchmark", lambda: _BUILTIN_LOADERS)


def register_benchmark(name: str, loader: Callable[[str], Benchmark], *, replace: bool = False) -> None:
    """Make ``load_benchmark(name, metric)`` call ``loader(metric)``.

    This is how a world outside the core adds its ground truth (the mini world does it in
    :mod:`vlmsel.mini.world`). ``loader`` must return a :class:`Benchmark` named ``name`` and raise
    ValueError for a metric it does not have. Registering a taken name is an error unless ``replace``.
    """
    BENCHMARK_REGISTRY.register(name, loader, replace=replace)


def benchmark_names() -> list[str]:
    """Every name :func:`load_benchmark` accepts: the built-in ones, then the registered ones."""
    return BENCHMARK_REGISTRY.names()


def load_benchmark(name: str, metric: str = "acc1") -> Benchmark:
    """Load a ground-truth benchmark.

    Parameters
    ----------
    name : one of :func:`benchmark_names` (``lovm``, ``openclip48``, ``openclip121``, ``swab``, and the
        registered ones such as ``mini``).
    metric : ``"acc1"`` (default); ``lovm`` also has ``"mean_per_class_recall"`` and ``"acc5"``,
        ``mini`` has ``"mean_per_class_recall"``.

    Returns
    -------
    Benchmark with ``wide`` of shape (n_models, n_datasets): lovm 35 x 23, openclip48 48 x 20,
    openclip121 121 x 20, swab 43 x 23.
    """
    loader = BENCHMARK_REGISTRY.get(name)
    if loader is None:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {benchmark_names()}")
    return loader(metric)

