"""Assets through `dagster.materialize` against the sandbox, checked against its ground truth.

The expected values are computed here independently, in pandas, straight from the sandbox's
generated market, not through our SQL.
"""

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from etf_assets.assets.metrics import etf_tracking_error
from etf_assets_tests.helpers import AS_OF, HISTORY_SESSIONS, materialize, resources
from etf_sandbox.market import Market
from etf_sandbox.server import Sandbox

pytestmark = pytest.mark.usefixtures("warehouse_path")


@pytest.fixture(scope="module")
def shared(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """The shared warehouse, read only (tests that write take `db`, a copy of it)."""
    return duckdb.connect(str(warehouse_path), read_only=True)


@pytest.fixture(scope="module")
def market(sandbox: Sandbox) -> Market:
    return sandbox.market


def one(conn: duckdb.DuckDBPyConnection, sql: str, *params: object) -> pd.Series:
    frame = conn.execute(sql, list(params)).df()
    assert len(frame) == 1, frame
    return frame.iloc[0]


# --- listing -------------------------------------------------------------------------------


def test_details_hold_every_listed_etf(shared: duckdb.DuckDBPyConnection, market: Market) -> None:
    details = shared.execute("SELECT * FROM etf_details WHERE trade_date = ?", [AS_OF]).df()
    gone = market.etfs["delisting_date"].map(lambda d: d is not None and d <= AS_OF)
    listed = market.etfs[(market.etfs["listing_date"] <= AS_OF) & ~gone.astype(bool)]
    assert len(details) >= 1000
    assert set(details["ticker"]) == set(listed["ticker"])
    kodex = details.set_index("ticker").loc["069500"]
    assert kodex["issuer"] == "삼성자산운용" and kodex["isin"] == "KR7069500007"
    assert kodex["listing_date"].date() == date(2002, 10, 14)
    factors = details.set_index("ticker")["leverage_factor"]
    assert factors["122630"] == 2 and factors["114800"] == -1 and factors["252670"] == -2
    assert "0000D0" in factors.index  # alphanumeric codes kept as text
    assert details["expense_ratio_pct"].between(0, 3).all()


def test_raw_listing_keeps_krx_strings(shared: duckdb.DuckDBPyConnection) -> None:
    row = one(
        shared, "SELECT * FROM krx_etf_list WHERE trade_date = ? AND ticker = '069500'", AS_OF
    )
    assert row["ISU_CD"] == "KR7069500007" and row["LIST_DD"] == "2002/10/14"
    assert "," in row["LIST_SHRS"]  # the string exactly as KRX sent it


# --- prices --------------------------------------------------------------------------------


def test_prices_equal_the_market(shared: duckdb.DuckDBPyConnection, market: Market) -> None:
    stored = shared.execute("SELECT * FROM etf_daily_prices WHERE trade_date = ?", [AS_OF]).df()
    truth = market.daily(AS_OF)
    assert truth is not None and len(stored) == len(truth)
    merged = stored.merge(truth, on="ticker", suffixes=("", "_truth"))
    assert len(merged) == len(truth)
    assert (merged["close"] == merged["close_truth"]).all()
    assert np.allclose(merged["nav"], merged["nav_truth"], atol=0.005)
    assert (merged["net_assets_krw"] == merged["net_assets"]).all()
    assert (merged["listed_shares"] == merged["listed_shares_truth"]).all()
    assert (stored["source"] == "krx_data").all()


def test_no_trade_day_has_null_ohl_not_zero(
    shared: duckdb.DuckDBPyConnection, market: Market
) -> None:
    ticker = market.special["no_trade_day"]
    day = market.ground_truth[ticker]["no_trade_dates"][-1]
    row = one(
        shared, "SELECT * FROM etf_daily_prices WHERE ticker = ? AND trade_date = ?", ticker, day
    )
    assert pd.isna(row["open"]) and pd.isna(row["high"]) and pd.isna(row["low"])
    assert row["close"] > 0 and row["volume"] == 0


def test_backfill_wrote_every_session_once(shared: duckdb.DuckDBPyConnection) -> None:
    counts = shared.execute(
        "SELECT count(DISTINCT trade_date), count(*) = count(DISTINCT (trade_date, ticker)) "
        "FROM etf_daily_prices"
    ).fetchone()
    assert counts == (HISTORY_SESSIONS, True)


# --- 52 weeks ------------------------------------------------------------------------------


def expected_52w(market: Market, ticker: str, day: date) -> dict[str, object]:
    """Straight from the generated arrays: daily highs/lows of the 365 days ending on `day`."""
    e = market.position(ticker)
    rows = [
        (s, market.high[market.session_row(s), e], market.low[market.session_row(s), e])
        for s in market.sessions
        if day - timedelta(days=364) <= s <= day
        and market.first_idx[e] <= market.session_row(s) < market.end_idx[e]
    ]
    traded = [(s, h, lo) for s, h, lo in rows if h > 0]
    high = max(h for _, h, _ in traded)
    low = min(lo for _, _, lo in traded)
    return {
        "high_52w": high,
        "high_52w_date": max(s for s, h, _ in traded if h == high),
        "low_52w": low,
        "low_52w_date": max(s for s, _, lo in traded if lo == low),
        "sessions_in_window": len(rows),
    }


@pytest.mark.parametrize("special", ["kodex200", "leveraged_2x", "new_listing", "no_trade_day"])
def test_52w_exact(shared: duckdb.DuckDBPyConnection, market: Market, special: str) -> None:
    ticker = market.special[special]
    row = one(shared, "SELECT * FROM etf_52w WHERE trade_date = ? AND ticker = ?", AS_OF, ticker)
    expected = expected_52w(market, ticker, AS_OF)
    assert row["high_52w"] == expected["high_52w"]
    assert row["high_52w_date"].date() == expected["high_52w_date"]
    assert row["low_52w"] == expected["low_52w"] and row["low_52w"] > 0
    assert row["low_52w_date"].date() == expected["low_52w_date"]
    assert row["sessions_in_window"] == expected["sessions_in_window"]
    assert bool(row["has_full_year"]) is (special != "new_listing")
    assert row["pct_below_high"] == pytest.approx(
        (expected["high_52w"] - row["close"]) / expected["high_52w"] * 100
    )


def test_52w_covers_every_priced_etf(shared: duckdb.DuckDBPyConnection) -> None:
    prices, week52 = shared.execute(
        "SELECT (SELECT count(*) FROM etf_daily_prices WHERE trade_date = $d), "
        "(SELECT count(*) FROM etf_52w WHERE trade_date = $d)",
        {"d": AS_OF},
    ).fetchone()
    assert prices == week52 > 1000


# --- AUM -----------------------------------------------------------------------------------


def test_aum_is_net_assets_not_market_cap(
    shared: duckdb.DuckDBPyConnection, market: Market
) -> None:
    aum = shared.execute("SELECT * FROM etf_aum WHERE trade_date = ?", [AS_OF]).df()
    truth = market.daily(AS_OF)
    merged = aum.merge(truth, on="ticker", suffixes=("", "_truth"))
    published = merged["net_assets"] > 0
    assert (merged.loc[published, "aum_krw"] == merged.loc[published, "net_assets"]).all()
    assert (merged.loc[published, "aum_source"] == "krx_net_assets").all()
    differs = merged["close"] != merged["nav"].round()
    assert (merged.loc[differs, "aum_krw"] != merged.loc[differs, "market_cap_krw"]).all()
    assert aum["aum_krw_kis"].isna().all()  # KIS not configured here


# --- tracking error and premium/discount --------------------------------------------------


def test_tracking_error_matches_the_generating_parameter(
    shared: duckdb.DuckDBPyConnection, market: Market
) -> None:
    frame = shared.execute("SELECT * FROM etf_tracking_error WHERE as_of_date = ?", [AS_OF]).df()
    frame = frame.set_index("ticker")
    for special in ("te_0_5", "leveraged_2x", "inverse_1x", "inverse_2x"):
        ticker = market.special[special]
        generated = market.ground_truth[ticker]["tracking_error_pct"]
        # 250 returns: the sample std's relative error is ~1/√500 ≈ 4.5 %; NAV rounding adds a bit.
        assert frame.loc[ticker, "tracking_error_250d_pct"] == pytest.approx(generated, rel=0.2)
    te_fund = market.special["te_0_5"]
    for n in (20, 60, 120, 250):
        assert frame.loc[te_fund, f"premium_discount_{n}d_pct"] == pytest.approx(0.3, abs=0.01)


def test_premium_discount_is_exact_mean_of_wire_values(
    shared: duckdb.DuckDBPyConnection, market: Market
) -> None:
    ticker = market.special["kodex200"]
    history = market.history(ticker, AS_OF - timedelta(days=60), AS_OF).tail(20)
    expected = ((history["close"] - history["nav"]) / history["nav"] * 100).mean()
    row = one(
        shared,
        "SELECT * FROM etf_tracking_error WHERE as_of_date = ? AND ticker = ?",
        AS_OF,
        ticker,
    )
    assert row["premium_discount_20d_pct"] == pytest.approx(expected, abs=1e-9)


def test_tracking_metadata_ranks_premiums_without_outliers(
    db: Path, sandbox: Sandbox, market: Market
) -> None:
    """The suspended fund's +21,597 % must not head the widest-premium table of the UI."""
    result = materialize([etf_tracking_error], resources(sandbox, db), AS_OF.isoformat())
    assert result.success
    (event,) = result.asset_materializations_for_node("etf_tracking_error")
    outliers = set(event.metadata["premium_outliers_20d"].value)
    suspended = market.special["suspended"]
    assert suspended in outliers
    assert outliers >= set(market.outliers(AS_OF)["ticker"])
    widest = event.metadata["widest_premium_discount_20d"].value
    assert suspended not in widest and all(t not in widest for t in outliers)


def test_short_history_and_missing_index_give_null(
    shared: duckdb.DuckDBPyConnection, market: Market
) -> None:
    frame = shared.execute("SELECT * FROM etf_tracking_error WHERE as_of_date = ?", [AS_OF]).df()
    frame = frame.set_index("ticker")
    young = frame.loc[market.special["new_listing"]]  # listed 100 sessions before AS_OF
    assert not pd.isna(young["tracking_error_20d_pct"])
    assert not pd.isna(young["premium_discount_60d_pct"])
    assert pd.isna(young["tracking_error_120d_pct"]) and pd.isna(young["premium_discount_250d_pct"])
    no_index = frame.loc[market.special["no_index"]]
    assert pd.isna(no_index["tracking_error_20d_pct"])
    assert not pd.isna(no_index["premium_discount_250d_pct"])
    assert frame.loc["069500", "constituent_count"] > 0
    krx = frame["krx_tracking_error_pct"].dropna()  # KRX's figure for a sample of 20 funds
    assert 15 <= len(krx) <= 20
    for ticker, figure in krx.items():
        assert figure == pytest.approx(market.published_tracking_error(ticker, AS_OF), abs=0.01)


def test_holdings_keep_cash_futures_and_whole_codes(shared: duckdb.DuckDBPyConnection) -> None:
    kinds = dict(
        shared.execute(
            "SELECT kind, count(*) FROM etf_holdings WHERE as_of_date = ? GROUP BY kind", [AS_OF]
        ).fetchall()
    )
    assert {"stock", "cash", "future"} <= set(kinds)
    lengths = {
        r[0]
        for r in shared.execute(
            "SELECT DISTINCT length(constituent_code) FROM etf_holdings"
        ).fetchall()
    }
    assert 12 in lengths and 6 in lengths
    inverse = shared.execute(
        "SELECT min(shares_per_cu) FROM etf_holdings "
        "WHERE etf_ticker = '114800' AND kind = 'future'"
    ).fetchone()[0]
    assert inverse < 0
