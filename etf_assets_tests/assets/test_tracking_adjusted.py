"""Tracking error with payouts added back to the NAV return, and over history: small frames for
the SQL's rules, the sandbox's monthly payer for the ground truth, a past range in one run."""

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from etf_assets.assets.metrics import etf_tracking_error
from etf_assets.metrics.tracking import TRACKING_SQL, UNADJUSTED_TRACKING_SQL, tracking_params
from etf_assets.partitions import sessions_back, week_last_session
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import replace_partitions
from etf_assets_tests.helpers import (
    AS_OF,
    HISTORY_START,
    copy_warehouse,
    market_distributions,
    materialize,
    resources,
    table_frame,
)
from etf_sandbox.market import get_market
from etf_sandbox.server import Sandbox

SESSIONS = sessions_back(AS_OF, 260)
PARAMS = tracking_params([AS_OF], SESSIONS)


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    ensure_schema(connection)
    return connection


def insert(conn: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, object]]) -> None:
    frame = table_frame(table, rows)
    key = "record_date" if table == "etf_distributions" else "trade_date"
    replace_partitions(conn, table, sorted(set(TABLES[table].partition_keys_of(frame[key]))), frame)


def paying_fund(
    ticker: str, te_pct: float, payouts: dict[date, float], seed: int, name: str = "TEST 200"
) -> list[dict[str, object]]:
    """Prices of a fund that tracks its index with `te_pct` tracking error and whose NAV falls
    by each payout on its ex-date, as a real fund's does."""
    rng = np.random.default_rng(seed)
    index, nav, rows = 1000.0, 10_000.0, []
    for i, d in enumerate(SESSIONS):
        if i:
            r = rng.normal(0, 0.01)
            index *= 1 + r
            nav = nav * (1 + r + rng.normal(0, te_pct / 100 / np.sqrt(250))) - payouts.get(d, 0)
        rows.append(dict(trade_date=d, ticker=ticker, name=name, close=round(nav), nav=nav,
                         index_close=index))  # fmt: skip
    return rows


def payout_rows(ticker: str, payouts: dict[date, float], kind: str) -> list[dict[str, object]]:
    return [
        dict(ticker=ticker, record_date=d + timedelta(days=1), ex_date=d,
             amount_per_share_krw=amount, kind=kind)
        for d, amount in payouts.items()
    ]  # fmt: skip


def monthly(amount: float) -> dict[date, float]:
    """One payout a month, on the month's last session of the window."""
    last = {}
    for d in SESSIONS[1:]:
        last[(d.year, d.month)] = d
    return dict.fromkeys(last.values(), amount)


def test_payouts_are_added_back_on_their_ex_dates(conn: duckdb.DuckDBPyConnection) -> None:
    payouts = monthly(80.0)  # 0.8 % of NAV a month
    insert(conn, "etf_daily_prices", paying_fund("PAYER", 0.3, payouts, 1))
    insert(conn, "etf_details", [dict(trade_date=AS_OF, ticker="PAYER", leverage_factor=1)])
    insert(conn, "etf_distributions", payout_rows("PAYER", payouts, "income"))
    adjusted = conn.execute(TRACKING_SQL, PARAMS).df().iloc[0]
    unadjusted = conn.execute(UNADJUSTED_TRACKING_SQL, PARAMS).df().iloc[0]
    assert adjusted.tracking_error_250d_pct == pytest.approx(0.3, rel=0.15)
    assert unadjusted.tracking_error_250d_pct > 2.0  # twelve 0.8 % "misses" a year


def test_special_payouts_count_and_liquidations_do_not(conn: duckdb.DuckDBPyConnection) -> None:
    """An `other` payout (특별분배) left the NAV like income; a liquidation left no NAV: it is
    no return of a trading fund and is never added back."""
    payouts = monthly(80.0)
    insert(conn, "etf_daily_prices",
           paying_fund("SPECIAL", 0.3, payouts, 2) + paying_fund("LIQ", 0.3, {}, 3))  # fmt: skip
    insert(conn, "etf_details", [dict(trade_date=AS_OF, ticker=t, leverage_factor=1)
                                 for t in ("SPECIAL", "LIQ")])  # fmt: skip
    insert(
        conn,
        "etf_distributions",
        payout_rows("SPECIAL", payouts, "other") + payout_rows("LIQ", payouts, "liquidation"),
    )
    frame = conn.execute(TRACKING_SQL, PARAMS).df().set_index("ticker")
    assert frame.loc["SPECIAL", "tracking_error_250d_pct"] == pytest.approx(0.3, rel=0.15)
    assert frame.loc["LIQ", "tracking_error_250d_pct"] == pytest.approx(0.3, rel=0.15)


