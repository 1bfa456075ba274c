"""pykrx-shaped ETF functions over the published read snapshot: switch with one import line.

    from pykrx import stock              →   from etf_assets import read as stock
    stock.get_etf_ohlcv_by_date("20260102", "20261120", "069500")

The eight ETF functions take pykrx's arguments (dates as `YYYYMMDD` strings; `YYYY-MM-DD`, a
`date` or a `datetime` also do) and return pykrx's index names, Korean column names and
column dtypes, read from the local snapshot (ETF_ASSETS_READ_DUCKDB): no KRX login, no request,
delisted funds included. What pykrx lacks follows the same conventions: distributions, returns
with total returns, the overview and the delisted funds.

Two deliberate differences (docs/operations.md § Reading the data): a missing value is missing
(NaN in a float column, `<NA>` in an integer one, whose dtype is then pandas' nullable twin of
pykrx's: `UInt32` for `uint32`), where pykrx writes 0, so no open of 0 is ever read as a price;
and the figures are ours where KRX's differ (tracking error: our definition, weekly).

Each call opens the snapshot read-only for its query and closes it, so a notebook never holds
the file across a publish and always reads the newest one.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from etf_assets import settings
from etf_assets.metrics.returns import WINDOW_NAMES
from etf_assets.warehouse.publish import read_source

# pykrx's dtypes; an integer column is given as its pandas nullable twin (missing is <NA>).
OHLCV_DTYPES: dict[str, str] = {
    "NAV": "float64", "시가": "UInt32", "고가": "UInt32", "저가": "UInt32", "종가": "UInt32",
    "거래량": "UInt64", "거래대금": "UInt64", "기초지수": "float64",
}  # fmt: skip
OHLCV_SQL = (
    "nav AS NAV, open AS 시가, high AS 고가, low AS 저가, close AS 종가, volume AS 거래량, "
    "traded_value_krw AS 거래대금, index_close AS 기초지수"
)
PDF_DTYPES = {"구성종목명": "str", "계약수": "float64", "금액": "Int64", "시가총액": "Int64",
              "비중": "float32"}  # fmt: skip
DEVIATION_DTYPES = {"종가": "UInt32", "NAV": "float64", "괴리율": "float32"}
TRACKING_DTYPES = {"NAV": "float64", "지수": "float64", "추적오차율": "float32"}
# Our four investor groups (etf_investor_flows.investor) under KRX's names for them.
INVESTOR_NAMES = {"institution": "기관합계", "other_corporation": "기타법인",
                  "individual": "개인", "foreign": "외국인"}  # fmt: skip
DAILY_INVESTOR_NAMES = {"institution": "기관", "other_corporation": "기타법인",
                        "individual": "개인", "foreign": "외국인"}  # fmt: skip
TOTAL = "전체"
MEASURES = {"거래량": "volume", "거래대금": "value"}
SIDES = {"매도": "sell", "매수": "buy", "순매수": "net"}
RESAMPLE_RULES = {"m": "ME", "y": "YE"}
DATE_UNIT = pd.to_datetime(["2002/10/14"], format="%Y/%m/%d").unit
OHLCV_RESAMPLE = {"NAV": "first", "시가": "first", "고가": "max", "저가": "min", "종가": "last",
                  "거래량": "sum", "거래대금": "sum", "기초지수": "first"}  # fmt: skip
WINDOW_LABELS = {"1w": "1주", "1m": "1개월", "3m": "3개월", "6m": "6개월", "1y": "1년",
                 "ytd": "연초이후"}  # fmt: skip
DISTRIBUTION_KINDS = {"income": "이익분배", "liquidation": "청산분배", "other": "기타"}
OVERVIEW_NAMES = {
    "name": "종목명", "issuer": "운용사", "tracking_index": "기초지수명", "listing_date": "상장일",
    "expense_ratio_pct": "총보수", "close": "종가", "nav": "NAV", "aum_krw": "순자산총액",
    "market_cap_krw": "시가총액", "premium_discount_20d_pct": "괴리율(20일)",
    "tracking_error_250d_pct": "추적오차율(250일)", "high_52w": "52주최고", "low_52w": "52주최저",
}  # fmt: skip


# ---- arguments and the connection ------------------------------------------------------------


def _day(value: str | date | datetime, name: str) -> date:
    """A pykrx date argument (`YYYYMMDD`; `YYYY-MM-DD`, a date or a datetime also do)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).replace("-", "")
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ValueError(
            f"{name}={value!r} is not a date: give YYYYMMDD, e.g. '20261120'"
        ) from None


def _span(fromdate: str | date, todate: str | date) -> list[date]:
    start, end = _day(fromdate, "fromdate"), _day(todate, "todate")
    if start > end:
        raise ValueError(f"fromdate {start} is after todate {end}: give the earlier date first")
    return [start, end]


