"""The command line is a thin layer over the API."""

from __future__ import annotations

import subprocess
import sys

from vlmsel.cli import main


def test_help_lists_subcommands(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "data" in out


def test_data_show(capsys):
    assert main(["data", "show", "lovm"]) == 0
    out = capsys.readouterr().out
    assert "35 models x 23 datasets" in out
    assert "ViT-L-14-336 openai" in out  # best on stl10


def test_data_where(capsys):
    assert main(["data", "where"]) == 0
    assert "orrzohar/LOVM @ 418cdcd282ae028cfd052c63b1ff42ffc729c186" in capsys.readouterr().out


def test_bad_metric_is_a_clean_error(capsys):
    assert main(["data", "show", "swab", "--metric", "mean_per_class_recall"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "vlmsel", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("vlmsel ")


def _commands(parser, prefix=()):
    """Every command line that has its own help: each subcommand and each of theirs (store, mini)."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


def test_no_sphinx_markup_leaks_into_any_help(capsys):
    import pytest

    from vlmsel.cli import SUBCOMMANDS, build_parser

    commands = list(_commands(build_parser()))
    assert {c[0] for c in commands} == set(SUBCOMMANDS)
    assert ("store", "fetch") in commands and ("mini", "train") in commands
    for command in commands:
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        out = capsys.readouterr().out
        assert out.startswith(f"usage: vlmsel {' '.join(command)}"), out[:200]
        for markup in ("``", ":func:", ":mod:", ":ref:", ":class:", ":meth:", "::"):
            assert markup not in out, (command, markup)


def test_plain_help_keeps_the_text_of_each_role():
    from vlmsel.cli.options import plain_help

    assert plain_help(
        "A thin layer over :func:`vlmsel.a.run` and :mod:`vlmsel.b` (``--x``), :func:`~vlmsel.a.f`, "
        ":ref:`the book <ch-x>`. Examples::"
    ) == ("A thin layer over vlmsel.a.run and vlmsel.b (--x), f, the book. Examples:")
