"""The names of the selection methods (torch-, scipy- and pandas-free, for the command line).

:func:`vlmsel.evaluation.methods.make_method` builds each one.
"""

from __future__ import annotations

#: Methods that need only the ground-truth tables (and, for modelgpt_lite, LOVM's text features).
BASELINES: tuple[str, ...] = ("inb", "avg_rank", "random", "oracle_sim", "modelgpt_lite", "modelgpt_lite_nested")
#: DCD and its divergence ablations, which need task profiles (method name -> divergence).
DCD_METHODS: dict[str, str] = {
    "dcd": "kl",
    "dcd_coverage": "coverage",
    "dcd_js": "js",
    "dcd_sym_kl": "sym_kl",
    "dcd_cosine": "cosine",
}
#: The fixed gamma, per standard deviation, of the scale-free softmin without nested selection, used by
#: ``dcd_z`` and the signal methods (``data/plans/what_to_use.md``, section 4c; for a model whose DCD has an
#: sd of 0.4 over its sources it equals the paper's gamma = 5).
FIXED_ZSCORE_GAMMA = 2.0
#: DCD with the scale-free softmin (``softmin="zscore"``; ``data/plans/what_to_use.md``, section 4c).
ZSCORE_METHODS: tuple[str, ...] = ("dcd_z",)
#: Scores from the target's images and class names alone (:class:`vlmsel.evaluation.signals.TargetOnlyMethod`).
TARGET_ONLY_METHODS: tuple[str, ...] = ("msp", "neg_entropy", "vega")
#: Source-weighted signals cheaper than DCD (:class:`vlmsel.evaluation.signals.SignalMethod`).
SIGNAL_METHODS: tuple[str, ...] = ("emb_cos", "emb_mmd", "objective_w1", "pixel_mmd")
#: Every method name :func:`vlmsel.evaluation.methods.make_method` accepts.
METHODS: tuple[str, ...] = (
    *BASELINES,
    *DCD_METHODS,
    *(f"{m}_nested" for m in DCD_METHODS),
    *ZSCORE_METHODS,
    *(f"{m}_nested" for m in ZSCORE_METHODS),
    *TARGET_ONLY_METHODS,
    *SIGNAL_METHODS,
    *(f"{m}_nested" for m in SIGNAL_METHODS),
)
#: Methods that read a profile store.
STORE_METHODS: tuple[str, ...] = tuple(m for m in METHODS if m not in BASELINES)
#: The cutoff of R@k, tau@k and NDCG@k (LOVM's 5).
K_DEFAULT = 5
