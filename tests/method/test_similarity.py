"""Softmin similarity (vlmsel.method.similarity): weights sum to one, gamma limits, masks, stability."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from vlmsel.method.similarity import softmin_weights


def test_weights_sum_to_one_and_match_scipy():
    rng = np.random.default_rng(0)
    d = rng.random((5, 6, 6))
    valid = ~np.eye(6, dtype=bool)
    a = softmin_weights(d, gamma=5.0, valid=valid)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(np.einsum("mss->ms", a), 0.0)  # a target is never its own source
    for m in range(5):
        for t in range(6):
            src = [s for s in range(6) if s != t]
            np.testing.assert_allclose(a[m, src, t], softmax(-5.0 * d[m, src, t]), rtol=1e-12)


def test_gamma_zero_is_exactly_uniform_and_large_gamma_picks_closest():
    d = np.array([[[0.3], [0.1], [0.7], [0.2]]])  # (1 model, 4 sources, 1 target)
    u = softmin_weights(d, gamma=0.0)
    np.testing.assert_array_equal(u, 0.25)
    big = softmin_weights(d, gamma=1e4)
    np.testing.assert_allclose(big[0, :, 0], [0, 1, 0, 0], atol=1e-300)


def test_stable_for_huge_divergences_and_ignores_invalid_values():
    d = np.array([[[1e6], [1e6 + 1.0], [np.nan]]])
    a = softmin_weights(d, gamma=1.0, valid=np.array([[True], [True], [False]]))
    np.testing.assert_allclose(a[0, :, 0], [1 / (1 + np.exp(-1.0)), np.exp(-1.0) / (1 + np.exp(-1.0)), 0.0])


def test_errors():
    with pytest.raises(ValueError, match="gamma"):
        softmin_weights(np.zeros((1, 2, 1)), gamma=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        softmin_weights(np.zeros((1, 2, 1)), gamma=np.inf)
    with pytest.raises(ValueError, match="no valid source"):
        softmin_weights(np.zeros((1, 2, 1)), valid=np.zeros((2, 1), bool))
    with pytest.raises(ValueError, match="NaN"):
        softmin_weights(np.full((1, 2, 1), np.nan))
