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
