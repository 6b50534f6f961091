"""Layer conductance of every block of a CLIP image encoder, in one pass (spec sections 1-3).

Chapter 2, "Conductance from scratch", teaches the algorithm; chapter 3, "Conductance inside a CLIP
image encoder", the blocks and the block scalars. Modules:

- :mod:`vlmsel.conductance.blocks` -- which modules are the blocks of each open_clip visual tower
  (:func:`discover_blocks`, :func:`register_blocks`).
- :mod:`vlmsel.conductance.paths` -- path points (alphas, as captum), baselines (zeros/black/blur).
- :mod:`vlmsel.conductance.objectives` -- the scalar ``F``: ``||f(x)||`` (default) or a zero-shot max logit.
- :mod:`vlmsel.conductance.engine` -- :func:`block_conductance`, all blocks from one set of passes.
- :mod:`vlmsel.conductance.reference` -- captum's ``LayerConductance`` on one block, the reference.
"""

from vlmsel.conductance.blocks import (
    Block,
    UnknownArchitectureError,
    discover_blocks,
    register_blocks,
    registered_architectures,
)
from vlmsel.conductance.engine import RULES, SCALARS, ConductanceResult, block_conductance
from vlmsel.conductance.objectives import embedding_norm, zs_max_logit
from vlmsel.conductance.paths import BASELINES, METHODS, make_baseline, path_alphas

__all__ = [
    "BASELINES",
    "Block",
    "ConductanceResult",
    "METHODS",
    "RULES",
    "SCALARS",
    "UnknownArchitectureError",
    "block_conductance",
    "discover_blocks",
    "embedding_norm",
    "make_baseline",
    "path_alphas",
    "register_blocks",
    "registered_architectures",
    "zs_max_logit",
]
