"""Leave-one-dataset-out harness (vlmsel.evaluation.harness): no leak of the target's ground truth (with a test
that catches a leaky method), constructed cases with known answers, gamma = 0 = avg_rank, saving."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vlmsel.data.lovm import MODELGPT_FEATURES
from vlmsel.evaluation.baselines import AvgRank, Inb, ModelGptLite, OracleSim, RandomRanking
from vlmsel.evaluation.dcd import DcdMethod
from vlmsel.evaluation.harness import EvaluationResult, LeaveOneOutTask, Method, compare, compare_means, evaluate
from vlmsel.method.aggregation import ranking, utilities
from vlmsel.profiles.pooling import Profiles
from vlmsel.profiles.store import ProfileStore


def synthetic_world(n_models=12, n_datasets=6, seed=0, reference="imagenet1k"):
    """Random accuracies, profiles (models with 4-9 blocks) and text features for a small zoo."""
    rng = np.random.default_rng(seed)
    models = [f"model{i:02d} tag" for i in range(n_models)]
    datasets = [reference] + [f"d{j}" for j in range(1, n_datasets)]
    skill = rng.normal(size=(n_models, 1))
    acc = pd.DataFrame(
        1 / (1 + np.exp(-(skill + rng.normal(0, 0.7, size=(n_models, n_datasets))))), index=models, columns=datasets
    )
    profiles = Profiles.from_dict(
        {m: rng.dirichlet(np.ones(l), size=n_datasets) for m, l in zip(models, rng.integers(4, 10, n_models))},
        datasets,
    )
    feats = pd.DataFrame(
        [{"model": m, "dataset": d, **{f: rng.random() for f in MODELGPT_FEATURES}} for m in models for d in datasets]
    )
    return acc, profiles, feats


def honest_methods(profiles, feats):
    return [
        Inb(),
        AvgRank(),
        AvgRank("zscore_acc"),
        OracleSim(),
        ModelGptLite(feats),
        ModelGptLite(feats, feature_set=MODELGPT_FEATURES[:3], nested=True),
        DcdMethod(profiles),
        DcdMethod(profiles, divergence="js"),
        DcdMethod(profiles, divergence="coverage"),
        DcdMethod(profiles, divergence="cosine", utility="zscore_acc"),
        DcdMethod(profiles, nested=True, eta_grid=(1.0, 2.0), gamma_grid=(0.0, 5.0)),
        DcdMethod(profiles, nested=True, eta_grid=(2.0,), gamma_grid=(1.0, 10.0), selection_metric="r5+tau5"),
    ]


class PeekingMethod(Method):
    """A leaky method: it was built with the whole table and reads the target's column (what the
    harness must make detectable)."""

    name = "peeking"

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table

    def predict(self, task: LeaveOneOutTask) -> np.ndarray:
        return self.table[task.target].to_numpy() + task.source_acc.mean(axis=1)


def leaked_targets(acc: pd.DataFrame, make_method, n_boot=10) -> list[str]:
    """Targets whose prediction changes when only that target's ground truth is corrupted."""
    base = evaluate(acc, make_method(acc), n_boot=n_boot).predictions
    changed = []
    rng = np.random.default_rng(123)
    for target in acc.columns:
        corrupted = acc.copy()
        corrupted[target] = rng.permutation(corrupted[target].to_numpy()) * 0.5 + 0.01
        pred = evaluate(corrupted, make_method(corrupted), n_boot=n_boot).predictions[target]
        if not np.array_equal(pred.to_numpy(), base[target].to_numpy()):
            changed.append(target)
    return changed


def test_leak_detector_catches_a_peeking_method():
    acc, _, _ = synthetic_world()
    assert leaked_targets(acc, PeekingMethod) == list(acc.columns)


