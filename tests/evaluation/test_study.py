"""The relabelling null (vlmsel.evaluation.null.relabelling_null), the nulls of the scale-free and model-agnostic
methods, the pre-registered decision rule (vlmsel.evaluation.study.decide) and one study end to end."""

from __future__ import annotations

import json
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from tests.evaluation.test_signals import (
    DATASETS,
    MODELS,
    twin_accuracies,
    write_entry,
    write_twin_world,
)
from vlmsel.evaluation.harness import Method, evaluate
from vlmsel.evaluation.methods import make_method
from vlmsel.evaluation.null import PermutationNull, permutation_null, relabelling_null
from vlmsel.evaluation.signals import SignalMethod
from vlmsel.evaluation.study import CANDIDATES, MARGIN, decide, run_study
from vlmsel.profiles.store import ProfileStore


@pytest.fixture(scope="module")
def twin_world(tmp_path_factory) -> tuple[ProfileStore, pd.DataFrame]:
    return write_twin_world(tmp_path_factory.mktemp("twins") / "store"), twin_accuracies()


@pytest.fixture(scope="module")
def flat_world(tmp_path_factory) -> tuple[ProfileStore, pd.DataFrame]:
    """Every dataset has the same arrays for a model: all sources are equally similar to every target."""
    return write_twin_world(tmp_path_factory.mktemp("flat") / "store", constant=True), twin_accuracies()


# ------------------------------------------------------------------------------ the relabelling null
def test_relabelling_null_rejects_an_informative_nested_signal(twin_world):
    store, acc = twin_world
    method = make_method("emb_cos_nested", profiles=store)
    result = evaluate(acc, method, n_boot=50)
    null = relabelling_null(acc, method, 30, 0)
    assert null.observed["ndcg5"] == pytest.approx(result.mean("ndcg5"))
    assert null.n == 30 and list(null.targets) == list(DATASETS)
    assert null.p_value("ndcg5") <= 0.1 and null.null["ndcg5"].mean() < null.observed["ndcg5"] - 0.05
    assert null.info["kind"] == "relabelling" and null.info["nested"] is True
    assert null.info["softmin"] == "zscore" and null.info["shared_permutation"] is False
    assert "relabelled" in null.format()


def test_relabelling_null_of_constant_divergences_is_the_method_itself(flat_world):
    store, acc = flat_world
    method = make_method("emb_cos_nested", profiles=store)
    method.fit(MODELS, DATASETS)
    d = method.source_divergences()
    assert np.ptp(d) < 1e-12  # the world is flat indeed (up to rounding)
    null = relabelling_null(acc, method, 15, 0)
    for metric in ("ndcg5", "tau_b", "top1_regret"):
        assert (null.null[metric] == null.observed[metric]).all(), metric
        assert null.p_value(metric) == 1.0, metric


def test_relabelling_null_restores_the_method_and_is_reproducible(twin_world):
    store, acc = twin_world
    method = make_method("emb_mmd_nested", profiles=store)
    before = evaluate(acc, method, n_boot=20)
    fitted = {eta: d.copy() for eta, d in method._divergences.items()}
    a = relabelling_null(acc, method, 12, seed=3)
    assert set(method._divergences) == set(fitted)
    for eta, d in fitted.items():
        np.testing.assert_array_equal(method._divergences[eta], d)
    after = evaluate(acc, method, n_boot=20)
    pd.testing.assert_frame_equal(after.predictions, before.predictions)
    pd.testing.assert_frame_equal(after.per_target, before.per_target)
    b = relabelling_null(acc, method, 12, seed=3)
    pd.testing.assert_frame_equal(a.null, b.null)
    c = relabelling_null(acc, method, 12, seed=4)
    assert not a.null.equals(c.null)
    with pytest.raises(ValueError, match="n_shuffles"):
        relabelling_null(acc, method, 0)


def test_fixed_methods_observed_agrees_with_the_harness_and_the_permutation_null(twin_world):
    """For a fixed setting the relabelling null is the permutation null: the same observed value, and the
    permutation null now uses the method's own (scale-free) softmin."""
    store, acc = twin_world
    method = SignalMethod(store, "emb_cos")
    result = evaluate(acc, method, n_boot=20)
    perm = permutation_null(acc, method, n_shuffles=30, seed=0)
    relab = relabelling_null(acc, method, 30, 0)
    for m in ("ndcg5", "tau_b", "top1_regret"):
        assert perm.observed[m] == pytest.approx(result.mean(m)) == pytest.approx(relab.observed[m])
    assert perm.info["softmin"] == "zscore" and perm.info["shared_permutation"] is False
    assert perm.p_value("ndcg5") <= 0.1 and relab.p_value("ndcg5") <= 0.1


