"""Bad input on the command line: every case ends with exit code 2 and one line that names the culprit
(option, file, model), before any long work, and leaves earlier outputs and stores unchanged."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import select_args
from tests.conftest import one_error_line
from vlmsel.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory, build_world, select_zoo):
    return build_world(
        tmp_path_factory.mktemp("bad_input"), zoo_items=select_zoo, sources=["src0", "src1"], n_src=4, n_steps=3
    )


@pytest.fixture(scope="module")
def images(world, make_images):
    folder = world["base"] / "mine"
    make_images(folder, 3, kind=0, seed=11)
    return folder


def _read_only(world) -> Path:
    folder = world["base"] / "read_only"
    folder.mkdir(exist_ok=True)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return folder


# (case id, argv builder, the text the one error line must hold)
CASES = [
    ("device-gpu", lambda w, i: select_args(w, i, "--device", "gpu"), "--device 'gpu': not a device name"),
    (
        "device-cuda-without-gpu",
        lambda w, i: select_args(w, i, "--device", "cuda"),
        "--device 'cuda': this machine has no usable CUDA GPU",
    ),
    ("json-read-only", lambda w, i: select_args(w, i, "--json", str(_read_only(w) / "r.json")), "--json"),
    ("report-read-only", lambda w, i: select_args(w, i, "--report", str(_read_only(w) / "r.html")), "--report"),
    ("json-is-a-folder", lambda w, i: select_args(w, i, "--json", str(w["base"])), "is a folder"),
    (
        "json-is-an-input",
        lambda w, i: select_args(w, i, "--json", str(next(i.glob("*.png")))),
        "is one of the input images",
    ),
    (
        "json-is-the-report",
        lambda w, i: select_args(w, i, "--json", str(w["base"] / "x"), "--report", str(w["base"] / "x")),
        "--report",
    ),
    ("unknown-zoo", lambda w, i: ["select", "--images", str(i), "--zoo", "nope"], "'mini'"),
    ("one-model", lambda w, i: select_args(w, i, "--models", "vlmsel_sel_vit a"), "of the 1 given (vlmsel_sel_vit a)"),
    (
        "profile-device-gpu",
        lambda w, i: [
            "profile",
            "--zoo",
            "lovm35",
            "--datasets",
            "dtd",
            "--out",
            str(w["base"] / "p"),
            "--device",
            "gpu",
        ],
        "--device 'gpu'",
    ),
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
    one_error_line(capsys, expected)
    after = sorted(targets.rglob("*")) if targets.exists() else []
    assert after == before  # no work was done: nothing profiled, nothing written


# A flag's range is declared with the flag (vlmsel.cli.options.bounded): a value outside it, or text that is not
# a number, stops the parsing, as does any other parsing error. (argv, the one line on stderr, after "error: ")
PARSING_CASES = [
    (["select", "--images", "x", "--top", "0"], "argument --top: must be >= 1; got 0"),
    (["select", "--images", "x", "--top", "two"], "argument --top: invalid int value: 'two'"),
    (["select", "--images", "x", "--seed", "-1"], "argument --seed: must be >= 0; got -1"),
    (["select", "--images", "x", "--stable-at", "2"], "argument --stable-at: must be > 0 and <= 1; got 2"),
    (["select", "--images", "x", "--stable-at", "nan"], "argument --stable-at: must be > 0 and <= 1; got nan"),
    (["select", "--images", "x", "--n-images", "1"], "argument --n-images: must be >= 2; got 1"),
    (["select", "--images", "x", "--n-boot", "0"], "argument --n-boot: must be >= 10; got 0"),
    (["select", "--top", "3"], "the following arguments are required: --images"),
    (["evaluate", "--benchmark", "lovm", "--method", "inb", "--k", "0"], "argument --k: must be >= 1; got 0"),
    (["evaluate", "--benchmark", "lovm", "--method", "inb", "--k", "-2"], "argument --k: must be >= 1; got -2"),
    (
        ["evaluate", "--benchmark", "lovm", "--method", "inb", "--n-boot", "0"],
        "argument --n-boot: must be >= 10; got 0",
    ),
    (
        ["evaluate", "--benchmark", "lovm", "--method", "inb", "--level", "1.5"],
        "argument --level: must be > 0 and < 1; got 1.5",
    ),
    (["evaluate", "--benchmark", "lovm", "--method", "inb", "--null", "-1"], "argument --null: must be >= 0; got -1"),
    (
        ["profile", "--zoo", "lovm35", "--datasets", "dtd", "--out", "p", "--seed", "-3"],
        "argument --seed: must be >= 0; got -3",
    ),
    (
        ["profile", "--zoo", "lovm35", "--datasets", "dtd", "--out", "p", "--throughput", "0"],
        "argument --throughput: must be > 0; got 0",
    ),
    (
        ["profile", "--zoo", "lovm35", "--datasets", "dtd", "--out", "p", "--workers", "0"],
        "argument --workers: must be >= 1; got 0",
    ),
    (["zeroshot", "--zoo", "lovm35", "--out", "z", "--batch-size", "0"], "argument --batch-size: must be >= 1; got 0"),
    (["mini", "train", "--threads", "0"], "argument --threads: must be >= 1; got 0"),
]


@pytest.mark.parametrize("argv, expected", PARSING_CASES, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in PARSING_CASES])
def test_a_bad_flag_is_one_line_naming_it_and_its_range(argv, expected, capsys):
    with pytest.raises(SystemExit) as stop:  # argparse stops the parsing: nothing runs
        main(argv)
    out, err = capsys.readouterr()
    command = " ".join(argv[:2] if argv[0] == "mini" else argv[:1])
    assert stop.value.code == 2 and out == ""
    assert err == f"vlmsel {command}: error: {expected}\n", err


def test_an_unwritable_output_is_refused_before_any_work(world, images, capsys, monkeypatch):
    """As root a read-only folder is still writable, so the check is exercised through os.access."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if "nowrite" in str(p) else real(p, mode))
    folder = world["base"] / "nowrite"
    folder.mkdir(exist_ok=True)
    assert main(select_args(world, images, "--json", str(folder / "r.json"))) == 2
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
    assert main(select_args(world, folder, "--json", str(tmp_path / "r.json"))) == 0
    out = capsys.readouterr().out
    assert "for 3 images" in out and "duplicate dropped" in out


