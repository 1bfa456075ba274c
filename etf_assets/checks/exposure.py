"""Checks of the exposure group: its rules (pure functions of a connection and the weeks) and
their wiring, one `multi_asset_check` per table as in `etf_assets.checks`.

Blocking (ERROR): unique keys, finite floats, each fund's weights summing to 100 ± 0.5 per
dimension, overlap symmetric with overlap(a, a) = 100, etf_owned_pct within [0, 100]. WARN: a
stock more than 30 % ETF-owned, held stocks missing from KRX's stock screens, freshness.
"""

from collections.abc import Sequence
from datetime import date

import dagster as dg
import duckdb

from etf_assets.assets.exposure import (
    etf_exposure,
    etf_overlap,
    etf_stock_holders,
    stock_sectors,
    stock_shares,
)
from etf_assets.checks import TABLE_CHECKS, PartitionCheck, table_checks
from etf_assets.checks.rules import MAX_OFFENDERS, RuleOutcome
from etf_assets.metrics.exposure import DIMENSIONS, OWNED_WARN_PCT, WEIGHT_TOLERANCE_PCTPT

_DATES = "(SELECT unnest($dates::DATE[]))"
# overlap(a, a) and the stored pairs' mirror are equal up to float summation order.
_OVERLAP_EPS = 1e-6


def _outcome(offenders: list[tuple], what: str, table: str, count: int) -> RuleOutcome:
    return RuleOutcome(
        count == 0,
        f"{table}: {count} {what}",
        {"count": count, "offenders": [" / ".join(map(str, r)) for r in offenders]},
    )


def weights_sum_to_100(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Every fund with a valued basket line has each dimension, summing to 100 ± 0.5."""
    dims = ", ".join(f"('{d}')" for d in DIMENSIONS)
    rows = conn.execute(
        f"""
WITH funds AS (
    SELECT DISTINCT as_of_date, etf_ticker AS ticker FROM etf_holdings
    WHERE as_of_date IN {_DATES} AND coalesce(amount_krw, value_krw) <> 0
),
sums AS (
    SELECT as_of_date, ticker, dimension, sum(weight_pct) AS total_pct FROM {table}
    WHERE as_of_date IN {_DATES} GROUP BY ALL
)
SELECT f.as_of_date, f.ticker, d.dimension, round(coalesce(s.total_pct, 0), 3)
FROM funds AS f CROSS JOIN (VALUES {dims}) AS d(dimension)
LEFT JOIN sums AS s USING (as_of_date, ticker, dimension)
WHERE abs(coalesce(s.total_pct, 0) - 100) > {WEIGHT_TOLERANCE_PCTPT}
ORDER BY 1, 2, 3""",
        {"dates": list(dates)},
    ).fetchall()
    return _outcome(
        rows[:MAX_OFFENDERS],
        f"fund dimensions not summing to 100 ± {WEIGHT_TOLERANCE_PCTPT}",
        table,
        len(rows),
    )


def overlap_consistent(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Every stored pair's mirror is stored with the same overlap, and overlap(a, a) = 100
    for every fund with weights that week (the weights it is built on sum to 100)."""
    asymmetric = conn.execute(
        f"""
SELECT a.as_of_date, a.ticker_a, a.ticker_b, a.overlap_pct, b.overlap_pct FROM {table} AS a
LEFT JOIN {table} AS b ON b.as_of_date = a.as_of_date AND b.ticker_a = a.ticker_b
    AND b.ticker_b = a.ticker_a
WHERE a.as_of_date IN {_DATES}
    AND (b.overlap_pct IS NULL OR abs(a.overlap_pct - b.overlap_pct) > {_OVERLAP_EPS})
ORDER BY 1, 2, 3""",
        {"dates": list(dates)},
    ).fetchall()
    not_whole = conn.execute(
        f"""
SELECT x.as_of_date, x.ticker, round(sum(least(x.weight_pct, y.weight_pct)), 6) AS self_pct
FROM etf_overlap_weights AS x
JOIN etf_overlap_weights AS y USING (as_of_date, ticker, constituent_code, direction)
WHERE x.as_of_date IN {_DATES}
GROUP BY ALL HAVING abs(self_pct - 100) > {_OVERLAP_EPS}
ORDER BY 1, 2""",
        {"dates": list(dates)},
    ).fetchall()
    return _outcome(
        [*asymmetric, *not_whole][:MAX_OFFENDERS],
        f"pairs without an equal mirror ({len(asymmetric)}) or funds whose overlap with "
        f"themselves is not 100 ({len(not_whole)})",
        table,
        len(asymmetric) + len(not_whole),
    )


def _owned(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date], outside: str
) -> list[tuple]:
    return conn.execute(
        f"SELECT DISTINCT as_of_date, stock_code, stock_name, round(etf_owned_pct, 2) "
        f"FROM {table} WHERE as_of_date IN {_DATES} AND ({outside}) ORDER BY 4 DESC, 2",
        {"dates": list(dates)},
    ).fetchall()


