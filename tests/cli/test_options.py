"""The method's flags (vlmsel.cli.options): one set of flags, defaulting to MethodOptions' defaults; ranges
declared with their flags (bounded) and parsing errors on one line (one_line_errors)."""

from __future__ import annotations

import argparse

import pytest

from vlmsel.cli import build_parser
from vlmsel.cli.options import add_method_options, bounded, method_options, one_line_errors
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
    assert all(
        getattr(args, k) is None for k in ("scalar", "pooling", "eta", "importance", "divergence", "gamma", "utility")
    )
    assert method_options(args) == MethodOptions()


def test_flags_become_options():
    args = _parser().parse_args(
        [
            "--eta",
            "4",
            "--gamma",
            "0",
            "--divergence",
            "js",
            "--scalar",
            "l2",
            "--pooling",
            "normalised_mean",
            "--importance",
            "power",
            "--utility",
            "zscore_acc",
        ]
    )
    assert method_options(args) == MethodOptions(
        eta=4.0,
        gamma=0.0,
        divergence="js",
        scalar="l2",
        pooling="normalised_mean",
        importance="power",
        utility="zscore_acc",
    )


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


def test_bounded_reads_the_kind_and_refuses_values_outside_the_range(capsys):
    p = one_line_errors(argparse.ArgumentParser(prog="t"))
    p.add_argument("--n", type=bounded(int, minimum=1))
    p.add_argument("--p", type=bounded(float, above=0, maximum=1))
    p.add_argument("--q", type=bounded(float, minimum=0, below=1))
    args = p.parse_args(["--n", "1", "--p", "1", "--q", "0"])
    assert (args.n, args.p, args.q) == (1, 1.0, 0.0) and type(args.n) is int
    assert p.parse_args([]).n is None  # a flag left out is not checked
    for argv, line in [
        (["--n", "0"], "argument --n: must be >= 1; got 0"),
        (["--n", "1.5"], "argument --n: invalid int value: '1.5'"),
        (["--p", "0"], "argument --p: must be > 0 and <= 1; got 0"),
        (["--p", "1.01"], "argument --p: must be > 0 and <= 1; got 1.01"),
        (["--p", "nan"], "argument --p: must be > 0 and <= 1; got nan"),
        (["--q", "1"], "argument --q: must be >= 0 and < 1; got 1"),
        (["--q", "-0.5"], "argument --q: must be >= 0 and < 1; got -0.5"),
        (["--r", "1"], "unrecognized arguments: --r 1"),
    ]:
        with pytest.raises(SystemExit) as stop:
            p.parse_args(argv)
        assert stop.value.code == 2
        assert capsys.readouterr().err == f"t: error: {line}\n"  # one line, no usage block


def test_every_numeric_flag_of_the_commands_declares_its_range():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    method_flags = {f"--{name.replace('_', '-')}" for name in ("source_images", "eta", "gamma")}  # MethodOptions checks
    parsers = list(sub.choices.items())
    parsers += [
        (f"{name} {inner}", q)
        for name, p in sub.choices.items()
        for a in p._actions
        if isinstance(a, argparse._SubParsersAction)
        for inner, q in a.choices.items()
    ]
    for name, p in parsers:
        for action in p._actions:
            if action.type in (int, float) and not set(action.option_strings) & method_flags:
                raise AssertionError(
                    f"vlmsel {name} {action.option_strings[0]}: type={action.type.__name__} "
                    "without a range; use type=bounded(...)"
                )
