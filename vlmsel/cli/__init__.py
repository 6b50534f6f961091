"""The ``vlmsel`` command: a thin layer over the Python API.

Each subcommand lives in its own module of this package and exposes ``register(subparsers)``, which
adds its parser and sets ``func`` (a callable taking the parsed arguments and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommand modules, in the order ``vlmsel --help`` lists them.
SUBCOMMANDS = ["data", "evaluate", "study", "mini", "profile", "select", "store", "zeroshot"]


class UserError(Exception):
    """A problem with the user's input (file, model, dataset): printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    from vlmsel import __version__

    parser = argparse.ArgumentParser(
        prog="vlmsel",
        description="Choose a vision-language model from a few unlabeled images (arXiv 2602.01346).",
    )
    parser.add_argument("--version", action="version", version=f"vlmsel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"vlmsel.cli.{name}").register(sub)
    from vlmsel.cli.options import one_line_errors

    for each in _parsers(parser):  # every bad argument is one line, as every other user error
        one_line_errors(each)
    return parser


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and every subcommand's parser below it."""
    out = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                out += _parsers(child)
    return out


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"vlmsel: warning: {message}\n"


def _one_line(err: BaseException) -> str:
    """The message of a fault, on one line: an OSError names its path and the system's reason (disk full,
    read-only, not a folder, a loop of links, ...), a MemoryError says what to do."""
    from vlmsel.files import describe_os_error

    if isinstance(err, MemoryError):
        msg = "out of memory" + (f" ({err})" if str(err) else "") + "; free memory or use a smaller input"
    elif isinstance(err, OSError) and not isinstance(err, UserError):
        msg = describe_os_error(err)
    else:
        msg = str(err.args[0] if isinstance(err, KeyError) and err.args else err)
    msg = msg.replace("skip_bad=True / --skip-bad", "--skip-bad")  # the command line names its own option
    return " ".join(msg.split())


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.formatwarning = _one_line_warning  # warnings on the command line: one line, no source code
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as given (`profile --submit` reuses it)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from vlmsel.data.upstream import DataFileError  # light: json and the standard library

    try:
        return int(args.func(args) or 0)
    except (UserError, ValueError, KeyError, DataFileError, OSError, MemoryError) as err:
        print(f"vlmsel {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vlmsel {args.command}: interrupted; finished results were kept, rerun to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
