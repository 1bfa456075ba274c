"""Pure parsers: KRX wire rows (data service and Open API) → typed pandas frames.

No Dagster and no HTTP here, so every rule below is unit-tested against the real captured
samples. KRX quirks handled (see docs/krx.md § Quirks):

* Numbers are strings with thousands commas on data.krx (`"1,234.56"`), without on the Open
  API; `"-"` and `""` mean "no value" and become NULL, never 0.
* Each field a parser reads has one absence rule, declared beside it in a field table
  (`DAILY_PRICE_FIELDS`, `ETF_DETAIL_FIELDS`, `HOLDING_FIELDS`, …): `-`/empty always, and 0
  too where 0 cannot be the field's value (a NAV, a price, an index level KRX does not publish).
* Rows are read by field name, never by position or count; unknown fields are kept where the
  table keeps raw fields (krx_etf_list) and ignored elsewhere.
* A field we read that is absent from a row (or from the whole answer) is a broken answer, not
  a missing value: `ParseError` naming the field and the ticker. `"-"` is KRX saying "none".
* Tickers stay strings: codes like `0000D0` exist; constituent codes may be 12 characters.

Column dtypes of the frames: text columns use pandas' string dtype; dates are `datetime.date`
objects (object dtype, NULL = None); prices, NAV and index levels are float64 (NULL = NaN);
share counts and KRW money of the price tables are nullable Int64 (exact, NULL = <NA>).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etf_assets.errors import ParseError
from etf_assets.parsing.rules import NULL_TOKENS, Absence, kind_from_code

Row = Mapping[str, object]

_FLOAT_RE = r"[-+]?\d+(?:\.\d*)?"
_INT_RE = r"[-+]?\d+"
_DATE_RE = r"\d{8}"
_NULL_TOKEN_ARRAY = pa.array(sorted(NULL_TOKENS), type=pa.string())

# ── scalar helpers ────────────────────────────────────────────────────────────────────────


def _clean(value: object) -> str | None:
    """Wire string without commas and padding, or None for KRX's "no value" tokens."""
    if value is None:
        return None
    text = str(value).replace(",", "").strip()
    return None if text in NULL_TOKENS else text


def parse_krx_number(
    value: object, *, field: str = "value", ticker: str | None = None
) -> float | None:
    """`"1,234.5"` → 1234.5, `"-13"` → -13.0, `"-"`/`""`/spaces → None; garbage → ParseError."""
    text = _clean(value)
    if text is None:
        return None
    if not re.fullmatch(_FLOAT_RE, text):
        raise ParseError("not a KRX number", field=field, ticker=ticker, value=value)
    return float(text)


def parse_krx_int(value: object, *, field: str = "value", ticker: str | None = None) -> int | None:
    """Like parse_krx_number for counts; `"8,140.00"` is accepted, `"1.5"` is not."""
    text = _clean(value)
    if text is None:
        return None
    text = re.sub(r"\.0*$", "", text)
    if not re.fullmatch(_INT_RE, text):
        raise ParseError("not a KRX integer", field=field, ticker=ticker, value=value)
    return int(text)


def parse_krx_date(value: object, *, field: str = "date", ticker: str | None = None) -> date | None:
    """`"2002/10/14"` (data.krx) or `"20240104"` (Open API) → date; `"-"`/`""` → None."""
    text = _clean(value)
    if text is None:
        return None
    digits = re.sub(r"[/-]", "", text)
    try:
        if not re.fullmatch(_DATE_RE, digits):
            raise ValueError(text)
        return datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        raise ParseError("not a KRX date", field=field, ticker=ticker, value=value) from None


_LEVERAGE_RE = re.compile(r"(?P<mult>\d+(?:\.\d+)?)\s*[Xx]\s*(?P<kind>레버리지|인버스)")
_PAREN_FACTOR_RE = re.compile(r"\(\s*(?P<factor>[-+]?\d+(?:\.\d+)?)\s*\)\s*$")


def leverage_factor_from_label(label: object, *, ticker: str | None = None) -> float | None:
    """IDX_CALC_INST_NM2 text → signed multiple: 일반 1, 2X 레버리지 2, 1X 인버스 -1, 2X 인버스 -2.

    KRX changed the spelling over time (2021: `"일반 (1)"`, `"2X 레버리지 (2)"`); the
    parenthesised factor, when present, is KRX's own number and wins. `"-"`/empty is KRX saying
    "none" → None (the fund's tracking error is then NULL). An unknown label raises rather than
    defaulting to 1, because a wrong factor silently corrupts tracking error.
    """
    text = _clean(label)
    if text is None:
        return None
    paren = _PAREN_FACTOR_RE.search(text)
    if paren:
        return float(paren.group("factor"))
    match = _LEVERAGE_RE.search(text)
    if match:
        mult = float(match.group("mult"))
        return -mult if match.group("kind") == "인버스" else mult
    if text == "일반":
        return 1.0
    raise ParseError(
        "unknown leverage/inverse label", field="IDX_CALC_INST_NM2", ticker=ticker, value=label
    )


# ── vectorised column helpers ─────────────────────────────────────────────────────────────


def _frame(rows: Sequence[Row]) -> pd.DataFrame:
    """Rows → frame with one column per field name seen in any row (absent → NaN)."""
    return pd.DataFrame.from_records(list(rows))


def _texts(df: pd.DataFrame, field: str, tickers: pd.Series | None) -> pd.Series:
    """The field as strings; a field absent from the answer or from a row raises ParseError.

    Absent cells are found before the cast: pandas 2.2 casts a missing cell to the string
    `'nan'`, which would then pass for a value.
    """
    if field not in df.columns:
        raise ParseError("field missing from the KRX answer", field=field, ticker=None)
    absent = df[field].isna()
    if absent.any():
        _raise_at(absent, "field missing from the row", field, df[field], tickers)
    return df[field].astype("str")


