"""Asset checks: the monitoring. Rules live in `rules.py`; this module wires them to assets.

Per table: completeness and key uniqueness (blocking, ERROR: a bad partition fails the run, so
`dagster asset materialize` exits non-zero), column coverage and value ranges (WARN), freshness
in sessions (ERROR, weekends and holidays never alarm), and the cross-source comparisons (WARN).

Checks read the partitions to check from the run: in a materialization run, exactly the
partitions it wrote (one key or a single-run range); in the checks-only `monitoring` job, the
newest partition written. (Dagster's partitioned checks are still a preview feature.)
"""

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.metrics import etf_52w, etf_aum, etf_tracking_error
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.reports import etf_overview
from etf_assets.checks import rules
from etf_assets.resources.storage import warehouse

if TYPE_CHECKING:
    import pandas as pd

Rule = Callable[..., rules.RuleOutcome]
TABLE_ASSETS: dict[str, dg.AssetsDefinition] = {
    "krx_etf_list": krx_etf_list,
    "etf_details": etf_details,
    "etf_daily_prices": etf_daily_prices,
    "etf_holdings": etf_holdings,
    "etf_aum": etf_aum,
    "etf_52w": etf_52w,
    "etf_tracking_error": etf_tracking_error,
    "etf_overview_snapshot": etf_overview,
}
TABLE_RULES: tuple[tuple[str, Rule, dg.AssetCheckSeverity, bool], ...] = (
    ("complete", rules.completeness, dg.AssetCheckSeverity.ERROR, True),
    ("unique_keys", rules.uniqueness, dg.AssetCheckSeverity.ERROR, True),
    ("coverage", rules.coverage, dg.AssetCheckSeverity.WARN, False),
    ("ranges", rules.ranges, dg.AssetCheckSeverity.WARN, False),
)
AUM_TOLERANCE_PCT = 1.0
# KIS publishes net assets in whole 억원 (etf_ntas_ttam), so a smaller gap is its rounding.
KIS_NET_ASSETS_RESOLUTION_KRW = 100_000_000
# KRX's 추적오차율 and ours differ in window and annualisation details; half a point of
# annual tracking error is well above that noise and well below a real tracking problem.
TRACKING_TOLERANCE_PCTPT = 0.5


def _result(
    outcome: rules.RuleOutcome,
    severity: dg.AssetCheckSeverity,
    dates: Sequence[date] = (),
) -> dg.AssetCheckResult:
    metadata = {
        key: dg.MetadataValue.json(value) if isinstance(value, (dict, list)) else value
        for key, value in outcome.metadata.items()
    }
    if dates:
        metadata["checked_partitions"] = f"{dates[0]}…{dates[-1]} ({len(dates)})"
    return dg.AssetCheckResult(
        passed=outcome.passed, severity=severity, description=outcome.description, metadata=metadata
    )


def checked_dates(
    context: dg.AssetCheckExecutionContext, conn: duckdb.DuckDBPyConnection, table: str
) -> list[date]:
    """The run's partitions of `table`, or the newest one written when the run has none."""
    tags = context.run.tags
    partitions_def = TABLE_ASSETS[table].partitions_def
    assert partitions_def is not None
    if "dagster/partition" in tags:
        return [date.fromisoformat(tags["dagster/partition"])]
    if "dagster/asset_partition_range_start" in tags:
        keys = partitions_def.get_partition_keys_in_range(
            dg.PartitionKeyRange(
                tags["dagster/asset_partition_range_start"],
                tags["dagster/asset_partition_range_end"],
            )
        )
        return [date.fromisoformat(key) for key in keys]
    newest = conn.execute(
        "SELECT max(partition_date) FROM etf_partition_log WHERE table_name = ?", [table]
    ).fetchone()[0]
    return [newest] if newest else []


def table_check(
    table: str, name: str, rule: Rule, severity: dg.AssetCheckSeverity, blocking: bool
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=TABLE_ASSETS[table],
        name=name,
        blocking=blocking,
        description=(rule.__doc__ or name).strip().splitlines()[0],
    )
    def _check(
        context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
    ) -> dg.AssetCheckResult:
        with warehouse(duckdb) as conn:
            dates = checked_dates(context, conn, table)
            if not dates:
                return dg.AssetCheckResult(
                    passed=False, severity=severity, description=f"{table} was never written"
                )
            outcome = rule(conn, table, dates)
        return _result(outcome, severity, dates)

    return _check


