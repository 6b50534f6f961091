"""The blocks of a visual tower: which modules the conductance engine hooks, in forward order.

Taught in the chapter :ref:`ch-clip-encoder`. A *block* ``l`` is a module whose
output ``h_l(x)`` is a complete cut of the visual tower: everything downstream of it depends on the
input image only through ``h_l``. The method page (:ref:`method-notation`) fixes them per tower family:

=========================================  ============================================  ==========
open_clip visual tower                     blocks (``granularity="block"``)              kind
=========================================  ============================================  ==========
``VisionTransformer`` (OpenAI/LAION ViT,   ``visual.transformer.resblocks[i]``           residual
CoCa, CLIPA, DFN, MetaCLIP, DataComp ...)
``ModifiedResNet`` (OpenAI RN50 ...)       every ``Bottleneck`` of ``visual.layer1..4``  bottleneck
``TimmModel`` with a timm ``ConvNeXt``     ``visual.trunk.stages[s].blocks[j]``          residual
``TimmModel`` with a timm ``Eva`` (EVA01,  ``visual.trunk.blocks[i]``                    residual
EVA02) or ``VisionTransformer`` (SigLIP)
=========================================  ============================================  ==========

With ``granularity="stage"`` a ModifiedResNet gives its four ``layerK`` modules and a ConvNeXt
its four ``trunk.stages[s]`` (kind ``"stage"``); the single-resolution towers (ViT, EVA, SigLIP)
have no stages and keep their blocks.

The *kind* says what the block's output is made of, which decides whether the ``"branch"`` scalar
(:ref:`method-block-scalars`) is defined:

- ``"residual"``: ``h_l = h_in + branch(h_in)`` with an identity shortcut, so the residual
  increment ``h_l - h_in`` is the branch output (for open_clip's ``ResidualAttentionBlock`` it is
  ``ls_1(attention) + ls_2(mlp)``). ``h_in`` is the block's own input: the previous block's output,
  or for the first block of a ConvNeXt stage the output of the stage's downsampling layer.
- ``"bottleneck"``: a ResNet bottleneck, ``relu(branch(h_in) + shortcut(h_in))``: the ReLU after
  the sum and the strided shortcut make ``h_l - h_in`` something other than the branch, so
  ``"branch"`` is NaN.
- ``"stage"``: several blocks plus downsampling; ``"branch"`` is NaN.

A tower this module does not know raises :class:`UnknownArchitectureError`, naming the class;
teach it with :func:`register_blocks`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch.nn as nn

from vlmsel.conductance.options import GRANULARITIES

__all__ = [
    "Block",
    "BLOCK_KINDS",
    "UnknownArchitectureError",
    "discover_blocks",
    "register_blocks",
    "registered_architectures",
    "visual_tower",
]

BLOCK_KINDS = ("residual", "bottleneck", "stage")


@dataclasses.dataclass(frozen=True)
class Block:
    """One block of a visual tower.

    Attributes
    ----------
    name : dotted module path from the object given to :func:`discover_blocks`
        (e.g. ``"visual.transformer.resblocks.3"``); with ``model.get_submodule(name)`` it gives ``module``.
    module : the ``nn.Module`` whose forward output is ``h_l``.
    kind : ``"residual"``, ``"bottleneck"`` or ``"stage"`` (see the module docstring).
    batch_dim : the dimension of the module's output that indexes images (1 only for an open_clip
        transformer built with ``batch_first=False``, whose blocks see ``(tokens, batch, width)``).
    """

    name: str
    module: nn.Module = dataclasses.field(repr=False, compare=False)
    kind: str
    batch_dim: int = 0

    def __post_init__(self) -> None:
        if self.kind not in BLOCK_KINDS:
            raise ValueError(f"Block {self.name!r}: kind must be one of {BLOCK_KINDS}, got {self.kind!r}")

    @property
    def has_branch(self) -> bool:
        """Whether the ``"branch"`` scalar (signed conductance of ``h_l - h_in``) is defined."""
        return self.kind == "residual"


class UnknownArchitectureError(TypeError):
    """The conductance engine does not know which modules are the blocks of this tower."""


# A finder takes (tower module, granularity) and returns Blocks whose names are relative to the tower.
BlockFinder = Callable[[nn.Module, str], "list[Block]"]
_REGISTRY: dict[str, BlockFinder] = {}


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_blocks(tower_class: type | str, finder: BlockFinder) -> None:
    """Teach :func:`discover_blocks` the blocks of a new tower class.

    Parameters
    ----------
    tower_class : the class of the module (or its ``"module.QualName"`` string) -- either the open_clip
        visual tower (``model.visual``) or, inside an open_clip ``TimmModel``, the timm trunk
        (``model.visual.trunk``). Subclasses match too, unless they have their own entry.
    finder : ``finder(tower, granularity) -> list[Block]``; the Blocks name modules relative to
        ``tower`` (e.g. ``"blocks.0"``), in forward order, each a complete cut of the tower, with
        ``kind`` as described in this module's docstring. ``granularity`` is ``"block"`` or ``"stage"``.

    Registering a class that is already known replaces its finder.

    Example
    -------
    >>> def my_blocks(tower, granularity):
    ...     return [Block(f"layers.{i}", m, "residual") for i, m in enumerate(tower.layers)]
    >>> register_blocks(MyTower, my_blocks)  # doctest: +SKIP
    """
    key = tower_class if isinstance(tower_class, str) else _qualname(tower_class)
    if not callable(finder):
        raise TypeError(f"register_blocks({key!r}, finder): finder must be callable, got {type(finder).__name__}")
    _REGISTRY[key] = finder


def registered_architectures() -> list[str]:
    """Qualified class names that :func:`discover_blocks` knows, in registration order."""
    return list(_REGISTRY)


def _finder_for(module: nn.Module) -> BlockFinder | None:
    for cls in type(module).__mro__:
        finder = _REGISTRY.get(_qualname(cls))
        if finder is not None:
            return finder
    return None


def visual_tower(model: nn.Module) -> tuple[nn.Module, str]:
    """The visual tower of an open_clip model and its name prefix.

    Returns ``(model.visual, "visual.")`` for CLIP / CoCa / CustomTextCLIP models and ``(model, "")``
    for a bare tower.
    """
    visual = getattr(model, "visual", None)
    if isinstance(visual, nn.Module):
        return visual, "visual."
    return model, ""


def discover_blocks(model: nn.Module, granularity: str = "block") -> list[Block]:
    """The blocks of a model's visual tower, in forward order.

    Parameters
    ----------
    model : an open_clip ``CLIP`` / ``CoCa`` / ``CustomTextCLIP`` model, or its visual tower alone.
    granularity : ``"block"`` (default: every residual block) or ``"stage"`` (one unit per stage of a
        ModifiedResNet or ConvNeXt; towers without stages keep their blocks).

    Returns
    -------
    list of :class:`Block`, length ``L`` (e.g. 12 for ViT-B-32, 16 for RN50, 36 for convnext_base_w);
    names are relative to ``model`` (``"visual.transformer.resblocks.0"``, ...).

    Raises
    ------
    UnknownArchitectureError : the tower's class (or its timm trunk's class) has no registered finder.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
    tower, prefix = visual_tower(model)
    finder = _finder_for(tower)
    if finder is None:
        raise UnknownArchitectureError(
            f"vlmsel does not know the blocks of the visual tower {_qualname(type(tower))!r}. "
            f"Known: {', '.join(registered_architectures())}. Teach it with "
            f"vlmsel.conductance.register_blocks({type(tower).__name__}, finder), where "
            "finder(tower, granularity) returns [Block(name_relative_to_tower, module, kind), ...] "
            "in forward order."
        )
    blocks = finder(tower, granularity)
    if not blocks:
        raise UnknownArchitectureError(f"the block finder for {_qualname(type(tower))!r} returned no blocks")
    out = []
    seen = set()
    for b in blocks:
        if not isinstance(b, Block):
            raise TypeError(f"a block finder must return Block objects, got {type(b).__name__}")
        if id(b.module) in seen:
            raise ValueError(f"block {b.name!r} appears twice in the block list")
        seen.add(id(b.module))
        out.append(dataclasses.replace(b, name=prefix + b.name))
    return out


