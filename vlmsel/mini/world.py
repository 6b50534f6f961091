"""The mini world registers itself with the core, as any other world would.

vlmsel's core (benchmarks, zoos, published profile stores) never names the mini world. This module's
:func:`register` is the ``vlmsel.worlds`` entry point of the package (``pyproject.toml``; see
:mod:`vlmsel.plugins`) and adds:

- the benchmark ``mini`` (:func:`vlmsel.mini.groundtruth.load_mini_benchmark`; reference dataset ``broad``);
- the zoo ``mini``: the trained mini models (:func:`vlmsel.mini.profiling.mini_zoo_entries`);
- the published profile store ``mini``: the committed ``data/mini/profiles`` (objective ``norm``), and
  ``mini-zs_max_logit``: ``data/mini/profiles_zs_max_logit`` (the task-aware objective, for ablations).

The world's folders are :mod:`vlmsel.mini.paths`, which every mini module imports; nothing imports this
module but the entry point. Registration imports nothing heavy: the loaders import the mini modules
(which need torch) when they are called, so registering stays cheap for the command line.
"""

from __future__ import annotations

from vlmsel.data.benchmarks import Benchmark, register_benchmark
from vlmsel.data.zoo import ZooEntry, register_zoo
from vlmsel.mini.paths import check_mini_dir, default_profile_store
from vlmsel.profiles.registry import PublishedStore, register_store

#: The name of the mini world's benchmark, zoo and published store.
NAME = "mini"
#: Printed with every result on the mini zoo.
ZOO_NOTE = (
    "the mini zoo: 26 tiny CLIP-style models that vlmsel trained on generated 64x64 images (data/mini), "
    "not real CLIP models; its ranking says nothing about which open_clip model suits your images"
)


# Imports inside the loaders: the mini modules import torch, and registration must stay cheap (see above).
def _benchmark(metric: str) -> Benchmark:
    from vlmsel.mini.groundtruth import load_mini_benchmark

    check_mini_dir()
    return load_mini_benchmark(metric)


def _zoo() -> list[ZooEntry]:
    from vlmsel.mini.models import is_trained
    from vlmsel.mini.profiling import mini_zoo_entries
    from vlmsel.mini.zoo import list_mini_models

    root = check_mini_dir()
    trained = [m for m in list_mini_models() if is_trained(m)]
    if not trained:
        raise FileNotFoundError(f"no trained mini model ({root}/models/*/training.json); run `vlmsel mini train`")
    return mini_zoo_entries(trained)


def register() -> None:
    """Register the benchmark, the zoo and the published profile store ``mini``."""
    register_benchmark(NAME, _benchmark, replace=True)
    register_zoo(NAME, NAME, _zoo, replace=True, note=ZOO_NOTE)
    register_store(
        PublishedStore(
            name=NAME,
            zoo=NAME,
            path=str(default_profile_store()),
            description="the mini world's zoo profiled on the mini tasks (100 images per task, pooled at N = 25 by default; the default setting: 8 steps, trapezoid; "
            "with image embeddings and zero-shot logits), "
            "committed in data/mini/profiles; build it with `vlmsel mini profile`",
        ),
        replace=True,
    )
    register_store(
        PublishedStore(
            name=f"{NAME}-zs_max_logit",
            zoo=NAME,
            path=str(default_profile_store(objective="zs_max_logit")),
            description="the same with the task-aware objective zs_max_logit (class names needed), committed in "
            "data/mini/profiles_zs_max_logit; build it with `vlmsel mini profile --objective zs_max_logit`",
        ),
        replace=True,
    )
