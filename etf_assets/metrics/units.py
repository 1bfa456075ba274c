"""Numbers as Korean readers read them: money in 억원 (1e8 KRW) or 조원 (1e12 KRW), and no
"-0.00" for a figure that rounds to zero. Pure: no Dagster, no pandas."""

import math
import re
from collections.abc import Iterable
from typing import NamedTuple

EOK_KRW = 1e8  # 억원
JO_KRW = 1e12  # 조원
_NONZERO_DIGIT = re.compile(r"[1-9]")


class KRWUnit(NamedTuple):
    """A Korean money unit: how many KRW one of it is, its name and the decimals shown."""

    krw: float
    name: str
    decimals: int


EOK = KRWUnit(EOK_KRW, "억원", 0)
JO = KRWUnit(JO_KRW, "조원", 1)


def is_missing(value: object) -> bool:
    """None, NaN and NaT (not equal to themselves) and pandas' NA of nullable integer columns
    (whose comparisons are NA, not a bool)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: `NA != NA` is NA, whose truth is ambiguous
        return True


def number_text(value: float, fmt: str) -> str:
    """`format(value, fmt)`, without the minus sign of a value that rounds to zero: "0.00",
    never "-0.00" (a tiny negative premium is no discount)."""
    text = format(value, fmt)
    if "-" in text and not _NONZERO_DIGIT.search(text):
        return format(abs(value), fmt)  # keeps the width and a "+" the format asks for
    return text


def krw_unit(values_krw: Iterable[float | None]) -> KRWUnit:
    """The unit for money of this size: 조원 once the largest absolute value reaches 1 조원,
    else 억원 (so one axis or one column shares one unit)."""
    sizes = [abs(v) for v in values_krw if not is_missing(v) and math.isfinite(v)]
    return JO if sizes and max(sizes) >= JO_KRW else EOK


def krw_korean(value_krw: float | None) -> str:
    """One amount of money as a Korean reader reads it, the unit chosen by its size:
    "999 억원", "1.2 조원", "146.5 조원", "-3,120 억원"; one decimal below 10 of the unit
    ("0.3 억원", not "0 억원"); blank if missing."""
    if is_missing(value_krw):
        return ""
    unit = krw_unit([value_krw])
    scaled = value_krw / unit.krw
    decimals = 1 if abs(scaled) < 10 else unit.decimals
    return f"{number_text(scaled, f',.{decimals}f')} {unit.name}"
