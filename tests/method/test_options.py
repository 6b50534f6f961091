"""The method's options (vlmsel.method.options): defaults, validation naming the option, resolve()
overrides, and options passed as a dataclass or as keywords giving the same scores."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from vlmsel.conductance.options import SCALARS
from vlmsel.method import options as O
from vlmsel.method.aggregation import utilities
from vlmsel.method.options import MethodOptions, resolve
from vlmsel.method.scoring import dcd_scores
from vlmsel.profiles.pooling import POOLINGS


def test_defaults():
    o = MethodOptions()
    assert (o.eta, o.gamma, o.eps) == (2.0, 5.0, 1e-8) == (O.DEFAULT_ETA, O.DEFAULT_GAMMA, O.DEFAULT_EPS)
    assert (o.scalar, o.pooling, o.importance, o.divergence, o.utility) == (
        "abs",
        "mean_of_normalised",
        "softmax_z",
        "kl",
        "rank",
    )
    assert o.source_images == O.DEFAULT_SOURCE_IMAGES == 25
    assert o.to_dict() == {
        "scalar": "abs",
        "pooling": "mean_of_normalised",
        "source_images": 25,
        "eta": 2.0,
        "importance": "softmax_z",
        "divergence": "kl",
        "eps": 1e-8,
        "gamma": 5.0,
        "softmin": "raw",
        "utility": "rank",
    }
    assert O.OPTION_NAMES == (
        "scalar",
        "pooling",
        "source_images",
        "eta",
        "importance",
        "divergence",
        "eps",
        "gamma",
        "softmin",
        "utility",
    )
    assert O.SOFTMINS == ("raw", "zscore")
    assert O.IMPORTANCES == ("softmax_z", "power") and O.UTILITIES == ("rank", "zscore_acc")
    assert O.DIVERGENCES == ("kl", "coverage", "js", "sym_kl", "cosine")
    assert set(O.SYMMETRIC_DIVERGENCES) == {"js", "sym_kl", "cosine"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.eta = 3.0  # type: ignore[misc]


def test_numbers_are_stored_as_floats():
    o = MethodOptions(eta=4, gamma=0, eps=0)
    assert (o.eta, o.gamma, o.eps) == (4.0, 0.0, 0.0) and all(type(v) is float for v in (o.eta, o.gamma, o.eps))


@pytest.mark.parametrize(
    "name, choices",
    [
        ("scalar", SCALARS),
        ("pooling", POOLINGS),
        ("importance", O.IMPORTANCES),
        ("divergence", O.DIVERGENCES),
        ("utility", O.UTILITIES),
    ],
)
def test_every_choice_is_accepted_and_others_are_named(name, choices):
    for value in choices:
        assert getattr(MethodOptions(**{name: value}), name) == value
    with pytest.raises(ValueError, match=rf"unknown {name} 'nope'; choose one of {choices[0]}"):
        MethodOptions(**{name: "nope"})


@pytest.mark.parametrize("name", ["eta", "gamma", "eps"])
@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "2", True, None])
def test_bad_numbers_are_named(name, bad):
    with pytest.raises(ValueError, match=rf"option {name} must be a finite number >= 0"):
        MethodOptions(**{name: bad})


def test_source_images_is_a_positive_integer_or_none():
    assert MethodOptions(source_images=None).source_images is None
    assert MethodOptions(source_images=np.int64(7)).source_images == 7
    for bad in (0, -3, 2.5, "25", True):
        with pytest.raises(ValueError, match="option source_images must be an integer >= 1 or None"):
            MethodOptions(source_images=bad)


def test_resolve_overrides_and_rejects_unknown_names():
    base = MethodOptions(eta=4.0, divergence="js")
    assert resolve() == MethodOptions() and resolve(None) == MethodOptions()
    assert resolve(base) is base  # nothing to change
    assert resolve(base, gamma=1.0) == MethodOptions(eta=4.0, divergence="js", gamma=1.0)
    assert resolve(base, eta=None, gamma=None) is base  # None means "not given"
    assert resolve(None, eta=3) == MethodOptions(eta=3.0)
    assert base.replace(divergence="kl") == MethodOptions(eta=4.0)
    assert base == MethodOptions(eta=4.0, divergence="js")  # frozen: replace made a copy
    with pytest.raises(TypeError, match=r"unknown method option\(s\) \['temperature'\]"):
        resolve(base, temperature=2.0)
    with pytest.raises(TypeError, match="options must be MethodOptions, not dict"):
        resolve({"eta": 2.0})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="option gamma must be"):
        resolve(base, gamma=-1.0)  # overrides are validated like new options
    with pytest.raises(ValueError, match="unknown divergence"):
        base.replace(divergence="l2")


def test_gamma_zero_by_options_or_keyword_is_the_average_rank_baseline(random_world):
    """gamma = 0: uniform weights over the sources, whatever the profiles: the average-rank baseline."""
    from vlmsel.evaluation.baselines import AvgRank
    from vlmsel.evaluation.harness import LeaveOneOutTask

    prof, acc = random_world(n_models=7, datasets=("a", "b", "c", "d", "t"))
    src = acc.drop(columns="t")
    by_options = dcd_scores(prof, src, "t", options=MethodOptions(gamma=0))
    by_keyword = dcd_scores(prof, src, "t", gamma=0)
    pd.testing.assert_series_equal(by_options, by_keyword)
    task = LeaveOneOutTask(target="t", models=tuple(src.index), sources=tuple(src.columns), source_acc=src.to_numpy())
    np.testing.assert_allclose(by_options.to_numpy(), AvgRank().predict(task), rtol=1e-12)
    np.testing.assert_allclose(by_options.to_numpy(), utilities(src.to_numpy()).mean(axis=1), rtol=1e-12)
    assert not np.allclose(dcd_scores(prof, src, "t"), by_options)  # gamma > 0 weighs the sources
