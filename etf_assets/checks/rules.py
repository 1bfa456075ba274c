"""What the checks measure, as plain functions over a DuckDB connection (fast to test).

Each rule returns a `RuleOutcome`: passed, a one-line description, and the numbers with up to
20 offenders. The Dagster wiring in this package only decides severity and blocking.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

import duckdb

from etf_assets.metrics.aum import relative_gap_pct
from etf_assets.metrics.classification import ASSET_CLASS_VALUES
from etf_assets.metrics.overview import PREMIUM_OUTLIER_PCT, premium_pct_sql, window_outliers_sql
from etf_assets.metrics.returns import FREQUENCIES
from etf_assets.metrics.tracking import WINDOWS
from etf_assets.parsing.krx import INVESTORS
from etf_assets.partitions import (
    KST,
    is_session,
    previous_session,
    sessions_back,
    sessions_between,
    week_last_session,
)
from etf_assets.phases import GRACE, Target, disclosed_month, phase_of
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import newest_partition

MAX_OFFENDERS = 20
AUM_TOLERANCE_PCT = 1.0
# KIS publishes net assets in whole 억원 (etf_ntas_ttam), so a smaller gap is its rounding.
KIS_NET_ASSETS_RESOLUTION_KRW = 100_000_000
# KRX's 추적오차율 and ours differ in window and annualisation details; half a point of
# annual tracking error is well above that noise and well below a real tracking problem.
TRACKING_TOLERANCE_PCTPT = 0.5
# KRX's period change (MDCSTAT04401 FLUC_RT) is rounded to 2 dp of a percent and both figures
# come from the same two integer closes, so they agree to 0.005 %pt; 0.02 leaves room for
# float noise, while a wrong window start or a split KRX adjusts for is a whole-point gap.
RETURNS_TOLERANCE_PCTPT = 0.02


@dataclass(frozen=True)
class RuleOutcome:
    passed: bool
    description: str
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Universe:
    """The ETFs a partition of date d is compared with: the tickers of `table` (keyed by
    trade_date) on d itself (`match` "same"), on its newest date up to d ("on_or_before") or
    before d ("before")."""

    table: str
    match: Literal["same", "on_or_before", "before"] = "same"


@dataclass(frozen=True)
class Completeness:
    """`table` must hold `min_ratio` of the tickers of `universe` for the same date.

    `fallback` is the universe used when the first is empty for that date (e.g. prices
    backfilled without a listing partition: the previous session's priced ETFs).
    """

    universe: Universe
    min_ratio: float
    ticker_column: str = "ticker"
    fallback: Universe | None = None


_PRICES = Universe("etf_daily_prices")
_NEAREST_PRICES = Universe("etf_daily_prices", "on_or_before")

COMPLETENESS: dict[str, Completeness] = {
    # A past master lacks funds delisted since; 95 % of the nearest priced universe.
    "krx_etf_list": Completeness(_NEAREST_PRICES, 0.95),
    "etf_details": Completeness(Universe("krx_etf_list"), 1.0),
    # Listings and delistings move the universe by a few funds a day, hence 97 % in fallback.
    "etf_daily_prices": Completeness(
        Universe("krx_etf_list"), 0.97, fallback=Universe("etf_daily_prices", "before")
    ),
    "etf_holdings": Completeness(
        Universe("etf_details", "on_or_before"), 0.95, ticker_column="etf_ticker"
    ),
    "etf_aum": Completeness(_PRICES, 1.0),
    "etf_52w": Completeness(_PRICES, 1.0),
    "etf_tracking_error": Completeness(_PRICES, 1.0),
    "etf_returns": Completeness(_PRICES, 1.0),
    # Every fund priced on the session has its flows: KRX's figures, or zeros without a trade.
    "etf_investor_flows": Completeness(_PRICES, 1.0),
    # The overview's universe is the newest master ∪ the newest session's priced ETFs.
    "etf_overview_snapshot": Completeness(_NEAREST_PRICES, 1.0),
    "etf_classification": Completeness(Universe("etf_details"), 1.0),
    # Every priced fund has its change (a delisted fund's row comes on top).
    "etf_creations": Completeness(_PRICES, 1.0),
}

# Columns people rely on, with the share of rows that must be non-NULL.
COVERAGE: dict[str, dict[str, float]] = {
    "krx_etf_list": {"ISU_CD": 1.0, "COM_ABBRV": 1.0, "ETF_TOT_FEE": 1.0},
    "etf_details": {"isin": 1.0, "issuer": 1.0, "expense_ratio_pct": 0.99, "listing_date": 1.0},
    "etf_daily_prices": {"close": 1.0, "nav": 0.99, "listed_shares": 0.99, "index_close": 0.9},
    "etf_holdings": {"constituent_name": 0.99, "kind": 1.0},
    "etf_aum": {"aum_krw": 0.99, "market_cap_krw": 0.99},
    "etf_52w": {"high_52w": 0.99, "low_52w": 0.99},
    "etf_tracking_error": {"premium_discount_20d_pct": 0.95, "tracking_error_20d_pct": 0.9},
    # Young funds have no 1-month figure; about 100 listings a year are ~1 % of the universe.
    "etf_returns": {
        "return_1w_pct": 0.97,
        "return_1m_pct": 0.95,
        "total_return_1m_pct": 0.95,
        "distribution_yield_ttm_pct": 0.99,
        "distribution_frequency": 1.0,
    },
    "etf_investor_flows": {"buy_volume": 0.99, "net_volume": 0.99, "net_value_krw": 0.99},
    "etf_overview_snapshot": {
        "name": 1.0,
        "issuer": 0.99,
        "expense_ratio_pct": 0.99,
        "close": 0.99,
        "aum_krw": 0.99,
        "high_52w": 0.99,
        "premium_discount_20d_pct": 0.9,
    },
    "etf_classification": {"region": 1.0, "fund_type": 0.99, "tax_class": 1.0},
    # The first stored session's changes are unknown; CU is NULL for a fund no master listed.
    "etf_creations": {"nav": 0.99, "net_creation_krw": 0.95, "cu_shares": 0.95},
}

# Predicates every row must satisfy (NULLs pass: coverage watches those).
RANGES: dict[str, dict[str, str]] = {
    "etf_classification": {
        "asset_class is one of ours": "asset_class IN ("
        + ", ".join(f"'{c}'" for c in ASSET_CLASS_VALUES)
        + ")",
        "weights between -100 and 1000 %": "least(stock_weight_pct, derivatives_weight_pct) "
        ">= -100 AND greatest(stock_weight_pct, derivatives_weight_pct) <= 1000",
    },
    "etf_creations": {
        "listed_shares >= 0": "listed_shares >= 0",
        "nav > 0": "nav > 0",
        "money has the sign of the change": "sign(net_creation_krw) = sign(shares_change)",
    },
    "etf_details": {
        "expense_ratio_pct between 0 and 3": "expense_ratio_pct BETWEEN 0 AND 3",
        "leverage_factor in ±1, ±1.5, ±2, ±2.5, ±3 (HANARO …레버리지1.5X)": "abs(leverage_factor) "
        "BETWEEN 1 AND 3 AND leverage_factor * 2 = round(leverage_factor * 2)",
    },
    "etf_daily_prices": {
        "nav > 0": "nav > 0",
        "low <= close <= high": "low <= close AND close <= high",
        "volume >= 0": "volume >= 0",
    },
    "etf_holdings": {"weight_pct between -100 and 100": "weight_pct BETWEEN -100 AND 100"},
    "etf_aum": {"aum_krw >= 0": "aum_krw >= 0", "nav > 0": "nav > 0"},
    "etf_52w": {
        "low_52w <= close <= high_52w": "low_52w <= close AND close <= high_52w",
        "pct_below_high between 0 and 100": "pct_below_high BETWEEN 0 AND 100",
    },
    "etf_tracking_error": {
        "tracking_error >= 0": "tracking_error_20d_pct >= 0 AND tracking_error_250d_pct >= 0",
    },
    "etf_returns": {
        "returns above -100 %": "least(return_1w_pct, return_1m_pct, return_1y_pct, "
        "total_return_1m_pct, total_return_1y_pct) > -100",
        "yield >= 0 and payouts counted >= 0": "distribution_yield_ttm_pct >= 0 "
        "AND distributions_ttm >= 0",
        "frequency is a known rhythm": "distribution_frequency IN ("
        + ", ".join(f"'{f}'" for f in FREQUENCIES)
        + ")",
    },
    "etf_investor_flows": {
        "investor is one of the four groups": "investor IN ("
        + ", ".join(f"'{investor}'" for investor in INVESTORS)
        + ")",
        "bought and sold >= 0": "least(buy_volume, sell_volume, buy_value_krw, "
        "sell_value_krw) >= 0",
    },
    "etf_overview_snapshot": {
        # A snapshot reads every table up to its session only; a later figure would be a leak.
        "no figure newer than the snapshot": "greatest(details_as_of, prices_as_of, aum_as_of, "
        "tracking_as_of, week52_as_of, returns_as_of, flows_as_of, classification_as_of, "
        "creations_as_of) <= trade_date",
        "aum_krw >= 0": "aum_krw >= 0",
    },
}


def _key(table: str) -> str:
    return TABLES[table].key_column


def _completeness_by_date(
    conn: duckdb.DuckDBPyConnection, rule: Completeness, table: str, dates: Sequence[date]
) -> list[tuple[date, int, int, int, str | None]]:
    """Per checked date, in the order given: (date, tickers present, universe size, tickers of
    the universe present, the note of an empty partition of `table` or else of the prices).

    One statement for any number of dates (a per-date loop took 22 s over the whole history):
    the universe's `$d` becomes each checked date through a LATERAL join, and the fallback
    counts only where the universe of that date is empty.
    """

    def universe(sql: str) -> str:
        return (
            f"SELECT DISTINCT c.d, u.ticker FROM checked c, LATERAL ({sql.replace('$d', 'c.d')}) u"
        )

    fallback = (
        f"UNION ALL SELECT * FROM ({universe(rule.fallback_sql)}) "
        "WHERE d NOT IN (SELECT d FROM drawn)"
        if rule.fallback_sql
        else ""
    )
    key = _key(table)
    return conn.execute(
        f"""
        WITH checked AS (
            SELECT unnest($dates::DATE[]) AS d, generate_subscripts($dates::DATE[], 1) AS i
        ),
        present AS (
            SELECT DISTINCT {key} AS d, {rule.ticker_column} AS ticker FROM {table}
            WHERE {key} IN (SELECT d FROM checked)
        ),
        drawn AS ({universe(rule.universe_sql)}),
        universe AS (SELECT * FROM drawn {fallback}),
        notes AS (
            SELECT partition_date AS d,
                   arg_min(note, table_name <> $table) AS note
            FROM etf_partition_log_latest
            WHERE table_name IN ($table, 'etf_daily_prices') AND row_count = 0
              AND coalesce(note, '') <> '' AND partition_date IN (SELECT d FROM checked)
            GROUP BY partition_date
        )
        SELECT c.d,
               (SELECT count(*) FROM present p WHERE p.d = c.d),
               (SELECT count(*) FROM universe u WHERE u.d = c.d),
               (SELECT count(*) FROM universe u JOIN present p USING (d, ticker) WHERE u.d = c.d),
               (SELECT note FROM notes n WHERE n.d = c.d)
        FROM checked c ORDER BY c.i
        """,
        {"dates": list(dates), "table": table},
    ).fetchall()


def _universe_sql(universe: Universe, name: str) -> str:
    """CTEs `{name}_dates` (each checked date d and the date of `universe.table` it uses) and
    `{name}` (d, ticker), for the dates in CTE `checked`: ASOF joins, so any number of dates
    costs one pass over the table."""
    on = {"same": "c.d = s.sd", "on_or_before": "c.d >= s.sd", "before": "c.d > s.sd"}
    join = "JOIN" if universe.match == "same" else "ASOF JOIN"
    return (
        f"{name}_dates AS (SELECT c.d, s.sd FROM checked c {join} "
        f"(SELECT DISTINCT trade_date AS sd FROM {universe.table}) s ON {on[universe.match]}), "
        f"{name} AS MATERIALIZED (SELECT DISTINCT m.d, t.ticker FROM {name}_dates m "
        f"JOIN {universe.table} t ON t.trade_date = m.sd)"
    )


def _completeness_sql(rule: Completeness, table: str, select: str) -> str:
    """`select` over CTEs for the dates $dates: `present` (d, ticker) of `table`, `universe`
    (d, ticker: the rule's universe, or its fallback where that is empty on d) and `notes`
    (d, the note of an empty partition of `table`, else of the prices)."""
    key = _key(table)
    fallback = (
        f", {_universe_sql(rule.fallback, 'fallback')}, universe AS (SELECT * FROM drawn UNION ALL "
        "SELECT * FROM fallback WHERE d NOT IN (SELECT d FROM drawn))"
        if rule.fallback
        else ", universe AS (SELECT * FROM drawn)"
    )
    return f"""
        WITH checked AS (
            SELECT unnest($dates::DATE[]) AS d, generate_subscripts($dates::DATE[], 1) AS i
        ),
        present AS MATERIALIZED (
            SELECT DISTINCT {key} AS d, {rule.ticker_column} AS ticker FROM {table}
            WHERE {key} IN (SELECT d FROM checked)
        ),
        {_universe_sql(rule.universe, "drawn")}{fallback},
        notes AS (
            SELECT partition_date AS d, arg_min(note, table_name <> $table) AS note
            FROM etf_partition_log_latest
            WHERE table_name IN ($table, 'etf_daily_prices') AND row_count = 0
              AND coalesce(note, '') <> '' AND partition_date IN (SELECT d FROM checked)
            GROUP BY partition_date
        )
        {select}
    """


def _completeness_by_date(
    conn: duckdb.DuckDBPyConnection, rule: Completeness, table: str, dates: Sequence[date]
) -> list[tuple[date, int, int, int, str | None]]:
    """Per checked date, in the order given: (date, tickers present, universe size, tickers of
    the universe present, the note of an empty partition). One statement for any number of
    dates: a query per date took 22 s over the whole history."""
    sql = _completeness_sql(
        rule,
        table,
        """
        SELECT c.d, coalesce(p.n, 0), coalesce(u.n, 0), coalesce(b.n, 0), notes.note
        FROM checked c
        LEFT JOIN (SELECT d, count(*) AS n FROM present GROUP BY d) p USING (d)
        LEFT JOIN (SELECT d, count(*) AS n FROM universe GROUP BY d) u USING (d)
        LEFT JOIN (SELECT d, count(*) AS n FROM universe JOIN present USING (d, ticker)
                   GROUP BY d) b USING (d)
        LEFT JOIN notes USING (d)
        ORDER BY c.i
        """,
    )
    return conn.execute(sql, {"dates": list(dates), "table": table}).fetchall()


def _missing(conn: duckdb.DuckDBPyConnection, rule: Completeness, table: str, d: date) -> list[str]:
    """The universe's tickers of `d` that `table` lacks, sorted."""
    sql = _completeness_sql(
        rule,
        table,
        "SELECT ticker FROM universe EXCEPT SELECT ticker FROM present ORDER BY ticker",
    )
    return [r[0] for r in conn.execute(sql, {"dates": [d], "table": table}).fetchall()]


def completeness(conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]) -> RuleOutcome:
    """Rows of each partition against the ETF universe of the same date; the worst one counts.

    A recorded closure (an empty partition with a note) is complete. A partition with no
    universe to compare with is reported as unmeasured and only passes if it has rows.
    """
    rule = COMPLETENESS[table]
    worst: tuple[float, date, int, int] | None = None
    closures: dict[str, str] = {}
    unmeasured: list[str] = []
    empty: list[str] = []
    for d, present, universe, both, note in _completeness_by_date(conn, rule, table, dates):
        if not present and note:
            closures[str(d)] = note  # an unscheduled closure, recorded as such upstream or here
            continue
        if not universe:
            (unmeasured if present else empty).append(str(d))
            continue
        ratio = both / universe
        if worst is None or ratio < worst[0]:
            worst = (ratio, d, present, universe)
    metadata: dict[str, object] = {
        "closures": closures,
        "unmeasured_partitions": unmeasured[:MAX_OFFENDERS],
        "empty_partitions": empty[:MAX_OFFENDERS],
    }
    if worst is None:
        passed = not empty
        what = f"{len(closures)} closures, {len(unmeasured)} partitions without a universe"
        return RuleOutcome(passed, f"{table}: {what}, {len(empty)} empty", metadata)
    ratio, d, rows, universe_size = worst
    missing = _missing(conn, rule, table, d)
    passed = ratio >= rule.min_ratio and not empty
    return RuleOutcome(
        passed,
        f"{table} {d}: {rows} ETFs of a universe of {universe_size} "
        f"({ratio:.1%}, needs {rule.min_ratio:.0%})"
        + (f"; {len(empty)} partitions empty without a note" if empty else ""),
        {
            "worst_partition": str(d),
            "etfs": rows,
            "universe": universe_size,
            "ratio_pct": round(100 * ratio, 2),
            "missing_count": len(missing),
            "missing_sample": missing[:MAX_OFFENDERS],
            **metadata,
        },
    )


def uniqueness(conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]) -> RuleOutcome:
    """No key (the table's id columns) appears twice; the most repeated are named."""
    keys = ", ".join(TABLES[table].id_columns)
    duplicates = conn.execute(
        f"SELECT {keys}, count(*) AS n FROM {table} "
        f"WHERE {_key(table)} IN (SELECT unnest(?::DATE[])) GROUP BY ALL HAVING n > 1 "
        f"ORDER BY n DESC LIMIT {MAX_OFFENDERS}",
        [list(dates)],
    ).fetchall()
    total = conn.execute(
        f"SELECT count(*) FROM (SELECT {keys} FROM {table} WHERE {_key(table)} IN "
        f"(SELECT unnest(?::DATE[])) GROUP BY ALL HAVING count(*) > 1)",
        [list(dates)],
    ).fetchone()[0]
    return RuleOutcome(
        total == 0,
        f"{table}: {total} duplicated keys ({keys})",
        {"duplicated_keys": total, "offenders": [" / ".join(map(str, r[:-1])) for r in duplicates]},
    )


