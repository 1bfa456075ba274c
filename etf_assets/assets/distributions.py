"""Distributions group: every ETF payout (분배금) SEIBro lists, one row per fund and record date.

KRX publishes no distributions; the Korea Securities Depository pays every one, so SEIBro has
them all (docs/seibro.md). Partitions are calendar months of record dates, from October 2002
(the first ETFs listed on 2002-10-14) to next month (`end_offset=1`: payouts are announced
before their record date). Under a single-run backfill policy, a backfill of the whole history
and the daily refresh of the trailing window (previous month … next month) are each one run.

A run fetches its months concurrently under the SEIBro pace, each as its count and then pages
(`SEIBroClient.fetch_window`), and writes every month it fetched in one transaction, replacing
all days of those months: a payout SEIBro withdrew disappears. A month that fails is named in
the failure and left as it was; the months fetched are still written, so a re-run of the
failed months finishes a backfill.

The ex-date is the session before the record date, from our XKRX calendar: NAV and price fall
by the payout on the ex-date, which is where returns add it back. `kind` separates income
(이익분배) from liquidation (청산분배: a delisting fund pays out its whole remaining value, never
income) and other payouts (특별분배 and any other reason, whose text stays in `reason`).
"""

import time
from datetime import date

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets import DISTRIBUTIONS
from etf_assets.assets.utils import (
    announce_warehouse,
    markdown_table,
    partition_dates,
    partition_metadata,
    stored_row_counts,
    table_metadata,
    with_names,
)
from etf_assets.errors import SEIBroError
from etf_assets.parsing.seibro import distributions_frame
from etf_assets.resources.http import fan_out
from etf_assets.resources.seibro import SEIBroClient
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partitions, warehouse

TABLE = "etf_distributions"
SOURCE = "seibro"


def stored_frame(typed: pd.DataFrame) -> pd.DataFrame:
    """Typed SEIBro rows as the table stores them: the ex-date from our calendar, the source."""
    frame = typed.assign(
        ex_date=[partitions.previous_session(d) for d in typed["record_date"]],
        source=SOURCE,
    )
    return frame[list(TABLES[TABLE].column_names)]


def fetch_month(seibro: SEIBroClient, month: date) -> pd.DataFrame:
    """The typed payouts of one month of record dates."""
    days = partitions.month_days(month)
    return distributions_frame(seibro.fetch_window(days[0], days[-1]))


def _newest_payouts(frame: pd.DataFrame, today: date) -> pd.DataFrame:
    """The 10 payouts with the newest record dates up to today, largest first within a day."""
    shown = frame[frame["record_date"] <= today].sort_values(
        ["record_date", "amount_per_share_krw"], ascending=False
    )
    return shown[
        ["record_date", "ex_date", "pay_date", "ticker", "amount_per_share_krw", "kind", "reason"]
    ]


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=DISTRIBUTIONS,
    partitions_def=partitions.month_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=300),
    kinds={"duckdb"},
    description="Every ETF distribution (분배금) SEIBro lists: record, ex and pay dates, KRW per "
    "share, and whether it is income, a liquidation payout or another kind.",
    metadata=table_metadata(TABLE),
)
def etf_distributions(
    context: dg.AssetExecutionContext, seibro: SEIBroClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    months = partition_dates(context)
    started = time.monotonic()
    result = fan_out(
        lambda month: fetch_month(seibro, month),
        months,
        max_workers=seibro.max_workers,
        log=context.log,
        label="etf_distributions months",
    )
    fetched = sorted(result.results)
    frames = [result.results[month] for month in fetched]
    typed = pd.concat(frames, ignore_index=True) if frames else distributions_frame([])
    frame = stored_frame(typed)
    today = partitions.now_kst().date()
    with warehouse(duckdb) as conn:
        replace_partitions(conn, TABLE, fetched, frame)
        row_counts = stored_row_counts(conn, TABLE, fetched)
        newest_payouts = with_names(conn, _newest_payouts(frame, today), on=today)
    if result.failures:
        failed = sorted(result.failures)
        first = result.failures[failed[0]]
        raise dg.Failure(
            description=f"{len(failed)} of {len(months)} months failed ({failed[0]:%Y-%m}…); "
            f"the other {len(fetched)} were written. First error: {first}",
            metadata={"failed_months": dg.MetadataValue.json([f"{m:%Y-%m}" for m in failed])},
            # SEIBro's resets and refusals may pass; a row we cannot parse will not
            allow_retries=all(isinstance(e, SEIBroError) for e in result.failures.values()),
        )
    kinds = frame["kind"].value_counts().to_dict()
    return dg.MaterializeResult(
        metadata={
            **where,
            **partition_metadata(context, row_counts, {}),
            "months": f"{months[0]:%Y-%m}…{months[-1]:%Y-%m} ({len(months)})",
            "funds": int(frame["ticker"].nunique()),
            "by_kind": dg.MetadataValue.json({k: int(kinds.get(k, 0)) for k in sorted(kinds)}),
            "seibro_requests": seibro.request_count,
            "wall_s": round(time.monotonic() - started, 2),
            "newest_payouts": markdown_table(newest_payouts),
        }
    )
