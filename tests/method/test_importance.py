"""Block importance (vlmsel.method.importance): softmax of the z-score and the power rule, masks for padding."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from vlmsel.method.importance import block_importance, zscore_blocks


def test_softmax_z_matches_scipy():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(12), size=(4, 3))
    z = (p - p.mean(axis=-1, keepdims=True)) / (p.std(axis=-1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(block_importance(p, eta=2.0), softmax(2.0 * z, axis=-1), rtol=1e-12)


def test_eta_limits_and_order():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(block_importance(p, eta=0.0), 0.25)
    w = block_importance(p, eta=50.0)
    assert w[-1] > 0.99 and np.all(np.diff(w) > 0)
    np.testing.assert_allclose(block_importance(p, eta=1.0, importance="power"), p)
    np.testing.assert_allclose(block_importance(p, eta=2.0, importance="power"), p**2 / np.sum(p**2))


def test_gibbs_variational_principle():
    # softmax(eta z) maximises <w, z> + H(w) / eta over the simplex: no random distribution does better
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(8))
    eta = 2.0
    z = zscore_blocks(p)

    def objective(w):
        return w @ z - np.sum(w * np.log(w)) / eta

    best = objective(block_importance(p, eta))
    for q in rng.dirichlet(np.ones(8) * 0.5, size=2000):
        assert objective(np.clip(q, 1e-300, None)) <= best + 1e-12


def test_mask_gives_padded_blocks_zero_weight_and_matches_unpadded():
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(5))
    padded = np.concatenate([p, np.zeros(3)])
    mask = np.arange(8) < 5
    for kind in ("softmax_z", "power"):
        w = block_importance(padded, 2.0, kind, mask=mask)
        np.testing.assert_array_equal(w[5:], 0.0)
        np.testing.assert_allclose(w[:5], block_importance(p, 2.0, kind), rtol=1e-12)


def test_constant_profile_gives_uniform():
    np.testing.assert_allclose(block_importance(np.full(6, 1 / 6), eta=5.0), 1 / 6)


@pytest.mark.parametrize("bad, match", [(np.array([0.5, np.nan]), "NaN"), (np.array([0.5, -0.1]), "non-negative")])
def test_bad_profiles_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        block_importance(bad)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="eta"):
        block_importance(np.ones(3) / 3, eta=-1)
    with pytest.raises(ValueError, match="unknown importance"):
        block_importance(np.ones(3) / 3, importance="entmax")
    with pytest.raises(ValueError, match="zero mass"):
        block_importance(np.zeros(3), importance="power")
    with pytest.raises(ValueError, match="broadcast"):
        block_importance(np.ones((2, 3)) / 3, mask=np.ones(4, bool))
