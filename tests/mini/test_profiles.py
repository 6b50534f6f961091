"""The committed mini profile stores: complete (100 images per task and model, both objectives), made
at the default setting with the feature arrays (embeddings, pixel statistics, zero-shot logits),
reproducible, and usable by ``vlmsel evaluate --benchmark mini`` without any option pointing at them."""

import json

import numpy as np
import pytest

from vlmsel.conductance.options import DEFAULT_SETTING
from vlmsel.mini.paths import default_profile_store
from vlmsel.mini.profiling import profile_mini
from vlmsel.mini.tasks import list_tasks
from vlmsel.mini.zoo import list_mini_models
from vlmsel.profiles.compute import ProfileSettings
from vlmsel.profiles.registry import open_store
from vlmsel.profiles.store import FEATURE_ARRAYS, ProfileStore, read_profile

OBJECTIVES = ("norm", "zs_max_logit")
STORES = {o: default_profile_store(objective=o) for o in OBJECTIVES}
pytestmark = [
    pytest.mark.skipif(
        not all((s / "store.json").is_file() for s in STORES.values()), reason="mini profile stores not committed"
    ),
    pytest.mark.usefixtures("one_torch_thread"),
]


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_store_covers_the_zoo_with_100_images_the_default_setting_and_the_feature_arrays(objective):
    store = ProfileStore(STORES[objective])
    for model in list_mini_models():
        for task in list_tasks():
            assert store.has(model, task), (objective, model, task)
            arrays, manifest = read_profile(store, model, task)
            assert manifest["n_images"] == 100 and manifest["objective"] == objective, (model, task)
            assert {k: manifest[k] for k in DEFAULT_SETTING} == DEFAULT_SETTING, (model, task)
            assert manifest["weights"] == "pretrained"
            assert arrays["abs"].shape == (100, len(manifest["block_names"])) == (100, 12)
            assert np.isfinite(arrays["abs"]).all() and (arrays["abs"] >= 0).all()
            assert set(FEATURE_ARRAYS) <= set(arrays), (model, task)  # what the cheaper signals read
            emb = arrays["embedding"].astype(np.float64)
            assert emb.shape == (100, 64) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=2e-3)
            k = len(arrays["class_names"])
            assert arrays["zs_logits"].shape == (100, k) and arrays["class_embeddings"].shape == (k, 64)
            assert arrays["pixel_stats"].shape == (100, 7)
    profiles = store.task_profiles(list_mini_models(), list_tasks())
    assert profiles.values.shape == (len(list_mini_models()), len(list_tasks()), 12)


def test_the_objectives_profile_the_same_images_differently():
    norm, zs = (ProfileStore(STORES[o]) for o in OBJECTIVES)
    model, task = "mini-rn-w8 web", "eurosat"
    a, ma = read_profile(norm, model, task)
    b, mb = read_profile(zs, model, task)
    assert ma["image_sha256"] == mb["image_sha256"]
    assert not np.allclose(a["abs"], b["abs"])


def test_the_published_stores_are_found_by_name():
    assert open_store(None, zoo="mini").path == STORES["norm"]  # the zoo's default: the label-free objective
    assert open_store("mini-zs_max_logit").path == STORES["zs_max_logit"]


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_a_committed_entry_is_reproduced_on_its_first_images(tmp_path, objective):
    """The store's images are a seeded order: profiling 10 images gives the committed entry's first 10, block
    scalars and feature arrays alike (the embeddings to their stored half precision)."""
    model, task = "mini-convnext web", "fer"
    settings = ProfileSettings(n_images=10, objective=objective)  # the store's: the default setting
    report = profile_mini(tmp_path / "store", models=[model], tasks=[task], settings=settings, show_progress=False)
    assert not report.failed
    fresh, fresh_manifest = read_profile(tmp_path / "store", model, task)
    committed, manifest = read_profile(STORES[objective], model, task)
    assert fresh_manifest["image_sha256"] == manifest["image_sha256"][:10]
    np.testing.assert_allclose(fresh["abs"], committed["abs"][:10], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fresh["f_x"], committed["f_x"][:10], rtol=1e-5)
    np.testing.assert_array_equal(fresh["pixel_stats"], committed["pixel_stats"][:10])
    np.testing.assert_allclose(fresh["embedding"], committed["embedding"][:10], atol=1e-3)
    np.testing.assert_allclose(fresh["zs_logits"], committed["zs_logits"][:10], rtol=1e-4, atol=1e-4)
    assert list(fresh["class_names"]) == list(committed["class_names"])


def test_evaluate_mini_runs_dcd_the_null_and_the_baselines_from_the_cli(tmp_path, capsys):
    from vlmsel.cli import main

    rc = main(
        [
            "evaluate",
            "--benchmark",
            "mini",
            "--method",
            "dcd,baselines",
            "--n-boot",
            "200",
            "--null",
            "200",
            "--no-per-target",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    for name in ("dcd", "inb", "avg_rank", "random", "oracle_sim"):
        assert name in out
    assert "'broad', the reference dataset INB ranks by, is not a target (16 targets remain" in out
    assert "permutation null" in out and "dcd minus avg_rank" in out and "dcd minus inb" in out
    summary = json.loads((tmp_path / "mini_acc1_comparison.json").read_text())
    assert set(summary) >= {"dcd", "inb", "avg_rank"}
    for method, rows in summary.items():
        assert rows, method
    assert (tmp_path / "mini_acc1_dcd_null.csv").is_file()
