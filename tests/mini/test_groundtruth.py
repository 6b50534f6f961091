"""The committed mini zoo: weights load, reproduce the committed ground truth, and make a real selection problem."""

import json

import numpy as np
import pandas as pd
import pytest

from vlmsel.files import sha256_file
from vlmsel.mini.groundtruth import (
    compute_groundtruth,
    load_mini_benchmark,
    load_mini_table,
    summary,
)
from vlmsel.mini.models import is_trained, model_dir
from vlmsel.mini.paths import default_mini_dir
from vlmsel.mini.tasks import BROAD_TASK, list_tasks
from vlmsel.mini.zoo import MINI_ZOO, list_mini_models

ROOT = default_mini_dir()
pytestmark = [
    pytest.mark.skipif(not (ROOT / "groundtruth.csv").is_file(), reason="mini ground truth not committed"),
    pytest.mark.usefixtures("one_torch_thread"),
]


def test_every_zoo_model_is_committed_with_its_manifest():
    total = 0
    for spec in MINI_ZOO:
        folder = model_dir(spec.name)
        assert is_trained(spec.name), spec.name
        manifest = json.loads((folder / "training.json").read_text())
        assert manifest["model"] == spec.name and manifest["seed"] == spec.seed and manifest["steps"] == spec.steps
        assert manifest["weights_sha256"] == sha256_file(folder / manifest["weights_file"])
        assert manifest["loss"]["last_10pct_mean"] < manifest["loss"]["first"]
        total += sum(p.stat().st_size for p in folder.iterdir())
    assert total <= 60 * 1024 * 1024
    assert all(json.loads((model_dir(s.name) / "training.json").read_text())["wall_time_s"] <= 600 for s in MINI_ZOO)


def test_table_is_complete_and_tidy():
    table = load_mini_table()
    assert list(table.columns[:4]) == ["model", "dataset", "acc1", "mean_per_class_recall"]
    assert set(table["model"]) == set(list_mini_models()) and set(table["dataset"]) == set(list_tasks())
    assert len(table) == len(list_mini_models()) * len(list_tasks())
    assert table[["acc1", "mean_per_class_recall"]].apply(lambda c: c.between(0, 1)).all().all()


@pytest.mark.slow
def test_committed_weights_reproduce_the_committed_ground_truth():
    models = ["mini-vit-p8-w32 earth", "mini-rn-w8 med", "mini-convnext docs", "mini-timm-vit web"]  # 4 families
    tasks = ["mnist", "clevr_count", "pcam", BROAD_TASK]
    fresh = compute_groundtruth(models, tasks)
    assert (fresh["n"] == 1000).all()
    committed = load_mini_table().set_index(["model", "dataset"])
    for row in fresh.itertuples():
        ref = committed.loc[(row.model, row.dataset)]
        assert row.acc1 == pytest.approx(ref["acc1"], abs=6e-5), (row.model, row.dataset)
        assert row.mean_per_class_recall == pytest.approx(ref["mean_per_class_recall"], abs=6e-5)


def test_benchmark_view_and_data_layer():
    bench = load_mini_benchmark()
    assert bench.name == "mini" and bench.reference_dataset == BROAD_TASK
    assert bench.models == list_mini_models() and bench.datasets == list_tasks()
    assert {"arch", "pretrained", "family", "params_M", "gflops"} <= set(bench.model_info.columns)
    assert bench.model_info["family"].nunique() >= 3
    recall = load_mini_benchmark("mean_per_class_recall")
    assert not np.allclose(recall.wide.values, bench.wide.values)
    with pytest.raises(ValueError, match="metrics"):
        load_mini_benchmark("acc5")
    from vlmsel.data.benchmarks import load_benchmark

    pd.testing.assert_frame_equal(load_benchmark("mini").wide, bench.wide)


def test_it_is_a_real_selection_problem():
    """Most (model, task) cells clearly above chance (by 3 binomial standard errors at n = 1,000), and the best
    model differs between domains (>= 6 distinct winners)."""
    from vlmsel.mini.tasks import get_task

    wide = load_mini_benchmark().wide
    s = summary(wide)
    assert s["best_model"].nunique() >= 6
    assert (s["inb_regret"] > 0.02).sum() >= 3  # ranking by the broad task is clearly not perfect
    chance = np.array([1.0 / get_task(t).n_classes for t in wide.columns])
    se = np.sqrt(chance * (1 - chance) / 1000)
    above = wide.to_numpy() > (chance + 3 * se)[None, :]
    assert above.mean() > 0.5
