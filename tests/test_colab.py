"""Colab: every badge and install cell points at the one repository and pinned version of vlmsel.colab,
and a chapter runs in a fresh virtual environment that holds only the built wheel (no checkout).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import time
from pathlib import Path

import pytest

from vlmsel import colab

ROOT = Path(__file__).resolve().parents[1]
#: The cheapest chapter that still needs the wheel's own data (the mini world's store and ground truth).
WHEEL_CHAPTER = "03_mini_world_tour"


def test_every_chapter_agrees_with_the_colab_settings():
    assert colab.main([str(ROOT)]) == 0, "run `python -m vlmsel.colab --write` (or `make sync`)"
    for path in colab.chapter_sources(ROOT):
        text = path.read_text()
        assert colab.requirement() in text, path.name
        assert "/blob/main/" not in text, f"{path.name}: a badge points at main, not at the pinned version"


def test_the_book_names_the_same_repository():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == colab.REPOSITORY
    assert colab.REPOSITORY in (ROOT / "book" / "preface.md").read_text()


def test_render_is_idempotent_and_rewrites_a_stale_badge():
    stale = (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/someone/else/blob/main/notebooks/06_ranking.ipynb)"
    )
    once = colab.render(stale, "06_ranking")
    assert once == colab.badge("06_ranking") and colab.render(once, "06_ranking") == once
    assert f"/blob/{colab.PINNED}/notebooks/06_ranking.ipynb" in once


def _dependencies_without_vlmsel(tmp: Path) -> Path:
    """A folder of links to this interpreter's installed packages, vlmsel itself left out.

    The fresh environment sees the dependencies through it (no download, no network) but no vlmsel:
    neither the checkout (an editable install's finder) nor its metadata, so pip installs the wheel.
    """
    deps = tmp / "deps"
    deps.mkdir()
    for sp in map(Path, site.getsitepackages()):
        for entry in sp.iterdir():
            name = entry.name.lower()
            if name.startswith(("vlmsel", "__editable__", "_vlmsel")) or name.endswith(".pth"):
                continue
            if not (deps / entry.name).exists():
                (deps / entry.name).symlink_to(entry)
    return deps


@pytest.mark.slow
def test_a_chapter_runs_from_the_wheel_alone(tmp_path, built_wheel, fresh_venv):
    """Make a venv with nothing but the dependencies, and execute one chapter whose install cell installs
    the built wheel (``VLMSEL_INSTALL``), as Colab installs the pinned release."""
    start = time.perf_counter()
    fresh = tmp_path / "fresh"
    python = fresh_venv(fresh, _dependencies_without_vlmsel(tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    notebook = work / f"{WHEEL_CHAPTER}.ipynb"
    shutil.copy(ROOT / "notebooks" / notebook.name, notebook)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "VLMSEL_MINI", "JUPYTER"))}
    env.update(
        VLMSEL_INSTALL=str(built_wheel),
        PIP_NO_DEPS="1",
        PIP_NO_INDEX="1",
        HF_HUB_OFFLINE="1",
        VLMSEL_PROGRESS="0",
        HOME=str(tmp_path),
    )
    setup_s = time.perf_counter() - start
    run = subprocess.run(
        [
            str(python),
            "-m",
            "papermill",
            "--no-progress-bar",
            "-k",
            "python3",
            "--cwd",
            str(work),
            str(notebook),
            str(work / "out.ipynb"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    where = subprocess.run(
        [str(python), "-c", "import vlmsel; print(vlmsel.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(fresh), f"vlmsel imported from {where}, not from the wheel"
    executed = json.loads((work / "out.ipynb").read_text())
    assert executed["metadata"]["papermill"]["exception"] is None
    print(f"venv in {setup_s:.0f} s, chapter {WHEEL_CHAPTER} in {time.perf_counter() - start - setup_s:.0f} s")
