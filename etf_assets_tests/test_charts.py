"""Charts render headless to PNG, and labels stay readable without a Korean font."""

import base64
import io
import warnings

import matplotlib
import matplotlib.image
import pytest

from etf_assets import charts


def test_bar_chart_is_a_png_rendered_headless() -> None:
    backend = matplotlib.get_backend()
    png = charts.bar_chart_png(
        ["MIRAE ASSET TIGER", "SAMSUNG KODEX"], [35.9, 32.3], title="AUM", value_label="tn KRW"
    )
    assert png.startswith(charts.PNG_SIGNATURE)
    height, width, _ = matplotlib.image.imread(io.BytesIO(png)).shape
    assert width == 750 and height > 100
    assert matplotlib.get_backend() == backend  # no global backend switch, no window


def test_markdown_image_embeds_the_png() -> None:
    png = charts.bar_chart_png(["a"], [1.0], title="t", value_label="v")
    markdown = charts.markdown_image(png, "AUM by issuer")
    prefix = "![AUM by issuer](data:image/png;base64,"
    assert markdown.startswith(prefix) and markdown.endswith(")")
    assert base64.b64decode(markdown[len(prefix) : -1]) == png


@pytest.mark.parametrize(
    ("korean", "roman"),
    [
        ("삼성", "Samseong"),
        ("주식", "Jusik"),
        ("한국투자", "Hanguktuja"),
        ("ASSETPLUS 에셋플러스", "ASSETPLUS Esetpeulreoseu"),
        ("KODEX 200", "KODEX 200"),
    ],
)
def test_romanize(korean: str, roman: str) -> None:
    assert charts.romanize(korean) == roman


def test_issuer_labels_from_english_names() -> None:
    labels = charts.issuer_labels(
        [
            ("미래에셋자산운용", "MIRAE ASSET TIGER 200 ETF"),
            ("미래에셋자산운용", "MIRAE ASSET TIGER S&P500 ETF"),
            ("키움투자자산운용", "KIWOOM KIWOOM 200 ETF"),
            ("키움투자자산운용", "KIWOOM KIWOOM Bio ETF"),
            ("교보악사자산운용", "KYOBO AXA 파워 200 ETF"),
            ("교보악사자산운용", "KYOBO AXA 파워 Bond ETF"),
            ("우리자산운용", ""),
            ("미래에셋", "MIRAE ASSET TIGER 100 ETF"),
        ]
    )
    assert labels == {
        "미래에셋자산운용": "MIRAE ASSET TIGER",
        "키움투자자산운용": "KIWOOM",  # house and brand said once
        "교보악사자산운용": "KYOBO AXA Pawo",  # a Korean brand romanised
        "우리자산운용": "Urijasanunyong",  # no English name at all
        "미래에셋": "MIRAE ASSET TIGER #2",  # never two bars with one label
    }


def test_asset_classes_in_english() -> None:
    assert [charts.asset_class_label(c) for c in ("주식", "채권", "혼합자산", "신규")] == [
        "Equity",
        "Bond",
        "Multi-asset",
        "Singyu",
    ]


def test_fallback_labels_draw_without_missing_glyphs() -> None:
    labels = charts.issuer_labels([("에셋플러스자산운용", "ASSETPLUS 에셋플러스 ETF")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts.bar_chart_png(list(labels.values()), [1.0], title="AUM", value_label="v")
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_korean_font_is_a_known_family_or_none() -> None:
    assert charts.korean_font() in (None, *charts.KOREAN_FONT_FAMILIES)
