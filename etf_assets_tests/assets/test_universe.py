"""etf_universe against the sandbox market's ground truth: a month of prices spanning a brand
rename (KBSTAR → RISE on 2024-07-01) and a delisting, and the master of AS_OF.

The sandbox's clock is frozen at AS_OF's evening, so its master (which KRX publishes for today
only) is the one of AS_OF whatever day the tests run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from etf_assets.assets.distributions import etf_distributions
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.universe import UNIVERSE, UNIVERSE_NAMES, etf_universe, universe_metadata
from etf_assets.checks import FRESHNESS, rules, universe_checks
from etf_assets.metrics.universe import universe_frames
from etf_assets.partitions import KST, sessions_between
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets_tests.helpers import materialize, resources
from etf_sandbox.market import Market
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

AS_OF = date(2026, 11, 20)
RENAMED_ON = date(2024, 7, 1)
SPAN = sessions_between(date(2024, 6, 26), date(2024, 7, 25))
NEVER = date.max


@pytest.fixture(scope="module")
def frozen_sandbox() -> Iterator[Sandbox]:
    evening = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 20, 0, tzinfo=KST)
    with start_sandbox(SandboxConfig(now=lambda: evening)) as sb:
        yield sb


@pytest.fixture(scope="module")
def market(frozen_sandbox: Sandbox) -> Market:
    return frozen_sandbox.market


def build_universe(sb: Sandbox, db: Path) -> dg.ExecuteInProcessResult:
    """etf_universe and its checks, as `dagster asset materialize` runs them."""
    return dg.materialize(
        [etf_details, etf_daily_prices, etf_distributions, etf_universe, universe_checks],
        selection=[dg.AssetKey(UNIVERSE), dg.AssetKey(UNIVERSE_NAMES)],
        resources=resources(sb, db),
        raise_on_error=False,
    )


@pytest.fixture(scope="module")
def stored(frozen_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The master of AS_OF and the prices of SPAN (about 20 of some 6,000 price partitions)."""
    db = tmp_path_factory.mktemp("universe") / "stored.duckdb"
    res = resources(frozen_sandbox, db)
    assert materialize([krx_etf_list, etf_details], res, AS_OF.isoformat()).success
    assert materialize([etf_daily_prices], res, span=(SPAN[0], SPAN[-1])).success
    return db


@pytest.fixture(scope="module")
def built(
    frozen_sandbox: Sandbox, stored: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dg.ExecuteInProcessResult]:
    db = tmp_path_factory.mktemp("universe") / "built.duckdb"
    shutil.copy(stored, db)
    result = build_universe(frozen_sandbox, db)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return db, result


def query(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).df()


def universe_of(db: Path) -> pd.DataFrame:
    frame = query(db, f"SELECT * FROM {UNIVERSE}").set_index("ticker")
    for column in ("listing_date", "first_session", "last_session", "delisted_date"):
        frame[column] = frame[column].map(lambda v: None if pd.isna(v) else v.date())
    return frame


def truth(market: Market) -> pd.DataFrame:
    """Every fund priced in SPAN or in the master of AS_OF, as the market made it."""
    priced = {t for d in SPAN for t in market.daily(d)["ticker"]}
    master = set(market.etfs["ticker"].to_numpy()[market.listed_on(AS_OF)])
    etfs = market.etfs.set_index("ticker")
    return etfs.loc[sorted(priced | master)].assign(
        in_master=lambda f: f.index.isin(master), priced=lambda f: f.index.isin(priced)
    )


def test_every_fund_priced_or_listed_is_there_with_its_true_life(
    market: Market, built: tuple[Path, dg.ExecuteInProcessResult]
) -> None:
    universe, expected = universe_of(built[0]), truth(market)
    assert sorted(universe.index) == sorted(expected.index)
    delisting = expected["delisting_date"].map(lambda d: NEVER if d is None or pd.isna(d) else d)
    # Delisted: gone before the newest stored session. A fund still priced then is listed,
    # even when the master of AS_OF no longer has it (prices older than the master).
    gone = delisting <= SPAN[-1]
    assert gone.sum() >= 1 and (universe.loc[gone[gone].index, "status"] == "delisted").all()
    assert (universe.loc[gone[~gone].index, "status"] == "listed").all()
    assert (expected.loc[~gone & ~expected["in_master"]].index.size) >= 1  # closed after SPAN
    for ticker, fund in expected[expected["priced"]].iterrows():
        row = universe.loc[ticker]
        in_span = [d for d in SPAN if fund["listing_date"] <= d < delisting[ticker]]
        assert (row["first_session"], row["last_session"]) == (in_span[0], in_span[-1]), ticker
        if gone[ticker]:
            assert row["delisted_date"] == fund["delisting_date"] and row["delisted_date_inferred"]
        else:
            assert row["delisted_date"] is None and pd.isna(row["delisted_date_inferred"])
    unpriced = universe.loc[expected[~expected["priced"]].index]
    assert unpriced["first_session"].isna().all() and (unpriced["status"] == "listed").all()


