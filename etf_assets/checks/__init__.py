"""Asset checks: the monitoring. Rules live in `rules.py`; this module wires them to assets.

Per table: completeness, key uniqueness and finite floats (blocking, ERROR: a bad partition fails
the run, so `dagster asset materialize` exits non-zero), column coverage and value ranges (WARN),
freshness in sessions (ERROR, weekends and holidays never alarm), identities the upstream's own
figures satisfy (investor flows' nets sum to zero: blocking, ERROR), premium/discount outliers
and the cross-source comparisons (WARN).

All checks of one table are one `multi_asset_check`: one step on one DuckDB connection, because
a step costs a run ~60 ms of Dagster's own work (its events in the event log), more than most
checks' queries; a check per step made a daily refresh 25 check steps. The specs keep the check
names, severities and `blocking`, so the UI and `make health` see the same checks; a failing
blocking check still fails the step, so the run fails and downstream assets are skipped.

A check looks at the partitions its run wrote (one key or a single-run range, from the
context); in a run without partitions (the checks-only `monitoring_job`), at the newest
partition written.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.assets.classification import etf_classification, etf_creations
from etf_assets.assets.costs import etf_costs
from etf_assets.assets.distributions import etf_distributions
from etf_assets.assets.flows import etf_investor_flows
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.metrics import etf_52w, etf_aum, etf_tracking_error
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.reports import etf_overview
from etf_assets.assets.returns import etf_returns
from etf_assets.assets.universe import UNIVERSE
from etf_assets.assets.utils import partition_dates
from etf_assets.checks import classification_rules, cost_rules, rules
from etf_assets.warehouse.write import WAREHOUSE_POOL, newest_partition, warehouse

PartitionRule = Callable[[duckdb.DuckDBPyConnection, str, Sequence[date]], rules.RuleOutcome]
TABLE_ASSETS: dict[str, dg.AssetsDefinition] = {
    "krx_etf_list": krx_etf_list,
    "etf_details": etf_details,
    "etf_daily_prices": etf_daily_prices,
    "etf_holdings": etf_holdings,
    "etf_aum": etf_aum,
    "etf_52w": etf_52w,
    "etf_tracking_error": etf_tracking_error,
    "etf_returns": etf_returns,
    "etf_investor_flows": etf_investor_flows,
    "etf_overview_snapshot": etf_overview,
    "etf_classification": etf_classification,
    "etf_creations": etf_creations,
}
FRESHNESS = "fresh_in_sessions"
FRESHNESS_DESCRIPTION = (
    "Newest partition is the newest session due by now (its phase's time in phases.py plus "
    "grace, KST); weekends, holidays and recorded closures never alarm. etf_distributions: "
    "refreshed after that session's phase; etf_universe: rebuilt from that session's prices."
)


@dataclass(frozen=True)
class PartitionCheck:
    """One check over the partitions a run checks: its rule and how a failure counts."""

    name: str
    rule: PartitionRule
    description: str
    severity: dg.AssetCheckSeverity
    blocking: bool = False


TABLE_CHECKS = (
    PartitionCheck(
        "complete",
        rules.completeness,
        "Rows of each partition against the ETF universe of the same date; the worst one counts.",
        dg.AssetCheckSeverity.ERROR,
        blocking=True,
    ),
    PartitionCheck(
        "unique_keys",
        rules.uniqueness,
        "No key (the table's id columns) appears twice in a partition.",
        dg.AssetCheckSeverity.ERROR,
        blocking=True,
    ),
    PartitionCheck(
        "finite",
        rules.finite,
        "Every floating column is a finite number or NULL, never NaN or infinity.",
        dg.AssetCheckSeverity.ERROR,
        blocking=True,
    ),
    PartitionCheck(
        "coverage",
        rules.coverage,
        "Columns people rely on are non-NULL in at least their share of rows.",
        dg.AssetCheckSeverity.WARN,
    ),
)
RANGES_CHECK = PartitionCheck(
    "ranges",
    rules.ranges,
    "Every row satisfies the table's value ranges (NULLs pass: coverage watches those).",
    dg.AssetCheckSeverity.WARN,
)
CROSS_SOURCE_CHECKS: dict[str, PartitionCheck] = {
    "etf_aum": PartitionCheck(
        "krx_kis_net_assets_agree",
        rules.net_assets_agree,
        f"KRX and KIS net assets agree within {rules.AUM_TOLERANCE_PCT} % (or KIS's 1억 "
        "unit) where both exist.",
        dg.AssetCheckSeverity.WARN,
    ),
    "etf_tracking_error": PartitionCheck(
        "agrees_with_krx_published",
        rules.tracking_agrees_with_krx,
        "Our 250-session tracking error vs KRX's published 추적오차율 for a sample.",
        dg.AssetCheckSeverity.WARN,
    ),
    "etf_returns": PartitionCheck(
        "agrees_with_krx_period_change",
        rules.returns_agree_with_krx,
        "Our 1-month price return vs KRX's own period change (MDCSTAT04401) within "
        f"{rules.RETURNS_TOLERANCE_PCTPT} %pt (KRX rounds to 2 dp).",
        dg.AssetCheckSeverity.WARN,
    ),
    "etf_investor_flows": PartitionCheck(
        "bought_matches_volume",
        rules.flows_match_volume,
        "What the groups bought adds up to the session's volume and traded value in "
        f"etf_daily_prices, within {rules.FLOW_VOLUME_TOLERANCE_PCT:g} % (KRX's corrections).",
        dg.AssetCheckSeverity.WARN,
    ),
}
# Identities the upstream's own figures satisfy: a violation is a parsing error, so blocking.
BALANCE_CHECKS: dict[str, PartitionCheck] = {
    "etf_investor_flows": PartitionCheck(
        "nets_sum_to_zero",
        rules.flows_sum_to_zero,
        "Per session and ETF the four groups' net values and net volumes sum to zero.",
        dg.AssetCheckSeverity.ERROR,
        blocking=True,
    ),
}


# The investor tables' own rules (checks/classification_rules.py).
INVESTOR_CHECKS: dict[str, tuple[PartitionCheck, ...]] = {
    "etf_classification": (
        PartitionCheck(
            "every_fund_classified",
            classification_rules.every_fund_classified,
            "Every fund etf_details lists on the session has its class, tax class and pension "
            "verdicts decided, each with its rule.",
            dg.AssetCheckSeverity.ERROR,
            blocking=True,
        ),
        PartitionCheck(
            "pensions_exclude_leverage",
            classification_rules.pensions_exclude_leverage,
            "No leveraged or inverse fund is eligible for 연금저축 or 퇴직연금, and no 파생형 "
            "fund that is not 합성 for 퇴직연금.",
            dg.AssetCheckSeverity.ERROR,
            blocking=True,
        ),
    ),
    "etf_creations": (
        PartitionCheck(
            "matches_prices",
            classification_rules.creations_match_prices,
            "Creations recomputed from etf_daily_prices (listed units, their change from the "
            "previous stored session, × NAV) equal the table.",
            dg.AssetCheckSeverity.ERROR,
            blocking=True,
        ),
        PartitionCheck(
            "whole_creation_units",
            classification_rules.whole_creation_units,
            "Units change in whole creation units (CU); a fraction is a split, a CU change or "
            "a misprint.",
            dg.AssetCheckSeverity.WARN,
        ),
    ),
}


PREMIUM_OUTLIERS = "premium_discount_outliers"
OUTLIER_CHECKS: dict[str, PartitionCheck] = {
    "etf_daily_prices": PartitionCheck(
        PREMIUM_OUTLIERS,
        rules.session_premium_outliers,
        f"No close more than {rules.PREMIUM_OUTLIER_PCT:g} % from NAV; offenders listed with "
        "close, NAV and premium (the overview leaves them out of its rankings).",
        dg.AssetCheckSeverity.WARN,
    ),
    "etf_tracking_error": PartitionCheck(
        PREMIUM_OUTLIERS,
        rules.window_premium_outliers,
        "No premium/discount mean is taken over a session whose close is more than "
        f"{rules.PREMIUM_OUTLIER_PCT:g} % from NAV; offenders listed with that session.",
        dg.AssetCheckSeverity.WARN,
    ),
}


def partition_checks(table: str) -> list[PartitionCheck]:
    """The partition checks of `table`, in the order the UI lists them."""
    ranges = [RANGES_CHECK] if table in rules.RANGES else []
    per_table = [
        checks[table]
        for checks in (BALANCE_CHECKS, OUTLIER_CHECKS, CROSS_SOURCE_CHECKS)
        if table in checks
    ]
    return [*TABLE_CHECKS, *ranges, *INVESTOR_CHECKS.get(table, ()), *per_table]


def checked_dates(
    context: dg.AssetCheckExecutionContext, conn: duckdb.DuckDBPyConnection, table: str
) -> list[date]:
    """The run's partitions of `table` (a reversed range fails the step, as it fails the
    asset), or the newest one written when the run has none."""
    if context.has_partition_key or context.has_partition_key_range:
        return partition_dates(context)
    newest = newest_partition(conn, table)
    return [newest] if newest else []


def _result(
    asset_key: dg.AssetKey,
    name: str,
    severity: dg.AssetCheckSeverity,
    outcome: rules.RuleOutcome,
    dates: Sequence[date] = (),
) -> dg.AssetCheckResult:
    metadata = {
        key: dg.MetadataValue.json(value) if isinstance(value, (dict, list)) else value
        for key, value in outcome.metadata.items()
    }
    if dates:
        metadata["checked_partitions"] = f"{dates[0]}…{dates[-1]} ({len(dates)})"
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=outcome.passed,
        severity=severity,
        description=outcome.description,
        metadata=metadata,
    )


def table_checks(
    table: str, asset: dg.AssetsDefinition, checks: Sequence[PartitionCheck], description: str
) -> dg.AssetChecksDefinition:
    """Every check of `table` as one step on one connection: the partition checks over the
    run's partitions (or the newest written), then freshness."""
    specs = [
        *(
            dg.AssetCheckSpec(c.name, asset=asset, description=c.description, blocking=c.blocking)
            for c in checks
        ),
        dg.AssetCheckSpec(FRESHNESS, asset=asset, description=FRESHNESS_DESCRIPTION),
    ]

    @dg.multi_asset_check(
        pool=WAREHOUSE_POOL,
        name=f"{asset.key.to_python_identifier()}_checks",
        specs=specs,
        description=description,
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
    ) -> Iterator[dg.AssetCheckResult]:
        with warehouse(duckdb) as conn:
            dates = checked_dates(context, conn, table)
            unchecked = None if dates else rules.unwritten(conn, table)
            outcomes = [(c, c.rule(conn, table, dates) if dates else unchecked) for c in checks]
            freshness = rules.freshness(conn, table, partitions.now_kst())
        for check, outcome in outcomes:
            yield _result(asset.key, check.name, check.severity, outcome, dates)
        yield _result(asset.key, FRESHNESS, dg.AssetCheckSeverity.ERROR, freshness)

    return _checks


