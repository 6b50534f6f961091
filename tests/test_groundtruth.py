"""The benchmark tables: shapes, orders, metrics and the known upstream traps."""

from __future__ import annotations

import numpy as np
import pytest

from vlmsel import groundtruth
from vlmsel.data.benchmarks import load_benchmark

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
    assert bench.datasets == groundtruth.lovm_datasets()
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


def test_clevr_blank_class_restored():
    names = groundtruth.lovm_classnames("clevr_closest_object_distance")
    assert names == ["very nearby", "nearby", "near", "", "distant", "very distant"]
    assert len(groundtruth.lovm_classnames("cifar100")) == 100
    assert len(groundtruth.lovm_classnames("imagenet1k")) == 1000


def test_templates_have_placeholder():
    for d in groundtruth.lovm_datasets():
        templates = groundtruth.lovm_templates(d)
        assert templates and all("{c}" in t for t in templates)
    assert groundtruth.lovm_templates("kitti_closest_vehicle_distance") == ["{c}"]
    with pytest.raises(KeyError, match="not a LOVM dataset"):
        groundtruth.lovm_templates("food101")


def test_invalid_domains_json_is_parsed_leniently():
    import json

    from vlmsel.data.upstream import fetch

    with pytest.raises(json.JSONDecodeError):
        json.loads(fetch("lovm/LOVM/dataset_domains.json").read_text())
    domains = groundtruth.lovm_dataset_domains()
    assert domains["diabetic_retinopathy"] == "medical/eye images"
    assert set(groundtruth.lovm_datasets()) <= set(domains)
    assert set(groundtruth.lovm_datasets()) <= set(groundtruth.lovm_dataset_tasks())


def test_dataset_renames():
    ids = groundtruth.clip_benchmark_ids()
    assert set(groundtruth.lovm_datasets()) <= set(ids)
    assert ids["cifar100"] == "vtab/cifar100"
    assert ids["cars"] == "cars"
    assert set(groundtruth.OPENCLIP_COLUMNS) == set(load_benchmark("openclip48").datasets)


def test_modelgpt_features_have_no_ground_truth():
    feats = groundtruth.modelgpt_features()
    assert feats.shape == (805, 2 + len(groundtruth.MODELGPT_FEATURES))
    assert not {"acc1", "acc5", "mean_per_class_recall"} & set(feats.columns)
    assert set(feats["model"]) == set(load_benchmark("lovm").models)