def coverage(conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]) -> RuleOutcome:
    """Columns people rely on are non-NULL in at least their share of rows (`COVERAGE`)."""
    thresholds = COVERAGE[table]
    select = ", ".join(f'avg(("{c}" IS NOT NULL)::INT) AS "{c}"' for c in thresholds)
    row = conn.execute(
        f"SELECT count(*), {select} FROM {table} WHERE {_key(table)} IN (SELECT unnest(?::DATE[]))",
        [list(dates)],
    ).fetchone()
    if not row[0]:
        return RuleOutcome(True, f"{table}: no rows to measure", {"rows": 0})
    shares = dict(zip(thresholds, row[1:], strict=True))
    short = {c: round(100 * s, 2) for c, s in shares.items() if s < thresholds[c]}
    return RuleOutcome(
        not short,
        f"{table}: coverage below threshold for {sorted(short)}" if short else f"{table}: covered",
        {
            "rows": row[0],
            "coverage_pct": {c: round(100 * s, 2) for c, s in shares.items()},
            "thresholds_pct": {c: 100 * t for c, t in thresholds.items()},
            "below_threshold": short,
        },
    )


def ranges(conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]) -> RuleOutcome:
    """Every row satisfies the table's predicates (`RANGES`); NULLs are coverage's business,
    NaN and infinity `finite`'s (a range lets them through)."""
    ticker = "etf_ticker" if table == "etf_holdings" else "ticker"
    failures: dict[str, object] = {}
    for label, predicate in RANGES[table].items():
        rows = conn.execute(
            f"SELECT {ticker} FROM {table} WHERE {_key(table)} IN (SELECT unnest(?::DATE[])) "
            f"AND NOT coalesce({predicate}, TRUE) ORDER BY 1",
            [list(dates)],
        ).fetchall()
        if rows:
            failures[label] = {
                "count": len(rows),
                "offenders": sorted({r[0] for r in rows})[:MAX_OFFENDERS],
            }
    return RuleOutcome(
        not failures,
        f"{table}: out of range: {sorted(failures)}" if failures else f"{table}: all in range",
        {"violations": failures, "rules": list(RANGES[table])},
    )


