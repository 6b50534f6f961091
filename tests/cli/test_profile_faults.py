"""``vlmsel profile`` under faults: several processes on one store (one of them killed with SIGKILL
mid-entry), images that changed under a stored task name, damaged entries, and a dry run that says
exactly what the run will do."""

from __future__ import annotations

import json
import shutil
import signal
import time

import numpy as np
import pytest

from tests.cli.conftest import N_ENTRIES, partial_files, profile_args, spawn_vlmsel, store_entries
from vlmsel.cli import main
from vlmsel.files import claim_owner, try_claim
from vlmsel.profiles.store import DamagedEntryError, ProfileStore, claim_path, entry_digest, read_profile

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _written(out: str) -> int:
    return int(out.split(": ", 1)[1].split(" written")[0])


@pytest.mark.slow
def test_three_processes_and_a_killed_one_compute_every_entry_exactly_once(
    profile_setup, tiny_models, profile_reference
):
    base, configs, tasks = profile_setup
    store = base / "shared"
    # 1. the first process claims an entry; kill it hard while it computes (its claim dies with it)
    first = spawn_vlmsel(profile_args(tiny_models, configs, tasks, store, n_steps=200))
    t0 = time.time()
    while not list(store.glob("*/.*.claim")) and time.time() - t0 < 120:
        assert first.poll() is None, first.communicate()
        time.sleep(0.01)
    killed_claim = next(store.glob("*/.*.claim"))
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert claim_owner(killed_claim) is None  # the lock is gone with its owner, the file may stay
    # 2. three processes at once on the same store and plan
    procs = [spawn_vlmsel(profile_args(tiny_models, configs, tasks, store)) for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, (out, err)
        assert "Traceback" not in err and "FileNotFoundError" not in err, err
    written = [_written(out) for out, _ in outs]
    assert len(list(store.glob("*/*.json"))) == N_ENTRIES  # together they finished the plan
    # each entry exactly once: the killed process finished none, the three wrote 8 between them
    assert sum(written) == N_ENTRIES, (written, outs)
    rerun = spawn_vlmsel(profile_args(tiny_models, configs, tasks, store))
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0 and _written(out) == 0, (out, err)
    assert not partial_files(store) and not list(store.glob("*/.*.claim"))
    got, ref = store_entries(store), store_entries(profile_reference)
    assert sorted(got) == sorted(ref)
    for key, (arrays, _) in ref.items():
        for k in ("abs", "l2", "signed", "f_x"):
            np.testing.assert_array_equal(got[key][0][k], arrays[k], err_msg=f"{key} {k}")


def test_a_claimed_entry_is_skipped_and_its_partial_file_kept(
    profile_setup, tiny_models, profile_reference, tmp_path, capsys
):
    base, configs, tasks = profile_setup
    store = tmp_path / "store"
    shutil.copytree(profile_reference, store)
    model, dataset = tiny_models[0], "task0"
    for suffix in (".npz", ".json"):
        (claim_path(store, model, dataset).parent / f"{dataset}{suffix}").unlink()
    partial = claim_path(store, model, dataset).parent / f".{dataset}.npz.abc123.partial"
    partial.write_bytes(b"in flight")
    with try_claim(claim_path(store, model, dataset)) as claim:  # "another process" computing it
        assert claim is not None
        assert main(profile_args(tiny_models, configs, tasks, store)) == 0
        out = capsys.readouterr().out
        assert "0 written, 7 already done, 0 failed, 1 being computed by another process" in out
        assert partial.exists()  # never remove another writer's temporary file
    assert main(profile_args(tiny_models, configs, tasks, store)) == 0  # released: now it is computed
    assert "1 written, 7 already done" in capsys.readouterr().out
    assert not partial.exists()


def test_changed_images_under_a_stored_task_name_are_refused(
    profile_setup, tiny_models, profile_reference, tmp_path, capsys, make_task
):
    base, configs, tasks = profile_setup
    store = tmp_path / "store"
    shutil.copytree(profile_reference, store)
    other = make_task(tmp_path / "task0", 4, seed=7)  # a different folder named like a stored task
    changed = [other, *tasks[1:]]
    before = {p: p.read_bytes() for p in store.rglob("*.npz")}
    assert main(profile_args(tiny_models, configs, changed, store) + ["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "6 already done, 0 to compute, 2 refused" in out and "profiled on other images than the task now has" in out
    assert main(profile_args(tiny_models, configs, changed, store)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'{tiny_models[0]}' / 'task0'" in err and "--overwrite" in err
    assert "4 of 4 differ" in err
    assert {p: p.read_bytes() for p in store.rglob("*.npz")} == before  # nothing changed
    assert main(profile_args(tiny_models, configs, changed, store) + ["--overwrite"]) == 0
    out = capsys.readouterr().out
    assert "2 written, 6 already done" in out and "overwritten:" in out


def test_dry_run_on_a_store_made_with_other_settings_says_the_run_would_stop(
    profile_setup, tiny_models, profile_reference, capsys
):
    base, configs, tasks = profile_setup
    args = profile_args(tiny_models, configs, tasks, profile_reference, n_steps=7)
    assert main(args + ["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 already done, 0 to compute, 8 refused" in out and "n_steps: stored 30, asked 7" in out
    assert main(args) == 2
    assert "made with other settings (n_steps: stored 30, asked 7)" in capsys.readouterr().err
    assert main(args + ["--dry-run", "--overwrite"]) == 0
    assert "0 already done, 8 to compute" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["truncate", "random_bytes", "checksum"])
def test_a_damaged_entry_is_named_never_loaded_and_recomputed(
    profile_setup, tiny_models, profile_reference, tmp_path, capsys, damage
):
    base, configs, tasks = profile_setup
    store = tmp_path / "store"
    shutil.copytree(profile_reference, store)
    model, dataset = tiny_models[1], "task2"
    npz = claim_path(store, model, dataset).parent / f"{dataset}.npz"
    good = npz.read_bytes()
    if damage == "truncate":
        npz.write_bytes(good[: len(good) // 2])
    elif damage == "random_bytes":
        npz.write_bytes(np.random.default_rng(0).bytes(len(good)))
    else:  # a valid archive, but not the one the manifest describes
        man = json.loads(npz.with_suffix(".json").read_text())
        man["arrays_sha256"] = "0" * 64
        man["entry_sha256"] = entry_digest(man)  # (a manifest edited without it is named itself)
        npz.with_suffix(".json").write_text(json.dumps(man))
    with pytest.raises(DamagedEntryError) as info:
        read_profile(store, model, dataset)
    msg = str(info.value)
    assert str(npz) in msg and "damaged profile entry" in msg and "allow_pickle" not in msg
    assert main(profile_args(tiny_models, configs, tasks, store)) == 0
    out = capsys.readouterr().out
    assert "1 written, 7 already done" in out and f"note: recomputed: {npz}: damaged" in out
    np.testing.assert_array_equal(
        read_profile(store, model, dataset)[0]["abs"], read_profile(profile_reference, model, dataset)[0]["abs"]
    )
    assert ProfileStore(store).task_profiles().values.shape[:2] == (2, 4)
