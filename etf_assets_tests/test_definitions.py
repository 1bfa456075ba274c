"""The one Definitions object loads with every asset, check, job and schedule."""

import subprocess
import sys

from etf_assets.definitions import defs

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
    assert {"listing_job", "prices_job", "week52_job", "tracking_job", "monitoring"} <= {
        job.name for job in defs.jobs
    }
    assert set(defs.resources) >= {"krx", "kis", "duckdb"}


def test_definitions_load_in_a_fresh_process_without_warnings() -> None:
    """What `dagster` and the UI do on every run and reload (bench/ measures its time)."""
    completed = subprocess.run(
        [sys.executable, "-W", "error::dagster.BetaWarning", "-c", "import etf_assets.definitions"],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr


def test_secrets_are_env_vars_not_values(monkeypatch) -> None:
    from etf_assets.definitions import build_resources

    monkeypatch.setenv("KIS_APP_SECRET", "not-a-real-secret-0123456789")
    monkeypatch.setenv("KIS_APP_KEY", "PSkey")
    resources = build_resources()
    assert "not-a-real-secret" not in repr(resources["kis"])
