"""The scale-free softmin (vlmsel.method.similarity, ``softmin="zscore"``): a hand-computed case, invariance to
the divergences' scale and offset, uniform limits, masks, and the option's path through scoring."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vlmsel.method.aggregation import aggregate, utilities
from vlmsel.method.options import SOFTMINS, MethodOptions
from vlmsel.method.scoring import TargetScorer, dataset_divergences, dcd_scores, weighted_scores
from vlmsel.method.similarity import softmin_weights, standardise_sources


def test_hand_computed_three_sources():
    """D = (1, 2, 4): mean 7/3, population sd sqrt(14)/3, so z = (3 D - 7) / sqrt(14) = (-4, -1, 5) / sqrt(14)."""
    d = np.array([[[1.0], [2.0], [4.0]]])  # (1 model, 3 sources, 1 target)
    z = standardise_sources(d)
    root = math.sqrt(14.0)
    np.testing.assert_allclose(z[0, :, 0], [-4 / root, -1 / root, 5 / root], rtol=1e-7)
    e = [math.exp(-2.0 * v) for v in (-4 / root, -1 / root, 5 / root)]
    want = [v / sum(e) for v in e]
    a = softmin_weights(d, gamma=2.0, softmin="zscore")
    np.testing.assert_allclose(a[0, :, 0], want, rtol=1e-7)
    assert a[0, 0, 0] == pytest.approx(0.8269, abs=1e-4)  # 8.483 / (8.483 + 1.707 + 0.069)
    # the raw softmin on the same D is another answer
    raw = [math.exp(-2.0 * v) for v in (1.0, 2.0, 4.0)]
    np.testing.assert_allclose(softmin_weights(d, gamma=2.0)[0, :, 0], [v / sum(raw) for v in raw], rtol=1e-12)
    assert not np.allclose(softmin_weights(d, gamma=2.0), a)


def test_zscore_is_free_of_each_model_and_targets_scale_and_offset():
    rng = np.random.default_rng(0)
    m, s = 4, 6
    d = rng.random((m, s, s))
    valid = ~np.eye(s, dtype=bool)
    a = rng.uniform(0.01, 100.0, (m, 1, s))  # a > 0 per (model, target)
    b = rng.uniform(-50.0, 50.0, (m, 1, s))
    scaled = a * d + b
    z = softmin_weights(d, 2.0, valid, softmin="zscore")
    z_scaled = softmin_weights(scaled, 2.0, valid, softmin="zscore")
    np.testing.assert_allclose(z_scaled, z, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(standardise_sources(scaled, valid), standardise_sources(d, valid), atol=1e-6)
    raw = softmin_weights(d, 2.0, valid)
    raw_scaled = softmin_weights(scaled, 2.0, valid)
    assert not np.allclose(raw_scaled, raw, atol=1e-3)
    # a negative scale reverses the order of the sources: no longer the same weights
    assert not np.allclose(softmin_weights(-d, 2.0, valid, softmin="zscore"), z, atol=1e-3)


def test_zscore_weights_sum_to_one_and_favour_the_closest_source():
    rng = np.random.default_rng(1)
    d = rng.random((3, 5, 5))
    valid = ~np.eye(5, dtype=bool)
    a = softmin_weights(d, 4.0, valid, softmin="zscore")
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(np.einsum("mss->ms", a), 0.0)
    masked = np.where(valid, d, np.inf)
    assert (np.argmax(a, axis=1) == np.argmin(masked, axis=1)).all()


def test_equal_divergences_and_gamma_zero_give_uniform_weights():
    d = np.full((2, 4, 3), 0.7)
    for gamma in (0.0, 2.0, 50.0):
        np.testing.assert_allclose(softmin_weights(d, gamma, softmin="zscore"), 0.25, rtol=1e-12)
    np.testing.assert_array_equal(standardise_sources(d), 0.0)
    rng = np.random.default_rng(2)
    d = rng.random((2, 4, 3))
    np.testing.assert_array_equal(softmin_weights(d, 0.0, softmin="zscore"), 0.25)
    # one valid source: sd 0, weight 1
    one = np.array([[True], [False], [False], [False]])
    np.testing.assert_allclose(softmin_weights(d[:, :, :1], 3.0, one, softmin="zscore")[:, :, 0], [[1, 0, 0, 0]] * 2)


def test_excluded_sources_get_zero_weight_and_do_not_enter_the_mean_or_sd():
    rng = np.random.default_rng(3)
    d = rng.random((3, 6, 2))
    valid = np.ones_like(d, dtype=bool)
    valid[:, [1, 4], 0] = False  # target 0 without sources 1 and 4
    valid[0, 2, 1] = False  # target 1 of model 0 without source 2
    d_bad = d.copy()
    d_bad[~valid] = np.nan  # the excluded values may be anything
    a = softmin_weights(d_bad, 2.5, valid, softmin="zscore")
    assert (a[~valid] == 0).all()
    z = standardise_sources(d_bad, valid)
    assert (z[~valid] == 0).all()
    for m in range(3):
        for t in range(2):
            keep = valid[m, :, t]
            sub = d[m, keep, t][None, :, None]  # the valid subset alone
            np.testing.assert_allclose(a[m, keep, t], softmin_weights(sub, 2.5, softmin="zscore")[0, :, 0], rtol=1e-12)
            np.testing.assert_allclose(z[m, keep, t], standardise_sources(sub)[0, :, 0], rtol=1e-12)
    # had the excluded sources counted, the weights would differ
    assert not np.allclose(a[:, :, 0], softmin_weights(d, 2.5, softmin="zscore")[:, :, 0])


def test_other_axis_is_the_same_computation():
    rng = np.random.default_rng(4)
    d = rng.random((3, 5, 4))  # (M, S, T)
    valid = rng.random((3, 5, 4)) > 0.2
    valid[:, 0] = True
    a = softmin_weights(d, 1.5, valid, softmin="zscore")
    b = softmin_weights(d.transpose(0, 2, 1), 1.5, valid.transpose(0, 2, 1), axis=-1, softmin="zscore")
    np.testing.assert_allclose(b.transpose(0, 2, 1), a, rtol=1e-12)


def test_bad_names_and_inputs():
    d = np.ones((1, 3, 1))
    with pytest.raises(ValueError, match="unknown softmin 'softmax'"):
        softmin_weights(d, 1.0, softmin="softmax")
    with pytest.raises(ValueError, match="unknown softmin"):
        weighted_scores(d, np.ones((1, 3)), 1.0, softmin="Zscore")
    with pytest.raises(ValueError, match="unknown softmin 'bad'"):
        MethodOptions(softmin="bad")
    assert SOFTMINS == ("raw", "zscore") and MethodOptions().softmin == "raw"
    assert MethodOptions(softmin="zscore").replace(gamma=2).to_dict()["softmin"] == "zscore"
    with pytest.raises(ValueError, match="no valid source"):
        standardise_sources(d, np.zeros((1, 3, 1), dtype=bool))
    with pytest.raises(ValueError, match="NaN or inf"):
        softmin_weights(np.array([[[1.0], [np.nan]]]), 1.0, softmin="zscore")
    with pytest.raises(ValueError, match="does not broadcast"):
        standardise_sources(d, np.ones((2, 2), dtype=bool))


def test_weighted_scores_and_dcd_scores_pass_the_softmin_through(random_world):
    rng = np.random.default_rng(5)
    d = rng.random((4, 5, 5))
    u = utilities(rng.random((4, 5)))
    valid = ~np.eye(5, dtype=bool)
    scores, alpha = weighted_scores(d, u, 2.0, valid, softmin="zscore")
    np.testing.assert_allclose(alpha, softmin_weights(d, 2.0, valid, softmin="zscore"), rtol=1e-12)
    np.testing.assert_allclose(scores, aggregate(alpha, u), rtol=1e-12)
    assert not np.allclose(scores, weighted_scores(d, u, 2.0, valid)[0])
    # the whole method: dcd_scores and the resampling TargetScorer agree on the z-scored softmin
    prof, acc = random_world(seed=6)
    sources, target = list(acc.columns[:-1]), acc.columns[-1]
    got = dcd_scores(prof, acc[sources], target, softmin="zscore", gamma=2.0)
    dv = dataset_divergences(prof.subset(list(acc.index), [*sources, target]))[:, :-1, -1:]
    want = aggregate(softmin_weights(dv, 2.0, softmin="zscore"), utilities(acc[sources].to_numpy()))[:, 0]
    np.testing.assert_allclose(got.to_numpy(), want, rtol=1e-10)
    assert not np.allclose(got, dcd_scores(prof, acc[sources], target, gamma=2.0))
    scorer = TargetScorer(prof.subset(list(acc.index), sources), acc[sources], softmin="zscore", gamma=2.0)
    t = list(prof.datasets).index(target)
    one_image = [prof.values[m, t, :n][None] for m, n in enumerate(prof.n_blocks)]  # a profile is its own image
    out = scorer.scores(one_image, np.zeros((1, 1), dtype=int))
    np.testing.assert_allclose(out["score"][:, 0], want, rtol=1e-8)
