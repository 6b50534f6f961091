"""The label-free signals on the harness (vlmsel.evaluation.signals): toy stores written by ``write_profile``
whose right answer is known, the target-only scores, the model-agnostic control and ``make_method``'s names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.profiles.conftest import SETTINGS, VERSIONS
from vlmsel.evaluation.baselines import AvgRank
from vlmsel.evaluation.dcd import DEFAULT_ETA_GRID, ZSCORE_GAMMA_GRID, DcdMethod
from vlmsel.evaluation.harness import LeaveOneOutTask, evaluate
from vlmsel.evaluation.methods import make_method
from vlmsel.evaluation.signals import SignalMethod, TargetOnlyMethod, signal_divergences
from vlmsel.method.signals import (
    mean_embedding_cosine,
    msp_score,
    neg_entropy_score,
    pairwise_mmd2,
    pairwise_w1,
    standardise_features,
    vega_score,
)
from vlmsel.profiles.store import ProfileStore, write_profile

#: Six models ("arch pretrained" names) and the six datasets of the twin world: ``t`` and ``s_star`` are
#: drawn from one distribution (group A) and share their ground truth, as do b1/b2 (B) and c1/c2 (C).
MODELS = tuple(f"toy{i} w" for i in range(6))
DATASETS = ("t", "s_star", "b1", "b2", "c1", "c2")
GROUP = {"t": 0, "s_star": 0, "b1": 1, "b2": 1, "c1": 2, "c2": 2}
N_IMAGES, N_BLOCKS, WIDTH, N_CLASSES = 20, 3, 8, 4
#: Group A ranks m0 > m1 > ... > m5; B the reverse; C another order: the average rank of t's sources is wrong.
ORDERS = {0: [0, 1, 2, 3, 4, 5], 1: [5, 4, 3, 2, 1, 0], 2: [3, 5, 1, 4, 0, 2]}
#: The objective's mean per group: A is 4 from B and from C (objective_w1's divergences from t are equal).
F_MEAN = {0: 5.0, 1: 9.0, 2: 1.0}


def unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def write_entry(store: Path, model: str, dataset: str, features: dict, *, seed: int, n_steps: int = 4) -> None:
    """One entry through the real ``write_profile``: random block scalars of ``seed``, ``f_x`` and the
    feature arrays from ``features`` (``f_x`` there overrides the default of ones)."""
    rng = np.random.default_rng(seed)
    n = len(features.get("f_x", features.get("embedding", features.get("pixel_stats", np.zeros(N_IMAGES)))))
    arrays = {k: rng.random((n, N_BLOCKS)) + 0.01 for k in ("abs", "l2", "signed", "branch")}
    arrays.update(
        f_x=np.ones(n),
        f_baseline=np.zeros(n),
        block_names=[f"b{i}" for i in range(N_BLOCKS)],
        image_ids=[f"{dataset}-{i}" for i in range(n)],
    )
    arrays.update(features)
    manifest = {
        **SETTINGS,
        "n_images": n,
        "n_steps": n_steps,
        "versions": dict(VERSIONS),
        "image_sha256": [f"{dataset}{i}" for i in range(n)],
        "created": "2026-01-01T00:00:00+00:00",
    }
    write_profile(store, model, dataset, arrays, manifest)


def twin_accuracies() -> pd.DataFrame:
    """Models x DATASETS: each group's order (distinct values); twins share their column exactly."""
    acc = {}
    for d in DATASETS:
        order = ORDERS[GROUP[d]]
        col = np.empty(len(MODELS))
        col[order] = np.linspace(0.9, 0.4, len(MODELS))  # order[0] is the best
        acc[d] = col
    return pd.DataFrame(acc, index=pd.Index(MODELS, name="model"))


