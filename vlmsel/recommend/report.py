"""A model selection as one self-contained HTML report (``vlmsel select --report report.html``).

:func:`write_report` turns a :class:`vlmsel.recommend.pipeline.SelectionResult` into a single HTML file that a
person would rather look at than read logs: the recommendation and whether it is stable, a short guide
to reading the page, the ranking table (Pareto-optimal models marked), the figures (ranking with
bootstrap intervals, score against GFLOPs, the stability curve, and for the leading models the
sources that resemble the images and the block-importance comparison), thumbnails of the images used,
the files that were skipped and the settings. Figures and thumbnails are embedded as base64 PNG and the
styles are inline: the file needs nothing else (no network, no other files) to display.

Taught in the chapter :ref:`ch-select`.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import AbstractSet, Any

import pandas as pd

from vlmsel.files import atomic_write
from vlmsel.plotting import use_style
from vlmsel.recommend.result import method_text

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d1d1f;
 background:#f4f5f7;margin:0;line-height:1.45;font-size:15px}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:26px;margin:4px 0 2px}h2{font-size:19px;margin:30px 0 10px;border-bottom:2px solid #d9dce1;padding-bottom:4px}
h3{font-size:16px;margin:18px 0 6px}.sub{color:#555;margin:0 0 16px;font-size:14px}
.card{background:#fff;border:1px solid #dfe2e6;border-radius:8px;padding:16px 20px;margin:12px 0}
.verdict{border-left:8px solid}.stable{border-left-color:#2e8b57}.unstable{border-left-color:#d98c00}
.badge{display:inline-block;font-weight:700;font-size:12px;letter-spacing:.04em;padding:2px 8px;border-radius:4px;
 color:#fff;margin-right:8px}.badge.stable{background:#2e8b57}.badge.unstable{background:#b36b00}
.big{font-size:22px;font-weight:700;font-family:Menlo,Consolas,monospace}
table{border-collapse:collapse;width:100%;font-size:13.5px}th,td{padding:5px 8px;text-align:left;border-bottom:1px solid #e6e8eb}
th{background:#eef0f3;font-weight:600}tr:nth-child(even) td{background:#fafbfc}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.top td{font-weight:700}.fig{text-align:center}.fig img{max-width:100%;height:auto}
.caption{color:#555;font-size:13px;margin-top:4px;text-align:left}
.thumbs{display:flex;flex-wrap:wrap;gap:6px}.thumbs figure{margin:0;width:116px;text-align:center}
.thumbs img{width:112px;height:112px;object-fit:contain;background:#eee;border:1px solid #ddd}
.thumbs figcaption{font-size:10px;color:#555;word-break:break-all}
ul.guide li{margin:3px 0}code{font-family:Menlo,Consolas,monospace;font-size:13px;background:#f0f1f3;padding:0 3px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px}@media(max-width:900px){.grid2{grid-template-columns:1fr}}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def _figure(fig, alt: str, caption: str) -> str:
    return f'<div class="card fig">{_img(_png(fig), alt)}<div class="caption">{caption}</div></div>'


def _table(df: pd.DataFrame, num: AbstractSet[str] = frozenset(), top_row: bool = False) -> str:
    head = "".join(f'<th class="num">{_e(c)}</th>' if c in num else f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for i, (_, r) in enumerate(df.iterrows()):
        cls = ' class="top"' if top_row and i == 0 else ""
        cells = "".join(f'<td class="num">{_e(v)}</td>' if c in num else f"<td>{_e(v)}</td>" for c, v in r.items())
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt(v: Any, f: str) -> str:
    return "?" if v is None or pd.isna(v) else format(v, f)


def _ranking_table(result, top: int | None) -> str:
    t = result.ranking if top is None else result.ranking.head(top)
    show = pd.DataFrame(
        {
            "rank": t["rank"],
            "model": t["model"],
            "predicted score": t["score"].map(lambda v: _fmt(v, ".3f")),
            "95% interval": [f"{lo:.2f} – {hi:.2f}" for lo, hi in zip(t["score_lo"], t["score_hi"])],
            "P(top-1)": t["p_top1"].map(lambda v: f"{v:.0%}"),
            "P(top-5)": t["p_top5"].map(lambda v: f"{v:.0%}"),
            "image GFLOPs": t["image_gflops"].map(lambda v: _fmt(v, ".3g")),
            "params (M)": t["params_M"].map(lambda v: _fmt(v, ".3g")),
            "Pareto": t["pareto"].map({True: "★ yes", False: ""}),
            "family": t["family"].fillna(""),
        }
    )
    return _table(show, num={"predicted score", "P(top-1)", "P(top-5)", "image GFLOPs", "params (M)"}, top_row=True)


def _comparison_html(result) -> str:
    """The side-by-side section: each method's top-5, its agreement with the method used and its cost."""
    c = result.comparison
    if c is None or not len(c):
        return ""
    top = pd.DataFrame(
        {f"{m} ({r})": list(t) + [""] * (5 - len(t)) for m, r, t in zip(c.index, c["role"], c["top5"])},
        index=pd.Index(range(1, 6), name="rank"),
    ).reset_index()
    agree = pd.DataFrame(
        {
            "method": c.index,
            f"top-5 overlap with {result.method}": [f"{o} / 5" for o in c["top5_overlap"]],
            "Kendall τ": [f"{t:+.2f}" for t in c["kendall_tau"]],
            "forward passes per image and model": [f"{g:g}" for g in c["cost_G"]],
            "seconds here": [f"{v:.1f}" for v in c["seconds"]],
            "NDCG@5 in the study": [
                "–" if pd.isna(e) else f"{e:.3f} [{lo:.3f}, {hi:.3f}]"
                for e, lo, hi in zip(c["evidence_ndcg5"], c["evidence_ndcg5_low"], c["evidence_ndcg5_high"])
            ],
        }
    )
    return (
        "<h2>Side by side</h2>"
        '<div class="card"><p>The same images ranked by the paper\'s DCD, DCD with the scale-free softmin and the '
        "best cheap signal of the study: where they agree, the choice does not hinge on the method.</p>"
        f"{_table(top)}{_table(agree, num={'Kendall τ', 'seconds here'})}</div>"
    )


