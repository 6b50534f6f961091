"""Packing, verifying and merging profile stores: how a store built on many machines is published.

A store is packed (:func:`pack_store`) into one ``.tar.gz`` whose top folder holds the store and a
checksum manifest, ``checksums.json``: the sha256 of every file, the store's settings (the fields every
entry must agree on, :data:`vlmsel.profiles.compute.RESULT_FIELDS`), its models, datasets and versions.
The archive is reproducible: the same store gives the same bytes (sorted members, no times or owners),
so its sha256 identifies the store's content. :func:`verify_store` checks an archive or a folder (every
file against the manifest, every entry against its own checksum); an archive is read as one checked
stream (:func:`read_archive`: names, kinds, sizes and checksums of its members, within
:class:`~vlmsel.untrusted.ArchiveLimits`), which is also how a fetched store is unpacked; :mod:`vlmsel.profiles.registry`
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
from typing import IO, Any, Iterable, Iterator, Sequence

from vlmsel.files import CLAIM_SUFFIX, atomic_write, claim_owner, sha256_file
from vlmsel.profiles.store import (
    MAX_MANIFEST_BYTES,
    READABLE_VERSIONS,
    STORE_FILE,
    STORE_FORMAT,
    DamagedEntryError,
    ProfileStore,
    _init_store,
    _write_manifest,
    check_store_folder,
    entry_digest,
    entry_paths,
    model_slug,
    read_profile,
)
from vlmsel.untrusted import LIMIT_ENV, ArchiveLimits, UnsafeInputError, inside, relative_parts, safe_name

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
        if not p.name.startswith(".") and p.suffix in (".npz", ".json"):
            if p.is_symlink() or p.parent.is_symlink():
                raise UnsafeInputError(f"{p} is a symbolic link; a store holds regular files only")
            if p.is_file():
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


def pack_store(
    store: str | os.PathLike,
    archive: str | os.PathLike | None = None,
    *,
    root: str | None = None,
    allow_mixed: bool = False,
) -> PackedStore:
    """Pack a complete store into a reproducible ``.tar.gz`` with a checksum manifest.

    Parameters
    ----------
    store : the store folder.
    archive : the archive to write (default ``<store>.tar.gz`` beside the folder); written atomically.
    root : the folder name inside the archive (default: the store folder's name).
    allow_mixed : pack a store whose entries were made with different settings (``select`` refuses it).

    Raises
    ------
    ValueError : an entry is being computed (its claim is held), damaged, or made with other settings
        than the others, a file is a link, or the store is empty.
    """
    ps = ProfileStore(store)
    src = ps.path
    root = root or src.resolve().name
    safe_name(root, "the archive's root folder (--root)")
    running = [p for p in src.glob(f"*/.*{CLAIM_SUFFIX}") if claim_owner(p) is not None]
    if running:
        raise ValueError(
            f"profile store {src}: {len(running)} entries are being computed (e.g. {running[0]}); "
            "pack it when every worker has finished (vlmsel profile --status)"
        )
    manifests = _manifests(ps)  # raises DamagedEntryError naming a damaged entry
    if not manifests:
        raise ValueError(f"profile store {src} holds no complete entry; nothing to pack")
    check = Verification(src, manifests=manifests)
    _check_settings(check, allow_mixed)
    if check.problems:
        raise ValueError(f"{check.problems[0]}; nothing packed")
    files = store_files(src)
    checksums = {
        "format": CHECKSUMS_FORMAT,
        "version": 1,
        "root": root,
        **_summary(manifests),
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
    ``n_entries``, ``root`` (an archive's store folder), ``checksums`` (the manifest, when there is one),
    ``notes`` (what is not a problem but worth saying), ``manifests`` ((model, dataset) -> manifest of every
    entry that checked out, when the store could be read)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    n_files: int = 0
    n_entries: int = 0
    root: str = ""
    checksums: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    manifests: dict[tuple[str, str], dict[str, Any]] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_store(
    path: str | os.PathLike,
    sha256: str | None = None,
    *,
    allow_mixed: bool = False,
    limits: ArchiveLimits | None = None,
) -> Verification:
    """Check a packed store (``.tar.gz``) or a store folder; never raises for a bad store (see ``problems``).

    An archive is read as a stream, never unpacked (:func:`read_archive`): its own sha256 (when ``sha256``
    is given), its members' names, kinds and sizes, every file against the checksum manifest (none
    missing, none extra, none changed) and every entry's manifest against its arrays. A folder: every entry
    against its own checksums (:func:`vlmsel.profiles.store.read_profile`) and, when the folder holds a
    ``checksums.json`` (an unpacked archive), every file against it. Entries made with different settings
    are a problem unless ``allow_mixed`` (then they are listed in ``notes``).
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
        read_archive(p, report, limits=limits)
    if report.manifests is not None:
        _check_settings(report, allow_mixed)
    return report


