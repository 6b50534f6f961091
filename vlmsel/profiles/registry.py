"""Published profile stores: source profiles you download instead of computing.

Selecting a model for your own images (:mod:`vlmsel.recommend.pipeline`) needs the profiles of every zoo model on
every *source* dataset, which are expensive to compute (:ref:`ch-paper-scale`) and the same for everyone. A
published store is a profile store (:mod:`vlmsel.profiles.store`) packed as a ``.tar.gz`` archive, listed
in ``resources/profile_stores.json`` with its public URL, sha256 and size, exactly like the benchmark
tables of :mod:`vlmsel.data.upstream`::

    "stores": {
      "<name>": {"zoo": "openclip48", "url": "https://...", "sha256": "...", "bytes": 123,
                 "root": "<folder inside the archive holding store.json>", "description": "..."}
    }

:func:`fetch_store` downloads an archive with :func:`vlmsel.data.upstream.download` (the bytes are hashed
before anything is written; a wrong hash saves nothing), unpacks it safely (no absolute paths, no
``..``, no links out of the folder) into a temporary folder beside the cache entry and renames it into
place, so the cache holds either a complete verified store or nothing. The cache is
``$VLMSEL_CACHE_DIR/profiles`` or ``~/.cache/vlmsel/profiles``; ``VLMSEL_OFFLINE=1`` forbids downloads.

**Publishing one.** ``vlmsel store pack STORE`` writes the archive with a checksum manifest
(:mod:`vlmsel.profiles.archive`), ``vlmsel store publish ARCHIVE --url URL --zoo ZOO --registry FILE``
verifies it and writes its entry into a registry file: into ``vlmsel/resources/profile_stores.json``
in a pull request, for everyone, or into a file of your own, which ``VLMSEL_PROFILE_REGISTRY`` (a path or
URL) adds to the packaged registry (a group's own stores, and the tests). A fetched archive is checked against
its sha256 and then, as it is unpacked, every member against its checksum manifest and the limits of
:class:`vlmsel.untrusted.ArchiveLimits` (:func:`vlmsel.profiles.archive.read_archive`).

**A registry is someone else's file.** Its store names and archive roots must be plain names
(:func:`vlmsel.untrusted.safe_name`), its URLs ``https://`` or ``file://`` (plain ``http://`` only with
``VLMSEL_ALLOW_HTTP=1``, which the loopback tests and the book's CI walk-through set), its sha256s 64 hex
digits. A store name that ``VLMSEL_PROFILE_REGISTRY`` shares with a packaged or registered store is
refused, and when several stores serve one zoo, ``select --zoo`` asks which (``--profiles NAME``).

A world outside the core registers a *local* store (a folder that ships with it) with
:func:`register_store`: the mini world registers ``mini`` (its committed ``data/mini/profiles``), so
``vlmsel select --zoo mini`` works offline. **No store of a real zoo (``openclip48``, ``lovm35``) has been
published yet.** Until one is, build your own with ``vlmsel profile`` and pass its folder
(``profiles=`` / ``--profiles PATH``).

Taught in the chapter "Selecting a model for your own images" (:ref:`ch-select`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from vlmsel import plugins
from vlmsel.data.upstream import OFFLINE_ENV, DataFileError, UpstreamFile, download
from vlmsel.files import atomic_write, cache_dir, sha256_file
from vlmsel.profiles.store import ProfileStore
from vlmsel.untrusted import ArchiveLimits, UnsafeInputError, inside, safe_name

REGISTRY_FORMAT = "vlmsel-profile-registry"
#: The environment variable that adds a registry file, given as a path or as a file, http or https URL;
#: :func:`registry` reads it ahead of the packaged one.
REGISTRY_ENV = "VLMSEL_PROFILE_REGISTRY"
#: The file written into an unpacked store's folder, naming the archive it came from (its sha256), for later checks.
ORIGIN_FILE = ".vlmsel-origin.json"
#: Set to 1 to accept plain ``http://`` URLs (a loopback server in tests); https and file URLs always work.
ALLOW_HTTP_ENV = "VLMSEL_ALLOW_HTTP"
#: The largest registry file read (bytes).
MAX_REGISTRY_BYTES = 16 << 20


def check_url(url: object, what: str) -> str:
    """``url`` when it is ``https://`` or ``file://`` (or ``http://`` with ``VLMSEL_ALLOW_HTTP=1``); else
    :class:`~vlmsel.untrusted.UnsafeInputError` naming ``what``."""
    if not isinstance(url, str) or "://" not in url:
        raise UnsafeInputError(f"{what}: {url!r} is not an https:// or file:// URL")
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("https", "file"):
        return url
    if scheme == "http":
        if os.environ.get(ALLOW_HTTP_ENV, "") in ("1", "true", "yes"):
            return url
        raise UnsafeInputError(
            f"{what}: {url!r} is plain http, which anyone on the way can change; use https "
            f"(or set {ALLOW_HTTP_ENV}=1 for a server you run yourself)"
        )
    raise UnsafeInputError(f"{what}: {url!r} is not an https:// or file:// URL")


@dataclass(frozen=True)
class PublishedStore:
    """One registry entry.

    Attributes
    ----------
    name : registry key. zoo : the zoo whose models it profiles (``"openclip48"``, ``"mini"``, ...).
    url, sha256, bytes : the archive (empty / 0 for a local store).
    root : the top folder of the archive, which holds ``store.json`` and ``checksums.json`` (required for
        a downloadable store; ``vlmsel store publish`` writes it).
    path : a local store folder (a store that ships with a world, :func:`register_store`), or ``""``.
    description : what it holds (settings, N, n_steps, date).
    """

    name: str
    zoo: str
    url: str = ""
    sha256: str = ""
    bytes: int = 0
    root: str = ""
    path: str = ""
    description: str = ""


def _parse(raw: Mapping[str, Any], where: str) -> dict[str, PublishedStore]:
    if not isinstance(raw, Mapping) or raw.get("format") != REGISTRY_FORMAT:
        found = raw.get("format") if isinstance(raw, Mapping) else type(raw).__name__
        raise ValueError(f"{where}: not a profile-store registry (format {found!r}, expected {REGISTRY_FORMAT!r})")
    stores = raw.get("stores", {})
    if not isinstance(stores, Mapping):
        raise ValueError(f"{where}: 'stores' is not an object")
    out = {}
    for name, entry in stores.items():
        safe_name(name, f"{where}: store name")
        if not isinstance(entry, Mapping) or not isinstance(entry.get("zoo"), str) or not entry["zoo"]:
            raise ValueError(f"{where}: store {name!r} lacks its 'zoo'")
        if not all(entry.get(k) for k in ("url", "sha256")):
            raise ValueError(f"{where}: store {name!r} needs its 'url' and 'sha256'")
        check_url(entry["url"], f"{where}: store {name!r}")
        digest = str(entry["sha256"]).lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"{where}: store {name!r}: sha256 {entry['sha256']!r} is not 64 hex digits")
        root = entry.get("root", "")
        safe_name(root, f"{where}: store {name!r}: archive root ('root')")
        size = entry.get("bytes", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError(f"{where}: store {name!r}: bytes {size!r} is not a size")
        out[name] = PublishedStore(
            name=name,
            zoo=entry["zoo"],
            url=entry["url"],
            sha256=digest,
            bytes=size,
            root=str(root),
            description=str(entry.get("description", "")),
        )
    return out


@functools.lru_cache(maxsize=1)
def _packaged() -> dict[str, PublishedStore]:
    text = resources.files("vlmsel").joinpath("resources/profile_stores.json").read_text(encoding="utf-8")
    return _parse(json.loads(text), "vlmsel/resources/profile_stores.json")


#: Store name -> :class:`PublishedStore`: the packaged registry's and those worlds register.
STORE_REGISTRY: plugins.Registry[PublishedStore] = plugins.Registry("profile store", lambda: _packaged())


def register_store(entry: PublishedStore, *, replace: bool = False) -> None:
    """Add a published store to :func:`registry`: a downloadable one (``url``, ``sha256``) or a local
    folder that ships with a world (``path``). How a world outside the core offers its source profiles
    (see :mod:`vlmsel.plugins`)."""
    if not entry.path and not (entry.url and entry.sha256):
        raise ValueError(f"store {entry.name!r} needs a local path or a url and sha256")
    safe_name(entry.name, "a registered store's name")
    STORE_REGISTRY.register(entry.name, entry, replace=replace)


def registry(path: str | os.PathLike | None = None) -> dict[str, PublishedStore]:
    """The published stores by name: those of the registry file named by ``VLMSEL_PROFILE_REGISTRY`` (if
    set), then the packaged registry and the registered ones; or the JSON file at ``path`` (same format) alone.

    Raises DataFileError when the file named by ``VLMSEL_PROFILE_REGISTRY`` lists a store under the name of
    a packaged or registered one: it would otherwise change what that name means without a word."""
    if path is not None:
        return _parse(_registry_json(Path(path)), str(path))
    extra = os.environ.get(REGISTRY_ENV)
    out = _read_registry(extra) if extra else {}
    own = STORE_REGISTRY.items()
    clash = sorted(set(out) & set(own))
    if clash:
        raise DataFileError(
            f"{REGISTRY_ENV}={extra} lists the store(s) {clash}, whose name(s) a packaged or registered "
            "store has already; rename them in that file"
        )
    out.update(own)
    return out


def _registry_json(path: Path) -> Any:
    """The JSON of a registry file, or ValueError naming the file and what is wrong with it."""
    try:
        if path.stat().st_size > MAX_REGISTRY_BYTES:
            raise ValueError(f"larger than {MAX_REGISTRY_BYTES >> 20} MiB")
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"registry file {path}: not a text (JSON) file") from None
    except ValueError as err:
        raise ValueError(f"registry file {path}: not a profile-store registry ({err})") from None


def _read_registry(where: str) -> dict[str, PublishedStore]:
    """The registry at a path or a file:// / http(s):// URL (``VLMSEL_PROFILE_REGISTRY``)."""
    import urllib.error
    import urllib.request

    try:
        if "://" in where:
            check_url(where, REGISTRY_ENV)
            with urllib.request.urlopen(where, timeout=60) as response:
                data = response.read(MAX_REGISTRY_BYTES + 1)
            if len(data) > MAX_REGISTRY_BYTES:
                raise ValueError(f"larger than {MAX_REGISTRY_BYTES >> 20} MiB")
            raw = json.loads(data.decode("utf-8"))
        else:
            raw = _registry_json(Path(where))
    except UnsafeInputError:
        raise
    except (OSError, urllib.error.URLError, ValueError) as err:
        raise DataFileError(f"{REGISTRY_ENV}={where}: cannot read the profile-store registry ({err})") from None
    return _parse(raw, f"{REGISTRY_ENV}={where}")


