"""What this project's evidence says ``vlmsel select`` should use: the study's decision, read back.

The pre-registered study (:mod:`vlmsel.evaluation.study`, ``data/plans/what_to_use.md``) scores every method on
a benchmark and decides, by a rule fixed before any result existed, which one ``select`` uses by default.
``vlmsel study --out vlmsel/resources/evidence/<world>`` writes its tables there; this module reads them:
:func:`load_evidence` (the decision, every method's means with intervals and costs), :meth:`Evidence.default`
(the default method), :meth:`Evidence.best_cheap` (the best method cheaper than the paper's among those a
run can use) and :meth:`Evidence.sentence` (one sentence a report prints). Taught in :ref:`ch-what-to-use`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

#: The worlds whose study is packaged, in the order their evidence counts (the first decides the default).
WORLDS: tuple[str, ...] = ("mini",)


def evidence_dir(world: str = "mini") -> Path:
    """The packaged folder of a world's study: ``vlmsel/resources/evidence/<world>``."""
    return Path(str(resources.files("vlmsel").joinpath("resources"))) / "evidence" / world


@dataclass
class Evidence:
    """A world's study: its decision (``decision.json``) and every method's means (``means.csv``) and costs."""

    world: str
    decision: dict[str, Any]
    means: pd.DataFrame
    costs: pd.Series

    @property
    def default(self) -> str:
        """The method the study's decision rule chose for ``select``."""
        return str(self.decision["default"])

    def ndcg5(self, method: str) -> tuple[float, float, float]:
        """A method's mean NDCG@5 over the world's targets and its 95% interval (NaN when not in the study)."""
        if method not in self.means.index:
            return (math.nan, math.nan, math.nan)
        row = self.means.loc[method]
        return float(row["ndcg5"]), float(row["ndcg5_low"]), float(row["ndcg5_high"])

    def best_cheap(self, available: Iterable[str]) -> str | None:
        """Among ``available`` methods that cost less than the paper's DCD per image, the one with the highest
        mean NDCG@5 in the study (None when there is none)."""
        ref = float(self.costs.get("dcd", math.inf))
        usable = [m for m in available if m in self.means.index and float(self.costs.get(m, math.inf)) < ref]
        usable = [m for m in usable if m not in ("random", "oracle_sim")]
        return max(usable, key=lambda m: self.ndcg5(m)[0]) if usable else None

    def sentence(self, used: str) -> str:
        """One sentence: what the study found and why ``used`` ranks this run."""
        d = self.decision
        ref, lo_ref, hi_ref = self.ndcg5("dcd")
        mean, lo, hi = self.ndcg5(self.default)
        n_targets = d.get("n_targets", "?")
        head = (
            f"On the {self.world} world ({n_targets} targets), the pre-registered rule (data/plans/what_to_use.md) "
            f"chose '{self.default}' (NDCG@5 {mean:.3f} [{lo:.3f}, {hi:.3f}]) over the paper's DCD "
            f"({ref:.3f} [{lo_ref:.3f}, {hi_ref:.3f}]): "
        )
        why = {
            1: "it is better than DCD with simultaneous 95% confidence",
            2: f"it is no worse than DCD by more than {d.get('margin', 0.01):g} NDCG@5 with simultaneous 95% "
            f"confidence, and cheaper",
            3: "no candidate was shown better, or as good and cheaper",
        }.get(int(d.get("step", 3)), "")
        tail = ""
        if self.default in ("avg_rank", "inb"):
            tail = "; it does not look at your images, so in that world the images did not help"
        if used != self.default:
            tail += f". This run uses '{used}', as asked"
        return head + why + tail + ". The evidence is provisional until a second world confirms it."


def load_evidence(world: str = "mini", folder: str | Path | None = None) -> Evidence:
    """The study of ``world`` (default: the packaged one, :func:`evidence_dir`). FileNotFoundError naming the
    folder when it has not been run."""
    root = Path(folder) if folder is not None else evidence_dir(world)
    decision_path, means_path, methods_path = (root / n for n in ("decision.json", "means.csv", "methods.csv"))
    missing = [p.name for p in (decision_path, means_path, methods_path) if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{root}: no study of the {world} world ({', '.join(missing)} missing); run "
            f"`vlmsel study --benchmark {world} --out {root}`"
        )
    body = json.loads(decision_path.read_text(encoding="utf-8"))
    decision = dict(body["decision"])
    decision["n_targets"] = len(body.get("info", {}).get("targets", []))
    means = pd.read_csv(means_path, index_col="method")
    costs = pd.read_csv(methods_path, index_col="method")["forward_passes_G"].astype(float)
    return Evidence(world, decision, means, costs)
