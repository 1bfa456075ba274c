"""Shared fixtures: the sandbox over real HTTP on 127.0.0.1, and warehouses built from it.

The sandbox runs on the real clock, so every session up to the last completed one is
published; tests use fixed past sessions (AS_OF and earlier) so their answers never change.
"""

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource
from filelock import FileLock

from etf_assets.assets.distributions import etf_distributions
from etf_assets.assets.flows import etf_investor_flows
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.metrics import etf_52w, etf_aum, etf_tracking_error
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.reports import etf_overview
from etf_assets.assets.returns import etf_returns
from etf_assets.assets.universe import etf_universe
from etf_assets.checks import ALL_CHECKS
from etf_assets.parsing.seibro import kind_of
from etf_assets.partitions import sessions_back
from etf_assets.resources.kis import KISClient
from etf_assets.resources.krx import KRXClient
from etf_assets.resources.seibro import SEIBroClient
from etf_assets.warehouse.schema import TABLES
from etf_sandbox.market import Market
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

AS_OF = date(2026, 11, 20)  # a Friday: a session and its week's last session
HISTORY_SESSIONS = 260  # enough for 52w (365 days) and 250 returns
HISTORY_START = sessions_back(AS_OF, HISTORY_SESSIONS)[0]
DISTRIBUTION_MONTHS = (HISTORY_START.replace(day=1), AS_OF.replace(day=1))  # monthly keys

ALL_ASSETS = [
    krx_etf_list,
    etf_details,
    etf_daily_prices,
    etf_holdings,
    etf_aum,
    etf_52w,
    etf_tracking_error,
    etf_distributions,
    etf_returns,
    etf_investor_flows,
    etf_overview,
    etf_universe,
]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig()) as server:
        yield server


def table_frame(table: str, rows: list[dict[str, object]]) -> pd.DataFrame:
    """Rows for `table`, in its column order, with every column not given NULL."""
    frame = pd.DataFrame(rows)
    for column in TABLES[table].column_names:
        if column not in frame:
            frame[column] = None
    return frame[list(TABLES[table].column_names)]


def market_distributions(market: Market, start: date, end: date) -> pd.DataFrame:
    """The sandbox market's payouts with record dates in [start, end] as etf_distributions
    rows (what the SEIBro asset stores), for tests that need payouts without running it."""
    payouts = market.distributions(start, end)
    rows = payouts.rename(
        columns={"amount_krw": "amount_per_share_krw", "tax_base_price": "tax_base_price_krw"}
    ).assign(kind=[kind_of(r) for r in payouts["reason"]], source="sandbox")
    return table_frame("etf_distributions", rows.to_dict("records"))


def krx_client(sandbox: Sandbox, **overrides: object) -> KRXClient:
    config: dict[str, object] = {
        "data_url": sandbox.url,
        "openapi_url": sandbox.url,
        "requests_per_second": 45.0,  # the sandbox blocks above 50/s, like KRX blocks bursts
    }
    config.update(overrides)
    return KRXClient(**config)


def unconfigured_kis() -> KISClient:
    return KISClient(app_key=None, app_secret=None)


def resources(sandbox: Sandbox, db_path: Path, **overrides: object) -> dict[str, object]:
    return {
        "krx": krx_client(sandbox),
        "kis": unconfigured_kis(),
        "seibro": SEIBroClient(url=sandbox.url, requests_per_second=20.0),
        "duckdb": DuckDBResource(database=str(db_path)),
        **overrides,
    }


def materialize(
    assets: list,
    res: dict[str, object],
    partition: str | None = None,
    *,
    span: tuple[date, date] | None = None,
    run_config: dict[str, object] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize `assets` (plus the others as sources) for one key or one single-run range."""
    tags = (
        {
            "dagster/asset_partition_range_start": span[0].isoformat(),
            "dagster/asset_partition_range_end": span[1].isoformat(),
        }
        if span
        else None
    )
    selection = [key for a in assets for key in a.keys]
    return dg.materialize(
        ALL_ASSETS,
        selection=selection,
        resources=res,
        partition_key=partition,
        tags=tags,
        run_config=run_config,
        raise_on_error=False,
    )


def checks_for(*assets: dg.AssetsDefinition) -> list[dg.AssetChecksDefinition]:
    """The project's checks on exactly these assets (blocking ones fail the run)."""
    keys = {key for a in assets for key in a.keys}
    return [c for c in ALL_CHECKS if {k.asset_key for k in c.check_keys} <= keys]


def materialize_with_checks(
    assets: list[dg.AssetsDefinition],
    res: dict[str, object],
    partition: str,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """Like `dagster asset materialize` does: the assets and their checks in one run."""
    return dg.materialize(
        [*ALL_ASSETS, *checks_for(*assets)],
        selection=[key for a in assets for key in a.keys],
        resources=res,
        partition_key=partition,
        instance=instance,
        raise_on_error=False,
    )


@pytest.fixture(scope="session")
def warehouse_path(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with listing, 260 sessions of prices, their months of distributions,
    holdings, every metric, returns, the investor flows, the overview snapshot for AS_OF and
    the universe.

    Built once per test run and shared by the xdist workers (a file lock, as pytest-xdist
    documents); tests must only read it (write tests copy it or use their own file).
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    db = root / "shared_warehouse" / "etf.duckdb"
    with FileLock(str(root / "shared_warehouse.lock")):
        if not (root / "shared_warehouse" / "complete").exists():
            db.parent.mkdir(exist_ok=True)
            res = resources(sandbox, db)
            steps = [
                materialize([krx_etf_list, etf_details], res, AS_OF.isoformat()),
                materialize([etf_daily_prices], res, span=(HISTORY_START, AS_OF)),
                materialize([etf_aum, etf_52w], res, AS_OF.isoformat()),
                materialize([etf_holdings, etf_tracking_error], res, AS_OF.isoformat()),
                materialize([etf_investor_flows], res, AS_OF.isoformat()),
                materialize([etf_distributions], res, span=DISTRIBUTION_MONTHS),
                materialize([etf_returns], res, AS_OF.isoformat()),
                materialize([etf_overview], res, AS_OF.isoformat()),
                materialize([etf_universe], res),
            ]
            for result in steps:
                assert result.success, [e.message for e in result.all_events if e.is_failure]
            (root / "shared_warehouse" / "complete").touch()
    return db
