"""The mini world registers itself with the core, as any other world would.

vlmsel's core (benchmarks, zoos, published profile stores) never names the mini world. This module's
:func:`register` is the ``vlmsel.worlds`` entry point of the package (``pyproject.toml``; see
:mod:`vlmsel.plugins`) and adds:

- the benchmark ``mini`` (:func:`vlmsel.mini.groundtruth.load_mini_benchmark`; reference dataset ``broad``);
- the zoo ``mini``: the trained mini models (:func:`vlmsel.mini.profiling.mini_zoo_entries`);
- the published profile store ``mini``: the committed ``data/mini/profiles`` (objective ``norm``), and
  ``mini-zs_max_logit``: ``data/mini/profiles_zs_max_logit`` (the task-aware objective, for ablations).

Registration imports nothing heavy: the loaders import the mini modules (which need torch) when they
are called, so registering stays cheap for the command line.
"""

from __future__ import annotations

import os
from pathlib import Path

from vlmsel.data.benchmarks import Benchmark, register_benchmark
from vlmsel.data.zoo import ZooEntry, register_zoo
from vlmsel.profiles.registry import PublishedStore, register_store

#: The name of the mini world's benchmark, zoo and published store.
NAME = "mini"
#: Printed with every result on the mini zoo.
ZOO_NOTE = ("the mini zoo: 26 tiny CLIP-style models that vlmsel trained on generated 64x64 images (data/mini), "
            "not real CLIP models; its ranking says nothing about which open_clip model suits your images")
#: Environment variable naming the mini data folder (see :func:`default_mini_dir`).
MINI_DIR_ENV = "VLMSEL_MINI_DIR"
#: The committed mini profile store, relative to the mini data folder.
PROFILE_STORE_DIR = "profiles"
#: The committed store of the task-aware objective ``zs_max_logit`` (same settings otherwise).
ZS_PROFILE_STORE_DIR = "profiles_zs_max_logit"


def fidelity_sweep_path(root: str | os.PathLike | None = None) -> Path:
    """The fidelity sweep of the mini world, ``<mini dir>/fidelity.npz`` (read with
    :func:`vlmsel.evaluation.fidelity.load_sweep`; written by ``perf/fidelity_sweep.py``)."""
    return (Path(root) if root is not None else default_mini_dir()) / "fidelity.npz"


def variants_path(root: str | os.PathLike | None = None) -> Path:
    """Baseline, granularity and precision variants of the default setting on the mini world,
    ``<mini dir>/variants.npz`` (the sweep's format, :func:`vlmsel.evaluation.fidelity.load_sweep`;
    written by ``perf/fidelity_sweep.py variants``)."""
    return (Path(root) if root is not None else default_mini_dir()) / "variants.npz"


def default_mini_dir() -> Path:
    """The mini world's data folder: ``$VLMSEL_MINI_DIR``, else ``data/mini`` of the repository (a
    checkout or an editable install), else the copy installed with the wheel (package
    ``vlmsel.mini.data``, which the build maps to ``data/mini``)."""
    env = os.environ.get(MINI_DIR_ENV)
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2] / "data" / "mini"
    if repo.is_dir():
        return repo
    installed = Path(__file__).resolve().parent / "data"
    return installed if installed.is_dir() else repo


def check_mini_dir() -> Path:
    """:func:`default_mini_dir` when it is a folder; else FileNotFoundError naming it and, when
    ``$VLMSEL_MINI_DIR`` chose it, the variable."""
    path = default_mini_dir()
    if path.is_dir():
        return path
    env = os.environ.get(MINI_DIR_ENV)
    if env:
        raise FileNotFoundError(f"{MINI_DIR_ENV}={env}: no such folder; unset it to use the packaged mini world, "
                                "or point it at a folder made by `vlmsel mini train`")
    raise FileNotFoundError(f"the mini world's folder {path} is missing; set {MINI_DIR_ENV} to a folder made by "
                            "`vlmsel mini train`")


def default_profile_store(root: str | os.PathLike | None = None, objective: str = "norm") -> Path:
    """The committed mini profile store of ``objective`` (``"norm"``: ``<mini dir>/profiles``,
    ``"zs_max_logit"``: ``<mini dir>/profiles_zs_max_logit``)."""
    folders = {"norm": PROFILE_STORE_DIR, "zs_max_logit": ZS_PROFILE_STORE_DIR}
    if objective not in folders:
        raise ValueError(f"the mini world has profile stores for the objectives {sorted(folders)}, not {objective!r}")
    return (Path(root) if root is not None else default_mini_dir()) / folders[objective]


# Lazy imports below: the mini modules import torch, and registration must stay cheap (see above).
def _benchmark(metric: str) -> Benchmark:
    from vlmsel.mini.groundtruth import load_mini_benchmark

    check_mini_dir()
    return load_mini_benchmark(metric)


def _zoo() -> list[ZooEntry]:
    from vlmsel.mini.models import is_trained
    from vlmsel.mini.zoo import list_mini_models
    from vlmsel.mini.profiling import mini_zoo_entries

    root = check_mini_dir()
    trained = [m for m in list_mini_models() if is_trained(m)]
    if not trained:
        raise FileNotFoundError(f"no trained mini model ({root}/models/*/training.json); run `vlmsel mini train`")
    return mini_zoo_entries(trained)


def register() -> None:
    """Register the benchmark, the zoo and the published profile store ``mini``."""
    register_benchmark(NAME, _benchmark, replace=True)
    register_zoo(NAME, NAME, _zoo, replace=True, note=ZOO_NOTE)
    register_store(PublishedStore(
        name=NAME, zoo=NAME, path=str(default_profile_store()),
        description="the mini world's zoo profiled on the mini tasks (100 images per task, pooled at N = 25 by default; n_steps = 50), "
                    "committed in data/mini/profiles; build it with `vlmsel mini profile`"), replace=True)
    register_store(PublishedStore(
        name=f"{NAME}-zs_max_logit", zoo=NAME, path=str(default_profile_store(objective="zs_max_logit")),
        description="the same with the task-aware objective zs_max_logit (class names needed), committed in "
                    "data/mini/profiles_zs_max_logit; build it with `vlmsel mini profile --objective zs_max_logit`"),
        replace=True)
