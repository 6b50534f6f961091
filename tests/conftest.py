"""Test settings (offline, quiet, ground truth from the local copy beside the project, as in CI) and the
fixtures shared by several test folders: tiny open_clip architectures, generated image folders and a
small profiled world of source tasks.

The test folders are packages (``__init__.py``), so two test modules may share a file name.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLMSEL_PROGRESS", "0")
if "VLMSEL_DATA_DIR" not in os.environ and (SHARED_DATA / "lovm" / "LOVM" / "eval_table.csv").is_file():
    os.environ["VLMSEL_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a test module with one torch thread (tiny models on 2 shared cores stall with more), then restore."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------ tiny open_clip models
# the vocabulary of open_clip's default tokenizer, so the tiny models can encode class prompts (--classes)
_TEXT_CFG = {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}

#: The profiling tests' two families: a ViT (2 residual blocks) and a ModifiedResNet (4 bottlenecks).
_TINY_CONFIGS = {
    "vlmsel_test_vit": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": _TEXT_CFG,
    },
    "vlmsel_test_rn": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": [1, 1, 1, 1], "width": 8},
        "text_cfg": _TEXT_CFG,
    },
}
_TINY_MODELS = ("vlmsel_test_vit random", "vlmsel_test_rn random")

#: The selection tests' models: a 4-block ViT and a 5-bottleneck ModifiedResNet (softmax_z needs more
#: than 2 blocks to tell tasks apart).
_SELECT_CONFIGS = {
    "vlmsel_sel_vit": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 4, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": _TEXT_CFG,
    },
    "vlmsel_sel_rn": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": [2, 1, 1, 1], "width": 8},
        "text_cfg": _TEXT_CFG,
    },
}
#: Three models (two random ViTs differ by their init seed, which hashes the full name), with GFLOPs set.
_SELECT_ZOO = (
    {"arch": "vlmsel_sel_vit", "pretrained": "a", "family": "ViT", "image_gflops": 0.02, "params_M": 0.1},
    {"arch": "vlmsel_sel_vit", "pretrained": "b", "family": "ViT", "image_gflops": 0.05, "params_M": 0.1},
    {"arch": "vlmsel_sel_rn", "pretrained": "a", "family": "ResNet", "image_gflops": 0.01, "params_M": 0.2},
)
_SOURCES = ("src0", "src1", "src2")
_N_SRC = 6
_N_STEPS = 4


def _write_configs(folder: Path, configs: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, cfg in configs.items():
        (folder / f"{name}.json").write_text(json.dumps(cfg))
    return folder


@pytest.fixture(scope="session")
def tiny_models() -> list[str]:
    """Full names of the two tiny random-init models of the profiling tests (see :func:`tiny_configs`)."""
    return list(_TINY_MODELS)


@pytest.fixture(scope="session")
def tiny_configs():
    """``write(folder, register=False) -> folder``: the tiny ViT and ResNet configs as open_clip JSON files,
    registered with open_clip when ``register``."""

    def write(folder: Path, register: bool = False) -> Path:
        folder = _write_configs(Path(folder), _TINY_CONFIGS)
        if register:
            from vlmsel.data.zoo import register_model_configs

            register_model_configs(folder)
        return folder

    return write


def _random_task(folder: Path, n: int, seed: int, size=(40, 36)) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    scale = 0.3 + 0.7 * (seed % 3) / 2
    for i in range(n):
        arr = (rng.random((size[1], size[0], 3)) * 255 * scale).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"img{i:02d}.png")
    return folder


@pytest.fixture(scope="session")
def make_task():
    """``make_task(folder, n, seed, size=(40, 36)) -> folder``: ``n`` random RGB PNGs; tasks made with
    different seeds have different brightness and texture."""
    return _random_task


def _generated_images(folder: Path, n: int, kind: int, seed: int = 0, size=(40, 36), fmt: str = "png") -> Path:
    from PIL import Image

    rng = np.random.default_rng(1000 * kind + seed)
    folder.mkdir(parents=True, exist_ok=True)
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    for i in range(n):
        if kind == 0:
            base = np.stack([xx, yy, 0.5 * (xx + yy)], -1) * rng.uniform(0.5, 1.0, 3)
        elif kind == 1:
            base = rng.random((h, w, 3))
        else:
            f = rng.uniform(3, 8)
            base = (0.5 + 0.5 * np.sin(2 * np.pi * f * xx))[..., None] * rng.uniform(0.3, 1.0, 3)
        arr = (np.clip(base, 0, 1) * 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"img{seed}_{i:02d}.{fmt}")
    return folder


@pytest.fixture(scope="session")
def make_images():
    """``make_images(folder, n, kind, seed=0, size=(40, 36), fmt="png") -> folder``: ``n`` generated images
    of one of three distributions: 0 smooth gradients, 1 noise, 2 stripes."""
    return _generated_images


def _latin_square_accuracies(models: list[str], sources: list[str]) -> pd.DataFrame:
    """Made-up accuracies (models x sources), a Latin square: model ``i`` is best on source ``i`` and
    every model has the same average rank, so only the target's resemblance to a source decides."""
    m = len(models)
    acc = np.array([[0.9 - 0.2 * ((i - j) % m) for j in range(len(sources))] for i in range(m)])
    return pd.DataFrame(acc, index=pd.Index(models, name="model"), columns=pd.Index(sources, name="dataset"))


