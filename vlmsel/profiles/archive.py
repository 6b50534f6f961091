"""Packing, verifying and merging profile stores: how a store built on many machines is published.

A store is packed (:func:`pack_store`) into one ``.tar.gz`` whose top folder holds the store and a
checksum manifest, ``checksums.json``: the sha256 of every file, the store's settings (the fields every
entry must agree on, :data:`vlmsel.profiles.compute.RESULT_FIELDS`), its models, datasets and versions.
The archive is reproducible: the same store gives the same bytes (sorted members, no times or owners),
so its sha256 identifies the store's content. :func:`verify_store` checks an archive or a folder (every
file against the manifest, every entry against its own checksum); :mod:`vlmsel.profiles.registry`
lists a published archive by URL and sha256 and checks both when it downloads it.

:func:`merge_stores` copies the entries of several stores into one, refusing, before anything is
written, stores made with other settings, other vlmsel/torch/open_clip versions (unless allowed), other
images for a dataset or other blocks for a model, and reporting every (model, dataset) that two stores
hold with different numbers. Entries with identical arrays are the same entry and are kept once.

Taught in the chapter :ref:`ch-paper-scale`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from vlmsel.files import CLAIM_SUFFIX, atomic_write, claim_owner, sha256_file
from vlmsel.profiles.store import STORE_FILE, DamagedEntryError, ProfileStore, _init_store, _paths, read_profile

CHECKSUMS_FILE = "checksums.json"
CHECKSUMS_FORMAT = "vlmsel-store-checksums"
#: Result fields that hold per model (not per store): a store may mix them.
_PER_MODEL_FIELDS = ("quick_gelu",)
#: Versions every entry of a merged store must share (unless ``allow_other_versions``).
VERSION_KEYS = ("vlmsel", "torch", "open_clip")


def _result_fields() -> tuple[str, ...]:
    from vlmsel.profiles.compute import RESULT_FIELDS  # (compute imports torch: only when needed)

    return tuple(f for f in RESULT_FIELDS if f not in _PER_MODEL_FIELDS)


def _field_defaults() -> dict[str, Any]:
    from vlmsel.profiles.compute import RESULT_FIELD_DEFAULTS

    return RESULT_FIELD_DEFAULTS


def store_files(store: str | os.PathLike) -> list[str]:
    """The files that make up a store, relative and sorted: ``store.json`` and every entry's ``.npz`` and
    ``.json`` (not claims, temporary files, a cache's origin note or a checksum manifest)."""
    root = Path(store)
    out = [STORE_FILE] if (root / STORE_FILE).is_file() else []
    for p in sorted(root.glob("*/*")):
        if p.is_file() and not p.name.startswith(".") and p.suffix in (".npz", ".json"):
            out.append(p.relative_to(root).as_posix())
    return out


def _manifests(store: ProfileStore) -> dict[tuple[str, str], dict[str, Any]]:
    """(model, dataset) -> manifest of every complete entry, each checked against its arrays' checksum."""
    out = {}
    for m, d in store._entries():
        out[(m, d)] = read_profile(store, m, d)[1]
    return out


def store_settings(store: str | os.PathLike | ProfileStore) -> dict[str, Any]:
    """What a store's entries agree on: ``settings`` (field -> value, or a sorted list of the values
    when entries differ), ``versions`` (name -> value or list), ``models``, ``datasets``, ``n_entries``."""
    ps = store if isinstance(store, ProfileStore) else ProfileStore(store)
    return _summary(_manifests(ps))


def _summary(manifests: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    defaults = _field_defaults()

    def one_or_list(values):
        distinct = sorted({json.dumps(v, sort_keys=True) for v in values})
        vals = [json.loads(v) for v in distinct]
        return vals[0] if len(vals) == 1 else vals

    mans = list(manifests.values())
    return {
        "settings": {f: one_or_list(m.get(f, defaults.get(f)) for m in mans) for f in _result_fields()} if mans else {},
        "versions": {k: one_or_list(m.get("versions", {}).get(k) for m in mans) for k in VERSION_KEYS} if mans else {},
        "models": sorted({m for m, _ in manifests}),
        "datasets": sorted({d for _, d in manifests}),
        "n_entries": len(manifests),
    }


@dataclass
class PackedStore:
    """What :func:`pack_store` wrote: ``path``, ``sha256``, ``bytes``, ``root`` (the folder in the archive
    holding ``store.json``), ``n_entries``."""

    path: Path
    sha256: str
    bytes: int
    root: str
    n_entries: int


def _tarinfo(name: str, size: int, is_dir: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.uid, info.gid, info.uname, info.gname = size, 0, 0, 0, "", ""
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = 0o755 if is_dir else 0o644
    return info


def pack_store(store: str | os.PathLike, archive: str | os.PathLike | None = None, *, root: str | None = None) -> PackedStore:
    """Pack a complete store into a reproducible ``.tar.gz`` with a checksum manifest.

    Parameters
    ----------
    store : the store folder.
    archive : the archive to write (default ``<store>.tar.gz`` beside the folder); written atomically.
    root : the folder name inside the archive (default: the store folder's name).

    Raises
    ------
    ValueError : an entry is being computed (its claim is held), damaged, or the store is empty.
    """
    ps = ProfileStore(store)
    src = ps.path
    root = root or src.resolve().name
    if not root or "/" in root or root.startswith("."):
        raise ValueError(f"archive root {root!r} must be a plain folder name")
    running = [p for p in src.glob(f"*/.*{CLAIM_SUFFIX}") if claim_owner(p) is not None]
    if running:
        raise ValueError(f"profile store {src}: {len(running)} entries are being computed (e.g. {running[0]}); "
                         "pack it when every worker has finished (vlmsel profile --status)")
    manifests = _manifests(ps)  # raises DamagedEntryError naming a damaged entry
    if not manifests:
        raise ValueError(f"profile store {src} holds no complete entry; nothing to pack")
    files = store_files(src)
    checksums = {
        "format": CHECKSUMS_FORMAT, "version": 1, "root": root, **_summary(manifests),
        "files": {rel: sha256_file(src / rel) for rel in files},
    }
    out = Path(archive) if archive is not None else src.resolve().with_name(f"{root}.tar.gz")
    if out.resolve().is_relative_to(src.resolve()):
        raise ValueError(f"the archive {out} must not be inside the store it packs ({src})")
    with atomic_write(out, "wb") as fh:
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.addfile(_tarinfo(root, 0, is_dir=True))
                for folder in sorted({rel.rsplit("/", 1)[0] for rel in files if "/" in rel}):
                    tar.addfile(_tarinfo(f"{root}/{folder}", 0, is_dir=True))
                data = (json.dumps(checksums, indent=1, sort_keys=True) + "\n").encode()
                tar.addfile(_tarinfo(f"{root}/{CHECKSUMS_FILE}", len(data)), io.BytesIO(data))
                for rel in files:
                    with open(src / rel, "rb") as f:
                        tar.addfile(_tarinfo(f"{root}/{rel}", (src / rel).stat().st_size), f)
    return PackedStore(out, sha256_file(out), out.stat().st_size, root, len(manifests))


@dataclass
class Verification:
    """What :func:`verify_store` found: ``problems`` (one line each; empty when all is well), ``n_files``,
    ``n_entries``, ``root`` (an archive's store folder), ``checksums`` (the manifest, when there is one)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    n_files: int = 0
    n_entries: int = 0
    root: str = ""
    checksums: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_store(path: str | os.PathLike, sha256: str | None = None) -> Verification:
    """Check a packed store (``.tar.gz``) or a store folder; never raises for a bad store (see ``problems``).

    An archive: its own sha256 (when ``sha256`` is given), that it reads to the end, that it holds a
    checksum manifest, and every file against it (none missing, none extra, none changed). A folder:
    every entry against its own checksum (:func:`vlmsel.profiles.store.read_profile`) and, when the
    folder holds a ``checksums.json`` (an unpacked archive), every file against it.
    """
    p = Path(path)
    report = Verification(p)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such store or archive")
    if p.is_dir():
        _verify_folder(p, report)
    else:
        if sha256 is not None:
            digest = sha256_file(p)
            if digest != sha256.lower():
                report.problems.append(f"{p}: sha256 {digest}, expected {sha256}")
        _verify_archive(p, report)
    return report


def _check_against(files: dict[str, str], listed: dict[str, str], where: str, report: Verification) -> None:
    for rel in sorted(set(listed) - set(files)):
        report.problems.append(f"{where}: {rel} is listed in {CHECKSUMS_FILE} but missing")
    for rel in sorted(set(files) - set(listed)):
        report.problems.append(f"{where}: {rel} is not listed in {CHECKSUMS_FILE}")
    for rel in sorted(set(files) & set(listed)):
        if files[rel] != listed[rel]:
            report.problems.append(f"{where}: {rel} has sha256 {files[rel][:16]}..., {CHECKSUMS_FILE} says {listed[rel][:16]}...")


def _verify_archive(p: Path, report: Verification) -> None:
    hashes: dict[str, str] = {}
    manifest_bytes = None
    try:
        with gzip.open(p, "rb") as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile():
                    report.problems.append(f"{p}: member {member.name!r} is not a regular file")
                    continue
                data = tar.extractfile(member).read()
                if member.name.endswith("/" + CHECKSUMS_FILE) and member.name.count("/") == 1:
                    manifest_bytes, report.root = data, member.name.split("/")[0]
                else:
                    hashes[member.name] = hashlib.sha256(data).hexdigest()
            while gz.read(1 << 20):  # to the end: gzip checks its CRC and length there
                pass
    except (tarfile.TarError, zlib.error, EOFError, OSError) as err:  # gzip.BadGzipFile is an OSError
        report.problems.append(f"{p}: not a readable .tar.gz ({type(err).__name__}: {err})")
        return
    if manifest_bytes is None:
        report.problems.append(f"{p}: holds no {CHECKSUMS_FILE} in its top folder (not packed by `vlmsel store pack`)")
        return
    try:
        checksums = json.loads(manifest_bytes)
        listed = {f"{report.root}/{rel}": h for rel, h in checksums["files"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        report.problems.append(f"{p}: {CHECKSUMS_FILE} is not a checksum manifest ({err!r})")
        return
    report.checksums = checksums
    if checksums.get("format") != CHECKSUMS_FORMAT:
        report.problems.append(f"{p}: {CHECKSUMS_FILE} says format {checksums.get('format')!r}")
    _check_against(hashes, listed, str(p), report)
    report.n_files = len(hashes)
    report.n_entries = sum(1 for rel in hashes if rel.endswith(".npz"))


def _verify_folder(p: Path, report: Verification) -> None:
    try:
        ps = ProfileStore(p)
        entries = ps._entries()
    except (FileNotFoundError, ValueError) as err:
        report.problems.append(str(err))
        return
    for m, d in entries:
        try:
            read_profile(ps, m, d)
        except (DamagedEntryError, FileNotFoundError, ValueError) as err:
            report.problems.append(str(err))
    for js in sorted(p.glob("*/*.json")):
        if not js.name.startswith(".") and not js.with_suffix(".npz").exists():
            report.problems.append(f"{js}: a manifest without its arrays ({js.with_suffix('.npz').name} is missing)")
    files = {rel: sha256_file(p / rel) for rel in store_files(p)}
    report.n_files, report.n_entries = len(files), len(entries)
    if (p / CHECKSUMS_FILE).is_file():
        try:
            checksums = json.loads((p / CHECKSUMS_FILE).read_text(encoding="utf-8"))
            listed = dict(checksums["files"])
        except (ValueError, KeyError, TypeError) as err:
            report.problems.append(f"{p / CHECKSUMS_FILE}: not a checksum manifest ({err!r})")
            return
        report.checksums = checksums
        _check_against(files, listed, str(p), report)


@dataclass
class MergeReport:
    """What :func:`merge_stores` did (or, with ``dry_run``, would do): ``copied`` and ``same`` (already
    in the destination, or in two sources, with identical arrays) as lists of (model, dataset)."""

    dest: Path
    copied: list[tuple[str, str]] = field(default_factory=list)
    same: list[tuple[str, str]] = field(default_factory=list)


def _disagreement(summaries: dict[str, dict[str, Any]], part: str) -> str:
    """``"n_steps: 30 in A, 7 in B"`` for the fields on which the stores disagree (or hold mixed values)."""
    keys = sorted({k for s in summaries.values() for k in s.get(part, {})})
    out = []
    for k in keys:
        values = {name: s.get(part, {}).get(k) for name, s in summaries.items() if s.get("n_entries")}
        if len({json.dumps(v, sort_keys=True) for v in values.values()}) > 1 or any(isinstance(v, list) for v in values.values()):
            out.append(f"{k}: " + ", ".join(f"{v!r} in {name}" for name, v in values.items()))
    return "; ".join(out)


def merge_stores(
    sources: Sequence[str | os.PathLike],
    dest: str | os.PathLike,
    *,
    allow_other_versions: bool = False,
    dry_run: bool = False,
) -> MergeReport:
    """Copy every entry of ``sources`` into the store ``dest`` (created if missing), never silently mixing.

    Raises ValueError, before anything is written, when the stores (``dest`` included) were made with
    other settings, other versions (vlmsel, torch, open_clip; unless ``allow_other_versions``), other images
    of a dataset, or other blocks of a model, or when two of them hold one (model, dataset) with
    different arrays (every such conflict is listed).
    """
    dest = Path(dest)
    stores: dict[str, ProfileStore] = {}
    for s in sources:
        if Path(s).resolve() == dest.resolve():
            raise ValueError(f"{s} is the destination; list it once, as --into")
        stores[str(s)] = ProfileStore(s)
    if not stores:
        raise ValueError("no store to merge")
    if (dest / STORE_FILE).exists():
        stores = {str(dest): ProfileStore(dest), **stores}
    elif dest.exists() and any(dest.iterdir()):
        raise ValueError(f"{dest} exists and is not a profile store (no {STORE_FILE})")
    manifests = {name: _manifests(ps) for name, ps in stores.items()}
    summaries = {name: _summary(m) for name, m in manifests.items()}
    what = _disagreement(summaries, "settings")
    if what:
        raise ValueError(f"the stores were made with other settings ({what}); nothing merged")
    what = _disagreement(summaries, "versions")
    if what and not allow_other_versions:
        raise ValueError(f"the stores were made with other versions ({what}); nothing merged "
                         "(--allow-other-versions merges them anyway)")
    images: dict[str, tuple[str, list]] = {}
    blocks: dict[str, tuple[str, list]] = {}
    problems: list[str] = []
    owner: dict[tuple[str, str], tuple[str, dict]] = {}
    report = MergeReport(dest)
    for name, mans in manifests.items():
        for (m, d), man in mans.items():
            img = list(man.get("image_sha256", []))
            first = images.setdefault(d, (name, img))
            if first[1] != img:
                problems.append(f"dataset {d!r}: other images in {name} than in {first[0]}")
            blk = list(man.get("block_names", []))
            first = blocks.setdefault(m, (name, blk))
            if first[1] != blk:
                problems.append(f"model {m!r}: other blocks in {name} than in {first[0]} (another model version?)")
            if (m, d) in owner:
                other_name, other = owner[(m, d)]
                if other.get("arrays_sha256") != man.get("arrays_sha256"):
                    problems.append(f"{m} / {d}: different arrays in {other_name} and {name}")
                else:
                    report.same.append((m, d))
            else:
                owner[(m, d)] = (name, man)
    if problems:
        shown = "; ".join(sorted(set(problems))[:5])
        more = f" (and {len(set(problems)) - 5} more)" if len(set(problems)) > 5 else ""
        raise ValueError(f"{len(set(problems))} conflict(s): {shown}{more}; nothing merged")
    for (m, d), (name, _) in sorted(owner.items()):
        if name != str(dest):
            report.copied.append((m, d))
    if dry_run:
        return report
    _init_store(dest)
    for m, d in report.copied:
        src_npz, src_json = _paths(stores[owner[(m, d)][0]].path, m, d)
        dst_npz, dst_json = _paths(dest, m, d)
        for a, b in ((src_npz, dst_npz), (src_json, dst_json)):  # the manifest last: the completion marker
            with open(a, "rb") as fin, atomic_write(b, "wb") as fout:
                shutil.copyfileobj(fin, fout)
    return report

