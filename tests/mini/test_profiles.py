"""The committed mini profile store: complete, made with the spec's settings, reproducible, and usable by
``vlmsel evaluate --benchmark mini`` without any option pointing at it."""

import json

import numpy as np
import pytest

from vlmsel.mini.zoo import list_mini_models
from vlmsel.mini.profiling import profile_mini
from vlmsel.mini.world import default_profile_store
from vlmsel.mini.tasks import list_tasks
from vlmsel.profiles.store import ProfileStore, read_profile

STORE = default_profile_store()
pytestmark = [
    pytest.mark.skipif(not (STORE / "store.json").is_file(), reason="mini profile store not committed"),
    pytest.mark.usefixtures("one_torch_thread"),
]


def test_store_covers_the_zoo_with_the_spec_settings():
    store = ProfileStore(STORE)
    for model in list_mini_models():
        for task in list_tasks():
            assert store.has(model, task), (model, task)
            arrays, manifest = read_profile(store, model, task)
            assert manifest["n_images"] == 25 and manifest["n_steps"] == 50, (model, task)
            assert manifest["objective"] == "norm" and manifest["rule"] == "left"
            assert arrays["abs"].shape == (25, len(manifest["block_names"]))
            assert np.isfinite(arrays["abs"]).all() and (arrays["abs"] >= 0).all()
    profiles = store.task_profiles(list_mini_models(), list_tasks())
    assert profiles.values.shape[:2] == (len(list_mini_models()), len(list_tasks()))


def test_one_committed_entry_is_reproduced(tmp_path):
    model, task = "mini-vit-p8-w32-d6 colour", "shapes"
    report = profile_mini(tmp_path / "store", models=[model], tasks=[task], show_progress=False)
    assert not report.failed
    fresh, fresh_manifest = read_profile(tmp_path / "store", model, task)
    committed, manifest = read_profile(STORE, model, task)
    assert fresh_manifest["image_sha256"] == manifest["image_sha256"]  # the same 25 images
    np.testing.assert_allclose(fresh["abs"], committed["abs"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fresh["f_x"], committed["f_x"], rtol=1e-5)


def test_evaluate_mini_runs_dcd_and_the_baselines_from_the_cli(tmp_path, capsys):
    from vlmsel.cli import main

    rc = main(["evaluate", "--benchmark", "mini", "--method", "dcd,baselines", "--n-boot", "200",
               "--no-per-target", "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    for name in ("dcd", "inb", "avg_rank", "random", "oracle_sim"):
        assert name in out
    assert "modelgpt_lite baselines need LOVM's text features; skipped on 'mini'" in out
    summary = json.loads((tmp_path / "mini_acc1_comparison.json").read_text())
    assert set(summary) >= {"dcd", "inb", "avg_rank"}
    for method, rows in summary.items():
        assert rows, method