def database() -> Path:
    """The file the functions read: the read snapshot, or the warehouse (with a warning) until
    one is published."""
    source, note = read_source(Path(settings.read_duckdb_path()), Path(settings.duckdb_path()))
    if note:
        warnings.warn(note, stacklevel=3)
    if not source.is_file():
        raise FileNotFoundError(
            f"no read snapshot or warehouse at {source}: run `make demo`, or set "
            f"{settings.READ_DUCKDB_ENV}"
        )
    return source


def _query(sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    with duckdb.connect(str(database()), read_only=True) as conn:
        return conn.execute(sql, params or []).df()


def _dated(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """`frame` indexed by 날짜 (datetimes as pykrx's) with `dtypes`, oldest first."""
    frame = frame.astype(dtypes)
    frame.index = pd.DatetimeIndex(_datetimes(frame.pop("날짜")), name="날짜")
    return frame.sort_index()


def _datetimes(values: pd.Series) -> pd.Series:
    """Dates as pykrx gives them: parsed from KRX's text, so in the unit pandas parses text to
    (nanoseconds in pandas 2, microseconds in pandas 3)."""
    return pd.to_datetime(values).astype(f"datetime64[{DATE_UNIT}]")


def _ticker_index(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(frame.pop("티커").astype("str"))


# ---- pykrx's ETF functions -------------------------------------------------------------------


def get_etf_ticker_list(date: str | None = None) -> list[str]:
    """Every ETF that traded on the session on or before `date` (default: the newest), funds
    delisted since included (pykrx reads today's master and misses them)."""
    params: list[Any] = [] if date is None else [_day(date, "date")]
    where = "" if date is None else "WHERE trade_date <= ?"
    return _query(
        "SELECT ticker FROM etf_daily_prices WHERE trade_date = "
        f"(SELECT max(trade_date) FROM etf_daily_prices {where}) ORDER BY ticker",
        params,
    )["ticker"].tolist()


def get_etf_ticker_name(ticker: str) -> str:
    """The fund's newest name (a delisted fund's last one)."""
    names = _query(
        "SELECT name FROM (SELECT name, 1 AS rank FROM etf_universe WHERE ticker = ? "
        "UNION ALL SELECT name, 2 FROM etf_daily_prices WHERE ticker = ? "
        "QUALIFY row_number() OVER (ORDER BY trade_date DESC) = 1) "
        "WHERE name IS NOT NULL ORDER BY rank LIMIT 1",
        [ticker, ticker],
    )["name"]
    if names.empty:
        raise KeyError(f"no ETF with ticker {ticker!r} in {database()}")
    return str(names.iloc[0])


def get_etf_ohlcv_by_date(fromdate: str, todate: str, ticker: str, freq: str = "d") -> pd.DataFrame:
    """One fund's NAV, OHLCV and index level per session (freq `m`/`y`: per month or year)."""
    frame = _query(
        f"SELECT trade_date AS 날짜, {OHLCV_SQL} FROM etf_daily_prices "
        "WHERE ticker = ? AND trade_date BETWEEN ? AND ?",
        [ticker, *_span(fromdate, todate)],
    )
    frame = _dated(frame, OHLCV_DTYPES)
    if freq == "d" or frame.empty:
        return frame
    if freq not in RESAMPLE_RULES:
        raise ValueError(f"freq={freq!r}: choose 'd', 'm' or 'y' (as pykrx)")
    return frame.resample(RESAMPLE_RULES[freq]).agg(OHLCV_RESAMPLE).astype(OHLCV_DTYPES)


def get_etf_ohlcv_by_ticker(date: str) -> pd.DataFrame:
    """Every fund's NAV, OHLCV and index level on one session; an empty frame on a closed day
    (as pykrx)."""
    frame = _query(
        f"SELECT ticker AS 티커, {OHLCV_SQL} FROM etf_daily_prices WHERE trade_date = ? "
        "ORDER BY ticker",
        [_day(date, "date")],
    )
    if frame.empty:
        return pd.DataFrame()
    return _ticker_index(frame).astype(OHLCV_DTYPES)


def get_etf_portfolio_deposit_file(ticker: str, date: str | None = None) -> pd.DataFrame:
    """The fund's basket per creation unit (PDF) of the newest weekly snapshot on or before
    `date` (default: the newest): 계약수 per CU, 금액 (KRX VALU_AMT), 시가총액 (COMPST_AMT) and
    비중 (NaN where KRX sends none)."""
    params: list[Any] = [ticker] + ([] if date is None else [_day(date, "date")])
    before = "" if date is None else "AND as_of_date <= ?"
    frame = _query(
        "SELECT constituent_code AS 티커, constituent_name AS 구성종목명, shares_per_cu AS 계약수, "
        "value_krw AS 금액, amount_krw AS 시가총액, weight_pct AS 비중 FROM etf_holdings "
        "WHERE etf_ticker = ? AND as_of_date = (SELECT max(as_of_date) FROM etf_holdings "
        f"WHERE etf_ticker = ? {before}) ORDER BY 시가총액 DESC NULLS LAST, 티커",
        [ticker, *params],
    )
    return _ticker_index(frame).astype(PDF_DTYPES)


def get_etf_price_deviation(fromdate: str, todate: str, ticker: str) -> pd.DataFrame:
    """괴리율 per session: (close − NAV) / NAV × 100, unrounded (KRX rounds to 0.01)."""
    frame = _query(
        "SELECT trade_date AS 날짜, close AS 종가, nav AS NAV, "
        "(close - nav) / nav * 100 AS 괴리율 FROM etf_daily_prices "
        "WHERE ticker = ? AND trade_date BETWEEN ? AND ?",
        [ticker, *_span(fromdate, todate)],
    )
    return _dated(frame, DEVIATION_DTYPES)


def get_etf_tracking_error(fromdate: str, todate: str, ticker: str) -> pd.DataFrame:
    """NAV and index level per session beside our 250-session tracking error (추적오차율) as of
    the newest weekly figure on or before that session; NaN before the first one."""
    frame = _query(
        "SELECT p.trade_date AS 날짜, p.nav AS NAV, p.index_close AS 지수, "
        "t.tracking_error_250d_pct AS 추적오차율 FROM etf_daily_prices p "
        "ASOF LEFT JOIN etf_tracking_error t "
        "ON t.ticker = p.ticker AND p.trade_date >= t.as_of_date "
        "WHERE p.ticker = ? AND p.trade_date BETWEEN ? AND ?",
        [ticker, *_span(fromdate, todate)],
    )
    return _dated(frame, TRACKING_DTYPES)


def _flows(start: date, end: date, ticker: str | None) -> pd.DataFrame:
    only = "" if ticker is None else "AND ticker = ?"
    return _query(
        "SELECT trade_date, investor, sum(sell_volume) AS sell_volume, "
        "sum(buy_volume) AS buy_volume, sum(net_volume) AS net_volume, "
        "sum(sell_value_krw) AS sell_value, sum(buy_value_krw) AS buy_value, "
        "sum(net_value_krw) AS net_value FROM etf_investor_flows "
        f"WHERE trade_date BETWEEN ? AND ? {only} GROUP BY ALL",
        [start, end, *([] if ticker is None else [ticker])],
    )


def _flow_totals(start: date, end: date, ticker: str | None) -> pd.DataFrame:
    """pykrx's period totals: investors × (거래량, 거래대금) × (매도, 매수, 순매수)."""
    flows = _flows(start, end, ticker).drop(columns="trade_date").groupby("investor").sum()
    flows = flows.reindex(list(INVESTOR_NAMES)).rename(index=INVESTOR_NAMES)
    flows.loc[TOTAL] = flows.sum(min_count=1)
    flows.loc[TOTAL, ["net_volume", "net_value"]] = 0  # everything bought was sold: as KRX
    columns = [f"{side}_{measure}" for measure in MEASURES.values() for side in SIDES.values()]
    frame = flows[columns]
    frame.columns = pd.MultiIndex.from_product([list(MEASURES), list(SIDES)])
    frame.index.name = None if ticker is None else "INVST_NM"
    kinds = {"매도": "UInt64", "매수": "UInt64", "순매수": "Int64"}
    return frame.astype({(m, s): kinds[s] for m in MEASURES for s in SIDES})


def _flow_by_date(
    start: date, end: date, ticker: str | None, measure: str, side: str
) -> pd.DataFrame:
    """pykrx's daily form: one measure and side of each investor group per session."""
    if measure not in MEASURES or side not in SIDES:
        raise ValueError(
            f"query types {measure!r}, {side!r}: give one of {list(MEASURES)} and one of "
            f"{list(SIDES)} (as pykrx)"
        )
    flows = _flows(start, end, ticker)
    column = f"{SIDES[side]}_{MEASURES[measure]}"
    frame = flows.pivot(index="trade_date", columns="investor", values=column)
    frame = frame.reindex(columns=list(DAILY_INVESTOR_NAMES)).rename(columns=DAILY_INVESTOR_NAMES)
    frame.columns.name = None
    frame[TOTAL] = 0 if side == "순매수" else frame.sum(axis=1, min_count=1)
    frame = frame.reset_index().rename(columns={"trade_date": "날짜"})
    return _dated(frame, {**dict.fromkeys(DAILY_INVESTOR_NAMES.values(), "Int64"), TOTAL: "UInt64"})


def get_etf_trading_volume_and_value(fromdate: str, todate: str, *args: str) -> pd.DataFrame:
    """Investor flows, in pykrx's four forms: `(from, to)` all ETFs' period totals per
    investor; `(from, to, ticker)` one fund's; `(from, to, 거래대금|거래량, 순매수|매수|매도)`
    all ETFs per session; `(from, to, ticker, 거래대금|거래량, 순매수|매수|매도)` one fund's.
    Our investor groups are KRX's four (기관합계, 기타법인, 개인, 외국인) and 전체."""
    start, end = _span(fromdate, todate)
    if len(args) == 0:
        return _flow_totals(start, end, None)
    if len(args) == 1:
        return _flow_totals(start, end, args[0])
    if len(args) == 2:
        return _flow_by_date(start, end, None, *args)
    if len(args) == 3:
        return _flow_by_date(start, end, *args)
    raise TypeError(f"get_etf_trading_volume_and_value takes 2 to 5 arguments, not {2 + len(args)}")


# ---- what pykrx lacks, with the same conventions ---------------------------------------------


def get_etf_distributions(fromdate: str, todate: str, ticker: str | None = None) -> pd.DataFrame:
    """Every distribution (분배금) with a record date (기준일) in the span, of one fund or
    all: ex date (배당락일), pay date, KRW per share, kind (이익분배, 청산분배, 기타), and
    SEIBro's reason."""
    only = "" if ticker is None else "AND d.ticker = ?"
    frame = _query(
        "SELECT d.record_date AS 날짜, d.ticker AS 티커, u.name AS 종목명, d.ex_date AS 배당락일, "
        "d.pay_date AS 지급일, d.amount_per_share_krw AS 주당분배금, d.kind AS 구분, "
        "d.reason AS 사유, d.tax_base_price_krw AS 과세표준기준가 FROM etf_distributions d "
        "LEFT JOIN etf_universe u USING (ticker) "
        f"WHERE d.record_date BETWEEN ? AND ? {only} ORDER BY d.record_date, d.ticker",
        [*_span(fromdate, todate), *([] if ticker is None else [ticker])],
    )
    frame["구분"] = frame["구분"].map(DISTRIBUTION_KINDS)
    frame = _dated(frame, {"주당분배금": "float64", "과세표준기준가": "float64"})
    frame.index.name = "기준일"
    for column in ("배당락일", "지급일"):
        frame[column] = _datetimes(frame[column])
    return frame


def get_etf_returns_by_ticker(date: str | None = None) -> pd.DataFrame:
    """Every fund's price returns and total returns (income distributions reinvested at the
    ex-date close) over 1주 … 연초이후 in percent, and its trailing-year distribution yield, as
    of the session on or before `date` (default: the newest)."""
    columns = ", ".join(
        f'return_{w}_pct AS "{WINDOW_LABELS[w]} 수익률", '
        f'total_return_{w}_pct AS "{WINDOW_LABELS[w]} 총수익률"'
        for w in WINDOW_NAMES
    )
    before = "" if date is None else "WHERE trade_date <= ?"
    frame = _query(
        f"SELECT r.ticker AS 티커, u.name AS 종목명, {columns}, "
        'r.distribution_yield_ttm_pct AS "분배수익률(TTM)" FROM etf_returns r '
        "LEFT JOIN etf_universe u USING (ticker) WHERE r.trade_date = "
        f"(SELECT max(trade_date) FROM etf_returns {before}) ORDER BY r.ticker",
        [] if date is None else [_day(date, "date")],
    )
    return _ticker_index(frame)


def get_etf_overview() -> pd.DataFrame:
    """One row per fund with the newest value of every figure (the etf_overview view): the
    common ones under Korean names, the rest under the warehouse's column names."""
    frame = _query("SELECT * FROM etf_overview").rename(columns=OVERVIEW_NAMES)
    return frame.set_index(frame.pop("ticker").astype("str").rename("티커"))


def get_etf_delisted_list() -> pd.DataFrame:
    """Every fund delisted since the warehouse's history starts: its name, listing date,
    delisting date, last session and liquidation payout per share."""
    frame = _query(
        "SELECT ticker AS 티커, name AS 종목명, listing_date AS 상장일, "
        "delisted_date AS 상장폐지일, last_session AS 최종거래일, "
        "liquidation_per_share_krw AS 청산분배금 FROM etf_universe "
        "WHERE status = 'delisted' ORDER BY delisted_date, ticker"
    )
    for column in ("상장일", "상장폐지일", "최종거래일"):
        frame[column] = _datetimes(frame[column])
    return _ticker_index(frame)
