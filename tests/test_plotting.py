"""The book's plotting helpers draw under the book's style without a warning (a warning would be printed in
the rendered page, above the figure)."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from vlmsel import plotting


@pytest.fixture(autouse=True)
def book_style():
    with matplotlib.rc_context():
        plotting.use_style()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield
    plt.close("all")


def test_image_grid_lays_out_rows_without_a_layout_engine_warning():
    rng = np.random.default_rng(0)
    pics = [(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), f"p{i}") for i in range(4)]
    fig = plotting.image_grid([("row a", pics), ("row b\n(two lines)", pics[:2])])
    fig.canvas.draw()
    assert len(fig.axes) == 2 * 4
    assert sum(len(ax.images) > 0 for ax in fig.axes) == 4 + 2  # empty cells stay blank


def test_panel_curves_and_line_plot_draw_without_warnings():
    x = np.arange(1, 6, dtype=float)
    fig = plotting.panel_curves({"a": {"one": (x, x), "two": (x, x**2)}, "b": {"one": (x, -x)}}, xlabel="x", ylabel="y")
    fig.canvas.draw()
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    ax = plotting.line_plot(x, {"one": x}, xlabel="x", ylabel="y", logx=True)
    plotting.log_ticks_at(ax, x)
    ax.figure.canvas.draw()


def test_heatmap_and_annotated_scatter_draw_without_warnings():
    table = pd.DataFrame(np.linspace(0, 1, 6).reshape(2, 3), index=["m1", "m2"], columns=["d1", "d2", "d3"])
    ax = plotting.heatmap(table, annot=True)
    ax.figure.canvas.draw()
    fig, ax = plt.subplots()
    ax.scatter([0, 1, 2], [0, 1, 0])
    plotting.annotate_points(ax, [0, 1, 2], [0, 1, 0], ["a", "b", "c"])
    assert len(ax.texts) == 3


def test_text_table_wraps_every_cell_and_keeps_the_formats():
    frame = pd.DataFrame({"what": ["a long description " * 5], "share": [0.12345]}, index=["row"])
    html = plotting.text_table(frame, {"share": "{:.2f}"}).to_html()
    assert "white-space: normal" in html and "0.12" in html and "0.12345" not in html
    assert "a long description a long description" in html  # not truncated like a plain DataFrame repr


def _summary(mean: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"mean": [mean, mean / 2], "ci_low": [mean - 0.1, mean / 2 - 0.1], "ci_high": [mean + 0.1, mean / 2 + 0.1]},
        index=["ndcg5", "r5"],
    )


def test_option_intervals_puts_references_last_and_draws_every_group():
    rows = {
        ("fixed", "avg_rank"): _summary(0.5),
        ("fixed", "a"): _summary(0.8),
        ("nested", "a"): _summary(0.7),
        ("fixed", "b"): _summary(0.6),
    }
    fig = plotting.option_intervals(
        rows, ["ndcg5", "r5"], {"ndcg5": "NDCG@5 (gain: accuracy)"}, title="t", ylabel="option"
    )
    fig.canvas.draw()
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "avg_rank"]
    assert ax.get_xlabel() == "NDCG@5\n(gain: accuracy)" and fig.axes[1].get_xlabel() == "r5"
    # one errorbar container per group and panel; the "fixed" dots sit at the options' positions
    assert len(ax.containers) == 2
    fixed_y = np.sort(np.asarray(ax.containers[0].lines[0].get_ydata(), dtype=float))
    assert np.allclose(fixed_y, [-0.15, 0.85, 1.85])  # options a, b, avg_rank, group offset -0.15


def test_sweep_intervals_one_panel_per_metric_with_reference_lines():
    frame = pd.concat({v: _summary(v).stack() for v in (0.2, 0.4, 0.6)}, axis=1).T
    fig = plotting.sweep_intervals(
        frame, ["ndcg5", "r5"], {}, {"avg_rank": {"ndcg5": 0.3, "r5": 0.1}}, xlabel="eta", title="sweep", default_at=1
    )
    fig.canvas.draw()
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    ax = visible[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.2", "0.4", "0.6"]
    assert np.allclose(np.asarray(ax.containers[0].lines[0].get_ydata(), dtype=float), [0.2, 0.4, 0.6])
    levels = [np.asarray(ln.get_ydata(), dtype=float) for ln in ax.lines]
    assert any(len(y) == 2 and np.allclose(y, 0.3) for y in levels)  # the avg_rank reference line
