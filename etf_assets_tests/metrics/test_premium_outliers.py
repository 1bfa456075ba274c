"""Premium outliers: one definition (a close more than 5 % from NAV) for the checks and the
overview, on a small warehouse where every session's premium is set by hand."""

from datetime import date

import duckdb
import pandas as pd
import pytest

from etf_assets.checks import rules
from etf_assets.export import overview_summary
from etf_assets.metrics.overview import (
    PREMIUM_OUTLIER_PCT,
    new_52w_highs,
    overview_sql,
    premium_outliers,
    widest_premiums,
    window_outliers_sql,
)
from etf_assets.partitions import sessions_back
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.write import replace_partition
from etf_assets_tests.helpers import table_frame

D = date(2026, 11, 20)
SESSIONS = sessions_back(D, 30)  # oldest first, ending on D (rank 1)
NAV = 10_000.0
CALM_PCT = 0.1
# ticker → {session rank (1 = D): premium %}; every other session at CALM_PCT
PREMIUMS: dict[str, dict[int, float]] = {
    "SPIKE1": {5: 20.0},  # inside the 20-session window
    "OLDSPK": {25: -18.0},  # outside it, inside 60
    "TODAY1": {1: 30.0},  # the newest session, no 20-session figure yet
    "DISC01": {1: -6.0},  # a discount counts the same
    "EDGE01": {1: PREMIUM_OUTLIER_PCT},  # on the band is inside it
    "CALM01": {},
}
TRACKED = {  # ticker → the windows etf_tracking_error has a figure for
    "SPIKE1": (20,),
    "OLDSPK": (20, 60),
    "DISC01": (20,),
    "EDGE01": (20,),
    "CALM01": (20, 60),
}


def _premium(ticker: str, rank: int) -> float:
    return PREMIUMS[ticker].get(rank, CALM_PCT)


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    ensure_schema(connection)
    for rank, session in enumerate(reversed(SESSIONS), start=1):
        rows = [
            dict(trade_date=session, ticker=t, name=f"펀드 {t}", nav=NAV,
                 close=round(NAV * (1 + _premium(t, rank) / 100), 2), high=NAV * 1.5)
            for t in PREMIUMS
        ]  # fmt: skip
        replace_partition(
            connection, "etf_daily_prices", session, table_frame("etf_daily_prices", rows)
        )
    connection.execute(  # a NAV of 0 gives no premium, not an outlier or an error
        "UPDATE etf_daily_prices SET nav = 0, close = 1 WHERE ticker = 'CALM01' AND trade_date = ?",
        [D],
    )
    tracking = [
        {"as_of_date": D, "ticker": t, **{f"premium_discount_{n}d_pct": 0.5 for n in windows}}
        for t, windows in TRACKED.items()
    ]
    replace_partition(
        connection, "etf_tracking_error", D, table_frame("etf_tracking_error", tracking)
    )
    week52 = [{"trade_date": D, "ticker": t, "high_52w_date": D} for t in PREMIUMS]
    replace_partition(connection, "etf_52w", D, table_frame("etf_52w", week52))
    return connection


