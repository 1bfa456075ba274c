"""The exposure group on the sandbox's week AS_OF, with its checks, in one run: every fund with
a basket sums to 100 % in each dimension, KODEX 200 and TIGER 200 overlap above 90 %, a
stock's holders and ETF ownership equal a recomputation from holdings and listed shares, the
overview shows each fund's top sectors and countries, and the week is charted."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from etf_assets.assets.exposure import (
    etf_exposure,
    etf_overlap,
    etf_stock_holders,
    stock_sectors,
    stock_shares,
)
from etf_assets.metrics.exposure import bucket_label, most_similar, ownership_per_stock
from etf_assets.metrics.overview import overview_sql
from etf_assets_tests.helpers import AS_OF, copy_warehouse, materialize_with_checks, resources
from etf_sandbox.server import Sandbox

ASSETS = [stock_sectors, stock_shares, etf_exposure, etf_overlap, etf_stock_holders]


@pytest.fixture(scope="module")
def exposure_run(
    sandbox: Sandbox, warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dg.ExecuteInProcessResult, Path]:
    """A copy of the shared warehouse with the five assets and their checks run for AS_OF."""
    db = copy_warehouse(warehouse_path, tmp_path_factory.mktemp("exposure"))
    result = materialize_with_checks(ASSETS, resources(sandbox, db), AS_OF.isoformat())
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    failed = [
        e.asset_check_evaluation_data.check_name
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.asset_check_evaluation_data.passed
        and e.asset_check_evaluation_data.check_name != "fresh_in_sessions"
    ]
    assert failed == []
    return result, db


@pytest.fixture(scope="module")
def exposure_db(
    exposure_run: tuple[dg.ExecuteInProcessResult, Path],
) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(exposure_run[1]), read_only=True) as conn:
        yield conn


def test_every_fund_with_a_basket_sums_to_100_in_each_dimension(
    exposure_db: duckdb.DuckDBPyConnection,
) -> None:
    funds, dims, worst = exposure_db.execute(
        "SELECT count(DISTINCT ticker), count(DISTINCT (ticker, dimension)), "
        "max(abs(total - 100)) FROM (SELECT ticker, dimension, sum(weight_pct) AS total "
        "FROM etf_exposure WHERE as_of_date = ? GROUP BY ALL)",
        [AS_OF],
    ).fetchone()
    with_basket = exposure_db.execute(
        "SELECT count(DISTINCT etf_ticker) FROM etf_holdings WHERE as_of_date = ?", [AS_OF]
    ).fetchone()[0]
    assert funds == with_basket and dims == 3 * funds and worst < 1e-9


def test_kodex_200_and_tiger_200_overlap_above_90(exposure_db: duckdb.DuckDBPyConnection) -> None:
    stored = exposure_db.execute(
        "SELECT overlap_pct FROM etf_overlap WHERE as_of_date = ? AND ticker_a = '069500' "
        "AND ticker_b = '102110'",
        [AS_OF],
    ).fetchone()[0]
    either_way = exposure_db.execute(
        "SELECT etf_overlap_of('102110', '069500', ?), etf_overlap_of('069500', '069500', ?)",
        [AS_OF, AS_OF],
    ).fetchone()
    assert stored > 90
    assert either_way == pytest.approx((stored, 100.0))


def test_holders_and_ownership_equal_a_recomputation(
    exposure_db: duckdb.DuckDBPyConnection,
) -> None:
    """삼성전자: every fund's shares = shares per CU × listed units ÷ CU units, and its ETF
    ownership = their sum ÷ its listed shares, straight from the stored tables."""
    expected = exposure_db.execute(
        """
