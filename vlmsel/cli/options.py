"""The method's options on the command line: one set of flags, read into one :class:`MethodOptions`.

``vlmsel select`` and ``vlmsel evaluate`` call :func:`add_method_options` and :func:`method_options`, so
the flags, their help and their defaults (those of :class:`vlmsel.method.options.MethodOptions`) exist once.
"""

from __future__ import annotations

import argparse
import dataclasses

from vlmsel.conductance.options import SCALARS
from vlmsel.method.options import DIVERGENCES, IMPORTANCES, UTILITIES, MethodOptions
from vlmsel.profiles.pooling import POOLINGS

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(MethodOptions)}
_HELP = {
    "scalar": ("block scalar pooled into profiles", SCALARS),
    "pooling": ("how per-image scalars become a task profile", POOLINGS),
    "source_images": ("images per source task pooled from the store, at most", int),
    "eta": ("block-importance sharpness", None),
    "importance": ("block-importance kind", IMPORTANCES),
    "divergence": ("DCD (kl) or an ablation", DIVERGENCES),
    "gamma": ("softmin inverse temperature over sources", None),
    "utility": ("how source ground truth becomes a utility", UTILITIES),
}


def add_method_options(parser: argparse.ArgumentParser, names: tuple[str, ...] = tuple(_HELP)) -> None:
    """Add ``--eta``, ``--gamma``, ``--source-images``, ... (those in ``names``) to ``parser``, defaulting to
    None = the method's default."""
    group = parser.add_argument_group("method options (the method page defines each)")
    for name in names:
        text, choices = _HELP[name]
        kind = float if choices is None else choices if isinstance(choices, type) else str
        group.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=None,
                           choices=None if isinstance(choices, type) else choices,
                           help=f"{text} (default {_DEFAULTS[name]})")


def method_options(args: argparse.Namespace) -> MethodOptions:
    """The :class:`MethodOptions` of the parsed flags (flags left out keep the defaults)."""
    return MethodOptions(**{k: getattr(args, k) for k in _HELP if getattr(args, k, None) is not None})