def _thumbs(result, limit: int = 40) -> str:
    items = []
    for name, im in list(zip(result.images, result.thumbnails))[:limit]:
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        b64 = base64.b64encode(buf.getvalue()).decode("ascii")
        items.append(f"<figure>{_img(b64, name)}<figcaption>{_e(Path(name).name)}</figcaption></figure>")
    return f'<div class="thumbs">{"".join(items)}</div>'


def report_html(
    result, *, top: int = 15, explain: int = 3, title: str = "Which vision-language model for these images?"
) -> str:
    """The report as an HTML string (see the module docstring).

    Parameters
    ----------
    result : a :class:`vlmsel.recommend.pipeline.SelectionResult`.
    top : rows of the ranking table and bars of the ranking figure (default 15).
    explain : how many of the leading models get an explanation section (default 3).
    """
    import matplotlib.pyplot as plt

    info, s = result.info, result.info.get("settings", {})
    stable = result.stable
    image_free = result.method in ("avg_rank", "inb")
    dcd_uniform = result.method.startswith("dcd") and result.uniform_weights()
    cls = "unstable" if not stable or dcd_uniform or image_free else "stable"
    with plt.rc_context():
        use_style()
        fig_rank = _figure(
            result.plot_ranking(top=top).figure,
            "ranking",
            "Bars: predicted score of each model (higher is better); whiskers: 95% bootstrap interval "
            "over your images; hatched orange bars: Pareto-optimal models.",
        )
        fig_pareto = _figure(
            result.plot_pareto().figure,
            "score vs GFLOPs",
            "Each point is a model. Orange diamonds joined by the dashed step line are Pareto-optimal: "
            "no other model is predicted better <i>and</i> cheaper. The black circle marks the recommendation.",
        )
        fig_stab = _figure(
            result.plot_stability().figure,
            "stability curve",
            "Probability that the recommended model stays top-1 when only k of your images are used "
            "(bootstrap), with the fitted curve used to estimate how many images would make the choice stable.",
        )
        explanations = []
        for model in result.models[:explain]:
            ex = result.explain(model, 5)
            ex_show = pd.DataFrame(
                {
                    "source dataset": ex["dataset"],
                    "weight α": ex["alpha"].map(lambda v: f"{v:.3f}"),
                    "DCD": ex["dcd"].map(lambda v: f"{v:.3f}"),
                    "model's accuracy there": ex["accuracy"].map(lambda v: f"{v:.3f}"),
                    "model's rank there": [f"{r:g} / {n}" for r, n in zip(ex["rank"], ex["n_models"])],
                }
            )
            fig = _figure(
                result.plot_explanation(model, 5),
                f"explanation {model}",
                "Left: the source datasets whose profile, for this model, most resembles your images (weight α), "
                "with the model's ground-truth accuracy and rank there. Right: the block-importance distribution "
                "of your images against the best-covering source's; similar curves mean the source covers the "
                "blocks your images rely on.",
            )
            row = result.ranking[result.ranking["model"] == model].iloc[0]
            ex_table = _table(ex_show, num={"weight α", "DCD", "model's accuracy there"})
            explanations.append(
                f"<h3>#{int(row['rank'])} {_e(model)} — score {row['score']:.3f}, P(top-1) {row['p_top1']:.0%}</h3>"
                f'<div class="card">{ex_table}</div>{fig}'
            )
    skipped = ""
    if result.skipped:
        sk = pd.DataFrame(result.skipped, columns=["file", "reason"])
        skipped = f'<h3>Skipped files ({len(sk)})</h3><div class="card">{_table(sk)}</div>'
    excluded = ""
    if result.excluded:
        ex = pd.DataFrame(list(result.excluded.items()), columns=["model", "why it was not ranked"])
        excluded = f'<h2>Models not ranked ({len(ex)})</h2><div class="card">{_table(ex)}</div>'
    notes = "".join(f"<li>{_e(n)}</li>" for n in result.notes)
    notes_html = f'<div class="card"><b>Notes</b><ul>{notes}</ul></div>' if notes else ""
    settings_rows = pd.DataFrame(
        [
            ("zoo", info.get("zoo")),
            ("benchmark (source ground truth)", info.get("benchmark")),
            ("source profiles", info.get("profiles")),
            ("source datasets", ", ".join(info.get("sources", []))),
            (
                "images",
                f"{len(result.images)} used of {s.get('n_images_asked')} asked, seed {s.get('seed')}, from {info.get('image_source')}",
            ),
            ("weights", s.get("weights")),
            (
                "conductance",
                f"n_steps {s.get('n_steps')}, {s.get('method')}, rule {s.get('rule')}, "
                f"baseline {s.get('baseline')}, objective {s.get('objective')}, granularity {s.get('granularity')}",
            ),
            (
                "method",
                f"eta {s.get('eta')}, gamma {s.get('gamma')}, importance {s.get('importance')}, divergence "
                f"{s.get('divergence')}, utility {s.get('utility')}, scalar {s.get('scalar')}, pooling {s.get('pooling')}",
            ),
            ("bootstrap", f"{s.get('n_boot')} resamples; stable at P(top-1) ≥ {s.get('stable_at')}"),
            ("max GFLOPs", "none" if s.get("max_gflops") is None else s.get("max_gflops")),
            ("target profiles", ", ".join(info.get("target_stores", []))),
            (
                "computed / reused",
                f"{len(info.get('computed', []))} computed, {len(info.get('reused', []))} reused from the cache",
            ),
            ("device", info.get("device")),
            ("created", info.get("created")),
            ("versions", ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items())),
        ],
        columns=["setting", "value"],
    )
    top1 = result.ranking.iloc[0]
    # stable under resampling of the images means little when the ranking ignores them (average rank)
    verdict = "IMAGES NOT USED" if image_free else "AVERAGE RANK" if dcd_uniform else "STABLE" if stable else "UNSTABLE"
    pareto_models = list(result.ranking.loc[result.ranking["pareto"], "model"])
    cheap = ""
    if pareto_models and pareto_models[0] != result.top1:
        cheap = f"<p>Cheapest Pareto-optimal alternatives: {', '.join(_e(m) for m in pareto_models[:4])}.</p>"
    body = f"""
<main>
<h1>{_e(title)}</h1>
<p class="sub">vlmsel {_e(info.get("versions", {}).get("vlmsel", ""))} · {len(result.images)} images · zoo {_e(info.get("zoo"))}
 ({len(result.ranking)} models ranked) · ground truth {_e(info.get("benchmark"))} · {_e(info.get("created", ""))}</p>
<div class="card verdict {cls}">
<div><span class="badge {cls}">{verdict}</span>Recommended model</div>
<div class="big">{_e(result.top1)}</div>
<p>Predicted score {top1["score"]:.3f} (95% interval {top1["score_lo"]:.2f} – {top1["score_hi"]:.2f}),
 image tower {_fmt(top1["image_gflops"], ".3g")} GFLOPs per image{", Pareto-optimal" if top1["pareto"] else ""}.</p>
<p>{_e(result.stability_message)}</p>{cheap}
</div>
{notes_html}
<h2>How to read this report</h2>
<div class="card"><ul class="guide">
<li><b>Predicted score</b>: each model's score by the ranking method, {_e(result.method)}: {_e(method_text(result.method))}
 (higher is better). No labels of your images are used; the paper's method weighs each labelled <i>source</i> dataset by
 how much the model's layer-conductance profile on it resembles its profile on your images (DCD).</li>
<li><b>P(top-1) / P(top-5)</b>: how often the model comes first / in the first five when your images are resampled
 (bootstrap). Below {result.stable_at:.0%} for the leader, the choice is called unstable and more images are suggested.</li>
<li><b>Pareto ★</b>: no other model is predicted better and also cheaper (image-tower GFLOPs per image).</li>
<li><b>Why a model</b>: the sources it leans on and its real accuracy there; if those sources do not look like your
 task, treat the ranking with care.</li>
<li>Scores rank models; they are not accuracies. Method: arXiv 2602.01346, as implemented in vlmsel (its book's chapter on selecting a model for your own images).</li>
</ul></div>
<h2>Ranking by {_e(result.method)}</h2>
<div class="card"><p>{_e(method_text(result.method))}.</p>{f"<p>{_e(result.evidence)}</p>" if result.evidence else ""}</div>
<div class="card">{_ranking_table(result, top)}</div>
{_comparison_html(result)}
{fig_rank}
<div class="grid2">{fig_pareto}{fig_stab}</div>
<h2>Why these models{"" if result.method.startswith("dcd") else ", in the paper's DCD"}</h2>
{"".join(explanations)}
<h2>Your images</h2>
<div class="card">{_thumbs(result)}</div>
{skipped}
{excluded}
<h2>Settings and provenance</h2>
<div class="card">{_table(settings_rows)}</div>
</main>"""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}: {_e(result.top1)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def write_report(result, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Write :func:`report_html` to ``path`` (atomically) and return the path."""
    path = Path(path)
    text = report_html(result, **kwargs)
    with atomic_write(path, "w") as fh:
        fh.write(text)
    return path