def write_twin_world(folder: Path, *, constant: bool = False, seed: int = 0) -> ProfileStore:
    """The twin world as a store: per model (its own random rotation and objective scale) and dataset,
    unit embeddings around the group's direction, pixel statistics around the group's point (the same for
    every model), the objective around the group's mean, and zero-shot arrays. ``constant``: every dataset
    gets the very same arrays (all sources equally similar)."""
    rng = np.random.default_rng(seed)
    pixels = {d: np.eye(7)[GROUP[d]] * 3.0 + 0.5 * rng.standard_normal((N_IMAGES, 7)) for d in DATASETS}
    for i, m in enumerate(MODELS):
        rotation, _ = np.linalg.qr(rng.standard_normal((WIDTH, WIDTH)))
        classes = unit(rng.standard_normal((N_CLASSES, WIDTH)))
        shared = None
        for j, d in enumerate(DATASETS):
            g = GROUP[d]
            if constant and shared is not None:
                write_entry(folder, m, d, shared, seed=100 * i + j)
                continue
            emb = unit((3.0 * np.eye(WIDTH)[g] + rng.standard_normal((N_IMAGES, WIDTH))) @ rotation.T)
            features = {
                "embedding": emb,
                "pixel_stats": pixels[d],
                "class_embeddings": classes,
                "class_names": [f"class{c}" for c in range(N_CLASSES)],
                "zs_logits": 20.0 * emb @ classes.T,
                "f_x": (1.0 + i) * (F_MEAN[g] + 0.2 * rng.standard_normal(N_IMAGES)),
            }
            write_entry(folder, m, d, features, seed=100 * i + j)
            shared = features if constant else None
    return ProfileStore(folder)


@pytest.fixture(scope="module")
def twin_world(tmp_path_factory) -> tuple[ProfileStore, pd.DataFrame]:
    return write_twin_world(tmp_path_factory.mktemp("twins") / "store"), twin_accuracies()


# ------------------------------------------------------------------------------ (a) the informative world
@pytest.mark.parametrize("signal", ["emb_cos", "emb_mmd", "pixel_mmd", "objective_w1"])
def test_a_signal_finds_the_twin_source_and_beats_average_rank(twin_world, signal):
    """t's images resemble s_star's only, and t's ground truth is s_star's: each signal (fixed gamma, scale-free
    softmin) ranks t's models exactly as s_star does; the average rank of t's sources gets it wrong."""
    store, acc = twin_world
    method = SignalMethod(store, signal)
    assert (method.options.softmin, method.gamma, method.name) == ("zscore", 2.0, signal)
    result = evaluate(acc, method, n_boot=100)
    row = result.per_target.loc["t"]
    assert row["ndcg5"] == pytest.approx(1.0) and row["top1_regret"] == 0.0 and row["tau_b"] == pytest.approx(1.0)
    pred = result.predictions["t"].to_numpy()
    assert list(np.argsort(-pred)) == ORDERS[0]  # s_star's order, model by model
    avg = evaluate(acc, AvgRank(), n_boot=100)
    assert avg.per_target.loc["t", "ndcg5"] < row["ndcg5"] - 0.05
    assert avg.per_target.loc["t", "top1_regret"] > 0
    # every dataset has a twin here: the signal beats average rank on the mean too
    assert result.mean("ndcg5") > avg.mean("ndcg5")


def test_nested_signal_also_finds_the_twin(twin_world):
    store, acc = twin_world
    method = SignalMethod(store, "emb_cos", nested=True)
    assert method.name == "emb_cos_nested" and method.gamma_grid == ZSCORE_GAMMA_GRID
    result = evaluate(acc, method, n_boot=100)
    avg = evaluate(acc, AvgRank(), n_boot=100)
    assert result.per_target.loc["t", "top1_regret"] == 0 and result.per_target.loc["t", "ndcg5"] > 0.99
    assert (result.per_target["ndcg5"] >= avg.per_target["ndcg5"]).all()
    assert result.mean("ndcg5") > avg.mean("ndcg5") + 0.05
    assert result.per_target.loc["t", "gamma"] > 0  # the inner loop learnt to trust the divergences
    assert result.per_target.loc["t", "eta"] == 2.0  # eta plays no role: the grid is the default eta alone


