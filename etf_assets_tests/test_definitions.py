"""The one Definitions object loads with every asset, check, job and schedule."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from etf_assets.definitions import defs
from etf_assets.resources.kis import KISClient
from etf_assets.resources.krx import KRXClient
from etf_assets.warehouse.write import WAREHOUSE_POOL

ASSETS = {
    "krx_etf_list", "etf_details", "etf_daily_prices", "etf_holdings",
    "etf_aum", "etf_52w", "etf_tracking_error",
}  # fmt: skip


def test_definitions_hold_the_asset_graph() -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys >= ASSETS
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert {"listing", "prices", "holdings", "metrics"} <= groups
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for asset in ASSETS:
        assert {(asset, "complete"), (asset, "unique_keys"), (asset, "fresh_in_sessions")} <= checks
    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"listing_job", "prices_job", "week52_job", "tracking_job", "monitoring_job"} <= jobs
    assert set(defs.resources) >= {"krx", "kis", "duckdb"}


def test_every_step_opening_the_warehouse_is_in_its_concurrency_pool() -> None:
    """deploy/dagster.yaml admits one run at a time into this pool: a step outside it could
    start beside a writer and fail on DuckDB's file lock."""
    repository = defs.get_repository_def()
    steps = {
        key.to_user_string(): assets.node_def.pool
        for key, assets in repository.assets_defs_by_key.items()
        if assets.is_executable
    }
    steps |= {
        f"{key.asset_key.to_user_string()}:{key.name}": checks.node_def.pool
        for key, checks in repository.asset_checks_defs_by_key.items()
    }
    assert len(steps) > 100
    assert {name for name, pool in steps.items() if pool != WAREHOUSE_POOL} == set()


def test_definitions_load_in_a_fresh_process_without_warnings_or_a_calendar_build(
    tmp_path: Path,
) -> None:
    """What `dagster` and the UI do on every run and reload: no BetaWarning, and no
    exchange_calendars build once the calendar is cached (the first load of a day whose cached
    calendar is short of the horizon may build it; the next must not)."""
    script = "import sys, etf_assets.definitions; print('exchange_calendars' in sys.modules)"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    for _ in range(2):
        completed = subprocess.run(
            [sys.executable, "-W", "error::dagster.BetaWarning", "-c", script],
            capture_output=True,
            text=True,
            env=env,
        )
        assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "False"


def test_secrets_are_env_vars_not_values(monkeypatch) -> None:
    from etf_assets.definitions import build_resources

    monkeypatch.setenv("KIS_APP_SECRET", "not-a-real-secret-0123456789")
    monkeypatch.setenv("KIS_APP_KEY", "PSkey")
    resources = build_resources()
    assert "not-a-real-secret" not in repr(resources["kis"])


def test_secrets_stay_out_of_dumps_and_reprs() -> None:
    """A resource holding resolved secrets (as inside a run) shows none of them."""
    secret = "not-a-real-secret-0123456789"
    clients = (
        KISClient(app_key="PSkey", app_secret=secret),
        KRXClient(krx_id="member", krx_pw=secret, auth_key=secret),
    )
    for client in clients:
        for shown in (repr(client), str(client), client.model_dump(), client.model_dump_json()):
            assert secret not in str(shown)
    assert clients[0].is_configured and clients[1].has_login and clients[1].has_openapi


def test_rates_come_from_the_environment_and_bad_ones_are_named(monkeypatch) -> None:
    from etf_assets.definitions import build_resources

    monkeypatch.setenv("KRX_REQUESTS_PER_SECOND", "4")
    monkeypatch.setenv("SEIBRO_REQUESTS_PER_SECOND", "2.5")
    resources = build_resources()
    assert resources["krx"].requests_per_second == 4.0
    assert resources["seibro"].requests_per_second == 2.5
    for bad in ("0", "-1", "fast"):
        monkeypatch.setenv("SEIBRO_REQUESTS_PER_SECOND", bad)
        with pytest.raises(
            ValueError, match=f"SEIBRO_REQUESTS_PER_SECOND='{bad}' is not a number above 0"
        ):
            build_resources()
