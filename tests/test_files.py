"""Atomic writes, hashes and the cache location (vlmsel.files)."""

import os
from pathlib import Path

import pytest

from vlmsel.files import CACHE_DIR_ENV, CACHE_KINDS, atomic_write, cache_dir, sha256_bytes, sha256_file


def test_atomic_write_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "out.txt", "w") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write(b"new, half written")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_sha256(tmp_path):
    (tmp_path / "a").write_bytes(b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_file(tmp_path / "a") == sha256_bytes(b"abc") == expected


@pytest.mark.parametrize("kind", ["data", "profiles", "targets"])
def test_cache_dir_under_vlmsel_cache_dir(kind, monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "vc"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # VLMSEL_CACHE_DIR wins
    assert CACHE_DIR_ENV == "VLMSEL_CACHE_DIR" and kind in CACHE_KINDS
    assert cache_dir(kind) == tmp_path / "vc" / kind
    assert not (tmp_path / "vc").exists()  # named, not created
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(CACHE_DIR_ENV, "~/c")
    assert cache_dir(kind) == tmp_path / "home" / "c" / kind


def test_cache_dir_under_xdg_cache_home_then_home(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("data") == tmp_path / "xdg" / "vlmsel" / "data"
    monkeypatch.setenv(CACHE_DIR_ENV, "")  # empty: as if unset
    assert cache_dir("targets") == tmp_path / "xdg" / "vlmsel" / "targets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir("profiles") == tmp_path / "home" / ".cache" / "vlmsel" / "profiles"
    assert cache_dir("profiles") == Path.home() / ".cache" / "vlmsel" / "profiles"


def test_cache_dir_unknown_kind(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="unknown cache kind 'models'.*data"):
        cache_dir("models")
    with pytest.raises(ValueError, match="unknown cache kind"):
        cache_dir("")
