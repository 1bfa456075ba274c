"""The real market's shapes through the sandbox: the two real 1.5× funds (liquidated 2025-09-17,
in no stored master since) get their leverage from their names, every delisting day is a
session, a Sunday liquidation record date stays in its own column, and the market reaches as
far as the calendar does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from etf_assets import partitions
from etf_assets.assets.metrics import etf_tracking_error
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.metrics.universe import universe_frames
from etf_assets_tests.helpers import materialize, resources, table_frame
from etf_sandbox.demo import plan
from etf_sandbox.market import FAMOUS_DELISTED, START, build_market, generated_sessions, market_end
from etf_sandbox.server import Sandbox

ONE_AND_A_HALF = {
    "486780": "HANARO 200선물레버리지1.5X",
    "486790": "HANARO 코스닥150선물레버리지1.5X",
}
LIQUIDATED = date(2025, 9, 17)
WEEK = date(2025, 9, 12)  # the last full week both traded


def test_the_real_1_5x_funds_get_leverage_1_5_from_their_names(sandbox: Sandbox, db: Path) -> None:
    assert all(FAMOUS_DELISTED[t] == LIQUIDATED for t in ONE_AND_A_HALF)
    res = resources(sandbox, db)
    span = partitions.sessions_back(WEEK, 5)
    assert materialize([etf_daily_prices], res, span=(span[0], span[-1])).success
    assert materialize([etf_tracking_error], res, WEEK.isoformat()).success
    with duckdb.connect(str(db), read_only=True) as conn:
        frame = conn.execute(
            "SELECT t.ticker, p.name, t.leverage_factor_used, t.leverage_source "
            "FROM etf_tracking_error AS t JOIN etf_daily_prices AS p "
            "ON p.ticker = t.ticker AND p.trade_date = t.as_of_date "
            "WHERE t.as_of_date = ? AND t.ticker IN (SELECT unnest(?::VARCHAR[]))",
            [WEEK, list(ONE_AND_A_HALF)],
        ).df()
        in_a_master = conn.execute(
            "SELECT count(*) FROM etf_details WHERE ticker IN (SELECT unnest(?::VARCHAR[]))",
            [list(ONE_AND_A_HALF)],
        ).fetchone()[0]
    assert in_a_master == 0
    assert frame.set_index("ticker")["name"].to_dict() == ONE_AND_A_HALF
    assert (frame["leverage_factor_used"] == 1.5).all() and (
        frame["leverage_source"] == "name"
    ).all()


def test_every_delisting_day_of_the_universe_is_a_session(warehouse_path: Path) -> None:
    with duckdb.connect(str(warehouse_path), read_only=True) as conn:
        delisted = conn.execute("SELECT * FROM etf_universe WHERE status = 'delisted'").df()
    assert len(delisted) > 0
    sessions = set(partitions.xkrx_sessions())
    days = pd.to_datetime(delisted["delisted_date"]).dt.date
    assert (
        days.isin(sessions).all()
        and (days > pd.to_datetime(delisted["last_session"]).dt.date).all()
    )
    liquidated = delisted[delisted["liquidation_record_date"].notna()]
    assert len(liquidated) > 0 and (liquidated["liquidation_per_share_krw"] > 0).all()
    assert not liquidated["delisted_date_inferred"].any()


def test_a_sunday_liquidation_record_date_is_not_the_delisting_day(db: Path) -> None:
    with duckdb.connect(str(db)) as conn:
        fund = conn.execute(
            "SELECT ticker, last_session, delisted_date FROM etf_universe "
            "WHERE status = 'delisted' ORDER BY ticker LIMIT 1"
        ).fetchone()
        ticker, last_session, delisting_day = fund
        sunday = last_session + timedelta(days=6 - last_session.weekday())
        conn.execute(
            "DELETE FROM etf_distributions WHERE ticker = ? AND kind = 'liquidation'", [ticker]
        )
        conn.register("incoming", table_frame("etf_distributions", [dict(
            ticker=ticker, record_date=sunday, pay_date=sunday + timedelta(days=1),
            ex_date=sunday, amount_per_share_krw=9876.54, kind="liquidation", reason="청산분배",
        )]))  # fmt: skip
        conn.execute("INSERT INTO etf_distributions BY NAME SELECT * FROM incoming")
        universe, _ = universe_frames(conn)
    row = universe.set_index("ticker").loc[ticker]
    day = {c: pd.Timestamp(row[c]).date() for c in
           ("delisted_date", "liquidation_record_date", "liquidation_pay_date")}  # fmt: skip
    assert sunday.weekday() == 6 and day["delisted_date"] == delisting_day
    assert partitions.is_session(day["delisted_date"])
    assert day["liquidation_record_date"] == sunday and not row["delisted_date_inferred"]
    assert day["liquidation_pay_date"] == sunday + timedelta(days=1)
    assert row["liquidation_per_share_krw"] == 9876.54


@pytest.fixture
def clock_in_2028(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[datetime]:
    """The clock on 2028-06-01 evening, the calendar cache in tmp_path (it is rebuilt to reach
    past that day), every cached calendar and market session list forgotten before and after."""
    now = datetime(2028, 6, 1, 20, 0, tzinfo=partitions.KST)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(partitions, "now_kst", lambda: now)
    partitions.forget_calendar()
    generated_sessions.cache_clear()
    yield now
    monkeypatch.undo()
    partitions.forget_calendar()
    generated_sessions.cache_clear()


def test_the_market_extends_with_the_calendar(clock_in_2028: datetime) -> None:
    """The calendar extends itself (here into 2029) and the market with it, so `make demo` on
    2028-06-01 has every session its plan loads, with prices."""
    today = clock_in_2028.date()
    assert partitions.is_session(today) and market_end() >= partitions.calendar_end()
    sessions = generated_sessions()
    assert sessions[0] == START and sessions[-1] >= partitions.calendar_end() - timedelta(days=7)
    assert date(2026, 7, 17) not in sessions  # the closures on top still apply
    todo = plan(clock_in_2028)
    assert {todo.first, todo.latest, todo.listing_end, todo.flows_latest} <= set(sessions)
    market = build_market(20260101, 150, sessions)
    listed = market.daily(todo.listing_end)
    assert listed is not None and len(listed) > 100 and (listed["close"] > 0).all()