def test_no_method_sees_the_target_ground_truth_unless_it_declares_it():
    acc, profiles, feats = synthetic_world()
    for i, method in enumerate(honest_methods(profiles, feats)):
        declared = [t for t in acc.columns if method.uses_target_ground_truth(t)]
        leaked = leaked_targets(acc, lambda table, i=i: honest_methods(profiles, feats)[i])
        assert set(leaked) <= set(declared), f"{method.name} leaks on {sorted(set(leaked) - set(declared))}"
        if isinstance(method, (OracleSim, Inb)):
            assert leaked, f"{method.name} declares target ground truth but never uses it"
    assert Inb().uses_target_ground_truth("imagenet1k") and not Inb().uses_target_ground_truth("d1")
    assert ModelGptLite(feats).uses_target_ground_truth("imagenet1k")
    assert not ModelGptLite(feats, feature_set=["text-f1"]).uses_target_ground_truth("imagenet1k")


def test_target_ground_truth_only_reaches_declaring_methods():
    seen = {}

    class Spy(Method):
        name = "spy"

        def __init__(self, declare):
            self.declare = declare

        def uses_target_ground_truth(self, target):
            return self.declare and target == "d2"

        def predict(self, task):
            seen[(self.declare, task.target)] = (task.target_acc is not None, task.sources)
            assert not task.source_acc.flags.writeable
            return task.source_acc.mean(axis=1)

    acc, _, _ = synthetic_world()
    evaluate(acc, Spy(False), n_boot=10)
    r = evaluate(acc, Spy(True), n_boot=10)
    assert not any(v[0] for (decl, _), v in seen.items() if not decl)
    assert seen[(True, "d2")][0] and not seen[(True, "d1")][0]
    assert "d2" not in seen[(True, "d2")][1] and len(seen[(True, "d2")][1]) == acc.shape[1] - 1
    assert list(r.per_target.index[r.per_target["uses_target_gt"]]) == ["d2"]
    assert r.info["uses_target_gt"] == ["d2"] and "own ground truth" in r.format()


def test_target_profile_equal_to_a_source_with_large_gamma_gives_that_source_ranking():
    acc, profiles, _ = synthetic_world(n_models=15, n_datasets=7, seed=4)
    target, twin = "d3", "d5"
    values = profiles.values.copy()
    values[:, profiles.datasets.index(target)] = values[:, profiles.datasets.index(twin)]
    twinned = Profiles(values, profiles.n_blocks, profiles.models, profiles.datasets)
    result = evaluate(acc, DcdMethod(twinned, gamma=1e4), targets=[target], n_boot=10)
    predicted = ranking(result.predictions[target].to_numpy(), list(acc.index))
    assert predicted == ranking(acc[twin].to_numpy(), list(acc.index))
    assert predicted != ranking(acc[target].to_numpy(), list(acc.index))  # it is the twin's ranking, not the truth
    # with a small gamma the other sources still count: the prediction differs
    loose = evaluate(acc, DcdMethod(twinned, gamma=0.1), targets=[target], n_boot=10)
    assert ranking(loose.predictions[target].to_numpy(), list(acc.index)) != predicted


def test_gamma_zero_is_exactly_avg_rank():
    acc, profiles, _ = synthetic_world(seed=7)
    dcd0 = evaluate(acc, DcdMethod(profiles, gamma=0.0), n_boot=200)
    avg = evaluate(acc, AvgRank(), n_boot=200)
    np.testing.assert_array_equal(dcd0.predictions.to_numpy(), avg.predictions.to_numpy())
    pd.testing.assert_frame_equal(dcd0.per_target, avg.per_target)
    # and avg_rank is the mean rank utility over the sources
    for t in acc.columns:
        expected = utilities(acc.drop(columns=t).to_numpy()).mean(axis=1)
        np.testing.assert_allclose(avg.predictions[t], expected, rtol=1e-14)
    dcd5 = evaluate(acc, DcdMethod(profiles, gamma=5.0), n_boot=10)
    assert not np.allclose(dcd5.predictions.to_numpy(), avg.predictions.to_numpy())


