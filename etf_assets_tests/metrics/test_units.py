"""Money in 억원 or 조원 by size, and no "-0.00": the pure formatters (microseconds)."""

import math

import pandas as pd
import pytest

from etf_assets.metrics.units import EOK, JO, krw_korean, krw_unit, number_text


@pytest.mark.parametrize(
    ("value_krw", "shown"),
    [
        (999e8, "999 억원"),
        (1.2e12, "1.2 조원"),
        (22_891_100_000_000.0, "22.9 조원"),
        (146.5e12, "146.5 조원"),
        (228_911e8, "22.9 조원"),
        (9_999e8, "9,999 억원"),
        (-3_120e8, "-3,120 억원"),
        (-1.25e12, "-1.2 조원"),
        (3e7, "0.3 억원"),
        (-1_000.0, "0.0 억원"),
        (0.0, "0.0 억원"),
        (None, ""),
        (math.nan, ""),
        (pd.NA, ""),  # a nullable integer column's missing value (investor flows)
    ],
)
def test_krw_korean_chooses_the_unit_by_size(value_krw: float | None, shown: str) -> None:
    assert krw_korean(value_krw) == shown


def test_one_axis_shares_the_unit_of_its_largest_value() -> None:
    assert krw_unit([5e8, -2e12, None]) is JO
    assert krw_unit([5e8, 9.9e11, math.nan]) is EOK
    assert krw_unit([]) is EOK


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (-0.001, ",.2f", "0.00"),
        (-0.004999, ".2f", "0.00"),
        (-1e-12, "+.2f", "+0.00"),
        (-0.4, ",.0f", "0"),
        (-0.01, ".2f", "-0.01"),
        (-1234.5, ",.1f", "-1,234.5"),
        (0.001, "+.2f", "+0.00"),
        (-0.001, ">8.2f", "    0.00"),
    ],
)
def test_number_text_never_shows_a_negative_zero(value: float, fmt: str, shown: str) -> None:
    assert number_text(value, fmt) == shown
