"""Realism figures: checked against scipy on a hand-made world, and LOVM's published table."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from vlmsel.data.benchmarks import Benchmark
from vlmsel.mini.realism import (
    MAX_MEAN_TAU_GAP,
    MIN_DOMAIN_GAP,
    WorldTable,
    acceptance,
    lovm_world,
    realism_table,
    similarity_figures,
)


def _toy_world() -> WorldTable:
    rng = np.random.default_rng(0)
    models = [f"m{i}" for i in range(9)]
    base = {"a": rng.random(9), "b": rng.random(9)}
    cols = {}
    for dom, n in (("a", 3), ("b", 2)):
        for j in range(n):
            cols[f"{dom}{j}"] = np.clip(base[dom] + 0.15 * rng.standard_normal(9), 0.01, 0.99)
    cols["ref"] = rng.random(9)
    wide = pd.DataFrame(cols, index=models)
    bench = Benchmark("toy", "acc1", wide, pd.DataFrame(index=models), reference_dataset="ref")
    domains = {t: t[0] if t != "ref" else "mixed" for t in wide.columns}
    return WorldTable("toy", bench, domains, {t: 0.25 for t in wide.columns})


def test_figures_match_scipy_and_counting_by_hand():
    world = _toy_world()
    f = similarity_figures(world)
    tasks = list(world.wide.columns)
    taus = {(a, b): kendalltau(world.wide[a], world.wide[b]).statistic for a, b in itertools.combinations(tasks, 2)}
    vals = np.array(list(taus.values()))
    assert f["mean_tau"] == pytest.approx(vals.mean()) and f["median_tau"] == pytest.approx(np.median(vals))
    assert f["share_negative"] == pytest.approx((vals < 0).mean())
    same = [v for (a, b), v in taus.items() if world.domains[a] == world.domains[b]]
    cross = [v for (a, b), v in taus.items() if world.domains[a] != world.domains[b]]
    assert len(same) == 3 + 1 and f["same_domain_tau"] == pytest.approx(np.mean(same))
    assert f["cross_domain_tau"] == pytest.approx(np.mean(cross))
    best = [max(v for (a, b), v in taus.items() if t in (a, b)) for t in tasks]
    assert f["best_source_tau"] == pytest.approx(np.mean(best))
    assert f["share_above_chance"] == pytest.approx((world.wide.to_numpy() > 0.375).mean())
    assert f["distinct_winners"] == len(set(world.wide.idxmax()))
    assert f["n_domains"] == 3 and f["n_tasks"] == 6 and f["n_models"] == 9


def test_acceptance_rule():
    table = pd.DataFrame(
        {
            "LOVM": {"mean_tau": 0.29, "same_domain_tau": 0.47, "cross_domain_tau": 0.18},
            "mini": {
                "mean_tau": 0.29 + MAX_MEAN_TAU_GAP - 0.01,
                "same_domain_tau": 0.5,
                "cross_domain_tau": 0.5 - MIN_DOMAIN_GAP - 0.01,
            },
        }
    )
    ok, lines = acceptance(table)
    assert ok and len(lines) == 2 and all(line.startswith("ok") for line in lines)
    table.at["cross_domain_tau", "mini"] = 0.45
    ok, lines = acceptance(table)
    assert not ok and lines[0].startswith("FAIL") and "same-domain" in lines[0]
    table.at["cross_domain_tau", "mini"] = 0.1
    table.at["mean_tau", "mini"] = 0.0
    ok, lines = acceptance(table)
    assert not ok and lines[1].startswith("FAIL")


def test_lovm_figures_as_published():
    """LOVM's table (35 x 23): the figures quoted in the issue and the book."""
    table = realism_table([lovm_world()])
    col = table["LOVM"]
    assert col["n_models"] == 35 and col["n_tasks"] == 23
    assert col["mean_tau"] == pytest.approx(0.29, abs=0.005) and col["median_tau"] == pytest.approx(0.41, abs=0.01)
    assert col["same_domain_tau"] == pytest.approx(0.47, abs=0.01)
    assert col["cross_domain_tau"] == pytest.approx(0.18, abs=0.01)
    assert col["best_source_tau"] == pytest.approx(0.61, abs=0.01)
    assert col["share_above_chance"] == pytest.approx(0.74, abs=0.01) and col["distinct_winners"] == 11
    assert {"inb_r5", "avg_rank_tau5", "oracle_sim_ndcg5"} <= set(table.index)
    assert table.loc["mean_tau", "what"].startswith("mean Kendall tau")


def test_realism_command_prints_both_worlds_and_the_verdict(capsys):
    from vlmsel.cli import main
    from vlmsel.mini.paths import default_mini_dir

    if not (default_mini_dir() / "groundtruth.csv").is_file():
        pytest.skip("mini ground truth not committed")
    assert main(["mini", "realism", "--no-baselines"]) == 0
    out = capsys.readouterr().out
    assert "LOVM" in out and "mini" in out and "mean tau, pairs of the same image domain" in out
    assert "same-domain minus cross-domain tau" in out and ("accepted" in out.splitlines()[-1])
