"""The fidelity sweep (vlmsel.evaluation.fidelity): agreement measures on hand-made cases, the committed
sweep's shape and settings, and the package default being exactly what the sweep's computation chooses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vlmsel.conductance.options import DEFAULT_SETTING, PAPER_LIKE_SETTING
from vlmsel.evaluation.fidelity import (
    AGREEMENT,
    cheapest_within_noise,
    cost_per_image,
    fidelity_table,
    image_noise,
    load_sweep,
    parse_setting,
    profile_error,
    selection_agreement,
    setting_name,
)
from vlmsel.mini.paths import fidelity_sweep_path
from vlmsel.profiles.pooling import Profiles

REFERENCE = "riemann_trapezoid-trapezoid-64"
TODAY = setting_name(**PAPER_LIKE_SETTING)


def test_setting_names_round_trip_and_cost():
    assert parse_setting(setting_name("riemann_trapezoid", "trapezoid", 8)) == dict(
        method="riemann_trapezoid", rule="trapezoid", n_steps=8
    )
    assert cost_per_image("riemann_trapezoid-trapezoid-8") == 9
    assert cost_per_image("gausslegendre-left-8") == pytest.approx(9 + 2 / 3)


def test_selection_agreement_by_hand():
    models = ["a", "b", "c", "d", "e", "f"]
    ref = pd.DataFrame({"t1": [6, 5, 4, 3, 2, 1], "t2": [1, 2, 3, 4, 5, 6]}, index=models, dtype=float)
    same = selection_agreement(ref, ref)
    assert (same == 1).all().all()
    swapped = ref.copy()
    swapped.loc[["a", "b"], "t1"] = [5, 6]  # top-1 changes, top-5 the same set; one discordant pair of 15
    agree = selection_agreement(swapped, ref).loc["t1"]
    assert agree["top1_same"] == 0 and agree["top5_overlap"] == 1
    assert agree["score_tau"] == pytest.approx((14 - 1) / 15)
    reversed_ = -ref
    assert selection_agreement(reversed_, ref).loc["t2", "score_tau"] == pytest.approx(-1)
    assert selection_agreement(reversed_, ref).loc["t2", "top5_overlap"] == pytest.approx(4 / 5)


def test_profile_error_is_total_variation():
    a = Profiles.from_dict({"m": np.array([[0.5, 0.5], [1.0, 0.0]])}, ["x", "y"])
    b = Profiles.from_dict({"m": np.array([[0.5, 0.5], [0.0, 1.0]])}, ["x", "y"])
    np.testing.assert_allclose(profile_error(a, b), [[0.0, 1.0]])


def test_cheapest_within_noise_takes_the_cheapest_setting_at_or_above_the_noise():
    table = pd.DataFrame(
        {
            "cost": [5, 9, 17],
            "profile_tv": [0.02, 0.01, 0.001],
            "score_tau": [0.8, 0.95, 0.99],
            "top1_same": [1, 1, 1],
            "top5_overlap": [1, 1, 1],
        },
        index=["cheap", "mid", "dear"],
    )
    noise = pd.DataFrame({a: [0.9, 0.94] for a in AGREEMENT})  # mean tau 0.92
    assert cheapest_within_noise(table, noise) == "mid"
    assert cheapest_within_noise(table, noise, exclude=["mid"]) == "dear"
    with pytest.raises(ValueError, match="no setting"):
        cheapest_within_noise(table.loc[["cheap"]], noise)


@pytest.fixture(scope="module")
def world():
    from vlmsel.chapters import open_world

    return open_world("mini")


def test_committed_sweep_holds_the_reference_today_and_the_default(world):
    sweep = load_sweep(fidelity_sweep_path())
    for name in (REFERENCE, TODAY, setting_name(**DEFAULT_SETTING)):
        assert name in sweep.settings
    assert sweep.scalars.shape[:4] == (len(sweep.settings), len(sweep.models), len(sweep.tasks), 25)
    assert set(sweep.models) == set(world.models) and set(sweep.tasks) == set(world.datasets)
    for meta, name in zip(sweep.meta, sweep.settings):
        assert setting_name(meta["method"], meta["rule"], meta["n_steps"]) == name
    # the published store is made at the default setting: its first 25 images agree with the sweep's entry
    # of that setting up to float32 rounding (the sweep ran 25 images per call, the store 100: other batches)
    i = sweep.settings.index(setting_name(**DEFAULT_SETTING))
    for mi, ti in ((3, 5), (0, 0), (10, 12)):
        m, t = sweep.models[mi], sweep.tasks[ti]
        stored = world.store.block_scalars(m, t, n_images=25)
        assert world.store.manifest(m, t)["n_steps"] == DEFAULT_SETTING["n_steps"]
        np.testing.assert_allclose(sweep.scalars[i, mi, ti, :, : sweep.n_blocks[mi]], stored, rtol=1e-5, atol=1e-5)


def test_the_package_default_is_what_the_sweep_chooses(world):
    sweep = load_sweep(fidelity_sweep_path())
    table = fidelity_table(sweep, world.benchmark, reference=REFERENCE, today=TODAY, exclude=["broad"])
    noise = image_noise(world.store, world.benchmark, exclude=["broad"])
    assert len(noise) == 3 and (noise["score_tau"] < 1).all()
    assert table.loc[REFERENCE, "score_tau"] == 1 and table.loc[REFERENCE, "profile_tv"] == 0
    # more steps of the same rule never move the profiles further from the reference (errors fall with n)
    tv = table[(table["method"] == "riemann_trapezoid") & (table["rule"] == "trapezoid")].sort_values("n_steps")
    assert np.all(np.diff(tv["profile_tv"]) <= 0)
    assert cheapest_within_noise(table, noise, exclude=[REFERENCE]) == setting_name(**DEFAULT_SETTING)


def test_committed_variants_change_one_choice_of_the_default():
    """``data/mini/variants.npz``: its ``default`` variant reproduces the sweep's entry for the default setting
    (same images, same setting, another run), each variant's manifest differs from it in exactly the named
    field, and stage granularity has one unit per stage (fewer than blocks for the ResNets, not more for any)."""
    from vlmsel.mini.paths import variants_path

    variants = load_sweep(variants_path())
    sweep = load_sweep(fidelity_sweep_path())
    assert variants.settings[0] == "default" and variants.models == sweep.models and variants.tasks == sweep.tasks
    assert variants.n_blocks.shape == (len(variants.settings), len(variants.models))
    default = setting_name(**DEFAULT_SETTING)
    tv = profile_error(variants.profiles("default"), sweep.profiles(default))
    assert tv.max() < 1e-5
    meta = dict(zip(variants.settings, variants.meta))
    field_of = {
        "baseline": ("baseline", "zeros"),
        "granularity": ("granularity", "block"),
        "precision": ("autocast", False),
    }
    for name in variants.settings[1:]:
        kind = name.split("=")[0]
        field, default_value = field_of[kind]
        assert meta["default"][field] == default_value and meta[name][field] != default_value
        others = {k: v for k, v in meta[name].items() if k not in (field, "versions")}
        assert others == {k: v for k, v in meta["default"].items() if k not in (field, "versions")}
    stage = variants.n_blocks[variants.index("granularity=stage")]
    assert (stage <= variants.n_blocks[0]).all() and (stage < variants.n_blocks[0]).any()
    p = variants.profiles("granularity=stage")
    assert np.allclose(p.values.sum(axis=2), 1)
