"""Shared fixtures: the sandbox over real HTTP on 127.0.0.1, and warehouses built from it.

Only fixtures live here; what tests import (AS_OF, `resources`, `materialize`, …) is in
helpers.py. The sandbox runs on the real clock, so every session up to the last completed one
is published; tests use fixed past sessions (AS_OF and earlier) so their answers never change.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from etf_assets.assets.classification import etf_classification, etf_creations
from etf_assets.assets.costs import etf_costs
from etf_assets.assets.distributions import etf_distributions
from etf_assets.assets.exposure import (
    etf_exposure,
    etf_overlap,
    etf_stock_holders,
    stock_sectors,
    stock_shares,
)
from etf_assets.assets.flows import etf_investor_flows
from etf_assets.assets.holdings import etf_holdings
from etf_assets.assets.listing import etf_details, krx_etf_list
from etf_assets.assets.metrics import etf_52w, etf_aum, etf_tracking_error
from etf_assets.assets.prices import etf_daily_prices
from etf_assets.assets.reports import etf_overview
from etf_assets.assets.returns import etf_returns
from etf_assets.assets.universe import etf_universe
from etf_assets.phases import disclosed_month
from etf_assets_tests.helpers import (
    AS_OF,
    DISTRIBUTION_MONTHS,
    HISTORY_START,
    copy_warehouse,
    materialize,
    resources,
)
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(SandboxConfig()) as server:
        yield server


@pytest.fixture(scope="session")
def warehouse_path(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with listing, 260 sessions of prices, their months of distributions,
    holdings, every metric, returns, the investor flows, the classification and creations, the
    exposure group, the costs of the month KOFIA has disclosed by AS_OF, the overview snapshot
    for AS_OF and the universe.

    Built once per test run and shared by the xdist workers (a file lock, as pytest-xdist
    documents); tests must only read it (write tests take `db`, a copy of it).
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
                materialize([etf_classification], res, AS_OF.isoformat()),
                materialize([etf_creations], res, span=(HISTORY_START, AS_OF)),
                materialize(
                    [stock_sectors, stock_shares, etf_exposure, etf_overlap, etf_stock_holders],
                    res,
                    AS_OF.isoformat(),
                ),
                materialize([etf_costs], res, disclosed_month(AS_OF).isoformat()),
                materialize([etf_overview], res, AS_OF.isoformat()),
                materialize([etf_universe], res),
            ]
            for result in steps:
                assert result.success, [e.message for e in result.all_events if e.is_failure]
            (root / "shared_warehouse" / "complete").touch()
    return db


@pytest.fixture
def db(warehouse_path: Path, tmp_path: Path) -> Path:
    """This test's own copy of the shared warehouse (`tmp_path/etf.duckdb`), free to write."""
    return copy_warehouse(warehouse_path, tmp_path)
