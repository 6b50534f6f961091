"""``vlmsel profile --submit local``: the plan as submitit jobs (the local executor runs what a Slurm array
would), one worker killed with SIGKILL mid-entry, a rerun that submits only what is missing, and a store
bit-identical to a single-process run; ``--status`` while workers run."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from tests.cli.conftest import N_ENTRIES, partial_files, profile_args, store_entries
from vlmsel.cli import main

pytest.importorskip("submitit")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORKERS = 3


def _kill_first_claimant(store, killed: dict, timeout: float = 180.0) -> None:
    """Kill the first worker seen holding a claim (it is computing that entry); record its owner dict."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        for claim in store.glob("*/.*.claim"):
            try:
                owner = json.loads(claim.read_text() or "{}")
            except (OSError, ValueError):
                continue
            if owner.get("pid") and owner["pid"] != os.getpid():
                try:
                    os.kill(owner["pid"], signal.SIGKILL)
                except ProcessLookupError:  # it finished meanwhile: take the next one
                    continue
                killed.update(owner)
                return
        time.sleep(0.005)


def _submit_args(models, configs, tasks, store, jobs_dir):
    return profile_args(models, configs, tasks, store) + [
        "--submit",
        "local",
        "--workers",
        str(WORKERS),
        "--jobs-dir",
        str(jobs_dir),
        "--timeout-min",
        "10",
    ]


@pytest.mark.slow
def test_submitted_workers_one_killed_then_a_rerun_give_the_single_process_store(
    profile_setup, tiny_models, profile_reference, capsys
):
    base, configs, tasks = profile_setup
    store, jobs_dir = base / "submitted", base / "jobs"
    # 1. submit 3 jobs and wait for them; meanwhile kill one worker (SIGKILL) while it holds an entry's claim
    killed: dict = {}
    killer = threading.Thread(target=_kill_first_claimant, args=(store, killed), daemon=True)
    killer.start()
    code = main(_submit_args(tiny_models, configs, tasks, store, jobs_dir))
    killer.join(timeout=5)
    out, err = capsys.readouterr()
    assert killed.get("pid"), f"no worker was killed: {killed}"
    assert code == 1, (out, err)
    assert f"plan: {N_ENTRIES} entries in {WORKERS} shards: 0 complete, 0 being computed, {WORKERS} to submit" in out
    assert f"{WORKERS - 1} of {WORKERS} job(s) succeeded" in out
    assert err.count("FAILED shard") == 1 and "rerun the same command" in err, err
    n_done = len(list(store.glob("*/*.json")))
    assert n_done < N_ENTRIES  # the killed worker's entry (at least) is missing
    # 2. the status of the store names what is missing; nothing runs
    assert main(profile_args(tiny_models, configs, tasks, store) + ["--status", "--workers", str(WORKERS)]) == 0
    status = capsys.readouterr().out
    assert f"{N_ENTRIES} entries in the plan: {n_done} done, 0 running, {N_ENTRIES - n_done} missing" in status
    assert f"shards: {WORKERS - 1} of {WORKERS} complete" in status
    # 3. rerun: only the killed worker's shard is submitted, and the plan is finished
    assert main(_submit_args(tiny_models, configs, tasks, store, jobs_dir)) == 0
    out = capsys.readouterr().out
    assert f"{WORKERS - 1} complete, 0 being computed, 1 to submit" in out and "1 of 1 job(s) succeeded" in out
    assert main(_submit_args(tiny_models, configs, tasks, store, jobs_dir)) == 0
    assert f"{WORKERS} complete, 0 being computed, 0 to submit" in capsys.readouterr().out
    # every entry exactly once, bit-identical to the single-process run; no claim or partial file left
    got, ref = store_entries(store), store_entries(profile_reference)
    assert sorted(got) == sorted(ref) and len(ref) == N_ENTRIES
    for key, (arrays, man) in ref.items():
        for k in ("abs", "l2", "signed", "branch", "f_x", "f_baseline"):
            np.testing.assert_array_equal(got[key][0][k], arrays[k], err_msg=f"{key} {k}")
        assert got[key][1]["arrays_sha256"] == man["arrays_sha256"]
    assert not partial_files(store) and not list(store.glob("*/.*.claim"))
    assert len(list(store.glob("*/*.npz"))) == N_ENTRIES


def test_submit_needs_workers_and_a_known_engine(profile_setup, tiny_models, tmp_path, capsys):
    base, configs, tasks = profile_setup
    args = profile_args(tiny_models, configs, tasks, tmp_path / "s")
    assert main(args + ["--submit", "local"]) == 2
    assert "--submit needs --workers N" in capsys.readouterr().err
    assert main(args + ["--submit", "local", "--workers", "2", "--shard", "0/2"]) == 2
    assert "leave out --shard" in capsys.readouterr().err
    assert main(args + ["--submit", "local", "--workers", "2", "--dry-run"]) == 2
    assert "--dry-run and --submit cannot be combined" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(args + ["--submit", "pbs", "--workers", "2"])
    assert "invalid choice: 'pbs'" in capsys.readouterr().err


def test_the_jobs_run_the_same_command_without_the_submit_options():
    from vlmsel.cli.profile import _worker_argv

    argv = [
        "profile",
        "--zoo",
        "z",
        "--submit",
        "slurm",
        "--workers=4",
        "--no-wait",
        "--jobs-dir",
        "j",
        "--submit-param",
        "cpus_per_task=8",
        "--out",
        "s",
    ]
    assert _worker_argv(argv) == ["profile", "--zoo", "z", "--out", "s"]
