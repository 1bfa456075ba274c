"""Rules over etf_classification and etf_creations, plain functions over a DuckDB connection
like the rest of `rules.py` (which this module extends with the investor tables' own rules).

- Every fund the master lists on a session is classified: its class, tax class and both
  pension verdicts decided, the risk-asset verdict where 퇴직연금 may hold it, every rule named.
- No leveraged, inverse or non-합성 파생형 fund is eligible for a pension it may not enter.
- Creations recomputed from the prices, with a window of their own (a lag over the listed
  units), equal the table; whole creation units (WARN: a split or a CU change breaks them).
"""

from collections.abc import Sequence
from datetime import date

import duckdb

from etf_assets.checks.rules import MAX_OFFENDERS, RuleOutcome
from etf_assets.metrics.creations import LOOKBACK_DAYS
from etf_assets.metrics.sql import usable

# Floats of a product of a count and a NAV: equal to this relative precision.
RELATIVE_TOLERANCE = 1e-9
_IN_DATES = "trade_date IN (SELECT unnest($dates::DATE[]))"
_DECIDED = (
    "asset_class",
    "tax_class",
    "pension_savings_eligible",
    "pension_savings_rule",
    "retirement_eligible",
    "retirement_rule",
    "retirement_risk_rule",
)


def _offenders(
    conn: duckdb.DuckDBPyConnection, sql: str, dates: Sequence[date]
) -> list[dict[str, object]]:
    cursor = conn.execute(sql, {"dates": list(dates)})
    names = [d[0] for d in cursor.description]
    return [
        {name: value if isinstance(value, str | int | float | bool) else str(value)
         for name, value in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]  # fmt: skip


def _outcome(off: list[dict[str, object]], what: str, checked: int) -> RuleOutcome:
    return RuleOutcome(
        not off,
        f"{len(off)} of {checked} {what}",
        {"checked": checked, "offending": len(off), "offenders": off[:MAX_OFFENDERS]},
    )


def every_fund_classified(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Every fund etf_details lists on a session has its row, with every verdict decided (the
    risk-asset verdict where 퇴직연금 may hold it) and every rule named."""
    undecided = " OR ".join(f"c.{column} IS NULL" for column in _DECIDED)
    off = _offenders(
        conn,
        f"""
SELECT d.trade_date, d.ticker, trim(d.name) AS name,
    CASE WHEN c.ticker IS NULL THEN 'no row' ELSE 'undecided: ' || coalesce(c.tax_class_rule, '')
        || ' / ' || coalesce(c.retirement_risk_rule, '') END AS problem
FROM etf_details AS d
LEFT JOIN {table} AS c USING (trade_date, ticker)
WHERE d.{_IN_DATES}
    AND (c.ticker IS NULL OR {undecided}
        OR (c.retirement_eligible AND c.retirement_risk_asset IS NULL))
ORDER BY d.trade_date, d.ticker""",
        dates,
    )
    checked = conn.execute(
        f"SELECT count(*) FROM etf_details WHERE {_IN_DATES}", {"dates": list(dates)}
    ).fetchone()[0]
    return _outcome(off, "listed fund-sessions not classified", checked)


def pensions_exclude_leverage(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """No leveraged or inverse fund is eligible for either pension, and no 파생형 fund that is
    not 합성 for 퇴직연금: a verdict that broke it would tell a user to buy what the account
    refuses."""
    off = _offenders(
        conn,
        f"""
SELECT trade_date, ticker, leverage_factor, fund_type, is_synthetic, pension_savings_eligible,
    retirement_eligible, retirement_rule
FROM {table}
WHERE {_IN_DATES} AND (
    ((is_leveraged OR is_inverse) AND (pension_savings_eligible OR retirement_eligible))
    OR (retirement_eligible AND fund_type LIKE '%파생%' AND NOT is_synthetic))
ORDER BY trade_date, ticker""",
        dates,
    )
    checked = conn.execute(
        f"SELECT count(*) FROM {table} WHERE {_IN_DATES}", {"dates": list(dates)}
    ).fetchone()[0]
    return _outcome(off, "fund-sessions eligible for a pension that may not hold them", checked)


def _differs(ours: str, theirs: str) -> str:
    return (
        f"abs({ours} - {theirs}) > {RELATIVE_TOLERANCE} * greatest(abs({theirs}), 1) "
        f"OR ({ours} IS NULL) <> ({theirs} IS NULL)"
    )


def creations_match_prices(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Recomputed from etf_daily_prices, every priced row equals the table: its listed units
    and NAV the session's, its change the units less the previous stored session's (a lag over
    the prices, nulls skipped), its money that change × NAV; a delisting row redeems the last
    units at the last NAV. A change the table leaves unknown (history starting with the fund
    listed) is not compared."""
    off = _offenders(
        conn,
        f"""
WITH span AS (SELECT min(trade_date) AS first, max(trade_date) AS last FROM {table}
              WHERE {_IN_DATES}),
prices AS (
    SELECT trade_date, ticker, listed_shares,
        CASE WHEN {usable("nav")} THEN nav END AS nav,
        lag(listed_shares IGNORE NULLS) OVER w AS previous_shares,
        lag(CASE WHEN {usable("nav")} THEN nav END IGNORE NULLS) OVER w AS previous_nav,
        lead(trade_date) OVER w AS next_priced
    FROM etf_daily_prices
    WHERE trade_date BETWEEN (SELECT first FROM span) - INTERVAL {LOOKBACK_DAYS} DAY
        AND (SELECT last FROM span)
    WINDOW w AS (PARTITION BY ticker ORDER BY trade_date)
),
expected AS (
    SELECT c.trade_date, c.ticker, c.event, c.listed_shares, c.shares_change, c.nav,
        c.net_creation_krw,
        CASE WHEN c.event = 'delisting' THEN 0 ELSE p.listed_shares END AS expected_shares,
        CASE WHEN c.event = 'listing' THEN p.listed_shares
            ELSE p.listed_shares - p.previous_shares END AS expected_change,
        p.nav AS expected_nav
    FROM {table} AS c
    LEFT JOIN prices AS p USING (trade_date, ticker)
    WHERE c.{_IN_DATES} AND c.event IS DISTINCT FROM 'delisting'
    UNION ALL
    SELECT c.trade_date, c.ticker, c.event, c.listed_shares, c.shares_change, c.nav,
        c.net_creation_krw, 0, -last.listed_shares, last.nav
    FROM {table} AS c
    ASOF LEFT JOIN (SELECT * FROM prices WHERE listed_shares IS NOT NULL) AS last
        ON last.ticker = c.ticker AND c.trade_date > last.trade_date
    WHERE c.{_IN_DATES} AND c.event = 'delisting'
)
SELECT trade_date, ticker, event, listed_shares, expected_shares, shares_change,
    expected_change, nav, expected_nav, net_creation_krw,
    expected_change * expected_nav AS expected_net_creation_krw
FROM expected
WHERE listed_shares IS DISTINCT FROM expected_shares
    OR ({_differs("nav", "expected_nav")})
    OR (shares_change IS NOT NULL AND (shares_change IS DISTINCT FROM expected_change
        OR {_differs("net_creation_krw", "expected_change * expected_nav")}))
ORDER BY trade_date, ticker""",
        dates,
    )
    checked = conn.execute(
        f"SELECT count(*) FROM {table} WHERE {_IN_DATES}", {"dates": list(dates)}
    ).fetchone()[0]
    return _outcome(off, "fund-sessions whose creations differ from the prices'", checked)


def whole_creation_units(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Units are created and redeemed in whole creation units: a fractional `cu_multiple` is a
    split, a CU change or a misprint in the data (the listing and delisting rows included)."""
    off = _offenders(
        conn,
        f"""
SELECT trade_date, ticker, event, shares_change, cu_shares, cu_multiple
FROM {table}
WHERE {_IN_DATES} AND abs(cu_multiple - round(cu_multiple)) > 1e-9
ORDER BY abs(cu_multiple - round(cu_multiple)) DESC, trade_date, ticker""",
        dates,
    )
    checked = conn.execute(
        f"SELECT count(cu_multiple) FROM {table} WHERE {_IN_DATES}", {"dates": list(dates)}
    ).fetchone()[0]
    return _outcome(off, "changes in units that are not whole creation units", checked)
