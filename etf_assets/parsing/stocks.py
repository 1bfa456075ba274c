"""Pure parsers of KRX's two stock screens → stock_sectors and stock_shares frames.

업종분류 현황 (MDCSTAT03901, rows under `block1`) gives each stock's industry (IDX_IND_NM);
전종목 시세 (MDCSTAT01501, rows under `OutBlock_1`) its listed shares, close and market cap.
Both are asked once per market (mktId STK, KSQ) per session, and their rows carry no date and,
in 03901, no market id: the caller's trdDd and mktId are stamped here. Numbers follow the
data service's rules (thousands commas, `-` for none; docs/krx.md § Stock screens); fields
are read by name, the others ignored, and stock codes kept whole (`00104K` exists).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from etf_assets.parsing.krx import (
    KRXField,
    Row,
    _empty,
    _frame,
    _keys,
    _one_row_per_key,
    _typed_columns,
)
from etf_assets.parsing.rules import Absence

STOCK_SECTOR_COLUMNS: dict[str, str] = {
    "trade_date": "object", "stock_code": "str", "name": "str", "market": "str", "sector": "str",
}  # fmt: skip
STOCK_SHARE_COLUMNS: dict[str, str] = {
    "trade_date": "object", "stock_code": "str", "listed_shares": "Int64", "close": "float64",
    "market_cap_krw": "Int64",
}  # fmt: skip

_TEXT = "a name or label: `-`/empty is KRX saying none"
STOCK_SECTOR_FIELDS: tuple[KRXField, ...] = (
    KRXField("name", "ISU_ABBRV", "text", Absence.MARKED, _TEXT),
    KRXField(
        "sector", "IDX_IND_NM", "text", Absence.MARKED,
        "a stock KRX classes in no industry: its exposure bucket is unknown",
    ),
)  # fmt: skip
STOCK_SHARE_FIELDS: tuple[KRXField, ...] = (
    KRXField(
        "listed_shares", "LIST_SHRS", "int", Absence.MARKED_OR_ZERO,
        "a listed stock always has shares: 0 can only mean none",
    ),
    KRXField(
        "close", "TDD_CLSPRC", "float", Absence.MARKED_OR_ZERO,
        "`-` on a day without trading; a price is never 0",
    ),
    KRXField(
        "market_cap_krw", "MKTCAP", "int", Absence.MARKED_OR_ZERO,
        "close × listed shares is never 0",
    ),
)  # fmt: skip


def is_no_trading_answer(rows: Sequence[Row]) -> bool:
    """True for `[]` and for KRX's answer on a day without trading: every stock listed with
    its close `-` (01501 of Saturday 2021-01-23 keeps LIST_SHRS but no price)."""
    return all(str(row.get("TDD_CLSPRC", "")).strip() == "-" for row in rows)


def stock_sectors_frame(rows: Sequence[Row], trade_date: date, market: str) -> pd.DataFrame:
    """03901 rows of one market and trdDd → stock_sectors rows (market = the mktId asked)."""
    if not rows:
        return _empty(STOCK_SECTOR_COLUMNS)
    df = _one_row_per_key(_frame(rows), "ISU_SRT_CD")
    codes = _keys(df, "ISU_SRT_CD")
    typed = _typed_columns(df, STOCK_SECTOR_FIELDS, codes)
    out = pd.DataFrame(
        {"trade_date": [trade_date] * len(df), "stock_code": codes, **typed, "market": market}
    )
    return out[list(STOCK_SECTOR_COLUMNS)].astype({"market": "str"})


def stock_shares_frame(rows: Sequence[Row], trade_date: date) -> pd.DataFrame:
    """01501 rows of one trdDd → stock_shares rows; the no-trading answer gives none."""
    if is_no_trading_answer(rows):
        return _empty(STOCK_SHARE_COLUMNS)
    df = _one_row_per_key(_frame(rows), "ISU_SRT_CD")
    codes = _keys(df, "ISU_SRT_CD")
    typed = _typed_columns(df, STOCK_SHARE_FIELDS, codes)
    out = pd.DataFrame({"trade_date": [trade_date] * len(df), "stock_code": codes, **typed})
    return out[list(STOCK_SHARE_COLUMNS)]
