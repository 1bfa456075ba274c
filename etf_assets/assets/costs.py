"""Costs group: what holding each ETF really costs, per KOFIA 전자공시's monthly disclosure.

KRX's master gives the headline fee (총보수, ETF_TOT_FEE); KOFIA discloses every public fund's
month: the fee's breakdown (운용·판매·수탁·사무관리), 기타비용, TER, 매매·중개수수료율 and the
fund type's average (docs/kofia.md). `all_in_cost_pct` (실부담비용) = TER + trading costs.

Partitions are disclosure months (keyed by their first day); the costs phase targets the
newest disclosed one on a month's first sessions (phases.py), and under a single-run backfill
policy any range is one run, one KOFIA request per month. A run matches each month's funds to
the ETFs of the master on (or, without one, nearest after) the month's base date by full name
and issuer (`etf_assets.metrics.costs`), and writes every month it fetched in one transaction.
A month KOFIA has not disclosed yet, or that fails, is named in the failure and left as it
was; the months fetched are still written.
"""

import time
from datetime import date

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import charts, partitions
from etf_assets.assets import COSTS
from etf_assets.assets.listing import etf_details
from etf_assets.assets.utils import (
    announce_warehouse,
    markdown_table,
    partition_dates,
    partition_metadata,
    stored_row_counts,
    table_metadata,
)
from etf_assets.errors import KOFIAError, KOFIANotYetDisclosed
from etf_assets.metrics.costs import (
    MATCH_METHODS,
    all_in_above_headline,
    cheapest_per_index,
    cost_rows,
    match_funds,
)
from etf_assets.parsing.kofia import costs_frame
from etf_assets.resources.http import fan_out
from etf_assets.resources.kofia import KOFIAClient
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import WAREHOUSE_POOL, replace_partitions, warehouse

TABLE = "etf_costs"
LARGEST_FUNDS = 20
CONTESTED_INDICES = 15
_MASTER_COLUMNS = (
    "ticker, name, name_full, issuer, listing_date, tracking_index, leverage_factor, "
    "expense_ratio_pct"
)


def fetch_month(kofia: KOFIAClient, month: date) -> tuple[date, pd.DataFrame]:
    """One month's base date and its typed fund classes."""
    base_date, rows = kofia.fetch_month(month)
    return base_date, costs_frame(rows)


def listed_etfs(conn: duckdb.DuckDBPyConnection, base_date: date) -> tuple[pd.DataFrame, str]:
    """The ETFs listed on `base_date` by the newest master on or before it, else by the
    earliest after it (only funds listed by then); and which master that was."""
    before = conn.execute(
        "SELECT max(trade_date) FROM etf_details WHERE trade_date <= ?", [base_date]
    ).fetchone()[0]
    if before is not None:
        frame = conn.execute(
            f"SELECT {_MASTER_COLUMNS} FROM etf_details WHERE trade_date = ?", [before]
        ).df()
        return frame, f"master of {before}"
    after = conn.execute(
        "SELECT min(trade_date) FROM etf_details WHERE trade_date > ?", [base_date]
    ).fetchone()[0]
    if after is None:
        raise dg.Failure(
            "etf_details holds no master to match KOFIA's funds to: materialize etf_details "
            "first (any session)",
            allow_retries=False,
        )
    frame = conn.execute(
        f"SELECT {_MASTER_COLUMNS} FROM etf_details WHERE trade_date = ? AND listing_date <= ?",
        [after, base_date],
    ).df()
    return frame, f"master of {after}, funds listed by {base_date} (none held on or before it)"