def test_window_outliers_are_the_outlier_sessions_of_the_last_n(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    windows = "SELECT ticker, DATE '2026-11-20' AS as_of_date FROM (VALUES " + ", ".join(
        f"('{t}')" for t in PREMIUMS
    ) + ") AS t(ticker)"  # fmt: skip
    found = conn.execute(window_outliers_sql(windows, 20)).df()
    assert list(zip(found["ticker"], found["session_rank"], strict=True)) == [
        ("TODAY1", 1), ("SPIKE1", 5), ("DISC01", 1)
    ]  # fmt: skip
    assert found.loc[1, "trade_date"].date() == SESSIONS[-5]
    assert found.loc[1, "premium_pct"] == pytest.approx(20.0)
    wider = conn.execute(window_outliers_sql(windows, 30)).df()
    assert set(wider["ticker"]) == {"TODAY1", "SPIKE1", "DISC01", "OLDSPK"}


def test_each_window_counts_back_from_its_own_end_over_sessions_with_a_premium(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    """Several windows of one fund (the weekly figures of a range): each ranks from its own
    end, a session without a premium (NAV 0) does not count, and a window ending before the
    outlier does not hold it."""
    conn.execute(  # rank 2 of SPIKE1 loses its premium: the spike moves from rank 5 to 4 at D
        "UPDATE etf_daily_prices SET nav = 0 WHERE ticker = 'SPIKE1' AND trade_date = ?",
        [SESSIONS[-2]],
    )
    ends = (D, SESSIONS[-3], SESSIONS[-6])  # the last one ends before the spike (SESSIONS[-5])
    windows = " UNION ALL ".join(
        f"SELECT 'SPIKE1' AS ticker, DATE '{d}' AS as_of_date" for d in ends
    )
    found = conn.execute(window_outliers_sql(windows, 20)).df()
    ranks = {row.as_of_date.date(): row.session_rank for row in found.itertuples()}
    assert ranks == {D: 4, SESSIONS[-3]: 3}
    assert set(found["trade_date"].dt.date) == {SESSIONS[-5]}
    assert conn.execute(window_outliers_sql(windows, 3)).df()["session_rank"].tolist() == [3]


def test_overview_outliers_are_the_newest_close_or_the_ranked_window(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    outliers = premium_outliers(conn, overview_sql(D)).set_index("ticker")
    assert list(outliers.index) == ["TODAY1", "SPIKE1", "DISC01"]  # largest first
    today = outliers.loc["TODAY1"]
    assert today["premium_pct"] == pytest.approx(30.0) and today["outlier_sessions_20d"] == 0
    assert pd.isna(today["premium_discount_20d_pct"])  # no figure: outlier by its close
    spike = outliers.loc["SPIKE1"]
    assert spike["premium_pct"] == pytest.approx(CALM_PCT)  # a calm close today …
    assert spike["outlier_sessions_20d"] == 1  # … but its 20-session mean holds a spike
    assert spike["worst_session"].date() == SESSIONS[-5]
    assert spike["worst_session_premium_pct"] == pytest.approx(20.0)
    assert outliers.loc["DISC01", "premium_pct"] == pytest.approx(-6.0)


def test_summaries_leave_the_outliers_out(conn: duckdb.DuckDBPyConnection) -> None:
    overview = conn.execute(overview_sql(D)).df()
    outliers = premium_outliers(conn, overview_sql(D))
    ranked = widest_premiums(overview, outliers["ticker"])
    assert set(ranked["ticker"]) == {"OLDSPK", "EDGE01", "CALM01"}
    assert "SPIKE1" in set(widest_premiums(overview, [])["ticker"])
    outlier_closes = outliers.loc[outliers["premium_pct"].abs() > PREMIUM_OUTLIER_PCT, "ticker"]
    highs = new_52w_highs(overview, D, outlier_closes)
    assert set(highs["ticker"]) == {"SPIKE1", "OLDSPK", "EDGE01", "CALM01"}


def test_session_check_names_each_outlier_close(conn: duckdb.DuckDBPyConnection) -> None:
    outcome = rules.session_premium_outliers(conn, "etf_daily_prices", [D])
    assert not outcome.passed and outcome.metadata["outliers"] == 2
    assert outcome.metadata["offenders"] == [
        {"trade_date": "2026-11-20", "ticker": "TODAY1", "name": "펀드 TODAY1",
         "close": 13_000.0, "nav": NAV, "premium_pct": 30.0},
        {"trade_date": "2026-11-20", "ticker": "DISC01", "name": "펀드 DISC01",
         "close": 9_400.0, "nav": NAV, "premium_pct": -6.0},
    ]  # fmt: skip
    calm = rules.session_premium_outliers(conn, "etf_daily_prices", [SESSIONS[-2]])
    assert calm.passed and calm.metadata["offenders"] == []


def test_window_check_counts_the_figures_each_outlier_enters(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    outcome = rules.window_premium_outliers(conn, "etf_tracking_error", [D])
    assert not outcome.passed
    # OLDSPK's spike is in its 60-session mean only; TODAY1 has no figure to spoil
    assert outcome.metadata["figures_per_window"] == {"20d": 2, "60d": 1, "120d": 0, "250d": 0}
    offenders = {o["ticker"]: o for o in outcome.metadata["offenders"]}
    assert list(offenders) == ["SPIKE1", "OLDSPK", "DISC01"]
    assert offenders["SPIKE1"]["worst_session"] == SESSIONS[-5].isoformat()
    assert offenders["SPIKE1"]["premium_pct"] == pytest.approx(20.0)
    assert offenders["OLDSPK"]["outlier_sessions_20d"] == 0
    assert offenders["OLDSPK"]["outlier_sessions_60d"] == 1


def test_checks_pass_without_outliers(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("DELETE FROM etf_daily_prices WHERE ticker <> 'CALM01'")
    assert rules.session_premium_outliers(conn, "etf_daily_prices", SESSIONS).passed
    outcome = rules.window_premium_outliers(conn, "etf_tracking_error", [D])
    assert outcome.passed, outcome.description


def test_the_printed_summary_marks_and_names_the_outliers(conn: duckdb.DuckDBPyConnection) -> None:
    lines = overview_summary(conn, top=len(PREMIUMS)).splitlines()
    assert "3 ETFs with a close more than 5 % from NAV" in lines[2]
    assert lines[2].endswith(": TODAY1, SPIKE1, DISC01")
    rows = {
        line.split()[0]: line for line in lines[lines.index(f"Top {len(PREMIUMS)} by AUM") + 2 :]
    }
    assert "+0.50*" in rows["SPIKE1"] and "+0.50*" in rows["DISC01"]
    assert rows["OLDSPK"].split()[-1] == "+0.50"  # its outlier is outside the 20 sessions
