"""The conductance options (vlmsel.conductance.options) are torch-free, and the package re-exports its
names lazily (PEP 562) without importing torch for them."""

from __future__ import annotations

import subprocess
import sys

import pytest

import vlmsel.conductance
from vlmsel.conductance import options


def test_option_names():
    assert options.METHODS[0] == "gausslegendre" and "riemann_trapezoid" in options.METHODS
    assert options.BASELINES == ("zeros", "black", "blur") and options.RULES == ("left", "trapezoid")
    assert options.SCALARS[0] == "abs" and set(options.SIGNED_SCALARS) <= set(options.SCALARS)
    assert "norm" in options.OBJECTIVES and "block" in options.GRANULARITIES
    from vlmsel.data import PRECISIONS

    assert PRECISIONS[0] == "fp32" and len(set(PRECISIONS)) == len(PRECISIONS)


def test_lazy_exports_are_the_modules_objects():
    for name in ("BASELINES", "METHODS", "RULES", "SCALARS"):
        assert getattr(vlmsel.conductance, name) is getattr(options, name)
    from vlmsel.conductance.engine import block_conductance

    assert vlmsel.conductance.block_conductance is block_conductance
    assert sorted(vlmsel.conductance.__all__) == vlmsel.conductance.__all__
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vlmsel.conductance.nope  # noqa: B018


def test_options_import_no_torch():
    code = (
        "import sys; from vlmsel.conductance import SCALARS; import vlmsel.conductance.options; "
        "print(sorted(m for m in ('torch', 'open_clip', 'scipy', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
