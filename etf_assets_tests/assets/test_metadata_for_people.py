"""Metadata for people: a range run's partitions each carry their own row count and figures,
tables of tickers name the funds, money reads in 억원 or 조원, and "-0.00" never shows."""

import re
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from etf_assets.assets import utils
from etf_assets.assets.metrics import etf_aum
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.utils import markdown_table, partition_metadata, with_names
from etf_assets.partitions import sessions_back
from etf_assets_tests.helpers import AS_OF, materialize, resources
from etf_sandbox.server import Sandbox

SESSIONS = sessions_back(AS_OF, 3)
KOREAN_MONEY = re.compile(r"^-?[\d,]+(\.\d)? (억원|조원)$")


def table_rows(markdown: str) -> list[list[str]]:
    """A markdown table's header and body rows as cells (the rule line left out)."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[:1] + lines[2:]]


@pytest.fixture(scope="module")
def aum_range(
    sandbox: Sandbox, warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dg.ExecuteInProcessResult]:
    """etf_aum over three sessions in one run, on a copy of the shared warehouse."""
    db = tmp_path_factory.mktemp("aum_range") / "warehouse.duckdb"
    db.write_bytes(warehouse_path.read_bytes())
    result = materialize([etf_aum], resources(sandbox, db), span=(SESSIONS[0], SESSIONS[-1]))
    assert result.success
    return db, result


def test_each_partition_of_a_range_carries_its_own_row_count(
    aum_range: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    db, result = aum_range
    with duckdb.connect(str(db), read_only=True) as conn:
        stored = dict(
            conn.execute(
                "SELECT trade_date, count(*) FROM etf_aum WHERE trade_date BETWEEN ? AND ? "
                "GROUP BY trade_date",
                [SESSIONS[0], SESSIONS[-1]],
            ).fetchall()
        )
    events = {m.partition: m.metadata for m in result.asset_materializations_for_node("etf_aum")}
    assert sorted(events) == [d.isoformat() for d in SESSIONS]
    for session in SESSIONS:
        metadata = events[session.isoformat()]
        assert metadata["dagster/row_count"].value == stored[session] > 0
        assert metadata["range_row_count"].value == sum(stored.values())
    # the newest session's figures are its own: older partitions do not carry them
    assert "top_10" in events[AS_OF.isoformat()]
    assert "top_10" not in events[SESSIONS[0].isoformat()]


def test_the_latest_materialization_of_a_day_is_its_own() -> None:
    """Dagster copies a range's result to every partition after what the step yielded; the
    stored latest event of a day must still hold that day's count, not the range's."""
    partitions_def = dg.DailyPartitionsDefinition(start_date="2026-11-16", end_date="2026-11-21")
    counts = {"2026-11-17": 3, "2026-11-18": 5}

    @dg.asset(partitions_def=partitions_def, backfill_policy=dg.BackfillPolicy.single_run())
    def counted(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        rows = {date.fromisoformat(k): counts[k] for k in context.partition_keys}
        return dg.MaterializeResult(metadata=partition_metadata(context, rows, {}))

    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize(
        [counted],
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-11-17",
            "dagster/asset_partition_range_end": "2026-11-18",
        },
    ).success
    for key, rows in counts.items():
        latest = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=counted.key, asset_partitions=[key]), limit=1
        ).records[0]
        metadata = latest.asset_materialization.metadata
        assert metadata["dagster/row_count"].value == rows
        assert metadata["range_row_count"].value == sum(counts.values())


def test_a_long_range_gives_own_counts_to_its_newest_partition_and_a_summary_to_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past OWN_ROW_COUNT_PARTITIONS (each own count costs Dagster a pass over the range), the
    newest partition keeps its count and figures, the others the range's summary only."""
    monkeypatch.setattr(utils, "OWN_ROW_COUNT_PARTITIONS", 2)
    partitions_def = dg.DailyPartitionsDefinition(start_date="2026-11-16", end_date="2026-11-21")
    counts = {"2026-11-17": 3, "2026-11-18": 5, "2026-11-19": 4}

    @dg.asset(partitions_def=partitions_def, backfill_policy=dg.BackfillPolicy.single_run())
    def counted(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        rows = {date.fromisoformat(k): counts[k] for k in context.partition_keys}
        newest = {max(rows): {"figure": 1}}
        return dg.MaterializeResult(metadata=partition_metadata(context, rows, newest))

    result = dg.materialize(
        [counted],
        tags={
            "dagster/asset_partition_range_start": "2026-11-17",
            "dagster/asset_partition_range_end": "2026-11-19",
        },
    )
    events = {e.partition: e.metadata for e in result.asset_materializations_for_node("counted")}
    assert events["2026-11-19"]["dagster/row_count"].value == 4
    assert events["2026-11-19"]["figure"].value == 1
    for older in ("2026-11-17", "2026-11-18"):
        assert "dagster/row_count" not in events[older] and "figure" not in events[older]
    for metadata in events.values():
        assert metadata["range_row_count"].value == 12
        assert metadata["range_rows_per_partition"].value.startswith("least 3, median 4, most 5")


def test_the_top_10_names_each_fund_and_reads_its_aum_in_korean_units(
    aum_range: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    db, result = aum_range
    (newest,) = [
        m for m in result.asset_materializations_for_node("etf_aum") if m.partition == str(AS_OF)
    ]
    header, *rows = table_rows(newest.metadata["top_10"].value)
    assert header[:3] == ["ticker", "name", "aum_krw"]
    with duckdb.connect(str(db), read_only=True) as conn:
        names = dict(
            conn.execute(
                "SELECT ticker, trim(name) FROM etf_details WHERE trade_date = ?", [AS_OF]
            ).fetchall()
        )
    assert len(rows) == 10
    for ticker, name, aum, *_ in rows:
        assert name == names[ticker] and name
        assert KOREAN_MONEY.match(aum), aum
    assert KOREAN_MONEY.match(newest.metadata["total_aum"].value)


def test_no_metadata_table_of_a_range_shows_a_negative_zero(
    aum_range: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    _, result = aum_range
    texts = [
        str(value.value)
        for m in result.asset_materializations_for_node("etf_aum")
        for value in m.metadata.values()
    ]
    assert texts and not any(re.search(r"-0\.0+\b", text) for text in texts)


def test_markdown_table_shows_a_float_that_rounds_to_zero_unsigned() -> None:
    frame = pd.DataFrame(
        {"ticker": ["069500", "102110"], "premium_pct": [-0.001, -0.25], "aum_krw": [-4e7, None]}
    )
    _, first, second = table_rows(markdown_table(frame, money=("aum_krw",)).value)
    assert first == ["069500", "0.00", "-0.4 억원"]
    assert second == ["102110", "-0.25", ""]


def test_with_names_puts_the_name_after_the_ticker_from_one_lookup(db: Path) -> None:
    frame = pd.DataFrame({"record_date": [AS_OF] * 3, "ticker": ["069500", "NOSUCH", "069500"]})
    with duckdb.connect(str(db)) as conn:
        expected = conn.execute(
            "SELECT trim(name) FROM etf_details WHERE ticker = '069500' AND trade_date = ?",
            [AS_OF],
        ).fetchone()[0]
        named = with_names(conn, frame, on=AS_OF)
    assert list(named.columns) == ["record_date", "ticker", "name"]
    assert named["name"].iloc[0] == named["name"].iloc[2] == expected
    assert pd.isna(named["name"].iloc[1])  # unknown ticker: blank, never the ticker


def test_prices_range_partitions_carry_their_own_row_count(sandbox: Sandbox, db: Path) -> None:
    result = materialize(
        [etf_daily_prices],
        resources(sandbox, db),
        span=(SESSIONS[0], SESSIONS[-1]),
        run_config={"ops": {"etf_daily_prices": {"config": {"refetch_final": True}}}},
    )
    assert result.success
    with duckdb.connect(str(db), read_only=True) as conn:
        stored = dict(
            conn.execute(
                "SELECT trade_date, count(*) FROM etf_daily_prices "
                "WHERE trade_date BETWEEN ? AND ? GROUP BY trade_date",
                [SESSIONS[0], SESSIONS[-1]],
            ).fetchall()
        )
    final = {  # the result's copy per partition, the last event of each
        m.partition: m.metadata for m in result.asset_materializations_for_node("etf_daily_prices")
    }
    for session in SESSIONS:
        assert final[session.isoformat()]["dagster/row_count"].value == stored[session]
    assert KOREAN_MONEY.match(table_rows(final[str(AS_OF)]["preview"].value)[1][-1])