def publish_entry(
    registry_file: str | os.PathLike,
    name: str,
    archive: str | os.PathLike,
    url: str,
    zoo: str,
    description: str = "",
) -> PublishedStore:
    """Verify a packed store (:func:`vlmsel.profiles.archive.verify_store`) and write its entry (url,
    sha256, bytes, root, zoo, description) into the registry file (created if missing; an entry of the
    same name is replaced). Returns the entry. The archive itself must be uploaded to ``url`` by you."""
    from vlmsel.profiles.archive import verify_store

    check = verify_store(archive)
    if not check.ok:
        raise ValueError(
            f"{archive} does not verify: {check.problems[0]}"
            + (f" (and {len(check.problems) - 1} more problems)" if len(check.problems) > 1 else "")
        )
    if not url or "://" not in url:
        raise ValueError(f"--url {url!r}: give the URL the archive can be downloaded from (https://..., file://...)")
    check_url(url, "--url")
    safe_name(name, "the store's name (--name)")
    info = check.checksums or {}
    if not description:
        settings = info.get("settings", {})
        description = (
            f"{len(info.get('models', []))} models x {len(info.get('datasets', []))} datasets, "
            f"N={settings.get('n_images')}, n_steps={settings.get('n_steps')}, {settings.get('weights')}, "
            f"objective={settings.get('objective')}; vlmsel {info.get('versions', {}).get('vlmsel')}"
        )
    path = Path(registry_file)
    raw: dict[str, Any] = (
        _registry_json(path) if path.exists() else {"format": REGISTRY_FORMAT, "version": 1, "stores": {}}
    )
    _parse(raw, str(path))  # refuse to write into a file that is not a registry (it is a JSON object, then)
    entry = {
        "zoo": zoo,
        "url": url,
        "sha256": sha256_file(archive),
        "bytes": Path(archive).stat().st_size,
        "root": check.root,
        "description": description,
    }
    raw.setdefault("stores", {})[name] = entry
    with atomic_write(path, "w") as fh:
        json.dump(raw, fh, indent=1)
        fh.write("\n")
    return _parse({"format": REGISTRY_FORMAT, "stores": {name: entry}}, str(path))[name]