FLOATING_TYPES = ("DOUBLE", "FLOAT")
OUTLIER_BAND = f"|close − NAV| / NAV > {PREMIUM_OUTLIER_PCT:g} %"


def floating_columns(table: str) -> list[str]:
    """The columns of `table` that can hold NaN or infinity: DOUBLE and FLOAT in the contract."""
    return [name for name, sql_type in TABLES[table].columns if sql_type in FLOATING_TYPES]


def _json_value(value: object) -> object:
    """A key or offending value as JSON metadata can carry it: dates and NaN/inf as text."""
    return value if isinstance(value, str | int) else str(value)


def finite(conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]) -> RuleOutcome:
    """Every floating column holds a finite number or NULL: never NaN or ±infinity, which no
    user can act on and which spread into every sum and mean they enter (a missing value is
    NULL, docs/assets.md § Absent values).

    The `ranges` predicates cannot catch them: they run as `coalesce(pred, TRUE)`, and DuckDB
    orders NaN above every number, so `nav > 0` or `aum_krw >= 0` is true for NaN (and for
    +infinity); a NaN passed every range check before this rule. `isfinite` is false for NaN
    and ±infinity and NULL for NULL, which passes. (A frame's NaN is written as NULL, since
    DuckDB reads pandas' NaN as missing; NaN comes from SQL, 0 / 0, infinity from either.)
    """
    columns = floating_columns(table)
    if not columns:
        return RuleOutcome(True, f"{table}: no floating columns", {"columns_checked": []})
    in_dates = f"{_key(table)} IN (SELECT unnest(?::DATE[]))"
    counts = conn.execute(
        "SELECT "
        + ", ".join(f'count(*) FILTER (WHERE NOT isfinite("{c}"))' for c in columns)
        + f" FROM {table} WHERE {in_dates}",
        [list(dates)],
    ).fetchone()
    keys = TABLES[table].id_columns
    violations: dict[str, object] = {}
    for column, count in zip(columns, counts, strict=True):
        if not count:
            continue
        rows = conn.execute(
            f'SELECT {", ".join(keys)}, "{column}" FROM {table} '
            f'WHERE {in_dates} AND NOT isfinite("{column}") ORDER BY ALL LIMIT {MAX_OFFENDERS}',
            [list(dates)],
        ).fetchall()
        violations[column] = {
            "count": count,
            "offenders": [
                {name: _json_value(v) for name, v in zip((*keys, "value"), row, strict=True)}
                for row in rows
            ],
        }
    total = sum(v["count"] for v in violations.values())  # type: ignore[index]
    return RuleOutcome(
        not violations,
        f"{table}: {total} NaN or infinite values in {sorted(violations)}"
        if violations
        else f"{table}: every floating value finite or NULL",
        {"columns_checked": columns, "non_finite": violations},
    )