def owned_pct_in_range(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """etf_owned_pct within [0, 100]: ETFs cannot own more than every listed share."""
    rows = _owned(conn, table, dates, "etf_owned_pct < 0 OR etf_owned_pct > 100")
    return _outcome(rows[:MAX_OFFENDERS], "stocks owned outside [0, 100] %", table, len(rows))


def owned_pct_below_warn(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """No stock more than OWNED_WARN_PCT (30 %) owned by ETFs: worth a look, not an error."""
    rows = _owned(conn, table, dates, f"etf_owned_pct > {OWNED_WARN_PCT}")
    return _outcome(
        rows[:MAX_OFFENDERS], f"stocks more than {OWNED_WARN_PCT:g} % ETF-owned", table, len(rows)
    )


def held_stocks_listed(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Every stock line of the week's baskets is a stock of KRX's screen of that week."""
    rows = conn.execute(
        f"""
SELECT DISTINCT h.as_of_date, h.constituent_code, h.constituent_name FROM etf_holdings AS h
WHERE h.as_of_date IN {_DATES} AND h.kind = 'stock' AND NOT EXISTS (
    SELECT 1 FROM {table} AS s WHERE s.trade_date = h.as_of_date
        AND s.stock_code = h.constituent_code)
ORDER BY 1, 2""",
        {"dates": list(dates)},
    ).fetchall()
    return _outcome(rows[:MAX_OFFENDERS], "held stocks missing from KRX's screen", table, len(rows))


_ERROR, _WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
_BASE = tuple(c for c in TABLE_CHECKS if c.name in ("unique_keys", "finite"))
_HELD_LISTED = PartitionCheck(
    "held_stocks_listed", held_stocks_listed,
    "Every stock line of the week's baskets is in KRX's stock screen of that week.", _WARN,
)  # fmt: skip
EXPOSURE_CHECKS: dict[str, tuple[dg.AssetsDefinition, tuple[PartitionCheck, ...]]] = {
    "stock_sectors": (stock_sectors, (*_BASE, _HELD_LISTED)),
    "stock_shares": (stock_shares, (*_BASE, _HELD_LISTED)),
    "etf_exposure": (etf_exposure, (*_BASE, PartitionCheck(
        "weights_sum_to_100", weights_sum_to_100,
        f"Each fund's weights sum to 100 ± {WEIGHT_TOLERANCE_PCTPT} in each of "
        f"{', '.join(DIMENSIONS)}, for every fund with a valued basket line.", _ERROR, True,
    ))),
    "etf_overlap": (etf_overlap, (*_BASE, PartitionCheck(
        "symmetric_and_whole", overlap_consistent,
        "overlap(a, b) = overlap(b, a) for every stored pair, and overlap(a, a) = 100.",
        _ERROR, True,
    ))),
    "etf_stock_holders": (etf_stock_holders, (*_BASE, PartitionCheck(
        "owned_pct_in_range", owned_pct_in_range,
        "etf_owned_pct within [0, 100] %.", _ERROR, True,
    ), PartitionCheck(
        "owned_pct_below_warn", owned_pct_below_warn,
        f"No stock more than {OWNED_WARN_PCT:g} % owned by ETFs.", _WARN,
    ))),
}  # fmt: skip


def exposure_checks(table: str) -> dg.AssetChecksDefinition:
    """Every check of one exposure table as one step, freshness last."""
    asset, checks = EXPOSURE_CHECKS[table]
    return table_checks(table, asset, checks, f"Every check of {table}.")


EXPOSURE_TABLE_ASSETS: dict[str, dg.AssetsDefinition] = {
    table: asset for table, (asset, _) in EXPOSURE_CHECKS.items()
}
ALL_EXPOSURE_CHECKS: list[dg.AssetChecksDefinition] = [
    exposure_checks(table) for table in EXPOSURE_CHECKS
]