def _read_only_mount(monkeypatch, folder: Path) -> Path:
    """``folder`` behaves as on a read-only mount (root ignores chmod): creating a file or folder in it fails."""
    import errno

    folder.mkdir(exist_ok=True)

    def refusing(real):
        def call(path, *args, **kwargs):
            if os.fspath(path).startswith(f"{folder}{os.sep}"):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
            return real(path, *args, **kwargs)

        return call

    monkeypatch.setattr(os, "open", refusing(os.open))
    monkeypatch.setattr(os, "mkdir", refusing(os.mkdir))
    return folder


def _without_work_dir(argv: list[str]) -> list[str]:
    i = argv.index("--work-dir")
    return argv[:i] + argv[i + 2 :]


# (case id, argv builder (world, images, a file, a read-only folder), the one error line after "error: ")
FOLDER_CASES = [
    (
        "select-work-dir-is-a-file",
        lambda w, i, f, ro: select_args(w, i, "--work-dir", str(f)),
        "--work-dir {f}: not a folder (a file is there)",
    ),
    (
        "select-work-dir-under-a-file",
        lambda w, i, f, ro: select_args(w, i, "--work-dir", str(f / "t")),
        "--work-dir {f}/t: not a folder ({f} is a file)",
    ),
    (
        "select-work-dir-read-only",
        lambda w, i, f, ro: select_args(w, i, "--work-dir", str(ro)),
        "--work-dir {ro}: cannot write there (Read-only file system)",
    ),
    (
        "select-cache-read-only",
        lambda w, i, f, ro: _without_work_dir(select_args(w, i)),
        "the target cache (VLMSEL_CACHE_DIR) {ro}/targets: cannot create it in {ro} (Read-only file system)",
    ),
    (
        "select-json-read-only",
        lambda w, i, f, ro: select_args(w, i, "--json", str(ro / "r.json")),
        "--json {ro}/r.json: cannot write there (Read-only file system)",
    ),
    (
        "profile-out-is-a-file",
        lambda w, i, f, ro: [
            "profile",
            "--models",
            "RN50 openai",
            "--images",
            str(i),
            "--random-init",
            "--out",
            str(f),
        ],
        "--out {f}: not a folder (a file is there)",
    ),
    (
        "profile-out-read-only",
        lambda w, i, f, ro: [
            "profile",
            "--models",
            "RN50 openai",
            "--images",
            str(i),
            "--random-init",
            "--out",
            str(ro / "store"),
        ],
        "--out {ro}/store: cannot create it in {ro} (Read-only file system)",
    ),
    (
        "profile-jobs-dir-is-a-file",
        lambda w, i, f, ro: [
            "profile",
            "--models",
            "RN50 openai",
            "--images",
            str(i),
            "--random-init",
            "--out",
            str(w["base"] / "s"),
            "--submit",
            "local",
            "--workers",
            "1",
            "--jobs-dir",
            str(f),
        ],
        "--jobs-dir {f}: not a folder (a file is there)",
    ),
    (
        "zeroshot-out-read-only",
        lambda w, i, f, ro: [
            "zeroshot",
            "--models",
            "RN50 openai",
            "--images",
            str(i),
            "--random-init",
            "--out",
            str(ro),
        ],
        "--out {ro}: cannot write there (Read-only file system)",
    ),
    (
        "evaluate-out-is-a-file",
        lambda w, i, f, ro: ["evaluate", "--benchmark", "lovm", "--method", "inb", "--out", str(f)],
        "--out {f}: not a folder (a file is there)",
    ),
]


