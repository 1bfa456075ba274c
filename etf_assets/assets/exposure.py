"""Exposure group: what the weekly baskets add up to (docs/assets.md § Exposure).

stock_sectors and stock_shares fetch KRX's two stock screens, one request per market (KOSPI,
KOSDAQ) per week; etf_exposure, etf_overlap and etf_stock_holders are SQL over etf_holdings and
them (`etf_assets.metrics.exposure`), one statement per week. All keyed by the week's last
session, like etf_holdings, and run in the tracking phase after it.

The newest week of a run is charted: the largest fund's split by sector and by country, the
funds most similar to it, and the most ETF-owned stocks (inline PNGs, Korean labels).
"""

import time
from collections.abc import Callable
from datetime import date

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import charts
from etf_assets.assets import EXPOSURE
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.utils import (
    announce_warehouse,
    markdown_table,
    partition_dates,
    partition_metadata,
    table_metadata,
    with_names,
)
from etf_assets.metrics.exposure import (
    OVERLAP_MIN_PCT,
    bucket_label,
    exposure_sql,
    most_similar,
    overlap_sql,
    ownership_per_stock,
    stock_holders_sql,
)
from etf_assets.parsing.stocks import stock_sectors_frame, stock_shares_frame
from etf_assets.partitions import weekly_partitions
from etf_assets.resources.krx import STOCK_MARKETS, KRXClient, Rows, fatal_fails_run
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partition, warehouse

NO_STOCKS_NOTE = "KRX answered no stock with a price for {day} (a closure?)"
CHART_BARS = 15
Figures = Callable[[duckdb.DuckDBPyConnection, pd.DataFrame, date], dict[str, object]]


