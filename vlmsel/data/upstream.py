"""Where the ground-truth tables come from: pinned upstream files, verified by sha256.

The benchmark tables (LOVM, open_clip's published zero-shot results, SWAB) are public files in other
people's repositories. vlmsel never copies them into its own repository. Instead
``resources/upstream_files.json`` pins, for each file, its public URL at a fixed commit, its sha256 and
its size. :func:`fetch` returns a local path for a file, looking in this order:

1. the folder named by the environment variable ``VLMSEL_DATA_DIR`` (tests and CI set it to a local
   copy laid out like the upstream repositories: ``lovm/LOVM/eval_table.csv``, ...); a file there must
   match its pinned sha256;
2. the user cache, ``$VLMSEL_CACHE_DIR/data`` or ``~/.cache/vlmsel/data`` (:func:`vlmsel.files.cache_dir`) (same layout);
3. a download from the pinned URL into the cache: the bytes are hashed before anything is written, and
   the file appears in the cache atomically, only when its hash matches.

The chapter :ref:`ch-benchmarks` of the book shows the tables this module delivers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vlmsel.files import atomic_write, cache_dir, sha256_file

DATA_DIR_ENV = "VLMSEL_DATA_DIR"
OFFLINE_ENV = "VLMSEL_OFFLINE"
#: What a failed download of a benchmark table advises (the default ``hint`` of :func:`download`).
TABLE_HINT = f"Without network access, set {DATA_DIR_ENV} to a folder holding a copy of the benchmark tables."


class DataFileError(RuntimeError):
    """A ground-truth file is missing, unreadable or not the pinned version."""


@dataclass(frozen=True)
class UpstreamFile:
    """One pinned upstream file: ``relpath`` (local layout), ``url``, ``sha256``, ``size`` in bytes."""

    relpath: str
    url: str
    sha256: str
    size: int


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, UpstreamFile]:
    """All pinned files, keyed by their relative path (e.g. ``"lovm/LOVM/eval_table.csv"``)."""
    text = resources.files("vlmsel").joinpath("resources/upstream_files.json").read_text(encoding="utf-8")
    raw = json.loads(text)["files"]
    return {k: UpstreamFile(k, v["url"], v["sha256"], int(v["bytes"])) for k, v in raw.items()}


def sources() -> dict[str, dict[str, str]]:
    """The upstream repositories and the commits the registry pins (``{"lovm": {"repo", "commit"}, ...}``)."""
    text = resources.files("vlmsel").joinpath("resources/upstream_files.json").read_text(encoding="utf-8")
    return json.loads(text)["sources"]


def _entry(relpath: str) -> UpstreamFile:
    try:
        return registry()[relpath]
    except KeyError:
        raise DataFileError(
            f"{relpath!r} is not a known ground-truth file; known files are listed in "
            "vlmsel/resources/upstream_files.json"
        ) from None


def _check_local(path: Path, entry: UpstreamFile, where: str) -> Path:
    digest = sha256_file(path)
    if digest != entry.sha256:
        raise DataFileError(
            f"{path} (from {where}) does not match the pinned version of {entry.relpath}: sha256 {digest} "
            f"instead of {entry.sha256}. Replace it with the file at {entry.url}, or delete it so that "
            "vlmsel downloads it."
        )
    return path


def data_dir() -> Path | None:
    """The local data folder named by ``VLMSEL_DATA_DIR``, or None; a bad value raises DataFileError."""
    env = os.environ.get(DATA_DIR_ENV)
    if not env:
        return None
    path = Path(env).expanduser()
    if not path.is_dir():
        raise DataFileError(
            f"{DATA_DIR_ENV}={env!r} is not a folder. Point it at a folder laid out like the upstream "
            "repositories (lovm/LOVM/eval_table.csv, openclip/docs/openclip_results.csv, "
            f"swab/LOVM/eval_table.csv, ...), or unset it to use the cache ({cache_dir('data')})."
        )
    return path


def fetch(relpath: str, *, timeout: float = 60.0) -> Path:
    """Local path of a pinned ground-truth file, downloading it into the cache if needed.

    Parameters
    ----------
    relpath : key of :func:`registry`, e.g. ``"lovm/LOVM/eval_table.csv"``.
    timeout : seconds for the download.

    Raises
    ------
    DataFileError
        when ``VLMSEL_DATA_DIR`` is set but lacks the file or holds another version, when the download
        fails, or when the downloaded bytes do not match the pinned sha256 (nothing is written then).
    """
    entry = _entry(relpath)
    local = data_dir()
    if local is not None:
        path = local / relpath
        if not path.is_file():
            raise DataFileError(
                f"{path} is missing: {DATA_DIR_ENV}={local} does not hold {relpath}. Copy it from "
                f"{entry.url}, or unset {DATA_DIR_ENV} to download it into the cache."
            )
        return _check_local(path, entry, DATA_DIR_ENV)
    cached = cache_dir("data") / relpath
    if cached.is_file():
        return _check_local(cached, entry, "the vlmsel cache")
    if os.environ.get(OFFLINE_ENV, "").lower() in {"1", "true", "yes"}:
        raise DataFileError(
            f"{relpath} is not in the cache ({cached}) and {OFFLINE_ENV} forbids downloading it from "
            f"{entry.url}. Set {DATA_DIR_ENV} to a local copy."
        )
    return download(entry, cached, timeout=timeout)


def download(entry: UpstreamFile, dest: Path, *, timeout: float = 60.0, hint: str = TABLE_HINT,
             max_bytes: int = 16 << 30) -> Path:
    """Download ``entry.url`` to ``dest``, verifying the sha256 before the file appears; a failed download
    raises DataFileError ending with ``hint``, the advice for what is downloaded (default: a benchmark table's).

    The bytes are streamed through the hash into a temporary file beside ``dest`` (never held in memory)
    and the download stops as soon as it exceeds ``entry.size`` (when known, else ``max_bytes``): a server
    cannot fill the disk with more than the pinned file.
    """
    limit = entry.size if entry.size > 0 else max_bytes
    digest = hashlib.sha256()

    def failed(err: Exception) -> DataFileError:
        return DataFileError(f"could not download {entry.relpath} from {entry.url}: {err}. {hint}")

    try:
        response = urllib.request.urlopen(entry.url, timeout=timeout)
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise failed(err) from err
    with response, atomic_write(dest, "wb") as fh:  # (an error below removes the temporary file)
        got = 0
        while True:
            try:
                chunk = response.read(1 << 20)
            except OSError as err:
                raise failed(err) from err
            if not chunk:
                break
            got += len(chunk)
            if got > limit:
                raise DataFileError(f"the download of {entry.relpath} from {entry.url} is larger than the {limit} "
                                    "bytes pinned for it; stopped, nothing was saved")
            digest.update(chunk)
            fh.write(chunk)
        if digest.hexdigest() != entry.sha256:
            raise DataFileError(
                f"the download of {entry.relpath} from {entry.url} has sha256 {digest.hexdigest()}, not the pinned "
                f"{entry.sha256}; nothing was saved. The upstream file changed or the transfer was corrupted."
            )
    return dest


def fetch_all() -> dict[str, Path]:
    """Fetch every pinned file (``vlmsel data fetch``); returns relpath -> local path."""
    return {rel: fetch(rel) for rel in registry()}
