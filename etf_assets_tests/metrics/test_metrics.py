"""Metric SQL on small hand-made histories in an in-memory DuckDB: exact known answers."""

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from etf_assets.metrics.aum import AUM_SQL, kis_quotes
from etf_assets.metrics.tracking import TRACKING_SQL, tracking_params
from etf_assets.metrics.week52 import WEEK52_SQL, week52_params
from etf_assets.partitions import sessions_back, sessions_between, xkrx_sessions
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets_tests.helpers import table_frame

AS_OF = date(2026, 11, 20)


def _insert(conn: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    conn.register("incoming", table_frame(table, rows))
    conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
    conn.unregister("incoming")


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    ensure_schema(connection)
    return connection


def aum_frame(
    conn: duckdb.DuckDBPyConnection, d: date, kis: pd.DataFrame | None = None
) -> pd.DataFrame:
    """etf_aum's rows of one session, with KIS's quotes of it when given."""
    with kis_quotes(conn, kis, d):
        return conn.execute(AUM_SQL, {"dates": [d]}).df()


def _week52(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    frame = conn.execute(WEEK52_SQL, week52_params([AS_OF], xkrx_sessions())).df()
    return frame.set_index("ticker")


def test_52w_uses_daily_high_low_over_365_calendar_days(conn: duckdb.DuckDBPyConnection) -> None:
    window = sessions_between(AS_OF - timedelta(days=364), AS_OF)
    before = sessions_back(window[0], 3)[:-1]  # two sessions just outside the window
    rows = [dict(trade_date=d, ticker="PLAIN", high=110.0, low=90.0, close=100.0) for d in window]
    rows += [dict(trade_date=d, ticker="PLAIN", high=999.0, low=1.0, close=500) for d in before]
    rows[10]["high"] = 150.0  # the high, but also tied later
    rows[200]["high"] = 150.0
    rows[50]["low"] = 70.0
    rows[60]["high"], rows[60]["low"] = None, None  # no-trade day: O/H/L 0 stored as NULL
    _insert(conn, "etf_daily_prices", rows)
    _insert(
        conn, "etf_details", [dict(trade_date=AS_OF, ticker="PLAIN", listing_date=date(2010, 1, 4))]
    )
    row = _week52(conn).loc["PLAIN"]
    assert row.high_52w == 150.0 and row.high_52w_date.date() == window[200]  # tie → most recent
    assert row.low_52w == 70.0 and row.low_52w_date.date() == window[50]  # never 0, never 1
    assert row.pct_below_high == pytest.approx((150 - 100) / 150 * 100)
    assert row.sessions_in_window == len(window) and bool(row.has_full_year)


def test_52w_new_listing_is_since_listing_without_full_year(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    recent = sessions_back(AS_OF, 30)
    _insert(
        conn,
        "etf_daily_prices",
        [
            dict(trade_date=d, ticker="0000D0", high=10.0 + i, low=9.0, close=10)
            for i, d in enumerate(recent)
        ],
    )
    _insert(conn, "etf_details", [dict(trade_date=AS_OF, ticker="0000D0", listing_date=recent[0])])
    row = _week52(conn).loc["0000D0"]
    assert row.high_52w == 39.0 and row.sessions_in_window == 30
    assert not bool(row.has_full_year)


def _history(
    ticker: str, n: int, leverage: float, te_pct: float, premium: float, seed: int
) -> list[dict]:
    rng = np.random.default_rng(seed)
    index = 100 * np.cumprod(1 + rng.normal(0, 0.01, n))
    noise = rng.normal(0, te_pct / 100 / np.sqrt(250), n)
    nav = [10_000.0]
    for i in range(1, n):
        nav.append(nav[-1] * (1 + leverage * (index[i] / index[i - 1] - 1) + noise[i]))
    return [
        dict(
            trade_date=d,
            ticker=ticker,
            nav=nav[i],
            close=nav[i] * (1 + premium / 100),
            index_close=index[i],
        )
        for i, d in enumerate(sessions_back(AS_OF, n))
    ]


def test_tracking_error_and_premium(conn: duckdb.DuckDBPyConnection) -> None:
    rows = _history("PLAIN", 300, 1, 0.5, 0.3, 1)
    rows += _history("LEV2X", 300, 2, 1.0, -0.1, 2)
    rows += _history("INV1X", 300, -1, 0.2, 0.0, 3)
    rows += _history("YOUNG", 30, 1, 0.5, 0.2, 4)
    noindex = _history("NOIDX", 300, 1, 0.5, 0.1, 5)
    for r in noindex:
        r["index_close"] = None
    _insert(conn, "etf_daily_prices", rows + noindex)
    _insert(
        conn,
        "etf_details",
        [
            dict(trade_date=AS_OF, ticker=t, leverage_factor=f)
            for t, f in [("PLAIN", 1), ("LEV2X", 2), ("INV1X", -1), ("YOUNG", 1), ("NOIDX", 1)]
        ],
    )
    basket = [
        ("005930", "stock"), ("000660", "stock"), ("069500", "etf"), ("KR103501GB31", "bond"),
        ("0724F1", "other"), ("KR4101R60000", "future"), ("KR4201R62555", "option"),
        ("KRD010010001", "cash"), ("CASH00000001", "cash"),
    ]  # fmt: skip
    _insert(
        conn,
        "etf_holdings",
        [dict(as_of_date=AS_OF, etf_ticker="PLAIN", constituent_code=c, kind=k) for c, k in basket],
    )
    frame = (
        conn.execute(TRACKING_SQL, tracking_params([AS_OF], xkrx_sessions()))
        .df()
        .set_index("ticker")
    )
    # 250 returns of N(0, te/√250) → the estimate's relative sd is ~1/√500 ≈ 4.5 %.
    assert frame.loc["PLAIN", "tracking_error_250d_pct"] == pytest.approx(0.5, rel=0.15)
    assert frame.loc["LEV2X", "tracking_error_250d_pct"] == pytest.approx(1.0, rel=0.15)
    assert frame.loc["INV1X", "tracking_error_250d_pct"] == pytest.approx(0.2, rel=0.15)
    for n in (20, 60, 120, 250):
        assert frame.loc["PLAIN", f"premium_discount_{n}d_pct"] == pytest.approx(0.3)
    young = frame.loc["YOUNG"]
    assert young.premium_discount_20d_pct == pytest.approx(0.2)
    assert not pd.isna(young.tracking_error_20d_pct)
    assert (
        young[["premium_discount_60d_pct", "tracking_error_60d_pct", "tracking_error_250d_pct"]]
        .isna()
        .all()
    )
    assert young.sessions_used == 30 and frame.loc["PLAIN", "sessions_used"] == 250
    assert frame.loc["NOIDX", ["tracking_error_20d_pct", "tracking_error_250d_pct"]].isna().all()
    assert frame.loc["NOIDX", "premium_discount_250d_pct"] == pytest.approx(0.1)
    # Securities only: stocks, the ETF, the bond and the foreign (other) line; no cash or
    # derivative line is a constituent.
    assert frame.loc["PLAIN", "constituent_count"] == 5


def test_tracking_error_is_not_the_premium(conn: duckdb.DuckDBPyConnection) -> None:
    """A fund at a steady 2 % premium that tracks perfectly has ~0 tracking error."""
    rows = _history("STEADY", 60, 1, 0.0, 2.0, 7)
    _insert(conn, "etf_daily_prices", rows)
    _insert(conn, "etf_details", [dict(trade_date=AS_OF, ticker="STEADY", leverage_factor=1)])
    row = conn.execute(TRACKING_SQL, tracking_params([AS_OF], xkrx_sessions())).df().iloc[0]
    assert row.premium_discount_20d_pct == pytest.approx(2.0)
    assert row.tracking_error_20d_pct == pytest.approx(0.0, abs=1e-9)


def test_aum_is_net_assets_with_nav_x_shares_fallback(conn: duckdb.DuckDBPyConnection) -> None:
    _insert(
        conn,
        "etf_daily_prices",
        [
            dict(
                trade_date=AS_OF,
                ticker="A",
                close=101.0,
                nav=100.0,
                listed_shares=1000,
                net_assets_krw=100_500,
                market_cap_krw=101_000,
            ),
            dict(
                trade_date=AS_OF,
                ticker="NEW",
                close=101.0,
                nav=100.0,
                listed_shares=1000,
                net_assets_krw=None,  # KRX's 0 (not published yet), as the parser stores it
                market_cap_krw=101_000,
            ),
            dict(
                trade_date=AS_OF,
                ticker="NONAV",
                close=101.0,
                nav=None,
                listed_shares=1000,
                net_assets_krw=None,
                market_cap_krw=101_000,
            ),
        ],
    )
    kis = pd.DataFrame(
        {
            "ticker": ["A", "NONAV"],
            "aum_krw_kis": [100_400.0, 99_000.0],
            "nav_kis": [100.0, 99.0],
            "close_kis": [101.0, 101.0],
            "listed_shares_kis": [1000, 1000],
        }
    )
    krx_only = aum_frame(conn, AS_OF).set_index("ticker")
    assert (
        krx_only.loc["A", "aum_krw"] == 100_500
        and krx_only.loc["A", "aum_source"] == "krx_net_assets"
    )
    assert (
        krx_only.loc["NEW", "aum_krw"] == 100_000
        and krx_only.loc["NEW", "aum_source"] == "nav_x_shares"
    )
    assert pd.isna(krx_only.loc["NONAV", "aum_krw"])
    assert krx_only.loc["A", "market_cap_krw"] == 101_000 != krx_only.loc["A", "aum_krw"]
    with_kis = aum_frame(conn, AS_OF, kis).set_index("ticker")
    assert with_kis.loc["A", "aum_krw"] == 100_500 and with_kis.loc["A", "aum_krw_kis"] == 100_400
    assert (
        with_kis.loc["NONAV", "aum_krw"] == 99_000 and with_kis.loc["NONAV", "aum_source"] == "kis"
    )


def _not_finite(conn: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[tuple]:
    """Rows of `sql`'s result holding a NaN or an infinity (NULL is fine)."""
    rows = conn.execute(sql, params).fetchall()
    return [r for r in rows if any(isinstance(v, float) and not np.isfinite(v) for v in r)]


def test_zero_and_null_levels_give_null_days_never_nan(conn: duckdb.DuckDBPyConnection) -> None:
    """A 0, NULL, NaN or infinite NAV or index level (a row written before the absence rules,
    or by another writer) drops that day from the figures instead of poisoning them."""
    rows = _history("HOLES", 300, 1, 0.5, 0.3, 11)
    for i, column, value in [
        (290, "index_close", 0.0), (280, "index_close", None), (270, "nav", 0.0),
        (260, "nav", None), (250, "close", 0.0), (240, "index_close", float("inf")),
    ]:  # fmt: skip
        rows[i][column] = value
    _insert(conn, "etf_daily_prices", rows)
    conn.execute(
        "UPDATE etf_daily_prices SET nav = 'nan'::DOUBLE WHERE trade_date = ?",
        [rows[230]["trade_date"]],
    )
    _insert(conn, "etf_details", [dict(trade_date=AS_OF, ticker="HOLES", leverage_factor=1)])
    params = tracking_params([AS_OF], xkrx_sessions())
    assert _not_finite(conn, TRACKING_SQL, params) == []
    row = conn.execute(TRACKING_SQL, params).df().iloc[0]
    for n in (20, 60, 120):  # the holes cost a few days, not the figures
        assert row[f"premium_discount_{n}d_pct"] == pytest.approx(0.3)
    assert row.tracking_error_120d_pct == pytest.approx(0.5, rel=0.3)
    # The query reads 251 sessions; the holes void some days, so the 250-session figures are
    # NULL (too few days), not computed over fewer.
    assert pd.isna(row.tracking_error_250d_pct) and pd.isna(row.premium_discount_250d_pct)


def test_aum_of_zero_or_null_nav_is_null_never_zero_or_nan(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    base = dict(trade_date=AS_OF, close=101.0, listed_shares=1000, net_assets_krw=None)
    _insert(
        conn,
        "etf_daily_prices",
        [
            dict(base, ticker="ZERO", nav=0.0, close=0.0, market_cap_krw=0),
            dict(base, ticker="NULL", nav=None),
            dict(base, ticker="NAN", nav=100.0),
            dict(base, ticker="NOSHARES", nav=100.0, listed_shares=0),
        ],
    )
    conn.execute("UPDATE etf_daily_prices SET nav = 'nan'::DOUBLE WHERE ticker = 'NAN'")
    with kis_quotes(conn, None, None):
        assert _not_finite(conn, AUM_SQL, {"dates": [AS_OF]}) == []
    frame = aum_frame(conn, AS_OF).set_index("ticker")
    assert frame["aum_krw"].isna().all() and frame["aum_source"].isna().all()
    assert pd.isna(frame.loc["ZERO", "market_cap_krw"])  # close 0 × units is no market cap
    assert frame.loc["NULL", "market_cap_krw"] == 101_000.0  # close × listed units