def _check_settings(report: Verification, allow_mixed: bool) -> None:
    mixed = {k: v for k, v in _summary(report.manifests or {}).get("settings", {}).items() if isinstance(v, list)}
    if mixed:
        line = (
            f"{report.path}: entries made with different settings ("
            + "; ".join(f"{k}: {', '.join(map(repr, v))}" for k, v in mixed.items())
            + ")"
        )
        if allow_mixed:
            report.notes.append(line)
        else:
            report.problems.append(line + "; select refuses such a store (--allow-mixed reports them only)")


def _check_against(files: dict[str, str], listed: dict[str, str], where: str, report: Verification) -> None:
    for rel in sorted(set(listed) - set(files)):
        report.problems.append(f"{where}: {rel} is listed in {CHECKSUMS_FILE} but missing")
    for rel in sorted(set(files) - set(listed)):
        report.problems.append(f"{where}: {rel} is not listed in {CHECKSUMS_FILE}")
    for rel in sorted(set(files) & set(listed)):
        if files[rel] != listed[rel]:
            report.problems.append(
                f"{where}: {rel} has sha256 {files[rel][:16]}..., {CHECKSUMS_FILE} says {listed[rel][:16]}..."
            )


_HEX = frozenset("0123456789abcdef")


def _listed_files(checksums: Any, where: str) -> dict[str, str]:
    """The ``files`` of a checksum manifest, each name a store file (``store.json`` or
    ``<model>/<dataset>.npz|json``, every part a safe name) and each hash 64 hex digits."""
    files = checksums.get("files") if isinstance(checksums, dict) else None
    if not isinstance(files, dict):
        raise UnsafeInputError(f"{where}: {CHECKSUMS_FILE} is not a checksum manifest (no 'files' object)")
    for rel, digest in files.items():
        parts = relative_parts(rel, f"{where}: {CHECKSUMS_FILE} lists", depth=2)
        if (len(parts) == 1 and rel != STORE_FILE) or (len(parts) == 2 and Path(rel).suffix not in (".npz", ".json")):
            raise UnsafeInputError(f"{where}: {CHECKSUMS_FILE} lists {rel!r}, which is not a profile store file")
        if not (isinstance(digest, str) and len(digest) == 64 and set(digest) <= _HEX):
            raise UnsafeInputError(f"{where}: {CHECKSUMS_FILE} gives {rel!r} the sha256 {digest!r}")
    return dict(files)


def _bounded_read(fh: IO[bytes], size: int, cap: int, what: str) -> bytes:
    if size > cap:
        raise UnsafeInputError(f"{what}: {size} bytes, more than the {cap} a manifest may have")
    return fh.read(size)


