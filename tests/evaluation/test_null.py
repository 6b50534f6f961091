"""The permutation null of DCD's source weights and paired differences between methods."""

import numpy as np
import pandas as pd
import pytest

from vlmsel.evaluation.baselines import AvgRank
from vlmsel.evaluation.dcd import DcdMethod
from vlmsel.evaluation.harness import evaluate
from vlmsel.evaluation.null import paired_differences, permutation_null
from vlmsel.profiles.pooling import Profiles

DATASETS = ("a1", "a2", "b1", "b2", "c1", "c2")


def test_observed_equals_the_harness_and_gamma_zero_has_no_spread(random_world):
    prof, acc = random_world(seed=3, n_models=7, datasets=DATASETS)
    method = DcdMethod(prof, gamma=5.0)
    res = evaluate(acc, method, n_boot=50)
    null = permutation_null(acc, DcdMethod(prof, gamma=5.0), n_shuffles=40, seed=1)
    for m in ("r5", "ndcg5", "tau_b", "top1_regret"):
        assert null.observed[m] == pytest.approx(res.mean(m))
    assert null.n == 40 and list(null.targets) == list(DATASETS)
    # gamma = 0 ignores the divergences: every shuffle is the method itself
    flat = permutation_null(acc, DcdMethod(prof, gamma=0.0), n_shuffles=20)
    summary = flat.summary()
    assert (summary["null_sd"] < 1e-12).all() and (summary["share_at_least"] == 1.0).all()
    assert summary.loc["ndcg5", "p"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="nested"):
        permutation_null(acc, DcdMethod(prof, nested=True), n_shuffles=5)


def test_informative_divergences_beat_their_shuffles():
    """Pairs of datasets share a profile and a ground truth; the rest disagree. DCD with a sharp softmin picks
    the twin source, so its mean beats nearly every shuffle."""
    rng = np.random.default_rng(0)
    models = [f"m{i}" for i in range(8)]
    profiles, acc = {}, {}
    for m in models:
        base = rng.dirichlet(np.ones(6), size=3)
        profiles[m] = np.repeat(base, 2, axis=0)  # a1 = a2, b1 = b2, c1 = c2
    truth = rng.random((8, 3))
    for j, d in enumerate(DATASETS):
        acc[d] = truth[:, j // 2] + 1e-3 * rng.standard_normal(8)
    prof = Profiles.from_dict(profiles, DATASETS)
    wide = pd.DataFrame(acc, index=models)
    null = permutation_null(wide, DcdMethod(prof, gamma=50.0), n_shuffles=200, seed=0)
    assert null.observed["tau_b"] > 0.9
    assert null.share_at_least("tau_b") < 0.05 and null.p_value("tau_b") < 0.05
    assert null.null["tau_b"].mean() < 0.5
    text = null.format()
    assert "200 shuffles" in text and "share_at_least" in text


def test_paired_differences(random_world):
    prof, acc = random_world(seed=5, n_models=7, datasets=DATASETS)
    a = evaluate(acc, DcdMethod(prof), n_boot=50)
    b = evaluate(acc, AvgRank(), n_boot=50)
    diff = paired_differences(a, b, n_boot=200)
    for m in ("ndcg5", "tau_b"):
        want = (a.per_target[m] - b.per_target[m]).mean()
        assert diff.loc[m, "mean"] == pytest.approx(want)
        assert diff.loc[m, "ci_low"] <= want <= diff.loc[m, "ci_high"]
        d = a.per_target[m] - b.per_target[m]
        assert diff.loc[m, "a_wins"] == (d > 0).sum() and diff.loc[m, "b_wins"] == (d < 0).sum()
    d = a.per_target["top1_regret"] - b.per_target["top1_regret"]
    assert diff.loc["top1_regret", "a_wins"] == (d < 0).sum()  # lower regret wins
