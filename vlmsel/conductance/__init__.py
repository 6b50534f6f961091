"""Layer conductance of every block of a CLIP image encoder, in one pass.

The method page defines it (:ref:`method-objective` to :ref:`method-block-scalars`); the chapter
:ref:`ch-conductance` teaches the algorithm, the chapter :ref:`ch-clip-encoder` the blocks and the block
scalars. Modules:

- :mod:`vlmsel.conductance.options` -- the names of every option (methods, rules, baselines, scalars), torch-free.
- :mod:`vlmsel.conductance.blocks` -- which modules are the blocks of each open_clip visual tower
  (:func:`discover_blocks`, :func:`register_blocks`).
- :mod:`vlmsel.conductance.paths` -- path points (alphas, as captum), baselines (zeros/black/blur).
- :mod:`vlmsel.conductance.objectives` -- the scalar ``F``: ``||f(x)||`` (default) or a zero-shot max logit.
- :mod:`vlmsel.conductance.engine` -- :func:`block_conductance`, all blocks from one set of passes.
- :mod:`vlmsel.conductance.reference` -- captum's ``LayerConductance`` on one block, the reference.
"""

# The names below are imported on first use (PEP 562): ``vlmsel.conductance.options`` and the command
# line stay free of torch, which every other module of this package needs.
_EXPORTS = {
    "Block": "blocks",
    "UnknownArchitectureError": "blocks",
    "discover_blocks": "blocks",
    "register_blocks": "blocks",
    "registered_architectures": "blocks",
    "ConductanceResult": "engine",
    "block_conductance": "engine",
    "path_point_flops": "engine",
    "embedding_norm": "objectives",
    "zs_max_logit": "objectives",
    "make_baseline": "paths",
    "path_alphas": "paths",
    "BASELINES": "options",
    "METHODS": "options",
    "RULES": "options",
    "SCALARS": "options",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"vlmsel.conductance.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'vlmsel.conductance' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
