"""Bad input on the command line: every case ends with exit code 2 and one line that names the culprit
(option, file, model), before any long work, and leaves earlier outputs and stores unchanged."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.cli.test_select import _args as select_args
from vlmsel.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory, build_world, select_zoo):
    return build_world(tmp_path_factory.mktemp("bad_input"), zoo_items=select_zoo, sources=["src0", "src1"],
                       n_src=4, n_steps=3)


@pytest.fixture(scope="module")
def images(world, make_images):
    folder = world["base"] / "mine"
    make_images(folder, 3, kind=0, seed=11)
    return folder


def _select(world, images, *extra):
    return select_args(world, images, *extra)


def _read_only(world) -> Path:
    folder = world["base"] / "read_only"
    folder.mkdir(exist_ok=True)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return folder


# (case id, argv builder, the text the one error line must hold)
CASES = [
    ("device-gpu", lambda w, i: _select(w, i, "--device", "gpu"), "--device 'gpu': not a device name"),
    ("device-cuda-without-gpu", lambda w, i: _select(w, i, "--device", "cuda"), "--device 'cuda': this machine has no usable CUDA GPU"),
    ("json-read-only", lambda w, i: _select(w, i, "--json", str(_read_only(w) / "r.json")), "--json"),
    ("report-read-only", lambda w, i: _select(w, i, "--report", str(_read_only(w) / "r.html")), "--report"),
    ("json-is-a-folder", lambda w, i: _select(w, i, "--json", str(w["base"])), "is a folder"),
    ("json-is-an-input", lambda w, i: _select(w, i, "--json", str(next(i.glob("*.png")))), "is one of the input images"),
    ("json-is-the-report", lambda w, i: _select(w, i, "--json", str(w["base"] / "x"), "--report", str(w["base"] / "x")),
     "--report"),
    ("seed-negative", lambda w, i: _select(w, i, "--seed", "-1"), "--seed must be >= 0; got -1"),
    ("stable-at-above-1", lambda w, i: _select(w, i, "--stable-at", "2"), "--stable-at (a top-1 probability) must be"),
    ("n-images-1", lambda w, i: _select(w, i, "--n-images", "1"), "--n-images must be >= 2"),
    ("n-boot-0-select", lambda w, i: _select(w, i, "--n-boot", "0"), "--n-boot must be >= 10"),
    ("unknown-zoo", lambda w, i: ["select", "--images", str(i), "--zoo", "nope"], "'mini'"),
    ("one-model", lambda w, i: _select(w, i, "--models", "vlmsel_sel_vit a"), "of the 1 given (vlmsel_sel_vit a)"),
    ("evaluate-k-0", lambda w, i: ["evaluate", "--benchmark", "lovm", "--method", "inb", "--k", "0"], "--k must be >= 1; got 0"),
    ("evaluate-k-negative", lambda w, i: ["evaluate", "--benchmark", "lovm", "--method", "inb", "--k", "-2"], "--k must be >= 1"),
    ("evaluate-n-boot-0", lambda w, i: ["evaluate", "--benchmark", "lovm", "--method", "inb", "--n-boot", "0"],
     "--n-boot must be >= 10"),
    ("evaluate-level", lambda w, i: ["evaluate", "--benchmark", "lovm", "--method", "inb", "--level", "1.5"], "--level"),
    ("profile-device-gpu", lambda w, i: ["profile", "--zoo", "lovm35", "--datasets", "dtd", "--out", str(w["base"] / "p"),
                                         "--device", "gpu"], "--device 'gpu'"),
    ("profile-seed-negative", lambda w, i: ["profile", "--zoo", "lovm35", "--datasets", "dtd", "--out",
                                            str(w["base"] / "p"), "--seed", "-3"], "--seed must be >= 0"),
]


@pytest.mark.parametrize("case, argv, expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_naming_the_culprit(case, argv, expected, world, images, capsys):
    if case == "json-read-only" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    if case == "report-read-only" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    targets = world["base"] / "targets"
    before = sorted(targets.rglob("*")) if targets.exists() else []
    assert main(argv(world, images)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert expected in err, err
    after = sorted(targets.rglob("*")) if targets.exists() else []
    assert after == before  # no work was done: nothing profiled, nothing written


def test_an_unwritable_output_is_refused_before_any_work(world, images, capsys, monkeypatch):
    """As root a read-only folder is still writable, so the check is exercised through os.access."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if "nowrite" in str(p) else real(p, mode))
    folder = world["base"] / "nowrite"
    folder.mkdir(exist_ok=True)
    assert main(_select(world, images, "--json", str(folder / "r.json"))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--json" in err and "cannot write there" in err
    assert not (world["base"] / "targets").exists() or not list((world["base"] / "targets").rglob("*.npz"))


def test_an_empty_data_dir_is_one_line_and_data_where_lists_the_missing_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VLMSEL_DATA_DIR", str(tmp_path))
    from vlmsel.data import benchmarks

    for fn in vars(benchmarks).values():  # cached tables of the real data folder must not answer
        if hasattr(fn, "cache_clear"):
            fn.cache_clear()
    for argv in (["evaluate", "--benchmark", "lovm", "--method", "inb"], ["data", "show", "lovm"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err and str(tmp_path) in err, err
    assert main(["data", "where"]) == 0
    out = capsys.readouterr().out
    assert f"missing in {tmp_path}" in out and "lovm/LOVM/eval_table.csv" in out


def test_mini_help_has_no_raw_markup(capsys):
    with pytest.raises(SystemExit):
        main(["mini", "--help"])
    assert "``" not in capsys.readouterr().out


def test_the_same_image_twice_counts_once(world, images, tmp_path, capsys):
    import shutil

    folder = tmp_path / "dups"
    shutil.copytree(images, folder)
    first = sorted(folder.glob("*.png"))[0]
    shutil.copy(first, folder / "copy_of_first.png")
    assert main(_select(world, folder, "--json", str(tmp_path / "r.json"))) == 0
    out = capsys.readouterr().out
    assert "for 3 images" in out and "duplicate dropped" in out
