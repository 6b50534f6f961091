"""Stores, archives and registries that someone else crafted: every one ends in exit 2 (or, for
``store verify``, exit 1 with the problem listed) and one line naming the culprit, and no file outside
the intended folder is created or changed (a listing of the parent folders before and after)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from tests.conftest import one_error_line
from tests.profiles.conftest import write_entry, write_store
from vlmsel.cli import main
from vlmsel.profiles.archive import pack_store, verify_store
from vlmsel.profiles.store import entry_digest

#: The two entries of every store these tests craft from.
ENTRIES = (("m1 a", "d1"), ("m2 b", "d1"))


def _store(folder: Path, entries=ENTRIES, **changes) -> Path:
    return write_store(folder, entries, **changes)


def _listing(*folders: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``folders``: path -> (size, sha256): what a test compares before and after."""
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.is_symlink():
                out[str(p)] = (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def _forge(json_path: Path, **fields) -> None:
    """Edit a manifest as an attacker would: change fields and recompute its own checksum."""
    man = json.loads(json_path.read_text())
    man.update(fields)
    man["entry_sha256"] = entry_digest(man)
    json_path.write_text(json.dumps(man))


# --- crafted stores: merge and verify ---------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value", [("model", ".."), ("model", "../../evil"), ("dataset", "../victim"), ("dataset", "d2")]
)
def test_a_manifest_naming_another_place_cannot_make_merge_write_outside(tmp_path, capsys, field, value):
    src = _store(tmp_path / "src")
    dest = _store(tmp_path / "work" / "dest", entries=(("m3 c", "d1"),))
    victim = tmp_path / "work" / "victim.json"
    victim.write_text("precious")
    _forge(src / "m1__a" / "d1.json", **{field: value})
    before = _listing(tmp_path)
    assert main(["store", "merge", str(src), "--into", str(dest)]) == 2
    one_error_line(capsys, "m1__a/d1.json", "refused")
    assert _listing(tmp_path) == before
    assert victim.read_text() == "precious"
    assert main(["store", "verify", str(src)]) == 1
    assert "m1__a/d1.json" in capsys.readouterr().out


def test_an_edited_manifest_is_found_by_its_own_checksum(tmp_path, capsys):
    store = _store(tmp_path / "s")
    path = store / "m1__a" / "d1.json"
    man = json.loads(path.read_text())
    man["n_steps"] = 50  # claims other settings, checksum left as it was
    path.write_text(json.dumps(man))
    assert main(["store", "verify", str(store)]) == 1
    assert "damaged or edited profile manifest" in capsys.readouterr().out
    with pytest.raises(ValueError, match="edited"):
        pack_store(store, tmp_path / "s.tar.gz")


def test_mixed_settings_fail_verify_pack_and_publish_unless_allowed(tmp_path, capsys):
    store = _store(tmp_path / "s")
    write_entry(store, "m3 c", "d1", seed=3, n_steps=50)
    assert main(["store", "verify", str(store)]) == 1
    assert "entries made with different settings (n_steps: 4, 50)" in capsys.readouterr().out
    assert main(["store", "verify", str(store), "--allow-mixed"]) == 0
    out = capsys.readouterr().out
    assert "note: " in out and "n_steps: 4, 50" in out and "OK (3 entries" in out
    assert main(["store", "pack", str(store), "--out", str(tmp_path / "s.tar.gz")]) == 2
    one_error_line(capsys, "different settings", "nothing packed")
    assert not (tmp_path / "s.tar.gz").exists()
    assert main(["store", "pack", str(store), "--out", str(tmp_path / "s.tar.gz"), "--allow-mixed"]) == 0
    capsys.readouterr()
    assert main(["store", "verify", str(tmp_path / "s.tar.gz")]) == 1  # the archive too
    assert "different settings" in capsys.readouterr().out
    reg = tmp_path / "reg.json"
    assert (
        main(
            [
                "store",
                "publish",
                str(tmp_path / "s.tar.gz"),
                "--url",
                "https://example.org/s.tar.gz",
                "--zoo",
                "z",
                "--registry",
                str(reg),
            ]
        )
        == 2
    )
    one_error_line(capsys, "does not verify", "different settings")
    assert not reg.exists()


