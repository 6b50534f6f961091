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
#: Every method name :func:`vlmsel.evaluation.methods.make_method` accepts.
METHODS: tuple[str, ...] = (*BASELINES, *DCD_METHODS, *(f"{m}_nested" for m in DCD_METHODS))
#: The cutoff of R@k, tau@k and NDCG@k (LOVM's 5).
K_DEFAULT = 5
