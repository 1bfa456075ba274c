"""etf_classification, etf_creations and the overview's new columns and pictures on a small
sandbox market (150 funds) over real HTTP: every listed fund classified with its rules, no
geared fund pension-eligible, and every fund-session's money in and out equal to (listed units
− the previous session's) × NAV, recomputed here in pandas. The price history runs from before
the market's newest delisting, so it holds listings and a delisting.

Only the assets these tests need are materialized (with the checks of the two new tables), so
the module needs no resource beyond KRX, KIS (unconfigured) and DuckDB.
"""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from etf_assets.assets.classification import etf_classification, etf_creations
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.metrics import etf_aum
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.reports import etf_overview
from etf_assets.checks.classification_rules import creations_match_prices, whole_creation_units
from etf_assets.metrics.classification import TAX_CLASS_VALUES
from etf_assets.partitions import sessions_back, sessions_between
from etf_assets_tests.helpers import AS_OF, checks_for, krx_client, unconfigured_kis
from etf_sandbox.market import Market
from etf_sandbox.server import SandboxConfig, start_sandbox

VERDICTS = ("pension_savings_eligible", "retirement_eligible")
RULES = ("tax_class_rule", "pension_savings_rule", "retirement_rule", "retirement_risk_rule")
SMALL_MARKET = 150


def history_start(market: Market) -> date:
    """Five sessions before the market's newest delisting up to AS_OF (at least 40 back)."""
    delisted = pd.to_datetime(market.etfs["delisting_date"]).dt.date.dropna()
    newest = max(d for d in delisted if d <= AS_OF)
    return min(sessions_back(newest, 6)[0], sessions_back(AS_OF, 40)[0])


def run(
    assets: list[dg.AssetsDefinition],
    res: dict[str, object],
    partition: str | None = None,
    span: tuple[date, date] | None = None,
    checked: bool = False,
) -> dg.ExecuteInProcessResult:
    """These assets alone (with their checks if `checked`), for one key or one range."""
    tags = (
        {"dagster/asset_partition_range_start": span[0].isoformat(),
         "dagster/asset_partition_range_end": span[1].isoformat()}
        if span else None
    )  # fmt: skip
    checks = checks_for(*assets) if checked else []
    result = dg.materialize(
        [*assets, *checks], resources=res, partition_key=partition, tags=tags,
        raise_on_error=False,
    )  # fmt: skip
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, dict[str, dg.ExecuteInProcessResult], date]]:
    db = tmp_path_factory.mktemp("investors") / "etf.duckdb"
    with start_sandbox(SandboxConfig(n_etfs=SMALL_MARKET)) as sandbox:
        res = {
            "krx": krx_client(sandbox),
            "kis": unconfigured_kis(),
            "duckdb": DuckDBResource(database=str(db)),
        }
        start = history_start(sandbox.market)
        key = AS_OF.isoformat()
        run([krx_etf_list, etf_details], res, key)
        run([etf_daily_prices], res, span=(start, AS_OF))
        run([etf_aum], res, key)
        run([etf_holdings], res, key)
        results = {
            "classification": run([etf_classification], res, key, checked=True),
            "creations": run([etf_creations], res, span=(start, AS_OF), checked=True),
            "overview": run([etf_overview], res, key),
        }
    yield db, results, start


@pytest.fixture(scope="module")
def conn(runs: tuple[Path, dict, date]) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(runs[0]), read_only=True) as connection:
        yield connection


