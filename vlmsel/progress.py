"""Progress bars for long work, silenced in CI and papermill.

Every loop in vlmsel that can take more than a few seconds goes through :func:`progress`.
Set ``VLMSEL_PROGRESS=0`` (the Makefile does, for papermill and tests) or pass ``enabled=False``
to silence it; the bar is also silent when ``CI`` is set.
"""

from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress_enabled(enabled: bool | None = None) -> bool:
    """Whether progress bars are shown: an explicit ``enabled`` wins, else the environment."""
    if enabled is not None:
        return enabled
    if os.environ.get("VLMSEL_PROGRESS", "").strip().lower() in {"0", "false", "no", "off"}:
        return False
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        return False
    return True


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str | None = None,
    enabled: bool | None = None,
    leave: bool = False,
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar (on stderr) unless progress is disabled."""
    if not progress_enabled(enabled):
        return iter(iterable)
    # Imported here, not at module level: in a notebook kernel without ipywidgets, importing
    # tqdm.auto prints a TqdmWarning, which would land in every executed chapter even with bars off.
    from tqdm.auto import tqdm

    return iter(tqdm(iterable, total=total, desc=desc, leave=leave, file=sys.stderr, dynamic_ncols=True))
