"""Charts render headless to PNG, in the Korean font the project's dependencies ship."""

import base64
import importlib.util
import io
import sys
import warnings
from pathlib import Path

import matplotlib
import matplotlib.image
from matplotlib import font_manager

from etf_assets import charts

ISSUERS = ["미래에셋자산운용", "삼성자산운용", "엔에이치아문디자산운용"]


def test_bar_chart_is_a_png_rendered_headless() -> None:
    backend = matplotlib.get_backend()
    png = charts.bar_chart_png(ISSUERS, [35.9, 32.3, 2.5], title="AUM", value_label="tn KRW")
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


def test_the_korean_font_is_the_packaged_file_registered_without_importing_the_package() -> None:
    path = charts.korean_font_file()
    package = importlib.util.find_spec(charts.KOREAN_FONT_PACKAGE).submodule_search_locations[0]
    assert path.is_file() and path.is_relative_to(package) and path.name == "NanumGothic.ttf"
    assert path in {Path(entry.fname) for entry in font_manager.fontManager.ttflist}
    assert charts.korean_font() == "NanumGothic"
    # its import would switch every figure of the process to its font
    assert charts.KOREAN_FONT_PACKAGE not in sys.modules
    assert "NanumGothic" not in matplotlib.rcParams["font.family"]


def test_labels_and_title_are_drawn_in_the_packaged_font() -> None:
    axes = charts.bar_chart(
        ISSUERS, [3.0, 2.0, 1.0], title="운용사별 순자산", value_label="v"
    ).axes[0]
    texts = [*axes.get_yticklabels(), axes.title]
    assert [t.get_text() for t in texts] == [*ISSUERS, "운용사별 순자산"]
    for text in texts:
        assert Path(font_manager.findfont(text.get_fontproperties())) == charts.korean_font_file()


def test_hangul_draws_without_missing_glyphs() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts.bar_chart_png(ISSUERS, [3.0, 2.0, 1.0], title="주식 채권 혼합자산", value_label="v")
    assert not [w for w in caught if "missing from font" in str(w.message)]
