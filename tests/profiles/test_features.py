"""The optional feature arrays of a profile store (vlmsel.profiles.store.FEATURE_ARRAYS): written and checked by
``write_profile``, read back by ``ProfileStore.features``, and present in the committed mini store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.profiles.conftest import SETTINGS, VERSIONS, write_entry
from vlmsel.profiles.store import FEATURE_ARRAYS, FEATURE_DTYPES, ProfileStore, write_profile

N, L, E, K = 6, 4, 5, 3


def unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def base_arrays(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    out = {k: rng.random((N, L)) for k in ("abs", "l2", "signed", "branch")}
    out.update(
        f_x=rng.random(N),
        f_baseline=np.zeros(N),
        block_names=[f"b{i}" for i in range(L)],
        image_ids=[f"i{i}" for i in range(N)],
    )
    return out


def feature_arrays(seed: int = 0) -> dict:
    rng = np.random.default_rng(100 + seed)
    return {
        "embedding": unit(rng.standard_normal((N, E))),
        "pixel_stats": rng.random((N, 7)),
        "class_embeddings": unit(rng.standard_normal((K, E))),
        "class_names": ["cat", "dog", "ship"],
        "zs_logits": 30.0 * rng.standard_normal((N, K)),
    }


def manifest() -> dict:
    return {
        **SETTINGS,
        "n_images": N,
        "versions": dict(VERSIONS),
        "image_sha256": [f"img{i}" for i in range(N)],
        "created": "2026-01-01T00:00:00+00:00",
    }


def write(folder: Path, features: dict, model: str = "m1 a", dataset: str = "d1") -> Path:
    return write_profile(folder, model, dataset, {**base_arrays(), **features}, manifest())


def test_round_trip(tmp_path):
    feats = feature_arrays()
    write(tmp_path, feats)
    store = ProfileStore(tmp_path)
    for name, dtype in FEATURE_DTYPES.items():  # embeddings at half precision, the rest single, as documented
        got = store.features("m1 a", "d1", name)
        assert got.dtype == dtype, name
        np.testing.assert_array_equal(got, feats[name].astype(dtype))
        assert not np.array_equal(got.astype(np.float64), feats[name])  # rounded
    assert FEATURE_DTYPES["embedding"] == np.float16
    assert store.features("m1 a", "d1", "class_names").tolist() == ["cat", "dog", "ship"]
    # per-image arrays are cut to the first n_images; the class arrays come whole
    for name in ("embedding", "pixel_stats", "zs_logits"):
        cut = store.features("m1 a", "d1", name, n_images=2)
        assert cut.shape[0] == 2, name
        np.testing.assert_array_equal(cut, store.features("m1 a", "d1", name)[:2])
    assert store.features("m1 a", "d1", "class_embeddings", n_images=2).shape == (K, E)
    assert store.features("m1 a", "d1", "class_names", n_images=2).shape == (K,)
    assert store.features("m1 a", "d1", "embedding", n_images=100).shape == (N, E)  # more than it holds: all
    # the normal arrays still read back, and the arrays are part of the checked entry
    arrays, man = store.read("m1 a", "d1")
    assert set(FEATURE_ARRAYS) <= set(arrays) and man["n_images"] == N
    np.testing.assert_array_equal(arrays["abs"], base_arrays()["abs"])


def test_the_image_arrays_without_class_names_are_accepted(tmp_path):
    feats = feature_arrays()
    write(tmp_path, {k: feats[k] for k in ("embedding", "pixel_stats")})
    store = ProfileStore(tmp_path)
    assert store.features("m1 a", "d1", "pixel_stats").shape == (N, 7)
    with pytest.raises(ValueError, match="'zs_logits'.*no class names"):
        store.features("m1 a", "d1", "zs_logits")


def _bad(name: str, value) -> dict:
    feats = feature_arrays()
    if value is None:
        del feats[name]
    else:
        feats[name] = value
    return feats


@pytest.mark.parametrize(
    ("feats", "needle"),
    [
        (_bad("embedding", np.ones((N + 1, E))), "'embedding' has shape"),
        (_bad("embedding", np.ones(N)), "'embedding' has shape"),
        (_bad("pixel_stats", np.ones((N, 6))), "'pixel_stats' has shape"),
        (_bad("pixel_stats", np.ones((N - 1, 7))), "'pixel_stats' has shape"),
        (_bad("zs_logits", np.ones((N, K + 1))), "'zs_logits' has shape"),
        (_bad("zs_logits", np.ones((N - 1, K))), "'zs_logits' has shape"),
        (_bad("class_embeddings", np.ones((K, E + 1))), "'class_embeddings' has shape"),
        (_bad("class_embeddings", np.ones((K + 1, E))), "'class_embeddings' has shape"),
        (_bad("class_names", ["cat", "dog"]), "'class_embeddings' has shape"),
        (_bad("class_names", None), r"\['class_embeddings', 'zs_logits'\] without the rest"),
        (_bad("zs_logits", None), r"\['class_embeddings', 'class_names'\] without the rest"),
        ({"zs_logits": np.ones((N, K))}, r"\['zs_logits'\] without the rest"),
        (_bad("embedding", np.full((N, E), np.nan)), "'embedding' holds NaN"),
        (_bad("class_embeddings", np.full((K, E), np.inf)), "'class_embeddings' holds NaN"),
        (_bad("pixel_stats", np.where(np.eye(N, 7) > 0, np.nan, 0.5)), "'pixel_stats' holds NaN"),
        (_bad("zs_logits", np.full((N, K), np.nan)), "'zs_logits' holds NaN"),
    ],
)
def test_wrong_shapes_and_values_are_refused_naming_the_array(tmp_path, feats, needle):
    with pytest.raises(ValueError, match=needle):
        write(tmp_path, feats)
    assert not list(tmp_path.glob("*/*.json"))  # nothing was written


def test_class_embeddings_width_is_checked_without_an_embedding(tmp_path):
    feats = feature_arrays()
    del feats["embedding"]
    write(tmp_path, feats)  # consistent on their own
    assert ProfileStore(tmp_path).features("m1 a", "d1", "class_embeddings").shape == (K, E)


def test_an_entry_without_the_arrays_names_itself_and_the_command(tmp_path):
    write_entry(tmp_path, "m1 a", "d1")  # the normal arrays only
    store = ProfileStore(tmp_path)
    for name in FEATURE_ARRAYS:
        with pytest.raises(ValueError, match=rf"'m1 a' / 'd1' has no '{name}' array") as err:
            store.features("m1 a", "d1", name)
        assert "vlmsel profile --overwrite" in str(err.value) and str(tmp_path) in str(err.value)


def test_unknown_names_and_bad_counts(tmp_path):
    write(tmp_path, feature_arrays())
    store = ProfileStore(tmp_path)
    with pytest.raises(ValueError, match="unknown feature array 'f_x'"):
        store.features("m1 a", "d1", "f_x")  # a stored array, but not a feature array
    with pytest.raises(ValueError, match="unknown feature array 'embeddings'"):
        store.features("m1 a", "d1", "embeddings")
    with pytest.raises(ValueError, match="n_images must be >= 1"):
        store.features("m1 a", "d1", "embedding", n_images=0)
    with pytest.raises(FileNotFoundError, match="no entry"):
        store.features("m1 a", "d2", "embedding")