def _raise_at(
    mask: pd.Series, message: str, field: str, values: pd.Series, tickers: pd.Series | None
) -> None:
    """Raise ParseError for the first row flagged in mask, naming its ticker."""
    pos = int(np.flatnonzero(mask.to_numpy())[0])
    ticker = None if tickers is None else _ticker_at(tickers, pos)
    raise ParseError(message, field=field, ticker=ticker, value=values.iloc[pos])


def _ticker_at(tickers: pd.Series, pos: int) -> str | None:
    value = tickers.iloc[pos]
    return None if pd.isna(value) else str(value)


def _stripped(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(text without commas/padding, mask of KRX null tokens)."""
    clean = text.str.replace(",", "", regex=False).str.strip()
    return clean, clean.isna() | clean.isin(NULL_TOKENS)


def _numbers(raw: pd.Series, pattern: str) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(cleaned text, null mask, bad mask) of a number column, computed with Arrow kernels.

    Per column this is a few Arrow calls instead of a dozen pandas string operations: the
    parser is the CPU cost of every backfilled session, so it matters here.
    """
    text = pa.array(raw.to_numpy(dtype=object), type=pa.string())
    clean = pc.utf8_trim_whitespace(pc.replace_substring(text, ",", ""))
    null = pc.is_in(clean, value_set=_NULL_TOKEN_ARRAY)
    matches = pc.match_substring_regex(clean, f"^(?:{pattern})$")
    bad = pc.and_(pc.invert(null), pc.invert(matches))
    return (
        pc.if_else(null, pa.scalar(None, pa.string()), clean),
        null.to_numpy(zero_copy_only=False),
        bad.to_numpy(zero_copy_only=False),
    )


def _floats(df: pd.DataFrame, field: str, tickers: pd.Series | None) -> pd.Series:
    """Field → float64 with NaN for `"-"`/`""`; any other non-number raises ParseError."""
    raw = _texts(df, field, tickers)
    clean, _, bad = _numbers(raw, _FLOAT_RE)
    if bad.any():
        _raise_at(pd.Series(bad), "not a KRX number", field, raw, tickers)
    values = pc.cast(clean, pa.float64()).to_numpy(zero_copy_only=False)
    return pd.Series(values, index=df.index, dtype="float64")


def _ints(df: pd.DataFrame, field: str, tickers: pd.Series | None) -> pd.Series:
    """Field → exact nullable Int64 (`"1,234.00"` allowed); fractions and garbage raise."""
    raw = _texts(df, field, tickers)
    clean, null, bad = _numbers(raw, _INT_RE + r"(?:\.0*)?")
    if bad.any():
        _raise_at(pd.Series(bad), "not a KRX integer", field, raw, tickers)
    whole = pc.replace_substring_regex(clean, r"^\+|\.0*$", "")
    try:
        values = pc.cast(pc.fill_null(whole, "0"), pa.int64()).to_numpy()
    except pa.ArrowInvalid:  # digits only, so the one way to fail is beyond 64 bits
        too_big = pd.Series([v is not None and abs(int(v)) >= 2**63 for v in whole.to_pylist()])
        _raise_at(too_big, "not a KRX integer (beyond 64 bits)", field, raw, tickers)
        raise
    return pd.Series(pd.arrays.IntegerArray(values, null), index=df.index)


def _dates(df: pd.DataFrame, field: str, tickers: pd.Series | None) -> pd.Series:
    """Field (`YYYY/MM/DD` or `YYYYMMDD`) → datetime.date objects, None for `"-"`."""
    raw = _texts(df, field, tickers)
    clean, null = _stripped(raw)
    digits = clean.str.replace(r"[/-]", "", regex=True)
    parsed = pd.to_datetime(digits.where(~null), format="%Y%m%d", errors="coerce")
    bad = ~null & (parsed.isna() | ~digits.str.fullmatch(_DATE_RE))
    if bad.any():
        _raise_at(bad, "not a KRX date", field, raw, tickers)
    return _as_dates(parsed)


def _as_dates(values: pd.Series) -> pd.Series:
    """datetime-like series → object series of datetime.date (None where missing)."""
    out = pd.Series(pd.to_datetime(values).dt.date, index=values.index, dtype=object)
    return out.where(values.notna(), None)


def _strings(df: pd.DataFrame, field: str, tickers: pd.Series | None) -> pd.Series:
    """Text field as sent (trimmed); `"-"`/`""` → NULL."""
    raw = _texts(df, field, tickers)
    clean = raw.str.strip()
    return clean.where(~clean.isin(NULL_TOKENS))


def _optional_texts(df: pd.DataFrame, field: str) -> list[str]:
    """A field KRX may leave out (added after 2021, or absent on some lines): trimmed text per
    row, `""` where the answer or the row has none. Plain Python strings, never `'nan'`."""
    if field not in df.columns:
        return [""] * len(df)
    return ["" if pd.isna(value) else str(value).strip() for value in df[field]]


ParseAs = Literal["text", "float", "int", "date"]
_PARSERS: dict[str, Callable[[pd.DataFrame, str, pd.Series | None], pd.Series]] = {
    "text": _strings,
    "float": _floats,
    "int": _ints,
    "date": _dates,
}


@dataclass(frozen=True)
class KRXField:
    """One column of a frame: the KRX field it comes from, its type and when it is NULL.

    `absent` is the field's one absence rule (docs/assets.md § Absent values); `why` says why in a
    line. `optional` fields may be missing from an answer (then NULL), any other missing field
    is a broken answer (ParseError).
    """

    column: str
    wire: str
    parse_as: ParseAs
    absent: Absence
    why: str
    optional: bool = False

    def __post_init__(self) -> None:
        if self.absent is Absence.MARKED_OR_ZERO and self.parse_as not in ("float", "int"):
            raise ValueError(f"{self.column}: only a number can have 0 as its absence")


def _typed(df: pd.DataFrame, spec: KRXField, tickers: pd.Series | None) -> pd.Series:
    """The column `spec` describes, typed, with NULL wherever its absence rule says so."""
    if spec.optional:  # missing from the answer or from a line: no value there
        df = pd.DataFrame({spec.wire: _optional_texts(df, spec.wire)}, index=df.index)
    values = _PARSERS[spec.parse_as](df, spec.wire, tickers)
    if spec.absent is Absence.MARKED_OR_ZERO:
        values = values.mask(values == 0)
    return values


def _typed_columns(
    df: pd.DataFrame, fields: Sequence[KRXField], tickers: pd.Series | None
) -> dict[str, pd.Series]:
    return {spec.column: _typed(df, spec, tickers) for spec in fields}


def _keys(df: pd.DataFrame, field: str) -> pd.Series:
    """A key column (ticker, ISIN, constituent code): required, non-empty, kept whole."""
    text = _texts(df, field, None).str.strip()
    empty = text.isin(NULL_TOKENS)
    if empty.any():
        _raise_at(empty, "empty key field", field, text, None)
    return text


def _one_row_per_key(df: pd.DataFrame, field: str) -> pd.DataFrame:
    """Drop rows repeated verbatim; the same key with different values is a ParseError.

    A screen listing a fund twice would otherwise be stored twice (and fail the uniqueness
    check after the write); two different answers for one fund cannot be resolved here.
    """
    if not df[field].duplicated().any():  # the usual answer: nothing to compare row by row
        return df
    df = df.drop_duplicates(ignore_index=True)
    keys = df[field].astype("str").str.strip()
    repeated = keys.duplicated(keep=False)
    if repeated.any():
        ticker = str(keys[repeated].iloc[0])
        raise ParseError(
            "the same key twice with different values", field=field, ticker=ticker, value=ticker
        )
    return df


def _empty(columns: Mapping[str, str]) -> pd.DataFrame:
    """A zero-row frame with the typed columns, so callers never special-case empty answers."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


# ── krx_etf_list / etf_details (MDCSTAT04601) ─────────────────────────────────────────────

MASTER_FIELDS: tuple[str, ...] = (
    "ISU_CD", "ISU_SRT_CD", "ISU_NM", "ISU_ABBRV", "ISU_ENG_NM", "LIST_DD", "ETF_OBJ_IDX_NM",
    "IDX_CALC_INST_NM1", "IDX_CALC_INST_NM2", "ETF_REPLICA_METHD_TP_CD", "IDX_MKT_CLSS_NM",
    "IDX_ASST_CLSS_NM", "LIST_SHRS", "COM_ABBRV", "CU_QTY", "ETF_TOT_FEE", "TAX_TP_CD",
)  # fmt: skip


def master_raw_frame(
    rows: Sequence[Row], trade_date: date, snapshot_date: date, fetched_at: datetime
) -> pd.DataFrame:
    """04601 rows → krx_etf_list: every KRX field as the string sent, unknown fields kept.

    Columns: trade_date, ticker (= ISU_SRT_CD, the table key), every KRX field name as-is,
    snapshot_date, fetched_at. KRX only publishes today's master; filtering a past trade_date's
    copy to LIST_DD ≤ trade_date is the caller's decision (it reports how many it dropped), so
    every row is kept here. LIST_DD is still validated, so a broken master fails early.
    """
    df = _frame(rows)
    if df.empty:
        df = pd.DataFrame({f: pd.Series(dtype="str") for f in MASTER_FIELDS})
    df = df.astype("str")
    if "ISU_SRT_CD" in df.columns:
        df = _one_row_per_key(df, "ISU_SRT_CD")
    tickers = _keys(df, "ISU_SRT_CD")
    _dates(df, "LIST_DD", tickers)
    df.insert(0, "ticker", tickers)
    df.insert(0, "trade_date", pd.Series([trade_date] * len(df), dtype=object))
    df["snapshot_date"] = pd.Series([snapshot_date] * len(df), dtype=object)
    df["fetched_at"] = pd.Series([pd.Timestamp(fetched_at)] * len(df))
    return df


ETF_DETAILS_COLUMNS: dict[str, str] = {
    "trade_date": "object", "ticker": "str", "isin": "str", "name": "str", "name_full": "str",
    "name_eng": "str", "issuer": "str", "tracking_index": "str", "index_provider": "str",
    "market_region": "str", "asset_class": "str", "replication_method": "str",
    "leverage_factor": "float64", "expense_ratio_pct": "float64", "listed_shares": "Int64",
    "cu_shares": "Int64", "tax_type": "str", "listing_date": "object",
}  # fmt: skip

_TEXT_AS_SENT = "a label or name: `-`/empty is KRX saying none"
_NO_ZERO_COUNT = "a listed fund always has units: 0 can only mean none"
ETF_DETAIL_FIELDS: tuple[KRXField, ...] = (
    KRXField("name", "ISU_ABBRV", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField("name_full", "ISU_NM", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField("name_eng", "ISU_ENG_NM", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField("issuer", "COM_ABBRV", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField("tracking_index", "ETF_OBJ_IDX_NM", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField("index_provider", "IDX_CALC_INST_NM1", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField("market_region", "IDX_MKT_CLSS_NM", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField("asset_class", "IDX_ASST_CLSS_NM", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField(
        "replication_method", "ETF_REPLICA_METHD_TP_CD", "text", Absence.MARKED, _TEXT_AS_SENT
    ),
    KRXField(
        "expense_ratio_pct", "ETF_TOT_FEE", "float", Absence.MARKED,
        "already % p.a.; a fee waived to 0 % is a fee",
    ),
    KRXField("listed_shares", "LIST_SHRS", "int", Absence.MARKED_OR_ZERO, _NO_ZERO_COUNT),
    KRXField(
        "cu_shares", "CU_QTY", "int", Absence.MARKED_OR_ZERO,
        "a creation unit is never 0 units: 0 can only mean none",
    ),
    KRXField("tax_type", "TAX_TP_CD", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField("listing_date", "LIST_DD", "date", Absence.MARKED, "YYYY/MM/DD; `-` = none"),
)  # fmt: skip


def etf_details_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """krx_etf_list rows (as from master_raw_frame or read back from DuckDB) → etf_details.

    Columns follow `ETF_DETAIL_FIELDS`; the leverage label is decoded once per distinct
    spelling, not per row (`-` → NULL factor, an unknown label raises).
    """
    if raw.empty:
        return _empty(ETF_DETAILS_COLUMNS)
    df = raw.reset_index(drop=True)
    if "trade_date" not in df.columns:
        raise ParseError("krx_etf_list frame lacks trade_date", field="trade_date")
    tickers = _keys(df, "ISU_SRT_CD")
    out = pd.DataFrame(
        {
            "trade_date": _as_dates(df["trade_date"]),
            "ticker": tickers,
            "isin": _keys(df, "ISU_CD"),
            **_typed_columns(df, ETF_DETAIL_FIELDS, tickers),
        }
    )
    labels = _texts(df, "IDX_CALC_INST_NM2", tickers).str.strip()
    first_ticker = tickers.groupby(labels, sort=False).first()
    factors = {
        label: leverage_factor_from_label(label, ticker=first_ticker[label])
        for label in labels.unique()
    }
    out["leverage_factor"] = labels.map(factors).astype("float64")
    return out[list(ETF_DETAILS_COLUMNS)]


# ── etf_daily_prices (MDCSTAT04301 and Open API etf_bydd_trd) ─────────────────────────────

DAILY_PRICE_COLUMNS: dict[str, str] = {
    "trade_date": "object", "ticker": "str", "name": "str", "open": "float64",
    "high": "float64", "low": "float64", "close": "float64", "volume": "Int64",
    "traded_value_krw": "Int64", "market_cap_krw": "Int64", "nav": "float64",
    "net_assets_krw": "Int64", "listed_shares": "Int64", "index_name": "str",
    "index_close": "float64", "source": "str",
}  # fmt: skip

_PRICE_NEVER_ZERO = "a price is never 0; on a no-trade day KRX carries the last close"
_NO_TRADE = "0 = no trade that session, not a price of 0"
DAILY_PRICE_FIELDS: tuple[KRXField, ...] = (
    KRXField("open", "TDD_OPNPRC", "float", Absence.MARKED_OR_ZERO, _NO_TRADE),
    KRXField("high", "TDD_HGPRC", "float", Absence.MARKED_OR_ZERO, _NO_TRADE),
    KRXField("low", "TDD_LWPRC", "float", Absence.MARKED_OR_ZERO, _NO_TRADE),
    KRXField("close", "TDD_CLSPRC", "float", Absence.MARKED_OR_ZERO, _PRICE_NEVER_ZERO),
    KRXField("volume", "ACC_TRDVOL", "int", Absence.MARKED, "0 units traded is a fact"),
    KRXField("traded_value_krw", "ACC_TRDVAL", "int", Absence.MARKED, "0 KRW traded is a fact"),
    KRXField(
        "market_cap_krw", "MKTCAP", "int", Absence.MARKED_OR_ZERO,
        "close × listed units is never 0; etf_aum then computes it",
    ),
    KRXField("nav", "NAV", "float", Absence.MARKED_OR_ZERO, "a NAV is never 0"),
    KRXField(
        "net_assets_krw", "INVSTASST_NETASST_TOTAMT", "int", Absence.MARKED_OR_ZERO,
        "0 = not published yet (the day itself, new listings); etf_aum falls back to NAV × units",
    ),
    KRXField("listed_shares", "LIST_SHRS", "int", Absence.MARKED_OR_ZERO, _NO_ZERO_COUNT),
    KRXField("index_name", "IDX_IND_NM", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField(
        "index_close", "OBJ_STKPRC_IDX", "float", Absence.MARKED_OR_ZERO,
        "0.00 = a level KRX does not publish (its change and change % are 0.00 too)",
    ),
)  # fmt: skip
_DATA_SERVICE_NAME = KRXField("name", "ISU_ABBRV", "text", Absence.MARKED, _TEXT_AS_SENT)
_OPENAPI_NAME = KRXField("name", "ISU_NM", "text", Absence.MARKED, _TEXT_AS_SENT)

# Fields that carry the day's trading; all of them "-" means KRX has no data for the date.
_NO_DATA_FIELDS = (
    "TDD_CLSPRC", "TDD_OPNPRC", "TDD_HGPRC", "TDD_LWPRC", "NAV", "ACC_TRDVOL", "ACC_TRDVAL",
    "MKTCAP", "INVSTASST_NETASST_TOTAMT",
)  # fmt: skip


def is_no_data_answer(rows: Sequence[Row]) -> bool:
    """True for KRX's "no session" answers: `[]` (Open API) or every row all `-` (04301).

    On a holiday 04301 returns the full ETF list with every price/NAV field `-` (474 rows on
    Sunday 2021-03-21), not an empty list. A row with none of the trading fields is a broken
    answer, not a holiday, so it makes this False and the parser raise.
    """
    for row in rows:
        present = [row[f] for f in _NO_DATA_FIELDS if f in row]
        if not present or any(_clean(v) is not None for v in present):
            return False
    return True


def _daily_prices(
    df: pd.DataFrame, ticker_field: str, name: KRXField, trade_dates: pd.Series, source: str
) -> pd.DataFrame:
    if ticker_field in df.columns and df[ticker_field].duplicated().any():
        keep = ~df.astype("str").duplicated()
        df, trade_dates = df[keep].reset_index(drop=True), trade_dates[keep].reset_index(drop=True)
        df = _one_row_per_key(df, ticker_field)
    tickers = _keys(df, ticker_field)
    out = pd.DataFrame(
        {
            "trade_date": trade_dates,
            "ticker": tickers,
            **_typed_columns(df, (name, *DAILY_PRICE_FIELDS), tickers),
            "source": pd.Series([source] * len(df), dtype="str"),
        }
    )
    # A listed ETF without close and NAV has no trading record for the day: not a price row.
    out = out[out["close"].notna() | out["nav"].notna()].reset_index(drop=True)
    return out[list(DAILY_PRICE_COLUMNS)]


def daily_prices_from_data_service(rows: Sequence[Row], trade_date: date) -> pd.DataFrame:
    """04301 rows of one trdDd → etf_daily_prices (rows carry no date: stamped here).

    The holiday answer (all `-`) and `[]` give an empty frame; the caller decides whether that
    is a closure (past date) or "not yet published" (today before the close).
    """
    if is_no_data_answer(rows):
        return _empty(DAILY_PRICE_COLUMNS)
    df = _frame(rows)
    dates = pd.Series([trade_date] * len(df), dtype=object)
    return _daily_prices(df, "ISU_SRT_CD", _DATA_SERVICE_NAME, dates, "krx_data")


def daily_prices_from_openapi(rows: Sequence[Row]) -> pd.DataFrame:
    """Open API etf_bydd_trd OutBlock_1 rows → etf_daily_prices (ISU_CD is the short code)."""
    if is_no_data_answer(rows):
        return _empty(DAILY_PRICE_COLUMNS)
    df = _frame(rows)
    tickers = _keys(df, "ISU_CD")
    return _daily_prices(df, "ISU_CD", _OPENAPI_NAME, _dates(df, "BAS_DD", tickers), "krx_openapi")


# ── etf_holdings (MDCSTAT05001, PDF) ──────────────────────────────────────────────────────

HOLDINGS_COLUMNS: dict[str, str] = {
    "as_of_date": "object", "etf_ticker": "str", "constituent_code": "str",
    "constituent_name": "str", "constituent_isin": "str", "kind": "str",
    "shares_per_cu": "float64", "value_krw": "float64", "amount_krw": "float64",
    "weight_pct": "float64", "source": "str",
}  # fmt: skip

# Every number of a PDF line is kept: KRX fills a different subset per kind of line (on the
# real 114800 basket of 2021-04-02 the ETF line has no VALU_AMT, the futures line no
# COMPST_AMT, no line a COMPST_RTO). Amounts are float64: foreign legs may hold fractional KRW.
HOLDING_FIELDS: tuple[KRXField, ...] = (
    KRXField("constituent_name", "COMPST_ISU_NM", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField(
        "constituent_isin", "COMPST_ISU_CD2", "text", Absence.MARKED,
        "added by KRX after 2021; cash lines may send none", optional=True,
    ),
    KRXField(
        "shares_per_cu", "COMPST_ISU_CU1_SHRS", "float", Absence.MARKED,
        "`-` on cash lines; negative = a short leg",
    ),
    KRXField("value_krw", "VALU_AMT", "float", Absence.MARKED, "`-` on ETF and cash lines"),
    KRXField("amount_krw", "COMPST_AMT", "float", Absence.MARKED, "`-` on futures lines"),
    KRXField(
        "weight_pct", "COMPST_RTO", "float", Absence.MARKED,
        "`-` on cash and derivative lines; a rounded 0.00 % is a weight",
    ),
)  # fmt: skip

# SECUGRP_ID values that say a line's kind by themselves (docs/krx.md § Kinds of PDF lines).
_KIND_BY_SECURITY_GROUP = {"ST": "stock", "EF": "etf", "FU": "future"}
_DERIVATIVES_MARKET = "DRV"  # MKT_ID of futures and options


def constituent_kind(security_group: str, market: str, code: str) -> str:
    """The kind of one PDF line, always one of KINDS (never NULL, never `'nan'`).

    KRX's security group (SECUGRP_ID) when it names one we know; else what the code says
    (cash codes, Korean bond, futures and option ISINs: `kind_from_code`); else a line of the
    derivatives market (MKT_ID `DRV`) is a future; else other (KRX-internal foreign codes such
    as `0724F1`, groups we do not know).
    """
    kind = _KIND_BY_SECURITY_GROUP.get(security_group) or kind_from_code(code)
    if kind is None:
        kind = "future" if market == _DERIVATIVES_MARKET else "other"
    return kind


def holdings_frame(rows: Sequence[Row], etf_ticker: str, as_of_date: date) -> pd.DataFrame:
    """05001 PDF rows of one ETF and date → etf_holdings (see `holdings_frame_many`)."""
    return holdings_frame_many({etf_ticker: rows}, as_of_date)


def holdings_frame_many(rows_by_etf: Mapping[str, Sequence[Row]], as_of_date: date) -> pd.DataFrame:
    """05001 PDF rows of many ETFs for one date → etf_holdings rows, one per wire line.

    Parsed in one pass; `merge_repeated_constituents` then makes them one per key. Constituent
    codes are kept whole (6-char tickers, 12-char cash/futures codes such as `KRD010010001`,
    KRX-internal foreign codes like `0724F1`); pykrx's `[3:9]` slicing mangles them.
    """
    rows = [row for etf_rows in rows_by_etf.values() for row in etf_rows]
    if not rows:
        return _empty(HOLDINGS_COLUMNS)
    df = _frame(rows)
    codes = _keys(df, "COMPST_ISU_CD")
    who = pd.Series(
        [ticker for ticker, etf_rows in rows_by_etf.items() for _ in etf_rows], dtype="str"
    )
    kinds = [
        constituent_kind(group, market, code)
        for group, market, code in zip(
            _optional_texts(df, "SECUGRP_ID"), _optional_texts(df, "MKT_ID"), codes, strict=True
        )
    ]
    out = pd.DataFrame(
        {
            "as_of_date": pd.Series([as_of_date] * len(df), dtype=object),
            "etf_ticker": who,
            "constituent_code": codes,
            "kind": pd.Series(kinds, dtype="str"),
            **_typed_columns(df, HOLDING_FIELDS, who),
            "source": pd.Series(["krx_pdf"] * len(df), dtype="str"),
        }
    )
    return out[list(HOLDINGS_COLUMNS)]


_HOLDINGS_KEY = ["as_of_date", "etf_ticker", "constituent_code"]
_HOLDINGS_AMOUNTS = ("shares_per_cu", "value_krw", "amount_krw", "weight_pct")


def merge_repeated_constituents(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (as_of_date, etf_ticker, constituent_code), the table's key.

    A basket may list one instrument on two lines (two lots, or a line repeated verbatim by the
    screen). A verbatim repeat is dropped; different lines of one code are one position, so
    shares, value, amount and weight are summed (NULL only when every line is NULL) and the
    first line's name, ISIN and kind kept. `frame.attrs["merged_lines"]` says how many lines
    were folded in.
    """
    deduped = frame.drop_duplicates(ignore_index=True)
    repeated = deduped.duplicated(_HOLDINGS_KEY, keep=False)
    if not repeated.any():
        deduped.attrs["merged_lines"] = len(frame) - len(deduped)
        return deduped
    aggregations = {
        column: (lambda values: values.sum(min_count=1)) if column in _HOLDINGS_AMOUNTS else "first"
        for column in deduped.columns
        if column not in _HOLDINGS_KEY
    }
    merged = (
        deduped[repeated]
        .groupby(_HOLDINGS_KEY, sort=False, dropna=False)
        .agg(aggregations)
        .reset_index()
    )
    out = pd.concat([deduped[~repeated], merged], ignore_index=True)[list(frame.columns)]
    out = out.astype({column: frame[column].dtype for column in frame.columns})
    out.attrs["merged_lines"] = len(frame) - len(out)
    return out


# ── KRX's own tracking error (05901) and 괴리율 (06001) ───────────────────────────────────

TRACKING_ERROR_COLUMNS: dict[str, str] = {
    "trade_date": "object", "nav": "float64", "nav_change_pct": "float64",
    "index_close": "float64", "index_change_pct": "float64", "tracking_multiple": "float64",
    "tracking_error_pct": "float64",
}  # fmt: skip

PREMIUM_DISCOUNT_COLUMNS: dict[str, str] = {
    "trade_date": "object", "close": "float64", "nav": "float64",
    "premium_discount_pct": "float64",
}  # fmt: skip


_NAV_NEVER_ZERO = "a NAV is never 0"
_UNPUBLISHED_INDEX = "0.00 = a level KRX does not publish (its change and change % are 0.00 too)"
TRACKING_ERROR_FIELDS: tuple[KRXField, ...] = (
    KRXField("nav", "LST_NAV", "float", Absence.MARKED_OR_ZERO, _NAV_NEVER_ZERO),
    KRXField("nav_change_pct", "NAV_CHG_RT", "float", Absence.MARKED, "0 % = unchanged"),
    KRXField("index_close", "OBJ_STKPRC_IDX", "float", Absence.MARKED_OR_ZERO, _UNPUBLISHED_INDEX),
    KRXField("index_change_pct", "IDX_CHG_RTO", "float", Absence.MARKED, "0 % = unchanged"),
    KRXField(
        "tracking_multiple", "TRACE_YD_MULT", "float", Absence.MARKED_OR_ZERO,
        "a fund tracks its index at a multiple, never at 0",
    ),
    KRXField(
        "tracking_error_pct", "TRACE_ERR_RT", "float", Absence.MARKED,
        "a trailing statistic KRX repeats on every row",
    ),
)  # fmt: skip
PREMIUM_DISCOUNT_FIELDS: tuple[KRXField, ...] = (
    KRXField("close", "CLSPRC", "float", Absence.MARKED_OR_ZERO, _PRICE_NEVER_ZERO),
    KRXField("nav", "LST_NAV", "float", Absence.MARKED_OR_ZERO, _NAV_NEVER_ZERO),
    KRXField(
        "premium_discount_pct", "DIVRG_RT", "float", Absence.MARKED, "0 % = at NAV, a fact"
    ),
)  # fmt: skip


def _dated_series(
    rows: Sequence[Row],
    fields: Sequence[KRXField],
    columns: Mapping[str, str],
    ticker: str | None,
) -> pd.DataFrame:
    """Per-ETF date-range rows → typed frame sorted oldest first (KRX order varies per bld)."""
    if not rows:
        return _empty(columns)
    df = _frame(rows)
    who = pd.Series([ticker] * len(df), dtype=object)
    out = pd.DataFrame({"trade_date": _dates(df, "TRD_DD", who), **_typed_columns(df, fields, who)})
    if out["trade_date"].isna().any():
        _raise_at(out["trade_date"].isna(), "row without a date", "TRD_DD", df["TRD_DD"], who)
    return out.sort_values("trade_date", kind="stable").reset_index(drop=True)[list(columns)]


def tracking_error_rows(rows: Sequence[Row], *, ticker: str | None = None) -> pd.DataFrame:
    """05901 rows → KRX's tracking-error series. TRACE_ERR_RT is a trailing statistic that KRX
    repeats on every row of the window, so the newest row carries the figure for the end date.
    """
    return _dated_series(rows, TRACKING_ERROR_FIELDS, TRACKING_ERROR_COLUMNS, ticker)


def premium_discount_rows(rows: Sequence[Row], *, ticker: str | None = None) -> pd.DataFrame:
    """06001 rows → KRX's daily 괴리율 = (close − NAV) / NAV × 100, oldest first."""
    return _dated_series(rows, PREMIUM_DISCOUNT_FIELDS, PREMIUM_DISCOUNT_COLUMNS, ticker)


# ── KRX's period change of every ETF (MDCSTAT04401), the returns cross-check ──────────────

PERIOD_CHANGE_COLUMNS: dict[str, str] = {
    "ticker": "str", "name": "str", "base_price": "float64", "close": "float64",
    "change": "float64", "change_pct": "float64", "volume": "Int64", "traded_value_krw": "Int64",
}  # fmt: skip
PERIOD_CHANGE_FIELDS: tuple[KRXField, ...] = (
    KRXField("name", "ISU_ABBRV", "text", Absence.MARKED, _TEXT_AS_SENT),
    KRXField(
        "base_price", "BAS_PRC", "float", Absence.MARKED_OR_ZERO,
        "기준가: the close of the session before strtDd; a price is never 0",
    ),
    KRXField("close", "CLSPRC", "float", Absence.MARKED_OR_ZERO, _PRICE_NEVER_ZERO),
    KRXField("change", "CMP_PRC", "float", Absence.MARKED, "signed; 0 = unchanged"),
    KRXField("change_pct", "FLUC_RT", "float", Absence.MARKED, "signed %, 2 dp; 0 = unchanged"),
    KRXField("volume", "ACC_TRDVOL", "int", Absence.MARKED, "units over the period; 0 is a fact"),
    KRXField(
        "traded_value_krw", "ACC_TRDVAL", "int", Absence.MARKED, "KRW over the period; 0 is a fact"
    ),
)  # fmt: skip


def period_change_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """04401 rows (strtDd…endDd, every ETF) → one row per ticker: KRX's base price (the close of
    the session before strtDd), the close of endDd, the change and its % (2 dp), and the
    period's volume and traded value. The rows carry no date; `[]` gives an empty frame."""
    if not rows:
        return _empty(PERIOD_CHANGE_COLUMNS)
    df = _one_row_per_key(_frame(rows), "ISU_SRT_CD")
    tickers = _keys(df, "ISU_SRT_CD")
    out = pd.DataFrame(
        {"ticker": tickers.astype("str"), **_typed_columns(df, PERIOD_CHANGE_FIELDS, tickers)}
    )
    return out[list(PERIOD_CHANGE_COLUMNS)]


# ── etf_investor_flows (MDCSTAT04902 by day, MDCSTAT04901 period totals) ──────────────────

# 04902's four investor groups in its column order, under the names the table keeps them by
# (docs/krx.md § MDCSTAT04902 investor flows by day).
INVESTORS: tuple[str, ...] = ("institution", "other_corporation", "individual", "foreign")
INVESTOR_FLOW_COLUMNS: dict[str, str] = {
    "trade_date": "object", "ticker": "str", "investor": "str", "buy_volume": "Int64",
    "sell_volume": "Int64", "net_volume": "Int64", "buy_value_krw": "Int64",
    "sell_value_krw": "Int64", "net_value_krw": "Int64",
}  # fmt: skip
# A measure's columns carry this suffix: units (a count) or KRW.
FLOW_MEASURE_SUFFIX = {"volume": "volume", "value": "value_krw"}

_GROUP_FLOW = "units or KRW, signed on the net side; 0 = traded nothing, or bought what it sold"
DAILY_FLOW_FIELDS: tuple[KRXField, ...] = tuple(
    KRXField(investor, f"NUM_ITM_VAL2{i}", "int", Absence.MARKED, _GROUP_FLOW)
    for i, investor in enumerate(INVESTORS, start=1)
)  # NUM_ITM_VAL25 (전체) is the groups' sum: 0 on the net side, and not read

# 04901's rows (INVST_NM) that make each 04902 group: 기관합계 is KRX's own sum of the seven
# institution types; 04902's 외국인 is 04901's 외국인 + 기타외국인
# (docs/krx.md § MDCSTAT04901 investor totals).
TOTALS_GROUP_ROWS: dict[str, tuple[str, ...]] = {
    "institution": ("기관합계",),
    "other_corporation": ("기타법인",),
    "individual": ("개인",),
    "foreign": ("외국인", "기타외국인"),
}
_PERIOD_FLOW = "units or KRW over the period; 0 = traded nothing"
_PERIOD_NET = "bought − sold, signed; 0 = bought what it sold"
TOTALS_FLOW_FIELDS: tuple[KRXField, ...] = (
    KRXField("buy_volume", "BID_TRDVOL", "int", Absence.MARKED, _PERIOD_FLOW),
    KRXField("sell_volume", "ASK_TRDVOL", "int", Absence.MARKED, _PERIOD_FLOW),
    KRXField("net_volume", "NETBID_TRDVOL", "int", Absence.MARKED, _PERIOD_NET),
    KRXField("buy_value_krw", "BID_TRDVAL", "int", Absence.MARKED, _PERIOD_FLOW),
    KRXField("sell_value_krw", "ASK_TRDVAL", "int", Absence.MARKED, _PERIOD_FLOW),
    KRXField("net_value_krw", "NETBID_TRDVAL", "int", Absence.MARKED, _PERIOD_NET),
)


def flow_column(side: str, measure: str) -> str:
    """The column of one side ("buy", "sell", "net") of one measure ("volume", "value")."""
    return f"{side}_{FLOW_MEASURE_SUFFIX[measure]}"


def _complete_sides(wide: pd.DataFrame) -> pd.DataFrame:
    """Each measure's buy, sell and net, a missing one taken from the other two (KRX's 순매수
    is bought − sold); NULL where fewer than two are known."""
    for measure in FLOW_MEASURE_SUFFIX:
        buy, sell, net = (
            wide[c] if c in wide else pd.Series(pd.NA, index=wide.index, dtype="Int64")
            for c in (flow_column(side, measure) for side in ("buy", "sell", "net"))
        )
        buy = buy.fillna(net + sell)
        sell = sell.fillna(buy - net)
        net = net.fillna(buy - sell)
        for side, values in (("buy", buy), ("sell", sell), ("net", net)):
            wide[flow_column(side, measure)] = values.astype("Int64")
    return wide


def investor_flows_from_daily(
    answers: Mapping[tuple[str, str], Sequence[Row]], ticker: str
) -> pd.DataFrame:
    """04902 answers of one ETF, keyed by (measure, side), → etf_investor_flows rows: one per
    date and investor group, whatever order the rows came in.

    Two sides of a measure give the third (sell = buy − net). A date missing from an answer
    leaves that answer's column NULL there, never 0.
    """
    frames = []
    for (measure, side), rows in answers.items():
        if not rows:
            continue
        df = _one_row_per_key(_frame(rows), "TRD_DD")
        who = pd.Series([ticker] * len(df), dtype=object)
        dates = _dates(df, "TRD_DD", who)
        if dates.isna().any():
            _raise_at(dates.isna(), "row without a date", "TRD_DD", df["TRD_DD"], who)
        groups = pd.DataFrame({"trade_date": dates, **_typed_columns(df, DAILY_FLOW_FIELDS, who)})
        long = groups.melt(id_vars="trade_date", var_name="investor", value_name="value")
        frames.append(
            long.set_index(["trade_date", "investor"])["value"].rename(flow_column(side, measure))
        )
    if not frames:
        return _empty(INVESTOR_FLOW_COLUMNS)
    wide = _complete_sides(pd.concat(frames, axis=1)).reset_index()
    wide.insert(1, "ticker", pd.Series([ticker] * len(wide), dtype="str"))
    wide["investor"] = wide["investor"].astype("str")
    order = wide["investor"].map(INVESTORS.index)
    wide = wide.assign(_order=order).sort_values(["trade_date", "_order"], ignore_index=True)
    return wide[list(INVESTOR_FLOW_COLUMNS)]


def investor_flows_from_totals(rows: Sequence[Row], ticker: str, trade_date: date) -> pd.DataFrame:
    """04901 rows of one ETF for one session (strtDd = endDd = trade_date) → its four
    etf_investor_flows rows; `[]` gives none.

    KRX sends bought, sold and net: a row whose net is not bought − sold contradicts itself
    and raises ParseError, as does an answer without one of the investor types a group needs.
    """
    if not rows:
        return _empty(INVESTOR_FLOW_COLUMNS)
    df = _one_row_per_key(_frame(rows), "INVST_NM")
    kinds = _keys(df, "INVST_NM")
    who = pd.Series([ticker] * len(df), dtype=object)
    typed = pd.DataFrame(_typed_columns(df, TOTALS_FLOW_FIELDS, who))
    for measure, (buy, sell, net) in (
        (m, (flow_column(side, m) for side in ("buy", "sell", "net"))) for m in FLOW_MEASURE_SUFFIX
    ):
        wrong = (typed[net] != typed[buy] - typed[sell]).fillna(False)
        if wrong.any():
            field = next(f.wire for f in TOTALS_FLOW_FIELDS if f.column == net)
            _raise_at(wrong, f"{measure}: net is not bought − sold", field, typed[net], who)
    typed.index = kinds
    missing = [k for needed in TOTALS_GROUP_ROWS.values() for k in needed if k not in typed.index]
    if missing:
        raise ParseError("investor type missing from the answer", field="INVST_NM",
                         ticker=ticker, value=missing[0])  # fmt: skip
    groups = pd.DataFrame(
        [typed.loc[list(needed)].sum(skipna=False) for needed in TOTALS_GROUP_ROWS.values()]
    ).astype("Int64")
    out = pd.DataFrame(
        {
            "trade_date": pd.Series([trade_date] * len(INVESTORS), dtype=object),
            "ticker": pd.Series([ticker] * len(INVESTORS), dtype="str"),
            "investor": pd.Series(INVESTORS, dtype="str"),
            **{column: groups[column].reset_index(drop=True) for column in groups.columns},
        }
    )
    return out[list(INVESTOR_FLOW_COLUMNS)]