def test_attributes_come_from_the_master_else_from_name_and_code(
    market: Market, built: tuple[Path, dg.ExecuteInProcessResult]
) -> None:
    universe, expected = universe_of(built[0]), truth(market)
    assert (universe["isin"] == expected["isin"]).all()
    assert (universe["isin_from_master"] == expected["in_master"]).all()
    assert (universe["issuer"] == expected["issuer"]).all()
    sources = universe["issuer_source"].map({"master": True, "name_brand": False})
    assert (sources == expected["in_master"]).all()
    listed = expected[expected["in_master"]]
    assert (universe.loc[listed.index, "listing_date"] == listed["listing_date"]).all()
    assert (universe.loc[listed.index, "name"] == listed["name"]).all()
    assert universe.loc[expected[~expected["in_master"]].index, "listing_date"].isna().all()


def test_names_over_time_split_at_the_brand_rename(
    market: Market, built: tuple[Path, dg.ExecuteInProcessResult]
) -> None:
    db = built[0]
    names = query(db, f"SELECT * FROM {UNIVERSE_NAMES} ORDER BY ticker, first_session")
    runs = names.groupby("ticker").apply(
        lambda g: [(n, f.date(), la.date()) for n, f, la in g[["name", "first_session",
                                                              "last_session"]].to_numpy()],
        include_groups=False,
    )  # fmt: skip
    universe, expected = universe_of(db), truth(market)
    renamed = 0
    for ticker, fund in expected[expected["priced"]].iterrows():
        first, last = universe.loc[ticker, ["first_session", "last_session"]]
        if fund["renamed_on"] == RENAMED_ON and first < RENAMED_ON <= last:
            before = [d for d in SPAN if first <= d < RENAMED_ON]
            after = [d for d in SPAN if RENAMED_ON <= d <= last]
            assert runs[ticker] == [
                (fund["former_name"], before[0], before[-1]),
                (fund["name"], after[0], after[-1]),
            ]
            assert fund["former_name"].startswith("KBSTAR ") and fund["name"].startswith("RISE ")
            renamed += 1
        else:
            shown = market.names_on(first, [market.position(ticker)])["name"].iloc[0]
            assert runs[ticker] == [(shown, first, last)]
    meta = built[1].asset_materializations_for_node("etf_universe")
    by_key = {m.asset_key.to_user_string(): m.metadata for m in meta}
    assert renamed > 10 and by_key[UNIVERSE]["etfs_renamed"].value == renamed


def test_a_past_session_counts_the_funds_that_existed_then(
    market: Market, built: tuple[Path, dg.ExecuteInProcessResult]
) -> None:
    """The survivorship-free query of docs/assets.md § The ETF universe, on every stored session."""
    with duckdb.connect(str(built[0]), read_only=True) as conn:
        for d in SPAN:
            existing = conn.execute(
                f"SELECT ticker FROM {UNIVERSE} WHERE coalesce(listing_date, first_session) "
                "<= $d AND coalesce(delisted_date, DATE '9999-12-31') > $d",
                {"d": d},
            ).fetchall()
            assert sorted(r[0] for r in existing) == sorted(market.daily(d)["ticker"]), d


def test_metadata_counts_listed_delisted_and_renamed(
    built: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    db, result = built
    meta = {
        m.asset_key.to_user_string(): {k: v.value for k, v in m.metadata.items()}
        for m in result.asset_materializations_for_node("etf_universe")
    }[UNIVERSE]
    universe = universe_of(db)
    counts = universe["status"].value_counts()
    assert (meta["listed"], meta["delisted"]) == (counts["listed"], counts["delisted"])
    assert meta["etfs"] == len(universe) == meta["dagster/row_count"]
    assert "| 2024 | " in meta["delisted_by_year"]
    assert meta["delisted_confirmed_by_liquidation"] == 0  # no etf_distributions rows
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) == {*rules.UNIVERSE_RULES, FRESHNESS}
    assert all(checks[name].passed for name in rules.UNIVERSE_RULES)
    # As of the newest session of prices it was built from; our clock is not frozen here, so
    # whether that is fresh depends on the day the tests run.
    freshness = {k: v.value for k, v in checks[FRESHNESS].metadata.items()}
    assert freshness["newest"] == str(SPAN[-1])


