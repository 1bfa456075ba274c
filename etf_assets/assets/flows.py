"""Flows group: who bought and sold every ETF on every session, by investor group.

KRX publishes investor flows per fund, final after 18:00 KST
(docs/krx.md § MDCSTAT04902 investor flows by day). A run asks only about the funds priced on
its sessions (etf_daily_prices), and only about the sessions each one traded on: a session
without a trade has zero flows by fact and is stored as zeros without a request. Per fund, one
request per traded session (MDCSTAT04901, the session's totals) while that is no more than the
four a range costs (MDCSTAT04902: value and volume, net and bought, each for the whole range in
730-day chunks); so a daily run costs a request per fund, a backfill of any length four. The
funds are fetched concurrently under the KRX rate limiter and written in one transaction.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets import FLOWS
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.utils import (
    announce_warehouse,
    final_sessions_only,
    markdown_table,
    partition_dates,
    partition_metadata,
    stored_row_counts,
    table_metadata,
    with_names,
)
from etf_assets.errors import KRXError, SessionNotFinal
from etf_assets.parsing.krx import (
    INVESTOR_FLOW_COLUMNS,
    INVESTORS,
    investor_flows_from_daily,
    investor_flows_from_totals,
)
from etf_assets.parsing.rules import etf_isin
from etf_assets.partitions import at_kst, session_partitions
from etf_assets.phases import FLOWS_FINAL_AT
from etf_assets.resources.krx import KRXClient
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partitions, warehouse

TABLE = "etf_investor_flows"
# The 04902 answers a range needs: two sides of each measure give the third (sell = buy − net),
# and net as KRX sends it is what the zero-sum check reads.
RANGE_ANSWERS = (("value", "net"), ("value", "buy"), ("volume", "net"), ("volume", "buy"))
FLOW_NUMBERS = [c for c in INVESTOR_FLOW_COLUMNS if c not in ("trade_date", "ticker", "investor")]
FLOW_MONEY_COLUMNS = ("buy_value_krw", "sell_value_krw", "net_value_krw")


@dataclass(frozen=True)
class FundRequests:
    """What a run asks KRX about one fund: the sessions it traded on (volume not 0)."""

    ticker: str
    isin: str
    isin_from_master: bool  # False: derived by KRX's ISIN rule (no master we hold lists it)
    traded: tuple[date, ...]
    idle: tuple[date, ...]  # priced with volume 0: zero flows, nothing to ask

    @property
    def per_session(self) -> bool:
        """One 04901 request per session costs no more than a range's four 04902 requests."""
        return len(self.traded) <= len(RANGE_ANSWERS)


def require_final(dates: Sequence[date], now: datetime) -> None:
    """Raise SessionNotFinal when a session's flows are not final yet (18:00 KST)."""
    newest = max(dates)
    final_from = at_kst(newest, FLOWS_FINAL_AT)
    if now < final_from:
        raise SessionNotFinal(
            f"investor flows of {newest} are not final yet (final at {FLOWS_FINAL_AT:%H:%M} KST)",
            final_from=final_from,
        )


def plan_requests(conn: duckdb.DuckDBPyConnection, dates: Sequence[date]) -> list[FundRequests]:
    """One FundRequests per fund priced on any of `dates`, with its ISIN from the newest master
    that lists it, else derived (a fund delisted before the warehouse began)."""
    rows = conn.execute(
        """
        SELECT p.ticker, m.isin, list(p.trade_date ORDER BY p.trade_date)
                FILTER (WHERE p.volume IS DISTINCT FROM 0),
            list(p.trade_date ORDER BY p.trade_date) FILTER (WHERE p.volume = 0)
        FROM etf_daily_prices AS p
        LEFT JOIN (SELECT ticker, arg_max(isin, trade_date) AS isin FROM etf_details
                   GROUP BY ticker) AS m USING (ticker)
        WHERE p.trade_date IN (SELECT unnest(?::DATE[]))
        GROUP BY p.ticker, m.isin ORDER BY p.ticker""",
        [list(dates)],
    ).fetchall()
    return [
        FundRequests(
            ticker, isin or etf_isin(ticker), bool(isin), tuple(traded or ()), tuple(idle or ())
        )
        for ticker, isin, traded, idle in rows
    ]


def unpriced_sessions(conn: duckdb.DuckDBPyConnection, dates: Sequence[date]) -> list[date]:
    """Sessions of `dates` etf_daily_prices never wrote (an empty closure counts as written)."""
    written = conn.execute(
        "SELECT DISTINCT partition_date FROM etf_partition_log WHERE table_name = "
        "'etf_daily_prices' AND partition_date IN (SELECT unnest(?::DATE[]))",
        [list(dates)],
    ).fetchall()
    return sorted(set(dates) - {row[0] for row in written})


