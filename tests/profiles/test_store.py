"""Profile store (vlmsel.profiles.store): the agreed on-disk format, atomic writes, manifests last,
interrupted entries, and pooling stored scalars into task profiles."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from vlmsel.profiles.pooling import Profiles, task_profile
from vlmsel.profiles.store import (
    ProfileStore,
    has_profile,
    model_slug,
    read_profile,
    write_profile,
)

MODEL = "ViT-B-32 laion2b_s34b_b79k"


def arrays(n=4, l=3, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random((n, l))
    return {
        "abs": a,
        "l2": a / 2,
        "signed": a - 0.5,
        "branch": np.full((n, l), np.nan),
        "f_x": rng.random(n),
        "f_baseline": np.zeros(n),
        "block_names": [f"visual.transformer.resblocks.{i}" for i in range(l)],
        "image_ids": [f"img{i:03d}" for i in range(n)],
    }


def test_slug():
    assert model_slug("ViT-B-32 laion2b_s34b_b79k") == "ViT-B-32__laion2b_s34b_b79k"
    assert model_slug("hf-hub:org/model x") == "hf-hub:org_model__x"


def test_round_trip_and_layout(tmp_path):
    store = tmp_path / "store"
    path = write_profile(store, MODEL, "cars", arrays(), {"seed": 0, "n_steps": 50, "method": "gausslegendre"})
    assert json.loads((store / "store.json").read_text()) == {"format": "vlmsel-profile-store", "version": 2}
    assert path == store / "ViT-B-32__laion2b_s34b_b79k" / "cars.json"
    assert (store / "ViT-B-32__laion2b_s34b_b79k" / "cars.npz").exists()
    got, manifest = read_profile(store, MODEL, "cars")
    want = arrays()
    for key in ("abs", "l2", "signed", "f_x", "f_baseline"):
        np.testing.assert_array_equal(got[key], want[key])
    assert np.isnan(got["branch"]).all()
    assert list(got["block_names"]) == want["block_names"] and list(got["image_ids"]) == want["image_ids"]
    assert manifest["model"] == MODEL and manifest["dataset"] == "cars" and manifest["n_images"] == 4
    assert manifest["image_ids"] == want["image_ids"] and manifest["block_names"] == want["block_names"]
    assert manifest["seed"] == 0 and "created" in manifest
    with np.load(store / "ViT-B-32__laion2b_s34b_b79k" / "cars.npz", allow_pickle=False) as data:
        assert set(data.files) == {"abs", "l2", "signed", "branch", "f_x", "f_baseline", "block_names", "image_ids"}
        assert data["image_ids"].dtype.kind == "U"


def test_writes_a_conductance_result_with_tensors(tmp_path):
    a = arrays()
    result = SimpleNamespace(
        scalars={k: torch.tensor(a[k]) for k in ("abs", "l2", "signed", "branch")},
        block_names=a["block_names"],
        f_x=torch.tensor(a["f_x"], requires_grad=True),
        f_baseline=torch.tensor(a["f_baseline"]),
    )
    write_profile(tmp_path, MODEL, "cars", result, {"image_ids": a["image_ids"]})
    got, _ = read_profile(tmp_path, MODEL, "cars")
    np.testing.assert_allclose(got["f_x"], a["f_x"])


def test_interrupted_write_is_absent_and_named(tmp_path):
    write_profile(tmp_path, MODEL, "cars", arrays())
    # a manifest that cannot be serialised fails after the arrays were written: no manifest, no entry
    with pytest.raises(TypeError):
        write_profile(tmp_path, MODEL, "dtd", arrays(), {"device": object()})
    assert (tmp_path / model_slug(MODEL) / "dtd.npz").exists()
    assert not has_profile(tmp_path, MODEL, "dtd")
    assert not list(tmp_path.rglob("*.partial"))
    with pytest.raises(FileNotFoundError, match="interrupted write .* 'dtd'"):
        read_profile(tmp_path, MODEL, "dtd")
    store = ProfileStore(tmp_path)
    assert store.datasets == ["cars"]
    # rewriting an entry drops the old manifest first
    write_profile(tmp_path, MODEL, "cars", arrays(seed=1))
    np.testing.assert_array_equal(read_profile(tmp_path, MODEL, "cars")[0]["abs"], arrays(seed=1)["abs"])


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda a: a.update(abs=np.ones((4, 2))), "'abs' has shape"),
        (lambda a: a.update(f_x=np.ones(3)), "'f_x' has shape"),
        (lambda a: a.pop("image_ids"), "lack"),
    ],
)
def test_bad_arrays_raise(tmp_path, change, match):
    a = arrays()
    change(a)
    with pytest.raises(ValueError, match=match):
        write_profile(tmp_path, MODEL, "cars", a)
    assert not has_profile(tmp_path, MODEL, "cars")


def test_manifest_must_agree(tmp_path):
    with pytest.raises(ValueError, match="n_images"):
        write_profile(tmp_path, MODEL, "cars", arrays(), {"n_images": 25})
    with pytest.raises(ValueError, match="dataset name .*holds a path separator; refused"):
        write_profile(tmp_path, MODEL, "../evil", arrays())
    with pytest.raises(TypeError, match="ConductanceResult or a dict"):
        write_profile(tmp_path, MODEL, "cars", [1, 2, 3])


def test_store_marker_checks(tmp_path):
    with pytest.raises(FileNotFoundError, match="no profile store"):
        ProfileStore(tmp_path / "none")
    ProfileStore(tmp_path / "new", create=True)
    assert (tmp_path / "new" / "store.json").exists()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "store.json").write_text('{"format": "other", "version": 1}')
    with pytest.raises(ValueError, match="format"):
        ProfileStore(tmp_path / "bad")


def make_store(tmp_path, models=("a x", "b y"), datasets=("cars", "dtd", "pets"), blocks=(3, 5)):
    store = ProfileStore(tmp_path / "s", create=True)
    raw = {}
    for mi, (m, l) in enumerate(zip(models, blocks)):
        for di, d in enumerate(datasets):
            a = arrays(n=6, l=l, seed=10 * mi + di)
            store.write(m, d, a, {"seed": 0})
            raw.setdefault(m, {})[d] = a
    return store, raw


def test_store_listing_and_task_profiles(tmp_path):
    store, raw = make_store(tmp_path)
    assert store.models == ["a x", "b y"] and store.datasets == ["cars", "dtd", "pets"]
    assert store.available().to_numpy().all()
    np.testing.assert_array_equal(store.block_scalars("b y", "dtd", "l2"), raw["b y"]["dtd"]["l2"])
    np.testing.assert_array_equal(store.block_scalars("b y", "dtd", "l2", n_images=2), raw["b y"]["dtd"]["l2"][:2])
    with pytest.raises(ValueError, match="n_images must be >= 1"):
        store.block_scalars("b y", "dtd", n_images=0)
    prof = store.task_profiles(["b y", "a x"], ["pets", "cars"])
    assert isinstance(prof, Profiles) and prof.shape == (2, 2, 5) and list(prof.n_blocks) == [5, 3]
    np.testing.assert_allclose(prof.profile("a x", "pets"), task_profile(raw["a x"]["pets"]["abs"]))
    signed = store.task_profiles(scalar="signed", pooling="normalised_mean")
    np.testing.assert_allclose(
        signed.profile("b y", "cars"), task_profile(np.abs(raw["b y"]["cars"]["signed"]), "normalised_mean")
    )
    with pytest.raises(ValueError, match="NaN .*'a x'.*'cars'"):
        store.task_profiles(scalar="branch")
    with pytest.raises(ValueError, match="unknown block scalar"):
        store.block_scalars("a x", "cars", "grad")


def test_task_profiles_pool_the_first_n_images(tmp_path):
    store, raw = make_store(tmp_path)
    c = raw["a x"]["pets"]["abs"]
    assert len(c) >= 2
    prof = store.task_profiles(["a x"], ["pets"], n_images=2)
    np.testing.assert_allclose(prof.profile("a x", "pets"), task_profile(c[:2]))
    assert not np.allclose(prof.profile("a x", "pets"), task_profile(c))
    np.testing.assert_allclose(
        store.task_profiles(["a x"], ["pets"], n_images=len(c)).profile("a x", "pets"), task_profile(c)
    )
    # "at most": an entry holding fewer images than asked is pooled whole
    np.testing.assert_allclose(
        store.task_profiles(["a x"], ["pets"], n_images=len(c) + 1).profile("a x", "pets"), task_profile(c)
    )
    with pytest.raises(ValueError, match="n_images must be >= 1"):
        store.task_profiles(n_images=0)


def test_task_profiles_missing_and_inconsistent_blocks(tmp_path):
    store, _ = make_store(tmp_path)
    with pytest.raises(FileNotFoundError, match="lacks 1 entries: a x / sun397"):
        store.task_profiles(["a x"], ["cars", "sun397"])
    a = arrays(n=6, l=3)
    a["block_names"] = ["x0", "x1", "x2"]
    store.write("a x", "dtd", a)
    with pytest.raises(ValueError, match="different blocks on dataset 'dtd'"):
        store.task_profiles(["a x"], ["cars", "dtd"])


def test_a_store_serves_a_read_entry_from_memory_until_its_files_change(tmp_path):
    """ProfileStore.read checks and loads an entry once; a rewritten entry (new files) is read anew, and the
    arrays it shares with later readers cannot be written to."""
    from tests.profiles.conftest import write_entry

    write_entry(tmp_path, "m1 a", "d1", seed=0)
    store = ProfileStore(tmp_path)
    first, _ = store.read("m1 a", "d1")
    again, _ = store.read("m1 a", "d1")
    assert again["abs"] is first["abs"]  # served from memory
    with pytest.raises(ValueError, match="read-only"):
        first["abs"][0, 0] = 1.0
    write_entry(tmp_path, "m1 a", "d1", seed=1)  # rewritten: other values, new files
    fresh, _ = store.read("m1 a", "d1")
    assert not np.array_equal(fresh["abs"], first["abs"])
    np.testing.assert_array_equal(fresh["abs"], read_profile(tmp_path, "m1 a", "d1")[0]["abs"])