# ---------------------------------------------------------------------------------------------
# Built-in finders. Class names are matched as strings, so importing this module imports neither
# open_clip nor timm.


def _open_clip_vit_blocks(tower: Any, granularity: str) -> list[Block]:
    transformer = tower.transformer
    batch_dim = 0 if getattr(transformer, "batch_first", True) else 1
    return [
        Block(f"transformer.resblocks.{i}", blk, "residual", batch_dim) for i, blk in enumerate(transformer.resblocks)
    ]


def _modified_resnet_blocks(tower: Any, granularity: str) -> list[Block]:
    layers = [f"layer{k}" for k in range(1, 5)]
    if granularity == "stage":
        return [Block(name, getattr(tower, name), "stage") for name in layers]
    return [Block(f"{name}.{j}", blk, "bottleneck") for name in layers for j, blk in enumerate(getattr(tower, name))]


def _timm_model_blocks(tower: Any, granularity: str) -> list[Block]:
    trunk = tower.trunk
    finder = _finder_for(trunk)
    if finder is None:
        raise UnknownArchitectureError(
            f"vlmsel does not know the blocks of the timm trunk {_qualname(type(trunk))!r} inside this "
            f"open_clip TimmModel. Known: {', '.join(registered_architectures())}. Teach it with "
            f"vlmsel.conductance.register_blocks({type(trunk).__name__}, finder), where finder(trunk, "
            "granularity) returns [Block(name_relative_to_trunk, module, kind), ...] in forward order."
        )
    return [dataclasses.replace(b, name="trunk." + b.name) for b in finder(trunk, granularity)]


def _timm_blocks_attr(trunk: Any, granularity: str) -> list[Block]:
    """timm ``VisionTransformer`` (SigLIP, ...) and ``Eva`` (EVA01, EVA02): ``trunk.blocks[i]``."""
    return [Block(f"blocks.{i}", blk, "residual") for i, blk in enumerate(trunk.blocks)]


def _timm_convnext_blocks(trunk: Any, granularity: str) -> list[Block]:
    if granularity == "stage":
        return [Block(f"stages.{s}", stage, "stage") for s, stage in enumerate(trunk.stages)]
    blocks = []
    for s, stage in enumerate(trunk.stages):
        for j, blk in enumerate(stage.blocks):
            # A ConvNeXtBlock adds its input back through `shortcut`, which is an identity unless the
            # block changes width or stride (never inside open_clip's ConvNeXt stages).
            kind = "residual" if isinstance(getattr(blk, "shortcut", None), nn.Identity) else "bottleneck"
            blocks.append(Block(f"stages.{s}.blocks.{j}", blk, kind))
    return blocks


register_blocks("open_clip.transformer.VisionTransformer", _open_clip_vit_blocks)
register_blocks("open_clip.modified_resnet.ModifiedResNet", _modified_resnet_blocks)
register_blocks("open_clip.timm_model.TimmModel", _timm_model_blocks)
register_blocks("timm.models.vision_transformer.VisionTransformer", _timm_blocks_attr)
register_blocks("timm.models.eva.Eva", _timm_blocks_attr)
register_blocks("timm.models.convnext.ConvNeXt", _timm_convnext_blocks)
