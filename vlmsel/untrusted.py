"""Input from other people: names that become paths, and the limits on what an archive may unpack.

A profile store, its archive and a registry entry are made by someone else (:ref:`ch-paper-scale`), so
everything read from them is hostile until checked here, once, for every command:

- :func:`safe_name` accepts a name that becomes one path component (a model's folder, a dataset's file
  stem, a registry store name, an archive's root folder): not empty, at most 255 bytes, no ``/`` or
  ``\\``, not ``.`` or ``..``, not starting with a dot (hidden files are vlmsel's own: claims, temporary
  files), no control characters. Anything else raises :class:`UnsafeInputError` naming the name and
  where it came from.
- :func:`inside` joins checked components to a folder, resolves symlinks, and refuses a result that is
  not inside the folder: a link planted in a store cannot send a read or a write elsewhere.
- :class:`ArchiveLimits` bounds what unpacking an archive may cost: members, bytes per member, bytes in
  all and the ratio of unpacked to packed bytes. The defaults are generous for a real store (the
  committed mini store's 442 entries of 100 images take 14 MB; 48 models x 20 datasets with 2-4 times as
  many blocks make about 2,000 files and 100 MB) and each is overridable by an environment variable
  (:data:`LIMIT_ENV`) or an argument.

Every check raises :class:`UnsafeInputError`, a ``ValueError``: the command line prints it as one line
and exits with status 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The longest name a file system takes for one component (bytes, UTF-8).
MAX_NAME_BYTES = 255


class UnsafeInputError(ValueError):
    """A name, path or archive from someone else that vlmsel refuses to use (the message says why)."""


def safe_name(name: object, what: str) -> str:
    """``name`` unchanged when it can be one path component; else :class:`UnsafeInputError`.

    Parameters
    ----------
    name : the candidate (anything: it may come from JSON).
    what : what it names and where it was read, for the message (``"model folder in store.json"``).
    """
    if not isinstance(name, str) or not name:
        raise UnsafeInputError(f"{what}: {name!r} is not a name")
    problem = ""
    if name in (".", ".."):
        problem = "is a relative folder reference"
    elif "/" in name or "\\" in name:
        problem = "holds a path separator"
    elif name.startswith("."):
        problem = "starts with a dot"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "holds a control character"
    elif len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        problem = f"is longer than {MAX_NAME_BYTES} bytes"
    if problem:
        raise UnsafeInputError(f"{what}: {name!r} {problem}; refused (it would become a path)")
    return name


def inside(root: str | os.PathLike, *parts: str, what: str = "path") -> Path:
    """``root / parts...`` after checking every part (:func:`safe_name`) and that the resolved result
    (symlinks followed) stays inside the resolved ``root``; the unresolved path is returned."""
    for part in parts:
        safe_name(part, what)
    path = Path(root).joinpath(*parts)
    top = Path(root).resolve()
    real = path.resolve()
    if real != top and top not in real.parents:
        raise UnsafeInputError(f"{what}: {path} leads to {real}, outside {top} (a symbolic link?); refused")
    return path


def relative_parts(rel: object, what: str, depth: int) -> tuple[str, ...]:
    """A ``/``-separated relative path of at most ``depth`` components, each a :func:`safe_name`."""
    if not isinstance(rel, str) or not rel:
        raise UnsafeInputError(f"{what}: {rel!r} is not a relative path")
    if rel.startswith("/") or rel.startswith("\\"):
        raise UnsafeInputError(f"{what}: {rel!r} is an absolute path; refused")
    parts = tuple(rel.split("/"))
    if len(parts) > depth:
        raise UnsafeInputError(f"{what}: {rel!r} is deeper than {depth} folder level(s); refused")
    for part in parts:
        safe_name(part, f"{what} {rel!r}")
    return parts


#: Environment variables that override :class:`ArchiveLimits`' defaults (an integer each).
LIMIT_ENV = {
    "max_members": "VLMSEL_ARCHIVE_MAX_FILES",
    "max_member_bytes": "VLMSEL_ARCHIVE_MAX_FILE_BYTES",
    "max_total_bytes": "VLMSEL_ARCHIVE_MAX_BYTES",
    "max_ratio": "VLMSEL_ARCHIVE_MAX_RATIO",
}


@dataclass(frozen=True)
class ArchiveLimits:
    """What unpacking (or verifying) one archive may cost at most.

    Attributes
    ----------
    max_members : files and folders in the archive (default 50,000).
    max_member_bytes : bytes of one unpacked file (default 1 GiB).
    max_total_bytes : unpacked bytes in all, the gzip stream's tail included (default 16 GiB).
    max_ratio : unpacked bytes per packed byte (default 200; a store's ``.npz`` files are already
        compressed, so a real archive unpacks to a few times its size, a "zip bomb" to a thousand times;
        an archive under 64 KiB is allowed ``max_ratio`` x 64 KiB).
    """

    max_members: int = 50_000
    max_member_bytes: int = 1 << 30
    max_total_bytes: int = 16 << 30
    max_ratio: int = 200

    @classmethod
    def from_env(cls) -> "ArchiveLimits":
        """The defaults, each replaced by its environment variable (:data:`LIMIT_ENV`) when set."""
        values = {}
        for field_name, env in LIMIT_ENV.items():
            raw = os.environ.get(env)
            if raw is None or not raw.strip():
                continue
            try:
                values[field_name] = int(raw)
            except ValueError:
                raise UnsafeInputError(f"{env}={raw!r}: give a whole number") from None
            if values[field_name] < 1:
                raise UnsafeInputError(f"{env}={raw!r}: give a number >= 1")
        return cls(**values)

    def total_for(self, packed_bytes: int) -> int:
        """The unpacked bytes allowed for an archive of ``packed_bytes``: the smaller of the two bounds."""
        return min(self.max_total_bytes, self.max_ratio * max(int(packed_bytes), 1 << 16))