@pytest.fixture(scope="session")
def select_zoo() -> list[dict]:
    """The selection tests' three-model zoo (a fresh copy of the items each time it is requested)."""
    return copy.deepcopy(list(_SELECT_ZOO))


@pytest.fixture(scope="session")
def build_world(make_images):
    """``build_world(base, zoo_items=None, sources=None, n_src=6, n_steps=4) -> dict``: source folders (one
    image distribution each) profiled into a store for the tiny selection models (random init).

    The dict holds ``zoo, folders, store, acc (Latin square, see _latin_square_accuracies), acc_csv,
    zoo_csv, configs, base, sources, n_steps``.
    """

    def build(
        base: Path,
        zoo_items: list[dict] | None = None,
        sources: list[str] | None = None,
        n_src: int = _N_SRC,
        n_steps: int = _N_STEPS,
    ) -> dict:
        from vlmsel.data.tasks import open_task
        from vlmsel.data.zoo import load_zoo, register_model_configs
        from vlmsel.profiles.compute import ProfileSettings, run_profiles

        zoo_items = copy.deepcopy(list(_SELECT_ZOO)) if zoo_items is None else zoo_items
        sources = list(_SOURCES) if sources is None else list(sources)
        register_model_configs(_write_configs(base / "configs", _SELECT_CONFIGS))
        zoo = load_zoo(zoo_items)
        folders = {s: make_images(base / s, n_src, kind=i) for i, s in enumerate(sources)}
        tasks = [open_task(s, path=p) for s, p in folders.items()]
        settings = ProfileSettings(n_images=n_src, n_steps=n_steps, pretrained=False, internal_batch_size=16)
        run_profiles(zoo, tasks, base / "store", settings, device="cpu", show_progress=False)
        acc = _latin_square_accuracies([e.name for e in zoo], sources)
        acc_csv = base / "acc.csv"
        acc.to_csv(acc_csv)
        zoo_csv = base / "zoo.csv"
        pd.DataFrame(zoo_items).to_csv(zoo_csv, index=False)
        return {
            "zoo": zoo,
            "folders": folders,
            "store": base / "store",
            "acc": acc,
            "acc_csv": acc_csv,
            "zoo_csv": zoo_csv,
            "configs": base / "configs",
            "base": base,
            "sources": sources,
            "n_steps": n_steps,
        }

    return build


def one_error_line(capsys, *needles: str) -> str:
    """The command's stderr, asserted to be one line (no traceback) holding every one of ``needles``."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


# ------------------------------------------------------------------------------ random method inputs
@pytest.fixture
def random_world():
    """Factory ``random_world(seed, n_models, datasets) -> (Profiles, accuracies)``: random Dirichlet task
    profiles of models with 3-7 blocks and uniform random accuracies (DataFrame models x datasets)."""
    import pandas as pd

    from vlmsel.profiles.pooling import Profiles

    def make(seed=0, n_models=6, datasets=("s1", "s2", "s3", "t")):
        rng = np.random.default_rng(seed)
        models = [f"m{i}" for i in range(n_models)]
        prof = Profiles.from_dict(
            {m: rng.dirichlet(np.ones(l), size=len(datasets)) for m, l in zip(models, rng.integers(3, 8, n_models))},
            datasets,
        )
        acc = pd.DataFrame(rng.random((n_models, len(datasets))), index=models, columns=list(datasets))
        return prof, acc

    return make


# ------------------------------------------------------------------------------ the wheel, fresh environments
@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout, built once per session (``pip wheel --no-deps``, about 6 s) from a copy
    without the virtual environment, build outputs and caches; the copy is removed (no checkout left)."""
    import shutil
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(
        ROOT, src, ignore=shutil.ignore_patterns(".venv", "_build", ".git", "*.egg-info", "build", "__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(src),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(base / "dist"),
        ],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(src)
    (wheel,) = (base / "dist").glob("vlmsel-*.whl")
    return wheel


@pytest.fixture(scope="session")
def fresh_venv():
    """``fresh_venv(folder, packages) -> python``: a virtual environment without pip whose only installed
    packages are what the folder ``packages`` holds (added to its ``sys.path`` by a ``.pth`` file); returns
    the path of its interpreter."""
    import subprocess
    import sys

    def make(folder: Path, packages: Path) -> Path:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
        python = folder / "bin" / "python"
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        (Path(purelib) / "deps.pth").write_text(f"{packages}\n")
        return python

    return make