def test_every_listed_fund_is_classified_with_its_rules(
    runs: tuple[Path, dict, date], conn: duckdb.DuckDBPyConnection
) -> None:
    checks = runs[1]["classification"].get_asset_check_evaluations()
    assert {c.check_name for c in checks if c.passed} >= {
        "every_fund_classified", "pensions_exclude_leverage", "complete", "unique_keys", "finite",
    }  # fmt: skip
    frame = conn.execute(
        "SELECT c.*, d.name FROM etf_details AS d LEFT JOIN etf_classification AS c "
        "USING (trade_date, ticker) WHERE d.trade_date = ?",
        [AS_OF],
    ).df()
    assert len(frame) > 100
    assert frame[["asset_class", "region", "tax_class", *VERDICTS, *RULES]].notna().all().all()
    eligible = frame["retirement_eligible"].astype(bool)
    assert frame.loc[eligible, "retirement_risk_asset"].notna().all()
    assert set(frame["tax_class"]) == set(TAX_CLASS_VALUES)  # the sandbox prints all five
    geared = frame["is_leveraged"] | frame["is_inverse"]
    assert geared.sum() > 5
    assert not frame.loc[geared, list(VERDICTS)].any().any()
    unswapped = frame["fund_type"].str.contains("파생") & ~frame["is_synthetic"]
    assert not frame.loc[unswapped, "retirement_eligible"].any()
    # The week's baskets measured the bond-mixed funds' stocks, and the rule says so.
    measured = frame["retirement_risk_rule"].str.contains("measured basket")
    assert measured.sum() > 0
    assert frame["basket_as_of"].notna().mean() > 0.95


def test_every_fund_session_is_units_change_times_nav(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    prices = conn.execute(
        "SELECT trade_date, ticker, listed_shares, nav FROM etf_daily_prices "
        "ORDER BY ticker, trade_date"
    ).df()
    table = conn.execute("SELECT * FROM etf_creations").df()
    priced = table[table["event"].ne("delisting")].merge(
        prices, on=["trade_date", "ticker"], how="outer", suffixes=("", "_p"), indicator=True
    )
    assert (priced["_merge"] == "both").all()  # one row per priced fund-session, no other
    previous = prices.groupby("ticker")["listed_shares"].shift()
    expected = prices.assign(change=prices["listed_shares"] - previous)
    both = table.merge(expected, on=["trade_date", "ticker"], suffixes=("", "_p"))
    known = both.dropna(subset=["shares_change"])
    continuing = known[known["event"].isna()]
    assert len(continuing) > 0.95 * len(both)
    assert (continuing["shares_change"] == continuing["change"]).all()
    assert (known["net_creation_krw"] == known["shares_change"] * known["nav"]).all()
    listings = known[known["event"] == "listing"]
    assert len(listings) > 0
    assert (listings["shares_change"] == listings["listed_shares"]).all()
    delistings = table[table["event"] == "delisting"]
    assert len(delistings) > 0
    last = prices.groupby("ticker").tail(1).set_index("ticker")
    gone = delistings.set_index("ticker")
    assert (gone["shares_change"] == -last.loc[gone.index, "listed_shares"]).all()
    assert (gone["nav"] == last.loc[gone.index, "nav"]).all()


def test_the_creation_checks_pass_on_the_whole_span(
    runs: tuple[Path, dict, date], conn: duckdb.DuckDBPyConnection
) -> None:
    dates = list(sessions_between(runs[2], AS_OF))
    assert creations_match_prices(conn, "etf_creations", dates).passed
    whole = whole_creation_units(conn, "etf_creations", dates)
    assert whole.passed, whole.description  # the sandbox creates whole units only


def test_the_overview_shows_the_verdicts_flows_and_pictures(
    runs: tuple[Path, dict, date], conn: duckdb.DuckDBPyConnection
) -> None:
    overview = conn.execute(
        "SELECT * FROM etf_overview_snapshot WHERE trade_date = ? AND is_active", [AS_OF]
    ).df()
    for column in ("pension_savings_eligible", "retirement_eligible", "tax_class"):
        assert overview[column].notna().all(), column
    assert overview["net_creation_5d_krw"].notna().mean() > 0.95
    assert overview["net_creation_20d_krw"].notna().mean() > 0.95
    assert (pd.to_datetime(overview["creations_as_of"]).dt.date == AS_OF).all()
    metadata = runs[1]["overview"].asset_materializations_for_node("etf_overview")[-1].metadata
    for chart in ("chart_largest_net_creations", "chart_aum_by_pension"):
        assert Path(metadata[chart].value).read_bytes().startswith(b"\x89PNG"), chart
    assert "퇴직연금 위험자산" in metadata["aum_by_pension"].value
