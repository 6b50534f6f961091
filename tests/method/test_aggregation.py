"""Rank aggregation (vlmsel.method.aggregation): utilities by hand, ties, weighted scores, name tie-breaking."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import zscore

from vlmsel.method.aggregation import aggregate, rank_models, ranking, ranking_order, ranking_orders, utilities


def test_rank_utility_by_hand_with_ties():
    acc = np.array([[0.9, 0.1], [0.5, 0.3], [0.5, 0.2], [0.1, 0.4]])
    np.testing.assert_array_equal(rank_models(acc)[:, 0], [1, 2.5, 2.5, 4])
    u = utilities(acc)
    np.testing.assert_allclose(u[:, 0], [1.0, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(u[:, 1], [0.0, 2 / 3, 1 / 3, 1.0])


def test_zscore_utility_matches_scipy():
    acc = np.random.default_rng(0).random((7, 3))
    np.testing.assert_allclose(utilities(acc, "zscore_acc"), zscore(acc, axis=0), rtol=1e-12)


def test_aggregate_is_model_specific_weighted_mean():
    u = np.array([[1.0, 0.0], [0.0, 1.0]])
    alpha = np.zeros((2, 2, 1))
    alpha[0, :, 0] = [0.8, 0.2]  # model 0 trusts source 0
    alpha[1, :, 0] = [0.8, 0.2]
    np.testing.assert_allclose(aggregate(alpha, u)[:, 0], [0.8, 0.2])
    alpha[1, :, 0] = [0.1, 0.9]  # model 1 trusts source 1: its score follows its own weights
    np.testing.assert_allclose(aggregate(alpha, u)[:, 0], [0.8, 0.9])


def test_ranking_breaks_ties_by_name():
    assert ranking(np.array([0.5, 0.9, 0.5]), ["zeta", "beta", "alpha"]) == ["beta", "alpha", "zeta"]
    np.testing.assert_array_equal(ranking_order(np.array([1.0, 1.0]), ["b", "a"]), [1, 0])


def test_ranking_orders_sorts_every_column_like_ranking_order():
    rng = np.random.default_rng(1)
    models = ["d", "a", "c", "b", "e"]
    scores = rng.integers(0, 3, size=(5, 40)).astype(float)  # many ties: broken by name
    orders = ranking_orders(scores, models)
    assert orders.shape == (5, 40)
    for b in range(40):
        np.testing.assert_array_equal(orders[:, b], ranking_order(scores[:, b], models))
        assert [models[i] for i in orders[:, b]] == sorted(models, key=lambda m: (-scores[models.index(m), b], m))


def test_errors():
    with pytest.raises(ValueError, match="at least 2 models"):
        utilities(np.ones((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        utilities(np.array([[0.5], [np.nan]]))
    with pytest.raises(ValueError, match="unknown utility"):
        utilities(np.ones((2, 2)), "borda")
    with pytest.raises(ValueError, match="do not match"):
        aggregate(np.ones((2, 3, 1)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        ranking_order(np.array([np.nan, 1.0]), ["a", "b"])