def test_divergences_are_the_formulas_on_the_stored_arrays(twin_world):
    """signal_divergences reads the first n_images rows of each entry and applies vlmsel.method.signals."""
    store, _ = twin_world
    models = list(MODELS[:2])
    for m_i, m in enumerate(models):
        emb = [store.features(m, d, "embedding")[:5] for d in DATASETS]
        got = signal_divergences(store, "emb_cos", models, DATASETS, n_images=5)
        np.testing.assert_allclose(got[m_i], mean_embedding_cosine(emb), atol=1e-12)
        full = signal_divergences(store, "emb_cos", models, DATASETS, n_images=None)
        assert not np.allclose(full[m_i], got[m_i])  # the cut matters
        emb_all = [store.features(m, d, "embedding") for d in DATASETS]
        np.testing.assert_allclose(
            signal_divergences(store, "emb_mmd", models, DATASETS, None)[m_i], pairwise_mmd2(emb_all), atol=1e-12
        )
        f_x = [store.read(m, d)[0]["f_x"] for d in DATASETS]
        np.testing.assert_allclose(
            signal_divergences(store, "objective_w1", models, DATASETS, None)[m_i], pairwise_w1(f_x), atol=1e-12
        )
    # in t's column the twin is the closest source for every model and signal
    for signal in ("emb_cos", "emb_mmd", "objective_w1", "pixel_mmd"):
        d = signal_divergences(store, signal, MODELS, DATASETS)
        assert (np.argmin(d[:, 1:, 0], axis=1) == 0).all(), signal
    with pytest.raises(ValueError, match="unknown signal"):
        signal_divergences(store, "emb_l2", models, DATASETS)


def test_objective_w1_is_scale_free_across_models(twin_world):
    """Model i's objective is scaled by (1 + i): its raw divergences too, but not its weights or ranking."""
    store, acc = twin_world
    d = signal_divergences(store, "objective_w1", MODELS, DATASETS, None)
    assert d[5, 2, 0] > 4 * d[0, 2, 0]  # raw scales differ six-fold
    raw = evaluate(acc, SignalMethod(store, "objective_w1", softmin="raw", gamma=2.0), n_boot=10)
    z = evaluate(acc, SignalMethod(store, "objective_w1"), n_boot=10)
    # with the raw softmin, gamma = 2 is near one-hot for the model with the widest scale: not for the others
    assert not np.allclose(raw.predictions["t"], z.predictions["t"])
    assert z.per_target.loc["t", "tau_b"] == pytest.approx(1.0)


# ------------------------------------------------------------------------------ (b) target only
TO_MODELS = tuple(f"zs{i} w" for i in range(5))
TO_DATASETS = ("x", "y", "z")
TO_IMAGES, TO_WIDTH = 30, 16


@pytest.fixture(scope="module")
def target_only_world(tmp_path_factory) -> tuple[ProfileStore, pd.DataFrame]:
    """Zero-shot logits ``s * Z_d`` with a sharpness ``s`` that grows with the model's accuracy on the dataset
    (over the first 25 images; the last 5 are sharpest for the worst model, so only the cut gives the
    order). Embeddings: model zs4 is random, the others lie near their class embeddings (zs0 the nearest)."""
    rng = np.random.default_rng(7)
    folder = tmp_path_factory.mktemp("target_only") / "store"
    acc = pd.DataFrame(rng.uniform(0.2, 0.9, (len(TO_MODELS), len(TO_DATASETS))), index=TO_MODELS, columns=TO_DATASETS)
    classes = unit(rng.standard_normal((N_CLASSES, TO_WIDTH)))
    for j, d in enumerate(TO_DATASETS):
        z_d = rng.standard_normal((TO_IMAGES, N_CLASSES))
        labels = np.arange(TO_IMAGES) % N_CLASSES
        ranks = acc[d].rank().to_numpy()  # 1 = worst
        for i, m in enumerate(TO_MODELS):
            s = np.full((TO_IMAGES, 1), 0.5 + ranks[i])
            s[25:] = 10.0 - 2 * ranks[i]
            if i == 4:
                emb = unit(rng.standard_normal((TO_IMAGES, TO_WIDTH)))
            else:
                emb = unit(classes[labels] + (0.05 + 0.1 * i) * rng.standard_normal((TO_IMAGES, TO_WIDTH)))
            features = {
                "embedding": emb,
                "pixel_stats": rng.standard_normal((TO_IMAGES, 7)),
                "class_embeddings": classes,
                "class_names": [f"c{c}" for c in range(N_CLASSES)],
                "zs_logits": s * z_d,
            }
            write_entry(folder, m, d, features, seed=10 * i + j)
    return ProfileStore(folder), acc


