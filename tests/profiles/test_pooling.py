"""Task profiles (vlmsel.profiles.pooling): pooling by hand, the padded container, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from vlmsel.profiles.pooling import POOLINGS, Profiles, normalise_per_image, pool_resamples, task_profile


def test_mean_of_normalised_by_hand():
    c = np.array([[1.0, 3.0], [2.0, 2.0]])
    # image 1 -> (0.25, 0.75), image 2 -> (0.5, 0.5); mean -> (0.375, 0.625)
    np.testing.assert_allclose(task_profile(c), [0.375, 0.625])
    np.testing.assert_allclose(normalise_per_image(c).sum(axis=1), 1.0)


def test_normalised_mean_weighs_images_by_their_mass():
    c = np.array([[1.0, 3.0], [20.0, 20.0]])
    # mean of raw (10.5, 11.5) / 22
    np.testing.assert_allclose(task_profile(c, "normalised_mean"), [10.5 / 22, 11.5 / 22])
    assert not np.allclose(task_profile(c, "normalised_mean"), task_profile(c))


@pytest.mark.parametrize("pooling", POOLINGS)
def test_pool_resamples_pools_each_resample_like_task_profile(pooling):
    rng = np.random.default_rng(4)
    c = rng.random((9, 5)) * rng.uniform(0.1, 5, size=(9, 1))
    idx = rng.integers(0, 9, size=(6, 4))  # with repeats, as a bootstrap draws them
    p = pool_resamples(c, idx, pooling)
    assert p.shape == (6, 5)
    for b in range(6):
        np.testing.assert_allclose(p[b], task_profile(c[idx[b]], pooling), rtol=1e-12)
    np.testing.assert_allclose(pool_resamples(c, np.arange(9), pooling)[0], task_profile(c, pooling), rtol=1e-12)
    with pytest.raises(ValueError, match="unknown pooling"):
        pool_resamples(c, idx, "median")


def test_profile_is_invariant_to_per_image_scale_only_for_mean_of_normalised():
    rng = np.random.default_rng(0)
    c = rng.random((25, 12))
    scaled = c * rng.uniform(0.1, 10, size=(25, 1))
    np.testing.assert_allclose(task_profile(scaled), task_profile(c))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[1.0, -0.5]]), "non-negative"),
        (np.array([1.0, 2.0]), "shape"),
        (np.zeros((2, 3)), "zero conductance"),
        (np.zeros((0, 3)), "empty"),
    ],
)
def test_bad_block_scalars_raise_with_names(bad, match):
    with pytest.raises(ValueError, match=match) as err:
        task_profile(bad, model="RN50 openai", dataset="cars")
    assert "RN50 openai" in str(err.value) and "cars" in str(err.value)


def test_unknown_pooling():
    with pytest.raises(ValueError, match="unknown pooling"):
        task_profile(np.ones((2, 2)), "median")


def _rand_profiles(rng, d, l):
    return rng.dirichlet(np.ones(l), size=d)


def test_from_dict_pads_and_round_trips():
    rng = np.random.default_rng(1)
    raw = {"a": _rand_profiles(rng, 3, 4), "b": _rand_profiles(rng, 3, 7)}
    p = Profiles.from_dict(raw, ["x", "y", "z"])
    assert p.shape == (2, 3, 7) and list(p.n_blocks) == [4, 7]
    np.testing.assert_array_equal(p.values[0, :, 4:], 0.0)
    np.testing.assert_allclose(p.profile("a", "y"), raw["a"][1])
    assert p.mask.shape == (2, 1, 7) and p.mask[0, 0].sum() == 4
    sub = p.subset(["a"], ["z", "x"])
    assert sub.shape == (1, 2, 4)
    np.testing.assert_allclose(sub.values[0, 0], raw["a"][2])
    with pytest.raises(KeyError, match="dataset 'w'"):
        p.subset(datasets=["w"])


def test_from_block_scalars_pools_each_pair():
    rng = np.random.default_rng(2)
    scalars = {"a": {"x": rng.random((5, 3)), "y": rng.random((5, 3))}}
    p = Profiles.from_block_scalars(scalars, ["x", "y"])
    np.testing.assert_allclose(p.profile("a", "x"), task_profile(scalars["a"]["x"]))
    scalars["a"]["y"] = rng.random((5, 4))
    with pytest.raises(ValueError, match="different block counts"):
        Profiles.from_block_scalars(scalars, ["x", "y"])


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda v: v.__setitem__((0, 1, 0), np.nan), "NaN"),
        (lambda v: v.__setitem__((0, 1, slice(0, 2)), [-0.1, 1.1]), "negative"),
        (lambda v: v.__setitem__((0, 1, 0), v[0, 1, 0] + 0.5), "sums to"),
        (lambda v: v.__setitem__((0, 1, 5), 0.1), "padded block"),
    ],
)
def test_profiles_validation_names_model_and_dataset(mutate, match):
    rng = np.random.default_rng(3)
    good = Profiles.from_dict({"a": _rand_profiles(rng, 2, 4), "b": _rand_profiles(rng, 2, 6)}, ["x", "y"])
    values = good.values.copy()
    mutate(values)
    with pytest.raises(ValueError, match=match) as err:
        Profiles(values, good.n_blocks, good.models, good.datasets)
    assert "'a'" in str(err.value) and "'y'" in str(err.value)


def test_profiles_shape_errors():
    with pytest.raises(ValueError, match="shape"):
        Profiles.from_dict({"a": np.ones(3) / 3}, ["x"])
    with pytest.raises(ValueError, match="n_datasets=2"):
        Profiles.from_dict({"a": np.ones((3, 2)) / 2}, ["x", "y"])
    with pytest.raises(ValueError, match="n_models, n_datasets, L_max"):
        Profiles(np.ones((2, 2)), np.array([2, 2]), ("a", "b"), ("x", "y"))
    with pytest.raises(ValueError, match="n_blocks"):
        Profiles(np.ones((1, 1, 2)) / 2, np.array([3]), ("a",), ("x",))
