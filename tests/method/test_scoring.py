"""The end-to-end selection method (vlmsel.method.scoring): dcd_scores by hand, agreement with the harness
method, and argument checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vlmsel.method.aggregation import utilities
from vlmsel.method.divergence import kl
from vlmsel.evaluation.harness import evaluate
from vlmsel.method.importance import block_importance
from vlmsel.profiles.pooling import Profiles
from vlmsel.method.scoring import DcdMethod, dataset_divergences, dcd_scores


def world(seed=0, n_models=6, datasets=("s1", "s2", "s3", "t")):
    rng = np.random.default_rng(seed)
    models = [f"m{i}" for i in range(n_models)]
    prof = Profiles.from_dict({m: rng.dirichlet(np.ones(l), size=len(datasets))
                               for m, l in zip(models, rng.integers(3, 8, n_models))}, datasets)
    acc = pd.DataFrame(rng.random((n_models, len(datasets))), index=models, columns=list(datasets))
    return prof, acc


def test_dcd_scores_by_hand():
    prof, acc = world()
    sources = ["s1", "s2", "s3"]
    got = dcd_scores(prof, acc[sources], "t", eta=2.0, gamma=5.0)
    u = utilities(acc[sources].to_numpy())
    for i, m in enumerate(acc.index):
        w = {d: block_importance(prof.profile(m, d), 2.0) for d in prof.datasets}
        d = np.array([kl(w["t"], w[s]) for s in sources])
        alpha = np.exp(-5.0 * d) / np.exp(-5.0 * d).sum()
        assert got[m] == pytest.approx(alpha @ u[i], rel=1e-12)


def test_dcd_scores_equals_harness_prediction():
    prof, acc = world(seed=1)
    result = evaluate(acc, DcdMethod(prof, eta=1.0, gamma=3.0, divergence="sym_kl"), n_boot=10)
    for target in acc.columns:
        expected = dcd_scores(prof, acc.drop(columns=target), target, eta=1.0, gamma=3.0, divergence="sym_kl")
        np.testing.assert_allclose(result.predictions[target], expected, rtol=1e-12)


def test_dcd_scores_refuses_the_target_as_source():
    prof, acc = world()
    with pytest.raises(ValueError, match="contains the target 't'"):
        dcd_scores(prof, acc, "t")


def test_dataset_divergences_shape_and_cosine_ignores_eta():
    prof, _ = world()
    d = dataset_divergences(prof)
    assert d.shape == (6, 4, 4)
    np.testing.assert_allclose(np.einsum("mss->ms", d), 0.0, atol=1e-12)
    assert (d[:, ~np.eye(4, dtype=bool)] > 0).all()
    np.testing.assert_array_equal(dataset_divergences(prof, 1.0, divergence="cosine"),
                                  dataset_divergences(prof, 8.0, divergence="cosine"))


def test_method_names_and_bad_arguments():
    prof, _ = world()
    assert DcdMethod(prof).name == "dcd" and DcdMethod(prof, divergence="js", nested=True).name == "dcd_js_nested"
    assert "ablation" in DcdMethod(prof, divergence="cosine").description
    with pytest.raises(ValueError, match="unknown divergence"):
        DcdMethod(prof, divergence="l1")
    with pytest.raises(ValueError, match="unknown selection metric"):
        DcdMethod(prof, nested=True, selection_metric="mse")
    with pytest.raises(ValueError, match="grids"):
        DcdMethod(prof, nested=True, gamma_grid=())
    with pytest.raises(TypeError, match="Profiles or a ProfileStore"):
        DcdMethod({"m0": np.ones((4, 3)) / 3})
