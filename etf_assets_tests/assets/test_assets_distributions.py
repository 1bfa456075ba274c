"""etf_distributions end to end: SEIBro (the sandbox) → parser → DuckDB, with its checks.

Ground truth is `Market.distributions`: every payout of the months materialized must be stored
exactly once, with its amount, dates and kind, even while the sandbox shifts rows between pages
and resets connections.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets.distributions import etf_distributions
from etf_assets.checks import distributions_checks, rules
from etf_assets.partitions import KST, month_days, trailing_months
from etf_assets.phases import PHASE_BY_NAME
from etf_assets.resources.seibro import SEIBroClient
from etf_assets.schedules import PHASE_SCHEDULES
from etf_assets.warehouse.write import replace_partitions, warehouse
from etf_assets_tests.helpers import table_frame
from etf_sandbox.market import Market
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

NOW = datetime(2026, 11, 20, 19, 0, tzinfo=KST)
MONTHS = (date(2026, 4, 1), date(2026, 5, 1))  # income, liquidation and special payouts
KINDS = {"이익분배": "income", "청산분배": "liquidation", "특별분배": "other"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig(now=lambda: NOW)) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partitions, "now_kst", lambda: NOW)


def run(
    sandbox: Sandbox, db: Path, months: tuple[date, date] = MONTHS
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [etf_distributions, distributions_checks],
        resources={
            "seibro": SEIBroClient(url=sandbox.url, requests_per_second=24.0),
            "duckdb": DuckDBResource(database=str(db)),
        },
        tags={
            "dagster/asset_partition_range_start": months[0].isoformat(),
            "dagster/asset_partition_range_end": months[1].isoformat(),
        },
        raise_on_error=False,
    )


def stored(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        frame = conn.execute("SELECT * FROM etf_distributions ORDER BY record_date, ticker").df()
    for column in ("record_date", "ex_date", "pay_date"):
        frame[column] = frame[column].dt.date
    return frame


def truth(market: Market, months: tuple[date, date] = MONTHS) -> pd.DataFrame:
    return market.distributions(months[0], month_days(months[1])[-1])


def checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_every_payout_stored_once_with_its_values(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.reset()
    sandbox.set_faults("seibro", seibro_shift_rows=True, reset_next_n=2)
    db = tmp_path / "etf.duckdb"
    result = run(sandbox, db)
    assert result.success, result.get_step_failure_events()
    expected = truth(sandbox.market)
    got = stored(db)
    assert len(got) == len(expected) and not got.duplicated(["ticker", "record_date"]).any()
    merged = expected.merge(got, on=["ticker", "record_date"], validate="1:1")
    assert len(merged) == len(expected)
    for ours, theirs in (
        ("amount_per_share_krw", "amount_krw"),
        ("tax_base_price_krw", "tax_base_price"),
        ("isin_y", "isin_x"),
    ):
        assert (merged[ours] == merged[theirs]).all(), ours
    for column in ("ex_date", "pay_date"):
        assert (merged[f"{column}_y"] == merged[f"{column}_x"]).all(), column
    assert (merged["kind"] == merged["reason_x"].map(KINDS)).all()
    assert (merged["reason_y"] == merged["reason_x"]).all() and (got["source"] == "seibro").all()
    assert set(got["kind"]) == {"income", "liquidation", "other"}
    assert checks(result) == {
        "unique_keys": True, "finite": True, "ex_date_is_previous_session": True,
        "amounts_positive": True, "liquidation_only_when_delisted": True,
        "fresh_in_sessions": False,  # a backfill of April and May is no refresh of November
    }  # fmt: skip
    metadata = result.asset_materializations_for_node("etf_distributions")[0].metadata
    assert metadata["range_row_count"].value == len(expected)  # a month's own: dagster/row_count
    assert metadata["by_kind"].value == got["kind"].value_counts().to_dict()
    assert metadata["seibro_requests"].value >= len(expected) / 30


def test_rerun_replaces_the_months_and_leaves_others(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.reset()
    db = tmp_path / "etf.duckdb"
    outside = table_frame(
        "etf_distributions",
        [{"ticker": "069500", "record_date": date(2026, 3, 31), "ex_date": date(2026, 3, 30),
          "amount_per_share_krw": 100.0, "kind": "income", "source": "seibro"}],
    )  # fmt: skip
    withdrawn = outside.assign(record_date=date(2026, 4, 30), ticker="999999")
    with warehouse(DuckDBResource(database=str(db))) as conn:
        replace_partitions(conn, "etf_distributions", month_days(date(2026, 3, 1)), outside)
        replace_partitions(conn, "etf_distributions", month_days(MONTHS[0]), withdrawn)
    assert run(sandbox, db).success and run(sandbox, db).success
    got = stored(db)
    assert len(got) == len(truth(sandbox.market)) + 1
    assert "999999" not in set(got["ticker"]) and "069500" in set(got["ticker"])


def test_the_trailing_refresh_is_fresh(sandbox: Sandbox, tmp_path: Path) -> None:
    """The 09:00 run over the previous, this and the next month rewrites this month's
    partition, which freshness reads (its write comes after NOW's 09:00 phase)."""
    sandbox.reset()
    result = run(sandbox, tmp_path / "etf.duckdb", (date(2026, 10, 1), date(2026, 12, 1)))
    assert result.success, result.get_step_failure_events()
    assert checks(result)["fresh_in_sessions"] is True


def test_checks_catch_bad_rows(tmp_path: Path) -> None:
    record = date(2026, 4, 30)
    bad = table_frame(
        "etf_distributions",
        [
            {"ticker": "0036D0", "record_date": record, "ex_date": record,
             "amount_per_share_krw": 12998.65, "kind": "liquidation", "source": "seibro"},
            {"ticker": "069500", "record_date": record,
             "ex_date": partitions.previous_session(record), "amount_per_share_krw": 0.0,
             "kind": "income", "source": "seibro"},
        ],
    )  # fmt: skip
    price = table_frame(
        "etf_daily_prices", [{"trade_date": date(2026, 5, 4), "ticker": "0036D0", "close": 1.0}]
    )
    days = month_days(record)
    with warehouse(DuckDBResource(database=str(tmp_path / "etf.duckdb"))) as conn:
        replace_partitions(conn, "etf_distributions", days, bad)
        replace_partitions(conn, "etf_daily_prices", [date(2026, 5, 4)], price)
        ex = rules.ex_date_is_previous_session(conn, "etf_distributions", days)
        amounts = rules.amounts_positive(conn, "etf_distributions", days)
        trading = rules.liquidation_only_when_delisted(conn, "etf_distributions", days)
    assert not ex.passed and ex.metadata["offenders"][0]["ticker"] == "0036D0"
    assert not amounts.passed and amounts.metadata["offenders"][0]["ticker"] == "069500"
    assert (
        not trading.passed and trading.metadata["offenders"][0]["first_price_after"] == "2026-05-04"
    )


def test_daily_refresh_is_one_run_over_the_trailing_window() -> None:
    phase = PHASE_BY_NAME["distributions"]
    (distributions_schedule,) = (s for s in PHASE_SCHEDULES if s.name == "distributions_schedule")
    tick = phase.tick(date(2026, 11, 20))
    requests = distributions_schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=tick)
    ).run_requests
    assert requests and requests[0].partition_key_range == dg.PartitionKeyRange(
        "2026-10-01", "2026-12-01"
    )
    assert trailing_months(date(2026, 1, 15)) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    saturday = phase.tick(date(2026, 11, 21))
    skipped = distributions_schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=saturday)
    )
    assert not skipped.run_requests and skipped.skip_message
