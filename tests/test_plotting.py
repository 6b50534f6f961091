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
    fig = plotting.panel_curves({"a": {"one": (x, x), "two": (x, x ** 2)}, "b": {"one": (x, -x)}},
                                xlabel="x", ylabel="y")
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
