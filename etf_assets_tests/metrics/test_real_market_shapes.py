"""Shapes of the real market that gave wrong figures: leverage read from any name, baskets of
futures and cash only, and payout rhythms with a skipped payout or a moved record day."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from etf_assets.metrics.tracking import TRACKING_SQL, factor_from_name_sql, tracking_params
from etf_assets.partitions import sessions_back, sessions_between
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets_tests.helpers import table_frame
from etf_assets_tests.metrics.returns_on_duckdb import payout_frequency, returns_frame

AS_OF = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("name", "factor"),
    [
        ("HANARO 200선물레버리지1.5X", 1.5),  # real, liquidated 2025-09-17
        ("HANARO 코스닥150선물레버리지1.5X", 1.5),  # real, liquidated 2025-09-17
        ("KODEX 레버리지", 2.0),
        ("KODEX 200선물인버스2X", -2.0),
        ("KODEX 인버스", -1.0),
        ("TIGER 미국나스닥100레버리지(합성)", 2.0),
        ("TIGER 차이나CSI300레버리지(합성)", 2.0),  # the index's 300 is no multiple
        ("KODEX 코스닥150레버리지", 2.0),
        ("RISE 미국S&P500선물인버스(H)", -1.0),
        ("PLUS 200선물 3X 레버리지", 3.0),
        ("어느 코스닥150 2배 인버스", -2.0),
        ("KODEX 200", 1.0),
        ("TIGER 미국S&P500", 1.0),
        ("KODEX 2차전지산업", 1.0),
    ],
)
def test_leverage_is_read_from_any_multiple_in_the_name(name: str, factor: float) -> None:
    sql = f"SELECT {factor_from_name_sql('$name')}"
    assert duckdb.connect().execute(sql, {"name": name}).fetchone()[0] == factor


def _insert(conn: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    conn.register("incoming", table_frame(table, rows))
    conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
    conn.unregister("incoming")


def test_a_basket_of_futures_and_cash_counts_no_constituent_and_no_basket_is_null() -> None:
    conn = duckdb.connect()
    ensure_schema(conn)
    funds = {"FUTURES": [("KR4101R60000", "future"), ("KRD010010001", "cash")],
             "STOCKS": [("005930", "stock"), ("KRD010010001", "cash")], "NOBASKET": []}  # fmt: skip
    days = sessions_back(AS_OF, 3)
    _insert(conn, "etf_daily_prices", [
        dict(trade_date=d, ticker=t, name=t, close=10_000, nav=10_000, index_close=100)
        for t in funds for d in days
    ])  # fmt: skip
    _insert(conn, "etf_holdings", [
        dict(as_of_date=AS_OF, etf_ticker=t, constituent_code=code, kind=kind)
        for t, lines in funds.items() for code, kind in lines
    ])  # fmt: skip
    frame = conn.execute(TRACKING_SQL, tracking_params([AS_OF], days)).df()
    counts = frame.set_index("ticker")["constituent_count"]
    assert counts["FUTURES"] == 0 and counts["STOCKS"] == 1 and pd.isna(counts["NOBASKET"])


@pytest.mark.parametrize(
    ("gaps", "frequency"),
    [
        # quarterly payers that skip January: three payouts a year (most real such funds)
        ([91, 92, 182, 91, 92], "quarterly"),
        ([91, 182], "quarterly"),
        # a monthly payer that skipped a month, and one that moved its record day from the
        # month end to the 15th (a short gap) and back (a long one)
        ([31, 30, 61, 31, 30], "monthly"),
        ([31, 30, 15, 31, 30, 46, 31], "monthly"),
        ([15, 46], "monthly"),
        ([182, 183, 182], "semiannual"),
        ([730], "annual"),  # an annual payer that skipped a year
        # no rhythm: two skips in half a year, or gaps of no common period
        ([30, 30, 91], "irregular"),
        ([120], "irregular"),
        ([30, 91, 200], "irregular"),
    ],
)
def test_payout_rhythm_tolerates_one_skip_a_year_and_a_moved_record_day(
    gaps: list[int], frequency: str
) -> None:
    assert payout_frequency(gaps, True, True) == frequency


def test_a_quarterly_payer_that_skips_january_is_quarterly_from_its_payouts() -> None:
    sessions = sessions_between(date(2023, 1, 2), AS_OF)
    quarter_ends = [max(s for s in sessions if (s.year, s.month) == (y, m))
                    for y in (2024, 2025, 2026) for m in (4, 7, 10)]  # fmt: skip
    mid_months = [min(s for s in sessions if (s.year, s.month) == (y, m) and s.day >= 15)
                  for y, m in [(2025, m) for m in range(1, 13)] + [(2026, m) for m in range(1, 12)]
                  ]  # fmt: skip
    month_ends = [max(s for s in sessions if (s.year, s.month) == (2024, m)) for m in range(1, 13)]
    payouts = pd.DataFrame(
        [("Q", d, 50.0, "income") for d in quarter_ends]
        + [("M", d, 10.0, "income") for d in month_ends + mid_months if d != date(2025, 6, 16)],
        columns=["ticker", "ex_date", "amount_per_share_krw", "kind"],
    )
    prices = pd.DataFrame(
        [(t, d, 10_000.0) for t in ("Q", "M") for d in sessions],
        columns=["ticker", "trade_date", "close"],
    )
    frame = returns_frame(prices, payouts, [AS_OF], sessions).set_index("ticker")
    assert frame.loc["Q", "distributions_ttm"] == 3
    assert frame["distribution_frequency"].to_dict() == {"M": "monthly", "Q": "quarterly"}
