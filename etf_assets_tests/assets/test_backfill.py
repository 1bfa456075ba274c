"""The price backfill over history: one run per range, batches, resume after a kill, notes.

Requests are counted where they arrive, at the sandbox, so "fetches only what is missing" is
measured, not inferred from our own counters.
"""

import threading
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from time import sleep
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest

from etf_assets.assets import prices
from etf_assets.assets.metrics import etf_52w, etf_aum
from etf_assets.assets.prices import etf_daily_prices, final_answer_after
from etf_assets.partitions import CALENDAR_START, KST, sessions_back, sessions_between
from etf_assets.resources.http import FanOutBatch
from etf_assets.resources.krx import KRXClient
from etf_assets.warehouse import write
from etf_assets_tests.helpers import AS_OF, materialize, resources
from etf_sandbox.server import KRX_DATA_PATH, Sandbox, SandboxConfig, start_sandbox

EARLY = sessions_between(CALENDAR_START, date(2003, 1, 31))
RECENT_WEEK = sessions_back(AS_OF, 5)


def run_range(
    sandbox: Sandbox,
    db: Path,
    span: tuple[date, date],
    *,
    instance: dg.DagsterInstance | None = None,
    refetch_final: bool = False,
) -> dg.ExecuteInProcessResult:
    """A single-run backfill of etf_daily_prices over `span`, as the CLI's --partition-range."""
    return dg.materialize(
        [etf_daily_prices],
        resources=resources(sandbox, db),
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": span[0].isoformat(),
            "dagster/asset_partition_range_end": span[1].isoformat(),
        },
        run_config={"ops": {"etf_daily_prices": {"config": {"refetch_final": refetch_final}}}},
        raise_on_error=False,
    )


def price_requests(sandbox: Sandbox) -> int:
    """04301 requests the sandbox has answered so far (logins and other paths excluded)."""
    return int(sandbox.stats()["by_path"].get(KRX_DATA_PATH, 0))


def counting(sandbox: Sandbox, run: Callable[[], Any]) -> tuple[Any, int]:
    before = price_requests(sandbox)
    result = run()
    return result, price_requests(sandbox) - before


def query(db: Path, sql: str, params: list[object] | None = None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params or []).df()


def logged_sessions(db: Path) -> pd.DataFrame:
    return query(
        db,
        "SELECT partition_date, row_count, note FROM etf_partition_log_latest "
        "WHERE table_name = 'etf_daily_prices' ORDER BY partition_date",
    )


def assert_matches_market(sandbox: Sandbox, db: Path, sessions: tuple[date, ...]) -> None:
    """Every session's tickers and closes are the market's of that date, no more, no less."""
    stored = query(
        db,
        "SELECT trade_date, ticker, close FROM etf_daily_prices "
        "WHERE trade_date BETWEEN ? AND ? ORDER BY trade_date, ticker",
        [sessions[0], sessions[-1]],
    )
    expected = pd.concat(
        [sandbox.market.daily(d)[["ticker", "close"]].assign(trade_date=d) for d in sessions]
    )
    expected = expected.sort_values(["trade_date", "ticker"]).reset_index(drop=True)
    assert stored["trade_date"].dt.date.tolist() == expected["trade_date"].tolist()
    assert stored["ticker"].tolist() == expected["ticker"].tolist()
    assert stored["close"].tolist() == expected["close"].astype(float).tolist()