@pytest.mark.parametrize("score", ["msp", "neg_entropy"])
def test_confidence_scores_predict_the_sharpness_order(target_only_world, score):
    store, acc = target_only_world
    method = TargetOnlyMethod(store, score)
    result = evaluate(acc, method, n_boot=100)
    assert (result.per_target["tau_b"] == 1.0).all() and (result.per_target["top1_regret"] == 0).all()
    fn = msp_score if score == "msp" else neg_entropy_score
    for d in TO_DATASETS:
        logits = [store.features(m, d, "zs_logits") for m in TO_MODELS]
        np.testing.assert_allclose(result.predictions[d], [fn(a[:25]) for a in logits], rtol=1e-12)
        assert not np.allclose(result.predictions[d], [fn(a) for a in logits])  # all 30 rows: another answer
    assert method.name == score and "target only" in method.description


def test_vega_ranks_aligned_embeddings_above_random_ones(target_only_world):
    store, acc = target_only_world
    method = TargetOnlyMethod(store, "vega")
    method.fit(TO_MODELS, TO_DATASETS)
    for d in TO_DATASETS:
        task = LeaveOneOutTask(d, TO_MODELS, tuple(x for x in TO_DATASETS if x != d), np.zeros((5, 2)))
        pred = method.predict(task)
        assert pred[0] > pred[4] + 0.1 and pred[1] > pred[4], (d, pred)
        emb, cls = store.features(TO_MODELS[0], d, "embedding"), store.features(TO_MODELS[0], d, "class_embeddings")
        assert pred[0] == pytest.approx(vega_score(emb[:25], cls), rel=1e-12)


def test_target_only_method_arguments(target_only_world):
    store, _ = target_only_world
    with pytest.raises(ValueError, match="unknown target-only score"):
        TargetOnlyMethod(store, "entropy")
    with pytest.raises(TypeError, match="ProfileStore"):
        TargetOnlyMethod(store.path, "msp")
    assert TargetOnlyMethod(store, "msp", source_images=10).params()["source_images"] == 10


# ------------------------------------------------------------------------------ (c) the model-agnostic control
def test_pixel_mmd_gives_every_model_the_same_divergences(twin_world):
    store, _ = twin_world
    d = signal_divergences(store, "pixel_mmd", MODELS, DATASETS)
    assert d.shape == (len(MODELS), len(DATASETS), len(DATASETS))
    for m in range(1, len(MODELS)):
        np.testing.assert_array_equal(d[m], d[0])
    sets = [store.features(MODELS[0], x, "pixel_stats") for x in DATASETS]
    np.testing.assert_allclose(d[0], pairwise_mmd2(standardise_features(sets)), atol=1e-12)
    emb = signal_divergences(store, "emb_cos", MODELS, DATASETS)
    assert not np.allclose(emb[1], emb[0])  # the per-model signals do differ between models
    assert SignalMethod(store, "pixel_mmd").model_agnostic is True
    assert make_method("pixel_mmd_nested", profiles=store).model_agnostic is True
    assert SignalMethod(store, "emb_cos").model_agnostic is False
    assert SignalMethod(store, "objective_w1", nested=True).model_agnostic is False


