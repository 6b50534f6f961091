"""What several command-line test modules share, so that none imports another.

For ``vlmsel profile`` (tests/cli/test_profile*.py): two tiny models on four generated tasks, a
single-process reference store of that plan, and helpers to build the command, run it in a subprocess and
read a store back. For ``vlmsel select``: the command line against a world of ``build_world``.

The helpers are plain functions, imported as ``from tests.cli.conftest import ...``; the fixtures are
found by pytest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vlmsel.cli import main
from vlmsel.profiles.store import ProfileStore, read_profile

ROOT = Path(__file__).resolve().parents[2]
N_ENTRIES = 8  # 2 models x 4 tasks


@pytest.fixture(scope="module")
def profile_setup(tmp_path_factory, tiny_configs, make_task):
    """``(base, configs, tasks)``: a scratch folder, the tiny models' configs and four image folders."""
    base = tmp_path_factory.mktemp("cli")
    configs = tiny_configs(base / "configs")
    tasks = [make_task(base / f"task{i}", 4, seed=i) for i in range(4)]
    return base, configs, tasks


@pytest.fixture(scope="module")
def profile_reference(profile_setup, tiny_models):
    """A single-process run of the whole plan (8 entries): the store every other run must equal."""
    base, configs, tasks = profile_setup
    store = base / "reference"
    assert main(profile_args(tiny_models, configs, tasks, store)) == 0
    return store


def profile_args(models, configs, tasks, out, n_steps=30) -> list[str]:
    """The ``vlmsel profile`` command line of ``models`` on the image folders ``tasks`` into ``out``."""
    args = [
        "profile",
        "--models",
        ",".join(models),
        "--model-config",
        str(configs),
        "--random-init",
        "--n-images",
        "4",
        "--n-steps",
        str(n_steps),
        "--internal-batch-size",
        "8",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--out",
        str(out),
    ]
    for t in tasks:
        args += ["--images", str(t)]
    return args


def spawn_vlmsel(args) -> subprocess.Popen:
    """``python -m vlmsel ARGS`` in a subprocess (offline, quiet, one thread), stdout and stderr piped."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), VLMSEL_PROGRESS="0", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    # SIGINT back to its default: a test run started in the background (`make test &`) inherits an
    # ignored SIGINT, and Python then never raises KeyboardInterrupt
    return subprocess.Popen(
        [sys.executable, "-m", "vlmsel", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def store_entries(store: Path) -> dict:
    """Every finished entry of a store: ``{(model, dataset): (arrays, manifest)}``."""
    ps = ProfileStore(store)
    return {(m, d): read_profile(store, m, d) for m in ps.models for d in ps.datasets if ps.has(m, d)}


def partial_files(store: Path) -> list[Path]:
    """The temporary files of unfinished writes left in a store."""
    return [p for p in store.rglob("*") if p.name.endswith(".partial")]


def select_args(world: dict, images, *extra: str) -> list[str]:
    """The ``vlmsel select`` command line of ``images`` against a world of the ``build_world`` fixture."""
    return [
        "select",
        "--images",
        str(images),
        "--zoo",
        str(world["zoo_csv"]),
        "--model-config",
        str(world["configs"]),
        "--benchmark",
        str(world["acc_csv"]),
        "--profiles",
        str(world["store"]),
        "--random-init",
        "--device",
        "cpu",
        "--n-boot",
        "50",
        "--work-dir",
        str(world["base"] / "targets"),
        *extra,
    ]