def test_early_history_and_a_recent_week_in_one_run_each(sandbox: Sandbox, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    for sessions in (EARLY, RECENT_WEEK):
        result, requests = counting(
            sandbox, lambda s=sessions: run_range(sandbox, db, (s[0], s[-1]))
        )
        assert result.success
        assert requests == len(sessions)  # one request per session, whatever the universe
        assert_matches_market(sandbox, db, sessions)
        events = result.asset_materializations_for_node("etf_daily_prices")
        progress = [e for e in events if "backfill_progress" in e.metadata]
        assert sorted(e.partition for e in progress) == [d.isoformat() for d in sessions]
        assert (
            progress[-1]
            .metadata["backfill_progress"]
            .value.startswith(f"etf_daily_prices sessions: {len(sessions)}/{len(sessions)}, ")
        )
        summary = events[-1].metadata
        assert summary["sessions_fetched"].value == len(sessions)
        assert summary["sessions_skipped_final"].value == 0
        assert summary["pace_pct"].value > 0
    logged = logged_sessions(db)
    assert logged["partition_date"].dt.date.tolist() == [*EARLY, *RECENT_WEEK]
    assert (logged["row_count"] > 0).all()
    assert logged["row_count"].iloc[0] == len(sandbox.market.daily(CALENDAR_START))


def test_a_killed_backfill_refetches_at_most_one_batch(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run dies after its second write (as a kill would: the third batch never lands);
    the next run fetches only the sessions not written, and the instance shows which
    partitions the failed run did write."""
    db = tmp_path / "w.duckdb"
    batch = 10
    monkeypatch.setattr(prices, "WRITE_BATCH_SESSIONS", batch)
    writes = {"n": 0}
    real_write = prices.replace_partitions

    def dies_on_third_write(*args: Any, **kwargs: Any) -> int:
        writes["n"] += 1
        if writes["n"] == 3:
            raise dg.Failure("killed", allow_retries=False)  # no retry in 5 minutes
        return real_write(*args, **kwargs)

    monkeypatch.setattr(prices, "replace_partitions", dies_on_third_write)
    instance = dg.DagsterInstance.ephemeral()
    span = (EARLY[0], EARLY[-1])
    first, first_requests = counting(
        sandbox, lambda: run_range(sandbox, db, span, instance=instance)
    )
    assert not first.success
    written = logged_sessions(db)["partition_date"].dt.date.tolist()
    assert 0 < len(written) < len(EARLY)
    # what had arrived is written: concurrent fetches may land a later session first
    assert set(written) <= set(EARLY) and len(set(written)) == len(written)
    shown = instance.get_materialized_partitions(etf_daily_prices.key)
    assert shown == {d.isoformat() for d in written}
    assert first_requests - len(written) <= batch

    monkeypatch.setattr(prices, "replace_partitions", real_write)
    second, second_requests = counting(
        sandbox, lambda: run_range(sandbox, db, span, instance=instance)
    )
    assert second.success
    assert second_requests == len(EARLY) - len(written)
    assert first_requests + second_requests <= len(EARLY) + batch
    assert_matches_market(sandbox, db, EARLY)
    assert instance.get_materialized_partitions(etf_daily_prices.key) == {
        d.isoformat() for d in EARLY
    }


def test_a_session_stored_before_it_was_final_is_fetched_again(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Resuming skips final answers only: one written on its own evening is refreshed, config
    `refetch_final` fetches everything, and a single-partition run always fetches."""
    db = tmp_path / "w.duckdb"
    span = (RECENT_WEEK[0], RECENT_WEEK[-1])
    assert run_range(sandbox, db, span).success
    same_evening = RECENT_WEEK[2]
    with duckdb.connect(str(db)) as conn:
        conn.execute(
            "UPDATE etf_partition_log SET written_at = ?::TIMESTAMPTZ WHERE partition_date = ?",
            [datetime.combine(same_evening, time(16, 30), KST), same_evening],
        )
    assert final_answer_after(same_evening) > datetime.combine(same_evening, time(16, 30), KST)
    rerun, requests = counting(sandbox, lambda: run_range(sandbox, db, span))
    assert rerun.success and requests == 1
    summary = rerun.asset_materializations_for_node("etf_daily_prices")[-1].metadata
    assert summary["sessions_skipped_final"].value == len(RECENT_WEEK) - 1
    _, requests = counting(sandbox, lambda: run_range(sandbox, db, span, refetch_final=True))
    assert requests == len(RECENT_WEEK)
    single = dg.materialize(
        [etf_daily_prices], resources=resources(sandbox, db), partition_key=span[0].isoformat()
    )
    assert single.success
    assert_matches_market(sandbox, db, RECENT_WEEK)


def test_sessions_krx_answers_empty_are_partitions_with_notes(tmp_path: Path) -> None:
    """A data service that has nothing past 2002-11-29 (its clock stops there) answers the later
    sessions with dashes: each is an empty partition with its note, and the run succeeds."""
    stopped = datetime(2002, 11, 29, 20, 0, tzinfo=KST)
    with start_sandbox(SandboxConfig(now=lambda: stopped)) as frozen:
        db = tmp_path / "w.duckdb"
        sessions = sessions_between(date(2002, 11, 25), date(2002, 12, 6))
        result = run_range(frozen, db, (sessions[0], sessions[-1]))
    assert result.success
    logged = logged_sessions(db)
    served = [d for d in sessions if d <= stopped.date()]
    assert logged["partition_date"].dt.date.tolist() == list(sessions)
    with_rows = logged[logged["row_count"] > 0]["partition_date"].dt.date.tolist()
    assert with_rows == served
    empty = logged[logged["row_count"] == 0]
    assert len(empty) == len(sessions) - len(served)
    assert empty["note"].str.contains("no data").all()
    notes = {
        e.partition: e.metadata["note"].value
        for e in result.asset_materializations_for_node("etf_daily_prices")
        if "note" in e.metadata
    }
    assert set(notes) == {d.isoformat() for d in empty["partition_date"].dt.date}
    assert result.asset_materializations_for_node("etf_daily_prices")[-1].metadata[
        "empty_sessions_count"
    ].value == len(empty)


def test_aum_and_52_week_over_a_past_range_in_one_run_each(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Derived assets over history: each session gets the funds priced that day, written a few
    sessions per transaction, and the figures are the market's."""
    monkeypatch.setattr(write, "QUERY_WRITE_BATCH_PARTITIONS", 7)
    db = tmp_path / "w.duckdb"
    res = resources(sandbox, db)
    assert run_range(sandbox, db, (EARLY[0], EARLY[-1])).success
    span = (EARLY[20], EARLY[-1])
    for asset in (etf_aum, etf_52w):
        assert materialize([asset], res, span=span).success
    transactions = query(
        db, "SELECT table_name, count(DISTINCT written_at) AS n FROM etf_partition_log GROUP BY 1"
    ).set_index("table_name")["n"]
    assert transactions["etf_aum"] == transactions["etf_52w"] == -(-len(EARLY[20:]) // 7)
    for table in ("etf_aum", "etf_52w"):
        stored = query(db, f"SELECT trade_date, ticker FROM {table} ORDER BY ALL")
        expected = pd.concat(
            [sandbox.market.daily(d)[["ticker"]].assign(trade_date=d) for d in EARLY[20:]]
        ).sort_values(["trade_date", "ticker"])
        assert stored["trade_date"].dt.date.tolist() == expected["trade_date"].tolist()
        assert stored["ticker"].tolist() == expected["ticker"].tolist()
    last = EARLY[-1]
    window = [d for d in EARLY if (last - d).days < 365]
    traded = pd.concat([sandbox.market.daily(d) for d in window])
    highs = traded[traded["open"] > 0].groupby("ticker")["high"].max().astype(float)
    stored = query(db, "SELECT ticker, high_52w FROM etf_52w WHERE trade_date = ?", [last])
    assert stored.set_index("ticker")["high_52w"].sort_index().to_dict() == highs.to_dict()
    aum = query(db, "SELECT ticker, aum_krw FROM etf_aum WHERE trade_date = ?", [last])
    net_assets = sandbox.market.daily(last).set_index("ticker")["net_assets"].astype(float)
    assert aum.set_index("ticker")["aum_krw"].sort_index().to_dict() == net_assets.to_dict()


def test_fetching_goes_on_while_a_batch_is_written_and_never_runs_a_batch_ahead() -> None:
    """The pipeline itself: fetch threads keep working during a (slow) commit, and started but
    uncommitted items never exceed one batch, whatever the number of items."""
    batch_size, items = 10, list(range(95))
    lock = threading.Lock()
    state = {"started": 0, "committed": 0, "most_uncommitted": 0, "during_commit": 0}
    committing = threading.Event()

    def fetch(item: int) -> int:
        with lock:
            state["started"] += 1
            uncommitted = state["started"] - state["committed"]
            state["most_uncommitted"] = max(state["most_uncommitted"], uncommitted)
        sleep(0.005)
        if committing.is_set():
            with lock:
                state["during_commit"] += 1
        return item * 2

    def commit(batch: FanOutBatch[int, int]) -> int:
        committing.set()
        sleep(0.05)
        committing.clear()
        with lock:
            state["committed"] += len(batch)
        return len(batch.results)

    krx = KRXClient(data_url="http://127.0.0.1:9", openapi_url="http://127.0.0.1:9", max_workers=4)
    seen: dict[int, int] = {}
    for batch, written in krx.fan_out_batches(fetch, items, batch_size, commit):
        assert written == len(batch.results) >= batch_size // 2 or batch.done == len(items)
        seen.update(batch.results)
    assert seen == {i: i * 2 for i in items}
    assert state["most_uncommitted"] <= batch_size
    assert state["during_commit"] > 0
