"""Every selection method by its table name (vlmsel.evaluation.methods, names in vlmsel.evaluation.options)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from vlmsel.evaluation import options
from vlmsel.evaluation.dcd import DcdMethod
from vlmsel.evaluation.methods import BASELINES, DCD_METHODS, METHODS, make_method
from vlmsel.method.options import DIVERGENCES, MethodOptions
from vlmsel.profiles.pooling import Profiles


def test_make_method_names():
    rng = np.random.default_rng(0)
    prof = Profiles.from_dict({"a x": rng.dirichlet(np.ones(4), size=3)}, ["p", "q", "r"])
    store_only = {
        *options.TARGET_ONLY_METHODS,
        *options.SIGNAL_METHODS,
        *(f"{m}_nested" for m in options.SIGNAL_METHODS),
    }
    for name in METHODS:
        if name in store_only:  # read a store's feature arrays: in-memory profiles are refused (below)
            continue
        method = make_method(name, profiles=prof)
        assert method.name == name, name
    assert set(BASELINES) <= set(METHODS)
    assert make_method("dcd_js", profiles=prof, gamma=2.0).gamma == 2.0
    z = make_method("dcd_z", profiles=prof)
    assert (z.options.softmin, z.gamma) == ("zscore", options.FIXED_ZSCORE_GAMMA)
    for name in sorted(store_only):
        with pytest.raises(TypeError, match="needs a ProfileStore"):
            make_method(name, profiles=prof)
    with pytest.raises(ValueError, match="needs a profile store"):
        make_method("dcd")
    with pytest.raises(ValueError, match="unknown method"):
        make_method("swab")


def test_dcd_methods_take_options_or_keywords():
    prof = Profiles.from_dict({"a x": np.full((3, 4), 0.25)}, ["p", "q", "r"])
    by_options = make_method("dcd_nested", profiles=prof, options=MethodOptions(eta=4.0, utility="zscore_acc"))
    assert isinstance(by_options, DcdMethod) and by_options.nested
    assert by_options.options == MethodOptions(eta=4.0, utility="zscore_acc")
    # the method name fixes the divergence, over the options'
    assert (
        make_method("dcd_cosine", profiles=prof, options=MethodOptions(divergence="js")).options.divergence == "cosine"
    )
    assert make_method("dcd", profiles=prof, eta=0.5).options == MethodOptions(eta=0.5)


def test_names_are_in_the_light_options_module():
    assert (options.BASELINES, options.DCD_METHODS, options.METHODS) == (BASELINES, DCD_METHODS, METHODS)
    assert DCD_METHODS["dcd"] == "kl" and set(DCD_METHODS.values()) == set(DIVERGENCES)
    assert len(set(METHODS)) == len(METHODS)
    paired = 2 * (len(DCD_METHODS) + len(options.ZSCORE_METHODS) + len(options.SIGNAL_METHODS))  # each with _nested
    assert len(METHODS) == len(BASELINES) + paired + len(options.TARGET_ONLY_METHODS)
    assert options.K_DEFAULT == 5
    code = (
        "import sys, vlmsel.evaluation.options; "
        "print(sorted(m for m in ('numpy', 'scipy', 'pandas', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
