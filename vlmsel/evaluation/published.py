"""Published numbers, beside which the book sets its own: what the paper claims and the anchors it builds on.

These are values *quoted* from publications, not computed here, each with its world (zoo x datasets) and
its source, so that a results table can put them next to what this project measures and say which
world every row comes from. The paper's full text and code are not public (Yang et al. 2026): its
numbers come from its abstract and the public summary of its results and cannot be rerun. LOVM's INB
anchor is rerun by the chapter :ref:`ch-benchmarks` on LOVM's own table. Taught in the chapter
:ref:`ch-ranking`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class PublishedResult:
    """One published result.

    Attributes
    ----------
    who : the method and the publication (short, for a table row).
    world : the zoo and datasets it was measured on (``"48 VLMs x 21 datasets"``).
    values : metric name -> published value (names of :func:`vlmsel.evaluation.metrics.metric_names`;
        ``"kendall_tau"`` where the publication does not say which tau; ``"ndcg5_gain_over_swab"`` as a
        fraction).
    source : where the value is stated.
    """

    who: str
    world: str
    values: dict[str, float]
    source: str


PAPER_CLAIM = PublishedResult(
    who="DCD (the paper)",
    world="48 VLMs x 21 datasets (the paper's zoo; not public)",
    values={"ndcg5": 0.707, "kendall_tau": 0.365, "ndcg5_gain_over_swab": 0.147},
    source="arXiv 2602.01346, abstract and summary of results",
)

LOVM_INB = PublishedResult(
    who="INB (LOVM's paper)",
    world="LOVM: 35 models x 23 datasets",
    values={"r5": 0.452, "tau5": 0.177},
    source="Zohar et al. 2023, LOVM benchmark table",
)

PUBLISHED = (PAPER_CLAIM, LOVM_INB)


def published_table() -> pd.DataFrame:
    """The published results as a table: one row per result, columns who, world, source and the metrics."""
    rows = [{"who": r.who, "world": r.world, **r.values, "source": r.source} for r in PUBLISHED]
    return pd.DataFrame(rows)


def _cell(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def claims_markdown(measured: list[dict]) -> str:
    """A Markdown table: the published results (marked "quoted"), then the ``measured`` rows.

    Parameters
    ----------
    measured : one dict per measured result with ``who``, ``world`` and any of ``ndcg5``, ``tau_b``,
        ``r5``, ``tau5`` (floats); ``source`` says where it is computed (default "computed here").
    """
    head = "| result | world | NDCG@5 | Kendall tau | R5 | tau5 | from |\n|---|---|---|---|---|---|---|"
    lines = [head]
    for r in PUBLISHED:
        v = r.values
        note = r.source + ", quoted"
        if "ndcg5_gain_over_swab" in v:
            note += f"; NDCG@5 {v['ndcg5_gain_over_swab']:+.1%} over SWAB"
        lines.append(
            f"| {r.who} | {r.world} | {_cell(v.get('ndcg5'))} | {_cell(v.get('kendall_tau'))} | "
            f"{_cell(v.get('r5'))} | {_cell(v.get('tau5'))} | {note} |"
        )
    for m in measured:
        lines.append(
            f"| {m['who']} | {m['world']} | {_cell(m.get('ndcg5'))} | {_cell(m.get('tau_b'))} | "
            f"{_cell(m.get('r5'))} | {_cell(m.get('tau5'))} | {m.get('source', 'computed here')} |"
        )
    return "\n".join(lines)
