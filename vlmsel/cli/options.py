"""The method's options on the command line: one set of flags, read into one :class:`MethodOptions`.

``vlmsel select`` and ``vlmsel evaluate`` call :func:`add_method_options` and :func:`method_options`, so
the flags, their help and their defaults (those of :class:`vlmsel.method.options.MethodOptions`) exist once.
"""

from __future__ import annotations

import argparse
import dataclasses

from vlmsel.conductance.options import SCALARS
from vlmsel.method.options import DIVERGENCES, IMPORTANCES, UTILITIES, MethodOptions
from vlmsel.profiles.pooling import POOLINGS

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(MethodOptions)}
_HELP = {
    "scalar": ("block scalar pooled into profiles", SCALARS),
    "pooling": ("how per-image scalars become a task profile", POOLINGS),
    "source_images": ("images per source task pooled from the store, at most", int),
    "eta": ("block-importance sharpness", None),
    "importance": ("block-importance kind", IMPORTANCES),
    "divergence": ("DCD (kl) or an ablation", DIVERGENCES),
    "gamma": ("softmin inverse temperature over sources", None),
    "utility": ("how source ground truth becomes a utility", UTILITIES),
}


def check_range(value, option: str, minimum: float | None = None, maximum: float | None = None, *,
                above: float | None = None, below: float | None = None) -> None:
    """Raise :class:`~vlmsel.cli.UserError` naming ``option`` when ``value`` is outside the range
    (``minimum``/``maximum`` inclusive, ``above``/``below`` exclusive); None values pass (not given)."""
    from vlmsel.cli import UserError

    if value is None:
        return
    bounds = []
    if minimum is not None:
        bounds.append(f">= {minimum:g}")
    if above is not None:
        bounds.append(f"> {above:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    if below is not None:
        bounds.append(f"< {below:g}")
    bad = ((minimum is not None and value < minimum) or (above is not None and value <= above)
           or (maximum is not None and value > maximum) or (below is not None and value >= below))
    if bad:
        raise UserError(f"{option} must be {' and '.join(bounds)}; got {value:g}")


def check_outputs(inputs, **outputs) -> None:
    """Before any work: every output file (``{"--json": path, ...}``, None = not asked) can be written,
    is not a folder, is not one of the ``inputs`` and is not another output. Raises UserError naming it."""
    import os
    from pathlib import Path

    from vlmsel.cli import UserError

    seen: dict[Path, str] = {}
    given = set()
    for i in inputs:
        p = Path(i)
        given |= {q.resolve() for q in p.rglob("*")} if p.is_dir() else {p.resolve()}
    for option, path in outputs.items():
        if path is None:
            continue
        p = Path(path)
        target = p.resolve()
        if p.is_dir():
            raise UserError(f"{option} {path}: is a folder; give a file name")
        if target in given:
            raise UserError(f"{option} {path}: is one of the input images; it would be overwritten")
        if target in seen:
            raise UserError(f"{option} {path}: is also the {seen[target]} output")
        seen[target] = option
        parent = target.parent
        if not parent.is_dir():
            raise UserError(f"{option} {path}: the folder {parent} does not exist")
        if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
            raise UserError(f"{option} {path}: cannot write there (permission denied)")


def add_method_options(parser: argparse.ArgumentParser, names: tuple[str, ...] = tuple(_HELP)) -> None:
    """Add ``--eta``, ``--gamma``, ``--source-images``, ... (those in ``names``) to ``parser``, defaulting to
    None = the method's default."""
    group = parser.add_argument_group("method options (the method page defines each)")
    for name in names:
        text, choices = _HELP[name]
        kind = float if choices is None else choices if isinstance(choices, type) else str
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None,
                           choices=None if isinstance(choices, type) else choices,
                           help=f"{text} (default {_DEFAULTS[name]})")


def method_options(args: argparse.Namespace) -> MethodOptions:
    """The :class:`MethodOptions` of the parsed flags (flags left out keep the defaults)."""
    return MethodOptions(**{k: getattr(args, k) for k in _HELP if getattr(args, k, None) is not None})