def stored_frame(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[list(TABLES[TABLE].column_names)]


def _newest_aum(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return conn.execute(
        "SELECT ticker, aum_krw FROM etf_aum "
        "QUALIFY row_number() OVER (PARTITION BY ticker ORDER BY trade_date DESC) = 1"
    ).df()


def pictures(rows: pd.DataFrame, listed: pd.DataFrame, aum: pd.DataFrame) -> dict[str, object]:
    """The month's two pictures: all-in cost vs headline fee of the largest funds, and the
    cheapest all-in fund of each index several issuers track."""
    costs = rows.merge(listed, on="ticker", how="left").merge(aum, on="ticker", how="left")
    costs["name"] = costs["name"].str.strip()
    largest = all_in_above_headline(costs, LARGEST_FUNDS)
    cheapest = cheapest_per_index(costs).head(CONTESTED_INDICES)
    figures: dict[str, object] = {
        "all_in_vs_headline_largest": markdown_table(
            largest[
                [
                    "ticker",
                    "name",
                    "aum_krw",
                    "expense_ratio_pct",
                    "ter_pct",
                    "trading_fee_pct",
                    "all_in_cost_pct",
                    "all_in_minus_headline_pct",
                ]
            ],
            max_rows=LARGEST_FUNDS,
            money=("aum_krw",),
        ),
        "cheapest_all_in_per_index": markdown_table(
            cheapest[
                [
                    "index",
                    "issuers",
                    "funds",
                    "ticker",
                    "name",
                    "issuer",
                    "all_in_cost_pct",
                    "expense_ratio_pct",
                ]
            ],
            max_rows=CONTESTED_INDICES,
        ),
    }
    if len(largest):
        png = charts.paired_bar_chart_png(
            [f"{n} ({t})" for n, t in zip(largest["name"], largest["ticker"], strict=True)],
            largest["all_in_cost_pct"].tolist(),
            largest["expense_ratio_pct"].tolist(),
            names=("실부담비용 (TER + 매매·중개)", "총보수 (KRX)"),
            title=f"순자산 상위 {len(largest)}개 ETF: 실부담비용과 총보수",
            value_label="연 %",
        )
        figures["all_in_vs_headline_chart"] = dg.MetadataValue.md(
            charts.markdown_image(png, "all-in cost vs headline fee")
        )
    if len(cheapest):
        png = charts.bar_chart_png(
            [f"{i} · {n}" for i, n in zip(cheapest["index"], cheapest["name"], strict=True)],
            cheapest["all_in_cost_pct"].tolist(),
            title="여러 운용사가 추종하는 지수별 실부담비용 최저 ETF",
            value_label="실부담비용 (연 %)",
        )
        figures["cheapest_all_in_chart"] = dg.MetadataValue.md(
            charts.markdown_image(png, "cheapest all-in cost per index")
        )
    return figures


def month_figures(
    month: date, base_date: date, rows: pd.DataFrame, listed: pd.DataFrame, unmatched: pd.DataFrame,
    master: str,
) -> dict[str, object]:  # fmt: skip
    """What a person checks on a month: coverage, how funds were matched, who was not."""
    methods = rows["match_method"].value_counts()
    coverage = 100 * len(rows) / len(listed) if len(listed) else 0.0
    return {
        "kofia_base_date": base_date.isoformat(),
        "matched_against": master,
        "listed_etfs": len(listed),
        "coverage_pct": round(coverage, 2),
        "by_match_method": dg.MetadataValue.json(
            {m: int(methods.get(m, 0)) for m in MATCH_METHODS}
        ),
        "unmatched_count": len(unmatched),
        "unmatched": markdown_table(
            unmatched.assign(closest_kofia_funds=unmatched["closest_kofia_funds"].map("; ".join))[
                ["ticker", "name", "issuer", "closest_kofia_funds"]
            ],
            max_rows=30,
        ),
        "median_all_in_cost_pct": round(float(rows["all_in_cost_pct"].median()), 4)
        if rows["all_in_cost_pct"].notna().any()
        else None,
        "funds_without_ter": int(rows["ter_pct"].isna().sum()),
    }


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=COSTS,
    partitions_def=partitions.month_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=600),
    deps=[etf_details],
    kinds={"duckdb"},
    description="What holding each ETF costs per KOFIA's monthly disclosure: 보수 breakdown, "
    "기타비용, TER, 매매·중개수수료율 and 실부담비용 (TER + trading costs), matched to tickers.",
    metadata=table_metadata(TABLE),
)
def etf_costs(
    context: dg.AssetExecutionContext, kofia: KOFIAClient, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    months = partition_dates(context)
    started = time.monotonic()
    result = fan_out(
        lambda month: fetch_month(kofia, month),
        months,
        max_workers=kofia.max_workers,
        log=context.log,
        label="etf_costs months",
    )
    fetched = sorted(result.results)
    frames: list[pd.DataFrame] = []
    figures: dict[date, dict[str, object]] = {}
    with warehouse(duckdb) as conn:
        for month in fetched:
            base_date, funds = result.results[month]
            listed, master = listed_etfs(conn, base_date)
            matching = match_funds(funds, listed)
            rows = stored_frame(cost_rows(month, base_date, funds, matching.matched))
            frames.append(rows)
            figures[month] = month_figures(
                month, base_date, rows, listed, matching.unmatched, master
            )
        if fetched:
            figures[fetched[-1]] |= pictures(frames[-1], listed, _newest_aum(conn))
        frame = pd.concat(frames, ignore_index=True) if frames else stored_frame(pd.DataFrame(
            columns=list(TABLES[TABLE].column_names)))  # fmt: skip
        replace_partitions(conn, TABLE, fetched, frame)
        row_counts = stored_row_counts(conn, TABLE, fetched)
    if result.failures:
        failed = sorted(result.failures)
        first = result.failures[failed[0]]
        raise dg.Failure(
            description=f"{len(failed)} of {len(months)} months failed ({failed[0]:%Y-%m}…); "
            f"the other {len(fetched)} were written. First error: {first}",
            metadata={"failed_months": dg.MetadataValue.json([f"{m:%Y-%m}" for m in failed])},
            # KOFIA's resets and cut-short answers may pass; an undisclosed month will not soon
            allow_retries=all(
                isinstance(e, KOFIAError) and not isinstance(e, KOFIANotYetDisclosed)
                for e in result.failures.values()
            ),
        )
    return dg.MaterializeResult(
        metadata={
            **where,
            **partition_metadata(context, row_counts, figures),
            "months": f"{months[0]:%Y-%m}…{months[-1]:%Y-%m} ({len(months)})",
            "kofia_requests": kofia.request_count,
            "wall_s": round(time.monotonic() - started, 2),
        }
    )