def _stock_reference(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    table: str,
    fetch: Callable[[date, str], Rows],
    parse: Callable[[Rows, date, str], pd.DataFrame],
) -> dg.MaterializeResult:
    """Fetch one stock screen per market and week, parse, write each week in one transaction."""
    where = announce_warehouse(context, duckdb)
    counts: dict[date, int] = {}
    figures: dict[date, dict[str, object]] = {}
    for day in partition_dates(context):
        with fatal_fails_run():
            frames = [parse(fetch(day, market), day, market) for market in STOCK_MARKETS]
        frame = pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
        note = None if len(frame) else NO_STOCKS_NOTE.format(day=day)
        with warehouse(duckdb) as conn:
            counts[day] = replace_partition(conn, table, day, frame, note=note)
        figures[day] = {
            "stocks_by_market": dg.MetadataValue.json(
                {m: len(f) for m, f in zip(STOCK_MARKETS, frames, strict=True)}
            ),
            "note": note or "",
            "preview": markdown_table(frame.drop(columns="trade_date"), max_rows=5),
        }
    return dg.MaterializeResult(metadata={**where, **partition_metadata(context, counts, figures)})


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=EXPOSURE,
    partitions_def=weekly_partitions(),
    kinds={"duckdb"},
    description="Every KOSPI and KOSDAQ stock's KRX industry (업종분류 현황, MDCSTAT03901), "
    "per week.",
    metadata=table_metadata("stock_sectors"),
)
def stock_sectors(
    context: dg.AssetExecutionContext, krx: KRXClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    return _stock_reference(
        context, duckdb, "stock_sectors", krx.fetch_stock_sectors, stock_sectors_frame
    )


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=EXPOSURE,
    partitions_def=weekly_partitions(),
    kinds={"duckdb"},
    description="Every KOSPI and KOSDAQ stock's listed shares, close and market cap (전종목 "
    "시세, MDCSTAT01501), per week.",
    metadata=table_metadata("stock_shares"),
)
def stock_shares(
    context: dg.AssetExecutionContext, krx: KRXClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    return _stock_reference(
        context,
        duckdb,
        "stock_shares",
        krx.fetch_stock_prices,
        lambda rows, day, _market: stock_shares_frame(rows, day),
    )


def _derive(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    table: str,
    sql: str,
    figures_of: Figures,
    pictures_of: Figures,
) -> dg.MaterializeResult:
    """Run `sql` for each week of the run, write it, describe it with `figures_of` and chart
    its newest week with `pictures_of` (charts of every week of a backfill would cost
    seconds for pictures nobody opens)."""
    where = announce_warehouse(context, duckdb)
    counts: dict[date, int] = {}
    figures: dict[date, dict[str, object]] = {}
    columns = list(TABLES[table].column_names)
    days = partition_dates(context)
    for day in days:
        with warehouse(duckdb) as conn:
            started = time.monotonic()
            frame = conn.execute(sql, {"as_of": day}).df()[columns]
            query_s = time.monotonic() - started
            note = None if len(frame) else f"etf_holdings has no valued basket line on {day}"
            counts[day] = replace_partition(conn, table, day, frame, note=note)
            figures[day] = {"query_s": round(query_s, 2), **figures_of(conn, frame, day)}
            if day == days[-1] and len(frame):
                figures[day] |= pictures_of(conn, frame, day)
    return dg.MaterializeResult(metadata={**where, **partition_metadata(context, counts, figures)})


def _largest_fund(
    conn: duckdb.DuckDBPyConnection, tickers: pd.Series, day: date
) -> tuple[str, str] | None:
    """Ticker and name of the largest of `tickers` by AUM on the newest etf_aum session up to
    `day`; None when none of them has an AUM there."""
    largest = conn.execute(
        "SELECT ticker FROM etf_aum WHERE trade_date = (SELECT max(trade_date) FROM etf_aum "
        "WHERE trade_date <= ?) AND ticker IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY aum_krw DESC NULLS LAST, ticker LIMIT 1",
        [day, tickers.dropna().unique().tolist()],
    ).fetchone()
    if largest is None:
        return None
    name = with_names(conn, pd.DataFrame({"ticker": [largest[0]]}), on=day)["name"].iloc[0]
    return largest[0], name if pd.notna(name) else largest[0]


def _chart(
    labels: list[str], values: list[float], title: str, value_label: str
) -> dg.MetadataValue:
    png = charts.bar_chart_png(labels, values, title=title, value_label=value_label)
    return dg.MetadataValue.md(charts.markdown_image(png, title))


def _exposure_pictures(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, day: date
) -> dict[str, object]:
    """The largest fund's basket by sector and by country, its largest buckets on top."""
    largest = _largest_fund(conn, frame["ticker"], day)
    if largest is None:
        return {}
    ticker, name = largest
    pictures: dict[str, object] = {"charted_fund": f"{name} ({ticker})"}
    for dimension, label in (("sector", "업종"), ("country", "국가")):
        rows = frame[(frame["ticker"] == ticker) & (frame["dimension"] == dimension)]
        rows = rows.nlargest(CHART_BARS, "weight_pct")
        pictures[f"largest_fund_{dimension}_chart"] = _chart(
            [bucket_label(dimension, b) for b in rows["bucket"]],
            rows["weight_pct"].tolist(),
            f"{name} ({ticker}) {label}별 비중 ({day})",
            "비중 (바스켓 총액 대비 %)",
        )
    return pictures


def _exposure_figures(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, day: date
) -> dict[str, object]:
    funds = conn.execute(
        "SELECT count(DISTINCT etf_ticker) FROM etf_holdings WHERE as_of_date = ?", [day]
    ).fetchone()[0]
    largest = _largest_fund(conn, frame["ticker"], day)
    shown = frame[frame["ticker"] == largest[0]] if largest else frame.head(0)
    return {
        "funds_with_holdings": funds,
        "funds_with_exposure": int(frame["ticker"].nunique()),
        "unknown_weight_pct_mean": round(
            float(frame.loc[frame["bucket"] == "unknown", "weight_pct"].sum())
            / max(frame["ticker"].nunique(), 1),
            2,
        ),
        "largest_fund": markdown_table(
            with_names(conn, shown.drop(columns="as_of_date"), on=day),
            max_rows=30,
            money=("value_krw",),
        ),
    }


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=EXPOSURE,
    partitions_def=weekly_partitions(),
    deps=[etf_holdings, stock_sectors],
    kinds={"duckdb"},
    description="Per fund and week, its basket by asset kind, sector and country; each "
    "dimension sums to 100 %.",
    metadata=table_metadata("etf_exposure"),
)
def etf_exposure(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    return _derive(
        context, duckdb, "etf_exposure", exposure_sql(), _exposure_figures, _exposure_pictures
    )


def _overlap_figures(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, day: date
) -> dict[str, object]:
    top = frame[frame["ticker_a"] < frame["ticker_b"]].nlargest(10, "overlap_pct")
    named = with_names(conn, top.drop(columns="as_of_date"), on=day, ticker="ticker_a")
    named = with_names(
        conn, named.rename(columns={"name": "name_a"}), on=day, ticker="ticker_b"
    ).rename(columns={"name": "name_b"})
    return {
        "pairs": len(frame) // 2,
        "min_overlap_pct": OVERLAP_MIN_PCT,
        "most_similar_pairs": markdown_table(named),
    }


def _overlap_pictures(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, day: date
) -> dict[str, object]:
    """The funds whose baskets overlap the largest fund's most (of the funds with a pair)."""
    largest = _largest_fund(conn, frame["ticker_a"], day)
    if largest is None:
        return {}
    ticker, name = largest
    similar = with_names(
        conn, most_similar(frame, ticker, CHART_BARS).drop(columns="as_of_date"), on=day,
        ticker="ticker_b",
    )  # fmt: skip
    return {
        "charted_fund": f"{name} ({ticker})",
        "most_similar_to_largest": markdown_table(similar, max_rows=CHART_BARS),
        "most_similar_to_largest_chart": _chart(
            [f"{n} ({t})" for n, t in zip(similar["name"], similar["ticker_b"], strict=True)],
            similar["overlap_pct"].tolist(),
            f"{name} ({ticker}): 구성이 가장 비슷한 ETF ({day})",
            "중복도 (%, 공통 보유종목의 작은 비중 합)",
        ),
    }


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=EXPOSURE,
    partitions_def=weekly_partitions(),
    deps=[etf_holdings],
    kinds={"duckdb"},
    description="Per week, every pair of funds whose baskets overlap by at least 10 % (both "
    "orders); any pair: SELECT etf_overlap_of(a, b, as_of).",
    metadata=table_metadata("etf_overlap"),
)
def etf_overlap(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    return _derive(
        context, duckdb, "etf_overlap", overlap_sql(), _overlap_figures, _overlap_pictures
    )


def _holder_figures(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, day: date
) -> dict[str, object]:
    per_stock = ownership_per_stock(frame)
    return {
        "stocks": len(per_stock),
        "most_etf_owned": markdown_table(per_stock, money=("value_krw",)),
    }


def _holder_pictures(
    conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame, day: date
) -> dict[str, object]:
    """The stocks whose listed shares ETFs own the largest part of."""
    top = ownership_per_stock(frame).dropna(subset=["etf_owned_pct"]).head(CHART_BARS)
    if top.empty:
        return {}
    return {
        "most_etf_owned_chart": _chart(
            [f"{n} ({c})" for n, c in zip(top["stock_name"], top["stock_code"], strict=True)],
            top["etf_owned_pct"].tolist(),
            f"ETF 보유 비율 상위 종목 ({day})",
            "ETF 보유 비율 (상장주식수 대비 %)",
        )
    }


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=EXPOSURE,
    partitions_def=weekly_partitions(),
    deps=[etf_holdings, stock_shares, stock_sectors],
    kinds={"duckdb"},
    description="Per stock and week, every ETF holding it (shares, weight, KRW value) and the "
    "share of the stock all ETFs own (etf_owned_pct).",
    metadata=table_metadata("etf_stock_holders"),
)
def etf_stock_holders(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    return _derive(
        context, duckdb, "etf_stock_holders", stock_holders_sql(), _holder_figures,
        _holder_pictures,
    )  # fmt: skip
