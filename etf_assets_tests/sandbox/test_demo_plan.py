"""`make demo` ends green at any hour: it loads every table up to the session its phase has
made due by then, judged by the same freshness rule as the checks and `make health`."""

from datetime import date, datetime, time, timedelta

import pytest

from etf_assets.checks import WATCHED_TABLES
from etf_assets.checks.rules import expected_newest, refreshed_whole
from etf_assets.partitions import KST
from etf_assets.phases import phase_of
from etf_sandbox.demo import DemoPlan, plan


def loaded(todo: DemoPlan, table: str) -> date:
    """The newest partition the demo writes for `table`."""
    if table in ("krx_etf_list", "etf_details", "etf_classification"):
        return todo.listing_end
    if table == "etf_investor_flows":
        return todo.flows_latest
    if table in ("etf_holdings", "etf_tracking_error") or phase_of(table).name == "exposure":
        return todo.week
    if table == "etf_costs":
        return todo.costs_month
    return todo.latest  # prices and everything derived from them, the universe included


@pytest.mark.parametrize(
    "monday",
    [
        date(2026, 11, 23),  # an ordinary week
        date(2026, 9, 21),  # Chuseok: Thursday and Friday closed
        date(2026, 11, 30),  # a month turns on Tuesday
        date(2026, 12, 28),  # the year-end closure on the 31st
    ],
)
def test_demo_loads_what_every_phase_has_made_due_at_any_hour(monday: date) -> None:
    start = datetime.combine(monday, time(0), tzinfo=KST)
    for step in range(7 * 24 * 2):  # every half hour of the week
        now = start + timedelta(minutes=30 * step)
        todo = plan(now)
        for table in WATCHED_TABLES:
            expected = expected_newest(table, now)
            if refreshed_whole(table):  # the refresh must write the expected session's month
                first, last = todo.months
                assert first <= expected.replace(day=1) <= last, (now, table)
            else:
                assert loaded(todo, table) >= expected, (now, table, loaded(todo, table))


def test_in_korean_business_hours_the_listing_is_today_and_prices_yesterday() -> None:
    todo = plan(datetime(2026, 11, 24, 13, 0, tzinfo=KST))  # Tuesday 13:00 KST
    assert todo.listing_end == date(2026, 11, 24)
    assert todo.latest == date(2026, 11, 23)  # today's close is not final before 15:45
