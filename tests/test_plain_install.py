"""A plain ``pip install vlmsel``, with no extra, is enough for ``vlmsel select``: the printed table, the
JSON and the HTML report, in a fresh virtual environment that holds only the built wheel and the core
dependencies (``[project] dependencies`` and theirs), so that seaborn, captum, submitit, jupyter and the
other extras cannot be imported there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: Modules of the extras (book, captum, cluster, test) that the core must do without.
EXTRAS = ("seaborn", "captum", "submitit", "jupyter_core", "IPython", "papermill", "jupytext", "pytest")


def _core_distributions() -> list[metadata.Distribution]:
    """The installed distributions vlmsel needs without extras: its requirements with no ``extra`` marker,
    and theirs (with the extras they ask for), recursively; vlmsel itself left out."""
    found: dict[str, metadata.Distribution] = {}
    done: set[tuple[str, str]] = set()
    todo = [("vlmsel", "")]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in done:
            continue
        done.add((name, extra))
        found[name] = dist = metadata.distribution(name)
        for req in map(Requirement, dist.requires or []):
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo += [(canonicalize_name(req.name), e) for e in ("", *req.extras)]
    del found["vlmsel"]
    return list(found.values())


def _core_dependencies(tmp: Path) -> Path:
    """A folder of links to the top-level files of the core distributions (packages, modules, shared
    libraries and ``.dist-info`` metadata, as their RECORD lists them) and nothing else."""
    deps = tmp / "core"
    deps.mkdir()
    for dist in _core_distributions():
        for top in {f.parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
            entry = Path(dist.locate_file(top))
            if not (deps / top).exists() and not top.endswith(".pth") and entry.exists():
                (deps / top).symlink_to(entry)
    return deps


@pytest.mark.slow
def test_select_runs_from_a_plain_install(tmp_path, built_wheel, fresh_venv, make_images):
    """Install the wheel without extras into a venv that sees only the core dependencies (no seaborn, captum,
    submitit, jupyter), and run ``vlmsel select --json --report`` on four generated 64x64 PNGs."""
    start = time.perf_counter()
    fresh = tmp_path / "fresh"
    python = fresh_venv(fresh, _core_dependencies(tmp_path))
    # pip resolves the wheel's requirements offline: each must be among the linked core distributions
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "-q", str(built_wheel)],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "VLMSEL_", "JUPYTER"))}
    env.update(HF_HUB_OFFLINE="1", VLMSEL_PROGRESS="0", HOME=str(tmp_path))
    probe = (
        "import importlib.util, vlmsel; print(vlmsel.__file__); "
        f"print(*[m for m in {EXTRAS!r} if importlib.util.find_spec(m)])"
    )
    where, importable = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    ).stdout.split("\n")[:2]
    assert Path(where).is_relative_to(fresh), f"vlmsel imported from {where}, not from the wheel"
    assert importable == "", f"extras importable in the plain install: {importable}"
    images = make_images(tmp_path / "images", 4, kind=0, size=(64, 64))
    setup_s = time.perf_counter() - start
    run = subprocess.run(
        [
            str(fresh / "bin" / "vlmsel"),
            "select",
            "--zoo",
            "mini",
            "--images",
            str(images),
            "--json",
            "out.json",
            "--report",
            "out.html",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads((tmp_path / "out.json").read_text())
    ranked = [row["model"] for row in result["ranking"]]
    assert result["top1"] == ranked[0] and len(ranked) > 1 and ranked[0] in run.stdout
    assert np.all(np.diff([row["score"] for row in result["ranking"]]) <= 0)
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and ranked[0] in page and "data:image/png;base64," in page
    print(f"venv and install in {setup_s:.0f} s, vlmsel select in {time.perf_counter() - start - setup_s:.0f} s")