@pytest.mark.parametrize("null_fn", ["permutation", "relabelling"])
def test_a_model_agnostic_method_is_shuffled_alike_for_every_model(twin_world, null_fn):
    """Target t with two sources: its twin (s_star's order) and b1 (the reverse). Whatever the shuffle, pixel_mmd
    puts ~98% of every model's weight on one shared source, so each null draw ranks t's models exactly as
    s_star or as b1 (tau_b = +1 or -1); emb_cos, shuffled independently per model, lands in between."""
    store, acc = twin_world
    three = acc[["t", "s_star", "b1"]]
    draws = {}
    for signal in ("pixel_mmd", "emb_cos"):
        method = SignalMethod(store, signal)
        if null_fn == "permutation":
            null = permutation_null(three, method, n_shuffles=30, seed=0, targets=["t"])
        else:
            null = relabelling_null(three, method, 30, 0, targets=["t"])
        assert null.observed["tau_b"] == pytest.approx(1.0)
        assert null.info["shared_permutation"] is (signal == "pixel_mmd")
        draws[signal] = null.null["tau_b"].to_numpy()
    np.testing.assert_allclose(np.abs(draws["pixel_mmd"]), 1.0)
    assert (draws["pixel_mmd"] < 0).any() and (draws["pixel_mmd"] > 0).any()
    assert (np.abs(draws["emb_cos"]) < 0.99).sum() >= 20


# ------------------------------------------------------------------------------ decide() on stubs
DECIDE_MODELS = [f"m{i}" for i in range(6)]
DECIDE_TARGETS = [f"d{j}" for j in range(8)]


def decide_benchmark() -> pd.DataFrame:
    """Per dataset, the accuracies (0.90, 0.88, 0.6, 0.5, 0.4, 0.2) in a seeded order over the models: the top
    two are close, the rest far apart."""
    rng = np.random.default_rng(0)
    base = np.array([0.90, 0.88, 0.6, 0.5, 0.4, 0.2])
    return pd.DataFrame({d: rng.permutation(base) for d in DECIDE_TARGETS}, index=DECIDE_MODELS)


def truth(b: list[int], target: str) -> list[int]:
    return b


def swap_top(b: list[int], target: str) -> list[int]:  # NDCG@5 ~0.997 but top-1 regret 0.02 on every target
    return [b[1], b[0], *b[2:]]


def swap_4_5(b: list[int], target: str) -> list[int]:  # NDCG@5 a little below 1, regret 0
    return [*b[:3], b[4], b[3], b[5]]


def dcd_like(b: list[int], target: str) -> list[int]:  # the right top-1, the rest reversed: NDCG@5 ~0.79
    return [b[0], *b[:0:-1]]


def reversed_(b: list[int], target: str) -> list[int]:
    return b[::-1]


def dcd_like_but_right_on_d0(b: list[int], target: str) -> list[int]:
    return b if target == "d0" else dcd_like(b, target)


class Reorder(Method):
    """A stub whose prediction for a target is its ground truth's order, rearranged by ``how``."""

    def __init__(self, name: str, wide: pd.DataFrame, how: Callable[[list[int], str], list[int]]) -> None:
        self.name, self.wide, self.how = name, wide, how

    def predict(self, task):
        true = self.wide.loc[list(task.models), task.target].to_numpy()
        order = self.how(list(np.argsort(-true, kind="stable")), task.target)
        scores = np.empty(len(true))
        scores[order] = np.arange(len(true), 0, -1, dtype=float)
        return scores


COSTS = {"dcd": 29.0, "dcd_z": 29.0, "dcd_z_nested": 29.0, "avg_rank": 0.0, "pixel_mmd_nested": 0.0}


def stub_results(spec: dict[str, Callable]) -> tuple[dict, pd.DataFrame]:
    wide = decide_benchmark()
    results = {name: evaluate(wide, Reorder(name, wide, how), n_boot=20) for name, how in spec.items()}
    costs = pd.DataFrame({"forward_passes_G": {n: COSTS.get(n, 1.0) for n in spec}})
    return results, costs


def stub_null(name: str, p_small: bool) -> PermutationNull:
    """A null whose p for NDCG@5 is 1/31 (every draw below 1) or 1 (every draw at 1)."""
    draws = pd.DataFrame({"ndcg5": np.full(30, 0.5 if p_small else 1.0)})
    return PermutationNull(name, DECIDE_TARGETS, {"ndcg5": 1.0}, draws, 0)


def test_the_stubs_score_as_intended():
    results, _ = stub_results({"t": truth, "s": swap_top, "d": dcd_like, "r": reversed_})
    nd = {n: r.per_target["ndcg5"] for n, r in results.items()}
    assert (nd["t"] == 1).all() and (nd["s"] > nd["d"]).all() and (nd["d"] > nd["r"]).all()
    np.testing.assert_allclose(results["s"].per_target["top1_regret"], 0.02)
    assert (results["d"].per_target["top1_regret"] == 0).all()


