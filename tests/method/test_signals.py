"""Label-free signals (vlmsel.method.signals): hand cases, scipy/sklearn references, properties, a toy world."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import cosine as scipy_cosine
from scipy.spatial.distance import pdist
from scipy.special import softmax
from scipy.stats import entropy, pearsonr, wasserstein_distance
from sklearn.preprocessing import StandardScaler

from vlmsel.data.images import PIXEL_FEATURES, pixel_features
from vlmsel.method.signals import (
    mean_embedding_cosine,
    median_sq_distance,
    mmd2_unbiased,
    msp_score,
    neg_entropy_score,
    pairwise_mmd2,
    pairwise_w1,
    signal_divergence,
    signal_divergence_to_target,
    standardise_features,
    vega_parts,
    vega_score,
    zero_shot_probabilities,
)


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def _angles(deg: list[float]) -> np.ndarray:
    r = np.deg2rad(np.asarray(deg, dtype=float))
    return np.stack([np.cos(r), np.sin(r)], axis=1)


# ---- target-only scores: by hand and against scipy


def test_msp_and_neg_entropy_by_hand_on_2x2():
    logits = np.array([[0.0, math.log(3.0)], [0.0, 0.0]])  # p = (1/4, 3/4) and (1/2, 1/2)
    assert msp_score(logits) == pytest.approx((3 / 4 + 1 / 2) / 2, rel=1e-14)
    h1 = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    h2 = math.log(2.0)
    assert neg_entropy_score(logits) == pytest.approx(-(h1 + h2) / 2, rel=1e-14)


def test_softmax_and_entropy_match_scipy():
    rng = np.random.default_rng(0)
    logits = 20 * rng.uniform(-1, 1, size=(30, 7)) + 1000.0  # a large offset: the row max must be subtracted
    p = zero_shot_probabilities(logits)
    np.testing.assert_allclose(p, softmax(logits, axis=1), rtol=1e-12)
    assert neg_entropy_score(logits) == pytest.approx(-np.mean(entropy(p, axis=1)), rel=1e-12)
    assert msp_score(logits) == pytest.approx(np.mean(p.max(axis=1)), rel=1e-14)


def test_msp_and_entropy_bounds_uniform_and_one_hot():
    rng = np.random.default_rng(1)
    for k in (2, 5, 40):
        logits = rng.normal(scale=5.0, size=(50, k))
        assert 1.0 / k <= msp_score(logits) <= 1.0
        assert -math.log(k) - 1e-12 <= neg_entropy_score(logits) <= 0.0
        flat = np.full((4, k), 3.7)
        assert msp_score(flat) == pytest.approx(1.0 / k, rel=1e-14)
        assert neg_entropy_score(flat) == pytest.approx(-math.log(k), rel=1e-14)
        one_hot = 1000.0 * np.eye(k)[rng.integers(k, size=6)]  # the others' probabilities underflow to 0
        assert msp_score(one_hot) == pytest.approx(1.0, abs=1e-12)
        assert neg_entropy_score(one_hot) == 0.0  # 0 log 0 = 0, no NaN


# ---- VEGA


def _vega_reference(e, t, yhat, temperature=0.05, nu=1.0, floor=1e-8):
    """VEGA written independently: full (diagonal) covariance matrices, slogdet and inv."""
    s_n = np.mean(softmax(e @ t.T / temperature, axis=1).max(axis=1))
    sbar2 = np.maximum(e.var(axis=0), floor)
    classes = sorted(set(yhat.tolist()))
    mus, covs = [], []
    for c in classes:
        xc = e[yhat == c]
        nc = len(xc)
        s2 = ((xc - xc.mean(axis=0)) ** 2).sum(axis=0) / nc
        mus.append(xc.mean(axis=0))
        covs.append(np.diag((nc * s2 + nu * sbar2) / (nc + nu)))
    et, ev = [], []
    for i in range(len(classes)):
        for j in range(i + 1, len(classes)):
            sbar = (covs[i] + covs[j]) / 2
            d = mus[i] - mus[j]
            ld = np.linalg.slogdet(sbar)[1] - 0.5 * (np.linalg.slogdet(covs[i])[1] + np.linalg.slogdet(covs[j])[1])
            ev.append(-(d @ np.linalg.inv(sbar) @ d / 8 + ld / 2))
            et.append(t[classes[i]] @ t[classes[j]])
    rho = pearsonr(et, ev)[0]
    return s_n, rho, s_n + (rho + 1) / 2


def test_vega_three_classes_in_2d_against_full_covariance_reference():
    t = _angles([0, 90, 200])  # edges cos 90 = 0, cos 200, cos 110: not constant
    e = _angles([-10, 5, 20, 80, 100, 210])  # by construction: classes 0, 0, 0, 1, 1, 2 (class 2 has one image)
    yhat = np.array([0, 0, 0, 1, 1, 2])
    np.testing.assert_array_equal(np.argmax(e @ t.T, axis=1), yhat)
    parts = vega_parts(e, t)
    s_n, rho, total = _vega_reference(e, t, yhat)
    assert parts["n_nodes"] == 3
    assert parts["s_n"] == pytest.approx(s_n, rel=1e-12)
    assert parts["rho"] == pytest.approx(rho, rel=1e-10)
    assert abs(parts["rho"]) > 0.1  # a real correlation, not the degenerate 0
    assert parts["s_e"] == pytest.approx((rho + 1) / 2, rel=1e-10)
    assert vega_score(e, t) == pytest.approx(total, rel=1e-10)
    # other hyperparameters go through too
    s_n2, rho2, total2 = _vega_reference(e, t, yhat, temperature=0.2, nu=3.0)
    assert vega_score(e, t, temperature=0.2, shrinkage=3.0) == pytest.approx(total2, rel=1e-10)


def test_vega_rho_zero_with_fewer_than_three_classes():
    rng = np.random.default_rng(2)
    e = _unit(rng.normal(size=(20, 8)))
    parts = vega_parts(e, _unit(rng.normal(size=(2, 8))))
    assert (parts["rho"], parts["s_e"], parts["n_nodes"]) == (0.0, 0.5, 2)
    t3 = _angles([0, 90, 200])
    parts = vega_parts(_angles([-10, 5, 80, 100]), t3)  # class 2 empty: |C+| = 2
    assert (parts["rho"], parts["n_nodes"]) == (0.0, 2)


def test_vega_and_msp_invariant_to_permuting_images():
    rng = np.random.default_rng(3)
    t = _unit(rng.normal(size=(6, 16)))
    e = _unit(t[rng.integers(6, size=60)] + 0.3 * rng.normal(size=(60, 16)))
    perm = rng.permutation(60)
    assert vega_score(e[perm], t) == pytest.approx(vega_score(e, t), rel=1e-12)
    logits = 20 * e @ t.T
    assert msp_score(logits[perm]) == pytest.approx(msp_score(logits), rel=1e-14)
    assert neg_entropy_score(logits[perm]) == pytest.approx(neg_entropy_score(logits), rel=1e-14)


def test_toy_world_aligned_model_scores_higher_than_random_model():
    rng = np.random.default_rng(4)
    k, dim, n = 10, 64, 200
    t = _unit(rng.normal(size=(k, dim)))
    y = rng.integers(k, size=n)
    aligned = _unit(t[y] + 0.1 * rng.normal(size=(n, dim)))  # noisy copies of the true class's embedding
    random = _unit(rng.normal(size=(n, dim)))
    assert np.mean(np.argmax(aligned @ t.T, axis=1) == y) > 0.95  # the world is as intended
    assert msp_score(20 * aligned @ t.T) > msp_score(20 * random @ t.T)
    assert neg_entropy_score(20 * aligned @ t.T) > neg_entropy_score(20 * random @ t.T)
    assert vega_score(aligned, t) > vega_score(random, t)


# ---- source-weighted divergences


def test_mean_embedding_cosine_matches_scipy():
    rng = np.random.default_rng(5)
    sets = [_unit(rng.normal(loc=mu, size=(n, 12))) for mu, n in ((0.5, 30), (-0.2, 17), (1.0, 25))]
    dv = mean_embedding_cosine(sets)
    assert dv.shape == (3, 3)
    for s in range(3):
        for t in range(3):
            assert dv[s, t] == pytest.approx(scipy_cosine(sets[s].mean(0), sets[t].mean(0)), abs=1e-12)


def test_median_sq_distance_matches_pdist():
    rng = np.random.default_rng(6)
    sets = [rng.normal(loc=3.0, size=(n, 9)) for n in (20, 13, 31)]
    ref = np.median(pdist(np.concatenate(sets), "sqeuclidean"))
    assert median_sq_distance(sets) == pytest.approx(ref, rel=1e-10)
    assert median_sq_distance([np.full((5, 3), 0.1), np.full((4, 3), 0.1)]) == 1.0  # all equal
    dup = [np.vstack([np.full((9, 3), 0.3), rng.normal(size=(2, 3))])]  # most pairs are duplicates: median 0
    assert median_sq_distance(dup) == 1.0


def _mmd2_naive(x, y, h2):
    def k(a, b):
        return math.exp(-float(np.sum((a - b) ** 2)) / (2 * h2))

    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m))
    return kxx + kyy - 2 * kxy / (n * m)


def test_mmd2_matches_naive_double_loop():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(12, 4)), rng.normal(loc=0.7, size=(9, 4))
    for h2 in (0.5, 3.0, 20.0):
        assert mmd2_unbiased(x, y, h2) == pytest.approx(_mmd2_naive(x, y, h2), rel=1e-10, abs=1e-13)


def test_pairwise_mmd2_matches_single_pairs_and_median_default():
    rng = np.random.default_rng(8)
    sets = [rng.normal(loc=0.4 * d, size=(n, 6)) for d, n in enumerate((15, 8, 22, 11))]
    h2 = median_sq_distance(sets)
    dv = pairwise_mmd2(sets)
    assert dv.shape == (4, 4)
    np.testing.assert_array_equal(dv, dv.T)
    np.testing.assert_allclose(pairwise_mmd2(sets, h2=h2), dv, rtol=1e-14)
    for s in range(4):
        for t in range(4):
            assert dv[s, t] == pytest.approx(_mmd2_naive(sets[s], sets[t], h2), rel=1e-9, abs=1e-12)
    assert pairwise_mmd2(sets, h2=0.3)[0, 2] == pytest.approx(_mmd2_naive(sets[0], sets[2], 0.3), rel=1e-9)


def test_mmd2_near_zero_for_same_distribution_and_grows_with_shift():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(100, 5)), rng.normal(size=(100, 5))
    h2 = 10.0
    same, self_ = mmd2_unbiased(x, y, h2), mmd2_unbiased(x, x, h2)
    assert abs(self_) < 0.02 and abs(same) < 0.02
    shifted = [mmd2_unbiased(x, y + s, h2) for s in (0.5, 1.0, 2.0)]
    assert shifted[0] > 0.05 + abs(same)
    assert shifted[0] < shifted[1] < shifted[2]


def test_w1_matches_scipy():
    rng = np.random.default_rng(10)
    values = [rng.gamma(2.0, scale=s, size=40) for s in (1.0, 1.5, 0.7)]
    dv = pairwise_w1(values)
    for s in range(3):
        for t in range(3):
            assert dv[s, t] == pytest.approx(wasserstein_distance(values[s], values[t]), rel=1e-12, abs=1e-15)
    np.testing.assert_array_equal(np.diag(dv), 0.0)


def test_pixel_features_constant_image():
    colour = (200, 100, 50)
    f = pixel_features(Image.new("RGB", (57, 41), colour))
    assert f.shape == (len(PIXEL_FEATURES),) == (7,)
    np.testing.assert_allclose(f[:3], np.array(colour) / 255, rtol=1e-14)
    np.testing.assert_array_equal(f[3:], 0.0)


def test_pixel_features_half_black_half_white_by_hand_and_stripes():
    a = np.zeros((32, 32), dtype=np.uint8)
    a[:, 16:] = 255  # 32x32: resize keeps it; one unit step per row among 31 * 32 * 2 differences
    f = pixel_features(Image.fromarray(a, mode="L"))
    np.testing.assert_allclose(f[:3], 0.5)
    np.testing.assert_allclose(f[3:6], 0.5)
    assert f[6] == pytest.approx(32 / (31 * 32 * 2), rel=1e-14)
    stripes = np.zeros((96, 80, 3), dtype=np.uint8)
    stripes[(np.arange(96) // 12) % 2 == 1] = 255  # horizontal black/white stripes
    g = pixel_features(Image.fromarray(stripes))
    assert g[6] > 0.01
    assert np.all(g[3:6] > 0.3)


def test_standardise_features_matches_sklearn_over_union():
    rng = np.random.default_rng(11)
    sets = [np.column_stack([rng.normal(5, 2, n), np.full(n, 0.3), rng.uniform(size=n)]) for n in (7, 12)]
    out = standardise_features(sets)
    ref = StandardScaler().fit_transform(np.concatenate(sets))
    np.testing.assert_allclose(np.concatenate(out), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(np.concatenate(out)[:, 1], 0.0)
    assert [o.shape for o in out] == [(7, 3), (12, 3)]


# ---- bad input


def test_bad_input_raises_with_a_message():
    with pytest.raises(ValueError, match="NaN"):
        msp_score(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="NaN"):
        neg_entropy_score(np.array([[0.0, np.inf]]))
    with pytest.raises(ValueError, match="2-dimensional"):
        zero_shot_probabilities(np.zeros(3))
    with pytest.raises(ValueError, match="width"):
        vega_score(np.ones((4, 3)) / math.sqrt(3), np.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        vega_score(np.array([[np.nan, 1.0]]), np.eye(2))
    with pytest.raises(ValueError, match="at least 2"):
        mmd2_unbiased(np.zeros((1, 3)), np.ones((5, 3)), 1.0)
    with pytest.raises(ValueError, match="at least 2"):
        pairwise_mmd2([np.zeros((3, 2)), np.ones((1, 2))])
    with pytest.raises(ValueError, match="h2"):
        mmd2_unbiased(np.zeros((2, 3)), np.ones((2, 3)), 0.0)
    with pytest.raises(ValueError, match="mismatched widths"):
        mean_embedding_cosine([np.ones((3, 4)), np.ones((3, 5))])
    with pytest.raises(ValueError, match="empty"):
        mean_embedding_cosine([np.ones((3, 4)), np.ones((0, 4))])
    with pytest.raises(ValueError, match="no set"):
        median_sq_distance([])
    with pytest.raises(ValueError, match="at least 2"):
        median_sq_distance([np.ones((1, 4))])
    with pytest.raises(ValueError, match="no sample"):
        pairwise_w1([])
    with pytest.raises(ValueError, match="PIL image"):
        pixel_features(np.zeros((4, 4, 3)))  # type: ignore[arg-type]


def test_w1_of_unequal_sizes_matches_scipy():
    rng = np.random.default_rng(3)
    values = [rng.normal(size=7), rng.normal(1.0, 2.0, size=12), rng.exponential(size=25)]
    got = pairwise_w1(values)
    for i in range(3):
        for j in range(3):
            assert got[i, j] == pytest.approx(wasserstein_distance(values[i], values[j]), abs=1e-12)


@pytest.mark.parametrize("signal", ["emb_cos", "emb_mmd", "objective_w1", "pixel_mmd"])
def test_divergence_to_target_is_the_last_column_and_follows_each_resample(signal):
    """The bootstrap of `vlmsel select` (signal_divergence_to_target) gives, for the whole sample, the last
    column of signal_divergence on [*sources, target]; for a resample, the same statistic computed directly on
    the resampled images (with the whole sample's bandwidth and standardisation)."""
    rng = np.random.default_rng(5)
    width = {"emb_cos": 6, "emb_mmd": 6, "objective_w1": 0, "pixel_mmd": 7}[signal]
    shape = (lambda n: (n,)) if width == 0 else (lambda n: (n, width))
    sources = [rng.normal(0.2 * i, 1.0, size=shape(20)) for i in range(4)]
    target = rng.normal(0.3, 1.2, size=shape(15))
    if signal == "emb_cos":
        sources, target = [_unit(s) for s in sources], _unit(target)
    full = signal_divergence(signal, [*sources, target])[:-1, -1]
    col = signal_divergence_to_target(signal, sources, target, np.arange(15)[None])[0]
    np.testing.assert_allclose(col, full, atol=1e-12)
    rows = rng.integers(0, 15, size=(3, 15))
    got = signal_divergence_to_target(signal, sources, target, rows)
    for b, r in enumerate(rows):
        if signal == "emb_cos":
            want = [1 - np.dot(_unit(s.mean(0)), _unit(target[r].mean(0))) for s in sources]
        elif signal == "objective_w1":
            want = [wasserstein_distance(s, target[r]) for s in sources]
        else:
            sets = standardise_features([*sources, target]) if signal == "pixel_mmd" else [*sources, target]
            h2 = median_sq_distance(sets)
            want = [mmd2_unbiased(s, sets[-1][r], h2) for s in sets[:-1]]
        np.testing.assert_allclose(got[b], want, atol=1e-10)
