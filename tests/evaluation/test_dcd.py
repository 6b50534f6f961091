"""The DCD method on the harness (vlmsel.evaluation.dcd): the same scores as vlmsel.method.scoring, its
names, options and argument checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vlmsel.evaluation.dcd import DEFAULT_ETA_GRID, DEFAULT_GAMMA_GRID, DcdMethod
from vlmsel.evaluation.harness import evaluate
from vlmsel.method.options import MethodOptions
from vlmsel.method.scoring import dcd_scores


def test_dcd_scores_equals_harness_prediction(random_world):
    prof, acc = random_world(seed=1)
    result = evaluate(acc, DcdMethod(prof, eta=1.0, gamma=3.0, divergence="sym_kl"), n_boot=10)
    for target in acc.columns:
        expected = dcd_scores(prof, acc.drop(columns=target), target, eta=1.0, gamma=3.0, divergence="sym_kl")
        np.testing.assert_allclose(result.predictions[target], expected, rtol=1e-12)


def test_options_or_keywords_give_the_same_method(random_world):
    prof, acc = random_world(seed=2)
    opts = MethodOptions(eta=1.0, gamma=3.0, divergence="js", utility="zscore_acc")
    a = evaluate(acc, DcdMethod(prof, opts), n_boot=10)
    b = evaluate(acc, DcdMethod(prof, eta=1.0, gamma=3.0, divergence="js", utility="zscore_acc"), n_boot=10)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    m = DcdMethod(prof, opts, gamma=0.5)  # keywords override the options
    assert (m.eta, m.gamma, m.options.divergence) == (1.0, 0.5, "js")
    params = DcdMethod(prof, opts).params()
    assert params["eta"] == 1.0 and params["divergence"] == "js" and params["nested"] is False
    assert "scalar" not in params and "pooling" not in params  # in-memory profiles are pooled already


def test_method_names_and_bad_arguments(random_world):
    prof, _ = random_world()
    assert DcdMethod(prof).name == "dcd" and DcdMethod(prof, divergence="js", nested=True).name == "dcd_js_nested"
    assert "ablation" in DcdMethod(prof, divergence="cosine").description
    assert DcdMethod(prof).options == MethodOptions()
    assert DcdMethod(prof, nested=True).eta_grid == DEFAULT_ETA_GRID and 0.0 in DEFAULT_GAMMA_GRID
    with pytest.raises(ValueError, match="unknown divergence"):
        DcdMethod(prof, divergence="l1")
    with pytest.raises(ValueError, match="unknown selection metric"):
        DcdMethod(prof, nested=True, selection_metric="mse")
    with pytest.raises(ValueError, match="grids"):
        DcdMethod(prof, nested=True, gamma_grid=())
    with pytest.raises(TypeError, match="Profiles or a ProfileStore"):
        DcdMethod({"m0": np.ones((4, 3)) / 3})
    with pytest.raises(TypeError, match="unknown method option"):
        DcdMethod(prof, temperature=1.0)
