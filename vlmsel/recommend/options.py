"""The defaults of :func:`vlmsel.select` that the command line shows (torch-, scipy- and pandas-free)."""

from __future__ import annotations

from vlmsel.evaluation.options import SIGNAL_METHODS, TARGET_ONLY_METHODS

#: The top-1 choice is *stable* when the chosen model is top-1 in at least this share of resamples.
STABLE_AT = 0.6
#: The method was calibrated with this many images per task (the paper's N).
DEFAULT_N_IMAGES = 25
#: Bootstrap resamples of your images.
DEFAULT_N_BOOT = 200
#: Every ranking method ``vlmsel select --method`` accepts (:mod:`vlmsel.recommend.methods`).
SELECT_METHODS: tuple[str, ...] = (
    "dcd",
    "dcd_nested",
    "dcd_z",
    "dcd_z_nested",
    *SIGNAL_METHODS,
    *(f"{s}_nested" for s in SIGNAL_METHODS),
    *TARGET_ONLY_METHODS,
    "avg_rank",
    "inb",
)
#: Methods that need the target's class names.
NEEDS_CLASSES: tuple[str, ...] = TARGET_ONLY_METHODS