def twin_world(seed=0, n_models=20, n_pairs=4):
    """Datasets in pairs: both members share a profile per model and nearly the same ground truth.
    Profiles then identify the useful source, and DCD should beat the average rank."""
    rng = np.random.default_rng(seed)
    models = [f"m{i:02d}" for i in range(n_models)]
    datasets = [f"t{p}{s}" for p in range(n_pairs) for s in "ab"]
    acc = np.zeros((n_models, len(datasets)))
    prof = {m: np.zeros((len(datasets), 8)) for m in models}
    for p in range(n_pairs):
        base = rng.random(n_models)
        for j in range(2):
            acc[:, 2 * p + j] = np.clip(base + rng.normal(0, 0.01, n_models), 0, 1)
        for m in models:
            q = rng.dirichlet(np.ones(8) * 0.5)
            prof[m][2 * p] = prof[m][2 * p + 1] = q
    return pd.DataFrame(acc, index=models, columns=datasets), Profiles.from_dict(prof, datasets)


def test_nested_selection_learns_large_gamma_when_profiles_identify_twins():
    acc, profiles = twin_world()
    nested = evaluate(
        acc, DcdMethod(profiles, nested=True, eta_grid=(1.0, 2.0), gamma_grid=(0.0, 2.0, 50.0)), n_boot=100
    )
    avg = evaluate(acc, AvgRank(), n_boot=100)
    assert (nested.per_target["gamma"] == 50.0).all()
    assert {"eta", "gamma", "inner_score"} <= set(nested.per_target.columns)
    assert nested.mean("r5") > avg.mean("r5") + 0.3 and nested.mean("ndcg5") > avg.mean("ndcg5")


def test_random_baseline_exact_vs_draws_through_harness():
    acc, _, _ = synthetic_world(n_models=10)
    exact = evaluate(acc, RandomRanking(), n_boot=10)
    mc = evaluate(acc, RandomRanking(n_draws=600, seed=1), n_boot=10)
    assert exact.mean("r5") == pytest.approx(5 / 10)
    for m in ("r5", "tau5", "ndcg5", "tau_b", "top1_regret"):
        assert mc.mean(m) == pytest.approx(exact.mean(m), abs=0.05), m
    assert exact.predictions.isna().all().all()


def test_targets_exclusion_and_errors():
    acc, profiles, _ = synthetic_world()
    r = evaluate(acc, Inb(), exclude_targets=["imagenet1k"], n_boot=10)
    assert "imagenet1k" not in r.per_target.index and not r.per_target["uses_target_gt"].any()
    r2 = evaluate(acc, Inb(on_reference_target="error"), targets=["d1", "d2"], n_boot=10)
    assert list(r2.per_target.index) == ["d1", "d2"]
    with pytest.raises(ValueError, match="exclude_targets"):
        evaluate(acc, Inb(on_reference_target="error"), n_boot=10)
    with pytest.raises(KeyError, match="not in benchmark"):
        evaluate(acc, AvgRank(), targets=["nope"])
    bad = acc.copy()
    bad.iloc[0, 2] = np.nan
    with pytest.raises(ValueError, match="missing values on dataset 'd2'"):
        evaluate(bad, AvgRank())
    with pytest.raises(ValueError, match="INB ranks by 'imagenet1k'"):
        evaluate(acc.drop(columns="imagenet1k"), Inb())
    with pytest.raises(KeyError, match="no profile for dataset"):
        evaluate(acc.assign(extra=0.5), DcdMethod(profiles))

    class Wrong(Method):
        name = "wrong"

        def predict(self, task):
            return np.zeros(3)

    with pytest.raises(ValueError, match="predicted shape"):
        evaluate(acc, Wrong())


