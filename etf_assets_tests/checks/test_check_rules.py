"""Each rule passes on good data and fails on data made bad on purpose; frozen clocks."""

from datetime import date, datetime, timedelta

import duckdb
import pytest

from etf_assets.checks import rules
from etf_assets.metrics.overview import overview_sql
from etf_assets.partitions import KST
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.write import replace_partition, replace_tables
from etf_assets_tests.helpers import table_frame

D = date(2026, 11, 20)
TICKERS = ["069500", "102110", "0000D0", "114800"]


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    """A good warehouse for D: listing, details and prices for four ETFs."""
    connection = duckdb.connect()
    ensure_schema(connection)
    listing = table_frame(
        "krx_etf_list",
        [
            dict(trade_date=D, ticker=t, ISU_CD=f"KR7{t}00", COM_ABBRV="x", ETF_TOT_FEE="0.1")
            for t in TICKERS
        ],
    )
    replace_partition(connection, "krx_etf_list", D, listing)
    details = table_frame(
        "etf_details",
        [
            dict(
                trade_date=D,
                ticker=t,
                name=f"ETF {t}",
                isin="KR7",
                issuer="삼성자산운용",
                expense_ratio_pct=0.15,
                listing_date=date(2020, 1, 2),
                leverage_factor=1.0,
            )
            for t in TICKERS
        ],
    )
    replace_partition(connection, "etf_details", D, details)
    prices = table_frame(
        "etf_daily_prices",
        [
            dict(
                trade_date=D,
                ticker=t,
                close=100.0,
                high=101.0,
                low=99.0,
                nav=100.1,
                listed_shares=10,
                index_close=1.0,
                volume=5,
            )
            for t in TICKERS
        ],
    )
    replace_partition(connection, "etf_daily_prices", D, prices)
    return connection


@pytest.mark.parametrize("table", ["krx_etf_list", "etf_details", "etf_daily_prices"])
@pytest.mark.parametrize("rule", [rules.completeness, rules.uniqueness, rules.coverage])
def test_good_data_passes(conn: duckdb.DuckDBPyConnection, table: str, rule) -> None:
    outcome = rule(conn, table, [D])
    assert outcome.passed, outcome.description


def test_ranges_pass_on_good_data(conn: duckdb.DuckDBPyConnection) -> None:
    for table in ("etf_details", "etf_daily_prices"):
        assert rules.ranges(conn, table, [D]).passed