def test_step_1_picks_the_cheaper_of_two_tied_better_candidates():
    results, costs = stub_results(
        {"dcd": dcd_like, "emb_cos_nested": truth, "dcd_z_nested": truth, "neg_entropy": swap_top, "vega": reversed_}
    )
    nulls = {n: stub_null(n, p_small=True) for n in ("emb_cos_nested", "dcd_z_nested")}
    out = decide(results, nulls, costs, n_boot=200)
    assert (out["default"], out["step"]) == ("emb_cos_nested", 1)
    assert out["better"] == ["emb_cos_nested", "dcd_z_nested"]
    assert out["k"] == 4 and out["level"] == pytest.approx(1 - 0.05 / 4)
    rows = out["candidates"]
    assert rows["emb_cos_nested"]["delta_low"] > 0 and rows["emb_cos_nested"]["null_p"] == pytest.approx(1 / 31)
    # neg_entropy beats dcd on NDCG@5 on every target, but its top-1 regret is worse on every target: (ii) fails
    assert rows["neg_entropy"]["delta_low"] > 0 and rows["neg_entropy"]["regret_low"] > 0
    assert rows["neg_entropy"]["better"] is False
    assert rows["vega"]["better"] is False and rows["vega"]["delta_high"] < 0


def test_a_source_weighted_candidate_needs_its_null_to_win_step_1():
    spec = {"dcd": dcd_like, "msp": swap_4_5, "emb_cos_nested": truth}
    results, costs = stub_results(spec)
    good = decide(results, {"emb_cos_nested": stub_null("emb_cos_nested", True)}, costs, n_boot=200)
    assert (good["default"], good["step"]) == ("emb_cos_nested", 1)  # the highest mean
    bad = decide(results, {"emb_cos_nested": stub_null("emb_cos_nested", False)}, costs, n_boot=200)
    assert bad["candidates"]["emb_cos_nested"]["null_p"] == 1.0
    assert bad["candidates"]["emb_cos_nested"]["better"] is False
    assert bad["candidates"]["emb_cos_nested"]["delta_low"] > 0
    assert (bad["default"], bad["step"]) == ("msp", 1)
    assert bad["better"] == ["msp"]


def test_step_2_picks_the_cheapest_non_inferior_candidate():
    spec = {
        "dcd": dcd_like,
        "msp": dcd_like,  # as good, cost 1
        "avg_rank": dcd_like,  # as good, cost 0
        "pixel_mmd_nested": dcd_like_but_right_on_d0,  # as good (better on one target only), cost 0
        "dcd_z": dcd_like,  # as good, but not cheaper
        "vega": reversed_,  # worse
    }
    results, costs = stub_results(spec)
    out = decide(results, {}, costs, n_boot=200)
    assert out["better"] == []  # pixel_mmd_nested's interval reaches 0
    assert out["as_good_and_cheaper"] == ["msp", "pixel_mmd_nested", "avg_rank"]
    # the cheapest (cost 0: avg_rank, pixel_mmd_nested); the tie goes to the higher mean
    assert (out["default"], out["step"]) == ("pixel_mmd_nested", 2)


def test_step_2_margin():
    """dcd right everywhere: a candidate 0.003 worse is non-inferior, one 0.2 worse is not."""
    spec = {"dcd": truth, "avg_rank": swap_4_5, "msp": dcd_like}
    results, costs = stub_results(spec)
    out = decide(results, {}, costs, n_boot=200)
    assert -MARGIN < out["candidates"]["avg_rank"]["delta_low"] < 0
    assert out["candidates"]["msp"]["delta_low"] < -MARGIN
    assert (out["default"], out["step"], out["as_good_and_cheaper"]) == ("avg_rank", 2, ["avg_rank"])


def test_step_3_keeps_dcd_when_every_candidate_is_worse():
    spec = {"dcd": dcd_like, "msp": reversed_, "avg_rank": reversed_, "dcd_z": dcd_like}
    results, costs = stub_results(spec)
    out = decide(results, {"dcd_z": stub_null("dcd_z", True)}, costs, n_boot=200)
    assert (out["default"], out["step"], out["better"], out["as_good_and_cheaper"]) == ("dcd", 3, [], [])
    assert out["reference"] == "dcd" and out["reference_cost_G"] == 29.0
    with pytest.raises(ValueError, match="'dcd'"):
        decide({"msp": results["msp"]}, {}, costs, n_boot=50)


def test_no_candidate_keeps_dcd():
    results, costs = stub_results({"dcd": dcd_like})
    out = decide(results, {}, costs, n_boot=50)
    assert (out["default"], out["step"]) == ("dcd", 3)