def freshness_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=TABLE_ASSETS[table],
        name="fresh_in_sessions",
        description="Newest partition is the newest session due by now (phase hour, KST); "
        "weekends, holidays and recorded closures never alarm.",
    )
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with warehouse(duckdb) as conn:
            outcome = rules.freshness(conn, table, partitions.now_kst())
        return _result(outcome, dg.AssetCheckSeverity.ERROR)

    return _check


def _rows_of_run(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, table: str, sql: str
) -> "pd.DataFrame":
    """`sql` (with one `?` for the partition dates) over the partitions this run checks."""
    with warehouse(duckdb) as conn:
        return conn.execute(sql, [checked_dates(context, conn, table)]).df()


@dg.asset_check(
    asset=etf_aum,
    name="krx_kis_net_assets_agree",
    description=f"KRX and KIS net assets agree within {AUM_TOLERANCE_PCT} % (or KIS's 1억 "
    "unit) where both exist.",
)
def krx_kis_net_assets_agree(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    from etf_assets.metrics.aum import relative_gap_pct

    frame = _rows_of_run(
        context,
        duckdb,
        "etf_aum",
        "SELECT ticker, aum_krw, aum_krw_kis FROM etf_aum WHERE trade_date IN "
        "(SELECT unnest(?::DATE[])) AND aum_source = 'krx_net_assets' AND aum_krw_kis IS NOT NULL",
    )
    frame["gap_pct"] = relative_gap_pct(frame["aum_krw_kis"], frame["aum_krw"])
    gap_krw = (frame["aum_krw_kis"] - frame["aum_krw"]).abs()
    beyond = frame[
        (frame["gap_pct"] > AUM_TOLERANCE_PCT) & (gap_krw >= KIS_NET_ASSETS_RESOLUTION_KRW)
    ]
    offenders = beyond.nlargest(rules.MAX_OFFENDERS, "gap_pct")
    return dg.AssetCheckResult(
        passed=beyond.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(frame)} ETFs with both figures; {len(beyond)} differ by more than "
            f"{AUM_TOLERANCE_PCT} %"
            if len(frame)
            else "no KIS figures for this partition (KIS not configured or not the newest session)"
        ),
        metadata={
            "compared": len(frame),
            "max_gap_pct": float(frame["gap_pct"].max()) if len(frame) else None,
            "offenders": dg.MetadataValue.json(
                offenders[["ticker", "gap_pct"]].round(3).to_dict("records")
            ),
        },
    )


@dg.asset_check(
    asset=etf_tracking_error,
    name="agrees_with_krx_published",
    description="Our 250-session tracking error vs KRX's published 추적오차율 for a sample.",
)
def agrees_with_krx_published(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    frame = _rows_of_run(
        context,
        duckdb,
        "etf_tracking_error",
        "SELECT ticker, tracking_error_250d_pct AS ours, krx_tracking_error_pct AS krx "
        "FROM etf_tracking_error WHERE as_of_date IN (SELECT unnest(?::DATE[])) "
        "AND krx_tracking_error_pct IS NOT NULL AND tracking_error_250d_pct IS NOT NULL",
    )
    frame["diff_pctpt"] = (frame["ours"] - frame["krx"]).abs()
    offenders = frame[frame["diff_pctpt"] > TRACKING_TOLERANCE_PCTPT]
    return dg.AssetCheckResult(
        passed=offenders.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(frame)} ETFs compared; {len(offenders)} differ by more than "
        f"{TRACKING_TOLERANCE_PCTPT} %pt",
        metadata={
            "compared": len(frame),
            "median_abs_diff_pctpt": float(frame["diff_pctpt"].median()) if len(frame) else None,
            "offenders": dg.MetadataValue.json(
                offenders.round(4).head(rules.MAX_OFFENDERS).to_dict("records")
            ),
        },
    )


def build_checks() -> list[dg.AssetChecksDefinition]:
    checks: list[dg.AssetChecksDefinition] = []
    for table in TABLE_ASSETS:
        for name, rule, severity, blocking in TABLE_RULES:
            if name != "ranges" or table in rules.RANGES:
                checks.append(table_check(table, name, rule, severity, blocking))
        checks.append(freshness_check(table))
    return [*checks, krx_kis_net_assets_agree, agrees_with_krx_published]


ALL_CHECKS = build_checks()