@pytest.mark.parametrize("case, argv, expected", FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
def test_an_unwritable_folder_is_refused_before_any_model_is_run(
    case, argv, expected, world, images, tmp_path, monkeypatch, capsys
):
    from vlmsel.cli import cluster
    from vlmsel.data import zeroshot
    from vlmsel.profiles import compute
    from vlmsel.recommend import pipeline

    def work(*args, **kwargs):
        raise AssertionError(f"{case}: work started before the folders were checked")

    for module, name in (
        (pipeline, "_profile_target"),
        (compute, "run_profiles"),
        (zeroshot, "run_zero_shot"),
        (cluster, "submit_commands"),
    ):
        monkeypatch.setattr(module, name, work)
    file = tmp_path / "f"
    file.write_text("")
    argv = argv(world, images, file, tmp_path / "ro")  # before the mount: the world's folders stay writable
    ro = _read_only_mount(monkeypatch, tmp_path / "ro")
    monkeypatch.setenv("VLMSEL_CACHE_DIR", str(ro))
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err == f"vlmsel {argv[0]}: error: {expected.format(f=file, ro=ro)}\n", err
    assert out == "" and os.listdir(ro) == []


def _generated_image(path):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (6, 6), (len(path.name) * 20, 40, 90)).save(path)


def test_a_folder_of_loops_and_dot_files_is_one_line_saying_why(tmp_path, capsys):
    folder = tmp_path / "photos"
    for name in (".a.png", ".b.png", "sub/.c.png"):
        _generated_image(folder / name)
    os.symlink("..", folder / "sub" / "loop")
    (folder / "notes.txt").write_text("hello")
    assert main(["select", "--images", str(folder), "--zoo", "mini"]) == 2
    err = one_error_line(capsys)
    assert err.startswith(
        f"vlmsel select: error: folder {folder}: 0 usable image(s), at least 2 are needed "
        "(25 recommended; 3 dot-files ignored, 1 symlink loop skipped, 1 non-image file)"
    ), err


def test_a_subfolder_that_cannot_be_listed_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    """As root a chmod 000 folder is still readable, so the permission error is simulated."""
    import errno

    folder = tmp_path / "photos"
    for name in ("a.png", "bb.png"):
        _generated_image(folder / "locked" / name)
    real = os.scandir

    def scandir(path="."):
        if os.path.basename(path) == "locked":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert main(["select", "--images", str(folder), "--zoo", "mini"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"vlmsel select: error: {folder / 'locked'}: cannot list this folder (Permission denied) "
        f"in image folder {folder}; pass --skip-bad to skip it\n"
    ), err
