"""The method's flags (vlmsel.cli.options): one set of flags, defaulting to MethodOptions' defaults."""

from __future__ import annotations

import argparse

import pytest

from vlmsel.cli import build_parser
from vlmsel.cli.options import add_method_options, method_options
from vlmsel.method.options import MethodOptions


def _parser(names=None):
    p = argparse.ArgumentParser(prog="t")
    if names is None:
        add_method_options(p)
    else:
        add_method_options(p, names)
    return p


def test_flags_left_out_keep_the_defaults():
    args = _parser().parse_args([])
    assert all(getattr(args, k) is None for k in ("scalar", "pooling", "eta", "importance", "divergence", "gamma",
                                                  "utility"))
    assert method_options(args) == MethodOptions()


def test_flags_become_options():
    args = _parser().parse_args(["--eta", "4", "--gamma", "0", "--divergence", "js", "--scalar", "l2",
                                 "--pooling", "normalised_mean", "--importance", "power", "--utility", "zscore_acc"])
    assert method_options(args) == MethodOptions(eta=4.0, gamma=0.0, divergence="js", scalar="l2",
                                                 pooling="normalised_mean", importance="power", utility="zscore_acc")


def test_choices_and_help_show_the_defaults(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["--divergence", "l1"])
    assert "invalid choice: 'l1'" in capsys.readouterr().err
    text = _parser().format_help()
    assert "(default 2.0)" in text and "(default 5.0)" in text and "(default kl)" in text
    only = _parser(("eta", "gamma"))
    with pytest.raises(SystemExit):
        only.parse_args(["--divergence", "js"])
    capsys.readouterr()
    assert method_options(only.parse_args(["--gamma", "1"])) == MethodOptions(gamma=1.0)
    with pytest.raises(ValueError, match="option eta must be a finite number >= 0"):
        method_options(only.parse_args(["--eta", "-1"]))


def test_select_and_evaluate_share_the_flags():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("select", "evaluate"):
        flags = {s for a in sub.choices[command]._actions for s in a.option_strings}
        assert {"--eta", "--gamma", "--scalar", "--pooling", "--importance", "--utility"} <= flags, command
    select_flags = {s for a in sub.choices["select"]._actions for s in a.option_strings}
    assert "--divergence" in select_flags