@pytest.mark.parametrize(
    "content",
    ["{not json", "", "[]", '{"format": "vlmsel-profile-store", "version": 99}', '{"format": "other", "version": 2}'],
)
def test_a_damaged_or_foreign_store_json_is_refused_by_every_command(tmp_path, capsys, content):
    store = _store(tmp_path / "s")
    (store / "store.json").write_text(content)
    before = _listing(tmp_path)
    from vlmsel.profiles.compute import plan_profiles

    with pytest.raises(ValueError, match="store.json"):  # `vlmsel profile` and `--status` plan first
        plan_profiles([], ["d1"], store)
    for argv in (
        ["store", "verify", str(store)],
        ["store", "pack", str(store)],
        ["store", "merge", str(_store(tmp_path / "other")), "--into", str(store)],
        ["store", "merge", str(store), "--into", str(tmp_path / "new")],
    ):
        code = main(argv)
        if argv[1] == "verify":
            assert code == 1 and "store.json" in capsys.readouterr().out
        else:
            assert code == 2, argv
            one_error_line(capsys, "store.json")
    assert {k: v for k, v in _listing(tmp_path).items() if "/other/" not in k} == before


def test_a_store_file_that_is_a_link_out_is_refused(tmp_path, capsys):
    store = _store(tmp_path / "s")
    secret = tmp_path / "secret.npz"
    secret.write_bytes(b"secret")
    npz = store / "m1__a" / "d1.npz"
    npz.unlink()
    os.symlink(secret, npz)
    assert main(["store", "pack", str(store), "--out", str(tmp_path / "s.tar.gz")]) == 2
    one_error_line(capsys, "d1.npz", "outside")
    assert not (tmp_path / "s.tar.gz").exists()


# --- crafted archives: verify and fetch -------------------------------------------------------------


