"""``vlmsel evaluate``: tables on stdout, CSV/JSON with --out, DCD from a profile store (a folder or a
published store's name, by default the benchmark zoo's), clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vlmsel.cli import main
from vlmsel.data.benchmarks import load_benchmark
from vlmsel.profiles.store import ProfileStore


def test_evaluate_baselines_prints_tables_and_writes_files(tmp_path, capsys):
    rc = main(
        [
            "evaluate",
            "--benchmark",
            "lovm",
            "--method",
            "inb,avg_rank",
            "--method",
            "random",
            "--n-boot",
            "200",
            "--include-reference",
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "inb on lovm (acc1)" in out and "cars" in out and "95% interval" in out
    assert "uses that target's own ground truth" in out  # INB on imagenet1k, LOVM's way
    assert "means over targets" in out and "avg_rank" in out
    per_target = pd.read_csv(tmp_path / "lovm_acc1_inb_per_target.csv", index_col=0)
    assert len(per_target) == 23 and per_target.loc["imagenet1k", "uses_target_gt"]
    summary = json.loads((tmp_path / "lovm_acc1_comparison.json").read_text())
    assert set(summary) == {"inb", "avg_rank", "random"}
    assert summary["random"]["r5"]["mean"] == pytest.approx(5 / 35)


def test_evaluate_dcd_from_store_and_exclusions(tmp_path, capsys):
    bench = load_benchmark("openclip48")
    rng = np.random.default_rng(0)
    store = ProfileStore(tmp_path / "store", create=True)
    for m in bench.models:
        l = int(rng.integers(4, 9))
        for d in bench.datasets:
            c = rng.random((3, l))
            store.write(
                m,
                d,
                {
                    "abs": c,
                    "l2": c,
                    "signed": c,
                    "branch": c,
                    "f_x": np.ones(3),
                    "f_baseline": np.zeros(3),
                    "block_names": [f"b{i}" for i in range(l)],
                    "image_ids": ["0", "1", "2"],
                },
            )
    rc = main(
        [
            "evaluate",
            "--benchmark",
            "openclip48",
            "--method",
            "dcd",
            "--profiles",
            str(tmp_path / "store"),
            "--exclude-targets",
            "imagenet1k",
            "--gamma",
            "2",
            "--n-boot",
            "100",
            "--no-per-target",
            "--null",
            "30",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "dcd on openclip48" in out and "gamma=2" in out and "cars" not in out
    assert "permutation null of dcd: each model's divergences shuffled over the sources, 30 shuffles" in out
    assert "19 targets" in out  # 20 datasets, the reference excluded


def test_evaluate_user_errors(capsys):
    assert main(["evaluate", "--benchmark", "lovm", "--method", "dcd"]) == 2
    assert "--profiles" in capsys.readouterr().err
    assert main(["evaluate", "--benchmark", "lovm", "--method", "swab"]) == 2
    assert "unknown method 'swab'" in capsys.readouterr().err
    assert main(["evaluate", "--benchmark", "openclip48", "--method", "modelgpt_lite"]) == 2
    assert "modelGPT features are missing" in capsys.readouterr().err


def _partial_store(path, models, datasets, seed=0):
    rng = np.random.default_rng(seed)
    store = ProfileStore(path, create=True)
    for m in models:
        for d in datasets:
            c = rng.random((3, 6))
            store.write(
                m,
                d,
                {
                    "abs": c,
                    "l2": c,
                    "signed": c,
                    "branch": c,
                    "f_x": np.ones(3),
                    "f_baseline": np.zeros(3),
                    "block_names": [f"b{i}" for i in range(6)],
                    "image_ids": ["0", "1", "2"],
                },
            )
    return store


def test_evaluate_restricted_to_a_partial_store(tmp_path, capsys):
    bench = load_benchmark("lovm")
    models, datasets = bench.models[:4], ["cars", "dtd", "eurosat", "mnist"]
    _partial_store(tmp_path / "store", models, datasets)
    # The fifth model has only one dataset: it must be left out, not make the run fail.
    _partial_store(tmp_path / "store", [bench.models[5]], ["cars"], seed=1)
    args = [
        "evaluate",
        "--benchmark",
        "lovm",
        "--method",
        "dcd,avg_rank",
        "--profiles",
        str(tmp_path / "store"),
        "--n-boot",
        "50",
        "--k",
        "2",
        "--null",
        "20",
    ]
    assert main(args) == 2  # a full-benchmark evaluation needs every entry
    capsys.readouterr()
    assert main([*args, "--restrict-to-profiles"]) == 0
    out = capsys.readouterr().out
    assert "restricted to the profile store: 4 models x 4 datasets" in out
    assert "sun397" not in out
    assert "dcd minus avg_rank, target by target (4 targets" in out and "a_wins" in out
    # inb ranks by imagenet1k, which the store does not cover: skipped with a note, the rest still runs
    assert main([*args[:4], "dcd,inb,avg_rank", *args[5:], "--restrict-to-profiles"]) == 0
    out = capsys.readouterr().out
    assert "note: inb skipped: it ranks by 'imagenet1k'" in out and "avg_rank on lovm" in out


def test_restrict_needs_enough_coverage(tmp_path, capsys):
    bench = load_benchmark("lovm")
    _partial_store(tmp_path / "store", bench.models[:3], ["cars", "dtd"])
    rc = main(
        [
            "evaluate",
            "--benchmark",
            "lovm",
            "--method",
            "avg_rank",
            "--profiles",
            str(tmp_path / "store"),
            "--restrict-to-profiles",
        ]
    )
    assert rc == 2 and "at least 2 models and 3 datasets" in capsys.readouterr().err


def _mini_store_ready() -> bool:
    try:
        from vlmsel.profiles.registry import registry

        entry = registry().get("mini")
        return entry is not None and (Path(entry.path) / "store.json").is_file()
    except Exception:
        return False


@pytest.mark.skipif(not _mini_store_ready(), reason="the mini profile store is not built")
@pytest.mark.slow
def test_profiles_by_published_name_or_by_default(tmp_path, capsys):
    """``--profiles mini`` names the published store; without --profiles the benchmark zoo's store is used."""
    from vlmsel.profiles.registry import registry

    outputs = []
    for profiles in (["--profiles", "mini"], [], ["--profiles", registry()["mini"].path]):
        rc = main(
            [
                "evaluate",
                "--benchmark",
                "mini",
                "--method",
                "dcd",
                "--gamma",
                "2",
                "--n-boot",
                "20",
                "--no-per-target",
                *profiles,
            ]
        )
        out = capsys.readouterr().out
        assert rc == 0 and "dcd on mini" in out
        outputs.append(out)
    assert outputs[0] == outputs[1] == outputs[2]


def test_unknown_store_name_is_a_clean_error(tmp_path, capsys):
    rc = main(["evaluate", "--benchmark", "lovm", "--method", "dcd", "--profiles", str(tmp_path / "no_such_store")])
    err = capsys.readouterr().err
    assert rc == 2 and "no_such_store" in err and "Traceback" not in err
