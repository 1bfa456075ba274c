"""etf_returns' statement over small hand-made histories, for the tests of its rules: the
closes and payouts are loaded into an in-memory DuckDB and computed by RETURNS_SQL, as the
asset computes them from the warehouse."""

from collections.abc import Sequence
from datetime import date, timedelta
from itertools import accumulate

import duckdb
import pandas as pd

from etf_assets.metrics.returns import KRX_CHANGES, RETURNS_SQL, returns_params
from etf_assets.partitions import sessions_between
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.write import set_query_options
from etf_assets_tests.helpers import table_frame

NO_KRX = pd.DataFrame(
    {"trade_date": pd.Series(dtype="datetime64[us]"), "ticker": pd.Series(dtype="object"),
     "krx_return_1m_pct": pd.Series(dtype="float64")}
)  # fmt: skip


def returns_frame(
    closes: pd.DataFrame, paid: pd.DataFrame, dates: Sequence[date], sessions: Sequence[date]
) -> pd.DataFrame:
    """RETURNS_SQL's rows of `dates` over these closes and payouts, as the asset computes them."""
    with duckdb.connect() as conn:
        ensure_schema(conn)
        set_query_options(conn)
        for table, rows in (("etf_daily_prices", closes), ("etf_distributions", paid)):
            rows = (
                rows.assign(record_date=rows["ex_date"]) if table == "etf_distributions" else rows
            )
            conn.register("incoming", table_frame(table, rows.to_dict("records")))
            conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
            conn.unregister("incoming")
        conn.register(KRX_CHANGES, NO_KRX)
        frame = conn.execute(RETURNS_SQL, returns_params(sorted(dates), sessions)).df()
    frame["trade_date"] = frame["trade_date"].dt.date
    return frame


def payout_frequency(gaps: Sequence[int], paid: bool, listed_a_year: bool) -> str:
    """distribution_frequency of a fund paying income `gaps` days apart, the last payout 10
    days before the session (400 when not `paid` in the trailing year), listed three years
    before it (100 days when not `listed_a_year`)."""
    sessions = sessions_between(date(2022, 12, 1), date(2025, 12, 31))
    d = sessions[-1]
    last = d - timedelta(days=10 if paid else 400)
    ex_dates = [last - timedelta(days=back) for back in accumulate([0, *reversed(gaps)])]
    since = sessions[0] if listed_a_year else d - timedelta(days=100)
    closes = pd.DataFrame(
        [("F", s, 100.0) for s in sessions if s >= since], columns=["ticker", "trade_date", "close"]
    )
    paid_rows = pd.DataFrame(
        [("F", ex, 10.0, "income") for ex in ex_dates],
        columns=["ticker", "ex_date", "amount_per_share_krw", "kind"],
    )
    frame = returns_frame(closes, paid_rows, [d], sessions)
    return str(frame.set_index("ticker").loc["F", "distribution_frequency"])
