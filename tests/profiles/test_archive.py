"""Packing, verifying, merging and publishing profile stores: a reproducible archive whose every flipped
byte is found, merges that refuse other settings, versions or images and report conflicting entries,
and pack -> publish -> fetch over HTTP on the loopback, as `vlmsel select --zoo` uses it."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import numpy as np
import pytest

from tests.profiles.conftest import VERSIONS, write_entry, write_store
from vlmsel.cli import main
from vlmsel.files import try_claim
from vlmsel.profiles.archive import merge_stores, pack_store, store_settings, verify_store
from vlmsel.profiles.registry import open_store
from vlmsel.profiles.store import ProfileStore, claim_path, read_profile


def test_pack_is_reproducible_and_verifies(tmp_path, capsys):
    store = write_store(tmp_path / "store")
    a = pack_store(store, tmp_path / "a.tar.gz")
    b = pack_store(store, tmp_path / "b.tar.gz")
    assert a.sha256 == b.sha256 and a.n_entries == 3 and a.root == "store"
    check = verify_store(a.path, sha256=a.sha256)
    assert check.ok and check.n_entries == 3 and check.checksums["settings"]["n_steps"] == 4
    assert check.checksums["models"] == ["m1 a", "m2 b"] and check.checksums["datasets"] == ["d1", "d2"]
    assert main(["store", "verify", str(a.path), "--sha256", a.sha256]) == 0
    assert (
        "OK (3 entries, 7 files checked against its checksum manifest, sha256 as expected)" in capsys.readouterr().out
    )
    assert verify_store(store).ok
    assert store_settings(store)["settings"]["weights"] == "random-init"


def test_every_flipped_byte_is_found(tmp_path, capsys):
    store = write_store(tmp_path / "store")
    packed = pack_store(store, tmp_path / "s.tar.gz")
    good = packed.path.read_bytes()
    bad = tmp_path / "bad.tar.gz"
    for pos in [*range(0, 10), *range(10, len(good), max(1, len(good) // 40)), len(good) - 1]:
        flipped = bytearray(good)
        flipped[pos] ^= 0x01
        bad.write_bytes(bytes(flipped))
        assert not verify_store(bad, sha256=packed.sha256).ok, pos  # the archive's sha256 catches any byte
        if pos >= 10:  # past gzip's header (its time / OS bytes change no content): the archive itself tells
            assert not verify_store(bad).ok, pos
    assert main(["store", "verify", str(bad)]) == 1
    assert "problem(s)" in capsys.readouterr().out
    # a folder: a flipped byte in an entry's arrays is named
    npz = claim_path(store, "m1 a", "d2").parent / "d2.npz"
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    npz.write_bytes(bytes(raw))
    check = verify_store(store)
    assert not check.ok and str(npz) in check.problems[0]


def test_pack_refuses_a_store_being_computed_or_damaged(tmp_path):
    store = write_store(tmp_path / "store")
    with try_claim(claim_path(store, "m2 b", "d2")):
        with pytest.raises(ValueError, match="1 entries are being computed"):
            pack_store(store)
    assert pack_store(store).path == tmp_path / "store.tar.gz"
    with pytest.raises(ValueError, match="must not be inside the store"):
        pack_store(store, store / "x.tar.gz")
    (claim_path(store, "m1 a", "d1").parent / "d1.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="damaged profile entry"):
        pack_store(store)


def test_merge_copies_the_union_and_keeps_identical_entries_once(tmp_path, capsys):
    a = write_store(tmp_path / "a", entries=[("m1 a", "d1"), ("m1 a", "d2")])
    b = write_store(tmp_path / "b", entries=[("m1 a", "d1"), ("m2 b", "d1")])  # m1/d1: the same entry (seed 0)
    assert main(["store", "merge", str(a), str(b), "--into", str(tmp_path / "c")]) == 0
    assert "copied 3 entries from 2 store(s); 1 held twice with identical arrays" in capsys.readouterr().out
    merged = ProfileStore(tmp_path / "c")
    assert merged.models == ["m1 a", "m2 b"] and merged.datasets == ["d1", "d2"]
    for src, m, d in ((a, "m1 a", "d2"), (b, "m2 b", "d1")):
        np.testing.assert_array_equal(read_profile(merged, m, d)[0]["abs"], read_profile(src, m, d)[0]["abs"])
    report = merge_stores([a, b], tmp_path / "c")
    assert report.copied == [] and len(report.same) == 4


@pytest.mark.parametrize(
    "what, changes, message",
    [
        ("settings", {"n_steps": 7}, "other settings (n_steps: 4 in"),
        ("versions", {"versions": {**VERSIONS, "torch": "2.1"}}, "other versions (torch: '2.0' in"),
        ("images", {"images": "other"}, "dataset 'd1': other images in"),
    ],
)
def test_merge_never_mixes_silently(tmp_path, capsys, what, changes, message):
    a = write_store(tmp_path / "a", entries=[("m1 a", "d1")])
    b = write_store(tmp_path / "b", entries=[("m2 b", "d1")], **changes)
    dest = tmp_path / "c"
    assert main(["store", "merge", str(a), str(b), "--into", str(dest)]) == 2
    err = capsys.readouterr().err
    assert message in err and "nothing merged" in err and err.count("\n") == 1, err
    assert not dest.exists()
    if what == "versions":
        assert merge_stores([a, b], dest, allow_other_versions=True).copied == [("m1 a", "d1"), ("m2 b", "d1")]


def test_merge_reports_every_conflicting_entry(tmp_path):
    a = write_store(tmp_path / "a", entries=[("m1 a", "d1"), ("m1 a", "d2")])
    b = tmp_path / "b"
    write_entry(b, "m1 a", "d1", seed=5)
    write_entry(b, "m1 a", "d2", seed=6)
    with pytest.raises(ValueError, match=r"2 conflict\(s\): m1 a / d1: different arrays in .*a and .*b; m1 a / d2"):
        merge_stores([a, b], tmp_path / "c")
    c = write_store(tmp_path / "c2", entries=[("m1 a", "d3")], block="x")
    with pytest.raises(ValueError, match="model 'm1 a': other blocks"):
        merge_stores([a, c], tmp_path / "c3")


@pytest.fixture
def http_root(tmp_path, monkeypatch):
    """A folder served over HTTP on 127.0.0.1 (the stand-in for a release page); yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    monkeypatch.setenv("VLMSEL_ALLOW_HTTP", "1")  # a server we run ourselves, on the loopback

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no access log on stderr
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pack_publish_fetch_over_http(tmp_path, http_root, monkeypatch, capsys):
    www, base = http_root
    store = write_store(tmp_path / "profiles_demo")
    assert main(["store", "pack", str(store), "--out", str(www / "demo.tar.gz")]) == 0
    reg = tmp_path / "registry.json"
    assert (
        main(
            [
                "store",
                "publish",
                str(www / "demo.tar.gz"),
                "--url",
                f"{base}/demo.tar.gz",
                "--zoo",
                "openclip48",
                "--registry",
                str(reg),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "store 'profiles_demo' for zoo 'openclip48'" in out and "2 models x 2 datasets, N=3, n_steps=4" in out
    entry = json.loads(reg.read_text())["stores"]["profiles_demo"]
    assert entry["root"] == "profiles_demo" and entry["url"].startswith("http://127.0.0.1:")
    monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(reg))
    monkeypatch.setenv("VLMSEL_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["store", "list"]) == 0
    assert "profiles_demo" in capsys.readouterr().out
    fetched = open_store(None, zoo="openclip48")  # what `vlmsel select --zoo openclip48` does
    assert fetched.path.is_relative_to(tmp_path / "cache" / "profiles")
    for m, d in ProfileStore(store)._entries():
        np.testing.assert_array_equal(read_profile(fetched, m, d)[0]["abs"], read_profile(store, m, d)[0]["abs"])
    (www / "demo.tar.gz").unlink()  # cached: no second download
    assert main(["store", "fetch", "profiles_demo"]) == 0
    assert "2 models x 2 datasets" in capsys.readouterr().out


def test_a_changed_upload_is_refused_and_nothing_cached(tmp_path, http_root, monkeypatch, capsys):
    www, base = http_root
    store = write_store(tmp_path / "profiles_demo")
    packed = pack_store(store, www / "demo.tar.gz")
    reg = tmp_path / "registry.json"
    assert (
        main(
            [
                "store",
                "publish",
                str(packed.path),
                "--url",
                f"{base}/demo.tar.gz",
                "--zoo",
                "openclip48",
                "--registry",
                str(reg),
                "--name",
                "demo",
            ]
        )
        == 0
    )
    raw = bytearray(packed.path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    packed.path.write_bytes(bytes(raw))
    monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(reg))
    monkeypatch.setenv("VLMSEL_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["store", "fetch", "demo"]) == 2
    err = capsys.readouterr().err
    assert "sha256" in err and "nothing was saved" in err and err.count("\n") == 1
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))
    assert (
        main(
            [
                "store",
                "publish",
                str(packed.path),
                "--url",
                f"{base}/demo.tar.gz",
                "--zoo",
                "openclip48",
                "--registry",
                str(reg),
            ]
        )
        == 2
    )
    assert "does not verify" in capsys.readouterr().err
