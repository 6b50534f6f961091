"""The defaults of :func:`vlmsel.select` that the command line shows (torch-, scipy- and pandas-free)."""

from __future__ import annotations

#: The top-1 choice is *stable* when the chosen model is top-1 in at least this share of resamples.
STABLE_AT = 0.6
#: The method was calibrated with this many images per task (the paper's N).
DEFAULT_N_IMAGES = 25
#: Bootstrap resamples of your images.
DEFAULT_N_BOOT = 200
