"""etf_overview: the view against the base tables, staleness per ETF, and the asset.

The staleness rules are tested on a small warehouse written with `replace_partition`, where
every figure is known; the shared warehouse checks the view against real base rows; the asset
runs on a copy of it (the shared file is read-only by convention).
"""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from etf_assets.assets.reports import etf_overview, reports_dir
from etf_assets.metrics.overview import COLUMNS, aum_by, new_52w_highs, overview_sql
from etf_assets.partitions import sessions_back
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import replace_partition
from etf_assets_tests.helpers import AS_OF, copy_warehouse, resources, table_frame
from etf_sandbox.market import Market
from etf_sandbox.server import Sandbox

D1, D2 = date(2026, 11, 19), date(2026, 11, 20)


@pytest.fixture
def small(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Two sessions, where 000002's AUM partition for D2 is missing and tracking is weekly.

    000001, 000002 listed in both masters; 000003 delisted after D1; 000004 priced on D2 but
    not yet in any master.
    """
    conn = duckdb.connect(str(tmp_path / "small.duckdb"))
    ensure_schema(conn)

    def details(d: date, tickers: list[str]) -> None:
        rows = [
            {"trade_date": d, "ticker": t, "name": f"ETF {t} @{d.day}", "issuer": "삼성자산운용",
             "asset_class": "주식", "expense_ratio_pct": 0.1, "leverage_factor": 1.0}
            for t in tickers
        ]  # fmt: skip
        replace_partition(conn, "etf_details", d, table_frame("etf_details", rows))

    def prices(d: date, tickers: list[str]) -> None:
        rows = [
            {"trade_date": d, "ticker": t, "name": f"priced {t}", "close": 100.0 + d.day,
             "nav": 100.5 + d.day}
            for t in tickers
        ]  # fmt: skip
        replace_partition(conn, "etf_daily_prices", d, table_frame("etf_daily_prices", rows))

    def aum(d: date, tickers: list[str]) -> None:
        rows = [
            {"trade_date": d, "ticker": t, "aum_krw": 1e9 * d.day, "aum_source": "krx_net_assets",
             "market_cap_krw": 2e9 * d.day}
            for t in tickers
        ]  # fmt: skip
        replace_partition(conn, "etf_aum", d, table_frame("etf_aum", rows))

    details(D1, ["000001", "000002", "000003"])
    details(D2, ["000001", "000002"])
    prices(D1, ["000001", "000002", "000003"])
    prices(D2, ["000001", "000002", "000004"])
    aum(D1, ["000001", "000002", "000003"])
    aum(D2, ["000001"])  # 000002's figure for D2 is missing
    tracking = [{"as_of_date": D1, "ticker": "000001", "premium_discount_20d_pct": 0.25}]
    replace_partition(conn, "etf_tracking_error", D1, table_frame("etf_tracking_error", tracking))
    week52 = [{"trade_date": D2, "ticker": "000001", "high_52w": 130.0, "high_52w_date": D2}]
    replace_partition(conn, "etf_52w", D2, table_frame("etf_52w", week52))
    return conn


def test_missing_aum_shows_the_older_figure_with_its_date(small: duckdb.DuckDBPyConnection) -> None:
    view = small.execute("SELECT * FROM etf_overview").df().set_index("ticker")
    assert view.loc["000001", "aum_krw"] == 20e9
    assert view.loc["000001", "aum_as_of"].date() == D2
    assert view.loc["000002", "aum_krw"] == 19e9  # D1's figure …
    assert view.loc["000002", "aum_as_of"].date() == D1  # … and D1 says so
    assert view.loc["000002", "prices_as_of"].date() == D2
    assert view.loc["000002", "market_cap_krw"] == 38e9  # market cap travels with its AUM


def test_universe_is_newest_master_and_newest_prices(small: duckdb.DuckDBPyConnection) -> None:
    view = small.execute("SELECT * FROM etf_overview").df().set_index("ticker")
    assert sorted(view.index) == ["000001", "000002", "000004"]  # 000003 delisted after D1
    assert view["is_active"].to_dict() == {"000001": True, "000002": True, "000004": False}
    assert view.loc["000004", "name"] == "priced 000004"  # never in a master: the price name
    assert pd.isna(view.loc["000004", "details_as_of"])
    assert view.loc["000001", "name"] == "ETF 000001 @20"  # the newest master's name


def test_weekly_and_window_figures_keep_their_own_dates(small: duckdb.DuckDBPyConnection) -> None:
    row = small.execute("SELECT * FROM etf_overview WHERE ticker = '000001'").df().iloc[0]
    assert row["premium_discount_20d_pct"] == 0.25 and row["tracking_as_of"].date() == D1
    assert row["high_52w"] == 130.0 and row["week52_as_of"].date() == D2
    other = small.execute("SELECT * FROM etf_overview WHERE ticker = '000002'").df().iloc[0]
    assert pd.isna(other["premium_discount_20d_pct"]) and pd.isna(other["tracking_as_of"])


def test_bounded_overview_is_the_view_as_it_stood(small: duckdb.DuckDBPyConnection) -> None:
    then = small.execute(overview_sql(D1)).df().set_index("ticker")
    assert sorted(then.index) == ["000001", "000002", "000003"]
    assert (then["aum_as_of"].dt.date == D1).all() and (then["prices_as_of"].dt.date == D1).all()
    assert then["week52_as_of"].isna().all()  # D2's 52-week row did not exist yet
    assert then.loc["000003", "name"] == "ETF 000003 @19" and then.loc["000003", "is_active"]


def test_view_columns_are_the_contract(small: duckdb.DuckDBPyConnection) -> None:
    described = small.execute("DESCRIBE etf_overview").fetchall()
    assert [(r[0], r[1]) for r in described] == [(name, kind) for name, kind, _ in COLUMNS]
    snapshot = TABLES["etf_overview_snapshot"].columns
    assert snapshot == (("trade_date", "DATE"), *((name, kind) for name, kind, _ in COLUMNS))


def test_pandas_summaries() -> None:
    overview = pd.DataFrame(
        {
            "ticker": ["a", "b", "c", "d"],
            "issuer": ["x", "y", "x", None],
            "aum_krw": [1.0, 5.0, 2.0, 2.0],
            "high_52w_date": pd.to_datetime(["2026-11-20", "2026-11-19", None, "2026-11-20"]),
        }
    )
    by_issuer = aum_by(overview, "issuer")
    assert list(by_issuer["issuer"]) == ["y", "x", "(unknown)"]
    assert list(by_issuer["etfs"]) == [1, 2, 1] and by_issuer["share_pct"].sum() == 100
    assert list(new_52w_highs(overview, D2, outliers=[])["ticker"]) == ["d", "a"]
    assert list(new_52w_highs(overview, D2, outliers=["d"])["ticker"]) == ["a"]


# --- against the shared warehouse ---------------------------------------------------------


@pytest.fixture(scope="module")
def shared(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(warehouse_path), read_only=True)


# (table, its partition column, view column → base column) for every figure of the view
SOURCES = (
    ("etf_details", "trade_date", {c: c for c in (
        "name", "name_eng", "issuer", "tracking_index", "asset_class", "leverage_factor",
        "expense_ratio_pct", "listing_date")} | {"details_as_of": "trade_date"}),
    ("etf_daily_prices", "trade_date", {"close": "close", "nav": "nav",
                                        "prices_as_of": "trade_date"}),
    ("etf_aum", "trade_date", {"aum_krw": "aum_krw", "aum_source": "aum_source",
                               "market_cap_krw": "market_cap_krw", "aum_as_of": "trade_date"}),
    ("etf_tracking_error", "as_of_date", {c: c for c in (
        *(f"premium_discount_{n}d_pct" for n in (20, 60, 120, 250)),
        *(f"tracking_error_{n}d_pct" for n in (20, 60, 120, 250)), "constituent_count")}
        | {"tracking_as_of": "as_of_date"}),
    ("etf_52w", "trade_date", {c: c for c in (
        "high_52w", "high_52w_date", "low_52w", "low_52w_date", "pct_below_high")}
        | {"week52_as_of": "trade_date"}),
)  # fmt: skip


def test_view_equals_base_tables_for_sampled_etfs(
    shared: duckdb.DuckDBPyConnection, market: Market
) -> None:
    view = shared.execute("SELECT * FROM etf_overview").df().set_index("ticker")
    universe = shared.execute(
        "SELECT count(*) FROM etf_details WHERE trade_date = ?", [AS_OF]
    ).fetchone()[0]
    assert len(view) == universe > 1000 and view.index.is_unique
    specials = [market.special[k] for k in ("kodex200", "new_listing", "no_index", "inverse_2x")]
    sample = specials + list(np.random.default_rng(9).choice(view.index, 12, replace=False))
    for table, key, mapping in SOURCES:
        base = shared.execute(
            f"SELECT * FROM {table} WHERE {key} = ? AND ticker IN (SELECT unnest(?))",
            [AS_OF, sample],
        ).df()
        base = base.set_index("ticker")
        assert set(base.index) == set(sample), table
        for view_column, base_column in mapping.items():
            pd.testing.assert_series_equal(
                view.loc[sample, view_column],
                base.loc[sample, base_column],
                check_names=False,
                check_dtype=False,
                obj=f"{view_column} vs {table}.{base_column}",
            )


@pytest.fixture(scope="module")
def market(sandbox: Sandbox) -> Market:
    return sandbox.market


# --- the asset ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def materialized(
    sandbox: Sandbox, warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dg.ExecuteInProcessResult, Path]:
    """etf_overview for the session before AS_OF and AS_OF, as one single-run backfill."""
    db = copy_warehouse(warehouse_path, tmp_path_factory.mktemp("overview"))
    before = sessions_back(AS_OF, 2)[0]
    result = dg.materialize(
        [etf_overview],
        resources=resources(sandbox, db),
        tags={
            "dagster/asset_partition_range_start": before.isoformat(),
            "dagster/asset_partition_range_end": AS_OF.isoformat(),
        },
        raise_on_error=False,
    )
    return result, db


def test_asset_snapshots_each_session(
    materialized: tuple[dg.ExecuteInProcessResult, Path],
) -> None:
    result, db = materialized
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    before = sessions_back(AS_OF, 2)[0]
    with duckdb.connect(str(db), read_only=True) as conn:
        counts = dict(
            conn.execute(
                "SELECT trade_date, count(*) FROM etf_overview_snapshot GROUP BY 1"
            ).fetchall()
        )
        view = conn.execute("SELECT * FROM etf_overview ORDER BY ticker").df()
        snapshot = conn.execute(
            "SELECT * EXCLUDE (trade_date) FROM etf_overview_snapshot WHERE trade_date = ? "
            "ORDER BY ticker",
            [AS_OF],
        ).df()
        older = conn.execute(
            "SELECT max(prices_as_of), max(aum_as_of) FROM etf_overview_snapshot "
            "WHERE trade_date = ?",
            [before],
        ).fetchone()
    assert counts == {AS_OF: len(view), before: counts[before]} and counts[before] > 1000
    pd.testing.assert_frame_equal(snapshot, view, check_dtype=False)
    assert older == (before, None)  # etf_aum was only computed for AS_OF


def test_asset_metadata_lists_premium_outliers_apart_from_the_widest(
    materialized: tuple[dg.ExecuteInProcessResult, Path], market: Market
) -> None:
    """The market's outlier closes of AS_OF (the suspended fund at +21,597 %, one-session
    spikes) are listed with their close and NAV, and not among the 20 widest premiums."""
    result, _ = materialized
    metadata = result.asset_materializations_for_node("etf_overview")[-1].metadata
    truth = market.outliers(AS_OF)
    outliers = metadata["premium_outliers"].value
    assert metadata["premium_outliers_count"].value >= len(truth)
    for row in truth.itertuples():
        assert f"| {row.ticker} | " in outliers
        assert f"| {row.close:,.2f} | {row.nav:,.2f} | {row.premium_pct:,.2f} |" in outliers
        assert f"| {row.ticker} | " not in metadata["widest_premium_discount_20d"].value
    assert "| 21,596.83 |" in outliers  # a NAV of 44.20 against a close of 9,590
    assert "left out of widest_premium_discount_20d" in metadata["premium_outlier_note"].value


def test_asset_metadata_has_pictures_tables_and_files(
    materialized: tuple[dg.ExecuteInProcessResult, Path],
) -> None:
    result, db = materialized
    metadata = result.asset_materializations_for_node("etf_overview")[-1].metadata
    for chart in ("aum_by_issuer_chart", "aum_by_asset_class_chart"):
        assert metadata[chart].value.startswith("![")
        assert "(data:image/png;base64,iVBORw0KGgo" in metadata[chart].value  # PNG signature
    assert "| 미래에셋자산운용 |" in metadata["aum_by_issuer"].value
    assert metadata["chart_font"].value == "NanumGothic, shipped in koreanize_matplotlib"
    assert metadata["widest_premium_discount_20d"].value.count("\n") == 21  # header, rule, 20
    out = reports_dir(str(db), AS_OF)
    for key in ("export_parquet", "export_csv", "chart_aum_by_issuer", "chart_aum_by_asset_class"):
        path = Path(metadata[key].value)
        assert path.parent == out and path.stat().st_size > 1000, key
    with duckdb.connect(str(db), read_only=True) as conn:
        at_high = conn.execute(  # a high set on an outlier close (> 5 % off NAV) is left out
            "SELECT count(*) FROM etf_52w AS w JOIN etf_daily_prices AS p USING (trade_date, "
            "ticker) WHERE trade_date = $d AND high_52w_date = $d "
            "AND abs(p.close - p.nav) / p.nav * 100 <= 5",
            {"d": AS_OF},
        ).fetchone()[0]
        exported = conn.execute(
            "SELECT count(*) FROM read_parquet(?)", [metadata["export_parquet"].value]
        ).fetchone()[0]
    assert metadata["etfs_at_new_52w_high"].value == at_high > 0
    assert exported == metadata["etfs"].value