def store_for_zoo(zoo: str, reg: Mapping[str, PublishedStore] | None = None) -> PublishedStore | None:
    """The published store of ``zoo``: the one named like the zoo, else the only one that serves it, else
    None; ValueError naming them when several serve it and none has its name (say which with
    ``profiles=NAME`` / ``--profiles NAME``: no registry silently decides for you)."""
    reg = registry() if reg is None else reg
    if zoo in reg and reg[zoo].zoo == zoo:
        return reg[zoo]
    found = [e for e in reg.values() if e.zoo == zoo]
    if len(found) > 1:
        names = ", ".join(f"{e.name} ({e.path or e.url})" for e in found)
        raise ValueError(f"{len(found)} published stores serve zoo {zoo!r}: {names}; choose one with --profiles NAME")
    return found[0] if found else None


def open_store(profiles: "str | os.PathLike | ProfileStore | None" = None, zoo: str | None = None) -> ProfileStore:
    """The profile store to read: ``profiles`` (a :class:`~vlmsel.profiles.store.ProfileStore`, a store
    folder, or a published store's name), or, when it is None, the published store of ``zoo``.

    Raises FileNotFoundError (saying what to pass) when there is no such store.
    """
    if isinstance(profiles, ProfileStore):
        return profiles
    if profiles is None:
        entry = store_for_zoo(zoo) if zoo is not None else None
        if entry is None:
            which = f"for zoo {zoo!r}" if zoo is not None else "for a zoo given as a list of models"
            raise FileNotFoundError(
                f"no published profile store {which} (the registry lists {sorted(registry())}); build the "
                "source profiles with `vlmsel profile --zoo ... --datasets all20 --out STORE` and pass profiles=STORE "
                "(--profiles STORE)"
            )
        return ProfileStore(fetch_store(entry.name))
    if Path(profiles).is_dir():
        return ProfileStore(profiles)
    if isinstance(profiles, str) and profiles in registry():
        return ProfileStore(fetch_store(profiles))
    raise FileNotFoundError(
        f"profiles {str(profiles)!r}: not a profile store folder and not a published store ({sorted(registry())})"
    )


