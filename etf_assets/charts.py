"""Small PNG charts for the Dagster UI: matplotlib's Agg canvas only (headless, no network).

Korean labels need a font with Hangul glyphs; without one matplotlib draws empty boxes. When no
known Korean font is installed, labels fall back to English: an issuer is named by the words its
ETFs' English names (ISU_ENG_NM) share ("SAMSUNG KODEX"), an asset class by its English term,
and anything else Korean is romanised (Revised Romanization, syllable by syllable).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Families that carry Hangul, most common first (Linux packages, Windows, macOS).
KOREAN_FONT_FAMILIES = (
    "NanumGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Malgun Gothic",
    "AppleGothic",
    "UnDotum",
    "Baekmuk Gulim",
)

# KRX's asset classes (IDX_ASST_CLSS_NM) are a closed list.
ASSET_CLASS_ENGLISH = {
    "주식": "Equity",
    "채권": "Bond",
    "원자재": "Commodity",
    "통화": "Currency",
    "부동산": "Real estate",
    "혼합자산": "Multi-asset",
    "기타": "Other",
}

ISSUER_LABEL_MAX_WORDS = 3

# Revised Romanization of the 19 initial, 21 medial and 28 final jamo, in Unicode order.
_INITIALS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch",
             "k", "t", "p", "h")  # fmt: skip
_MEDIALS = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
           "wo", "we", "wi", "yu", "eu", "ui", "i")  # fmt: skip
_FINALS = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m",
           "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t")  # fmt: skip
_HANGUL_FIRST, _HANGUL_COUNT = 0xAC00, 19 * 21 * 28


def korean_font() -> str | None:
    """The first installed font family that can draw Hangul, or None."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in KOREAN_FONT_FAMILIES if family in installed), None)


def _is_hangul(char: str) -> bool:
    return 0 <= ord(char) - _HANGUL_FIRST < _HANGUL_COUNT


def romanize(text: str) -> str:
    """Hangul in Revised Romanization (syllable by syllable, no sound-change rules), each
    romanised word capitalised; other characters kept as they are."""
    words = []
    for word in text.split(" "):
        out = []
        for char in word:
            if _is_hangul(char):
                initial, rest = divmod(ord(char) - _HANGUL_FIRST, 21 * 28)
                medial, final = divmod(rest, 28)
                out.append(_INITIALS[initial] + _MEDIALS[medial] + _FINALS[final])
            else:
                out.append(char)
        romanised = "".join(out)
        words.append(romanised.capitalize() if word[:1] and _is_hangul(word[0]) else romanised)
    return " ".join(words)


def issuer_labels(pairs: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """English label per issuer from (issuer, ETF English name) pairs.

    The words every one of the issuer's English names starts with (house and brand, e.g.
    "MIRAE ASSET TIGER"), at most three, a brand equal to the house said once ("KIWOOM
    KIWOOM" → "KIWOOM"); the issuer's name romanised when it has no English names. Hangul
    left in a label (brands such as 파워) is romanised too. Labels are made unique so two
    issuers never share a bar.
    """
    names: dict[str, list[list[str]]] = {}
    for issuer, name_eng in pairs:
        words = names.setdefault(issuer, [])
        if name_eng:
            words.append(name_eng.split())
    labels: dict[str, str] = {}
    for issuer, word_lists in names.items():
        common: list[str] = []
        for column in zip(*word_lists, strict=False):
            if len(set(column)) > 1 or len(common) == ISSUER_LABEL_MAX_WORDS:
                break
            if not common or column[0] != common[-1]:
                common.append(column[0])
        label = unique = romanize(" ".join(common) or issuer)
        count = 1
        while unique in labels.values():
            count += 1
            unique = f"{label} #{count}"
        labels[issuer] = unique
    return labels


def asset_class_label(asset_class: str) -> str:
    return ASSET_CLASS_ENGLISH.get(asset_class) or romanize(asset_class)


def bar_chart_png(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    value_label: str,
    font: str | None = None,
) -> bytes:
    """A horizontal bar chart, largest bar on top, as PNG bytes (about 20–40 kB)."""
    figure = Figure(figsize=(7.5, 0.32 * len(labels) + 1.4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = range(len(labels))
    bars = axes.barh(positions, values, color="#3b6ea8")
    axes.set_yticks(positions, labels, fontfamily=font or "DejaVu Sans", fontsize=9)
    axes.invert_yaxis()
    axes.bar_label(bars, fmt="{:,.1f}", fontsize=8, padding=2)
    axes.set_xlabel(value_label)
    axes.set_title(title, fontsize=11, fontfamily=font or "DejaVu Sans")
    axes.margins(x=0.12)
    axes.spines[["top", "right"]].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    """Markdown embedding the PNG as a data URI, so the Dagster UI shows it inline."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
