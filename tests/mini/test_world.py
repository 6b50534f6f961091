"""The mini world's registration (vlmsel.mini.world): what it registers, its folders, and a package
that re-exports nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import vlmsel.mini
from vlmsel.data.benchmarks import load_benchmark
from vlmsel.data.zoo import load_zoo, named_zoo
from vlmsel.mini import world
from vlmsel.profiles.registry import registry


def test_folders(monkeypatch, tmp_path):
    monkeypatch.delenv("VLMSEL_MINI_DIR", raising=False)
    repo = Path(__file__).resolve().parents[2] / "data" / "mini"
    assert world.default_mini_dir() == repo
    assert world.default_profile_store() == repo / "profiles"
    assert world.default_profile_store(tmp_path) == tmp_path / "profiles"
    assert world.default_profile_store(tmp_path, objective="zs_max_logit") == tmp_path / "profiles_zs_max_logit"
    monkeypatch.setenv("VLMSEL_MINI_DIR", str(tmp_path))
    assert world.default_mini_dir() == tmp_path and world.default_profile_store() == tmp_path / "profiles"


def test_the_committed_mini_world_stays_under_60_mb():
    """The budget of the issue that built the world: ``data/mini`` (weights in fp16, profiles compressed)."""
    repo = Path(__file__).resolve().parents[2] / "data" / "mini"
    total = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())
    assert total < 60e6, f"data/mini holds {total / 1e6:.1f} MB"


def test_register_is_idempotent_and_registers_its_pieces():
    world.register()
    world.register()  # again: replaces its own entries, no error
    assert named_zoo(world.NAME).benchmark == world.NAME
    entry = registry()[world.NAME]
    assert entry.zoo == world.NAME and Path(entry.path) == world.default_profile_store()
    zs = registry()[f"{world.NAME}-zs_max_logit"]
    assert zs.zoo == world.NAME and Path(zs.path) == world.default_profile_store(objective="zs_max_logit")


def test_the_package_re_exports_nothing():
    public = [n for n in vars(vlmsel.mini) if not n.startswith("_")]
    assert set(public) <= {"world", "groundtruth", "models", "tasks", "domains", "captions", "tokenizer", "training",
                           "mixtures", "zoo", "realism", "profiling", "data"}  # only submodules imported elsewhere
    with pytest.raises(AttributeError):
        vlmsel.mini.load_mini_benchmark  # noqa: B018


@pytest.mark.skipif(not (world.default_mini_dir() / "groundtruth.csv").is_file(), reason="mini world not built")
def test_the_registered_loaders_give_the_mini_world(one_torch_thread):
    bench = load_benchmark("mini")
    assert bench.name == "mini"
    zoo = load_zoo("mini")
    assert [e.name for e in zoo] == [m for m in bench.models if m in {e.name for e in zoo}]
    assert set(e.name for e in zoo) <= set(bench.models) and len(zoo) >= 2


def test_a_missing_mini_dir_names_the_variable_and_the_folder(monkeypatch, tmp_path, capsys):
    from PIL import Image

    from vlmsel.cli import main

    missing = tmp_path / "nonexistent"
    monkeypatch.setenv("VLMSEL_MINI_DIR", str(missing))
    monkeypatch.setenv("VLMSEL_CACHE_DIR", str(tmp_path / "cache"))
    expected = (f"VLMSEL_MINI_DIR={missing}: no such folder; unset it to use the packaged mini world, or point it "
                "at a folder made by `vlmsel mini train`")
    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        Image.new("RGB", (8, 8), (60 * i, 0, 0)).save(images / f"{i}.png")
    for argv in (["mini", "models"], ["evaluate", "--benchmark", "mini", "--method", "inb"],
                 ["select", "--images", str(images), "--zoo", "mini", "--device", "cpu"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == f"vlmsel {argv[0]}: error: {expected}\n", err
    assert main(["mini", "models", "--dir", str(missing)]) == 2
    assert f"--dir {missing}: no such folder" in capsys.readouterr().err
