"""The download path of the data layer, for real: files served over HTTP from 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from vlmsel.data import upstream
from vlmsel.data.upstream import DataFileError, UpstreamFile
from vlmsel.files import CACHE_DIR_ENV, sha256_bytes

GOOD = b"dataset,model,acc1\ncars,RN50 openai,0.5\n"


@pytest.fixture()
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/served; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "good.csv").write_bytes(GOOD)
    (served / "tampered.csv").write_bytes(GOOD.replace(b"0.5", b"0.9"))  # same size, other bytes
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def fake_registry(monkeypatch, server, tmp_path):
    entries = {
        "x/good.csv": UpstreamFile("x/good.csv", f"{server}/good.csv", sha256_bytes(GOOD), len(GOOD)),
        "x/tampered.csv": UpstreamFile("x/tampered.csv", f"{server}/tampered.csv", sha256_bytes(GOOD), len(GOOD)),
        "x/missing.csv": UpstreamFile("x/missing.csv", f"{server}/missing.csv", sha256_bytes(GOOD), len(GOOD)),
    }
    monkeypatch.setattr(upstream, "registry", lambda: entries)
    monkeypatch.delenv(upstream.DATA_DIR_ENV, raising=False)
    monkeypatch.delenv(upstream.OFFLINE_ENV, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR_ENV, str(cache))
    return cache / "data"  # the upstream files' kind of cache (vlmsel.files.cache_dir)


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_good_download_lands_in_cache_once(fake_registry, monkeypatch):
    path = upstream.fetch("x/good.csv")
    assert path == fake_registry / "x" / "good.csv"
    assert path.read_bytes() == GOOD
    # Second call reads the cache: make any further download fail to prove it is not attempted.
    monkeypatch.setattr(upstream, "download", lambda *a, **k: pytest.fail("downloaded twice"))
    assert upstream.fetch("x/good.csv") == path


def test_hash_mismatch_names_file_and_leaves_nothing(fake_registry):
    with pytest.raises(DataFileError, match=r"x/tampered\.csv.*sha256.*nothing was saved"):
        upstream.fetch("x/tampered.csv")
    assert _files_under(fake_registry) == []


def test_missing_upstream_file_is_a_clear_error(fake_registry):
    with pytest.raises(DataFileError, match=r"could not download x/missing\.csv.*404"):
        upstream.fetch("x/missing.csv")
    assert _files_under(fake_registry) == []


def test_corrupted_cache_file_is_reported(fake_registry):
    path = upstream.fetch("x/good.csv")
    path.write_bytes(b"garbage")
    with pytest.raises(DataFileError, match=r"does not match the pinned version of x/good\.csv"):
        upstream.fetch("x/good.csv")


def test_offline_mode_refuses_to_download(fake_registry, monkeypatch):
    monkeypatch.setenv(upstream.OFFLINE_ENV, "1")
    with pytest.raises(DataFileError, match=r"x/good\.csv is not in the cache"):
        upstream.fetch("x/good.csv")


def test_bad_data_dir_value(monkeypatch, tmp_path):
    monkeypatch.setenv(upstream.DATA_DIR_ENV, str(tmp_path / "no-such-folder"))
    with pytest.raises(DataFileError, match=r"VLMSEL_DATA_DIR=.*no-such-folder.*is not a folder"):
        upstream.fetch("lovm/LOVM/eval_table.csv")


def test_data_dir_missing_file(monkeypatch, tmp_path):
    monkeypatch.setenv(upstream.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataFileError, match=r"eval_table\.csv is missing.*does not hold lovm/LOVM/eval_table\.csv"):
        upstream.fetch("lovm/LOVM/eval_table.csv")


def test_data_dir_wrong_version(monkeypatch, tmp_path):
    target = tmp_path / "lovm" / "LOVM" / "datasets.txt"
    target.parent.mkdir(parents=True)
    target.write_text("cars\n")
    monkeypatch.setenv(upstream.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataFileError, match=r"datasets\.txt.*does not match the pinned version"):
        upstream.fetch("lovm/LOVM/datasets.txt")


def test_unknown_file_name():
    with pytest.raises(DataFileError, match="not a known ground-truth file"):
        upstream.fetch("lovm/LOVM/nope.csv")


def test_registry_pins_every_file_at_a_full_commit():
    reg = upstream.registry()
    assert len(reg) >= 57
    commits = {s["commit"] for s in upstream.sources().values()}
    for entry in reg.values():
        assert len(entry.sha256) == 64
        assert any(c in entry.url for c in commits), entry.url
        assert all(len(c) == 40 for c in commits)


def test_shared_copy_matches_registry():
    """Every pinned file in the local copy used by CI has the pinned hash (skipped without a copy)."""
    if upstream.data_dir() is None:
        pytest.skip("no VLMSEL_DATA_DIR")
    for rel in upstream.registry():
        upstream.fetch(rel)



def test_a_failed_download_gives_the_advice_of_what_is_downloaded(fake_registry, tmp_path):
    entry = upstream.registry()["x/missing.csv"]
    with pytest.raises(DataFileError, match=rf"404.*{upstream.DATA_DIR_ENV}"):  # a benchmark table
        upstream.download(entry, tmp_path / "table.csv")
    advice = "Check the store's URL in the registry (`vlmsel store list`), or pass a store folder with --profiles."
    with pytest.raises(DataFileError) as failed:  # e.g. a profile store: VLMSEL_DATA_DIR would not help
        upstream.download(entry, tmp_path / "store.tar.gz", hint=advice)
    assert str(failed.value).endswith(f"404: File not found. {advice}"), failed.value
    assert upstream.DATA_DIR_ENV not in str(failed.value)


def test_a_download_is_streamed_and_stopped_past_its_pinned_size(server, tmp_path):
    """A server that sends more than the pinned size is cut off there (nothing saved); one that sends the
    pinned bytes lands whole, though read in chunks."""
    big = tmp_path / "served" / "big.bin"
    big.write_bytes(bytes(3 << 20))
    entry = UpstreamFile("x/big.bin", f"{server}/big.bin", sha256_bytes(bytes(3 << 20)), 1 << 20)
    with pytest.raises(upstream.DataFileError, match="larger than the 1048576 bytes pinned for it; stopped"):
        upstream.download(entry, tmp_path / "out" / "big.bin")
    assert _files_under(tmp_path / "out") == []
    whole = UpstreamFile("x/big.bin", entry.url, entry.sha256, 3 << 20)
    assert upstream.download(whole, tmp_path / "out" / "big.bin").stat().st_size == 3 << 20
    unknown = UpstreamFile("x/big.bin", entry.url, entry.sha256, 0)  # no size pinned: the max_bytes bound
    with pytest.raises(upstream.DataFileError, match="larger than the 1000 bytes"):
        upstream.download(unknown, tmp_path / "out2" / "big.bin", max_bytes=1000)
    assert _files_under(tmp_path / "out2") == []
