"""captum's ``LayerConductance`` on one block: the independent reference the engine is checked against.

Used by the chapter :ref:`ch-conductance` (to show that the engine equals captum block by block),
by the tests and by ``perf/conductance_speed.py``. captum computes one block per call and repeats
the forward passes for every block; :func:`vlmsel.conductance.block_conductance` computes all blocks
from one set of passes. captum is an optional dependency (``pip install vlmsel[captum]``).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from vlmsel.conductance.blocks import Block
from vlmsel.conductance.engine import evaluation_mode, image_encoder
from vlmsel.conductance.objectives import Objective, resolve_objective
from vlmsel.conductance.paths import make_baseline, path_alphas

__all__ = ["captum_block_conductance"]


def captum_block_conductance(
    model: nn.Module,
    images: torch.Tensor,
    block: Block | nn.Module,
    *,
    n_steps: int = 50,
    method: str = "gausslegendre",
    baseline: str | torch.Tensor = "zeros",
    objective: Objective | str | None = None,
    internal_batch_size: int | None = None,
) -> torch.Tensor:
    """Per-neuron conductance of one block by ``captum.attr.LayerConductance``.

    Parameters
    ----------
    model, images, n_steps, method, baseline, objective : as in :func:`block_conductance` (left rule only:
        that is what captum computes). ``images`` must already be on the model's device and dtype.
    block : a :class:`Block` (from :func:`discover_blocks`) or the block's module.
    internal_batch_size : passed to captum (which needs at least ``2 N``; always pass one for big models).

    Returns
    -------
    Tensor (N, *block_output_shape), detached.
    """
    try:
        from captum.attr import LayerConductance
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("captum_block_conductance needs captum: pip install 'vlmsel[captum]'") from err
    path_alphas(method, n_steps)  # validates method and n_steps the same way as the engine
    module = block.module if isinstance(block, Block) else block
    encode = image_encoder(model)
    obj = resolve_objective(objective)
    xb = make_baseline(images, baseline, model=model)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return obj(encode(x))

    with evaluation_mode(model):
        attr = LayerConductance(forward, module).attribute(
            images, baselines=xb, n_steps=n_steps, method=method, internal_batch_size=internal_batch_size
        )
    return attr.detach()
