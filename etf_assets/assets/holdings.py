"""Holdings group: every ETF's constituents (KRX PDF, MDCSTAT05001) per weekly snapshot.

O(N) per-ETF requests, run concurrently under the KRX rate limiter. Cash, futures and foreign
lines are kept with their `kind`, codes whole, and every number KRX sends for a line (shares
per CU, VALU_AMT, COMPST_AMT, weight), NULL where it sends none. ETFs whose PDF failed fall
back to KIS's component endpoint when KIS is configured and the week is the newest (KIS only
knows today's basket). Failures left after that, up to 5 %, are tolerated and listed in the
metadata; above that the asset fails and writes nothing.
"""

import time
from datetime import date

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets import HOLDINGS
from etf_assets.assets.listing import etf_details
from etf_assets.assets.utils import announce_warehouse, markdown_table, table_metadata, with_names
from etf_assets.parsing.krx import holdings_frame_many, merge_repeated_constituents
from etf_assets.partitions import kis_quote_session, weekly_partitions
from etf_assets.resources.kis import KISClient
from etf_assets.resources.krx import KRXClient
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partition, warehouse

FAILURE_TOLERANCE = 0.05


def _kis_fallback(
    context: dg.AssetExecutionContext, kis: KISClient, tickers: list[str], as_of: date
) -> tuple[pd.DataFrame, str]:
    """KIS components for ETFs whose KRX PDF failed, as etf_holdings rows (no ISIN and no
    amount_krw: KIS has neither)."""
    empty = pd.DataFrame(columns=list(TABLES["etf_holdings"].column_names))
    if not tickers:
        return empty, "not needed"
    if not kis.is_configured:
        return empty, "not configured (KIS_APP_KEY/KIS_APP_SECRET unset)"
    if as_of != kis_quote_session(partitions.now_kst()):
        return empty, f"skipped: KIS only has today's basket, {as_of} is not the newest session"
    results, failures, _ = kis.fetch_many(kis.components, tickers, log_to=context.log)
    frames = [rows for _, rows in results.values() if not rows.empty]
    if not frames:
        return empty, f"KIS answered for none of {len(tickers)} ETFs"
    frame = pd.concat(frames, ignore_index=True).assign(
        as_of_date=as_of, constituent_isin=None, source="kis_components"
    )
    note = f"{len(results)} ETFs from KIS components, {len(failures)} failed there too"
    return frame[list(TABLES["etf_holdings"].column_names)], note


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=HOLDINGS,
    partitions_def=weekly_partitions(),
    deps=[etf_details],
    kinds={"duckdb"},
    description="Constituents per ETF per week (KRX PDF), keyed by the week's last session.",
    metadata=table_metadata("etf_holdings"),
)
def etf_holdings(
    context: dg.AssetExecutionContext, krx: KRXClient, kis: KISClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    as_of = date.fromisoformat(context.partition_key)
    with warehouse(duckdb) as conn:
        universe = conn.execute(
            "SELECT ticker, isin FROM etf_details WHERE trade_date = "
            "(SELECT max(trade_date) FROM etf_details WHERE trade_date <= ?) ORDER BY ticker",
            [as_of],
        ).fetchall()
    if not universe:
        raise dg.Failure(f"etf_details has no rows on or before {as_of}: materialize it first")
    started = time.monotonic()
    result = krx.fan_out(
        lambda item: krx.fetch_pdf(as_of, item[1]),
        universe,
        label="etf_holdings PDFs",
        log=context.log,
    )
    failed = sorted(ticker for ticker, _ in result.failures)
    kis_frame, kis_note = _kis_fallback(context, kis, failed, as_of)
    failed = sorted(set(failed) - set(kis_frame["etf_ticker"]))
    if len(failed) > FAILURE_TOLERANCE * len(universe):
        first = next(iter(result.failures.values()))
        raise dg.Failure(
            f"PDF failed for {len(failed)} of {len(universe)} ETFs (> 5 %); first error: {first}",
            metadata={"failed_tickers": dg.MetadataValue.json(failed[:50])},
        )
    frame = holdings_frame_many(
        {ticker: rows for (ticker, _), rows in sorted(result.results.items())}, as_of
    )
    if not kis_frame.empty:
        frame = pd.concat([frame, kis_frame], ignore_index=True)
    frame = merge_repeated_constituents(frame)
    with warehouse(duckdb) as conn:
        written = replace_partition(conn, "etf_holdings", as_of, frame)
        preview = with_names(
            conn,
            frame[
                [
                    "etf_ticker",
                    "constituent_code",
                    "constituent_name",
                    "kind",
                    "value_krw",
                    "amount_krw",
                    "weight_pct",
                ]
            ],
            on=as_of,
            ticker="etf_ticker",
        )
    wall_s = time.monotonic() - started
    return dg.MaterializeResult(
        metadata={
            **where,
            "dagster/row_count": written,
            "etfs": len(universe),
            "etfs_with_holdings": int(frame["etf_ticker"].nunique()) if written else 0,
            "failed_tickers": dg.MetadataValue.json(failed[:20]),
            "failed_count": len(failed),
            "kis_fallback": kis_note,
            "lines_by_kind": dg.MetadataValue.json(frame["kind"].value_counts().to_dict()),
            "repeated_lines_merged": frame.attrs["merged_lines"],
            "krx_requests": krx.request_count,
            "wall_s": round(wall_s, 2),
            "effective_req_per_s": round(len(universe) / wall_s, 1) if wall_s else None,
            "preview": markdown_table(preview),
        }
    )