def test_a_source_weighted_candidate_without_its_null_cannot_be_better():
    """Condition (iii) of step 1 needs the null: a source-weighted method that was run without one cannot
    be called better, however good it looks."""
    results, costs = stub_results({"dcd": dcd_like, "dcd_z": truth})
    assert not decide(results, {}, costs, n_boot=200)["candidates"]["dcd_z"]["better"]
    assert decide(results, {"dcd_z": stub_null("dcd_z", True)}, costs, n_boot=200)["candidates"]["dcd_z"]["better"]


# ------------------------------------------------------------------------------ the study end to end
STUDY_METHODS = ("msp", "emb_cos_nested", "dcd", "dcd_z", "avg_rank", "random", "oracle_sim")


@pytest.fixture(scope="module")
def study(twin_world):
    store, acc = twin_world
    return run_study(acc, store, methods=STUDY_METHODS, null=20, null_nested=10, n_boot=200)


def test_run_study_end_to_end(study, tmp_path):
    assert list(study.results) == list(STUDY_METHODS)
    assert set(study.nulls) == {"emb_cos_nested", "dcd", "dcd_z"}  # the source-weighted ones
    assert study.nulls["emb_cos_nested"].info["kind"] == "relabelling" and study.nulls["emb_cos_nested"].n == 10
    assert study.nulls["dcd"].n == 20 and study.nulls["dcd_z"].info["softmin"] == "zscore"
    assert study.nulls["emb_cos_nested"].observed["ndcg5"] == pytest.approx(
        study.results["emb_cos_nested"].mean("ndcg5")
    )
    # costs from the store's n_steps = 4: DCD 3 (4 + 1) + 2 = 17 G
    g = study.costs["forward_passes_G"]
    assert (g["dcd"], g["dcd_z"], g["msp"], g["emb_cos_nested"], g["avg_rank"], g["random"]) == (17, 17, 1, 1, 0, 0)
    assert study.info["store_n_steps"] == 4 and study.costs.loc["msp", "classes_per_task"] == 4
    d = study.decision
    assert d["k"] == 4 and set(d["candidates"]) == {"msp", "emb_cos_nested", "dcd_z", "avg_rank"}
    assert d["default"] in (*d["candidates"], "dcd")
    written = study.save(tmp_path)
    for name in ("methods.csv", "paired.csv", "per_target_ndcg5.csv", "nulls.csv", "decision.json"):
        assert tmp_path / name in written and (tmp_path / name).stat().st_size > 0, name
    saved = json.loads((tmp_path / "decision.json").read_text())
    assert saved["decision"]["default"] == d["default"] and saved["decision"]["default"] in (*CANDIDATES, "dcd")
    per_target = pd.read_csv(tmp_path / "per_target_ndcg5.csv", index_col=0)
    assert list(per_target.columns) == list(STUDY_METHODS) and list(per_target.index) == list(DATASETS)
    assert per_target.loc["t", "oracle_sim"] == pytest.approx(1.0)
    paired = pd.read_csv(tmp_path / "paired.csv")
    assert set(paired["against"]) == {"avg_rank", "dcd"}
    assert not ((paired["method"] == "dcd") & (paired["against"] == "dcd")).any()
    nulls = pd.read_csv(tmp_path / "nulls.csv")
    assert set(nulls["method"]) == set(study.nulls)
    methods = pd.read_csv(tmp_path / "methods.csv", index_col=0)
    assert methods.loc["emb_cos_nested", "null_shuffles"] == 10 and np.isnan(methods.loc["msp", "null_shuffles"])


def test_run_study_refuses_a_store_of_mixed_integration_settings(tmp_path):
    rng = np.random.default_rng(0)
    models, datasets = MODELS[:3], DATASETS[:3]
    for i, m in enumerate(models):
        for j, d in enumerate(datasets):
            steps = 8 if (i, j) == (2, 2) else 4
            write_entry(tmp_path, m, d, {"f_x": rng.random(10)}, seed=i + 10 * j, n_steps=steps)
    acc = twin_accuracies().loc[list(models), list(datasets)]
    with pytest.raises(ValueError, match="mixes integration settings"):
        run_study(acc, ProfileStore(tmp_path), methods=("dcd", "avg_rank"), null=5, null_nested=0, n_boot=20)


def test_a_study_without_nulls_can_be_saved(twin_world, tmp_path):
    store, acc = twin_world
    study = run_study(acc, store, methods=("msp", "dcd", "avg_rank"), null=0, null_nested=0, n_boot=20)
    assert study.nulls == {}
    written = study.save(tmp_path)
    assert tmp_path / "decision.json" in written
    assert pd.read_csv(tmp_path / "nulls.csv").empty
