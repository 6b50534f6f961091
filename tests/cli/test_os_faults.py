"""Faults of the machine, not of the input: a full disk while profiling, while writing the report or while
packing, a folder where a file should be, and running out of memory. Each ends in exit 2 and one stderr
line naming the path and the reason, and leaves no half-written file behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.cli.conftest import select_args
from tests.conftest import one_error_line
from vlmsel import files
from vlmsel.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _disk_full_for(monkeypatch, marker: str) -> list[str]:
    """Make flushing any file whose name holds ``marker`` fail as a full disk does (at fsync, as a real
    ENOSPC can); returns the list of files that failed."""
    real = os.fsync
    failed: list[str] = []

    def fsync(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if marker in Path(name).name:
            failed.append(name)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    return failed


@pytest.fixture(scope="module")
def world(tmp_path_factory, build_world, select_zoo, make_images):
    w = build_world(
        tmp_path_factory.mktemp("os_faults"), zoo_items=select_zoo, sources=["src0", "src1"], n_src=4, n_steps=3
    )
    w["mine"] = make_images(w["base"] / "mine", 3, kind=0, seed=5)
    return w


def _select(world, *extra) -> list[str]:
    return select_args(world, world["mine"], "--n-boot", "20", *extra)


def test_disk_full_while_writing_the_report(world, tmp_path, monkeypatch, capsys):
    failed = _disk_full_for(monkeypatch, "r.html")
    report = tmp_path / "r.html"
    assert main(_select(world, "--report", str(report))) == 2
    one_error_line(capsys, f"{report}: cannot write it (No space left on device); nothing was written")
    assert failed and not list(tmp_path.iterdir())  # neither the report nor its temporary file


def test_disk_full_while_profiling_keeps_every_finished_entry(world, tmp_path, monkeypatch, capsys, make_images):
    failed = _disk_full_for(monkeypatch, "t2.npz")
    store = tmp_path / "store"
    args = [
        "profile",
        "--zoo",
        str(world["zoo_csv"]),
        "--model-config",
        str(world["configs"]),
        "--random-init",
        "--n-images",
        "3",
        "--n-steps",
        "2",
        "--device",
        "cpu",
        "--out",
        str(store),
    ]
    for name in ("t1", "t2"):
        args += ["--images", f"{name}={make_images(tmp_path / 'images' / name, 3, kind=1, seed=len(name))}"]
    assert main(args) == 2
    one_error_line(capsys, "t2.npz: cannot write it (No space left on device)")
    assert failed
    assert not list(store.rglob("*.partial")) and not list(store.rglob("t2.*"))
    assert list(store.rglob("t1.json"))  # what was finished before the disk filled up is kept
    monkeypatch.undo()  # space again: the rerun resumes
    assert main(args) == 0
    assert "already done" in capsys.readouterr().out and len(list(store.rglob("t2.json"))) == 3


def test_disk_full_while_packing_leaves_no_archive(world, tmp_path, monkeypatch, capsys):
    _disk_full_for(monkeypatch, "s.tar.gz")
    assert main(["store", "pack", str(world["store"]), "--out", str(tmp_path / "s.tar.gz")]) == 2
    one_error_line(capsys, "s.tar.gz: cannot write it (No space left on device)")
    assert not list(tmp_path.iterdir())


def test_a_file_where_a_folder_should_be(world, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["store", "pack", str(world["store"]), "--out", str(blocker / "s.tar.gz")]) == 2
    one_error_line(capsys, f"{blocker / 's.tar.gz'}: cannot write it ({blocker} is a file, not a folder)")
    assert main(["store", "merge", str(world["store"]), "--into", str(blocker)]) == 2
    one_error_line(capsys, f"profile store {blocker}: not a folder")
    assert blocker.read_text() == "x"


def test_out_of_memory_is_one_line(world, monkeypatch, capsys):
    from vlmsel.profiles import archive

    def exhausted(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(archive, "_verify_folder", exhausted)
    assert main(["store", "verify", str(world["store"])]) == 2
    one_error_line(capsys, "vlmsel store: error: out of memory; free memory or use a smaller input")
