"""Worlds outside the core register through the ``vlmsel.worlds`` entry point (vlmsel.plugins): the mini
world appears among the benchmarks, the zoos and the published stores without being imported by name,
registration is cheap, and a broken world is reported with its name."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from vlmsel import plugins
from vlmsel.data.benchmarks import benchmark_names
from vlmsel.data.zoo import named_zoo, zoo_names
from vlmsel.profiles import registry


def test_the_mini_world_is_an_installed_entry_point():
    (ep,) = [e for e in entry_points(group=plugins.ENTRY_POINT_GROUP) if e.name == "mini"]
    assert ep.value == "vlmsel.mini.world:register"


def test_mini_is_registered_everywhere():
    assert "mini" in benchmark_names()
    assert "mini" in zoo_names() and named_zoo("mini").benchmark == "mini"
    entry = registry.registry()["mini"]
    assert entry.zoo == "mini"
    assert (Path(entry.path) / "store.json").is_file()


def test_registration_goes_through_the_entry_point_and_stays_light():
    """In a fresh process nothing names the mini world: only the entry point can register it, and
    registering imports no heavy library and none of the mini modules but the world's own."""
    code = (
        "import sys\n"
        "from vlmsel.data.benchmarks import benchmark_names\n"
        "from vlmsel.data.zoo import zoo_names\n"
        "from vlmsel.profiles.registry import registry\n"
        "assert 'vlmsel.mini.world' not in sys.modules\n"
        "print('mini' in benchmark_names(), 'mini' in zoo_names(), 'mini' in registry())\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m == 'open_clip' or m.startswith('vlmsel.mini')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    found, imported = out.stdout.strip().splitlines()
    assert found == "True True True"
    assert imported == "['vlmsel.mini', 'vlmsel.mini.paths', 'vlmsel.mini.world']"


class _EntryPoint:
    def __init__(self, name, func):
        self.name, self.value, self._func = name, f"tests:{name}", func

    def load(self):
        return self._func


def test_worlds_load_once_and_a_broken_one_is_named(monkeypatch):
    calls = []
    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [_EntryPoint("good", lambda: calls.append(group))])
    plugins.load_worlds()
    plugins.load_worlds()
    assert calls == [plugins.ENTRY_POINT_GROUP]

    def broken():
        raise ImportError("no module named 'yours'")

    monkeypatch.setattr(plugins, "_loaded", False)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [_EntryPoint("yours", broken)])
    with pytest.raises(plugins.WorldLoadError, match=r"world 'yours' \(tests:yours\) failed to register: no module"):
        plugins.load_worlds()