@dg.multi_asset_check(
    pool=WAREHOUSE_POOL,
    name="etf_universe_checks",
    specs=[
        *(
            dg.AssetCheckSpec(name, asset=UNIVERSE, description=rule.description, blocking=True)
            for name, rule in rules.UNIVERSE_RULES.items()
        ),
        dg.AssetCheckSpec(FRESHNESS, asset=UNIVERSE, description=FRESHNESS_DESCRIPTION),
    ],
    description="Every check of etf_universe (unpartitioned: the whole table), on one connection.",
)
def universe_checks(duckdb: DuckDBResource) -> Iterator[dg.AssetCheckResult]:
    with warehouse(duckdb) as conn:
        outcomes = {name: rules.universe_rule(conn, name) for name in rules.UNIVERSE_RULES}
        outcomes[FRESHNESS] = rules.freshness(conn, UNIVERSE, partitions.now_kst())
    for name, outcome in outcomes.items():
        yield _result(dg.AssetKey(UNIVERSE), name, dg.AssetCheckSeverity.ERROR, outcome)


DISTRIBUTIONS_TABLE = "etf_distributions"
DISTRIBUTION_CHECKS = (
    *(c for c in TABLE_CHECKS if c.name in ("unique_keys", "finite")),
    PartitionCheck(
        "ex_date_is_previous_session",
        rules.ex_date_is_previous_session,
        "Every payout's ex_date is the XKRX session right before its record_date.",
        dg.AssetCheckSeverity.ERROR,
        blocking=True,
    ),
    PartitionCheck(
        "amounts_positive",
        rules.amounts_positive,
        "Every payout is a positive, finite amount of KRW per share.",
        dg.AssetCheckSeverity.ERROR,
        blocking=True,
    ),
    PartitionCheck(
        "liquidation_only_when_delisted",
        rules.liquidation_only_when_delisted,
        "Liquidation payouts only for funds with no price in etf_daily_prices after the "
        "record date.",
        dg.AssetCheckSeverity.WARN,
    ),
)


