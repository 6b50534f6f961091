"""Files: atomic replacement, content hashes, and the one place vlmsel caches things.

Long runs (profiling, training, downloads) write every result with :func:`atomic_write`, so an
interrupted run never leaves a partial file where a complete one is expected: the content goes to a
temporary file in the same folder, is flushed to disk, and only then renamed over the target.

:func:`cache_dir` is where every cache of vlmsel lives: ``$VLMSEL_CACHE_DIR/<kind>`` when that variable is
set, else ``$XDG_CACHE_HOME/vlmsel/<kind>``, else ``~/.cache/vlmsel/<kind>``. The kinds are ``data``
(upstream ground-truth files), ``profiles`` (published profile stores) and ``targets`` (the profiles of
your own images that ``vlmsel select`` computed).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

TMP_SUFFIX = ".partial"
#: Environment variable naming the root of vlmsel's cache (see :func:`cache_dir`).
CACHE_DIR_ENV = "VLMSEL_CACHE_DIR"
#: The kinds of cache :func:`cache_dir` knows.
CACHE_KINDS = ("data", "profiles", "targets")


def cache_dir(kind: str) -> Path:
    """The cache folder of one kind (``"data"``, ``"profiles"`` or ``"targets"``); not created here."""
    if kind not in CACHE_KINDS:
        raise ValueError(f"unknown cache kind {kind!r}; choose one of {CACHE_KINDS}")
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser() / kind
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vlmsel" / kind


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it to ``path``, on error delete it.

    Parameters
    ----------
    path : target file; its parent folder is created if missing.
    mode : ``"wb"`` (default) or ``"w"`` for text.
    encoding : text encoding when ``mode="w"`` (default utf-8).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    # mkstemp creates the file 0600; give the result the permissions a plain open() would (umask applied).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of a byte string."""
    return hashlib.sha256(data).hexdigest()
