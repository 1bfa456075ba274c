"""Listing group: the raw KRX ETF master and its typed form.

KRX publishes only today's master (MDCSTAT04601 takes no date). A past partition stores that
snapshot filtered to funds listed on or before the date, and says so: funds delisted since then
are missing from it (the historical universe lives in etf_daily_prices).
"""

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets import LISTING
from etf_assets.assets.utils import (
    announce_warehouse,
    counts_table,
    markdown_table,
    partition_dates,
    partition_metadata,
    stored_row_counts,
    table_metadata,
)
from etf_assets.parsing.krx import etf_details_frame, master_raw_frame, parse_krx_date
from etf_assets.partitions import session_partitions
from etf_assets.resources.krx import KRXClient
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partitions, warehouse


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=LISTING,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"duckdb"},
    description="Raw KRX ETF master (MDCSTAT04601): every field as the string KRX sent.",
    metadata=table_metadata("krx_etf_list"),
)
def krx_etf_list(
    context: dg.AssetExecutionContext, krx: KRXClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    fetched_at = partitions.now_kst()
    rows = krx.fetch_etf_master()
    master = master_raw_frame(rows, dates[0], fetched_at.date(), fetched_at.replace(tzinfo=None))
    etf_details_frame(master)  # a master that cannot be typed must not replace a good one
    listing_dates = master["LIST_DD"].map(parse_krx_date)
    frames, notes = [], {}
    for trade_date in dates:
        raw = master.assign(trade_date=trade_date)
        listed = (listing_dates.isna() | (listing_dates <= trade_date)).to_numpy()
        if trade_date < fetched_at.date():
            notes[trade_date] = (
                f"snapshot of {fetched_at.date()} filtered to LIST_DD <= {trade_date}: "
                f"{int((~listed).sum())} later listings dropped; funds delisted since are absent"
            )
        frames.append(raw[listed])
    frame = pd.concat(frames, ignore_index=True)
    with warehouse(duckdb) as conn:
        replace_partitions(conn, "krx_etf_list", dates, frame, notes=notes)
        row_counts = stored_row_counts(conn, "krx_etf_list", dates)
    newest = frames[-1]
    newest_figures = {
        "snapshot_note": notes.get(dates[-1], "today's snapshot"),
        "preview": markdown_table(newest[["ticker", "ISU_ABBRV", "COM_ABBRV", "LIST_DD"]]),
    }
    return dg.MaterializeResult(
        metadata={
            **where,
            **partition_metadata(context, row_counts, {dates[-1]: newest_figures}),
            "etfs_in_master": len(master),
            "snapshot_date": str(fetched_at.date()),
            "krx_requests": krx.request_count,
        }
    )


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=LISTING,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[krx_etf_list],
    kinds={"duckdb"},
    description="Typed static attributes per ETF and session: issuer, index, fee, leverage.",
    metadata=table_metadata("etf_details"),
)
def etf_details(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    with warehouse(duckdb) as conn:
        raw = conn.execute(
            "SELECT * FROM krx_etf_list WHERE trade_date IN (SELECT unnest(?::DATE[]))", [dates]
        ).df()
        if raw.empty:
            raise dg.Failure(f"krx_etf_list has no rows for {dates[0]}…{dates[-1]}: run it first")
        details = etf_details_frame(raw)
        replace_partitions(conn, "etf_details", dates, details)
        row_counts = stored_row_counts(conn, "etf_details", dates)
    newest = details[details["trade_date"] == details["trade_date"].max()]
    newest_figures = {
        "etfs": len(newest),
        "issuers": int(newest["issuer"].nunique()),
        "by_issuer": counts_table(newest, "issuer", "issuer"),
        "by_asset_class": counts_table(newest, "asset_class", "asset class"),
        "leveraged_or_inverse": int((newest["leverage_factor"] != 1).sum()),
        "preview": markdown_table(
            newest[["ticker", "name", "issuer", "asset_class", "expense_ratio_pct"]]
        ),
    }
    return dg.MaterializeResult(
        metadata={**where, **partition_metadata(context, row_counts, {dates[-1]: newest_figures})}
    )