@dg.multi_asset_check(
    pool=WAREHOUSE_POOL,
    name="etf_distributions_checks",
    specs=[
        *(
            dg.AssetCheckSpec(
                c.name, asset=etf_distributions, description=c.description, blocking=c.blocking
            )
            for c in DISTRIBUTION_CHECKS
        ),
        dg.AssetCheckSpec(FRESHNESS, asset=etf_distributions, description=FRESHNESS_DESCRIPTION),
    ],
    description="Every check of etf_distributions over every day of the run's months (without "
    "partitions: the daily refresh's window), on one connection.",
)
def distributions_checks(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> Iterator[dg.AssetCheckResult]:
    if context.has_partition_key or context.has_partition_key_range:
        months = partition_dates(context)
    else:
        months = partitions.trailing_months(partitions.now_kst().date())
    dates = [d for month in months for d in partitions.month_days(month)]
    with warehouse(duckdb) as conn:
        outcomes = [(c, c.rule(conn, DISTRIBUTIONS_TABLE, dates)) for c in DISTRIBUTION_CHECKS]
        freshness = rules.freshness(conn, DISTRIBUTIONS_TABLE, partitions.now_kst())
    for check, outcome in outcomes:
        yield _result(etf_distributions.key, check.name, check.severity, outcome, dates)
    yield _result(etf_distributions.key, FRESHNESS, dg.AssetCheckSeverity.ERROR, freshness)


COSTS_TABLE = "etf_costs"
COST_CHECKS = (
    *(c for c in TABLE_CHECKS if c.name in ("unique_keys", "finite")),
    PartitionCheck(
        "ter_covers_total_fee",
        cost_rules.ter_covers_total_fee,
        "TER is never below the total fee (보수합계), beyond KOFIA's rounding of TER to 2 dp "
        f"({cost_rules.TER_ROUNDING_PCTPT} %pt).",
        dg.AssetCheckSeverity.ERROR,
        blocking=True,
    ),
    PartitionCheck(
        "all_in_is_ter_plus_trading",
        cost_rules.all_in_is_ter_plus_trading,
        "all_in_cost_pct (실부담비용) = ter_pct + trading_fee_pct, NULL exactly when either is.",
        dg.AssetCheckSeverity.ERROR,
        blocking=True,
    ),
    PartitionCheck(
        "headline_fee_agrees",
        cost_rules.headline_fee_agrees,
        "KRX's headline fee (ETF_TOT_FEE) and KOFIA's 보수합계 agree within "
        f"{cost_rules.HEADLINE_TOLERANCE_PCTPT} %pt; offenders listed (a fee cut since, or a "
        "wrong match).",
        dg.AssetCheckSeverity.WARN,
    ),
    PartitionCheck(
        "listed_coverage",
        cost_rules.listed_coverage,
        f"At least {cost_rules.MIN_COVERAGE_PCT} % of the ETFs listed on the base date have a "
        "row; the uncovered are listed.",
        dg.AssetCheckSeverity.WARN,
    ),
)


costs_checks = table_checks(
    COSTS_TABLE,
    etf_costs,
    COST_CHECKS,
    "Every check of etf_costs over the run's months (without partitions: the newest month "
    "written), on one connection.",
)


# The exposure group's checks are wired in their own module, from this module's pieces above.
from etf_assets.checks.exposure import ALL_EXPOSURE_CHECKS, EXPOSURE_TABLE_ASSETS  # noqa: E402

# Every table the freshness rule watches (the staleness sensor, `make health`): the session
# tables, the refreshed distributions, and the universe as of its newest session of prices.
# Each with its asset key and partitions, which a stale table's alert looks up.
WATCHED_TABLES: dict[str, tuple[dg.AssetKey, dg.PartitionsDefinition | None]] = {
    **{table: (asset.key, asset.partitions_def) for table, asset in TABLE_ASSETS.items()},
    DISTRIBUTIONS_TABLE: (etf_distributions.key, etf_distributions.partitions_def),
    UNIVERSE: (dg.AssetKey(UNIVERSE), None),
    COSTS_TABLE: (etf_costs.key, etf_costs.partitions_def),
    **{table: (asset.key, asset.partitions_def) for table, asset in EXPOSURE_TABLE_ASSETS.items()},
}


ALL_CHECKS = [
    *(
        table_checks(t, a, partition_checks(t), f"Every check of {t}, on one connection.")
        for t, a in TABLE_ASSETS.items()
    ),
    universe_checks,
    distributions_checks,
    costs_checks,
    *ALL_EXPOSURE_CHECKS,
]