def _member(
    name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, size: int | None = None, link: str = ""
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(data) if size is None else size
    return info, data


def _craft(path: Path, members, tail: bytes = b"") -> Path:
    """A .tar.gz holding exactly ``members`` (TarInfo, data), then ``tail`` inside the gzip stream."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            if info.isreg() and info.size != len(data):  # a header that claims more than it carries
                tar.fileobj.write(info.tobuf(tarfile.GNU_FORMAT))
                tar.fileobj.write(data)
                continue
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    path.write_bytes(gzip.compress(buf.getvalue() + tail, mtime=0))
    return path


def _good_members(tmp_path: Path, root: str = "st") -> list:
    """The members of a real packed store, in order (checksums first)."""
    packed = pack_store(_store(tmp_path / root), tmp_path / "good.tar.gz")
    out = []
    with tarfile.open(packed.path) as tar:
        for m in tar.getmembers():
            out.append((m, tar.extractfile(m).read() if m.isreg() else b""))
    return out


def _with_listed(members: list, name: str, data: bytes) -> list:
    """``members`` with ``name`` added to the checksum manifest (as a careful attacker would)."""
    out = []
    for info, raw in members:
        if info.name.endswith("/checksums.json"):
            man = json.loads(raw)
            man["files"][name.split("/", 1)[1] if "/" in name else name] = hashlib.sha256(data).hexdigest()
            raw = json.dumps(man).encode()
            info = _member(info.name, raw)[0]
        out.append((info, raw))
    return out


def _evil_archives(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = _good_members(tmp_path)
    cases = {
        "extra top-level file": (good + [_member("st/extra.txt", b"x")], "not listed"),
        "escaping name": (good + [_member("st/../evil.txt", b"x")], "relative folder"),
        "absolute name": (good + [_member("/tmp/evil.txt", b"x")], "absolute path"),
        "second top folder": (good + [_member("other/store.json", b"{}")], "outside the archive's top folder"),
        "symlink": (
            _with_listed(good, "st/m1__a/d9.npz", b"")
            + [_member("st/m1__a/d9.npz", kind=tarfile.SYMTYPE, link="/etc/passwd")],
            "symbolic link",
        ),
        "hard link": (good + [_member("st/m1__a/d9.npz", kind=tarfile.LNKTYPE, link="st/store.json")], "hard link"),
        "device": (good + [_member("st/m1__a/d9.npz", kind=tarfile.CHRTYPE)], "a device"),
        "duplicate": (good + [good[-1]], "appears twice"),
        "manifest not first": ([m for m in good if not m[0].name.endswith("checksums.json")], "not st/checksums.json"),
        "listed escaping name": (_with_listed(good, "st/../x.json", b"{}"), "relative folder"),
        "too deep": (good + [_member("st/a/b/c.npz", b"x")], "deeper than 3"),
        "member claims 2 GiB": (
            good + [_member("st/m1__a/big.npz", b"x" * 512, size=2 << 30)],
            "claims 2147483648 bytes",
        ),
    }
    return {k: (_craft(tmp_path / f"{i}.tar.gz", members), why) for i, (k, (members, why)) in enumerate(cases.items())}


def test_store_verify_names_every_crafted_member(tmp_path):
    for case, (path, why) in _evil_archives(tmp_path).items():
        check = verify_store(path)
        assert not check.ok, case
        assert why in check.problems[0] and str(path) in check.problems[0], (case, check.problems)


def _registry_for(tmp_path: Path, archive: Path, name: str = "evil", root: str = "st", **fields) -> Path:
    reg = tmp_path / f"reg-{archive.stem}.json"
    entry = {
        "zoo": "openclip48",
        "url": archive.as_uri(),
        "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
        "bytes": archive.stat().st_size,
        "root": root,
        **fields,
    }
    reg.write_text(json.dumps({"format": "vlmsel-profile-registry", "version": 1, "stores": {name: entry}}))
    return reg


def test_store_fetch_refuses_every_crafted_archive_and_keeps_nothing(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("VLMSEL_CACHE_DIR", str(cache))
    for case, (path, why) in _evil_archives(tmp_path).items():
        monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(_registry_for(tmp_path, path)))
        before = _listing(tmp_path)
        assert main(["store", "fetch", "evil"]) == 2, case
        one_error_line(capsys, why, "refused")
        assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()
        after = _listing(tmp_path)
        assert after == before, (case, set(after) ^ set(before))
        assert not [p for p in (cache / "profiles").iterdir()], case  # nothing cached, no partial folder


def test_registry_names_and_roots_that_leave_the_cache_are_refused(tmp_path, monkeypatch, capsys):
    from PIL import Image

    archive = pack_store(_store(tmp_path / "st"), tmp_path / "st.tar.gz").path
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.new("RGB", (32, 32), (80 * i, 10, 200 - 60 * i)).save(photos / f"{i}.png")
    monkeypatch.setenv("VLMSEL_CACHE_DIR", str(tmp_path / "cache"))
    before = _listing(tmp_path)
    for name, root, why in (
        ("../../escape", "st", "store name: '../../escape' holds a path separator"),
        ("ok", "../st", "archive root ('root'): '../st' holds a path separator"),
        ("ok", "..", "is a relative folder reference"),
        ("ok", "", "is not a name"),
    ):
        monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(_registry_for(tmp_path, archive, name=name, root=root)))
        assert main(["store", "fetch", name]) == 2
        one_error_line(capsys, why)
        assert main(["select", "--images", str(photos), "--zoo", "openclip48"]) == 2  # the zoo's published store
        one_error_line(capsys, why)
    assert _listing(tmp_path) == {k: v for k, v in _listing(tmp_path).items() if k in before or "reg-" in k}
    assert not (tmp_path / "cache").exists()


def test_plain_http_is_refused_unless_asked_for(tmp_path, monkeypatch, capsys):
    archive = pack_store(_store(tmp_path / "st"), tmp_path / "st.tar.gz").path
    reg = _registry_for(tmp_path, archive, url="http://127.0.0.1:9/st.tar.gz")
    monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(reg))
    assert main(["store", "list"]) == 2
    one_error_line(capsys, "'http://127.0.0.1:9/st.tar.gz' is plain http", "VLMSEL_ALLOW_HTTP=1")
    monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", "http://127.0.0.1:9/registry.json")
    assert main(["store", "list"]) == 2
    one_error_line(capsys, "VLMSEL_PROFILE_REGISTRY", "plain http")
    monkeypatch.delenv("VLMSEL_PROFILE_REGISTRY")
    assert (
        main(
            [
                "store",
                "publish",
                str(archive),
                "--url",
                "http://example.org/st.tar.gz",
                "--zoo",
                "z",
                "--registry",
                str(tmp_path / "new.json"),
            ]
        )
        == 2
    )
    one_error_line(capsys, "--url", "plain http")
    assert (
        main(
            [
                "store",
                "publish",
                str(archive),
                "--url",
                "ftp://example.org/st.tar.gz",
                "--zoo",
                "z",
                "--registry",
                str(tmp_path / "new.json"),
            ]
        )
        == 2
    )
    one_error_line(capsys, "not an https:// or file:// URL")
    assert not (tmp_path / "new.json").exists()
    monkeypatch.setenv("VLMSEL_ALLOW_HTTP", "1")
    monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(reg))
    assert main(["store", "list"]) == 0 and "evil" in capsys.readouterr().out


def test_a_registry_entry_never_shadows_a_packaged_or_local_store(tmp_path, monkeypatch, capsys):
    archive = pack_store(_store(tmp_path / "st"), tmp_path / "st.tar.gz").path
    monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(_registry_for(tmp_path, archive, name="mini", zoo="mini")))
    assert main(["store", "fetch", "mini"]) == 2
    one_error_line(capsys, "lists the store(s) ['mini']", "rename them")
    # another name for the same zoo: `--zoo mini` still means the mini world's own store, by its name
    monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(_registry_for(tmp_path, archive, name="mini-b", zoo="mini")))
    from vlmsel.profiles.registry import store_for_zoo

    assert store_for_zoo("mini").name == "mini"
    # a zoo served by two stores, neither named like it: the user is asked which
    reg = _registry_for(tmp_path, archive, name="a", zoo="z")
    raw = json.loads(reg.read_text())
    raw["stores"]["b"] = raw["stores"]["a"]
    reg.write_text(json.dumps(raw))
    monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(reg))
    with pytest.raises(ValueError, match="2 published stores serve zoo 'z'.*--profiles NAME"):
        store_for_zoo("z")


def test_a_registry_file_that_is_not_json_is_named(tmp_path, capsys):
    archive = pack_store(_store(tmp_path / "st"), tmp_path / "st.tar.gz").path
    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)))
    assert (
        main(
            [
                "store",
                "publish",
                str(archive),
                "--url",
                "https://example.org/st.tar.gz",
                "--zoo",
                "z",
                "--registry",
                str(jpeg),
            ]
        )
        == 2
    )
    one_error_line(capsys, f"registry file {jpeg}: not a text (JSON) file")


# --- resource exhaustion ------------------------------------------------------------------------------


def test_unpacked_size_is_bounded_and_a_gzip_tail_counts(tmp_path, monkeypatch, capsys):
    good = _good_members(tmp_path)
    zeros = b"\0" * (3 << 20)
    bomb = _craft(
        tmp_path / "bomb.tar.gz", _with_listed(good, "st/m1__a/zz.npz", zeros) + [_member("st/m1__a/zz.npz", zeros)]
    )
    tail = _craft(tmp_path / "tail.tar.gz", good, tail=b"\0" * (20 << 20))
    assert bomb.stat().st_size < 64 << 10 and tail.stat().st_size < 64 << 10
    monkeypatch.setenv("VLMSEL_ARCHIVE_MAX_RATIO", "40")  # 40 x 64 KiB = 2.5 MiB for a small archive
    for path in (bomb, tail):
        check = verify_store(path)
        assert not check.ok and "unpacks to more than 2621440 bytes" in check.problems[0], check.problems
    monkeypatch.setenv("VLMSEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VLMSEL_PROFILE_REGISTRY", str(_registry_for(tmp_path, bomb)))
    assert main(["store", "fetch", "evil"]) == 2
    one_error_line(capsys, "unpacks to more than", "VLMSEL_ARCHIVE_MAX_BYTES")
    assert not [p for p in (tmp_path / "cache" / "profiles").iterdir()]
    monkeypatch.setenv("VLMSEL_ARCHIVE_MAX_FILES", "3")
    check = verify_store(tail)
    assert "more than 3 members" in check.problems[0]


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, read in chunks (a large member without holding it)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


@pytest.mark.slow
def test_verify_streams_a_large_member_through_the_hash(tmp_path):
    """A listed 600 MB member is hashed in chunks: the verifying process never holds it (its peak resident
    memory stays far below the member's size; reading it whole, as before, took more than the member)."""
    import subprocess
    import sys

    size = 600 << 20
    digest = hashlib.sha256()
    for _ in range(size >> 20):
        digest.update(bytes(1 << 20))
    members = _with_listed(_good_members(tmp_path), "st/m1__a/big.npz", b"")
    path = tmp_path / "big.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for info, data in members:
            if info.name.endswith("checksums.json"):
                man = json.loads(data)
                man["files"]["m1__a/big.npz"] = digest.hexdigest()
                data = json.dumps(man).encode()
                info = _member(info.name, data)[0]
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
        tar.addfile(_member("st/m1__a/big.npz", size=size)[0], io.BufferedReader(_Zeros(size)))
    code = (
        "import re, sys; from vlmsel.profiles.archive import verify_store; "
        "c = verify_store(sys.argv[1]); print(c.ok, c.problems); "
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    env = dict(os.environ, VLMSEL_ARCHIVE_MAX_RATIO="100000")
    peaks = []
    for archive in (tmp_path / "good.tar.gz", path):  # the same store without the large member: the baseline
        out = subprocess.run(
            [sys.executable, "-c", code, str(archive)], capture_output=True, text=True, env=env, check=True
        ).stdout.splitlines()
        assert out[0] == "True []", out  # read to the end, checked against its listed sha256
        peaks.append(int(out[1]) / 1024)
    assert peaks[1] - peaks[0] < 100, f"verify peaked {peaks[1] - peaks[0]:.0f} MB higher with a 600 MB member"