def read_archive(
    p: Path, report: Verification, *, dest: Path | None = None, limits: ArchiveLimits | None = None
) -> None:
    """Read a packed store as one stream, checking it as it goes; with ``dest``, unpack it there.

    Refused (one line in ``report.problems``; with ``dest``, the first problem stops it): a member whose
    name is absolute, escapes, is deeper than ``root/model/file`` or not under the archive's one top folder;
    a link, device, FIFO or sparse member; a duplicate; a file not listed in the checksum manifest, which
    must be the first file; a member, a count or a total over ``limits``
    (:class:`~vlmsel.untrusted.ArchiveLimits`, from the
    environment by default), including bytes after the tar's end. Each file is hashed (and written) in
    chunks, so memory stays small whatever the archive claims. Then every file is checked against the
    manifest and every entry's manifest against its own checksum, its place and its arrays' sha256.
    """
    limits = limits or ArchiveLimits.from_env()
    budget = limits.total_for(p.stat().st_size)
    hashes: dict[str, str] = {}
    manifests: dict[str, dict[str, Any]] = {}
    listed: dict[str, str] | None = None
    seen: set[str] = set()
    total = count = 0
    root = ""
    version = 2  # until store.json says otherwise: every manifest needs its own checksum

    def spend(n: int, what: str) -> None:
        nonlocal total
        total += n
        if total > budget:
            raise UnsafeInputError(
                f"{p}: unpacks to more than {budget} bytes ({what}); refused (a limit of "
                f"{LIMIT_ENV['max_total_bytes']} / {LIMIT_ENV['max_ratio']})"
            )

    try:
        with (
            open(p, "rb") as raw,
            gzip.GzipFile(fileobj=raw, mode="rb") as gz,
            tarfile.open(fileobj=gz, mode="r|") as tar,
        ):
            for member in tar:
                count += 1
                if count > limits.max_members:
                    raise UnsafeInputError(
                        f"{p}: more than {limits.max_members} members; refused (limit {LIMIT_ENV['max_members']})"
                    )
                parts = relative_parts(
                    member.name.rstrip("/") if member.isdir() else member.name, f"{p}: member", depth=3
                )
                root = root or parts[0]
                if parts[0] != root:
                    raise UnsafeInputError(f"{p}: member {member.name!r} is outside the archive's top folder {root!r}")
                if member.name in seen:
                    raise UnsafeInputError(f"{p}: member {member.name!r} appears twice; refused")
                seen.add(member.name)
                if member.isdir() and len(parts) <= 2:
                    continue
                if not member.isreg() or member.issparse() or len(parts) == 1:
                    kind = {
                        tarfile.SYMTYPE: "a symbolic link",
                        tarfile.LNKTYPE: "a hard link",
                        tarfile.CHRTYPE: "a device",
                        tarfile.BLKTYPE: "a device",
                        tarfile.FIFOTYPE: "a FIFO",
                        tarfile.GNUTYPE_SPARSE: "a sparse file",
                    }.get(member.type, "not a regular file")
                    raise UnsafeInputError(
                        f"{p}: member {member.name!r} is {kind if len(parts) > 1 else 'not a folder'}; "
                        "refused (a store archive holds folders and regular files only)"
                    )
                if member.size > limits.max_member_bytes:
                    raise UnsafeInputError(
                        f"{p}: member {member.name!r} claims {member.size} bytes, more than "
                        f"{limits.max_member_bytes} (limit {LIMIT_ENV['max_member_bytes']}); refused"
                    )
                spend(member.size, f"member {member.name!r}")
                rel = "/".join(parts[1:])
                fh = tar.extractfile(member)
                assert fh is not None  # (a regular member always has its file object)
                target = inside(dest, *parts, what=f"{p}: member") if dest is not None else None
                if listed is None:
                    if rel != CHECKSUMS_FILE:
                        raise UnsafeInputError(
                            f"{p}: its first file is {member.name!r}, not {root}/{CHECKSUMS_FILE} "
                            "(not packed by `vlmsel store pack`); refused"
                        )
                    data = _bounded_read(fh, member.size, MAX_MANIFEST_BYTES, member.name)
                    try:
                        checksums = json.loads(data)
                    except ValueError as err:
                        raise UnsafeInputError(f"{p}: {CHECKSUMS_FILE} is not JSON ({err})") from None
                    listed = _listed_files(checksums, str(p))
                    report.checksums, report.root = checksums, root
                    _copy([data], target)
                elif rel not in listed:
                    raise UnsafeInputError(f"{p}: member {member.name!r} is not listed in {CHECKSUMS_FILE}; refused")
                elif rel.endswith(".json"):  # a manifest (or store.json): small, read and checked whole
                    data = _bounded_read(fh, member.size, MAX_MANIFEST_BYTES, member.name)
                    hashes[rel] = _copy([data], target)
                    if rel == STORE_FILE:
                        version = _store_marker(data, p)
                    else:
                        manifests[rel] = _entry_manifest(data, rel, p, version)
                else:  # arrays: streamed through the hash, never held whole
                    hashes[rel] = _copy(_chunks(fh), target)
            while chunk := gz.read(1 << 20):  # to the end: gzip checks its CRC and length there
                spend(len(chunk), "after the end of the tar stream")
    except UnsafeInputError as err:
        report.problems.append(str(err))
        return
    except _WriteError as err:  # the destination's fault, not the archive's: disk full, read-only, ...
        cause = err.__cause__
        assert isinstance(cause, OSError)
        raise cause from None
    except (tarfile.TarError, zlib.error, EOFError, OSError) as err:  # gzip.BadGzipFile is an OSError
        report.problems.append(f"{p}: not a readable .tar.gz ({type(err).__name__}: {err})")
        return
    if listed is None or report.checksums is None:
        report.problems.append(f"{p}: holds no {CHECKSUMS_FILE} in its top folder (not packed by `vlmsel store pack`)")
        return
    if report.checksums.get("format") != CHECKSUMS_FORMAT:
        report.problems.append(f"{p}: {CHECKSUMS_FILE} says format {report.checksums.get('format')!r}")
    _check_against(hashes, listed, str(p), report)
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for rel, man in manifests.items():
        npz = rel[: -len(".json")] + ".npz"
        if npz not in hashes:
            report.problems.append(f"{p}: {rel} is a manifest without its arrays ({npz} is missing)")
        elif man.get("arrays_sha256") != hashes[npz]:
            report.problems.append(f"{p}: {npz} differs from the sha256 its manifest {rel} records")
        else:
            entries[(man["model"], man["dataset"])] = man
    report.n_files = len(hashes)
    report.n_entries = sum(1 for rel in hashes if rel.endswith(".npz"))
    report.manifests = entries


