"""Shards of a plan: every entry in exactly one shard, balanced by estimated cost, the same split whatever
the order of the plan or the state of the store; ``--shard`` on the command line."""

from __future__ import annotations

import random

import numpy as np
import pytest

from vlmsel.cli import main
from vlmsel.data.zoo import load_zoo
from vlmsel.profiles.compute import ProfileSettings, entry_work, parse_shard, partition, shard_plan


def _plan(seed: int, n_models: int = 12, n_sets: int = 9):
    rng = np.random.default_rng(seed)
    gflops = rng.choice([1.0, 4.4, 9.0, 40.0, 160.0], size=n_models)
    keys = [(f"m{i}", f"d{j}") for i in range(n_models) for j in range(n_sets)]
    return keys, [float(gflops[int(m[1:])]) for m, _ in keys]


@pytest.mark.parametrize("n_shards", [1, 2, 3, 7, 16, 200])
def test_every_entry_is_in_exactly_one_shard_and_the_shards_are_balanced(n_shards):
    keys, costs = _plan(0)
    shard = partition(keys, costs, n_shards)
    assert len(shard) == len(keys) and set(shard) <= set(range(n_shards))
    load = np.bincount(shard, weights=costs, minlength=n_shards)
    assert np.isclose(load.sum(), sum(costs))
    share = sum(costs) / n_shards
    # longest-processing-time first: at most the fair share plus one chunk, and a chunk is at most a
    # quarter of the share unless it is a single entry
    assert load.max() <= share + max(share / 4, max(costs)) + 1e-9
    if n_shards <= 7:
        assert load.max() <= 1.25 * share


def test_the_split_depends_on_the_plan_only():
    keys, costs = _plan(1)
    shard = dict(zip(keys, partition(keys, costs, 5)))
    order = list(range(len(keys)))
    random.Random(0).shuffle(order)
    shuffled = partition([keys[i] for i in order], [costs[i] for i in order], 5)
    assert {keys[i]: s for i, s in zip(order, shuffled)} == shard


def test_a_model_s_datasets_stay_together_when_balance_allows():
    keys, costs = _plan(2, n_models=40, n_sets=20)
    shard = partition(keys, costs, 4)
    models_per_shard = [len({m for (m, _), s in zip(keys, shard) if s == i}) for i in range(4)]
    assert max(models_per_shard) < 20  # not every model in every shard (round robin would load 40 each)


def test_costs_weigh_and_unknown_costs_count_as_the_mean():
    keys = [("big", "a"), ("small", "a"), ("small", "b"), ("small", "c")]
    assert partition(keys, [3.0, 1.0, 1.0, 1.0], 2) == [0, 1, 1, 1]
    assert sorted(partition(keys, [float("nan")] * 4, 2)) == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="at least 1"):
        partition(keys, [1.0] * 4, 0)


def test_shard_plan_uses_the_cost_model_and_parse_shard_checks_its_text():
    zoo = load_zoo(["RN50 openai", "ViT-B-32 openai", "ViT-L-14 openai"])
    settings = ProfileSettings()
    plan = shard_plan(zoo, ["cifar100", "dtd", "eurosat"], settings, 2)
    assert len(plan) == 9
    big = [s for (m, _), s in plan.items() if m == "ViT-L-14 openai"]
    assert entry_work(zoo[2], settings) > 8 * entry_work(zoo[0], settings)
    # ViT-L-14's 3 entries are 85% of the work: two of them fill one shard, alone; everything else is in the other
    full = max(set(big), key=big.count)
    assert big.count(full) == 2 and [k for k, s in plan.items() if s == full and k[0] != "ViT-L-14 openai"] == []
    assert parse_shard("3/8") == (3, 8)
    for bad in ("8/8", "-1/4", "1", "a/b", "1/0"):
        with pytest.raises(ValueError, match="is not I/N"):
            parse_shard(bad)


def test_dry_run_of_a_shard_shows_every_shard_and_its_own_entries(capsys, tmp_path):
    args = [
        "profile",
        "--zoo",
        "lovm35",
        "--datasets",
        "cifar100,dtd,eurosat",
        "--out",
        str(tmp_path / "s"),
        "--dry-run",
        "--device",
        "cuda",
    ]
    assert main(args + ["--shard", "1/3"]) == 0
    out = capsys.readouterr().out
    assert "the plan split into 3 by estimated cost (on cuda); this is shard 1" in out
    assert "largest shard:" in out and "shard 1/3:" in out
    planned = int(out.split("shard 1/3:\nplan: ")[1].split(" models x")[0])
    assert 0 < planned < 35
    assert main(args + ["--shard", "3/3"]) == 2
    assert "--shard: shard '3/3' is not I/N" in capsys.readouterr().err
    assert main(args[:-3] + ["--workers", "3"]) == 2
    assert "--workers goes with --submit or --status" in capsys.readouterr().err
