"""LOVM's dataset metadata (vlmsel.data.lovm): class names, templates, domains, task types, the
CLIP_benchmark renames and the modelGPT features, with their known upstream traps."""

from __future__ import annotations

import pytest

from vlmsel.data import lovm
from vlmsel.data.benchmarks import load_benchmark


def test_clevr_blank_class_restored():
    names = lovm.lovm_classnames("clevr_closest_object_distance")
    assert names == ["very nearby", "nearby", "near", "", "distant", "very distant"]
    assert len(lovm.lovm_classnames("cifar100")) == 100
    assert len(lovm.lovm_classnames("imagenet1k")) == 1000


def test_templates_have_placeholder():
    for d in lovm.lovm_datasets():
        templates = lovm.lovm_templates(d)
        assert templates and all("{c}" in t for t in templates)
    assert lovm.lovm_templates("kitti_closest_vehicle_distance") == ["{c}"]
    with pytest.raises(KeyError, match="not a LOVM dataset"):
        lovm.lovm_templates("food101")


def test_invalid_domains_json_is_parsed_leniently():
    import json

    from vlmsel.data.upstream import fetch

    with pytest.raises(json.JSONDecodeError):
        json.loads(fetch("lovm/LOVM/dataset_domains.json").read_text())
    domains = lovm.lovm_dataset_domains()
    assert domains["diabetic_retinopathy"] == "medical/eye images"
    assert set(lovm.lovm_datasets()) <= set(domains)
    assert set(lovm.lovm_datasets()) <= set(lovm.lovm_dataset_tasks())


def test_dataset_renames():
    ids = lovm.clip_benchmark_ids()
    assert set(lovm.lovm_datasets()) <= set(ids)
    assert ids["cifar100"] == "vtab/cifar100"
    assert ids["cars"] == "cars"


def test_modelgpt_features_have_no_ground_truth():
    feats = lovm.modelgpt_features()
    assert feats.shape == (805, 2 + len(lovm.MODELGPT_FEATURES))
    assert not {"acc1", "acc5", "mean_per_class_recall"} & set(feats.columns)
    assert set(feats["model"]) == set(load_benchmark("lovm").models)