def _chunks(fh: IO[bytes]) -> Iterator[bytes]:
    while chunk := fh.read(1 << 20):
        yield chunk


def _copy(chunks: Iterable[bytes], target: Path | None) -> str:
    """The sha256 of ``chunks``, written into the new file ``target`` as they pass when it is given."""
    digest = hashlib.sha256()
    out = _Output(target) if target is not None else None
    try:
        for chunk in chunks:
            digest.update(chunk)
            if out is not None:
                out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return digest.hexdigest()


class _WriteError(Exception):
    """An OSError while writing an unpacked file (its ``__cause__``)."""


class _Output:
    """A new file that :func:`read_archive` writes, whose OSErrors are told apart from the archive's."""

    def __init__(self, target: Path) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(target, "xb")
        except OSError as err:
            raise _WriteError() from err

    def write(self, chunk: bytes) -> None:
        try:
            self._fh.write(chunk)
        except OSError as err:
            raise _WriteError() from err

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError as err:
            raise _WriteError() from err


def _store_marker(data: bytes, p: Path) -> int:
    try:
        info = json.loads(data)
        ok = isinstance(info, dict) and info.get("format") == STORE_FORMAT and info.get("version") in READABLE_VERSIONS
    except ValueError:
        ok = False
    if not ok:
        raise UnsafeInputError(f"{p}: its {STORE_FILE} is not a profile store marker this vlmsel reads")
    return int(info["version"])


