"""Diagnostics (vlmsel.method.diagnostics): the split-half divergences against a loop by hand, and the
effective numbers of blocks (exp of the entropy) and of sources (inverse Simpson) against values by hand."""

from __future__ import annotations

import numpy as np
import pytest

from vlmsel.method.diagnostics import effective_blocks, effective_sources, split_half_divergences
from vlmsel.method.divergence import divergence_between
from vlmsel.method.importance import block_importance
from vlmsel.method.options import DIVERGENCES, MethodOptions
from vlmsel.method.similarity import softmin_weights
from vlmsel.profiles.pooling import task_profile


def _tasks(seed=0, n_tasks=3, n_images=9, n_blocks=6):
    rng = np.random.default_rng(seed)
    return [rng.gamma(2.0, size=(n_images, n_blocks)) * rng.uniform(0.2, 3.0, n_blocks) for _ in range(n_tasks)]


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_shape_diagonal_and_determinism(divergence):
    c = _tasks()
    d = split_half_divergences(c, n_splits=20, seed=3, divergence=divergence)
    assert d.shape == (20, 3, 3)
    assert np.isfinite(d).all()
    assert (np.einsum("rtt->rt", d) >= -1e-9).all()
    np.testing.assert_array_equal(d, split_half_divergences(c, n_splits=20, seed=3, divergence=divergence))
    np.testing.assert_array_equal(
        d, split_half_divergences(c, n_splits=20, seed=np.random.default_rng(3), divergence=divergence)
    )
    assert not np.array_equal(d, split_half_divergences(c, n_splits=20, seed=4, divergence=divergence))


def test_equals_a_loop_by_hand():
    c = _tasks(seed=1, n_tasks=2, n_images=7, n_blocks=5)
    c[1] = -c[1]  # signed scalars: their absolute values are pooled
    opts = MethodOptions(eta=1.5, divergence="js")
    got = split_half_divergences(c, n_splits=4, seed=11, options=opts)
    rng = np.random.default_rng(11)
    perms = [rng.permutation(7) for _ in range(4)]
    for r, perm in enumerate(perms):
        a, b = perm[:3], perm[3:]  # N // 2 images in half A, the rest in half B
        for s in range(2):
            w_a = block_importance(task_profile(np.abs(c[s])[a]), 1.5)
            for t in range(2):
                w_b = block_importance(task_profile(np.abs(c[t])[b]), 1.5)
                expected = divergence_between("js", w_t=w_b, w_s=w_a)
                assert got[r, s, t] == pytest.approx(float(expected), abs=1e-13)


def test_halves_of_one_task_are_closer_than_two_tasks():
    rng = np.random.default_rng(2)
    base = [np.array([1.0, 1, 1, 1, 6, 6]), np.array([6.0, 6, 1, 1, 1, 1])]
    c = [b * rng.uniform(0.8, 1.2, size=(20, 6)) for b in base]
    d = split_half_divergences(c, n_splits=10, seed=0).mean(axis=0)
    assert d[0, 0] < d[0, 1] and d[1, 1] < d[1, 0]


def test_bad_block_scalars():
    with pytest.raises(ValueError, match="N >= 2 images"):
        split_half_divergences([np.ones((1, 4))])
    with pytest.raises(TypeError, match="unknown method option"):
        split_half_divergences(_tasks(), n_splits=2, temperature=1.0)


def test_effective_numbers_by_hand():
    for n in (1, 2, 5, 12):
        assert effective_blocks(np.full(n, 1.0 / n)) == pytest.approx(n)
        assert effective_sources(np.full((n, 1), 1.0 / n))[0] == pytest.approx(n)
    assert effective_blocks(np.array([0.0, 1.0, 0.0])) == 1.0
    assert effective_sources(np.array([[0.0], [1.0], [0.0]]))[0] == 1.0
    # H = 0.5 log 2 + 2 * 0.25 log 4 = 1.5 log 2, so exp(H) = 2 ** 1.5; 1 / (1/4 + 1/16 + 1/16) = 8 / 3
    w = np.array([0.5, 0.25, 0.25])
    assert effective_blocks(w) == pytest.approx(2**1.5, rel=1e-14)
    assert effective_sources(w, axis=0) == pytest.approx(8 / 3, rel=1e-14)


def test_effective_blocks_shapes_and_padding():
    w = np.array([[[0.5, 0.25, 0.25, 0.0], [0.25, 0.25, 0.25, 0.25]]])  # (1, 2, L); the first padded
    np.testing.assert_allclose(effective_blocks(w), [[2**1.5, 4.0]], rtol=1e-14)
    np.testing.assert_allclose(effective_blocks(np.moveaxis(w, -1, 0), axis=0), [[2**1.5, 4.0]], rtol=1e-14)
    n_eff = effective_blocks(np.random.default_rng(0).dirichlet(np.ones(6), size=(3, 4)))
    assert n_eff.shape == (3, 4) and ((n_eff >= 1) & (n_eff <= 6)).all()


def test_effective_sources():
    one_hot = np.zeros((3, 7, 4))
    one_hot[:, 2, :] = 1.0
    np.testing.assert_allclose(effective_sources(one_hot), 1.0)
    assert effective_sources(one_hot).shape == (3, 4)
    np.testing.assert_allclose(effective_sources(np.full((2, 5), 0.2), axis=-1), 5.0)
    # softmin weights lie between the two
    alpha = softmin_weights(np.random.default_rng(0).random((2, 6, 3)), 5.0)
    n_eff = effective_sources(alpha)
    assert ((n_eff >= 1 - 1e-12) & (n_eff <= 6 + 1e-12)).all() and n_eff.shape == (2, 3)
