"""Classification group: what investors ask of a fund before buying it, from what the
warehouse already holds (no request of its own).

- `etf_classification`: with the 09:00 listing, each listed fund's kind (asset class, region,
  leverage, 합성, 액티브, covered call, target maturity, currency hedge, the name's fund type),
  its tax class for a holder, and whether a 연금저축 or 퇴직연금 (DC/IRP) account may hold it
  and whether it counts against 퇴직연금's 70 % risk-asset limit, each verdict with the rule
  that decided it (metrics/classification.py; docs/assets.md § Pension eligibility and tax
  class).
- `etf_creations`: with the 16:00 prices, each fund's listed-unit change × NAV per session:
  money in (설정) and out (환매), backfilled over any range in one run (metrics/creations.py).

The pictures etf_overview shows of them (the largest net creations and redemptions of the last
sessions, AUM by asset class × pension verdict) are drawn here too.
"""

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from etf_assets import charts
from etf_assets.assets import CLASSIFICATION
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.utils import (
    announce_warehouse,
    counts_table,
    markdown_table,
    partition_dates,
    partition_metadata,
    stored_row_counts,
    table_metadata,
    with_names,
)
from etf_assets.metrics.classification import (
    aum_by_class_and_pension,
    classification_input_sql,
    classify,
)
from etf_assets.metrics.creations import creations_frame, largest_net_creations
from etf_assets.metrics.units import krw_korean, krw_unit
from etf_assets.partitions import session_partitions
from etf_assets.warehouse.write import (
    METRIC_WRITE_BATCH_SESSIONS,
    WAREHOUSE_POOL,
    replace_partitions,
    warehouse,
)

VERDICT_COLUMNS = ("pension_savings_eligible", "retirement_eligible", "retirement_risk_asset")
CREATION_BARS = 10  # inflows, and as many outflows
CREATION_SESSIONS = 5  # the overview's picture of money in and out covers the last 5 sessions
CREATION_MONEY = ("net_creation_krw",)


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=CLASSIFICATION,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        etf_details,
        # The weekly basket in force on a session is among its last five sessions.
        dg.AssetDep(etf_holdings, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-4)),
    ],
    kinds={"duckdb"},
    description="Per fund and session: asset class, leverage, 합성/액티브, tax class, and "
    "whether 연금저축 or 퇴직연금 may hold it (70 % risk-asset limit), each with its rule.",
    metadata=table_metadata("etf_classification"),
)
def etf_classification(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    with warehouse(duckdb) as conn:
        details = conn.execute(classification_input_sql(), {"dates": dates}).df()
        missing = sorted(set(dates) - set(pd.to_datetime(details["trade_date"]).dt.date))
        if missing:
            raise dg.Failure(
                f"etf_details has no rows for {len(missing)} of the {len(dates)} sessions "
                f"(first {missing[0]}): materialize it for them first",
                allow_retries=False,
            )
        frame = classify(details)
        replace_partitions(conn, "etf_classification", dates, frame)
        row_counts = stored_row_counts(conn, "etf_classification", dates)
        newest = frame[frame["trade_date"] == frame["trade_date"].max()]
        excluded = with_names(
            conn,
            newest.loc[~newest["retirement_eligible"].astype(bool), ["ticker", "retirement_rule"]],
            on=dates[-1],
        )
        preview = with_names(
            conn,
            newest[["ticker", "asset_class", "fund_type", "tax_class", *VERDICT_COLUMNS]],
            on=dates[-1],
        )
    newest_figures = {
        "etfs": len(newest),
        "pension_savings_eligible": int(newest["pension_savings_eligible"].astype(bool).sum()),
        "retirement_eligible": int(newest["retirement_eligible"].astype(bool).sum()),
        "retirement_risk_assets": int(newest["retirement_risk_asset"].eq(True).sum()),
        "retirement_safe_assets": int(newest["retirement_risk_asset"].eq(False).sum()),
        "without_basket": int(newest["basket_as_of"].isna().sum()),
        "by_asset_class": counts_table(newest, "asset_class", "asset class"),
        "by_tax_class": counts_table(newest, "tax_class", "tax class"),
        "retirement_excluded": markdown_table(excluded, max_rows=30),
        "preview": markdown_table(preview),
    }
    return dg.MaterializeResult(
        metadata={**where, **partition_metadata(context, row_counts, {dates[-1]: newest_figures})}
    )


def _unpriced(conn: duckdb.DuckDBPyConnection, dates: list[date]) -> list[date]:
    """The dates etf_daily_prices never wrote (a recorded closure, written empty, is written)."""
    logged = {
        r[0]
        for r in conn.execute(
            "SELECT partition_date FROM etf_partition_log WHERE table_name = 'etf_daily_prices' "
            "AND partition_date IN (SELECT unnest(?::DATE[]))",
            [dates],
        ).fetchall()
    }
    return [d for d in dates if d not in logged]


@dg.asset(
    pool=WAREHOUSE_POOL,
    group_name=CLASSIFICATION,
    partitions_def=session_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        etf_details,
        # Each session's change is measured from the previous session's listed units.
        dg.AssetDep(
            etf_daily_prices, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1)
        ),
    ],
    kinds={"duckdb"},
    description="Money in (설정) and out (환매) of every fund per session: listed-unit change "
    "× NAV, in creation units too; no request, any range in one run.",
    metadata=table_metadata("etf_creations"),
)
def etf_creations(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    where = announce_warehouse(context, duckdb)
    dates = partition_dates(context)
    with warehouse(duckdb) as conn:
        unpriced = _unpriced(conn, dates)
        if unpriced:
            raise dg.Failure(
                f"etf_daily_prices was never written for {len(unpriced)} of the {len(dates)} "
                f"sessions (first {unpriced[0]}): materialize it for them first",
                allow_retries=False,
            )
        for start in range(0, len(dates), METRIC_WRITE_BATCH_SESSIONS):
            batch = dates[start : start + METRIC_WRITE_BATCH_SESSIONS]
            frame = creations_frame(conn, batch[0], batch[-1])
            replace_partitions(conn, "etf_creations", batch, frame)
        row_counts = stored_row_counts(conn, "etf_creations", dates)
        newest = frame[pd.to_datetime(frame["trade_date"]).dt.date == dates[-1]]
        ranked = with_names(
            conn,
            largest_net_creations(newest, CREATION_BARS),
            on=dates[-1],
        )
    whole = newest["cu_multiple"].dropna()
    newest_figures = {
        "creations": krw_korean(newest["net_creation_krw"].clip(lower=0).sum()),
        "redemptions": krw_korean(newest["net_creation_krw"].clip(upper=0).sum()),
        "net_creation": krw_korean(newest["net_creation_krw"].sum()),
        "funds_created": int((newest["shares_change"] > 0).sum()),
        "funds_redeemed": int((newest["shares_change"] < 0).sum()),
        "listings": int((newest["event"] == "listing").sum()),
        "delistings": int((newest["event"] == "delisting").sum()),
        "unknown_changes": int(newest["shares_change"].isna().sum()),
        "not_whole_creation_units": int((whole != whole.round()).sum()),
        "largest_net_creations": markdown_table(ranked, max_rows=20, money=CREATION_MONEY),
    }
    return dg.MaterializeResult(
        metadata={**where, **partition_metadata(context, row_counts, {dates[-1]: newest_figures})}
    )


def recent_creations(
    conn: duckdb.DuckDBPyConnection, session: date, sessions: int = CREATION_SESSIONS
) -> tuple[list[date], pd.DataFrame]:
    """The last `sessions` sessions with creations up to `session` and their rows (ticker,
    net_creation_krw); ([], empty) before any."""
    days = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT trade_date FROM etf_creations WHERE trade_date <= ? "
            "ORDER BY trade_date DESC LIMIT ?",
            [session, sessions],
        ).fetchall()
    ]
    frame = conn.execute(
        "SELECT ticker, net_creation_krw FROM etf_creations "
        "WHERE trade_date IN (SELECT unnest(?::DATE[]))",
        [days],
    ).df()
    return sorted(days), frame


