"""The names of every conductance option, without importing torch.

The command line parses these choices, and the profile store checks them, without loading a model;
:mod:`vlmsel.conductance.paths`, :mod:`vlmsel.conductance.engine` and :mod:`vlmsel.conductance.blocks`
implement them. Each is defined on the method page (:ref:`method-conductance`, :ref:`method-block-scalars`).
"""

from __future__ import annotations

#: Where the path points come from (:func:`vlmsel.conductance.paths.path_alphas`).
METHODS: tuple[str, ...] = ("gausslegendre", "riemann_trapezoid")
#: Which gradient each step uses: its left end (as captum) or the mean of both ends.
RULES: tuple[str, ...] = ("left", "trapezoid")
#: The baseline image of the path (:func:`vlmsel.conductance.paths.make_baseline`).
BASELINES: tuple[str, ...] = ("zeros", "black", "blur")
#: The label-free (``norm``) and the task-aware (``zs_max_logit``) objectives.
OBJECTIVES: tuple[str, ...] = ("norm", "zs_max_logit")
#: One unit per residual block, or one per stage of a ResNet / ConvNeXt.
GRANULARITIES: tuple[str, ...] = ("block", "stage")
#: Block scalars: how one block's per-neuron conductances become one number per image.
SCALARS: tuple[str, ...] = ("abs", "l2", "signed", "branch")
#: The scalars that can be negative (pooled as absolute values into profiles).
SIGNED_SCALARS: tuple[str, ...] = ("signed", "branch")
#: Precisions a model can be loaded and run in (open_clip's names; :func:`vlmsel.data.zoo.load_model`).
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "bf16", "pure_fp16", "pure_bf16", "amp", "amp_bf16")
