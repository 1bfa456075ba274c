"""Small PNG charts for the Dagster UI: matplotlib's Agg canvas only (headless, no network).

Labels are the Korean names KRX publishes, and titles and axes are in Korean with money in
억원 or 조원 (`etf_assets.metrics.units`), so they need a font with Hangul glyphs (matplotlib's
own DejaVu Sans draws empty boxes). NanumGothic ships inside the `koreanize-matplotlib`
dependency; its file is registered with matplotlib's font manager from the package's directory,
without importing the package, whose import switches every later figure of the process to its
font (and imports `distutils`, gone from Python 3.12).
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import io
from collections.abc import Sequence
from pathlib import Path

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KOREAN_FONT_PACKAGE = "koreanize_matplotlib"
KOREAN_FONT_FILE = Path("fonts", "NanumGothic.ttf")


@functools.cache
def korean_font_file() -> Path:
    """The packaged NanumGothic file, registered with matplotlib's font manager (once)."""
    spec = importlib.util.find_spec(KOREAN_FONT_PACKAGE)  # finds, does not import
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{KOREAN_FONT_PACKAGE} (koreanize-matplotlib, a dependency) is not installed: "
            "run `make install`"
        )
    path = Path(spec.submodule_search_locations[0], KOREAN_FONT_FILE)
    font_manager.fontManager.addfont(str(path))
    return path


def korean_font() -> str:
    """Family name of the packaged Korean font (NanumGothic)."""
    return font_manager.FontProperties(fname=korean_font_file()).get_name()


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, value_label: str
) -> Figure:
    """A horizontal bar chart, largest bar on top; labels and title in the packaged Korean font
    (by file, so a system font of the same family name cannot stand in)."""
    korean = font_manager.FontProperties(fname=korean_font_file())
    figure = Figure(figsize=(7.5, 0.32 * len(labels) + 1.4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(labels))
    bars = axes.barh(positions, values, color="#3b6ea8")
    axes.set_yticks(positions, labels, fontproperties=korean, fontsize=9)
    axes.invert_yaxis()
    axes.bar_label(bars, fmt="{:,.1f}", fontsize=8, padding=2)
    axes.set_xlabel(value_label, fontproperties=korean)
    axes.set_title(title, fontproperties=korean, fontsize=11)
    axes.margins(x=0.12)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def column_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, value_label: str
) -> Figure:
    """Vertical bars in the order given (a series over time, e.g. payouts by ex-date); the
    labels turned to fit, every one shown while there are few enough to read."""
    korean = font_manager.FontProperties(fname=korean_font_file())
    figure = Figure(figsize=(7.5, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(labels))
    axes.bar(positions, values, color="#3b6ea8")
    step = max(1, len(labels) // 24)
    axes.set_xticks(list(positions)[::step], list(labels)[::step], rotation=60, fontsize=7)
    axes.set_ylabel(value_label, fontproperties=korean)
    axes.set_title(title, fontproperties=korean, fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def column_chart_png(
    labels: Sequence[str], values: Sequence[float], *, title: str, value_label: str
) -> bytes:
    """`column_chart` as PNG bytes."""
    return _png(column_chart(labels, values, title=title, value_label=value_label))


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def bar_chart_png(
    labels: Sequence[str], values: Sequence[float], *, title: str, value_label: str
) -> bytes:
    """`bar_chart` as PNG bytes (about 20–40 kB)."""
    return _png(bar_chart(labels, values, title=title, value_label=value_label))


def markdown_image(png: bytes, alt: str) -> str:
    """Markdown embedding the PNG as a data URI, so the Dagster UI shows it inline."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def paired_bar_chart_png(
    labels: Sequence[str],
    first: Sequence[float],
    second: Sequence[float],
    *,
    names: tuple[str, str],
    title: str,
    value_label: str,
) -> bytes:
    """Two horizontal bars per label (e.g. a fund's all-in cost beside its headline fee), the
    first label on top, with a legend naming the two series; PNG bytes."""
    korean = font_manager.FontProperties(fname=korean_font_file())
    figure = Figure(figsize=(7.5, 0.45 * len(labels) + 1.6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    height = 0.4
    positions = range(len(labels))
    for offset, values, name, color in (
        (-height / 2, first, names[0], "#3b6ea8"),
        (height / 2, second, names[1], "#c8a24a"),
    ):
        bars = axes.barh([p + offset for p in positions], values, height, label=name, color=color)
        axes.bar_label(bars, fmt="{:,.3f}", fontsize=7, padding=2)
    axes.set_yticks(positions, labels, fontproperties=korean, fontsize=9)
    axes.invert_yaxis()
    axes.set_xlabel(value_label, fontproperties=korean)
    axes.set_title(title, fontproperties=korean, fontsize=11)
    axes.legend(prop=korean, fontsize=8, loc="lower right")
    axes.margins(x=0.15)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)