def creation_pictures(
    days: list[date], creations: pd.DataFrame, overview: pd.DataFrame, out: Path
) -> dict[str, object]:
    """The largest net creations (설정) and redemptions (환매) summed over `days`: a markdown
    table, a PNG in `out` and an inline chart, labelled with the funds' Korean names."""
    if not days:
        return {"largest_net_creations": "no creations yet (etf_creations)"}
    ranked = largest_net_creations(creations, CREATION_BARS)
    names = overview.set_index("ticker")["name"]
    ranked = ranked.assign(name=ranked["ticker"].map(names).fillna(ranked["ticker"]))
    span = f"{days[0]}…{days[-1]}" if len(days) > 1 else str(days[0])
    title = f"순설정·순환매 상위, 최근 {len(days)}거래일 ({span})"
    unit = krw_unit(ranked["net_creation_krw"])
    png = charts.bar_chart_png(
        list(ranked["name"]),
        list(ranked["net_creation_krw"] / unit.krw),
        title=title,
        value_label=f"순설정액 ({unit.name}, 상장좌수 변화 × NAV)",
    )
    path = out / "largest_net_creations.png"
    path.write_bytes(png)
    return {
        "net_creations_sessions": span,
        "largest_net_creations": markdown_table(
            ranked[["ticker", "name", "net_creation_krw"]],
            max_rows=2 * CREATION_BARS,
            money=CREATION_MONEY,
        ),
        "largest_net_creations_chart": dg.MetadataValue.md(charts.markdown_image(png, title)),
        "chart_largest_net_creations": dg.MetadataValue.path(str(path)),
    }


def pension_pictures(overview: pd.DataFrame, session: date, out: Path) -> dict[str, object]:
    """AUM by asset class × pension verdict: a markdown table, a PNG in `out`, an inline chart."""
    if overview["retirement_eligible"].isna().all():
        return {"aum_by_pension": "no classification yet (etf_classification)"}
    table = aum_by_class_and_pension(overview)
    unit = krw_unit(table["aum_krw"])
    title = f"자산군 × 연금 편입 가능 여부별 순자산총액 ({session})"
    png = charts.bar_chart_png(
        [f"{a} · {p}" for a, p in zip(table["asset_class"], table["pension"], strict=True)],
        list(table["aum_krw"] / unit.krw),
        title=title,
        value_label=f"순자산총액 ({unit.name})",
    )
    path = out / "aum_by_pension.png"
    path.write_bytes(png)
    return {
        "aum_by_pension": markdown_table(table, max_rows=40, money=("aum_krw",)),
        "aum_by_pension_chart": dg.MetadataValue.md(charts.markdown_image(png, title)),
        "chart_aum_by_pension": dg.MetadataValue.path(str(path)),
    }