def session_premium_outliers(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Sessions whose close is more than `PREMIUM_OUTLIER_PCT` from NAV (etf_daily_prices):
    real prints, kept as KRX published them, but no premium anyone could deal at; the overview
    lists them apart from its rankings. The largest are named."""
    frame = conn.execute(
        f"SELECT * FROM (SELECT trade_date::VARCHAR AS trade_date, ticker, name, close, nav, "
        f"{premium_pct_sql()} AS premium_pct FROM {table} "
        f"WHERE {_key(table)} IN (SELECT unnest(?::DATE[]))) "
        f"WHERE abs(premium_pct) > {PREMIUM_OUTLIER_PCT} ORDER BY abs(premium_pct) DESC, ticker",
        [list(dates)],
    ).df()
    return RuleOutcome(
        frame.empty,
        f"{table}: {len(frame)} sessions with {OUTLIER_BAND}",
        {
            "band_pct": PREMIUM_OUTLIER_PCT,
            "outliers": len(frame),
            "offenders": frame.round(2).head(MAX_OFFENDERS).to_dict("records"),
        },
    )


def window_premium_outliers(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Premium/discount means (etf_tracking_error) taken over an outlier session: correct as
    defined, but one +21,597 % session makes a 250-session mean +86 %. Counted per window
    (figures that exist only); the ETFs are named with their worst such session."""
    windows = (
        f"SELECT ticker, as_of_date FROM {table} WHERE {_key(table)} IN "
        f"(SELECT unnest($dates::DATE[])) AND premium_discount_{min(WINDOWS)}d_pct IS NOT NULL"
    )
    in_window = {
        n: f"o.session_rank <= {n} AND t.premium_discount_{n}d_pct IS NOT NULL" for n in WINDOWS
    }
    counts = ", ".join(
        f"count(*) FILTER (WHERE {cond}) AS outlier_sessions_{n}d" for n, cond in in_window.items()
    )
    worst = "abs(o.premium_pct)"
    frame = conn.execute(
        f"""
SELECT o.ticker, o.as_of_date::VARCHAR AS as_of_date,
    {counts},
    any_value(t.premium_discount_20d_pct) AS premium_discount_20d_pct,
    arg_max(o.trade_date, {worst})::VARCHAR AS worst_session,
    arg_max(o.close, {worst}) AS close,
    arg_max(o.nav, {worst}) AS nav,
    arg_max(o.premium_pct, {worst}) AS premium_pct
FROM ({window_outliers_sql(windows, max(WINDOWS))}) AS o
JOIN {table} AS t ON t.ticker = o.ticker AND t.{_key(table)} = o.as_of_date
WHERE {" OR ".join(f"({cond})" for cond in in_window.values())}
GROUP BY o.ticker, o.as_of_date
ORDER BY max({worst}) DESC, o.ticker""",
        {"dates": list(dates)},
    ).df()
    affected = {f"{n}d": int((frame[f"outlier_sessions_{n}d"] > 0).sum()) for n in WINDOWS}
    return RuleOutcome(
        frame.empty,
        f"{table}: {len(frame)} ETFs with a premium/discount mean over a session with "
        f"{OUTLIER_BAND} (figures per window: {affected})",
        {
            "band_pct": PREMIUM_OUTLIER_PCT,
            "etfs": len(frame),
            "figures_per_window": affected,
            "offenders": frame.round(2).head(MAX_OFFENDERS).to_dict("records"),
        },
    )


def net_assets_agree(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """KRX's and KIS's net assets agree where both exist (etf_aum); the widest gaps are named."""
    frame = conn.execute(
        f"SELECT ticker, aum_krw, aum_krw_kis FROM {table} WHERE {_key(table)} IN "
        "(SELECT unnest(?::DATE[])) AND aum_source = 'krx_net_assets' AND aum_krw_kis IS NOT NULL",
        [list(dates)],
    ).df()
    frame["gap_pct"] = relative_gap_pct(frame["aum_krw_kis"], frame["aum_krw"])
    gap_krw = (frame["aum_krw_kis"] - frame["aum_krw"]).abs()
    beyond = frame[
        (frame["gap_pct"] > AUM_TOLERANCE_PCT) & (gap_krw >= KIS_NET_ASSETS_RESOLUTION_KRW)
    ]
    offenders = beyond.nlargest(MAX_OFFENDERS, "gap_pct")
    return RuleOutcome(
        beyond.empty,
        f"{len(frame)} ETFs with both figures; {len(beyond)} differ by more than "
        f"{AUM_TOLERANCE_PCT} %"
        if len(frame)
        else "no KIS figures for this partition (KIS not configured or not the newest session)",
        {
            "compared": len(frame),
            "max_gap_pct": float(frame["gap_pct"].max()) if len(frame) else None,
            "offenders": offenders[["ticker", "gap_pct"]].round(3).to_dict("records"),
        },
    )


# KRX corrects a few trades after the session (erroneous trades cancelled by agreement), and
# its flows and price screens need not carry the same correction: 1 % of a session's volume
# covers that, while a mapped column or a lost group moves the sum by far more.
FLOW_VOLUME_TOLERANCE_PCT = 1.0


def flows_sum_to_zero(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Per session and ETF the four groups' net values, and their net volumes, sum to zero
    (etf_investor_flows): every unit bought was sold by someone. KRX's own answer does, to the
    won (its 전체 column is 0); a non-zero sum is a group read from the wrong column, or lost.
    A sum over a NULL is not measured; a fund-session without its four groups fails."""
    sums = f"""
WITH sums AS (
    SELECT trade_date::VARCHAR AS trade_date, ticker, count(*) AS groups,
        CASE WHEN count(net_value_krw) = count(*) THEN sum(net_value_krw) END
            AS net_value_sum_krw,
        CASE WHEN count(net_volume) = count(*) THEN sum(net_volume) END AS net_volume_sum
    FROM {table} WHERE {_key(table)} IN (SELECT unnest(?::DATE[]))
    GROUP BY ALL
)"""
    total, values, volumes = conn.execute(
        f"{sums} SELECT count(*), count(net_value_sum_krw), count(net_volume_sum) FROM sums",
        [list(dates)],
    ).fetchone()
    cursor = conn.execute(
        f"{sums} SELECT * FROM sums WHERE coalesce(net_value_sum_krw, 0) <> 0 "
        f"OR coalesce(net_volume_sum, 0) <> 0 OR groups <> {len(INVESTORS)} ORDER BY ALL",
        [list(dates)],
    )
    names = [d[0] for d in cursor.description]
    off = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return RuleOutcome(
        not off,
        f"{table}: {len(off)} of {total} fund-sessions whose groups' nets do not sum to zero "
        f"(net values measured on {values}, net volumes on {volumes}; a NULL is not measured)",
        {
            "fund_sessions": total,
            "measured_values": values,
            "measured_volumes": volumes,
            "not_summing_to_zero": len(off),
            "offenders": off[:MAX_OFFENDERS],
        },
    )


def _gap_pct_sql(ours: str, theirs: str) -> str:
    """SQL: |ours − theirs| / theirs × 100, or 0 when both are 0 and 100 when only ours is not."""
    return (
        f"CASE WHEN {theirs} > 0 THEN abs({ours} - {theirs}) / {theirs} * 100 "
        f"WHEN {ours} = {theirs} THEN 0.0 ELSE 100.0 END"
    )


def flows_match_volume(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """What the groups bought adds up to the session's volume and traded value in
    etf_daily_prices, within `FLOW_VOLUME_TOLERANCE_PCT` (KRX's own corrections). Sessions
    with a NULL on either side are not compared."""
    frame = conn.execute(
        f"""
WITH bought AS (
    SELECT f.trade_date, f.ticker, sum(f.buy_volume) AS bought_volume,
        sum(f.buy_value_krw) AS bought_value_krw,
        any_value(p.volume) AS volume, any_value(p.traded_value_krw) AS traded_value_krw
    FROM {table} AS f
    JOIN etf_daily_prices AS p ON p.trade_date = f.trade_date AND p.ticker = f.ticker
    WHERE f.{_key(table)} IN (SELECT unnest(?::DATE[]))
    GROUP BY f.trade_date, f.ticker
    HAVING count(f.buy_volume) = count(*) AND count(f.buy_value_krw) = count(*)
        AND any_value(p.volume) IS NOT NULL AND any_value(p.traded_value_krw) IS NOT NULL
)
SELECT trade_date::VARCHAR AS trade_date, ticker, bought_volume::BIGINT AS bought_volume,
    volume, bought_value_krw::BIGINT AS bought_value_krw, traded_value_krw,
    greatest({_gap_pct_sql("bought_volume", "volume")},
             {_gap_pct_sql("bought_value_krw", "traded_value_krw")}) AS gap_pct
FROM bought ORDER BY gap_pct DESC, trade_date, ticker""",
        [list(dates)],
    ).df()
    off = frame[frame["gap_pct"] > FLOW_VOLUME_TOLERANCE_PCT]
    return RuleOutcome(
        off.empty,
        f"{table}: {len(off)} of {len(frame)} fund-sessions whose bought volume or value is "
        f"more than {FLOW_VOLUME_TOLERANCE_PCT:g} % from the session's (etf_daily_prices)",
        {
            "compared": len(frame),
            "beyond_tolerance": len(off),
            "exact": int((frame["gap_pct"] == 0).sum()),
            "tolerance_pct": FLOW_VOLUME_TOLERANCE_PCT,
            "offenders": off.round(3).head(MAX_OFFENDERS).to_dict("records"),
        },
    )


def _agrees_with_krx(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    dates: Sequence[date],
    ours: str,
    krx: str,
    tolerance_pctpt: float,
    compared_what: str,
) -> RuleOutcome:
    """`ours` within `tolerance_pctpt` of KRX's published `krx` wherever both exist."""
    key = _key(table)
    frame = conn.execute(
        f"SELECT {key}, ticker, {ours} AS ours, {krx} AS krx FROM {table} "
        f"WHERE {key} IN (SELECT unnest(?::DATE[])) AND {ours} IS NOT NULL AND {krx} IS NOT NULL",
        [list(dates)],
    ).df()
    frame["diff_pctpt"] = (frame["ours"] - frame["krx"]).abs()
    offenders = frame[frame["diff_pctpt"] > tolerance_pctpt].sort_values(
        "diff_pctpt", ascending=False
    )
    offenders = offenders.assign(**{key: offenders[key].astype(str)})
    return RuleOutcome(
        offenders.empty,
        f"{len(frame)} {compared_what} compared with KRX's; {len(offenders)} differ by more "
        f"than {tolerance_pctpt} %pt",
        {
            "compared": len(frame),
            "tolerance_pctpt": tolerance_pctpt,
            "median_abs_diff_pctpt": float(frame["diff_pctpt"].median()) if len(frame) else None,
            "max_abs_diff_pctpt": float(frame["diff_pctpt"].max()) if len(frame) else None,
            "offenders": offenders.round(4).head(MAX_OFFENDERS).to_dict("records"),
        },
    )


def tracking_agrees_with_krx(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Our 250-session tracking error is within `TRACKING_TOLERANCE_PCTPT` of KRX's published
    추적오차율 for the ETFs sampled (etf_tracking_error)."""
    return _agrees_with_krx(
        conn, table, dates, "tracking_error_250d_pct", "krx_tracking_error_pct",
        TRACKING_TOLERANCE_PCTPT, "tracking errors",
    )  # fmt: skip


@dataclass(frozen=True)
class UniverseRule:
    """A rule over the whole (unpartitioned) etf_universe: `offenders_sql` selects the
    tickers that break it; none must."""

    description: str
    offenders_sql: str


UNIVERSE_RULES: dict[str, UniverseRule] = {
    "unique_tickers": UniverseRule(
        "No ticker appears twice in etf_universe.",
        "SELECT ticker FROM etf_universe GROUP BY ticker HAVING count(*) > 1",
    ),
    "status_consistent": UniverseRule(
        "A listed fund has no delisted_date; a delisted one has one after its last session, "
        "and says whether it was inferred.",
        "SELECT ticker FROM etf_universe WHERE NOT coalesce(CASE status "
        "WHEN 'listed' THEN delisted_date IS NULL AND delisted_date_inferred IS NULL "
        "WHEN 'delisted' THEN delisted_date > last_session AND delisted_date_inferred IS NOT NULL "
        "END, false)",
    ),
    "newest_master_listed": UniverseRule(
        "Every fund in the newest master (etf_details) is in etf_universe as listed.",
        "SELECT d.ticker FROM etf_details AS d LEFT JOIN etf_universe AS u USING (ticker) "
        "WHERE d.trade_date = (SELECT max(trade_date) FROM etf_details) "
        "AND u.status IS DISTINCT FROM 'listed'",
    ),
    "prices_covered": UniverseRule(
        "Every fund etf_daily_prices names is in etf_universe.",
        "SELECT DISTINCT ticker FROM etf_daily_prices ANTI JOIN etf_universe USING (ticker)",
    ),
}


def universe_rule(conn: duckdb.DuckDBPyConnection, name: str) -> RuleOutcome:
    """`UNIVERSE_RULES[name]` over the warehouse; the offending tickers are named."""
    offenders = sorted(r[0] for r in conn.execute(UNIVERSE_RULES[name].offenders_sql).fetchall())
    return RuleOutcome(
        not offenders,
        f"etf_universe: {len(offenders)} funds break {name}",
        {"offenders_count": len(offenders), "offenders": offenders[:MAX_OFFENDERS]},
    )


def _payouts(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date], where: str
) -> list[tuple[str, date, date, float]]:
    """(ticker, record_date, ex_date, amount_per_share_krw) of the payouts matching `where`."""
    return conn.execute(
        f"SELECT ticker, record_date, ex_date, amount_per_share_krw FROM {table} "
        f"WHERE {_key(table)} IN (SELECT unnest(?::DATE[])) AND ({where}) "
        "ORDER BY record_date, ticker",
        [list(dates)],
    ).fetchall()


def ex_date_is_previous_session(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Every payout's ex-date is the XKRX session right before its record date
    (etf_distributions): returns add a payout back on that session, so a wrong ex-date moves
    it to the wrong day."""
    rows = _payouts(conn, table, dates, "TRUE")
    off = [
        {"ticker": t, "record_date": str(r), "ex_date": str(e), "expected": str(expected)}
        for t, r, e, _ in rows
        if e != (expected := previous_session(r))
    ]
    return RuleOutcome(
        not off,
        f"{table}: {len(off)} of {len(rows)} payouts whose ex_date is not the session before "
        "record_date",
        {"payouts": len(rows), "wrong_ex_date": len(off), "offenders": off[:MAX_OFFENDERS]},
    )


def amounts_positive(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Every payout is a positive, finite amount of KRW per share (etf_distributions): SEIBro
    lists paid amounts; a zero, negative, NULL or non-finite one is a parsing error."""
    rows = _payouts(
        conn, table, dates, "NOT coalesce(isfinite(amount_per_share_krw) AND "
        "amount_per_share_krw > 0, FALSE)",
    )  # fmt: skip
    return RuleOutcome(
        not rows,
        f"{table}: {len(rows)} payouts whose amount is not a positive finite number",
        {
            "not_positive": len(rows),
            "offenders": [
                {"ticker": t, "record_date": str(r), "amount_per_share_krw": _json_value(a)}
                for t, r, _, a in rows[:MAX_OFFENDERS]
            ],
        },
    )


def liquidation_only_when_delisted(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """A liquidation payout (kind liquidation) belongs to a fund that stopped trading: it has no
    price in etf_daily_prices after the record date. One that trades on is income or another
    payout read as a liquidation, which would vanish from its yield."""
    frame = conn.execute(
        f"""
SELECT d.ticker, d.record_date::VARCHAR AS record_date, d.amount_per_share_krw,
    min(p.trade_date)::VARCHAR AS first_price_after, count(*) AS sessions_priced_after
FROM {table} AS d
JOIN etf_daily_prices AS p ON p.ticker = d.ticker AND p.trade_date > d.record_date
WHERE d.{_key(table)} IN (SELECT unnest(?::DATE[])) AND d.kind = 'liquidation'
GROUP BY ALL ORDER BY 2, 1""",
        [list(dates)],
    ).df()
    liquidations = conn.execute(
        f"SELECT count(*) FROM {table} WHERE {_key(table)} IN (SELECT unnest(?::DATE[])) "
        "AND kind = 'liquidation'",
        [list(dates)],
    ).fetchone()[0]
    return RuleOutcome(
        frame.empty,
        f"{table}: {len(frame)} of {liquidations} liquidation payouts of funds priced after "
        "their record date",
        {
            "liquidations": liquidations,
            "still_trading": len(frame),
            "offenders": frame.head(MAX_OFFENDERS).to_dict("records"),
        },
    )


def returns_agree_with_krx(
    conn: duckdb.DuckDBPyConnection, table: str, dates: Sequence[date]
) -> RuleOutcome:
    """Our 1-month price return is within `RETURNS_TOLERANCE_PCTPT` of KRX's own period change
    (krx_return_1m_pct) wherever both exist."""
    return _agrees_with_krx(
        conn, table, dates, "return_1m_pct", "krx_return_1m_pct",
        RETURNS_TOLERANCE_PCTPT, "1-month returns",
    )  # fmt: skip


def refreshed_whole(table: str) -> bool:
    """Partitioned by month and refreshed whole every session: a quiet month writes no newer
    partition, so freshness is when the newest write happened, not which partition it was."""
    return phase_of(table).target is Target.MONTHS


def expected_newest(table: str, now: datetime) -> date:
    """The newest partition `table` should have at `now`, in sessions (weekends never count):
    its phase's session once the phase's time plus GRACE has passed."""
    phase = phase_of(table)
    due = now.astimezone(KST) - GRACE - phase.since_midnight
    if phase.target is Target.DISCLOSED_MONTH:
        # Its month's first session's phase has passed, or the month has not begun for it.
        day = due.date()
        if not sessions_between(day.replace(day=1), day):
            day = day.replace(day=1) - timedelta(days=1)
        return disclosed_month(day)
    if phase.target is Target.WEEK:
        # The Sunday phase covers the week just ended.
        sunday = due.date() - timedelta(days=(due.date().weekday() + 1) % 7)
        for back in range(0, 8 * 7, 7):
            last = week_last_session(sunday - timedelta(days=back))
            if last:
                return last
        raise ValueError(f"no session in the 8 weeks before {sunday}")
    shifted = due.date()
    return shifted if is_session(shifted) else sessions_back(shifted, 1)[0]


def unwritten(
    conn: duckdb.DuckDBPyConnection, table: str, metadata: dict[str, object] | None = None
) -> RuleOutcome:
    """The outcome for a table etf_partition_log records no partition of: "never written" only
    when the table holds no row either; rows stored some other way are named, not denied."""
    rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    if rows:
        return RuleOutcome(
            False,
            f"{table}: {rows:,} rows, but etf_partition_log records no partition of it",
            metadata or {},
        )
    return RuleOutcome(False, f"{table}: {table} never written", metadata or {})


def freshness(conn: duckdb.DuckDBPyConnection, table: str, now: datetime) -> RuleOutcome:
    """Fresh when the newest partition written (an empty closure counts) is the expected one;
    for a refreshed table, when its newest write came after the expected session's phase."""
    expected = expected_newest(table, now)
    metadata: dict[str, object] = {"expected": str(expected)}
    if refreshed_whole(table):
        # Every refresh rewrites the expected session's month (a backfill of others does not).
        month = expected.replace(day=1)
        metadata["refreshed_partition"] = str(month)
        written = conn.execute(
            "SELECT max(written_at)::TIMESTAMPTZ FROM etf_partition_log "
            "WHERE table_name = ? AND partition_date = ?",
            [table, month],
        ).fetchone()[0]
        # The session whose phase had passed when it was written (grace does not apply).
        newest = None if written is None else expected_newest(table, written + GRACE)
        if written is not None:
            metadata["refreshed_at"] = written.astimezone(KST).isoformat(timespec="seconds")
    else:
        newest = newest_partition(conn, table)
    if newest is None and refreshed_whole(table):
        description = f"{table}: its {expected:%Y-%m} partition never written"
        return RuleOutcome(False, description, metadata)
    if newest is None:
        return unwritten(conn, table, metadata)
    if phase_of(table).target is Target.DISCLOSED_MONTH:
        months = max(0, (expected.year - newest.year) * 12 + expected.month - newest.month)
        return RuleOutcome(
            months == 0,
            f"{table}: newest {newest:%Y-%m}, expected {expected:%Y-%m} ({months} months behind)",
            {"newest": str(newest), **metadata, "months_behind": months},
        )
    lag = len(sessions_between(newest + timedelta(days=1), expected))
    return RuleOutcome(
        lag == 0,
        f"{table}: newest {newest}, expected {expected} ({lag} sessions behind)",
        {"newest": str(newest), **metadata, "sessions_behind": lag},
    )