SELECT h.etf_ticker, h.shares_per_cu * p.listed_shares / d.cu_shares AS shares
FROM etf_holdings AS h
JOIN etf_daily_prices AS p ON p.ticker = h.etf_ticker AND p.trade_date = h.as_of_date
JOIN etf_details AS d ON d.ticker = h.etf_ticker AND d.trade_date = h.as_of_date
WHERE h.as_of_date = ? AND h.constituent_code = '005930' ORDER BY 1""",
        [AS_OF],
    ).fetchall()
    stored = exposure_db.execute(
        "SELECT etf_ticker, shares, etf_owned_pct, stock_name FROM etf_stock_holders "
        "WHERE as_of_date = ? AND stock_code = '005930' ORDER BY 1",
        [AS_OF],
    ).fetchall()
    listed = exposure_db.execute(
        "SELECT listed_shares FROM stock_shares WHERE trade_date = ? AND stock_code = '005930'",
        [AS_OF],
    ).fetchone()[0]
    assert [(t, pytest.approx(s)) for t, s in expected] == [(t, s) for t, s, _, _ in stored]
    owned = sum(s for _, s in expected if s > 0) / listed * 100
    assert {round(o, 9) for _, _, o, _ in stored} == {round(owned, 9)}
    assert {n for *_, n in stored} == {"삼성전자"}


def test_overlap_pairs_are_stored_both_ways_above_the_threshold(
    exposure_db: duckdb.DuckDBPyConnection,
) -> None:
    rows, low, one_way = exposure_db.execute(
        "SELECT count(*), min(overlap_pct), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM "
        "etf_overlap b WHERE b.as_of_date = a.as_of_date AND b.ticker_a = a.ticker_b AND "
        "b.ticker_b = a.ticker_a)) FROM etf_overlap a WHERE as_of_date = ?",
        [AS_OF],
    ).fetchone()
    assert rows > 0 and rows % 2 == 0 and low >= 10 and one_way == 0


def test_the_overview_shows_each_funds_top_three_sectors_and_countries(
    exposure_db: duckdb.DuckDBPyConnection,
) -> None:
    """top_sectors and top_countries are the three largest buckets of etf_exposure, recomputed
    here in pandas (every sandbox fund has a basket); a snapshot before the week has none."""
    rows = exposure_db.execute("SELECT * FROM etf_exposure WHERE as_of_date = ?", [AS_OF]).df()
    ranked = rows.sort_values(["ticker", "dimension", "weight_pct", "bucket"],
                              ascending=[True, True, False, True])  # fmt: skip
    expected = (
        ranked.groupby(["ticker", "dimension"])
        .head(3)
        .assign(text=lambda f: f["bucket"] + " " + f["weight_pct"].map("{:.1f}%".format))
        .groupby(["ticker", "dimension"])["text"]
        .agg(", ".join)
        .unstack()
    )
    overview = exposure_db.execute(
        "SELECT ticker, top_sectors, top_countries, exposure_as_of FROM etf_overview"
    ).df().set_index("ticker")  # fmt: skip
    assert sorted(overview.index) == sorted(expected.index)
    shown = overview.loc[expected.index]
    assert (shown["top_sectors"] == expected["sector"]).all()
    assert (shown["top_countries"] == expected["country"]).all()
    assert (shown["exposure_as_of"].dt.date == AS_OF).all()
    assert overview.loc["069500", "top_sectors"].startswith("전기전자 ")
    before = exposure_db.execute(overview_sql(AS_OF - timedelta(days=1))).df()
    assert before["exposure_as_of"].isna().all() and before["top_sectors"].isna().all()


def test_the_newest_week_is_charted_with_the_largest_fund_named(
    exposure_run: tuple[dg.ExecuteInProcessResult, Path], exposure_db: duckdb.DuckDBPyConnection
) -> None:
    result, _ = exposure_run
    meta = {
        asset.key.path[-1]: result.asset_materializations_for_node(asset.key.path[-1])[-1].metadata
        for asset in (etf_exposure, etf_overlap, etf_stock_holders)
    }
    ticker, name = exposure_db.execute(
        "SELECT a.ticker, trim(d.name) FROM etf_aum AS a JOIN etf_details AS d "
        "USING (trade_date, ticker) WHERE a.trade_date = $d AND a.ticker IN "
        "(SELECT etf_ticker FROM etf_holdings WHERE as_of_date = $d) "
        "ORDER BY a.aum_krw DESC LIMIT 1",
        {"d": AS_OF},
    ).fetchone()
    png = "(data:image/png;base64,iVBORw0KGgo"  # the PNG signature, base64
    fund = f"{name} ({ticker})"
    assert meta["etf_exposure"]["charted_fund"].value == fund
    assert meta["etf_overlap"]["charted_fund"].value == fund  # the largest fund has pairs
    for asset, key, title in (
        ("etf_exposure", "largest_fund_sector_chart", f"{fund} 업종별 비중 ({AS_OF})"),
        ("etf_exposure", "largest_fund_country_chart", f"{fund} 국가별 비중 ({AS_OF})"),
        (
            "etf_overlap",
            "most_similar_to_largest_chart",
            f"{fund}: 구성이 가장 비슷한 ETF ({AS_OF})",
        ),
        ("etf_stock_holders", "most_etf_owned_chart", f"ETF 보유 비율 상위 종목 ({AS_OF})"),
    ):
        assert meta[asset][key].value.startswith(f"![{title}]{png}"), key
    closest, closest_name = exposure_db.execute(
        "SELECT o.ticker_b, trim(d.name) FROM etf_overlap AS o JOIN etf_details AS d "
        "ON d.ticker = o.ticker_b AND d.trade_date = o.as_of_date "
        "WHERE o.as_of_date = ? AND o.ticker_a = ? ORDER BY o.overlap_pct DESC LIMIT 1",
        [AS_OF, ticker],
    ).fetchone()
    table = meta["etf_overlap"]["most_similar_to_largest"].value
    assert table.splitlines()[2].startswith(f"| {ticker} | {closest} | {closest_name} | ")


def test_chart_helpers_order_and_label_buckets() -> None:
    assert [bucket_label("country", b) for b in ("US", "KR", "ZZ", "unknown")] == [
        "미국 (US)", "한국 (KR)", "ZZ", "미상",
    ]  # fmt: skip
    assert [bucket_label("sector", b) for b in ("전기전자", "future", "unknown")] == [
        "전기전자", "선물", "미상",
    ]  # fmt: skip
    holders = pd.DataFrame({
        "stock_code": ["A", "A", "B", "C"], "stock_name": ["에이", "에이", "비", "씨"],
        "etf_ticker": ["1", "2", "1", "1"], "value_krw": [1e9, 2e9, np.nan, 5e8],
        "etf_owned_pct": [3.0, 3.0, np.nan, 9.0],
    })  # fmt: skip
    per_stock = ownership_per_stock(holders)
    assert list(per_stock["stock_code"]) == ["C", "A", "B"]  # NULL ownership last
    assert per_stock["etfs"].tolist() == [1, 2, 1]
    assert per_stock["value_krw"].tolist()[:2] == [5e8, 3e9] and pd.isna(per_stock["value_krw"][2])
    overlap = pd.DataFrame({
        "ticker_a": ["X", "X", "X", "Y"], "ticker_b": ["B", "A", "C", "X"],
        "overlap_pct": [50.0, 50.0, 80.0, 80.0],
    })  # fmt: skip
    assert most_similar(overlap, "X", 2)["ticker_b"].tolist() == ["C", "A"]
