"""``vlmsel profile`` end to end: a run killed part-way and rerun equals an uninterrupted run with no
partial file left; Ctrl-C keeps finished entries; --dry-run prints the plan and its cost; user errors."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli.conftest import N_ENTRIES, partial_files, profile_args, spawn_vlmsel, store_entries
from vlmsel.cli import main

SLOW_STEPS = 300  # ~1 s per entry: slow enough to interrupt a run between two entries


# Tiny models on a shared 2-core machine: one torch thread avoids oversubscription stalls.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _wait_for_manifests(store: Path, proc, n: int, timeout=180.0) -> int:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if len(list(store.glob("*/*.json"))) >= n:
            return n
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before it could be interrupted: {proc.communicate()}")
        time.sleep(0.02)
    raise AssertionError("no entry was written in time")


@pytest.mark.slow
def test_interrupted_runs_resume_to_the_same_result(profile_setup, tiny_models):
    """Ctrl-C, then a hard kill (SIGKILL: no cleanup at all), then a rerun: the store equals that of an
    uninterrupted run, and no partial file is left."""
    base, configs, tasks = profile_setup
    store = base / "interrupted"
    # 1. Ctrl-C after the first entry: exit code 130, finished entries kept, nothing partial
    proc = spawn_vlmsel(profile_args(tiny_models, configs, tasks, store, n_steps=SLOW_STEPS))
    _wait_for_manifests(store, proc, 1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "interrupted; finished results were kept, rerun to resume" in err
    assert not partial_files(store)
    n_kept = len(list(store.glob("*/*.json")))
    assert 1 <= n_kept < N_ENTRIES - 1
    # 2. resume, and kill it hard after one more entry
    proc = spawn_vlmsel(profile_args(tiny_models, configs, tasks, store, n_steps=SLOW_STEPS))
    _wait_for_manifests(store, proc, n_kept + 1)
    assert proc.poll() is None, "the run must still be going when it is killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_done = len(list(store.glob("*/*.json")))
    assert n_kept < n_done < N_ENTRIES
    # 3. resume to the end
    assert main(profile_args(tiny_models, configs, tasks, store, n_steps=SLOW_STEPS)) == 0
    clean = base / "clean"
    assert main(profile_args(tiny_models, configs, tasks, clean, n_steps=SLOW_STEPS)) == 0
    got, ref = store_entries(store), store_entries(clean)
    assert sorted(got) == sorted(ref) and len(ref) == N_ENTRIES
    for key, (arrays, man) in ref.items():
        arrays2, man2 = got[key]
        for k in ("abs", "l2", "signed", "branch", "f_x", "f_baseline"):
            np.testing.assert_allclose(
                arrays2[k], arrays[k], rtol=1e-6, atol=1e-12, equal_nan=True, err_msg=f"{key} {k}"
            )
        assert list(arrays2["image_ids"]) == list(arrays["image_ids"]) and man2["image_sha256"] == man["image_sha256"]
    assert not partial_files(store)
    # every npz has its manifest
    assert sorted(p.stem for p in store.rglob("*.npz")) == sorted(p.stem for p in store.rglob("*/*.json"))


def test_dry_run_prints_plan_and_cost(capsys, tmp_path):
    assert (
        main(
            [
                "profile",
                "--zoo",
                "openclip48",
                "--datasets",
                "all20",
                "--out",
                str(tmp_path / "s"),
                "--dry-run",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "plan: 48 models x 20 datasets = 960 entries; 0 already done, 960 to compute" in out
    assert "estimated cost:" in out and "GFLOP/s" in out
    assert not (tmp_path / "s").exists()  # a dry run writes nothing


def test_user_errors(capsys, profile_setup, tiny_models, tmp_path):
    base, configs, tasks = profile_setup
    assert main(["profile", "--models", "ViT-B-33 openai", "--datasets", "dtd", "--out", str(tmp_path)]) == 2
    assert "unknown open_clip architecture 'ViT-B-33'" in capsys.readouterr().err
    assert main(["profile", "--zoo", "lovm35", "--datasets", "cifar1000", "--out", str(tmp_path), "--dry-run"]) == 2
    assert "cifar1000" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    args = profile_args(tiny_models, configs, [], tmp_path / "s", n_steps=2) + ["--images", str(tmp_path / "empty")]
    assert main(args) == 2
    assert "has no images" in capsys.readouterr().err
    assert main(["profile", "--zoo", "lovm35", "--out", str(tmp_path)]) == 2
    assert "say which tasks" in capsys.readouterr().err


def test_images_folder_named_like_a_lovm_dataset_is_a_folder_task(tmp_path, monkeypatch):
    """`--images cars` (a folder that happens to share a LOVM name) must profile that folder."""
    from PIL import Image

    from vlmsel.cli.inputs import image_tasks

    folder = tmp_path / "cars"
    folder.mkdir()
    for i in range(2):
        Image.new("RGB", (8, 8), (i * 100, 0, 0)).save(folder / f"{i}.png")
    monkeypatch.chdir(tmp_path)
    tasks = image_tasks(["cars", f"mine={folder}"])
    assert [t.name for t in tasks] == ["cars", "mine"]
    assert all(len(t.source.ids()) == 2 for t in tasks)
