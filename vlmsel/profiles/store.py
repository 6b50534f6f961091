"""The profile store: per-image block conductance of every (model, dataset), on disk.

Profiling a zoo is the expensive step (conductance of every block of every model on N images of every
dataset); everything after it is cheap. The profiling pipeline writes one entry per (model, dataset)
and the selection method reads them back. The format is small and documented::

    <store>/store.json                    {"format": "vlmsel-profile-store", "version": 2}
    <store>/<model_slug>/<dataset>.npz    arrays abs, l2, signed, branch (N, L); f_x, f_baseline (N,);
                                          block_names (L,) str; image_ids (N,) str; and, in entries
                                          profiled since vlmsel stores them (FEATURE_ARRAYS): embedding
                                          (N, E) unit image embeddings, pixel_stats (N, 7); where the
                                          task's class names are known, class_embeddings (K, E),
                                          class_names (K,) str, zs_logits (N, K)
    <store>/<model_slug>/<dataset>.json   manifest, written LAST (the completion marker): model
                                          ("arch pretrained"), dataset, n_images, image_ids, image_sha256,
                                          seed, n_steps, method, rule, baseline, objective, granularity,
                                          block_names, versions (python, torch, open_clip, vlmsel),
                                          wall_time_s, device, created (ISO time), arrays_sha256,
                                          entry_sha256 (of the manifest itself: settings included)
    <store>/<model_slug>/.<dataset>.claim while a process computes the entry (vlmsel.files.try_claim)

``model_slug`` replaces spaces with ``__`` and ``/`` with ``_``; a slug or dataset name that could leave
the store (``..``, a separator, a leading dot, a control character) is refused (:mod:`vlmsel.untrusted`),
and so is an entry whose manifest names another (model, dataset) than its own file's. Both files are written atomically
(:func:`vlmsel.files.atomic_write`) and the manifest last, so an entry without its manifest is an
interrupted write: it counts as absent and is overwritten by the next run. Arrays are saved compressed and without
pickling (strings as fixed-width unicode), so reading never executes code. The manifest records the
sha256 of the arrays file and ``entry_sha256`` the sha256 of the manifest's own content (its settings
included): a truncated, overwritten or edited entry is reported as damaged (:class:`DamagedEntryError`,
naming the file), never loaded. Stores of version 1 (made before ``entry_sha256``) are still read;
:func:`upgrade_store` adds the manifests' checksums.

The feature arrays are what the label-free signals other than DCD need (:mod:`vlmsel.method.signals`):
one forward pass per image, recorded while the entry is profiled, so evaluating those signals runs no
model. :meth:`ProfileStore.features` reads them; an entry made without them is named with the command that
adds them.

The store holds per-image scalars, not profiles: :meth:`ProfileStore.task_profiles` pools them
(:mod:`vlmsel.profiles.pooling`) into the :class:`~vlmsel.profiles.pooling.Profiles` that the selection method takes.
Tests and notebooks can skip the store and build :class:`~vlmsel.profiles.pooling.Profiles` in memory.

Taught in the chapter :ref:`ch-profiles` (how profiles are stored and reloaded).
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from vlmsel import jobs
from vlmsel.conductance.options import SCALARS, SIGNED_SCALARS
from vlmsel.files import atomic_write, sha256_bytes
from vlmsel.jobs import entry_path
from vlmsel.jobs import model_slug as model_slug  # (re-exported: the store names its folders so)
from vlmsel.profiles.pooling import Pooling, Profiles, task_profile
from vlmsel.untrusted import UnsafeInputError

STORE_FORMAT = "vlmsel-profile-store"
STORE_VERSION = 2
#: Store versions this vlmsel reads (version 1 stores have no ``entry_sha256`` in their manifests).
READABLE_VERSIONS = (1, 2)
STORE_FILE = "store.json"
#: Optional per-image arrays beside the block scalars (:func:`write_profile` checks their shapes):
#: ``embedding`` (N, E) unit image embeddings; ``pixel_stats`` (N, 7) model-free pixel statistics
#: (:data:`vlmsel.data.images.PIXEL_FEATURES`); with class names, ``class_embeddings`` (K, E) the unit
#: zero-shot class embeddings, ``class_names`` (K,) and ``zs_logits`` (N, K) the zero-shot logits with the
#: model's own logit scale (and bias).
FEATURE_ARRAYS: tuple[str, ...] = ("embedding", "pixel_stats", "class_embeddings", "class_names", "zs_logits")
#: The dtype each feature array is stored in, the unit embeddings at half precision (3 significant digits,
#: ample for means and kernel distances; they are most of an entry's size) and the rest in single precision.
FEATURE_DTYPES: dict[str, type] = {
    "embedding": np.float16,
    "class_embeddings": np.float32,
    "pixel_stats": np.float32,
    "zs_logits": np.float32,
}
#: Manifest fields the profiling pipeline records (``write_profile`` fills the first five itself).
MANIFEST_FIELDS: tuple[str, ...] = (
    "model",
    "dataset",
    "n_images",
    "image_ids",
    "block_names",
    "image_sha256",
    "seed",
    "n_steps",
    "method",
    "rule",
    "baseline",
    "objective",
    "granularity",
    "versions",
    "wall_time_s",
    "device",
    "created",
    "arrays_sha256",
    "entry_sha256",
)


def entry_paths(store: str | os.PathLike, model: str, dataset: str) -> tuple[Path, Path]:
    """The arrays and manifest files of one entry, ``<store>/<model_slug>/<dataset>.{npz,json}``
    (:func:`vlmsel.jobs.entry_path`); raises :class:`~vlmsel.untrusted.UnsafeInputError` when a name could
    leave the store or a link leads out."""
    return entry_path(store, model, dataset, ".npz"), entry_path(store, model, dataset, ".json")


def claim_path(store: "str | os.PathLike | ProfileStore", model: str, dataset: str) -> Path:
    """The claim file of one entry (:func:`vlmsel.jobs.claim_path`): ``<model_slug>/.<dataset>.claim``."""
    return jobs.claim_path(_store_root(store), model, dataset)


def partial_files(store: "str | os.PathLike | ProfileStore", model: str, dataset: str) -> list[Path]:
    """The temporary files an interrupted write of one entry left (:func:`vlmsel.files.atomic_write`)."""
    return jobs.partial_files(_store_root(store), model, dataset, (".npz", ".json"))


class DamagedEntryError(ValueError):
    """A store entry whose files are truncated, overwritten or do not match their recorded checksum."""


def _store_root(store: "str | os.PathLike | ProfileStore") -> Path:
    return store.path if isinstance(store, ProfileStore) else Path(store)


def _init_store(root: Path) -> None:
    marker = root / STORE_FILE
    if marker.exists():
        _check_marker(marker)
        return
    with atomic_write(marker, "w") as fh:
        json.dump({"format": STORE_FORMAT, "version": STORE_VERSION}, fh)
        fh.write("\n")


def _check_marker(marker: Path) -> int:
    """The store version ``store.json`` states, after checking it; ValueError naming the file otherwise."""
    try:
        if marker.is_symlink() or not marker.is_file():
            raise ValueError("not a regular file")
        if marker.stat().st_size > 1 << 16:
            raise ValueError("larger than 64 KiB")
        info = json.loads(marker.read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{marker} is not a profile store's marker file ({err}); is {marker.parent} a profile store?"
        ) from None
    if info.get("format") != STORE_FORMAT:
        raise ValueError(f"{marker} says format {info.get('format')!r}, expected {STORE_FORMAT!r}")
    if info.get("version") not in READABLE_VERSIONS:
        raise ValueError(
            f"{marker}: profile store version {info.get('version')!r}; this vlmsel reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))} (a newer vlmsel made it? upgrade vlmsel)"
        )
    return int(info["version"])


def check_store_folder(store: str | os.PathLike) -> int | None:
    """Before writing into ``store``: its version when it is a profile store, None when it is missing or
    holds no ``store.json`` yet (a new store, or one whose first entry was interrupted); ValueError when
    ``store.json`` is damaged or of another version, or when files lie beside the model folders (a store's
    top level holds only folders and its own files: it is some other folder)."""
    root = Path(store)
    marker = root / STORE_FILE
    if marker.exists() or marker.is_symlink():
        return _check_marker(marker)
    if root.exists() and not root.is_dir():
        raise ValueError(f"profile store {root}: not a folder")
    if root.is_dir():
        other = [p.name for p in root.iterdir() if not p.name.startswith(".") and not p.is_dir()]
        if other:
            raise ValueError(
                f"{root} holds files ({', '.join(sorted(other)[:3])}) but no {STORE_FILE}: not a profile "
                "store; give an empty or new folder"
            )
    return None


def entry_digest(manifest: Mapping[str, Any]) -> str:
    """The sha256 of a manifest's content without its ``entry_sha256`` (canonical JSON, sorted keys)."""
    body = {k: v for k, v in manifest.items() if k != "entry_sha256"}
    return sha256_bytes(json.dumps(body, sort_keys=True, separators=(",", ":"), default=_json_default).encode())


