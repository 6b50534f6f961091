"""Worlds outside the core: benchmarks, zoos and published profile stores registered by other packages.

The core of vlmsel knows the real benchmarks (LOVM, open_clip's table, SWAB) and the real zoos. Any
other *world* — the mini world of this repository, or yours — registers its pieces with
:func:`vlmsel.data.benchmarks.register_benchmark`, :func:`vlmsel.data.zoo.register_zoo` and
:func:`vlmsel.profiles.registry.register_store`, from a function that an installed package names under the
entry-point group ``vlmsel.worlds``::

    [project.entry-points."vlmsel.worlds"]
    mini = "vlmsel.mini.world:register"

:func:`load_worlds` calls every such function once, the first time a name is looked up that the core
does not know. A world's ``register`` must be cheap (no torch import): it registers loaders, and the
loaders do the work when called. A world that fails to load is reported with its entry point named.
"""

from __future__ import annotations

from importlib.metadata import entry_points

#: The entry-point group a world registers under.
ENTRY_POINT_GROUP = "vlmsel.worlds"

_loaded = False


class WorldLoadError(RuntimeError):
    """A registered world's ``register`` function could not be imported or failed."""


def load_worlds() -> None:
    """Call every ``vlmsel.worlds`` entry point's function, once per process."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            ep.load()()
        except Exception as err:  # a broken plugin must say which one it is
            raise WorldLoadError(f"world {ep.name!r} ({ep.value}) failed to register: {err}") from err
