"""A small multi-year warehouse for the derived assets' range tests, built fast.

A sandbox of 150 ETFs with the KRX rate limit lifted (the client is not what these tests
measure) serves the listing; its market's three years of prices and payouts are written directly as
etf_daily_prices and etf_distributions rows (800 sessions through the wire and the parser
would take most of a minute), by the documented rules: O/H/L 0 and unpublished index levels
are NULL, net assets 0 on a listing day are NULL. One session inside the range
is written as KRX answers a closed day (no rows, a note), so every window must skip it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.partitions import sessions_between, week_last_session
from etf_assets.warehouse.migrate import ensure_schema
from etf_assets.warehouse.schema import TABLES
from etf_assets.warehouse.write import replace_partition, replace_partitions
from etf_assets_tests.helpers import (
    AS_OF,
    krx_client,
    market_distributions,
    materialize,
    resources,
    table_frame,
)
from etf_sandbox.server import Sandbox, SandboxConfig

N_ETFS = 150
PRICES_FROM = date(2023, 9, 1)  # a year and more of look-back before the range
RANGE = sessions_between(date(2024, 11, 1), AS_OF)  # the derived range: two years
WEEKS = tuple(
    sorted({w for d in RANGE if (w := week_last_session(d)) is not None and w >= RANGE[0]})
)
EMPTY_SESSION = date(2025, 3, 12)  # inside every kind of window of the range's later sessions
EMPTY_NOTE = f"KRX answered no data for session {EMPTY_SESSION}: unscheduled closure"


def fast_sandbox_config() -> SandboxConfig:
    return SandboxConfig(n_etfs=N_ETFS, krx_rate_per_s=100_000)


def fast_resources(sandbox: Sandbox, db: Path) -> dict[str, object]:
    return resources(sandbox, db, krx=krx_client(sandbox, requests_per_second=2_000.0))


def market_prices(sandbox: Sandbox, d: date) -> pd.DataFrame:
    """The market's session `d` as etf_daily_prices rows."""
    day = sandbox.market.daily(d)
    positive = {c: day[c].where(day[c] > 0) for c in ("open", "high", "low", "net_assets")}
    published = day["index_status"] == "published"
    rows = day.assign(
        trade_date=d,
        **positive,
        traded_value_krw=day["traded_value"],
        market_cap_krw=day["market_cap"],
        net_assets_krw=positive["net_assets"],
        index_close=day["index_close"].where(published & (day["index_close"] > 0)),
        source="sandbox",
    )
    return table_frame("etf_daily_prices", rows.to_dict("records"))


def build_history(sandbox: Sandbox, db: Path) -> None:
    """Listing of AS_OF, prices PRICES_FROM…AS_OF with EMPTY_SESSION empty, and the payouts."""
    listing = materialize(
        [krx_etf_list, etf_details], fast_resources(sandbox, db), AS_OF.isoformat()
    )
    assert listing.success, [e.message for e in listing.all_events if e.is_failure]
    sessions = [d for d in sessions_between(PRICES_FROM, AS_OF) if d != EMPTY_SESSION]
    prices = pd.concat([market_prices(sandbox, d) for d in sessions], ignore_index=True)
    payouts = market_distributions(sandbox.market, PRICES_FROM.replace(day=1), AS_OF)
    with duckdb.connect(str(db)) as conn:
        ensure_schema(conn)
        replace_partitions(conn, "etf_daily_prices", sessions, prices)
        empty = pd.DataFrame(columns=list(TABLES["etf_daily_prices"].column_names))
        replace_partition(conn, "etf_daily_prices", EMPTY_SESSION, empty, note=EMPTY_NOTE)
        months = sorted({d.replace(day=1) for d in payouts["record_date"]})
        replace_partitions(conn, "etf_distributions", months, payouts)
