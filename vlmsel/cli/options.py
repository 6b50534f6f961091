"""The method's options on the command line: one set of flags, read into one :class:`MethodOptions`.

``vlmsel select`` and ``vlmsel evaluate`` call :func:`add_method_options` and :func:`method_options`, so
the flags, their help and their defaults (those of :class:`vlmsel.method.options.MethodOptions`) exist once.
Every command declares a numeric flag's range with the flag (``type=bounded(int, minimum=1)``), reports a
bad argument on one line (:func:`one_line_errors`), and checks its output files and folders before any work
(:func:`check_outputs`, :func:`check_folders`).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable, NoReturn

from vlmsel.conductance.options import SCALARS
from vlmsel.method.options import DIVERGENCES, IMPORTANCES, SOFTMINS, UTILITIES, MethodOptions
from vlmsel.profiles.pooling import POOLINGS

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(MethodOptions)}
_HELP: dict[str, tuple[str, Any]] = {
    "scalar": ("block scalar pooled into profiles", SCALARS),
    "pooling": ("how per-image scalars become a task profile", POOLINGS),
    "source_images": ("images per source task pooled from the store, at most", int),
    "eta": ("block-importance sharpness", None),
    "importance": ("block-importance kind", IMPORTANCES),
    "divergence": ("DCD (kl) or an ablation", DIVERGENCES),
    "gamma": ("softmin inverse temperature over sources", None),
    "softmin": ("the paper's softmin on raw divergences, or zscore: scale-free, gamma per sd", SOFTMINS),
    "utility": ("how source ground truth becomes a utility", UTILITIES),
}


def bounded(
    kind: type,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    above: float | None = None,
    below: float | None = None,
) -> Callable[[str], Any]:
    """An argparse ``type=`` that declares a flag's range with the flag: ``type=bounded(int, minimum=1)``.

    Parameters
    ----------
    kind : ``int`` or ``float``, what the text is read as (text it cannot read: argparse's own
        ``invalid int value: 'x'``).
    minimum, maximum : inclusive bounds (None: none).
    above, below : exclusive bounds (None: none).

    Returns
    -------
    read : text -> value; a value outside the range (NaN included) is an :class:`argparse.ArgumentTypeError`,
        which argparse reports as ``argument --top: must be >= 1; got 0``.
    """
    bounds = [
        f"{op} {b:g}" for op, b in ((">=", minimum), (">", above), ("<=", maximum), ("<", below)) if b is not None
    ]

    def read(text: str):
        value = kind(text)
        inside = (
            (minimum is None or value >= minimum)
            and (above is None or value > above)
            and (maximum is None or value <= maximum)
            and (below is None or value < below)
        )
        if not inside:
            raise argparse.ArgumentTypeError(f"must be {' and '.join(bounds)}; got {text}")
        return value

    read.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return read


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser`` report a bad argument as ``vlmsel`` reports every user error: one line
    ``vlmsel select: error: argument --top: must be >= 1; got 0`` on stderr and exit code 2, without the
    usage block (``--help`` shows it). Returns ``parser``."""

    def error(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: error: {' '.join(message.split())}\n")

    parser.error = error  # type: ignore[method-assign]  # (argparse calls self.error for every parsing error)
    return parser


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
        # (realpath, not resolve: a loop of links among the inputs is the image reader's to report)
        given |= {Path(os.path.realpath(q)) for q in p.rglob("*")} if p.is_dir() else {Path(os.path.realpath(p))}
    for option, path in outputs.items():
        if path is None:
            continue
        p = Path(path)
        target = Path(os.path.realpath(p))
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
        why = _cannot_write(parent)
        if why:
            raise UserError(f"{option} {path}: cannot write there ({why})")


def check_folders(**folders) -> None:
    """Before any work: every folder the command will write (``{"--out": path, ...}``, None = not written)
    is a folder or can be created (its nearest existing ancestor is a folder), and takes a new file: a
    probe file is created and deleted there, as root ignores permission bits and a read-only mount shows
    only on write. Raises UserError naming the option (or what the folder is), the path and the reason."""
    from pathlib import Path

    from vlmsel.cli import UserError

    for option, path in folders.items():
        if path is None:
            continue
        p = Path(path).expanduser()
        existing = next(q for q in (p, *p.parents) if q.exists())  # "/" or "." ends the chain
        if not existing.is_dir():
            there = "a file is there" if existing == p else f"{existing} is a file"
            raise UserError(f"{option} {path}: not a folder ({there})")
        why = _cannot_write(existing)
        if why:
            what = "cannot write there" if existing == p else f"cannot create it in {existing}"
            raise UserError(f"{option} {path}: {what} ({why})")


def _cannot_write(folder) -> str | None:
    """Why no file can be created in ``folder`` (the OS's words), or None when a probe file can be."""
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(prefix=".vlmsel-write-check.", dir=folder):
            pass
    except OSError as err:
        return err.strerror or str(err)
    return None


def plain_help(docstring: str) -> str:
    """A docstring as command-line help, without Sphinx markup: a role's text (:func:`x` -> x,
    :func:`~a.b` -> b, :ref:`title <label>` -> title), ``x`` -> x, and a literal block's ``::`` -> ``:``."""
    import re

    def text(match: re.Match) -> str:
        title, sep, _ = match[1].partition(" <")
        if sep:
            return title
        return title[1:].rsplit(".", 1)[-1] if title.startswith("~") else title

    return re.sub(r":[a-z]+(?::[a-z]+)?:`([^`]+)`", text, docstring).replace("``", "").replace("::", ":")


def add_method_options(parser: argparse.ArgumentParser, names: tuple[str, ...] = tuple(_HELP)) -> None:
    """Add ``--eta``, ``--gamma``, ``--source-images``, ... (those in ``names``) to ``parser``, defaulting to
    None = the method's default."""
    group = parser.add_argument_group("method options (the method page defines each)")
    for name in names:
        text, choices = _HELP[name]
        kind = float if choices is None else choices if isinstance(choices, type) else str
        group.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=kind,
            default=None,
            choices=None if isinstance(choices, type) else choices,
            help=f"{text} (default {_DEFAULTS[name]})",
        )


def method_options(args: argparse.Namespace) -> MethodOptions:
    """The :class:`MethodOptions` of the parsed flags (flags left out keep the defaults)."""
    return MethodOptions(**{k: getattr(args, k) for k in _HELP if getattr(args, k, None) is not None})
