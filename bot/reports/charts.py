"""Section charts as PNG bytes (matplotlib, Agg: no display needed).

Every label is data from strangers (titles, categories): control characters are removed, long
ones shortened, and `$` escaped so matplotlib never reads it as math. Values that are not
finite numbers (missing, NaN, infinite) are left out; a chart with nothing left is not drawn.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from typing import Any

from bot.reports.model import Chart, Section
from bot.reports.values import as_float
from bot.text import printable

MAX_LABEL = 40
MAX_BARS = 60  # more bars are unreadable: the largest are kept (the title says so)
MAX_TICKS = 20  # a line over many periods labels every n-th one


def chart_label(value: Any) -> str:
    text = printable(" ".join(str(value).split()), limit=MAX_LABEL)
    return text.replace("$", r"\$")


def _series(chart: Chart, section: Section) -> OrderedDict[str, list[tuple[str, float]]]:
    found: OrderedDict[str, list[tuple[str, float]]] = OrderedDict()
    for row in section.rows:
        y = as_float(row.get(chart.y))
        if y is None:
            continue
        x = row.get(chart.x)
        if x is None:
            continue
        name = chart_label(row.get(chart.series) or "") if chart.series else ""
        found.setdefault(name, []).append((chart_label(x), y))
    return found


def render_png(chart: Chart, section: Section) -> bytes | None:
    """The chart of `section`, or None when no row has a value to draw."""
    series = _series(chart, section)
    if not series:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=100)
    title = chart.title
    try:
        if chart.kind in ("line", "scatter"):
            # Categories by position (dates and ids stay labels, never parsed as numbers)
            labels = list(OrderedDict.fromkeys(x for points in series.values() for x, _ in points))
            position = {label: i for i, label in enumerate(labels)}
            for name, points in series.items():
                xs = [position[x] for x, _ in points]
                ys = [y for _, y in points]
                if chart.kind == "line":
                    axes.plot(xs, ys, marker="o", label=name)
                else:
                    axes.scatter(xs, ys, label=name)
            step = max(1, -(-len(labels) // MAX_TICKS))
            shown = range(0, len(labels), step)
            axes.set_xticks(list(shown), [labels[i] for i in shown], rotation=45, ha="right")
        else:
            labels = list(OrderedDict.fromkeys(x for points in series.values() for x, _ in points))
            if len(labels) > MAX_BARS:
                largest: dict[str, float] = {}
                for points in series.values():
                    for x, y in points:
                        largest[x] = max(largest.get(x, y), y)
                keep = set(sorted(labels, key=lambda x: -largest[x])[:MAX_BARS])
                labels = [x for x in labels if x in keep]
                title = f"{chart.title} (largest {MAX_BARS} of {len(largest)})"
            width = 0.8 / len(series)
            for index, (name, points) in enumerate(series.items()):
                values = dict(points)
                positions = [i + index * width for i in range(len(labels))]
                heights = [values.get(label, 0.0) for label in labels]
                if chart.kind == "barh":
                    axes.barh(positions, heights, height=width, label=name)
                else:
                    axes.bar(positions, heights, width=width, label=name)
            ticks = [i + width * (len(series) - 1) / 2 for i in range(len(labels))]
            if chart.kind == "barh":
                axes.set_yticks(ticks, labels)
                axes.invert_yaxis()
            else:
                axes.set_xticks(ticks, labels, rotation=45, ha="right")
        axes.set_title(chart_label(title))
        axes.set_xlabel(chart_label(chart.xlabel))
        axes.set_ylabel(chart_label(chart.ylabel))
        if chart.series and any(series):
            axes.legend()
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
