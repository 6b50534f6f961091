"""One job runner: a keyed plan of (model, dataset) entries, run resumably by any number of processes.

Profiling a zoo (:func:`vlmsel.profiles.compute.run_profiles`) and measuring its zero-shot accuracy
(:func:`vlmsel.data.zeroshot.run_zero_shot`) are the same kind of work: one result per (model, dataset),
expensive, written into a shared folder by processes that may die, be requeued or run twice. This module
is that loop, written once:

- :func:`entry_path` is where an entry's files live, ``<root>/<model_slug>/<dataset><suffix>``, with
  both names checked (:mod:`vlmsel.untrusted`): an entry never lies outside its folder;
- :func:`run_claimed` walks the plan: an entry already done is skipped; else it is claimed
  (:func:`vlmsel.files.try_claim`), checked again under the claim (another process may have finished it
  meanwhile), its interrupted writes are removed, and only then is it handed to the caller, who computes
  it and writes it atomically (:func:`vlmsel.files.atomic_write`) while the claim is held;
- :func:`shard_keys` keeps one shard of a plan split by cost (:func:`vlmsel.shards.partition`);
- :func:`versions` is the provenance every result records.

Taught in the chapter :ref:`ch-paper-scale` (many machines on one store).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from vlmsel.files import CLAIM_SUFFIX, TMP_SUFFIX, try_claim
from vlmsel.untrusted import inside, safe_name

T = TypeVar("T")


def model_slug(model: str) -> str:
    """Folder name of a model: ``"ViT-B-32 laion2b_s34b_b79k"`` -> ``"ViT-B-32__laion2b_s34b_b79k"`` (spaces
    become ``__``, ``/`` becomes ``_``); a name that could leave its folder is refused."""
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model name {model!r} is empty")
    return safe_name(model.replace(" ", "__").replace("/", "_"), f"the folder of model {model!r}")


def entry_path(root: str | os.PathLike, model: str, dataset: str, suffix: str) -> Path:
    """``<root>/<model_slug>/<dataset><suffix>``, checked to stay inside ``root`` (links followed)."""
    slug = model_slug(model)
    stem = safe_name(dataset, f"dataset name (a file name in {root})")
    return inside(root, slug, f"{stem}{suffix}", what=f"{root}, entry {model!r} / {dataset!r}")


def claim_path(root: str | os.PathLike, model: str, dataset: str) -> Path:
    """The claim file of one entry (:func:`vlmsel.files.try_claim`): ``<model_slug>/.<dataset>.claim``."""
    return entry_path(root, model, dataset, "").parent / f".{dataset}{CLAIM_SUFFIX}"


def partial_files(root: str | os.PathLike, model: str, dataset: str, suffixes: Sequence[str]) -> list[Path]:
    """The temporary files that interrupted writes of one entry's files (``suffixes``) left behind."""
    folder = entry_path(root, model, dataset, "").parent
    if not folder.is_dir():
        return []
    return sorted(p for s in suffixes for p in folder.glob(f".{dataset}{s}.*{TMP_SUFFIX}"))


def run_claimed(
    items: Iterable[T],
    *,
    is_done: Callable[[T], bool],
    claim: Callable[[T], Path],
    owner: Callable[[T], dict] | None = None,
    partials: Callable[[T], Sequence[Path]] | None = None,
) -> Iterator[tuple[T, str]]:
    """Walk a plan resumably; yields ``(item, state)`` for each item, in order.

    ``state`` is ``"done"`` (``is_done(item)``, before or under the claim), ``"claimed"`` (another living
    process holds it: skip it, a rerun picks it up) or ``"mine"``: this process holds the item's claim
    until the loop asks for the next item, so the caller computes the item and writes it atomically in the
    loop's body. Interrupted writes (``partials(item)``) are deleted before ``"mine"`` is yielded. Leaving
    the loop early (an exception, ``break``) releases the claim.

    ``is_done`` may raise (a stored result made with other settings): the error stops the walk.
    """
    for item in items:
        if is_done(item):
            yield item, "done"
            continue
        held = try_claim(claim(item), owner(item) if owner else None)
        if held is None:
            yield item, "claimed"
            continue
        with held:
            if is_done(item):  # finished by another process between our check and our claim
                yield item, "done"
                continue
            for path in partials(item) if partials else ():
                path.unlink(missing_ok=True)  # ours to clean: we hold the claim
            yield item, "mine"


def shard_keys(
    keys: Sequence[tuple[str, str]], costs: Sequence[float], shard: tuple[int, int] | None
) -> list[tuple[str, str]]:
    """The keys of shard ``i`` of ``n`` (``shard=(i, n)``) when the plan is split into ``n`` shards of about
    equal total cost (:func:`vlmsel.shards.partition`); every key when ``shard`` is None."""
    from vlmsel.shards import partition

    if shard is None:
        return list(keys)
    index, count = shard
    return [k for k, s in zip(keys, partition(list(keys), list(costs), count)) if s == index]


def versions() -> dict[str, str]:
    """Versions recorded with every result: python, torch, open_clip, vlmsel and numpy."""
    import numpy as np
    import open_clip
    import torch

    import vlmsel

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "open_clip": getattr(open_clip, "__version__", "unknown"),
        "vlmsel": vlmsel.__version__,
        "numpy": np.__version__,
    }