def _as_arrays(result_or_arrays: Any, manifest: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """ConductanceResult (``.scalars, .block_names, .f_x, .f_baseline``) or a dict -> validated arrays."""
    if isinstance(result_or_arrays, Mapping):
        src = dict(result_or_arrays)
    else:
        try:
            src = dict(result_or_arrays.scalars)
            src.update(
                block_names=result_or_arrays.block_names,
                f_x=result_or_arrays.f_x,
                f_baseline=result_or_arrays.f_baseline,
            )
        except AttributeError:
            raise TypeError(
                f"write_profile takes a ConductanceResult or a dict of arrays, not {type(result_or_arrays).__name__}"
            ) from None
    if "image_ids" not in src and "image_ids" in manifest:
        src["image_ids"] = manifest["image_ids"]
    missing = [k for k in (*SCALARS, "f_x", "f_baseline", "block_names", "image_ids") if k not in src]
    if missing:
        raise ValueError(f"profile arrays lack {missing}")
    out: dict[str, np.ndarray] = {key: _float_array(src[key]) for key in (*SCALARS, "f_x", "f_baseline")}
    out["block_names"] = np.asarray([str(b) for b in src["block_names"]], dtype=str)
    out["image_ids"] = np.asarray([str(i) for i in src["image_ids"]], dtype=str)
    n, n_blocks = len(out["image_ids"]), len(out["block_names"])
    for key in SCALARS:
        if out[key].shape != (n, n_blocks):
            raise ValueError(f"array {key!r} has shape {out[key].shape}, expected (N={n}, L={n_blocks})")
    for key in ("f_x", "f_baseline"):
        if out[key].shape != (n,):
            raise ValueError(f"array {key!r} has shape {out[key].shape}, expected (N={n},)")
    out.update(_feature_arrays(src, n))
    return out


def _feature_arrays(src: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
    """The optional :data:`FEATURE_ARRAYS` of ``src``, with their shapes checked against each other."""
    out: dict[str, np.ndarray] = {}
    for key, dtype in FEATURE_DTYPES.items():
        if key in src:
            out[key] = _float_array(src[key]).astype(dtype)
    if "class_names" in src:
        out["class_names"] = np.asarray([str(c) for c in src["class_names"]], dtype=str)
    for key, value in out.items():
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):  # (also what half precision overflows)
            raise ValueError(f"array {key!r} holds NaN or infinite values")
    emb = out.get("embedding")
    if emb is not None and (emb.ndim != 2 or emb.shape[0] != n or emb.shape[1] < 1):
        raise ValueError(f"array 'embedding' has shape {emb.shape}, expected (N={n}, E)")
    if "pixel_stats" in out and out["pixel_stats"].shape != (n, 7):
        raise ValueError(f"array 'pixel_stats' has shape {out['pixel_stats'].shape}, expected (N={n}, 7)")
    zero_shot = [k for k in ("class_embeddings", "class_names", "zs_logits") if k in out]
    if zero_shot and len(zero_shot) < 3:
        raise ValueError(f"arrays {zero_shot} without the rest of class_embeddings, class_names, zs_logits")
    if zero_shot:
        k = len(out["class_names"])
        width = emb.shape[1] if emb is not None else out["class_embeddings"].shape[-1]
        if out["class_embeddings"].shape != (k, width):
            raise ValueError(
                f"array 'class_embeddings' has shape {out['class_embeddings'].shape}, expected (K={k}, E={width})"
            )
        if out["zs_logits"].shape != (n, k):
            raise ValueError(f"array 'zs_logits' has shape {out['zs_logits'].shape}, expected (N={n}, K={k})")
    return out


def _float_array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def write_profile(
    store: "str | os.PathLike | ProfileStore",
    model: str,
    dataset: str,
    result_or_arrays: Any,
    manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Write one (model, dataset) entry: the arrays first, then the manifest (the completion marker).

    Parameters
    ----------
    store : the store folder (created with its ``store.json`` if missing) or a :class:`ProfileStore`.
    model : full name ``"<arch> <pretrained>"``.
    dataset : dataset name.
    result_or_arrays : a :class:`vlmsel.conductance.ConductanceResult` or a dict with ``abs, l2, signed,
        branch`` (N, L), ``f_x, f_baseline`` (N,), ``block_names`` (L,) and ``image_ids`` (N,) (the ids may
        come from ``manifest["image_ids"]`` instead).
    manifest : provenance (see :data:`MANIFEST_FIELDS`); ``model, dataset, n_images, image_ids,
        block_names`` are filled in (and must agree if given) and ``created`` defaults to now (UTC).

    Returns
    -------
    Path of the manifest.
    """
    manifest = dict(manifest or {})
    arrays = _as_arrays(result_or_arrays, manifest)
    derived = {
        "model": model,
        "dataset": dataset,
        "n_images": int(len(arrays["image_ids"])),
        "image_ids": arrays["image_ids"].tolist(),
        "block_names": arrays["block_names"].tolist(),
    }
    for key, value in derived.items():
        if key in manifest and manifest[key] != value:
            raise ValueError(f"manifest {key}={manifest[key]!r} disagrees with the arrays/arguments ({value!r})")
        manifest[key] = value
    manifest.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    root = _store_root(store)
    npz_path, json_path = entry_paths(root, model, dataset)
    _init_store(root)
    if json_path.exists():
        json_path.unlink()  # an entry being rewritten is incomplete until its new manifest lands
    buffer = io.BytesIO()
    payload: dict[str, Any] = dict(arrays)
    np.savez_compressed(buffer, **payload)
    data = buffer.getvalue()
    manifest["arrays_sha256"] = sha256_bytes(data)  # read_profile checks it: a damaged file is named
    with atomic_write(npz_path, "wb") as fh:
        fh.write(data)
    _write_manifest(json_path, manifest)
    return json_path


def _write_manifest(json_path: Path, manifest: Mapping[str, Any]) -> None:
    """Write a manifest with its ``entry_sha256`` (computed on the JSON round trip, as it will be read)."""
    plain = json.loads(json.dumps(dict(manifest), default=_json_default))
    plain["entry_sha256"] = entry_digest(plain)
    with atomic_write(json_path, "w") as fh:
        json.dump(plain, fh, indent=1)
        fh.write("\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"manifest value of type {type(obj).__name__} is not JSON serialisable")


_REPAIR = "rerun `vlmsel profile` on this store to recompute it, or delete the entry's .npz and .json"


def has_profile(store: "str | os.PathLike | ProfileStore", model: str, dataset: str) -> bool:
    """Whether a complete entry (its manifest exists) is stored for (model, dataset)."""
    return entry_paths(_store_root(store), model, dataset)[1].exists()


def read_profile(
    store: "str | os.PathLike | ProfileStore", model: str, dataset: str
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read one complete entry.

    Returns
    -------
    (arrays, manifest): ``arrays`` has ``abs, l2, signed, branch`` (N, L), ``f_x, f_baseline`` (N,),
    ``block_names`` (L,) and ``image_ids`` (N,).

    Raises
    ------
    FileNotFoundError : no entry, or an interrupted one (arrays without manifest), named in the message.
    ValueError : the files disagree with each other or with the format.
    """
    root = _store_root(store)
    npz_path, json_path = entry_paths(root, model, dataset)
    if not json_path.exists():
        state = "an interrupted write (arrays without manifest)" if npz_path.exists() else "no entry"
        raise FileNotFoundError(f"profile store {root}: {state} for model {model!r} on dataset {dataset!r}")
    manifest = _read_manifest(json_path)
    if "entry_sha256" in manifest or _version(store) >= 2:
        if manifest.get("entry_sha256") != entry_digest(manifest):
            raise DamagedEntryError(
                f"{json_path}: damaged or edited profile manifest (its content differs from its "
                f"entry_sha256); {_REPAIR}"
            )
    if not npz_path.exists():
        raise FileNotFoundError(f"{npz_path} is missing but its manifest exists (model {model!r}, dataset {dataset!r})")
    raw = npz_path.read_bytes()
    expected = manifest.get("arrays_sha256")
    if expected is not None and sha256_bytes(raw) != expected:
        raise DamagedEntryError(
            f"{npz_path}: damaged profile entry (its sha256 differs from the one in {json_path.name}); {_REPAIR}"
        )
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        # (numpy's message for non-npz bytes suggests allow_pickle, which would execute the file: never)
        reason = (
            "not an .npz archive"
            if not raw.startswith(b"PK")
            else f"truncated or corrupt archive: {type(err).__name__}"
        )
        raise DamagedEntryError(f"{npz_path}: damaged profile entry ({reason}); {_REPAIR}") from None
    try:
        checked = _as_arrays(arrays, {})
    except ValueError as err:
        raise ValueError(f"{npz_path}: {err}") from None
    if manifest.get("model") != model or manifest.get("dataset") != dataset:
        raise ValueError(f"{json_path} describes {manifest.get('model')!r} / {manifest.get('dataset')!r}")
    if manifest.get("n_images") != len(checked["image_ids"]):
        raise ValueError(
            f"{json_path}: n_images={manifest.get('n_images')} but the arrays hold {len(checked['image_ids'])}"
        )
    return checked, manifest


def _read_manifest(json_path: Path) -> dict[str, Any]:
    try:
        if json_path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError(f"larger than {MAX_MANIFEST_BYTES >> 20} MiB")
        manifest = json.loads(json_path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as err:
        raise DamagedEntryError(f"{json_path}: damaged profile manifest ({err}); {_REPAIR}") from None
    return manifest


#: The largest manifest read (a manifest of 10,000 images is about 1.5 MB).
MAX_MANIFEST_BYTES = 64 << 20


def _version(store: "str | os.PathLike | ProfileStore") -> int:
    """The store's version: a :class:`ProfileStore`'s, read when it was opened, else its ``store.json``'s."""
    if isinstance(store, ProfileStore):
        return store.version
    marker = Path(store) / STORE_FILE
    return _check_marker(marker) if marker.exists() else STORE_VERSION


def upgrade_store(store: str | os.PathLike) -> int:
    """Bring a version-1 store to version 2: every entry is checked (:func:`read_profile`) and its manifest
    rewritten with its ``entry_sha256``; then ``store.json`` says version 2. Returns the entries upgraded."""
    ps = ProfileStore(store)
    count = 0
    for m, d in ps._entries():
        manifest = read_profile(ps, m, d)[1]
        if "entry_sha256" not in manifest:
            _write_manifest(entry_paths(ps.path, m, d)[1], manifest)
            count += 1
    with atomic_write(ps.path / STORE_FILE, "w") as fh:
        json.dump({"format": STORE_FORMAT, "version": STORE_VERSION}, fh)
        fh.write("\n")
    return count


class ProfileStore:
    """A profile store folder (see the module docstring for the format).

    Parameters
    ----------
    path : the store folder.
    create : create the folder and its ``store.json`` if missing (default False: a missing store raises
        ``FileNotFoundError``).
    """

    def __init__(self, path: str | os.PathLike, create: bool = False) -> None:
        self.path = Path(path)
        marker = self.path / STORE_FILE
        if not marker.exists():
            if not create:
                raise FileNotFoundError(f"no profile store at {self.path} ({STORE_FILE} is missing)")
            _init_store(self.path)
        #: The version its ``store.json`` states (checked: a damaged or foreign marker raises ValueError).
        self.version = _check_marker(marker)
        self._read_cache: dict[tuple[str, str], tuple[tuple, tuple[dict[str, np.ndarray], dict[str, Any]]]] = {}

    def __repr__(self) -> str:
        return f"ProfileStore({str(self.path)!r})"

    def _entries(self) -> list[tuple[str, str]]:
        """(model, dataset) of every complete entry; a manifest that names another entry than its own file
        (a crafted or misplaced one) or a file reached through a link out of the store is refused."""
        out = []
        for json_path in sorted(self.path.glob("*/*.json")):
            if json_path.name.startswith(".") or not json_path.with_suffix(".npz").exists():
                continue
            info = _read_manifest(json_path)
            model, dataset = info.get("model"), info.get("dataset")
            if not isinstance(model, str) or not isinstance(dataset, str):
                raise DamagedEntryError(
                    f"{json_path}: a profile manifest without its model and dataset names; {_REPAIR}"
                )
            try:
                own = entry_paths(self.path, model, dataset)[1]
            except UnsafeInputError as err:
                raise UnsafeInputError(f"{json_path}: {err}") from None
            if own != json_path:
                raise UnsafeInputError(
                    f"{json_path} describes model {model!r} / dataset {dataset!r}, whose entry is "
                    f"{own}: a misplaced or crafted entry; refused"
                )
            out.append((model, dataset))
        return out

    @property
    def models(self) -> list[str]:
        """Models with at least one complete entry, sorted."""
        return sorted({m for m, _ in self._entries()})

    @property
    def datasets(self) -> list[str]:
        """Datasets with at least one complete entry, sorted."""
        return sorted({d for _, d in self._entries()})

    def available(self) -> pd.DataFrame:
        """Boolean DataFrame (models x datasets): True where a complete entry exists."""
        entries = self._entries()
        models = sorted({m for m, _ in entries})
        datasets = sorted({d for _, d in entries})
        table = pd.DataFrame(False, index=pd.Index(models, name="model"), columns=pd.Index(datasets, name="dataset"))
        for m, d in entries:
            table.loc[m, d] = True
        return table

    def has(self, model: str, dataset: str) -> bool:
        """Whether a complete entry exists for (model, dataset)."""
        return has_profile(self, model, dataset)

    def read(self, model: str, dataset: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, manifest) of one entry; see :func:`read_profile`. An entry read before is served from
        memory while its two files are unchanged (same size and modification time), so the methods that
        read one entry several times check and load it once."""
        npz_path, json_path = entry_paths(self.path, model, dataset)
        try:
            key = tuple((p.stat().st_size, p.stat().st_mtime_ns) for p in (npz_path, json_path))
        except OSError:
            key = ()
        cached = self._read_cache.get((model, dataset))
        if key and cached is not None and cached[0] == key:
            arrays, manifest = cached[1]
            return dict(arrays), dict(manifest)
        arrays, manifest = read_profile(self, model, dataset)
        for value in arrays.values():
            value.setflags(write=False)  # shared by every reader of the cache
        if key:
            self._read_cache[(model, dataset)] = (key, (arrays, manifest))
        return dict(arrays), dict(manifest)

    def write(self, model: str, dataset: str, result_or_arrays: Any, manifest: Mapping[str, Any] | None = None) -> Path:
        """Write one entry; see :func:`write_profile`."""
        return write_profile(self, model, dataset, result_or_arrays, manifest)

    def manifest(self, model: str, dataset: str) -> dict[str, Any]:
        """The manifest of one entry."""
        return self.read(model, dataset)[1]

    def block_scalars(self, model: str, dataset: str, scalar: str = "abs", n_images: int | None = None) -> np.ndarray:
        """Per-image block scalars, array (N, L), of one (model, dataset); with ``n_images``, at most the
        first ``n_images`` (as :meth:`task_profiles` pools them)."""
        if scalar not in SCALARS:
            raise ValueError(f"unknown block scalar {scalar!r}; choose one of {SCALARS}")
        if n_images is not None and int(n_images) < 1:
            raise ValueError(f"n_images must be >= 1, got {n_images}")
        c = self.read(model, dataset)[0][scalar]
        return c if n_images is None else c[: int(n_images)]

    def features(self, model: str, dataset: str, name: str, n_images: int | None = None) -> np.ndarray:
        """One of the :data:`FEATURE_ARRAYS` of one (model, dataset): the per-image rows (at most the first
        ``n_images``), or ``class_embeddings`` / ``class_names`` whole. ValueError naming the entry and the
        command that adds the array when the entry was made without it."""
        if name not in FEATURE_ARRAYS:
            raise ValueError(f"unknown feature array {name!r}; choose one of {FEATURE_ARRAYS}")
        if n_images is not None and int(n_images) < 1:
            raise ValueError(f"n_images must be >= 1, got {n_images}")
        arrays, _ = self.read(model, dataset)
        if name not in arrays:
            why = (
                "its task had no class names when it was profiled"
                if name in ("class_embeddings", "class_names", "zs_logits") and "embedding" in arrays
                else "it was profiled before vlmsel stored image embeddings"
            )
            raise ValueError(
                f"profile store {self.path}: the entry {model!r} / {dataset!r} has no {name!r} array ({why}); "
                "rerun `vlmsel profile --overwrite` on it (with the task's class names) to add it"
            )
        value = arrays[name]
        if n_images is None or name in ("class_embeddings", "class_names"):
            return value
        return value[: int(n_images)]

    def task_profiles(
        self,
        models: Sequence[str] | None = None,
        datasets: Sequence[str] | None = None,
        scalar: str = "abs",
        pooling: Pooling = "mean_of_normalised",
        n_images: int | None = None,
    ) -> Profiles:
        """Pool the stored block scalars into task profiles.

        Parameters
        ----------
        models, datasets : which to load (default: every model and dataset in the store); every pair
            must have a complete entry, else a ``FileNotFoundError`` lists the missing ones.
        scalar : ``"abs"`` (default), ``"l2"``, or ``"signed"``/``"branch"`` (their absolute value is
            pooled, since a profile is a distribution).
        pooling : see :func:`vlmsel.profiles.pooling.task_profile`.
        n_images : pool at most the first ``n_images`` images of every entry (default: all; an entry
            holding fewer is pooled whole). An entry's images are a seeded random sample of its task, so its
            first N are a random sample of N: a store profiled on 100 images per task serves every N up to
            100 without profiling again (``MethodOptions.source_images``, default 25).

        Returns
        -------
        Profiles of shape (n_models, n_datasets, L_max).
        """
        if scalar not in SCALARS:
            raise ValueError(f"unknown block scalar {scalar!r}; choose one of {SCALARS}")
        if n_images is not None and int(n_images) < 1:
            raise ValueError(f"n_images must be >= 1, got {n_images}")
        models = list(self.models if models is None else models)
        datasets = list(self.datasets if datasets is None else datasets)
        missing = [(m, d) for m in models for d in datasets if not self.has(m, d)]
        if missing:
            shown = ", ".join(f"{m} / {d}" for m, d in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise FileNotFoundError(f"profile store {self.path} lacks {len(missing)} entries: {shown}{more}")
        rows: dict[str, np.ndarray] = {}
        for m in models:
            per_dataset, names = [], None
            for d in datasets:
                arrays, _ = self.read(m, d)
                if names is None:
                    names = arrays["block_names"]
                elif not np.array_equal(names, arrays["block_names"]):
                    raise ValueError(f"model {m!r} has different blocks on dataset {d!r} than on {datasets[0]!r}")
                c = arrays[scalar]
                if n_images is not None:
                    c = c[: int(n_images)]
                if scalar in SIGNED_SCALARS:
                    c = np.abs(c)
                per_dataset.append(task_profile(c, pooling, model=m, dataset=d))
            rows[m] = np.stack(per_dataset)
        return Profiles.from_dict(rows, datasets)
