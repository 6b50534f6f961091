"""Divergences (vlmsel.method.divergence): DCD's properties, scipy references, and the pairwise tensor."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cosine as scipy_cosine
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from vlmsel.method.divergence import cosine, coverage, divergence_between, js, kl, pairwise_divergence, sym_kl
from vlmsel.method.importance import block_importance
from vlmsel.method.options import DIVERGENCES, SYMMETRIC_DIVERGENCES


def test_kl_matches_scipy_entropy_for_positive_distributions():
    rng = np.random.default_rng(0)
    for _ in range(50):
        t, s = rng.dirichlet(np.full(10, 5.0), size=2)  # no tiny weights: eps shifts the value by ~L eps / min
        assert kl(t, s, eps=0.0) == pytest.approx(entropy(t, s), rel=1e-12)
        assert kl(t, s) == pytest.approx(entropy(t, s), abs=1e-5)


def test_dcd_non_negative_zero_only_for_identical_and_asymmetric():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(16), size=200)
    w = block_importance(p, eta=2.0)
    d = kl(w[:100], w[100:])
    assert np.all(d > 0)
    np.testing.assert_array_equal(kl(w, w), 0.0)
    assert np.all(np.abs(kl(w[:100], w[100:]) - kl(w[100:], w[:100])) > 1e-6)
    # a source that covers the target's blocks and more is a better proxy than the reverse
    target = np.array([0.5, 0.5, 0.0, 0.0])
    broad = np.full(4, 0.25)
    assert kl(target, broad) < kl(broad, target)


def test_eps_keeps_zero_weight_block_finite():
    t = np.array([0.5, 0.5, 0.0])
    s = np.array([1.0, 0.0, 0.0])  # the source gives zero weight to a block the target uses
    assert np.isinf(entropy(t, s))
    d = kl(t, s)
    eps = 1e-8
    assert np.isfinite(d)
    assert d == pytest.approx(0.5 * np.log((0.5 + eps) / (1 + eps)) + 0.5 * np.log((0.5 + eps) / eps), rel=1e-12)
    assert np.isfinite(kl(t, s, eps=1e-12)) and kl(t, s, eps=1e-12) > d


def test_js_sym_kl_cosine_references_and_symmetry():
    rng = np.random.default_rng(2)
    t, s = rng.dirichlet(np.ones(9), size=2)
    assert js(t, s, eps=0.0) == pytest.approx(jensenshannon(t, s) ** 2, rel=1e-10)
    assert js(t, s) == pytest.approx(js(s, t))
    assert sym_kl(t, s) == pytest.approx(0.5 * (entropy(t, s) + entropy(s, t)), abs=1e-6)
    assert cosine(t, s) == pytest.approx(scipy_cosine(t, s))
    assert cosine(t, 3 * t) == pytest.approx(0.0, abs=1e-12)


def test_coverage_by_hand():
    w_t = np.array([0.7, 0.2, 0.1])
    p_t = np.array([0.5, 0.3, 0.2])
    p_s = np.array([0.2, 0.4, 0.4])
    # only block 0 lacks mass in the source: 0.7 * (0.5 - 0.2) / 0.5
    assert coverage(w_t, p_t, p_s) == pytest.approx(0.7 * 0.3 / 0.5, rel=1e-7)
    assert coverage(w_t, p_t, p_t) == 0.0


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_pairwise_equals_pair_loop_and_ignores_padding(divergence):
    rng = np.random.default_rng(3)
    n_blocks = np.array([5, 8, 3])
    mask = np.arange(8)[None, :] < n_blocks[:, None]
    p = np.zeros((3, 4, 8))
    for m, l in enumerate(n_blocks):
        p[m, :, :l] = rng.dirichlet(np.ones(l), size=4)
    w = block_importance(p, 2.0, mask=mask[:, None, :])
    d = pairwise_divergence(divergence, w=w, p=p)
    assert d.shape == (3, 4, 4)
    single = {
        "kl": lambda s, t, m, n: kl(w[m, t, :n], w[m, s, :n]),
        "coverage": lambda s, t, m, n: coverage(w[m, t, :n], p[m, t, :n], p[m, s, :n]),
        "js": lambda s, t, m, n: js(w[m, t, :n], w[m, s, :n]),
        "sym_kl": lambda s, t, m, n: sym_kl(w[m, t, :n], w[m, s, :n]),
        "cosine": lambda s, t, m, n: cosine(p[m, t, :n], p[m, s, :n]),
    }[divergence]
    for m, n in enumerate(n_blocks):
        for s in range(4):
            for t in range(4):
                assert d[m, s, t] == pytest.approx(single(s, t, m, n), abs=1e-12)
    np.testing.assert_allclose(np.einsum("mss->ms", d), 0.0, atol=1e-12)
    if divergence in SYMMETRIC_DIVERGENCES:
        np.testing.assert_allclose(d, np.swapaxes(d, 1, 2), atol=1e-12)
    else:
        assert np.abs(d - np.swapaxes(d, 1, 2)).max() > 1e-6


def test_symmetric_divergences_are_named():
    assert set(SYMMETRIC_DIVERGENCES) == {"js", "sym_kl", "cosine"} and set(SYMMETRIC_DIVERGENCES) < set(DIVERGENCES)
    assert DIVERGENCES[0] == "kl"


def test_divergence_between_dispatches_and_broadcasts():
    rng = np.random.default_rng(4)
    p_t, p_s = rng.dirichlet(np.ones(6), size=(2, 3)), rng.dirichlet(np.ones(6), size=(1, 3))
    w_t, w_s = block_importance(p_t, 2.0), block_importance(p_s, 2.0)
    args = dict(w_t=w_t, w_s=w_s, p_t=p_t, p_s=p_s)
    assert divergence_between("kl", **args).shape == (2, 3)
    np.testing.assert_array_equal(divergence_between(**args), kl(w_t, w_s))  # kl is the default
    np.testing.assert_array_equal(divergence_between("coverage", **args), coverage(w_t, p_t, p_s))
    np.testing.assert_array_equal(divergence_between("js", **args), js(w_t, w_s))
    np.testing.assert_array_equal(divergence_between("sym_kl", **args), sym_kl(w_t, w_s))
    np.testing.assert_array_equal(divergence_between("cosine", p_t=p_t, p_s=p_s), cosine(p_t, p_s))
    assert divergence_between("kl", w_t=w_t, w_s=w_s, eps=0.0)[0, 0] == pytest.approx(entropy(w_t[0, 0], w_s[0, 0]))
    with pytest.raises(ValueError, match="'coverage' needs p_s"):
        divergence_between("coverage", w_t=w_t, p_t=p_t)
    with pytest.raises(ValueError, match="'kl' needs w_s"):
        divergence_between("kl", w_t=w_t, p_s=p_s)
    with pytest.raises(ValueError, match="unknown divergence 'l1'"):
        divergence_between("l1", **args)


def test_pairwise_errors():
    with pytest.raises(ValueError, match="needs importances"):
        pairwise_divergence("kl")
    with pytest.raises(ValueError, match="shape"):
        pairwise_divergence("kl", w=np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match="NaN"):
        pairwise_divergence("kl", w=np.full((1, 2, 2), np.nan))
    with pytest.raises(ValueError, match="non-negative"):
        pairwise_divergence("cosine", p=-np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match="unknown divergence"):
        pairwise_divergence("wasserstein", w=np.ones((1, 2, 2)) / 2)
