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

#: Default path points, rule and steps of every profile (:class:`vlmsel.profiles.compute.ProfileSettings`,
#: ``vlmsel profile``, ``vlmsel mini profile``; ``vlmsel select`` profiles a target as its source store
#: was made). Chosen by measurement (:func:`vlmsel.evaluation.fidelity.cheapest_within_noise` on the sweep
#: ``data/mini/fidelity.npz``, :ref:`ch-conductance`): the cheapest setting whose selections stay as
#: close to a 64-step reference as two samples of 25 images stay to each other; 9 path points per image
#: instead of 51 (+2 forward passes), 5.7x less work than :data:`PAPER_LIKE_SETTING`.
DEFAULT_SETTING: dict = {"method": "riemann_trapezoid", "rule": "trapezoid", "n_steps": 8}
#: The former default, captum's ``LayerConductance`` setting with this project's 50 steps (the paper states
#: no value): Gauss-Legendre points, the left rule. :func:`vlmsel.conductance.block_conductance` keeps it as
#: its own default, so that it matches captum call for call.
PAPER_LIKE_SETTING: dict = {"method": "gausslegendre", "rule": "left", "n_steps": 50}
DEFAULT_METHOD: str = DEFAULT_SETTING["method"]
DEFAULT_RULE: str = DEFAULT_SETTING["rule"]
DEFAULT_N_STEPS: int = DEFAULT_SETTING["n_steps"]
#: Path points per forward/backward pass of :func:`vlmsel.conductance.block_conductance`, and the default of
#: every caller (``vlmsel profile`` and ``vlmsel select``'s ``--internal-batch-size``, ``vlmsel.select``).
#: It bounds the peak memory and changes the results only by float rounding (``perf/README.md``).
DEFAULT_INTERNAL_BATCH_SIZE: int = 64
