"""Files: atomic replacement, content hashes, and the one place vlmsel caches things.

Long runs (profiling, training, downloads) write every result with :func:`atomic_write`, so an
interrupted run never leaves a partial file where a complete one is expected: the content goes to a
temporary file in the same folder, is flushed to disk, and only then renamed over the target.

:func:`cache_dir` is where every cache of vlmsel lives: ``$VLMSEL_CACHE_DIR/<kind>`` when that variable is
set, else ``$XDG_CACHE_HOME/vlmsel/<kind>``, else ``~/.cache/vlmsel/<kind>``. The kinds are ``data``
(upstream ground-truth files), ``profiles`` (published profile stores) and ``targets`` (the profiles of
your own images that ``vlmsel select`` computed).

:func:`try_claim` gives one process at a time a piece of work (a profile store entry): several
``vlmsel profile`` runs on one store share its entries and never compute one twice.
"""

from __future__ import annotations

import contextlib
import errno
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    except OSError as err:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:  # (mkdir says "File exists" when a file is where a folder should be)
            raise OSError(errno.ENOTDIR, f"cannot write it ({blocker} is a file, not a folder)", str(path)) from err
        raise OSError(err.errno, f"cannot write it ({err.strerror})", str(path)) from err
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
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
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError) and err.errno is not None and err.filename in (None, tmp):
            # (the reason names the file being written, not its temporary twin; nothing is left behind)
            raise OSError(err.errno, f"cannot write it ({err.strerror}); nothing was written", str(path)) from err
        raise


def describe_os_error(err: OSError) -> str:
    """One line for an OSError: ``"<path>: <reason>"`` (both paths of a rename), or its own message when
    it was raised with one (vlmsel's own ``FileNotFoundError("...")`` and the like)."""
    if err.filename is None:
        return str(err) if err.strerror is None else err.strerror + (f" [errno {err.errno}]" if err.errno else "")
    where = str(err.filename) + (f" -> {err.filename2}" if err.filename2 is not None else "")
    return f"{where}: {err.strerror or err}"


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


CLAIM_SUFFIX = ".claim"


class Claim:
    """An exclusive claim on one piece of work (a store entry), held by one process.

    :func:`try_claim` takes it with an exclusive ``flock`` on a small file beside the work (its content
    names the owner: pid, host, start time). The kernel releases the lock when its owner exits, however
    it exits (``kill -9`` included), so a claim is never stale: a claim file whose lock nobody holds is
    free, whatever it says. ``release()`` (or leaving the ``with`` block) unlinks the file, then unlocks.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self._fd = path, fd

    def release(self) -> None:
        if self._fd < 0:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still locked: a waiter that opened it sees another inode and retries
        os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> "Claim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def try_claim(path: str | os.PathLike, owner: dict | None = None) -> Claim | None:
    """Claim ``path`` (a ``.claim`` file; its folder is created) for this process, or None when another
    living process holds it. ``owner`` (JSON-able) is written into the file beside pid, host and time."""
    import fcntl
    import json
    import socket
    import time

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the holder released (unlinked) it between our open and our lock: try again
            os.close(fd)
            continue
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(), **(owner or {})}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        return Claim(path, fd)


def claim_owner(path: str | os.PathLike) -> dict | None:
    """Who holds the claim at ``path`` (the owner dict), or None when nobody does (no file, or a file
    whose lock no living process holds)."""
    import fcntl
    import json

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raw = os.pread(fd, 1 << 16, 0)
            try:
                return json.loads(raw.decode() or "{}")
            except ValueError:
                return {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
