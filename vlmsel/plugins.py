"""Worlds outside the core: benchmarks, zoos and published profile stores registered by other packages.

The core of vlmsel knows the real benchmarks (LOVM, open_clip's table, SWAB) and the real zoos. Any
other *world* — the mini world of this repository, or yours — registers its pieces with
:func:`vlmsel.data.benchmarks.register_benchmark`, :func:`vlmsel.data.zoo.register_zoo` and
:func:`vlmsel.profiles.registry.register_store`, from a function that an installed package names under the
entry-point group ``vlmsel.worlds``::

    [project.entry-points."vlmsel.worlds"]
    mini = "vlmsel.mini.world:register"

:func:`load_worlds` calls every such function once, the first time a name is looked up that the core
does not know. The three kinds of name share one mechanism, :class:`Registry`. A world's ``register`` must be cheap (no torch import): it registers loaders, and the
loaders do the work when called. A world that fails to load is reported with its entry point named.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Callable, Generic, Mapping, TypeVar

T = TypeVar("T")

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


class Registry(Generic[T]):
    """The names of one kind (benchmarks, zoos, published stores): built into vlmsel, or registered by a world.

    Parameters
    ----------
    kind : what the names are, for messages (``"benchmark"``).
    builtin : a function returning the built-in ``{name: value}`` (called when needed, so a packaged
        file is read only on first use).
    """

    def __init__(self, kind: str, builtin: Callable[[], Mapping[str, T]]) -> None:
        self.kind = kind
        self._builtin = builtin
        self._registered: dict[str, T] = {}

    def register(self, name: str, value: T, *, replace: bool = False) -> None:
        """Add ``name``; a built-in name cannot be replaced, a registered one only with ``replace``
        (registering the same value again is fine)."""
        if name in self._builtin():
            raise ValueError(f"{self.kind} {name!r} is built into vlmsel and cannot be replaced")
        if name in self._registered and not replace and self._registered[name] != value:
            raise ValueError(f"{self.kind} {name!r} is already registered (pass replace=True)")
        self._registered[name] = value

    def get(self, name: str) -> T | None:
        """The value of ``name`` (built in first; the worlds are loaded only for other names), or None."""
        builtin = self._builtin()
        if name in builtin:
            return builtin[name]
        load_worlds()
        return self._registered.get(name)

    def items(self) -> dict[str, T]:
        """Every name and value: the built-in ones, then the registered ones (worlds loaded)."""
        load_worlds()
        return {**self._builtin(), **self._registered}

    def names(self) -> list[str]:
        """Every name, built-in ones first."""
        return list(self.items())