def test_result_save_json_and_compare(tmp_path):
    acc, profiles, _ = synthetic_world()
    results = [
        evaluate(acc, m, n_boot=50)
        for m in (Inb(), AvgRank(), DcdMethod(profiles, nested=True, eta_grid=(2.0,), gamma_grid=(0.0, 5.0)))
    ]
    paths = results[2].save(tmp_path)
    assert {p.name for p in paths.values()} == {
        "custom_value_dcd_nested_per_target.csv",
        "custom_value_dcd_nested_summary.csv",
        "custom_value_dcd_nested_predictions.csv",
        "custom_value_dcd_nested.json",
    }
    data = json.loads(paths["json"].read_text())
    assert data["method"] == "dcd_nested" and data["info"]["params"]["nested"] is True
    assert set(data["summary"]) == {"r5", "tau5", "ndcg5", "ndcg5_minmax", "tau_b", "top1_regret"}
    per_target = pd.read_csv(paths["per_target"], index_col=0)
    assert list(per_target.index) == list(acc.columns) and "gamma" in per_target.columns
    table = compare(results)
    assert list(table.index) == ["inb", "avg_rank", "dcd_nested"] and "[" in table.loc["inb", "r5"]
    means = compare_means(results)
    assert means.loc["avg_rank", "ndcg5"] == pytest.approx(results[1].mean("ndcg5"))
    assert isinstance(results[0], EvaluationResult) and "95% interval" in results[0].format()


def test_dcd_from_profile_store_equals_in_memory(tmp_path):
    acc, _, _ = synthetic_world(n_models=4, n_datasets=4, seed=9)
    rng = np.random.default_rng(0)
    store = ProfileStore(tmp_path, create=True)
    scalars = {}
    for m in acc.index:
        l = int(rng.integers(3, 7))
        for d in acc.columns:
            c = rng.random((5, l))
            scalars.setdefault(m, {})[d] = c
            store.write(
                m,
                d,
                {
                    "abs": c,
                    "l2": c,
                    "signed": c,
                    "branch": c,
                    "f_x": np.ones(5),
                    "f_baseline": np.zeros(5),
                    "block_names": [f"b{i}" for i in range(l)],
                    "image_ids": [str(i) for i in range(5)],
                },
            )
    from_store = evaluate(acc, DcdMethod(store), n_boot=10)
    in_memory = evaluate(acc, DcdMethod(Profiles.from_block_scalars(scalars, list(acc.columns))), n_boot=10)
    np.testing.assert_allclose(from_store.predictions, in_memory.predictions, rtol=1e-13)
    assert from_store.info["params"]["profiles"] == str(tmp_path)


def test_inner_leave_one_out_never_uses_an_inner_target_as_its_own_source():
    # With its own profile available (divergence 0) and gamma huge, an inner target would be predicted
    # by its own ground truth and score a perfect NDCG. Excluded, the inner score stays below 1.
    acc, profiles, _ = synthetic_world(n_models=15, n_datasets=7, seed=11)
    r = evaluate(acc, DcdMethod(profiles, nested=True, eta_grid=(2.0,), gamma_grid=(1e4,)), n_boot=10)
    assert (r.per_target["inner_score"] < 0.99).all()


def test_inb_ranks_by_the_benchmarks_reference_dataset():
    """A benchmark whose broad dataset is not imagenet1k (the mini world's ``broad``) needs no option."""
    from vlmsel.data.benchmarks import Benchmark

    acc, _, _ = synthetic_world()
    renamed = acc.rename(columns={"imagenet1k": "broad"})
    bench = Benchmark("toy", "acc1", renamed, pd.DataFrame(index=renamed.index), reference_dataset="broad")
    r = evaluate(bench, Inb(), targets=["d1"], n_boot=10)
    np.testing.assert_array_equal(r.predictions["d1"].to_numpy(), renamed["broad"].to_numpy())
    # an explicit reference is kept, and a bare table falls back to imagenet1k
    with pytest.raises(ValueError, match="INB ranks by 'd2'"):
        evaluate(bench.wide.drop(columns="d2"), Inb(reference="d2"), n_boot=10)
    with pytest.raises(ValueError, match="INB ranks by 'imagenet1k'"):
        evaluate(renamed, Inb(), n_boot=10)
