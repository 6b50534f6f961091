"""One figure style for the whole book.

Every chapter calls :func:`use_style` once and draws with the helpers below, so that figures share fonts,
sizes and a colour-blind-safe palette, and carry labelled axes. Colour is never the only cue: lines and
points also differ in marker or dash where a legend distinguishes them.

seaborn comes with the ``book`` extra and is imported only by the helpers that draw with it: the style
alone works without it, so that ``vlmsel select --report`` needs the core dependencies only.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler

PALETTE = "colorblind"
#: seaborn's "colorblind" palette (``sns.color_palette("colorblind")``), for the style without seaborn.
COLORBLIND = (
    "#0173b2",
    "#de8f05",
    "#029e73",
    "#d55e00",
    "#cc78bc",
    "#ca9161",
    "#fbafe4",
    "#949494",
    "#ece133",
    "#56b4e9",
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINESTYLES = ("-", "--", "-.", ":")


def use_style() -> None:
    """Set the book's matplotlib/seaborn style (call once per chapter).

    seaborn's whitegrid theme with the colour-blind palette; without seaborn (a plain install), matplotlib's
    copy of that theme with the same palette.
    """
    try:
        import seaborn as sns
    except ImportError:
        plt.style.use(["seaborn-v0_8-whitegrid", "seaborn-v0_8-notebook"])
        plt.rcParams["axes.prop_cycle"] = cycler(color=COLORBLIND)
    else:
        sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=0.95)
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "figure.figsize": (7.5, 4.2),
            "axes.titleweight": "bold",
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "figure.constrained_layout.use": True,
        }
    )


def heatmap(
    table: pd.DataFrame,
    *,
    ax: plt.Axes | None = None,
    cmap: str = "viridis",
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    cbar_label: str = "zero-shot accuracy",
    xlabel: str = "dataset",
    ylabel: str = "model",
    annot: bool = False,
    fmt: str = ".2f",
    title: str | None = None,
) -> plt.Axes:
    """Draw a (rows x columns) table as a heatmap with a labelled colour bar.

    Parameters
    ----------
    table : DataFrame (n_rows, n_cols) of numbers; its index and columns label the axes.
    ax : axes to draw on (a new figure sized to the table by default).
    vmin, vmax : colour range (default [0, 1], for accuracies).
    """
    import seaborn as sns

    if ax is None:
        height = min(max(2.5, 0.22 * table.shape[0] + 1.5), 14)
        width = min(max(4.0, 0.32 * table.shape[1] + 3.0), 12)
        _, ax = plt.subplots(figsize=(width, height))
    sns.heatmap(
        table,
        ax=ax,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        annot=annot,
        fmt=fmt,
        cbar_kws={"label": cbar_label},
        linewidths=0.0,
        annot_kws={"fontsize": 8},
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="both", labelsize=8)  # 8 pt: readable at the page width
    if title:
        ax.set_title(title)
    return ax


def dataset_spread(
    wide: pd.DataFrame,
    *,
    chance: pd.Series | None = None,
    ax: plt.Axes | None = None,
    ylabel: str = "zero-shot accuracy",
    title: str | None = None,
) -> plt.Axes:
    """Box plot of every model's value per dataset (columns), datasets sorted by median, chance marked.

    Parameters
    ----------
    wide : DataFrame (n_models, n_datasets).
    chance : Series over datasets of the chance-level accuracy (1 / number of classes), drawn as a black dash.
    """
    import seaborn as sns

    order = list(wide.median().sort_values().index)
    long = wide[order].melt(var_name="dataset", value_name="value")
    if ax is None:
        _, ax = plt.subplots(figsize=(min(8.0, max(6.0, 0.3 * len(order) + 1.5)), 4.2))
    sns.boxplot(
        data=long, x="dataset", y="value", ax=ax, color=sns.color_palette(PALETTE)[0], fliersize=2, linewidth=0.8
    )
    if chance is not None:
        ax.scatter(
            range(len(order)),
            chance.reindex(order).to_numpy(),
            marker="_",
            s=250,
            color="black",
            zorder=5,
            label="chance (1 / classes)",
        )
        ax.legend(loc="upper left")
    ax.set_xlabel("dataset (sorted by median)")
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", rotation=75, labelsize=8)
    if title:
        ax.set_title(title)
    return ax


def line_plot(
    x: Sequence[float] | np.ndarray,
    ys: dict[str, Sequence[float] | np.ndarray],
    *,
    ax: plt.Axes | None = None,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    logx: bool = False,
) -> plt.Axes:
    """Several labelled series against one x, each with its own marker and dash (readable without colour)."""
    if ax is None:
        _, ax = plt.subplots()
    for i, (label, y) in enumerate(ys.items()):
        ax.plot(x, y, marker=MARKERS[i % len(MARKERS)], linestyle=LINESTYLES[i % len(LINESTYLES)], label=label)
    if logx:
        log_ticks_at(ax, x)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def log_ticks_at(ax: plt.Axes, values: Sequence[float] | np.ndarray) -> None:
    """A logarithmic x axis labelled at the plotted values, in plain numbers (no crowded minor 3x10^1 labels)."""
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sorted(set(np.asarray(values, dtype=float).tolist()))))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())


def image_grid(
    rows: Sequence[tuple[str, Sequence[tuple[np.ndarray, str]]]],
    *,
    width: float = 7.2,
    title_size: float = 8.0,
) -> plt.Figure:
    """A grid of small pictures, one labelled row per group, a caption above every picture.

    Parameters
    ----------
    rows : per row, its label (drawn left of the row, may hold a newline) and its pictures as
        (image array (H, W, 3) uint8, caption) pairs; rows may differ in length (empty cells are blank).
    width : figure width in inches (the page width by default); each cell is square.
    """
    n_cols = max(len(pics) for _, pics in rows)
    cell = width / (n_cols + 1.3)
    fig, axes = plt.subplots(
        len(rows), n_cols, figsize=(width, (cell + 0.22) * len(rows)), squeeze=False, layout="none"
    )
    fig.subplots_adjust(left=1.3 / (n_cols + 1.3), right=0.995, top=0.97, bottom=0.01, wspace=0.08, hspace=0.35)
    for (label, pics), row in zip(rows, axes):
        for k, ax in enumerate(row):
            ax.axis("off")
            if k < len(pics):
                image, caption = pics[k]
                ax.imshow(image)
                ax.set_title(caption, fontsize=title_size, pad=2)
        row[0].text(
            -0.1,
            0.5,
            label,
            transform=row[0].transAxes,
            ha="right",
            va="center",
            fontsize=title_size + 1,
            fontweight="bold",
        )
    return fig


def panel_curves(
    panels: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]],
    *,
    xlabel: str,
    ylabel: str,
    width: float = 7.5,
    height: float = 3.0,
) -> plt.Figure:
    """Curves in side-by-side panels, with one style per curve label shared by every panel.

    Parameters
    ----------
    panels : panel title -> {curve label -> (x, y)}. A label keeps its colour, marker and dash in
        every panel, and one legend below the panels names each label once (readable without colour).
    """
    import seaborn as sns

    labels = list(dict.fromkeys(label for curves in panels.values() for label in curves))
    colours = sns.color_palette(PALETTE, len(labels)) if len(labels) <= 10 else sns.color_palette("tab20", len(labels))
    style = {
        label: dict(
            color=colours[i],
            marker=MARKERS[i % len(MARKERS)],
            linestyle=LINESTYLES[(i // len(MARKERS)) % len(LINESTYLES)],
        )
        for i, label in enumerate(labels)
    }
    fig, axes = plt.subplots(1, len(panels), figsize=(width, height), sharey=True, squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels.items()):
        for label, (x, y) in curves.items():
            every = max(1, len(x) // 6)
            ax.plot(x, y, lw=1.1, ms=4, markevery=every, label=label, **style[label])
        ax.set_title(title)
        ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel(ylabel)
    handles = [plt.Line2D([], [], lw=1.1, ms=4, **style[label]) for label in labels]
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5))
    return fig


def annotate_points(
    ax: plt.Axes,
    x: Sequence[float],
    y: Sequence[float],
    labels: Sequence[str],
    *,
    fontsize: float = 7.5,
) -> None:
    """Name every point of a scatter plot, placing each label where it overlaps no label placed before.

    Each label tries a few positions around its point (right, left, above, below, then further out) and
    takes the first whose estimated box overlaps no earlier label and no other point; call it after the
    axes limits are final (the placement is done in display coordinates).
    """
    fig = ax.figure
    fig.canvas.draw()  # the transforms reflect the final limits
    scale = fig.dpi / 72.0
    pts = ax.transData.transform(np.column_stack([x, y]))
    char_w, h = 0.55 * fontsize * scale, fontsize * scale
    candidates = [
        (4, 2),
        (4, -9),
        (-4, 2),
        (-4, -9),
        (0, 7),
        (0, -14),
        (8, 10),
        (8, -18),
        (-8, 10),
        (-8, -18),
        (14, 2),
        (-14, 2),
    ]
    placed: list[tuple[float, float, float, float]] = []

    def box(px, py, dx, dy, width):
        left = px + dx * scale if dx >= 0 else px + dx * scale - width
        if dx == 0:
            left = px - width / 2
        bottom = py + dy * scale
        return left, bottom, left + width, bottom + h

    def hits(b, i):
        if any(b[0] < q[2] and q[0] < b[2] and b[1] < q[3] and q[1] < b[3] for q in placed):
            return True
        others = np.delete(pts, i, axis=0)
        return bool(
            np.any(
                (others[:, 0] > b[0] - 2)
                & (others[:, 0] < b[2] + 2)
                & (others[:, 1] > b[1] - 2)
                & (others[:, 1] < b[3] + 2)
            )
        )

    for i in np.argsort(pts[:, 0]):
        width = char_w * len(str(labels[i]))
        px, py = pts[i]
        choice = next(((dx, dy) for dx, dy in candidates if not hits(box(px, py, dx, dy, width), i)), candidates[0])
        placed.append(box(px, py, *choice, width))
        ha = "center" if choice[0] == 0 else ("left" if choice[0] > 0 else "right")
        ax.annotate(
            str(labels[i]),
            (x[i], y[i]),
            xytext=choice,
            textcoords="offset points",
            ha=ha,
            va="bottom",
            fontsize=fontsize,
        )


def text_table(frame: pd.DataFrame, formats: dict | None = None):
    """A table with long text cells, styled to wrap inside the page width instead of scrolling or being cut.

    Parameters
    ----------
    frame : the table; its text columns (descriptions, questions) wrap, every cell is left-aligned.
    formats : per-column format strings, as for ``DataFrame.style.format``.

    Returns
    -------
    pandas Styler, to be the last expression of a cell.
    """
    styler = frame.style.format(formats or {})
    wrap = "white-space: normal; text-align: left; vertical-align: top;"
    return styler.set_table_styles([{"selector": "td, th", "props": wrap}])


def sweep_intervals(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    labels: dict[str, str],
    references: dict[str, dict[str, float]],
    *,
    xlabel: str,
    title: str,
    default_at: int | None = None,
    ticklabels: Sequence[str] | None = None,
) -> plt.Figure:
    """One panel per metric (a 2 x 2 grid for four): the mean and 95% interval at each setting of a sweep.

    Parameters
    ----------
    frame : one row per setting (in sweep order), columns ``(metric, stat)`` with stats ``mean``,
        ``ci_low``, ``ci_high``.
    metrics : the metrics to draw, one panel each; ``labels`` names them on the axes.
    references : name -> {metric: value}, drawn as horizontal lines (one colour and dash per name).
    default_at : position of the default setting, marked with a vertical line.
    ticklabels : the settings' names (default: the index values formatted with ``:g``).
    """
    n_cols = 2 if len(metrics) > 1 else 1
    n_rows = -(-len(metrics) // n_cols)
    x = np.arange(len(frame))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(7.5, 2.7 * n_rows), sharex=True, squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        mean = frame[metric, "mean"].to_numpy()
        err = [mean - frame[metric, "ci_low"].to_numpy(), frame[metric, "ci_high"].to_numpy() - mean]
        ax.errorbar(x, mean, yerr=err, marker="o", capsize=2, color="C0", label="DCD")
        for j, (name, values) in enumerate(references.items()):
            ax.axhline(values[metric], color=f"C{j + 1}", linestyle=LINESTYLES[(j + 1) % len(LINESTYLES)], label=name)
        if default_at is not None:
            ax.axvline(default_at, color="grey", linewidth=0.8)
        ax.set_ylabel(labels.get(metric, metric))
        ax.set_xticks(x, ticklabels or [f"{v:g}" for v in frame.index])
    for ax in axes.flat[len(metrics) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=len(names))
    fig.suptitle(f"{title} (means over targets, 95% intervals)")
    return fig


def option_intervals(
    rows: dict[tuple[str, str], pd.DataFrame],
    metrics: Sequence[str],
    labels: dict[str, str],
    *,
    title: str,
    ylabel: str,
    last: Sequence[str] = ("avg_rank",),
) -> plt.Figure:
    """Dots and 95% intervals of several options (rows of the plot) for one or more groups, one panel per metric.

    Parameters
    ----------
    rows : (group, option) -> summary DataFrame indexed by metric, with columns ``mean``, ``ci_low``,
        ``ci_high``. Each group gets its own marker and colour, slightly offset; options keep their first-seen
        order, except those named in ``last`` (references), which go to the bottom.
    metrics, labels : the metrics to draw and their axis labels (long labels are broken over lines).
    """
    groups = list(dict.fromkeys(g for g, _ in rows))
    options = list(dict.fromkeys(o for _, o in rows))
    options.sort(key=lambda o: o in last)
    fig, axes = plt.subplots(
        1, len(metrics), sharey=True, squeeze=False, figsize=(7.5, max(3.3, 1.4 + 0.3 * len(options)))
    )
    axes = axes[0]
    offsets = np.linspace(-0.15, 0.15, len(groups)) if len(groups) > 1 else [0.0]
    for ax, metric in zip(axes, metrics):
        for j, group in enumerate(groups):
            ys, xs, lo, hi = [], [], [], []
            for i, option in enumerate(options):
                if (group, option) not in rows:
                    continue
                s = rows[group, option].loc[metric]
                ys.append(i + offsets[j])
                xs.append(s["mean"])
                lo.append(s["mean"] - s["ci_low"])
                hi.append(s["ci_high"] - s["mean"])
            ax.errorbar(
                xs,
                ys,
                xerr=[lo, hi],
                fmt=MARKERS[j % len(MARKERS)],
                color=f"C{j}",
                capsize=2,
                markersize=5,
                label=group,
            )
        ax.set_xlabel(labels.get(metric, metric).replace(" (", "\n(").replace(", ", "\n"))
        ax.set_yticks(range(len(options)), options)
    axes[0].invert_yaxis()
    axes[0].set_ylabel(ylabel)
    if len(groups) > 1:
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", ncols=len(names))
    fig.suptitle(title)
    return fig


def cost_frontier(
    means: pd.DataFrame,
    costs: pd.Series,
    metric: str,
    ax: plt.Axes,
    *,
    lower_is_better: bool = False,
    lines: Sequence[str] = ("oracle_sim", "random"),
    floor: float = 0.3,
) -> None:
    """Each method's mean ``metric`` with its 95% interval against its cost (forward passes G per target image,
    log scale; zero-cost methods drawn on a marked floor at ``floor``), the Pareto frontier as a step line and
    the methods of ``lines`` (the oracle, random) as labelled horizontal lines.

    ``means`` has ``metric, metric_low, metric_high`` per method (:meth:`vlmsel.evaluation.study.Study.means`).
    """
    rows = [m for m in means.index if m not in lines]
    x = np.array([max(float(costs[m]), floor) for m in rows])
    y = means.loc[rows, metric].to_numpy(float)
    lo, hi = means.loc[rows, f"{metric}_low"].to_numpy(float), means.loc[rows, f"{metric}_high"].to_numpy(float)
    ax.errorbar(x, y, yerr=[y - lo, hi - y], fmt="none", ecolor="0.6", elinewidth=1, capsize=2, zorder=1)
    ax.scatter(x, y, s=28, zorder=3, color=COLORBLIND[0])
    sign = -1.0 if lower_is_better else 1.0
    order = np.lexsort((-sign * y, x))
    best, front = -np.inf, []
    for i in order:  # cheapest first: a point is on the frontier when nothing cheaper or as cheap is better
        if sign * y[i] > best:
            best = sign * y[i]
            front.append(i)
    ax.step(x[front], y[front], where="post", color=COLORBLIND[1], lw=1.2, zorder=2)
    ax.set_xscale("log")
    ax.axvspan(floor / 1.6, floor * 1.6, color="0.92", zorder=0)
    ticks = sorted({floor, *[v for v in x if v > floor]})
    ax.set_xticks(ticks)
    ax.set_xticklabels(["0 (no pass)" if t == floor else f"{t:g}" for t in ticks])
    ax.set_xlim(floor / 2, max(ticks) * 2)
    for k, m in enumerate(m for m in lines if m in means.index):
        level = float(means.loc[m, metric])
        ax.axhline(level, color="0.35", ls=LINESTYLES[1 + k % 3], lw=1)
        ax.annotate(m, (floor / 2, level), xytext=(3, 2), textcoords="offset points", ha="left", fontsize=7.5)
    ax.set_xlabel("image-tower forward passes per target image and model (G, log scale)")
    ax.set_ylabel(metric + (" (lower is better)" if lower_is_better else ""))
    annotate_points(ax, list(x), list(y), rows)