# ------------------------------------------------------------------------------ (d) make_method
NEW_NAMES = (
    "msp",
    "neg_entropy",
    "vega",
    *(f"{s}{n}" for s in ("emb_cos", "emb_mmd", "objective_w1", "pixel_mmd", "dcd_z") for n in ("", "_nested")),
)


def test_make_method_builds_every_new_name(twin_world):
    store, _ = twin_world
    for name in NEW_NAMES:
        method = make_method(name, profiles=store)
        assert method.name == name, name
        if name in ("msp", "neg_entropy", "vega"):
            assert isinstance(method, TargetOnlyMethod) and method.score == name
            continue
        assert isinstance(method, DcdMethod) and method.options.softmin == "zscore", name
        assert method.nested == name.endswith("_nested"), name
        if method.nested:
            assert method.gamma_grid == ZSCORE_GAMMA_GRID, name
        else:
            assert method.gamma == 2.0, name
    dcd_z = make_method("dcd_z", profiles=store)
    assert not isinstance(dcd_z, SignalMethod)
    assert (dcd_z.options.softmin, dcd_z.gamma, dcd_z.eta, dcd_z.options.divergence) == ("zscore", 2.0, 2.0, "kl")
    nested = make_method("dcd_z_nested", profiles=store)
    assert nested.eta_grid == DEFAULT_ETA_GRID and nested.gamma_grid == ZSCORE_GAMMA_GRID
    assert len(nested.eta_grid) * len(nested.gamma_grid) == 35
    assert make_method("dcd", profiles=store).options.softmin == "raw"  # the paper's DCD is untouched
    assert make_method("emb_mmd", profiles=store, gamma=4.0).gamma == 4.0


def test_make_method_refusals(twin_world):
    store, _ = twin_world
    for name in NEW_NAMES:
        with pytest.raises(ValueError, match="profile store"):
            make_method(name)
    with pytest.raises(ValueError, match="unknown method"):
        make_method("msp_nested", profiles=store)  # target-only scores have no hyperparameter to nest


@pytest.fixture(scope="module")
def old_store(tmp_path_factory) -> tuple[ProfileStore, pd.DataFrame]:
    """A store made before the feature arrays: block scalars and f_x only."""
    folder = tmp_path_factory.mktemp("old") / "store"
    rng = np.random.default_rng(3)
    models, datasets = MODELS[:3], DATASETS[:4]
    for i, m in enumerate(models):
        for j, d in enumerate(datasets):
            write_entry(folder, m, d, {"f_x": rng.random(N_IMAGES)}, seed=10 * i + j)
    acc = pd.DataFrame(rng.random((3, 4)), index=models, columns=datasets)
    return ProfileStore(folder), acc


@pytest.mark.parametrize(
    ("name", "array"),
    [
        ("msp", "zs_logits"),
        ("neg_entropy", "zs_logits"),
        ("vega", "embedding"),
        ("emb_cos", "embedding"),
        ("emb_mmd_nested", "embedding"),
        ("pixel_mmd", "pixel_stats"),
    ],
)
def test_a_store_without_feature_arrays_names_the_missing_array(old_store, name, array):
    store, acc = old_store
    method = make_method(name, profiles=store)  # building needs no array: evaluating does
    with pytest.raises(ValueError, match=f"no '{array}' array.*vlmsel profile --overwrite"):
        evaluate(acc, method, n_boot=10)


def test_objective_w1_needs_no_feature_array(old_store):
    """objective_w1 reads f_x, which every store has."""
    store, acc = old_store
    result = evaluate(acc, make_method("objective_w1", profiles=store), n_boot=10)
    assert np.isfinite(result.predictions.to_numpy()).all()