def test_leverage_of_a_fund_no_longer_in_the_master(conn: duckdb.DuckDBPyConnection) -> None:
    """The week's master first; a delisted fund's newest master row; else its KRX name."""
    old_week = SESSIONS[-30]
    params = tracking_params([old_week], SESSIONS)  # from SESSIONS[0]
    named = {"LEV": "KODEX 레버리지", "INV2": "KODEX 200선물인버스2X", "INV": "TIGER 인버스",
             "PLAIN": "KODEX 200", "WEEK": "TIGER 레버리지", "GONE": "ACE 인버스"}  # fmt: skip
    rows = []
    for i, (ticker, name) in enumerate(named.items()):
        rows += [
            r for r in paying_fund(ticker, 0.3, {}, 10 + i, name) if r["trade_date"] <= old_week
        ]
    insert(conn, "etf_daily_prices", rows)
    insert(conn, "etf_details", [
        dict(trade_date=SESSIONS[-40], ticker="WEEK", leverage_factor=2),  # the week's master
        dict(trade_date=SESSIONS[-20], ticker="GONE", leverage_factor=-1),  # a later one
    ])  # fmt: skip
    frame = conn.execute(TRACKING_SQL, params).df().set_index("ticker")
    assert frame["leverage_factor_used"].to_dict() == {
        "GONE": -1.0, "INV": -1.0, "INV2": -2.0, "LEV": 2.0, "PLAIN": 1.0, "WEEK": 2.0,
    }  # fmt: skip
    assert frame["leverage_source"].to_dict() == {
        "GONE": "etf_details_newest", "INV": "name", "INV2": "name", "LEV": "name",
        "PLAIN": "name", "WEEK": "etf_details",
    }  # fmt: skip


@pytest.fixture(scope="module")
def payer_run(
    sandbox: Sandbox, warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dg.ExecuteInProcessResult]:
    """The shared warehouse with the market's payouts, and etf_tracking_error of AS_OF."""
    db = copy_warehouse(warehouse_path, tmp_path_factory.mktemp("tracking"))
    payouts = market_distributions(get_market(), HISTORY_START, AS_OF + timedelta(days=7))
    with duckdb.connect(str(db)) as connection:
        months = TABLES["etf_distributions"].partition_keys_of(payouts["record_date"])
        replace_partitions(connection, "etf_distributions", sorted(set(months)), payouts)
    result = materialize([etf_tracking_error], resources(sandbox, db), AS_OF.isoformat())
    return db, result


def test_monthly_payer_tracking_error_is_its_true_one(
    payer_run: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    db, result = payer_run
    assert result.success
    market = get_market()
    payer = market.special["monthly_payer"]
    truth = market.ground_truth[payer]["tracking_error_pct"]
    with duckdb.connect(str(db), read_only=True) as connection:
        ours = connection.execute(
            "SELECT tracking_error_250d_pct FROM etf_tracking_error WHERE ticker = ?", [payer]
        ).fetchone()[0]
        unadjusted = connection.execute(UNADJUSTED_TRACKING_SQL, PARAMS).df().set_index("ticker")
    assert ours == pytest.approx(truth, abs=0.05)
    assert unadjusted.loc[payer, "tracking_error_250d_pct"] > 3 * truth
    metadata = result.asset_materializations_for_node("etf_tracking_error")[0].metadata
    assert metadata["payout_adjusted_funds"].value > 500
    assert metadata["payout_adjustment_worst_change_pctpt"].value < -1.0


def test_past_weeks_in_one_run_with_the_funds_of_their_date(sandbox: Sandbox, db: Path) -> None:
    """Two past weeks in one run: each week's funds are those priced on its last session (a
    fund delisted since included, its leverage from its name), and no holdings were stored for
    them, so constituent_count is NULL."""
    weeks = [week_last_session(date(2026, 4, 22)), week_last_session(date(2026, 4, 29))]
    result = materialize([etf_tracking_error], resources(sandbox, db), span=(weeks[0], weeks[1]))
    assert result.success
    with duckdb.connect(str(db), read_only=True) as connection:
        frame = connection.execute(
            "SELECT * FROM etf_tracking_error WHERE as_of_date IN (?, ?)", weeks
        ).df()
    market = get_market()
    truth = market.etfs.set_index("ticker")
    for week in weeks:
        rows = frame[frame["as_of_date"].dt.date == week].set_index("ticker")
        assert set(rows.index) == set(market.daily(week)["ticker"])
        assert rows["constituent_count"].isna().all()
        delisted = rows.index[rows["leverage_source"] == "name"]
        assert len(delisted) and not truth.loc[delisted, "delisting_date"].isna().any()
        assert (rows["leverage_factor_used"] == truth.loc[rows.index, "leverage_factor"]).all()
    assert pd.Series(frame["leverage_source"]).isin(["etf_details_newest", "name"]).all()