def test_missing_rows_fail_completeness_naming_offenders(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("DELETE FROM etf_daily_prices WHERE ticker = '0000D0'")
    outcome = rules.completeness(conn, "etf_daily_prices", [D])
    assert not outcome.passed
    assert outcome.metadata["missing_sample"] == ["0000D0"]
    assert outcome.metadata["universe"] == 4 and outcome.metadata["etfs"] == 3


def test_empty_closure_partition_is_complete(conn: duckdb.DuckDBPyConnection) -> None:
    closed = date(2026, 11, 19)
    replace_partition(
        conn,
        "etf_daily_prices",
        closed,
        table_frame("etf_daily_prices", []),
        note="KRX answered no data: closure",
    )
    assert rules.completeness(conn, "etf_daily_prices", [closed]).passed


def test_duplicated_keys_fail_uniqueness(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("INSERT INTO etf_details SELECT * FROM etf_details WHERE ticker = '102110'")
    outcome = rules.uniqueness(conn, "etf_details", [D])
    assert not outcome.passed and outcome.metadata["duplicated_keys"] == 1
    assert outcome.metadata["offenders"] == ["2026-11-20 / 102110"]


def test_missing_values_fail_coverage(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("UPDATE etf_details SET issuer = NULL WHERE ticker = '069500'")
    outcome = rules.coverage(conn, "etf_details", [D])
    assert not outcome.passed and outcome.metadata["below_threshold"] == {"issuer": 75.0}


def test_out_of_range_fee_and_prices_fail_ranges(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("UPDATE etf_details SET expense_ratio_pct = 5 WHERE ticker = '114800'")
    conn.execute("UPDATE etf_daily_prices SET low = 150 WHERE ticker = '0000D0'")
    fee = rules.ranges(conn, "etf_details", [D])
    assert not fee.passed
    assert fee.metadata["violations"]["expense_ratio_pct between 0 and 3"]["offenders"] == [
        "114800"
    ]
    prices = rules.ranges(conn, "etf_daily_prices", [D])
    assert prices.metadata["violations"]["low <= close <= high"]["offenders"] == ["0000D0"]


def test_finite_passes_on_numbers_and_nulls(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("UPDATE etf_daily_prices SET nav = NULL WHERE ticker = '0000D0'")
    for table in ("etf_details", "etf_daily_prices"):
        outcome = rules.finite(conn, table, [D])
        assert outcome.passed, outcome.description
    assert rules.finite(conn, "krx_etf_list", [D]).metadata["columns_checked"] == []  # all text


def test_nan_and_infinity_fail_finite_where_ranges_let_them_through(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    conn.execute("UPDATE etf_daily_prices SET nav = 'nan' WHERE ticker IN ('0000D0', '114800')")
    conn.execute("UPDATE etf_daily_prices SET index_close = '-inf' WHERE ticker = '069500'")
    assert rules.ranges(conn, "etf_daily_prices", [D]).passed  # NaN > 0 is true in DuckDB
    outcome = rules.finite(conn, "etf_daily_prices", [D])
    assert not outcome.passed
    assert outcome.metadata["non_finite"] == {
        "nav": {
            "count": 2,
            "offenders": [
                {"trade_date": "2026-11-20", "ticker": "0000D0", "value": "nan"},
                {"trade_date": "2026-11-20", "ticker": "114800", "value": "nan"},
            ],
        },
        "index_close": {
            "count": 1,
            "offenders": [{"trade_date": "2026-11-20", "ticker": "069500", "value": "-inf"}],
        },
    }
    assert rules.finite(conn, "etf_daily_prices", [D - timedelta(days=1)]).passed  # other dates


def test_floating_columns_are_the_contracts_doubles() -> None:
    assert rules.floating_columns("etf_tracking_error") == [
        *(f"premium_discount_{n}d_pct" for n in (20, 60, 120, 250)),
        *(f"tracking_error_{n}d_pct" for n in (20, 60, 120, 250)),
        "krx_tracking_error_pct",
        "leverage_factor_used",
    ]  # not the INTEGER counts
    assert rules.floating_columns("krx_etf_list") == []


@pytest.mark.parametrize(
    ("now", "table", "fresh"),
    [
        (datetime(2026, 11, 21, 12, tzinfo=KST), "etf_daily_prices", True),  # Saturday
        (datetime(2026, 11, 23, 8, tzinfo=KST), "etf_daily_prices", True),  # Monday morning
        (datetime(2026, 11, 23, 19, tzinfo=KST), "etf_daily_prices", False),  # Monday's missing
        (datetime(2026, 11, 24, 19, tzinfo=KST), "etf_daily_prices", False),  # stale Tuesday
        (datetime(2026, 11, 23, 11, 30, tzinfo=KST), "krx_etf_list", False),  # 09:00 + 2 h grace
        (datetime(2026, 11, 23, 8, tzinfo=KST), "krx_etf_list", True),
    ],
)
def test_freshness_counts_sessions(
    conn: duckdb.DuckDBPyConnection, now: datetime, table: str, fresh: bool
) -> None:
    outcome = rules.freshness(conn, table, now)
    assert outcome.passed is fresh, outcome.description


def test_freshness_after_chuseok_does_not_alarm() -> None:
    connection = duckdb.connect()
    ensure_schema(connection)
    last_before = date(2026, 9, 23)
    replace_partition(
        connection,
        "etf_daily_prices",
        last_before,
        table_frame("etf_daily_prices", [dict(trade_date=last_before, ticker="069500", close=1.0)]),
    )
    # Monday 28 Sept, morning after the Chuseok break (24–25 Sept closed, then the weekend).
    assert rules.freshness(
        connection, "etf_daily_prices", datetime(2026, 9, 28, 9, tzinfo=KST)
    ).passed
    stale = rules.freshness(connection, "etf_daily_prices", datetime(2026, 9, 29, 19, tzinfo=KST))
    assert not stale.passed and stale.metadata["sessions_behind"] == 2


def test_freshness_of_weekly_tables() -> None:
    assert rules.expected_newest("etf_tracking_error", datetime(2026, 11, 23, 9, tzinfo=KST)) == D
    # Sunday 22 Nov 20:00: this week's phase has not run yet, so last week's is expected.
    assert rules.expected_newest("etf_holdings", datetime(2026, 11, 22, 20, tzinfo=KST)) == date(
        2026, 11, 13
    )


def test_unscheduled_closure_recorded_as_empty_partition_is_fresh() -> None:
    connection = duckdb.connect()
    ensure_schema(connection)
    closure = date(2026, 11, 20)
    replace_partition(
        connection,
        "etf_daily_prices",
        closure,
        table_frame("etf_daily_prices", []),
        note="no data: closure",
    )
    assert rules.freshness(
        connection, "etf_daily_prices", datetime(2026, 11, 21, 9, tzinfo=KST)
    ).passed


def test_prices_without_a_listing_compare_with_the_previous_session() -> None:
    connection = duckdb.connect()
    ensure_schema(connection)
    monday = date(2026, 11, 23)
    for d, tickers in ((D, TICKERS), (monday, TICKERS[:2])):
        rows = [dict(trade_date=d, ticker=t, close=1.0) for t in tickers]
        replace_partition(connection, "etf_daily_prices", d, table_frame("etf_daily_prices", rows))
    outcome = rules.completeness(connection, "etf_daily_prices", [D, monday])
    assert not outcome.passed  # Monday lost half of Friday's funds
    assert outcome.metadata["worst_partition"] == "2026-11-23"
    assert outcome.metadata["unmeasured_partitions"] == ["2026-11-20"]  # nothing before it


def test_empty_partition_without_a_note_is_incomplete() -> None:
    connection = duckdb.connect()
    ensure_schema(connection)
    replace_partition(connection, "etf_aum", D, table_frame("etf_aum", []))
    assert not rules.completeness(connection, "etf_aum", [D]).passed


def test_downstream_of_a_closure_is_complete_when_empty() -> None:
    connection = duckdb.connect()
    ensure_schema(connection)
    no_prices = table_frame("etf_daily_prices", [])
    replace_partition(connection, "etf_daily_prices", D, no_prices, note="x")
    replace_partition(connection, "etf_aum", D, table_frame("etf_aum", []))
    assert rules.completeness(connection, "etf_aum", [D]).passed


def test_overview_snapshot_rules(conn: duckdb.DuckDBPyConnection) -> None:
    """The snapshot asset's checks: every priced ETF present once, no figure from after the
    snapshot date, and coverage naming the figures this warehouse does not have yet."""
    table = "etf_overview_snapshot"
    snapshot = conn.execute(overview_sql(D)).df()
    snapshot.insert(0, "trade_date", D)
    replace_partition(conn, table, D, snapshot)
    for rule in (rules.completeness, rules.uniqueness, rules.ranges):
        outcome = rule(conn, table, [D])
        assert outcome.passed, outcome.description
    coverage = rules.coverage(conn, table, [D])  # no etf_aum, etf_52w, etf_tracking_error here
    assert not coverage.passed
    below = set(coverage.metadata["below_threshold"])
    assert below == {"aum_krw", "high_52w", "premium_discount_20d_pct"}

    replace_partition(conn, table, D, snapshot[snapshot["ticker"] != "0000D0"])
    incomplete = rules.completeness(conn, table, [D])
    assert not incomplete.passed and incomplete.metadata["missing_sample"] == ["0000D0"]

    leaked = snapshot.assign(aum_as_of=D + timedelta(days=3))
    replace_partition(conn, table, D, leaked)
    outcome = rules.ranges(conn, table, [D])
    assert not outcome.passed
    assert outcome.metadata["violations"]["no figure newer than the snapshot"]["count"] == 4


def refreshed(connection: duckdb.DuckDBPyConnection, month: date, at: datetime) -> None:
    """A write of etf_distributions' `month` partition at `at`, as its refresh logs one."""
    connection.execute(
        "INSERT INTO etf_partition_log VALUES ('etf_distributions', ?, 3, NULL, ?)", [month, at]
    )


def test_distributions_are_fresh_when_this_month_was_refreshed_after_the_phase() -> None:
    connection = duckdb.connect()
    ensure_schema(connection)
    november = date(2026, 11, 1)
    noon = datetime(2026, 11, 20, 12, tzinfo=KST)  # the 09:00 phase is due by 11:00
    assert rules.freshness(connection, "etf_distributions", noon).description == (
        "etf_distributions: its 2026-11 partition never written"
    )
    refreshed(connection, november, datetime(2026, 11, 19, 9, 4, tzinfo=KST))
    refreshed(connection, date(2010, 5, 1), datetime(2026, 11, 20, 10, tzinfo=KST))  # backfill
    stale = rules.freshness(connection, "etf_distributions", noon)
    assert not stale.passed and stale.metadata["sessions_behind"] == 1
    assert stale.metadata["refreshed_at"] == "2026-11-19T09:04:00+09:00"
    # Before the grace is over, yesterday's refresh is the one due.
    assert rules.freshness(connection, "etf_distributions", noon.replace(hour=10)).passed
    refreshed(connection, november, datetime(2026, 11, 20, 9, 3, tzinfo=KST))
    assert rules.freshness(connection, "etf_distributions", noon).passed
    # Saturday and Sunday expect Friday's refresh; Monday noon expects Monday's.
    assert rules.freshness(
        connection, "etf_distributions", datetime(2026, 11, 22, 23, tzinfo=KST)
    ).passed
    monday = rules.freshness(
        connection, "etf_distributions", datetime(2026, 11, 23, 12, tzinfo=KST)
    )
    assert not monday.passed and monday.metadata["newest"] == "2026-11-20"


def test_refresh_before_the_month_began_is_not_this_months() -> None:
    """The refresh of 30 Oct also writes November (the next month); on 2 Nov it is a session
    behind, not fresh."""
    connection = duckdb.connect()
    ensure_schema(connection)
    refreshed(connection, date(2026, 11, 1), datetime(2026, 10, 30, 9, 2, tzinfo=KST))
    outcome = rules.freshness(
        connection, "etf_distributions", datetime(2026, 11, 2, 12, tzinfo=KST)
    )
    assert not outcome.passed and outcome.metadata["sessions_behind"] == 1


def test_universe_is_fresh_as_of_the_prices_it_was_built_from() -> None:
    connection = duckdb.connect()
    ensure_schema(connection)
    empty = {name: table_frame(name, []) for name in ("etf_universe", "etf_universe_names")}
    evening = datetime(2026, 11, 20, 19, 30, tzinfo=KST)  # the 17:00 phase is due by 19:00
    assert rules.freshness(connection, "etf_universe", evening).description == (
        "etf_universe: etf_universe never written"
    )
    replace_tables(connection, empty, date(2026, 11, 19))
    stale = rules.freshness(connection, "etf_universe", evening)
    assert not stale.passed and stale.metadata["sessions_behind"] == 1
    replace_tables(connection, empty, D)
    assert rules.freshness(connection, "etf_universe", evening).passed
    logged = connection.execute(
        "SELECT table_name, note FROM etf_partition_log WHERE partition_date = ? ORDER BY 1", [D]
    ).fetchall()
    assert logged == [("etf_universe", "rebuilt whole"), ("etf_universe_names", "rebuilt whole")]