def _entry_manifest(data: bytes, rel: str, p: Path, version: int) -> dict[str, Any]:
    """A manifest read from an archive, checked: a JSON object naming the entry whose place it has, with
    its own checksum."""
    try:
        man = json.loads(data)
    except ValueError as err:
        raise UnsafeInputError(f"{p}: {rel} is not JSON ({err})") from None
    if not isinstance(man, dict) or not isinstance(man.get("model"), str) or not isinstance(man.get("dataset"), str):
        raise UnsafeInputError(f"{p}: {rel} is not a profile manifest")
    own = f"{model_slug(man['model'])}/{safe_name(man['dataset'], f'{p}: {rel}: dataset')}.json"
    if own != rel:
        raise UnsafeInputError(
            f"{p}: {rel} describes model {man['model']!r} / dataset {man['dataset']!r}, whose entry "
            f"is {own}: a misplaced or crafted entry; refused"
        )
    if ("entry_sha256" in man or version >= 2) and man.get("entry_sha256") != entry_digest(man):
        raise UnsafeInputError(f"{p}: {rel} was edited after it was written (its entry_sha256 differs)")
    return man


def _verify_folder(p: Path, report: Verification) -> None:
    try:
        ps = ProfileStore(p)
        entries = ps._entries()
        files = {rel: sha256_file(p / rel) for rel in store_files(p)}
    except (FileNotFoundError, ValueError) as err:
        report.problems.append(str(err))
        return
    manifests = {}
    for m, d in entries:
        try:
            manifests[(m, d)] = read_profile(ps, m, d)[1]
        except (DamagedEntryError, FileNotFoundError, ValueError) as err:
            report.problems.append(str(err))
    report.manifests = manifests
    for js in sorted(p.glob("*/*.json")):
        if not js.name.startswith(".") and not js.with_suffix(".npz").exists():
            report.problems.append(f"{js}: a manifest without its arrays ({js.with_suffix('.npz').name} is missing)")
    if ps.version == 1:
        report.problems.append(
            f"{p}: a version-1 store, whose manifests carry no checksum of their own "
            f"(`vlmsel store upgrade {p}` adds them)"
        )
    report.n_files, report.n_entries = len(files), len(entries)
    if (p / CHECKSUMS_FILE).is_file():
        try:
            checksums = json.loads((p / CHECKSUMS_FILE).read_text(encoding="utf-8"))
            listed = _listed_files(checksums, str(p))
        except (ValueError, KeyError, TypeError) as err:
            report.problems.append(f"{p / CHECKSUMS_FILE}: not a checksum manifest ({err})")
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
        if len({json.dumps(v, sort_keys=True) for v in values.values()}) > 1 or any(
            isinstance(v, list) for v in values.values()
        ):
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
    existing = check_store_folder(dest)  # a damaged store.json, a file, or a folder of other things: refused
    stores: dict[str, ProfileStore] = {}
    for s in sources:
        if Path(s).resolve() == dest.resolve():
            raise ValueError(f"{s} is the destination; list it once, as --into")
        stores[str(s)] = ProfileStore(s)
    if not stores:
        raise ValueError("no store to merge")
    if existing is not None:
        stores = {str(dest): ProfileStore(dest), **stores}
    manifests = {name: _manifests(ps) for name, ps in stores.items()}
    summaries = {name: _summary(m) for name, m in manifests.items()}
    what = _disagreement(summaries, "settings")
    if what:
        raise ValueError(f"the stores were made with other settings ({what}); nothing merged")
    what = _disagreement(summaries, "versions")
    if what and not allow_other_versions:
        raise ValueError(
            f"the stores were made with other versions ({what}); nothing merged "
            "(--allow-other-versions merges them anyway)"
        )
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
        src_npz, _ = entry_paths(stores[owner[(m, d)][0]].path, m, d)
        dst_npz, dst_json = entry_paths(dest, m, d)
        with open(src_npz, "rb") as fin, atomic_write(dst_npz, "wb") as fout:
            shutil.copyfileobj(fin, fout)
        _write_manifest(dst_json, owner[(m, d)][1])  # the manifest last (the completion marker), with its checksum
    return report
