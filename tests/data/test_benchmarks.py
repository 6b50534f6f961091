"""The benchmark tables: shapes, orders, metrics and the known upstream traps; cutting a benchmark to
some models and datasets or to what a profile store covers; registering a benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vlmsel.data import benchmarks
from vlmsel.data.benchmarks import (
    BUILTIN_BENCHMARKS,
    OPENCLIP_COLUMNS,
    Benchmark,
    benchmark_names,
    load_benchmark,
    register_benchmark,
)
from vlmsel.data.lovm import lovm_datasets

EXPECTED_SHAPES = {"lovm": (35, 23), "openclip48": (48, 20), "openclip121": (121, 20), "swab": (43, 23)}


@pytest.mark.parametrize("name", EXPECTED_SHAPES)
def test_shapes_and_values(name):
    bench = load_benchmark(name)
    assert bench.shape == EXPECTED_SHAPES[name]
    values = bench.wide.to_numpy()
    assert np.isfinite(values).all()
    assert (values >= 0).all() and (values <= 1).all()
    assert bench.wide.index.is_unique and bench.wide.columns.is_unique
    assert list(bench.model_info.index) == bench.models
    tidy = bench.tidy
    assert list(tidy.columns) == ["model", "dataset", "metric", "value"]
    assert len(tidy) == bench.shape[0] * bench.shape[1]


def test_lovm_orders_and_known_values():
    bench = load_benchmark("lovm")
    assert bench.datasets == lovm_datasets()
    assert bench.datasets[0] == "cars" and bench.datasets[-1] == "voc2007"
    assert bench.models[0] == "RN50 openai"
    # Cells quoted in the data README (best models).
    assert bench.wide.loc["ViT-g-14 laion2b_s34b_b88k", "imagenet1k"] == pytest.approx(0.7848, abs=5e-5)
    assert bench.wide["stl10"].idxmax() == "ViT-L-14-336 openai"
    assert bench.wide["pcam"].idxmax() == "RN50 openai"


def test_lovm_mean_per_class_recall_differs_from_acc1():
    acc = load_benchmark("lovm", "acc1").wide
    mpcr = load_benchmark("lovm", "mean_per_class_recall").wide
    assert acc.shape == mpcr.shape
    assert not np.allclose(acc.to_numpy(), mpcr.to_numpy())


def test_acc5_nan_rows_are_dropped_with_a_note():
    bench = load_benchmark("lovm", "acc5")
    assert set(bench.dropped_datasets) == {"kitti_closest_vehicle_distance", "pcam", "renderedsst2"}
    assert bench.shape == (35, 20)
    assert np.isfinite(bench.wide.to_numpy()).all()
    assert any("undefined" in n for n in bench.notes)


def test_openclip_tables():
    b48 = load_benchmark("openclip48")
    b121 = load_benchmark("openclip121")
    assert set(b48.models) <= set(b121.models)
    assert set(load_benchmark("lovm").models) <= set(b48.models)
    assert not {"diabetic_retinopathy", "dmlab", "fer2013"} & set(b48.datasets)
    # open_clip's table: ViT-g-14 s34b ImageNet 0.7847 (LOVM has 0.7848).
    assert b121.wide.loc["ViT-g-14 laion2b_s34b_b88k", "imagenet1k"] == pytest.approx(0.7847)
    assert any("mean per-class recall" in n for n in b48.notes)
    fam = b48.model_info["family"]
    assert fam.notna().all()
    assert {"EVA", "SigLIP", "ConvNeXt", "CoCa", "OpenAI CLIP", "LAION ViT"} <= set(fam)
    assert b48.model_info["image_gflops"].notna().all()


def test_swab_is_not_lovm():
    swab = load_benchmark("swab")
    lovm = load_benchmark("lovm")
    assert set(lovm.models) < set(swab.models)
    blip = [m for m in swab.models if m.startswith(("BLIP", "BEIT3"))]
    assert len(blip) == 8
    assert swab.model_info.loc[blip, "params_M"].isna().all()
    diff = (swab.wide.loc[lovm.models, lovm.datasets] - lovm.wide).abs()
    assert diff["fer2013"].mean() > 0.1  # the README's largest gap
    assert diff["imagenet1k"].max() < 0.005


def test_unknown_benchmark_and_metric():
    with pytest.raises(ValueError, match="unknown benchmark 'lovn'"):
        load_benchmark("lovn")
    with pytest.raises(ValueError, match="metrics"):
        load_benchmark("lovm", "top7")
    with pytest.raises(ValueError, match="only the metric 'acc1'"):
        load_benchmark("swab", "mean_per_class_recall")
    with pytest.raises(KeyError, match="not in benchmark 'lovm'"):
        load_benchmark("lovm").accuracy("food101")


def test_openclip_columns_are_the_openclip48_datasets():
    assert set(OPENCLIP_COLUMNS) == set(load_benchmark("openclip48").datasets)


# ------------------------------------------------------------------------------ subset, covered_by
def _toy(models=("a x", "b x", "c x", "d x"), datasets=("s1", "s2", "s3", "s4")) -> Benchmark:
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.random((len(models), len(datasets))), index=pd.Index(list(models), name="model"),
                        columns=pd.Index(list(datasets), name="dataset"))
    info = pd.DataFrame({"arch": [m.split()[0] for m in models], "params_M": np.arange(len(models), dtype=float)},
                        index=wide.index)
    return Benchmark("toy", "acc1", wide, info, reference_dataset="s1", notes=("made up",))


def test_subset_keeps_model_info_in_step_with_the_table():
    bench = _toy()
    sub = bench.subset(["c x", "a x"], ["s3", "s1"])
    assert sub.models == ["c x", "a x"] and sub.datasets == ["s3", "s1"]
    assert list(sub.model_info.index) == sub.models
    pd.testing.assert_frame_equal(sub.model_info, bench.model_info.loc[["c x", "a x"]])
    assert sub.wide.loc["c x", "s1"] == bench.wide.loc["c x", "s1"]
    assert (sub.name, sub.metric, sub.reference_dataset, sub.notes) == ("toy", "acc1", "s1", ("made up",))
    assert bench.subset(datasets=["s2"]).models == bench.models  # None keeps all
    assert bench.subset(models=["b x"]).datasets == bench.datasets
    with pytest.raises(KeyError, match="'z x'"):
        bench.subset(["a x", "z x"])
    with pytest.raises(KeyError, match="'s9'"):
        bench.subset(datasets=["s9"])


def test_with_table_follows_the_rows():
    bench = _toy()
    wide = bench.wide.loc[["b x", "a x"], ["s2"]].copy()
    wide.loc["new y"] = 0.5
    other = bench.with_table(wide)
    assert other.models == ["b x", "a x", "new y"] and list(other.model_info.index) == other.models
    assert other.model_info.loc["new y"].isna().all() and other.model_info.loc["a x", "params_M"] == 0.0


class _FakeStore:
    """The three things covered_by asks of a profile store."""

    def __init__(self, entries: set[tuple[str, str]]):
        self.entries = entries
        self.models = sorted({m for m, _ in entries})
        self.datasets = sorted({d for _, d in entries})
        self.path = "fake-store"

    def has(self, model: str, dataset: str) -> bool:
        return (model, dataset) in self.entries


def test_covered_by_keeps_exactly_the_fully_covered_models():
    bench = _toy()
    entries = {(m, d) for m in ("d x", "a x", "c x") for d in ("s1", "s2", "s4")}
    entries |= {("b x", "s1"), ("b x", "s4")}  # b x lacks s2
    entries |= {("zz y", "s1"), ("a x", "other")}  # a model and a dataset the benchmark does not have
    cut = bench.covered_by(_FakeStore(entries))
    assert cut.models == ["a x", "c x", "d x"]  # the benchmark's order, not the store's
    assert cut.datasets == ["s1", "s2", "s4"]  # s3 is in no entry
    assert list(cut.model_info.index) == cut.models
    pd.testing.assert_frame_equal(cut.wide, bench.wide.loc[["a x", "c x", "d x"], ["s1", "s2", "s4"]])
    with pytest.raises(ValueError, match="fake-store covers 3 models x 3 datasets.*at least 4 models"):
        bench.covered_by(_FakeStore(entries), min_models=4)
    # a dataset that one model has counts: then only the models that have it too are covered
    with pytest.raises(ValueError, match="covers 0 models x 4 datasets"):
        bench.covered_by(_FakeStore(entries | {("b x", "s3")}))
    full = {(m, d) for m in bench.models for d in bench.datasets}
    assert bench.covered_by(_FakeStore(full)).wide.equals(bench.wide)


# ------------------------------------------------------------------------------ the registry
def test_register_benchmark_and_load_it_by_name(monkeypatch):
    benchmark_names()  # load the installed worlds first, so the copy below holds them
    monkeypatch.setattr(benchmarks.BENCHMARK_REGISTRY, "_registered", dict(benchmarks.BENCHMARK_REGISTRY._registered))
    toy = _toy()
    calls = []

    def loader(metric):
        calls.append(metric)
        if metric != "acc1":
            raise ValueError(f"toy has only acc1, not {metric!r}")
        return toy

    assert "toy" not in benchmark_names()
    register_benchmark("toy", loader)
    assert load_benchmark("toy") is toy and calls == ["acc1"]
    assert benchmark_names()[: len(BUILTIN_BENCHMARKS)] == list(BUILTIN_BENCHMARKS) and "toy" in benchmark_names()
    with pytest.raises(ValueError, match="only acc1"):
        load_benchmark("toy", "acc5")
    register_benchmark("toy", loader)  # the same loader again is fine
    with pytest.raises(ValueError, match="already registered"):
        register_benchmark("toy", lambda metric: toy)
    smaller = toy.subset(["a x", "b x"])
    register_benchmark("toy", lambda metric: smaller, replace=True)
    assert load_benchmark("toy").models == ["a x", "b x"]
    for name in BUILTIN_BENCHMARKS:
        with pytest.raises(ValueError, match=f"benchmark '{name}' is built into vlmsel"):
            register_benchmark(name, loader)
        with pytest.raises(ValueError, match="built into"):
            register_benchmark(name, loader, replace=True)
