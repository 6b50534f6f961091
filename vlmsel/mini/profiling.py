"""Profiling the mini zoo on the mini tasks with the ordinary pipeline (:mod:`vlmsel.profiles.compute`).

Nothing here computes conductance: the mini world only supplies the pipeline's two inputs.

- :func:`mini_zoo_entries`: the trained mini models as :class:`vlmsel.data.zoo.ZooEntry` objects, after
  registering their weights as open_clip pretrained tags (:func:`vlmsel.mini.models.register_mini_pretrained`),
  so :func:`vlmsel.data.zoo.load_model` loads them by their names (``"mini-rn-w8 web"``).
- :func:`mini_task`: a mini task as a :class:`vlmsel.data.tasks.Task` whose image source generates the
  task's evaluation split in memory (ids ``"<task>-<seed>-<index>.png"``, labels = class names).

:func:`profile_mini` runs :func:`vlmsel.profiles.compute.run_profiles` on them (default: the settings of
:class:`vlmsel.profiles.compute.ProfileSettings`; ``vlmsel mini profile`` passes the committed stores' setting,
100 images per task at the default setting: 8 steps, trapezoid). Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from PIL import Image

from vlmsel.data.tasks import Task, pixels_sha256
from vlmsel.data.zoo import ZooEntry
from vlmsel.mini.models import ARCH_FAMILY, is_trained, register_mini_pretrained
from vlmsel.mini.paths import default_mini_dir, default_profile_store
from vlmsel.mini.tasks import DEFAULT_N_IMAGES, TaskData, list_tasks, make_task_data
from vlmsel.mini.zoo import MINI_ZOO
from vlmsel.profiles.compute import ProfileSettings, run_profiles


class MiniTaskSource:
    """An image source (:class:`vlmsel.data.tasks.ImageSource`) over a generated task split."""

    def __init__(self, data: TaskData):
        self.data = data
        self.description = f"generated mini task {data.name} (seed {data.seed}, {len(data)} images)"
        self._index = {f"{iid}.png": i for i, iid in enumerate(data.image_ids)}

    def ids(self) -> list[str]:
        return list(self._index)

    def read(self, image_id: str) -> tuple[Image.Image, str, Any]:
        try:
            i = self._index[image_id]
        except KeyError:
            raise KeyError(f"mini task {self.data.name!r} has no image {image_id!r}") from None
        img = Image.fromarray(self.data.images[i])
        return img, pixels_sha256(img), self.data.classnames[int(self.data.labels[i])]


def mini_task(name: str, n: int = DEFAULT_N_IMAGES, seed: int = 0):
    """The mini task ``name`` as a :class:`vlmsel.data.tasks.Task` (class names and templates included)."""
    data = make_task_data(name, n=n, seed=seed)
    return Task(name, MiniTaskSource(data), classnames=data.classnames, templates=data.templates)


def mini_zoo_entries(models: Sequence[str] | None = None, root: str | os.PathLike | None = None) -> list:
    """Trained mini models as zoo entries (family, parameters and GFLOPs from ``models.csv`` when present)."""
    register_mini_pretrained(root)
    specs = [s for s in MINI_ZOO if models is None or s.name in models]
    if models is not None:
        unknown = sorted(set(models) - {s.name for s in specs})
        if unknown:
            raise KeyError(f"unknown mini model(s) {unknown}; mini models: {[s.name for s in MINI_ZOO]}")
    missing = [s.name for s in specs if not is_trained(s.name, root)]
    if missing:
        raise FileNotFoundError(f"mini model(s) not trained: {missing} (run `vlmsel mini train`)")
    info = None
    info_path = (Path(root) if root is not None else default_mini_dir()) / "models.csv"
    if info_path.is_file():
        info = pd.read_csv(info_path, index_col="model")
    entries = []
    for s in specs:
        # built directly (not with vlmsel.data.zoo.zoo_entry, which consults open_clip's published table)
        extra: dict[str, Any] = dict(family=ARCH_FAMILY[s.arch], quick_gelu=False)
        if info is not None and s.name in info.index:
            for k in ("params_M", "gflops", "image_params_M", "image_gflops"):
                extra[k] = float(info.at[s.name, k])
        entries.append(ZooEntry(arch=s.arch, pretrained=s.mixture, **extra))
    return entries


def profile_mini(
    store: str | os.PathLike | None = None,
    models: Sequence[str] | None = None,
    tasks: Sequence[str] | None = None,
    settings=None,
    *,
    root: str | os.PathLike | None = None,
    show_progress: bool | None = None,
):
    """Profile trained mini models on mini tasks into ``store`` (default: the committed store of the
    settings' objective, ``<mini dir>/profiles`` or ``<mini dir>/profiles_zs_max_logit``).

    ``settings`` is a :class:`vlmsel.profiles.compute.ProfileSettings` (default: ``ProfileSettings()``, the
    package's default setting at N = 25; the committed stores were made with ``vlmsel mini profile``'s
    defaults, see its ``--help``). Always on CPU. Resumable like :func:`vlmsel.profiles.compute.run_profiles`, which does the work.
    """
    settings = settings or ProfileSettings()
    tasks = list(tasks) if tasks is not None else list_tasks()
    entries = mini_zoo_entries(models, root)
    opened = [mini_task(t) for t in tasks]
    store = Path(store) if store is not None else default_profile_store(root, objective=settings.objective)
    return run_profiles(entries, opened, store, settings, device="cpu", show_progress=show_progress)