def _local_path(entry: PublishedStore) -> Path:
    path = Path(entry.path)
    if not (path / "store.json").is_file():
        raise FileNotFoundError(f"published store {entry.name!r}: {path}/store.json is missing ({entry.description})")
    return path


def fetch_store(
    name: str,
    *,
    reg: Mapping[str, PublishedStore] | None = None,
    cache: str | os.PathLike | None = None,
    timeout: float = 300.0,
) -> Path:
    """Local folder of a published profile store, downloading and unpacking it when needed.

    Parameters
    ----------
    name : registry key (see :func:`registry`).
    reg : the registry to use (default: the packaged one).
    cache : where stores are unpacked (default ``cache_dir("profiles")``, :func:`vlmsel.files.cache_dir`).
    timeout : seconds for the download.

    Returns
    -------
    The folder holding ``store.json`` (open it with :class:`vlmsel.profiles.store.ProfileStore`).

    Raises
    ------
    KeyError : unknown name (the message lists the known ones).
    DataFileError : the download failed, its sha256 is not the pinned one (nothing is kept), the archive
        is unsafe or holds no store, or ``VLMSEL_OFFLINE`` forbids the download.
    """
    reg = registry() if reg is None else reg
    if name not in reg:
        raise KeyError(f"unknown published profile store {name!r}; the registry lists {sorted(reg)}")
    entry = reg[name]
    if entry.path:
        return _local_path(entry)
    safe_name(name, "published store name")
    base = Path(cache) if cache is not None else cache_dir("profiles")
    folder = inside(base, f"{name}-{entry.sha256[:12]}", what=f"the cache folder of store {name!r}")
    store = inside(folder, safe_name(entry.root, f"store {name!r}: archive root"), what=f"store {name!r}")
    origin = folder / ORIGIN_FILE
    if origin.is_file() and _origin_sha256(origin) == entry.sha256:
        if not (store / "store.json").is_file():
            raise DataFileError(f"{folder}: the unpacked store lacks {entry.root}/store.json; delete the folder")
        return store
    if os.environ.get(OFFLINE_ENV, "").lower() in {"1", "true", "yes"}:
        raise DataFileError(
            f"profile store {name!r} is not in the cache ({folder}) and {OFFLINE_ENV} forbids "
            f"downloading it from {entry.url}"
        )
    check_url(entry.url, f"published store {name!r}")
    base.mkdir(parents=True, exist_ok=True)
    archive = base / f"{name}-{entry.sha256[:12]}.tar.gz"
    if not (archive.is_file() and sha256_file(archive) == entry.sha256):
        download(
            UpstreamFile(f"profiles/{name}", entry.url, entry.sha256, entry.bytes),
            archive,
            timeout=timeout,
            max_bytes=ArchiveLimits.from_env().max_total_bytes,
            hint=f"Check the URL of the published store {name!r} (`vlmsel store list`), or pass a local store "
            "folder with --profiles.",
        )
    from vlmsel.profiles.archive import Verification, read_archive, verify_store

    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=base))
    try:
        check = Verification(archive)
        read_archive(archive, check, dest=tmp)  # every member checked as it is written; nothing outside tmp
        if check.ok and check.root != entry.root:
            check.problems.append(f"the registry says its store is in {entry.root!r}, the archive holds {check.root!r}")
        if check.ok:
            check = verify_store(tmp / check.root)  # every entry, as `select` will read it
        if not check.ok:
            raise DataFileError(f"{entry.url}: refused: {check.problems[0]}")
        with atomic_write(tmp / ORIGIN_FILE, "w") as fh:
            json.dump({"name": name, "url": entry.url, "sha256": entry.sha256}, fh)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        archive.unlink(missing_ok=True)  # unpacked, or refused: either way not kept
    return store


def _origin_sha256(origin: Path) -> str | None:
    try:
        info = json.loads(origin.read_text(encoding="utf-8"))
        return info.get("sha256") if isinstance(info, dict) else None
    except (ValueError, OSError):
        return None
