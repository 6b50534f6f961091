"""Where the mini world's files live: its data folder, its committed profile stores and sweep files.

The bottom of the mini world: every module that needs a path imports this one, which imports nothing
of the mini world (its registration, :mod:`vlmsel.mini.world`, sits on top and imports it).
Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the mini data folder (see :func:`default_mini_dir`).
MINI_DIR_ENV = "VLMSEL_MINI_DIR"
#: The committed mini profile store, relative to the mini data folder.
PROFILE_STORE_DIR = "profiles"
#: The committed store of the task-aware objective ``zs_max_logit`` (same settings otherwise).
ZS_PROFILE_STORE_DIR = "profiles_zs_max_logit"


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
        raise FileNotFoundError(
            f"{MINI_DIR_ENV}={env}: no such folder; unset it to use the packaged mini world, "
            "or point it at a folder made by `vlmsel mini train`"
        )
    raise FileNotFoundError(
        f"the mini world's folder {path} is missing; set {MINI_DIR_ENV} to a folder made by `vlmsel mini train`"
    )


def default_profile_store(root: str | os.PathLike | None = None, objective: str = "norm") -> Path:
    """The committed mini profile store of ``objective`` (``"norm"``: ``<mini dir>/profiles``,
    ``"zs_max_logit"``: ``<mini dir>/profiles_zs_max_logit``)."""
    folders = {"norm": PROFILE_STORE_DIR, "zs_max_logit": ZS_PROFILE_STORE_DIR}
    if objective not in folders:
        raise ValueError(f"the mini world has profile stores for the objectives {sorted(folders)}, not {objective!r}")
    return (Path(root) if root is not None else default_mini_dir()) / folders[objective]


def fidelity_sweep_path(root: str | os.PathLike | None = None) -> Path:
    """The fidelity sweep of the mini world, ``<mini dir>/fidelity.npz`` (read with
    :func:`vlmsel.evaluation.fidelity.load_sweep`; written by ``perf/fidelity_sweep.py``)."""
    return (Path(root) if root is not None else default_mini_dir()) / "fidelity.npz"


def variants_path(root: str | os.PathLike | None = None) -> Path:
    """Baseline, granularity and precision variants of the default setting on the mini world,
    ``<mini dir>/variants.npz`` (the sweep's format, :func:`vlmsel.evaluation.fidelity.load_sweep`;
    written by ``perf/fidelity_sweep.py variants``)."""
    return (Path(root) if root is not None else default_mini_dir()) / "variants.npz"
