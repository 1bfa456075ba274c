"""The one `dg.Definitions` of etf_assets (workspace.yaml and `-m etf_assets.definitions`).

Configuration comes from the environment (README.md lists the names). Secrets pass through
`dg.EnvVar` only, so their values never appear in the UI, run config or logs; an unset optional
secret means "this source is not configured", which assets report in their metadata.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from etf_assets import settings
from etf_assets.alerts import AlertChannels
from etf_assets.assets import (
    classification,
    costs,
    distributions,
    exposure,
    flows,
    holdings,
    listing,
    metrics,
    prices,
    reports,
    returns,
    universe,
)
from etf_assets.checks import ALL_CHECKS
from etf_assets.publishing import publish_read_snapshot
from etf_assets.resources.kis import KISClient
from etf_assets.resources.kofia import KOFIAClient
from etf_assets.resources.krx import KRXClient
from etf_assets.resources.seibro import SEIBroClient
from etf_assets.schedules import PHASE_SCHEDULES, monitoring_schedule
from etf_assets.sensors import alert_sensors


def _secret(name: str) -> dg.EnvVar | None:
    """`dg.EnvVar(name)` when set, else None (the optional source is not configured)."""
    return dg.EnvVar(name) if settings.is_set(name) else None


def build_resources() -> dict[str, object]:
    return {
        "krx": KRXClient(
            data_url=settings.krx_data_url(),
            openapi_url=settings.krx_openapi_url(),
            krx_id=_secret("KRX_ID"),
            krx_pw=_secret("KRX_PW"),
            auth_key=_secret("KRX_AUTH_KEY"),
            requests_per_second=settings.krx_requests_per_second(),
        ),
        "kis": KISClient(
            app_key=_secret("KIS_APP_KEY"),
            app_secret=_secret("KIS_APP_SECRET"),
            env=settings.kis_env(),
            base_url=settings.kis_base_url(),
        ),
        "seibro": SEIBroClient(
            url=settings.seibro_url(),
            requests_per_second=settings.seibro_requests_per_second(),
        ),
        "kofia": KOFIAClient(
            url=settings.kofia_url(),
            requests_per_second=settings.kofia_requests_per_second(),
        ),
        "duckdb": DuckDBResource(database=settings.duckdb_path()),
        "alerts": AlertChannels(
            urls=_secret(settings.ALERT_URLS_ENV),
            ui_url=settings.ui_url(),
            min_severity=settings.alert_min_severity(),
        ),
    }


all_assets = dg.load_assets_from_modules(
    [
        listing,
        prices,
        holdings,
        metrics,
        returns,
        flows,
        reports,
        universe,
        distributions,
        classification,
        costs,
        exposure,
    ]
)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=ALL_CHECKS,
    schedules=[*PHASE_SCHEDULES, monitoring_schedule],
    sensors=[*alert_sensors(), publish_read_snapshot],
    resources=build_resources(),
    executor=dg.in_process_executor,
)
