"""A session KRX answered with no data (a closure the calendar lacked) stays an empty price
partition with a note: it raises one alert saying how to add it to the closures, and every
window that counts sessions skips it instead of turning NULL for every fund."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from etf_assets import settings
from etf_assets.assets.metrics import missing_price_sessions, tracking_for
from etf_assets.assets.prices import price_sessions
from etf_assets.assets.returns import krx_changes_registered
from etf_assets.metrics.returns import RETURNS_SQL, returns_params, window_start
from etf_assets.metrics.week52 import WEEK52_SQL, week52_params
from etf_assets.partitions import previous_session, xkrx_sessions
from etf_assets.sensors import empty_session_alerts
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import replace_partition, set_query_options
from etf_assets_tests.helpers import AS_OF

# The session the 1-month window of AS_OF starts on, inside the 52-week and 250-session windows.
EMPTY = window_start(AS_OF, "1m", xkrx_sessions())
NOTE = f"KRX (krx_openapi) answered no data for session {EMPTY}: unscheduled closure"


@pytest.fixture
def conn(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse copy with EMPTY written as KRX answers a closed day: no rows, a note."""
    connection = duckdb.connect(str(db))
    set_query_options(connection)
    empty = pd.DataFrame(columns=list(TABLES["etf_daily_prices"].column_names))
    replace_partition(connection, "etf_daily_prices", EMPTY, empty, note=NOTE)
    yield connection
    connection.close()


def test_an_empty_session_leaves_no_window_null_for_every_fund(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    assert EMPTY is not None and EMPTY not in price_sessions(conn)
    sessions = price_sessions(conn)
    no_krx = pd.DataFrame(columns=["trade_date", "ticker", "krx_return_1m_pct"])
    with krx_changes_registered(conn, no_krx):
        returns = conn.execute(RETURNS_SQL, returns_params([AS_OF], sessions)).df()
    returns = returns.set_index("ticker")
    assert returns["return_1m_pct"].notna().mean() > 0.9
    # The window starts on the session before the empty one.
    start = previous_session(EMPTY)
    closes = (
        conn.execute("SELECT ticker, close FROM etf_daily_prices WHERE trade_date = ?", [start])
        .df()
        .set_index("ticker")["close"]
    )
    fund = returns["return_1m_pct"].dropna().index[0]
    expected = (returns.loc[fund, "close"] / closes[fund] - 1) * 100
    assert returns.loc[fund, "return_1m_pct"] == pytest.approx(expected)

    tracking = tracking_for(conn, [AS_OF])
    assert tracking["tracking_error_250d_pct"].notna().mean() > 0.5
    assert tracking["premium_discount_250d_pct"].notna().mean() > 0.5

    week52 = conn.execute(WEEK52_SQL, week52_params([AS_OF], sessions)).df()
    missing = missing_price_sessions(conn, AS_OF, sessions)
    assert week52["has_full_year"].astype(bool).mean() > 0.5 and EMPTY not in missing


def test_an_empty_session_alerts_once_with_how_to_add_the_closure(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    today = EMPTY + timedelta(days=1)
    alerted, sent = empty_session_alerts(conn, [], today)
    assert alerted == [str(EMPTY)] and len(sent) == 1
    (alert,) = sent
    assert str(EMPTY) in alert.title and NOTE in alert.body
    assert f"{settings.EXTRA_CLOSURES_ENV}={EMPTY}=" in alert.body
    again, none = empty_session_alerts(conn, alerted, today)
    assert again == alerted and none == []
    # A month on, the day is history, not news.
    later, quiet = empty_session_alerts(conn, [], today + timedelta(days=60))
    assert later == [] and quiet == []
