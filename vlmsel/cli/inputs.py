"""What a command works on, read from its options: models, datasets, image folders and a shard.

``vlmsel profile`` and ``vlmsel zeroshot`` take the same ``--zoo`` / ``--models`` / ``--model-config``
(``--models`` narrows ``--zoo``, as in ``vlmsel select``, or alone lists the models),
``--datasets``, ``--images [NAME=]DIR`` and ``--shard I/N`` options; they are read here, once, and a bad
value ends in a :class:`vlmsel.cli.UserError` that names the option. ``vlmsel evaluate`` and ``vlmsel study``
read ``--profiles`` the same way (:func:`benchmark_store`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vlmsel.cli import UserError


def model_names(value: str | None) -> list[str]:
    """``--models``: comma-separated ``'<arch> <pretrained>'`` names (spaces inside a name normalised)."""
    return [" ".join(m.split()) for m in (value or "").split(",") if m.strip()]


def zoo_entries(args: argparse.Namespace) -> list:
    """The models of ``--zoo``, narrowed to ``--models`` when both are given (as ``vlmsel select`` does), or
    the models of ``--models`` alone; ``--model-config`` is registered first."""
    from vlmsel.data.zoo import load_zoo, register_model_configs

    for path in args.model_config:
        register_model_configs(path)
    models = model_names(args.models)
    if not args.zoo:
        if not models:
            raise UserError(
                "say which models: --zoo NAME|FILE (narrowed by --models if you like) or --models 'arch pretrained,...'"
            )
        return load_zoo(models)  # rejects duplicates
    entries = load_zoo(args.zoo)
    if not models:
        return entries
    names = [e.name for e in entries]
    unknown = [m for m in models if m not in names]
    if unknown:
        raise UserError(
            f"--models: {', '.join(unknown)} not in --zoo {args.zoo} ({len(names)} models, e.g. "
            f"{', '.join(names[:3])}); without --zoo, --models lists the models itself"
        )
    return [e for e in entries if e.name in models]


def dataset_names(value: str) -> list[str]:
    """``--datasets``: comma-separated LOVM names; ``all`` is LOVM's 23, ``all20`` the 20 open_clip's table has."""
    from vlmsel.data.benchmarks import OPENCLIP_COLUMNS
    from vlmsel.data.lovm import lovm_datasets

    out: list[str] = []
    for d in (d.strip() for d in value.split(",")):
        if d == "all":
            out.extend(lovm_datasets())
        elif d == "all20":
            out.extend(x for x in lovm_datasets() if x in OPENCLIP_COLUMNS)
        elif d:
            out.append(d)
    return out


def image_folders(specs: list[str]) -> list[tuple[str, str, str]]:
    """``--images [NAME=]DIR`` options as ``(spec, name, folder)``; the name defaults to the folder's name."""
    out = []
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not sep:
            name, folder = "", spec
        if not Path(folder).is_dir():
            raise UserError(f"--images {spec}: {folder} is not a folder")
        out.append((spec, name or Path(folder).resolve().name, folder))
    return out


def image_tasks(specs: list[str], skip_bad: bool = False) -> list:
    """One task per ``--images`` folder; ``path=`` makes the folder the task's images even when its name is
    also a LOVM dataset's."""
    from vlmsel.data.tasks import open_task

    return [open_task(name, path=folder, skip_bad=skip_bad) for _, name, folder in image_folders(specs)]


def shard(value: str | None) -> tuple[int, int] | None:
    """``--shard I/N`` as ``(I, N)``, or ``None`` when not given."""
    from vlmsel.shards import parse_shard

    if not value:
        return None
    try:
        return parse_shard(value)
    except ValueError as err:
        raise UserError(f"--shard: {err}") from None


def benchmark_store(name_or_path: str | None, benchmark: str, needed_by: str):
    """The profile store of ``--profiles`` (a folder or a published name), else the published store of the
    benchmark's zoo; a UserError saying that ``needed_by`` needs one when there is neither."""
    from vlmsel.profiles.registry import open_store, store_for_zoo

    if name_or_path is None and store_for_zoo(benchmark) is None:
        raise UserError(
            f"{needed_by} needs --profiles STORE (a profile store written by `vlmsel profile`); "
            f"no published store covers benchmark {benchmark!r}"
        )
    return open_store(name_or_path, zoo=benchmark)
