"""SQL fragments every metric uses, so a division never yields NaN or infinity.

DuckDB follows IEEE arithmetic: x / 0 is ±infinity, 0 / 0 is NaN, and NaN ranks above every
number, so a guard on `> 0` alone would let a NaN through. A ratio or product of levels (NAV,
price, index level, share count) is therefore only taken of levels that pass `usable`; any
other day gives NULL.
"""

from __future__ import annotations


def usable(level: str) -> str:
    """SQL: true when `level` is positive and finite (NULL, 0, NaN and infinity are not)."""
    return f"({level} > 0 AND isfinite({level}))"
