"""Sphinx extension for the API page (book/api.md): references to re-exported names.

The packages ``vlmsel.conductance`` and ``vlmsel.mini`` re-export the public functions and classes of
their submodules. The API page documents every object once (the re-exported ones under the package),
but a docstring may name it another way: ``vlmsel.conductance.engine.block_conductance``; just
``path_alphas`` inside ``vlmsel.conductance.paths``; ``block_conductance`` inside a sibling submodule;
or, in the docstring of a re-exported function shown under its package, a helper of the submodule it
comes from. Sphinx would report such a reference as unresolved. This handler resolves it

1. when a name the reference can mean (as written, in the current module or class, or in a parent
   package of the current module) is the *same Python object* (function, method or class) as a
   documented one; or
2. when the current module is a package and exactly one documented object of its submodules has
   that name.

Every other unresolved reference is left to nitpicky mode, which fails the build.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

_documented: dict[int, tuple[Any, str]] | None = None


def _lookup(name: str) -> Any:
    """The object a dotted name points to (importing its module), or None."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def _documented_objects(env: Any) -> dict[int, tuple[Any, str]]:
    """id(object) -> (object, the name it is documented under), for vlmsel's functions and classes."""
    global _documented
    if _documented is None:
        _documented = {}
        for name, entry in env.get_domain("py").objects.items():
            if entry.aliased or not name.startswith("vlmsel."):
                continue
            obj = _lookup(name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                _documented.setdefault(id(obj), (obj, name))
    return _documented


def _missing_reference(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    target, module, cls = node.get("reftarget", ""), node.get("py:module"), node.get("py:class")
    candidates = [target]
    if module and cls:
        candidates.append(f"{module}.{cls}.{target}")
    parts = module.split(".") if module else []
    for i in range(len(parts), 0, -1):  # the module, then its parent packages
        candidates.append(".".join(parts[:i] + [target]))
    documented = _documented_objects(env)
    resolved = None
    for name in candidates:
        if not name.startswith("vlmsel."):
            continue
        obj = _lookup(name)
        hit = documented.get(id(obj)) if obj is not None else None
        if hit is not None and hit[0] is obj:
            resolved = hit[1]
            break
    if resolved is None and module and hasattr(_lookup(module), "__path__"):
        matches = [name for name in env.get_domain("py").objects
                   if name.startswith(f"{module}.") and name.endswith(f".{target}")]
        if len(matches) == 1:
            resolved = matches[0]
    if resolved is None:
        return None
    return env.get_domain("py").resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], resolved, node, contnode
    )


def setup(app: Any) -> dict[str, Any]:
    app.connect("missing-reference", _missing_reference)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
