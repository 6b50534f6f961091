"""The end-to-end selection method (vlmsel.method.scoring): dcd_scores by hand, options and keyword
overrides, the vectorised TargetScorer against dcd_scores, pairwise divergences against the dispatcher,
and argument checks. (Agreement with the harness's DCD method is in tests/evaluation/test_dcd.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vlmsel.method.aggregation import utilities
from vlmsel.method.divergence import divergence_between, kl, pairwise_divergence
from vlmsel.method.importance import block_importance
from vlmsel.method.options import DIVERGENCES, MethodOptions
from vlmsel.method.scoring import TargetScorer, dataset_divergences, dcd_scores, weighted_scores
from vlmsel.profiles.pooling import Profiles, task_profile


def test_dcd_scores_by_hand(random_world):
    prof, acc = random_world()
    sources = ["s1", "s2", "s3"]
    got = dcd_scores(prof, acc[sources], "t", eta=2.0, gamma=5.0)
    u = utilities(acc[sources].to_numpy())
    for i, m in enumerate(acc.index):
        w = {d: block_importance(prof.profile(m, d), 2.0) for d in prof.datasets}
        d = np.array([kl(w["t"], w[s]) for s in sources])
        alpha = np.exp(-5.0 * d) / np.exp(-5.0 * d).sum()
        assert got[m] == pytest.approx(alpha @ u[i], rel=1e-12)


def test_options_and_keyword_overrides_agree(random_world):
    prof, acc = random_world(seed=2)
    src = acc[["s1", "s2", "s3"]]
    default = dcd_scores(prof, src, "t")
    pd.testing.assert_series_equal(default, dcd_scores(prof, src, "t", MethodOptions()))
    pd.testing.assert_series_equal(default, dcd_scores(prof, src, "t", eta=2.0, gamma=5.0, eps=1e-8))
    opts = MethodOptions(eta=1.0, divergence="js", utility="zscore_acc")
    pd.testing.assert_series_equal(
        dcd_scores(prof, src, "t", opts), dcd_scores(prof, src, "t", eta=1.0, divergence="js", utility="zscore_acc")
    )
    # a keyword overrides the options it is given with
    pd.testing.assert_series_equal(
        dcd_scores(prof, src, "t", opts, eta=4.0),
        dcd_scores(prof, src, "t", eta=4.0, divergence="js", utility="zscore_acc"),
    )
    assert not np.allclose(dcd_scores(prof, src, "t", opts, eta=4.0), dcd_scores(prof, src, "t", opts))
    with pytest.raises(TypeError, match="unknown method option"):
        dcd_scores(prof, src, "t", temperature=3.0)


def test_dcd_scores_refuses_the_target_as_source(random_world):
    prof, acc = random_world()
    with pytest.raises(ValueError, match="contains the target 't'"):
        dcd_scores(prof, acc, "t")


def test_dataset_divergences_shape_and_cosine_ignores_eta(random_world):
    prof, _ = random_world()
    d = dataset_divergences(prof)
    assert d.shape == (6, 4, 4)
    np.testing.assert_allclose(np.einsum("mss->ms", d), 0.0, atol=1e-12)
    assert (d[:, ~np.eye(4, dtype=bool)] > 0).all()
    np.testing.assert_array_equal(
        dataset_divergences(prof, eta=1.0, divergence="cosine"), dataset_divergences(prof, eta=8.0, divergence="cosine")
    )
    np.testing.assert_array_equal(dataset_divergences(prof, MethodOptions(eta=1.0)), dataset_divergences(prof, eta=1.0))
    assert not np.allclose(dataset_divergences(prof, eta=1.0), dataset_divergences(prof, eta=8.0))


@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_pairwise_divergence_equals_a_loop_over_divergence_between(divergence, random_world):
    prof, _ = random_world(seed=4)
    w = block_importance(prof.values, 2.0, mask=prof.mask)
    p = prof.values
    d = pairwise_divergence(divergence, w=w, p=p)
    n_m, n_d, _ = p.shape
    for m in range(n_m):
        for s in range(n_d):
            for t in range(n_d):
                one = divergence_between(divergence, w_t=w[m, t], w_s=w[m, s], p_t=p[m, t], p_s=p[m, s])
                assert d[m, s, t] == pytest.approx(float(one), abs=1e-12)


def _block_scalars(seed=5, n_models=4, n_images=7, sources=("s1", "s2", "s3")):
    """Per-image block scalars of a zoo on some sources and on a target (different block counts)."""
    rng = np.random.default_rng(seed)
    models = [f"m{i}" for i in range(n_models)]
    blocks = rng.integers(3, 9, n_models)
    scalars = {
        m: {d: rng.gamma(2.0, size=(n_images, int(l))) * rng.uniform(0.5, 2.0, int(l)) for d in (*sources, "target")}
        for m, l in zip(models, blocks)
    }
    acc = pd.DataFrame(rng.random((n_models, len(sources))), index=models, columns=list(sources))
    return scalars, acc, list(sources)


@pytest.mark.parametrize("divergence", DIVERGENCES)
@pytest.mark.parametrize("pooling", ["mean_of_normalised", "normalised_mean"])
def test_target_scorer_on_all_images_equals_dcd_scores(divergence, pooling):
    scalars, acc, sources = _block_scalars()
    options = MethodOptions(divergence=divergence, pooling=pooling, eta=1.5, gamma=3.0)
    src = Profiles.from_block_scalars({m: {d: s[d] for d in sources} for m, s in scalars.items()}, sources, pooling)
    scorer = TargetScorer(src, acc, options)
    n = 7
    target = [scalars[m]["target"] for m in scorer.models]
    out = scorer.scores(target, np.arange(n)[None])
    assert out["score"].shape == (4, 1) and out["alpha"].shape == out["divergence"].shape == (4, 1, 3)
    everything = Profiles.from_block_scalars(scalars, [*sources, "target"], pooling)
    expected = dcd_scores(everything, acc, "target", options)
    np.testing.assert_allclose(out["score"][:, 0], expected.loc[scorer.models].to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out["alpha"].sum(-1), 1.0, atol=1e-12)
    for m, model in enumerate(scorer.models):
        np.testing.assert_allclose(out["p"][m][0], task_profile(scalars[model]["target"], pooling), atol=1e-15)


def test_target_scorer_resamples_are_the_scores_of_the_resampled_images():
    scalars, acc, sources = _block_scalars(seed=6)
    src = Profiles.from_block_scalars({m: {d: s[d] for d in sources} for m, s in scalars.items()}, sources)
    scorer = TargetScorer(src, acc, gamma=2.0)
    idx = np.random.default_rng(0).integers(0, 7, size=(5, 7))  # bootstrap resamples, with repeats
    out = scorer.scores([scalars[m]["target"] for m in scorer.models], idx)
    assert out["score"].shape == (4, 5)
    for b in range(5):
        one = {m: {**{d: s[d] for d in sources}, "target": s["target"][idx[b]]} for m, s in scalars.items()}
        expected = dcd_scores(Profiles.from_block_scalars(one, [*sources, "target"]), acc, "target", gamma=2.0)
        np.testing.assert_allclose(out["score"][:, b], expected.loc[scorer.models], atol=1e-12)


def test_weighted_scores_with_sources_last():
    rng = np.random.default_rng(7)
    d = rng.random((3, 4, 5))  # (M, S, T)
    u = rng.random((3, 4))
    scores, alpha = weighted_scores(d, u, 2.0)
    scores_last, alpha_last = weighted_scores(np.swapaxes(d, 1, 2), u, 2.0, axis=-1)  # (M, B, S)
    np.testing.assert_allclose(scores_last, scores, atol=1e-12)
    np.testing.assert_allclose(np.swapaxes(alpha_last, 1, 2), alpha, atol=1e-12)
