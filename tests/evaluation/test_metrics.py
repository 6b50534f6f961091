"""Ranking metrics (vlmsel.evaluation.metrics): scipy / sklearn references, LOVM's definitions on hand-worked cases
with ties, the random baseline's exact expectations, and the bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau
from sklearn.metrics import ndcg_score

from vlmsel.evaluation import metrics as M


# ------------------------------------------------------------------------------------ references
@pytest.mark.parametrize("seed", range(30))
def test_kendall_tau_b_matches_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 60))
    x = np.round(rng.random(n), 1)  # many ties
    y = np.round(x + rng.normal(0, 0.3, n), 1)
    expected = kendalltau(x, y).statistic
    got = M.kendall_tau_b(x, y)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-12)


def test_kendall_tau_b_undefined_for_constant_vector():
    assert np.isnan(M.kendall_tau_b([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert np.isnan(kendalltau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]).statistic)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_ndcg_matches_sklearn_with_and_without_ties(seed, k):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 50))
    gain = rng.random(n)
    score = np.round(rng.random(n), 1) if seed % 2 else rng.random(n)  # odd seeds: tied scores
    assert M.ndcg_at_k(gain, score, k) == pytest.approx(ndcg_score([gain], [score], k=k), abs=1e-12)


def test_ndcg_columns_equals_per_column():
    rng = np.random.default_rng(3)
    gain = rng.random((30, 12))
    score = np.round(rng.random((30, 12)), 1)
    score[:, :4] = rng.random((30, 4))  # some columns without ties
    expected = [ndcg_score([gain[:, j]], [score[:, j]], k=5) for j in range(12)]
    np.testing.assert_allclose(M.ndcg_columns(gain, score, 5), expected, atol=1e-12, rtol=0)


def test_ndcg_hand_worked_tie():
    # gains (3, 2, 1); the two best are tied in score and share positions 1-2: mean gain 2.5 each.
    gain, score = np.array([3.0, 2.0, 1.0]), np.array([1.0, 1.0, 0.0])
    d = 1 / np.log2(np.arange(3) + 2)
    expected = (2.5 * d[0] + 2.5 * d[1] + 1 * d[2]) / (3 * d[0] + 2 * d[1] + 1 * d[2])
    assert M.ndcg_at_k(gain, score, k=3) == pytest.approx(expected)
    assert M.ndcg_at_k(gain, np.array([3.0, 2.0, 1.0]), k=3) == pytest.approx(1.0)


def test_ndcg_rejects_negative_gain():
    with pytest.raises(ValueError, match="non-negative"):
        M.ndcg_at_k(np.array([0.5, -0.1]), np.array([1.0, 0.0]))


# ------------------------------------------------------------------------------------ LOVM's R5 and tau5
def lovm_reference(pred: np.ndarray, true: np.ndarray, models: list[str], k: int = 5) -> tuple[float, float]:
    """LOVM's get_acc / get_k_tau re-written with pandas from their description in the data README:
    sort descending, cut to the top k, overlap / k; tau of the pandas ranks (cast to int) of the common
    models, 0 when 2 or fewer are common. Models start in alphabetical order (LOVM's pivot tables) and a
    stable sort keeps that order among ties."""
    order = sorted(range(len(models)), key=lambda i: models[i])
    p = pd.Series(pred[order], index=[models[i] for i in order]).sort_values(ascending=False, kind="stable")[:k]
    t = pd.Series(true[order], index=[models[i] for i in order]).sort_values(ascending=False, kind="stable")[:k]
    r = sum(i in p.index for i in t.index) / len(t)
    merged = pd.merge(
        t.rename("v").rename_axis("m").reset_index(),
        p.rename("v").rename_axis("m").reset_index(),
        on="m",
        suffixes=("_true", "_pred"),
    )
    if len(merged) <= 2:
        return r, 0.0
    rt = merged["v_true"].rank(ascending=False).astype(int)
    rp = merged["v_pred"].rank(ascending=False).astype(int)
    return r, kendalltau(rt, rp).statistic


@pytest.mark.parametrize("seed", range(40))
def test_lovm_metrics_match_pandas_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 40))
    models = [f"m{rng.integers(1e6):06d}_{i}" for i in range(n)]
    true = np.round(rng.random(n), 2)
    pred = np.round(true + rng.normal(0, 0.2, n), 2)
    r, tau = lovm_reference(pred, true, models)
    assert M.lovm_r5(pred, true, models) == pytest.approx(r)
    got = M.lovm_tau5(pred, true, models)
    assert (np.isnan(got) and np.isnan(tau)) or got == pytest.approx(tau, abs=1e-12)


def test_lovm_hand_worked_with_ties():
    models = ["a", "b", "c", "d", "e", "f", "g"]
    true = np.array([0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4])
    # predicted top 5: g, a, c, b, e (d and f left out)
    pred = np.array([0.95, 0.7, 0.8, 0.1, 0.6, 0.2, 0.99])
    # true top 5 = a, b, c, d, e; common = a, b, c, e -> R5 = 4/5
    assert M.lovm_r5(pred, true, models) == pytest.approx(0.8)
    # true ranks among common: a 1, b 2.5 -> 2, c 2.5 -> 2, e 4; predicted ranks: a 1, c 2, b 3, e 4
    # pairs (a,b) C, (a,c) C, (a,e) C, (b,c) tied in true, (b,e) C, (c,e) C: tau_b = 5 / sqrt(5 * 6)
    assert M.lovm_tau5(pred, true, models) == pytest.approx(5 / np.sqrt(30))
    assert M.lovm_tau5(pred, true, models) == pytest.approx(kendalltau([1, 2, 2, 4], [1, 3, 2, 4]).statistic)


def test_lovm_tau_zero_with_two_common_and_ties_broken_by_name():
    models = ["a", "b", "c", "d", "e", "f", "g", "h"]
    true = np.array([8, 7, 6, 5, 4, 3, 2, 1.0])
    pred = np.array([8, 7, 0, 0, 0, 9, 9, 9.0])  # top 5 by pred: f, g, h, a, b
    assert M.lovm_r5(pred, true, models) == pytest.approx(2 / 5)
    assert M.lovm_tau5(pred, true, models) == 0.0
    # a tie at the cut: c, d, e all score 5; names decide, so c and d make the top 5
    pred2 = np.array([9, 8, 5, 5, 5, 1, 1, 1.0])
    np.testing.assert_array_equal(M.top_k(pred2, models, 5), [0, 1, 2, 3, 4])
    reversed_names = ["h", "g", "f", "e", "d", "c", "b", "a"]  # now e's name sorts before c's and d's
    np.testing.assert_array_equal(M.top_k(pred2, reversed_names, 5), [0, 1, 4, 3, 2])


def test_lovm_tau_nan_when_ranks_constant():
    models = list("abcdef")
    true = np.array([1.0, 1.0, 1.0, 0.2, 0.1, 0.0])  # the common models are all tied in truth
    pred = np.array([0.9, 0.8, 0.7, 0.0, 0.0, 0.0])
    assert np.isnan(M.lovm_tau5(pred, true, models, k=3))


# ------------------------------------------------------------------------------------ other metrics
def test_top1_regret_and_minmax():
    models = ["a", "b", "c"]
    true = np.array([0.5, 0.9, 0.7])
    assert M.top1_regret(np.array([3.0, 1.0, 2.0]), true, models) == pytest.approx(0.4)
    assert M.top1_regret(np.array([1.0, 3.0, 3.0]), true, models) == pytest.approx(0.0)  # tie b/c -> b
    np.testing.assert_allclose(M.minmax(true), [0.0, 1.0, 0.5])


def test_ranking_metrics_keys_and_perfect_prediction():
    rng = np.random.default_rng(0)
    true = rng.random(20)
    out = M.ranking_metrics(true * 2 + 1, true, k=5)
    assert list(out) == M.metric_names(5)
    assert out["r5"] == 1 and out["tau5"] == pytest.approx(1) and out["ndcg5"] == pytest.approx(1)
    assert out["tau_b"] == pytest.approx(1) and out["top1_regret"] == 0


def test_expected_random_metrics_match_monte_carlo():
    rng = np.random.default_rng(1)
    true = rng.random(12)
    exact = M.expected_random_metrics(true, k=5)
    n = 4000
    draws = pd.DataFrame([M.ranking_metrics(rng.random(12), true, k=5) for _ in range(n)])
    assert exact["r5"] == pytest.approx(5 / 12)
    for key in M.metric_names(5):
        se = draws[key].std() / np.sqrt(draws[key].notna().sum())
        assert abs(draws[key].mean() - exact[key]) < 4 * se + 1e-12, key


def test_metrics_table_aligns_dataframes():
    rng = np.random.default_rng(2)
    true = pd.DataFrame(rng.random((8, 3)), index=list("abcdefgh"), columns=["x", "y", "z"])
    pred = true.iloc[::-1, ::-1]  # same values, other order: perfect once aligned
    table = M.metrics_table(pred, true)
    assert list(table.index) == ["x", "y", "z"]
    assert (table["r5"] == 1).all()


# ------------------------------------------------------------------------------------ bootstrap
def test_bootstrap_is_seeded_and_brackets_the_mean():
    v = np.random.default_rng(0).random(23)
    a = M.bootstrap_ci(v, n_boot=2000, seed=5)
    assert a == M.bootstrap_ci(v, n_boot=2000, seed=5)
    assert a != M.bootstrap_ci(v, n_boot=2000, seed=6)
    mean, lo, hi = a
    assert mean == pytest.approx(v.mean()) and lo < mean < hi
    # the interval of a mean shrinks like 1/sqrt(n): compare with the normal approximation
    se = v.std(ddof=1) / np.sqrt(len(v))
    assert (hi - lo) == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_bootstrap_skips_nan_and_constant_has_zero_width():
    mean, lo, hi = M.bootstrap_ci(np.array([0.5, np.nan, 0.5, 0.5]), n_boot=500)
    assert (mean, lo, hi) == (0.5, 0.5, 0.5)
    assert all(np.isnan(M.bootstrap_ci(np.array([np.nan, np.nan]), n_boot=10)))


def test_summarise_columns():
    per_target = pd.DataFrame({"r5": [0.2, 0.4, np.nan], "tau5": [0.0, 1.0, 0.5]}, index=list("abc"))
    s = M.summarise(per_target, n_boot=200)
    assert list(s.columns) == ["mean", "ci_low", "ci_high", "n_targets"]
    assert s.loc["r5", "mean"] == pytest.approx(0.3) and s.loc["r5", "n_targets"] == 2


def test_selection_score_criteria():
    rng = np.random.default_rng(4)
    true = rng.random((10, 4))
    ranks = M.name_ranks([f"m{i}" for i in range(10)])
    assert M.selection_score(true, true, ranks, "ndcg5") == pytest.approx(1.0)
    assert M.selection_score(true, true, ranks, "r5+tau5") == pytest.approx(2.0)
    assert M.selection_score(-true, true, ranks, "tau_b") == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="unknown selection metric"):
        M.selection_score(true, true, ranks, "accuracy")


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="differ in length"):
        M.lovm_r5(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        M.ranking_metrics(np.array([1.0, np.nan]), np.array([0.5, 0.4]))
    with pytest.raises(ValueError, match="model names"):
        M.lovm_tau5(np.zeros(3), np.zeros(3), ["a", "b"])


def test_metric_labels_name_every_metric_column():
    for k in (3, 5, 10):
        labels = M.metric_labels(k)
        assert list(labels) == M.metric_names(k)
        assert len(set(labels.values())) == len(labels)
    labels = M.metric_labels()
    assert labels["r5"] == "R5" and labels["ndcg5"] == "NDCG@5 (gain: accuracy)"
    assert labels["ndcg5_minmax"] == "NDCG@5 (gain: min-max)" and "lower = better" in labels["top1_regret"]
    assert M.metric_labels(3)["ndcg3"] == "NDCG@3 (gain: accuracy)"
    assert M.K_DEFAULT == 5