def fetch_fund_flows(krx: KRXClient, fund: FundRequests) -> pd.DataFrame:
    """The fund's flows on its traded sessions, by the cheaper screen (`per_session`)."""
    if fund.per_session:
        frames = [
            investor_flows_from_totals(krx.fetch_investor_totals(fund.isin, d, d), fund.ticker, d)
            for d in fund.traded
        ]
        return pd.concat(frames, ignore_index=True)
    first, last = fund.traded[0], fund.traded[-1]
    answers = {
        (measure, side): krx.fetch_investor_daily(
            fund.isin, first, last, measure=measure, side=side
        )
        for measure, side in RANGE_ANSWERS
    }
    return investor_flows_from_daily(answers, fund.ticker)


def zero_flows(keys: Sequence[tuple[date, str]]) -> pd.DataFrame:
    """Four rows of zeros per (session, ticker): the flows of a fund that did not trade."""
    frame = pd.DataFrame(
        [(d, ticker, investor) for d, ticker in keys for investor in INVESTORS],
        columns=["trade_date", "ticker", "investor"],
    )
    for column in FLOW_NUMBERS:
        frame[column] = pd.Series(0, index=frame.index, dtype="Int64")
    return frame.astype({"ticker": "str", "investor": "str"})


def _fund_sessions(frame: pd.DataFrame) -> set[tuple[date, str]]:
    return set(zip(frame["trade_date"], frame["ticker"], strict=True))


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=FLOWS,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=300),
    deps=[etf_daily_prices],
    kinds={"duckdb"},
    description="Units and KRW each investor group (institutions, other corporations, "
    "individuals, foreigners) bought and sold of every ETF, per session.",
    metadata=table_metadata(TABLE),
)
def etf_investor_flows(
    context: dg.AssetExecutionContext, krx: KRXClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    started = time.monotonic()
    with final_sessions_only():  # before any request
        require_final(dates, partitions.now_kst())
    with warehouse(duckdb) as conn:
        unpriced = unpriced_sessions(conn, dates)
        if unpriced:
            raise dg.Failure(
                f"etf_daily_prices has no partition for {len(unpriced)} of the {len(dates)} "
                f"sessions ({unpriced[0]}…{unpriced[-1]}): materialize it first; its funds and "
                "volumes decide what is asked",
                allow_retries=False,
            )
        funds = plan_requests(conn, dates)
    result = krx.fan_out(
        lambda fund: fetch_fund_flows(krx, fund),
        [fund for fund in funds if fund.traded],
        label="etf_investor_flows funds",
        log=context.log,
    )
    frames = list(result.results.values())
    fetched = pd.concat(frames, ignore_index=True) if frames else zero_flows([])
    in_run = fetched["trade_date"].isin(dates)
    fetched = fetched[in_run]
    answered = _fund_sessions(fetched)
    idle = sorted((d, f.ticker) for f in funds for d in f.idle if (d, f.ticker) not in answered)
    unanswered = sorted(
        (d, f.ticker)
        for f in funds
        if f not in result.failures
        for d in f.traded
        if (d, f.ticker) not in answered
    )
    frame = pd.concat([fetched, zero_flows(idle)], ignore_index=True)
    newest = frame[frame["trade_date"] == max(dates)]
    with warehouse(duckdb) as conn:
        replace_partitions(conn, TABLE, dates, frame)
        row_counts = stored_row_counts(conn, TABLE, dates)
        preview = with_names(
            conn,
            newest.assign(size=newest["net_value_krw"].abs())
            .sort_values("size", ascending=False)
            .drop(columns="size"),
            on=max(dates),
        )
    if result.failures:
        failed = sorted(f.ticker for f in result.failures)
        first = next(iter(result.failures.values()))
        raise dg.Failure(
            description=f"{len(failed)} of {len(funds)} funds failed; the others were written. "
            f"First error: {first}",
            metadata={"failed_tickers": dg.MetadataValue.json(failed[:50])},
            # KRX's transient failures may pass in 5 minutes; an answer we cannot parse will not
            allow_retries=all(isinstance(e, KRXError) for e in result.failures.values()),
        )
    asked = [f for f in funds if f.traded]
    wall_s = time.monotonic() - started
    return dg.MaterializeResult(
        metadata={
            **where,
            **partition_metadata(
                context,
                row_counts,
                {max(dates): {"preview": markdown_table(preview, money=FLOW_MONEY_COLUMNS)}},
            ),
            "sessions": len(dates),
            "funds": len(funds),
            "funds_by_screen": dg.MetadataValue.json(
                {
                    "MDCSTAT04901 (a request per session)": sum(f.per_session for f in asked),
                    "MDCSTAT04902 (four per range)": sum(not f.per_session for f in asked),
                    "none (no trade in the range)": len(funds) - len(asked),
                }
            ),
            "krx_requests": krx.request_count,
            "wall_s": round(wall_s, 2),
            "isins_derived": dg.MetadataValue.json(
                sorted(f.ticker for f in funds if not f.isin_from_master)[:50]
            ),
            "zero_flow_fund_sessions": len(idle),
            "traded_without_flows": len(unanswered),
            "traded_without_flows_sample": dg.MetadataValue.json(
                [f"{d} {ticker}" for d, ticker in unanswered[:20]]
            ),
            "rows_outside_the_run": int((~in_run).sum()),
        }
    )
