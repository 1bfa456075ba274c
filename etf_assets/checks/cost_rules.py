"""What the etf_costs checks measure, as plain functions over a DuckDB connection.

Each takes the months to check (their first days, the partition keys) and returns a
`RuleOutcome` with the numbers and up to `MAX_OFFENDERS` offenders, fund names beside tickers.
"""

from collections.abc import Sequence
from datetime import date

import duckdb

from etf_assets.checks.rules import MAX_OFFENDERS, RuleOutcome
from etf_assets.metrics.costs import HEADLINE_TOLERANCE_PCTPT, MIN_COVERAGE_PCT

TABLE = "etf_costs"
# KOFIA prints TER to 2 dp from the unrounded 기타비용, and 보수합계 to 4 dp: a TER half a
# hundredth below the total fee is KOFIA's rounding, more is a wrong figure or match.
TER_ROUNDING_PCTPT = 0.005
# all_in_cost_pct is stored rounded to 6 dp (metrics.costs.ALL_IN_DECIMALS).
ALL_IN_TOLERANCE_PCTPT = 1e-6

_IN_MONTHS = "c.month IN (SELECT unnest(?::DATE[]))"
# The KRX master of each row's base date: the newest on or before it, else the first after.
_WITH_MASTER = f"""
SELECT c.*, coalesce(b.name, a.name) AS name,
    coalesce(b.expense_ratio_pct, a.expense_ratio_pct) AS expense_ratio_pct
FROM (SELECT * FROM {TABLE} AS c WHERE {_IN_MONTHS}) AS c
ASOF LEFT JOIN etf_details AS b ON c.ticker = b.ticker AND c.kofia_base_date >= b.trade_date
ASOF LEFT JOIN etf_details AS a ON c.ticker = a.ticker AND c.kofia_base_date <= a.trade_date
"""


def _offenders(
    conn: duckdb.DuckDBPyConnection, months: Sequence[date], predicate: str, columns: str
) -> tuple[int, list[dict[str, object]]]:
    """How many rows of `months` satisfy `predicate`, and the first MAX_OFFENDERS of them."""
    rows = conn.execute(
        f"SELECT month, ticker, name, {columns} FROM ({_WITH_MASTER}) WHERE {predicate} "
        "ORDER BY month, ticker",
        [list(months)],
    ).df()
    shown = rows.head(MAX_OFFENDERS).assign(month=lambda f: f["month"].astype(str))
    return len(rows), [
        {k: (None if v != v else v) for k, v in record.items()}  # NaN → None (JSON)
        for record in shown.to_dict("records")
    ]


def ter_covers_total_fee(
    conn: duckdb.DuckDBPyConnection, table: str, months: Sequence[date]
) -> RuleOutcome:
    """TER (총보수·비용비율) is the total fee plus other expenses, so never below the total fee
    (beyond KOFIA's rounding of TER to 2 dp)."""
    count, offenders = _offenders(
        conn, months, f"ter_pct < total_fee_pct - {TER_ROUNDING_PCTPT}",
        "total_fee_pct, other_expenses_pct, ter_pct",
    )  # fmt: skip
    return RuleOutcome(
        count == 0,
        f"{table}: {count} rows with TER below the total fee",
        {"rows_below": count, "tolerance_pctpt": TER_ROUNDING_PCTPT, "offenders": offenders},
    )


def all_in_is_ter_plus_trading(
    conn: duckdb.DuckDBPyConnection, table: str, months: Sequence[date]
) -> RuleOutcome:
    """all_in_cost_pct = ter_pct + trading_fee_pct, NULL exactly when either is."""
    count, offenders = _offenders(
        conn,
        months,
        "(all_in_cost_pct IS NULL) <> (ter_pct IS NULL OR trading_fee_pct IS NULL) OR "
        f"abs(all_in_cost_pct - (ter_pct + trading_fee_pct)) > {ALL_IN_TOLERANCE_PCTPT}",
        "ter_pct, trading_fee_pct, all_in_cost_pct",
    )
    return RuleOutcome(
        count == 0,
        f"{table}: {count} rows whose all-in cost is not TER + trading costs",
        {"rows_off": count, "offenders": offenders},
    )


def headline_fee_agrees(
    conn: duckdb.DuckDBPyConnection, table: str, months: Sequence[date]
) -> RuleOutcome:
    """KRX's headline fee (etf_details.expense_ratio_pct of the master of the base date) and
    KOFIA's 보수합계 agree within HEADLINE_TOLERANCE_PCTPT where both exist; the offenders
    largest gap first are usually a fee cut since (KRX shows today's fee)."""
    gap = "round(total_fee_pct - expense_ratio_pct, 6)"
    count, offenders = _offenders(
        conn, months, f"abs({gap}) > {HEADLINE_TOLERANCE_PCTPT}",
        f"expense_ratio_pct, total_fee_pct, {gap} AS gap_pctpt",
    )  # fmt: skip
    offenders.sort(key=lambda o: -abs(o["gap_pctpt"]))
    compared = conn.execute(
        f"SELECT count(*) FROM ({_WITH_MASTER}) WHERE expense_ratio_pct IS NOT NULL "
        "AND total_fee_pct IS NOT NULL",
        [list(months)],
    ).fetchone()[0]
    return RuleOutcome(
        count == 0,
        f"{table}: {count} of {compared} funds whose KOFIA total fee is more than "
        f"{HEADLINE_TOLERANCE_PCTPT} %pt from KRX's headline fee",
        {"compared": compared, "apart": count, "tolerance_pctpt": HEADLINE_TOLERANCE_PCTPT,
         "offenders": offenders},
    )  # fmt: skip


def listed_coverage(
    conn: duckdb.DuckDBPyConnection, table: str, months: Sequence[date]
) -> RuleOutcome:
    """Each month covers at least MIN_COVERAGE_PCT of the ETFs listed on its base date (the
    master of that date, as the asset matched against); the worst month counts."""
    per_month: dict[str, float] = {}
    missing: list[str] = []
    for month in months:
        base = conn.execute(
            f"SELECT max(kofia_base_date) FROM {table} WHERE month = ?", [month]
        ).fetchone()[0]
        if base is None:
            per_month[str(month)] = 0.0
            continue
        listed = conn.execute(
            """
            SELECT d.ticker, trim(d.name) FROM etf_details AS d
            WHERE d.trade_date = coalesce(
                (SELECT max(trade_date) FROM etf_details WHERE trade_date <= $base),
                (SELECT min(trade_date) FROM etf_details WHERE trade_date > $base))
              AND (d.listing_date IS NULL OR d.listing_date <= $base)
              AND d.ticker NOT IN (SELECT ticker FROM etf_costs WHERE month = $month)
            """,
            {"base": base, "month": month},
        ).fetchall()
        total = conn.execute(f"SELECT count(*) FROM {table} WHERE month = ?", [month]).fetchone()[0]
        per_month[str(month)] = round(100 * total / (total + len(listed)), 2) if total else 0.0
        missing += [f"{month:%Y-%m} {ticker} {name}" for ticker, name in listed]
    worst = min(per_month.values(), default=100.0)
    return RuleOutcome(
        worst >= MIN_COVERAGE_PCT,
        f"{table}: {worst} % of the listed ETFs covered in the worst month "
        f"(at least {MIN_COVERAGE_PCT} % wanted)",
        {"coverage_pct": per_month, "min_coverage_pct": MIN_COVERAGE_PCT,
         "uncovered_count": len(missing), "uncovered": missing[:MAX_OFFENDERS]},
    )  # fmt: skip
