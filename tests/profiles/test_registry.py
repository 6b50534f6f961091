"""Published profile stores: download (a file:// URL here), sha256 check before anything is kept, safe
unpacking, the cache, offline mode; the packaged registry (no stores) and stores registered in code."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from vlmsel.data.upstream import DataFileError
from vlmsel.files import cache_dir, sha256_file
from vlmsel.profiles import registry as registry_module
from vlmsel.profiles.registry import PublishedStore, fetch_store, register_store, registry, store_for_zoo
from vlmsel.profiles.store import ProfileStore, write_profile


def _store(folder: Path) -> Path:
    n, l = 3, 4
    rng = np.random.default_rng(0)
    arrays = {k: rng.random((n, l)) for k in ("abs", "l2", "signed", "branch")}
    arrays.update(
        f_x=np.ones(n),
        f_baseline=np.zeros(n),
        block_names=[f"b{i}" for i in range(l)],
        image_ids=[f"i{i}" for i in range(n)],
    )
    write_profile(folder, "RN50 openai", "dtd", arrays, {"n_steps": 2})
    return folder


def _archive(tmp_path: Path, root: str = "store") -> Path:
    """A store packed by `vlmsel store pack` (checksum manifest first)."""
    from vlmsel.profiles.archive import pack_store

    _store(tmp_path / "src" / root)
    return pack_store(tmp_path / "src" / root, tmp_path / "store.tar.gz").path


def _registry(tmp_path: Path, archive: Path, sha: str | None = None, root: str = "store") -> Path:
    reg = {
        "format": "vlmsel-profile-registry",
        "version": 1,
        "stores": {
            "tiny": {
                "zoo": "openclip48",
                "url": archive.as_uri(),
                "sha256": sha or sha256_file(archive),
                "bytes": archive.stat().st_size,
                "root": root,
            }
        },
    }
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(reg))
    return path


def test_fetch_verifies_unpacks_and_caches(tmp_path):
    archive = _archive(tmp_path)
    reg = registry(_registry(tmp_path, archive))
    cache = tmp_path / "cache"
    store = fetch_store("tiny", reg=reg, cache=cache)
    ps = ProfileStore(store)
    assert ps.models == ["RN50 openai"] and ps.datasets == ["dtd"]
    assert not list(cache.glob("*.partial")) and not list(cache.glob("*.tar.gz"))
    archive.unlink()  # a second call must not need the archive
    assert fetch_store("tiny", reg=reg, cache=cache) == store
    assert store_for_zoo("openclip48", reg).name == "tiny"


def test_wrong_sha256_keeps_nothing(tmp_path):
    archive = _archive(tmp_path)
    reg = registry(_registry(tmp_path, archive, sha="0" * 64))
    cache = tmp_path / "cache"
    with pytest.raises(DataFileError, match="sha256"):
        fetch_store("tiny", reg=reg, cache=cache)
    assert not any(p for p in cache.rglob("*") if p.is_file())


def test_unsafe_archive_is_refused(tmp_path):
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        data = b"x"
        info = tarfile.TarInfo("../evil.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    reg = registry(_registry(tmp_path, path))
    with pytest.raises(DataFileError, match="unsafe|refused"):
        fetch_store("tiny", reg=reg, cache=tmp_path / "cache")
    assert not (tmp_path / "evil.txt").exists()


def test_archive_without_a_store_and_offline_mode(tmp_path, monkeypatch):
    archive = _archive(tmp_path)
    reg = registry(_registry(tmp_path, archive, root="elsewhere"))
    with pytest.raises(DataFileError, match="the registry says its store is in 'elsewhere', the archive holds 'store'"):
        fetch_store("tiny", reg=reg, cache=tmp_path / "cache")
    monkeypatch.setenv("VLMSEL_OFFLINE", "1")
    with pytest.raises(DataFileError, match="VLMSEL_OFFLINE"):
        fetch_store("tiny", reg=registry(_registry(tmp_path, archive)), cache=tmp_path / "cache2")


def test_fetch_caches_under_the_profiles_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VLMSEL_CACHE_DIR", str(tmp_path / "vc"))
    archive = _archive(tmp_path)
    store = fetch_store("tiny", reg=registry(_registry(tmp_path, archive)))
    assert cache_dir("profiles") == tmp_path / "vc" / "profiles"
    assert cache_dir("profiles") in store.parents and (store / "store.json").is_file()


def test_packaged_registry_lists_no_store_and_the_mini_world_registers_its_own(tmp_path):
    packaged = resources.files("vlmsel").joinpath("resources/profile_stores.json")
    with resources.as_file(packaged) as path:
        assert registry(path) == {}
    reg = registry()
    mini = reg["mini"]
    assert mini.zoo == "mini" and mini.path and not mini.url and not mini.sha256
    from vlmsel.mini.paths import default_profile_store

    assert Path(mini.path) == default_profile_store()
    assert store_for_zoo("mini") == mini  # the norm store comes first; the zs_max_logit one is named
    zs = reg["mini-zs_max_logit"]
    assert zs.zoo == "mini" and Path(zs.path) == default_profile_store(objective="zs_max_logit")
    with pytest.raises(ValueError, match="objectives \\['norm', 'zs_max_logit'\\], not 'grad'"):
        default_profile_store(objective="grad")
    assert fetch_store("mini") == Path(mini.path)  # a local store: nothing downloaded or copied
    with pytest.raises(KeyError, match="unknown published profile store 'nope'"):
        fetch_store("nope")
    missing = dataclasses.replace(mini, path=str(tmp_path / "no_mini"))
    with pytest.raises(FileNotFoundError, match="no_mini/store.json is missing.*vlmsel mini profile"):
        fetch_store("mini", reg={"mini": missing})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a profile-store registry"):
        registry(bad)


def test_register_store(tmp_path, monkeypatch):
    registry()  # load the installed worlds first, so the copy below holds them
    monkeypatch.setattr(registry_module.STORE_REGISTRY, "_registered", dict(registry_module.STORE_REGISTRY._registered))
    folder = _store(tmp_path / "mine")
    entry = PublishedStore(name="mine", zoo="myzoo", path=str(folder), description="my own")
    register_store(entry)
    register_store(entry)  # the same entry again is fine
    assert registry()["mine"] == entry and store_for_zoo("myzoo") == entry
    assert ProfileStore(fetch_store("mine")).models == ["RN50 openai"]
    other = dataclasses.replace(entry, path=str(tmp_path))
    with pytest.raises(ValueError, match="'mine' is already registered"):
        register_store(other)
    register_store(other, replace=True)
    assert registry()["mine"].path == str(tmp_path)
    with pytest.raises(ValueError, match="needs a local path or a url and sha256"):
        register_store(PublishedStore(name="nowhere", zoo="myzoo"))
    with pytest.raises(ValueError, match="url and sha256"):
        register_store(PublishedStore(name="half", zoo="myzoo", url="https://example.org/x.tar.gz"))