def test_a_liquidation_payout_confirms_the_delisting(
    frozen_sandbox: Sandbox,
    market: Market,
    built: tuple[Path, dg.ExecuteInProcessResult],
    tmp_path: Path,
) -> None:
    """SEIBro's 청산분배 rows (etf_distributions, from the sandbox) date the delisting."""
    db = tmp_path / "etf.duckdb"
    shutil.copy(built[0], db)
    months = dg.materialize(
        [etf_distributions],
        resources=resources(frozen_sandbox, db),
        tags={
            "dagster/asset_partition_range_start": SPAN[0].replace(day=1).isoformat(),
            "dagster/asset_partition_range_end": SPAN[-1].replace(day=1).isoformat(),
        },
    )
    assert months.success
    result = build_universe(frozen_sandbox, db)
    assert result.success
    universe, expected = universe_of(db), truth(market)
    delisted = universe[universe["status"] == "delisted"]
    assert len(delisted) >= 1 and not delisted["delisted_date_inferred"].any()
    for ticker, row in delisted.iterrows():
        assert row["delisted_date"] == expected.loc[ticker, "delisting_date"]
    meta = {m.asset_key.to_user_string(): m.metadata
            for m in result.asset_materializations_for_node("etf_universe")}  # fmt: skip
    assert meta[UNIVERSE]["delisted_confirmed_by_liquidation"].value == len(delisted)


def test_a_fund_priced_on_the_newest_session_but_not_in_the_master_stays_listed(
    built: tuple[Path, dg.ExecuteInProcessResult], tmp_path: Path
) -> None:
    """A master lag; and without liquidation payouts every delisting is inferred."""
    db = tmp_path / "etf.duckdb"
    shutil.copy(built[0], db)
    with duckdb.connect(str(db)) as conn:
        lagging = conn.execute(
            "SELECT ticker FROM etf_daily_prices WHERE trade_date = (SELECT max(trade_date) "
            "FROM etf_daily_prices) ORDER BY ticker LIMIT 1"
        ).fetchone()[0]
        conn.execute("DELETE FROM etf_details WHERE ticker = ?", [lagging])
        universe, _ = universe_frames(conn)
    universe = universe.set_index("ticker")
    assert universe.loc[lagging, "status"] == "listed"
    assert universe.loc[lagging, "issuer_source"] == "name_brand"
    assert universe.loc[universe["status"] == "delisted", "delisted_date_inferred"].all()


@pytest.mark.parametrize(
    ("rule", "corruption"),
    [
        ("unique_tickers", "INSERT INTO etf_universe SELECT * FROM etf_universe LIMIT 1"),
        ("status_consistent", "UPDATE etf_universe SET delisted_date = last_session "
                              "WHERE status = 'delisted'"),
        ("newest_master_listed", "UPDATE etf_universe SET status = 'delisted' WHERE ticker = "
                                 "(SELECT min(ticker) FROM etf_details)"),
        ("prices_covered", "DELETE FROM etf_universe WHERE first_session IS NOT NULL"),
    ],
)  # fmt: skip
def test_each_check_names_what_breaks_it(
    built: tuple[Path, dg.ExecuteInProcessResult], tmp_path: Path, rule: str, corruption: str
) -> None:
    db = tmp_path / "etf.duckdb"
    shutil.copy(built[0], db)
    with duckdb.connect(str(db)) as conn:
        assert rules.universe_rule(conn, rule).passed
        conn.execute(corruption)
        outcome = rules.universe_rule(conn, rule)
    assert not outcome.passed and outcome.metadata["offenders"]
    assert outcome.metadata["offenders_count"] >= len(outcome.metadata["offenders"]) >= 1


def test_an_empty_warehouse_has_an_empty_universe() -> None:
    with duckdb.connect(":memory:") as conn:
        ensure_schema(conn)
        universe, names = universe_frames(conn)
    assert universe.empty and names.empty
    meta = universe_metadata(universe, names)
    assert (meta["etfs"], meta["listed"], meta["delisted"], meta["newest_session"]) == (
        0,
        0,
        0,
        None,
    )
