"""Every default of etf_assets, and the environment variables that override them, in one place.

The names of the variables are a contract (README § Pointing it at the real services): users'
shells, cron jobs and CI set them. The defaults are the real services, so the sandbox is only
other URLs on the same code path.
"""

import os
from pathlib import Path

KRX_DATA_URL = "https://data.krx.co.kr"
KRX_OPENAPI_URL = "https://data-dbg.krx.co.kr"
KIS_BASE_URLS = {
    "real": "https://openapi.koreainvestment.com:9443",
    "paper": "https://openapivts.koreainvestment.com:29443",
}
KIS_ENV = "real"
SEIBRO_URL = "https://seibro.or.kr"
# Every upstream base-URL variable: the sandbox answers each (etf_sandbox.localrun.sandbox_env),
# so pointing at it can never leave one source on the real service.
UPSTREAM_URL_VARIABLES = ("KRX_DATA_URL", "KRX_OPENAPI_URL", "KIS_BASE_URL", "SEIBRO_URL")
DUCKDB_PATH = "data/etf.duckdb"

# KRX publishes no limit, but bursts have got client IPs blocked (pykrx #146): stay modest.
KRX_REQUESTS_PER_SECOND = 10.0
# A KIS app key's limit per environment (KIS notice of 2026-04-20).
KIS_REQUESTS_PER_SECOND = {"real": 18.0, "paper": 1.0}
# SEIBro publishes no limit and its firewall resets connections; collectors run at 4–20 a second.
SEIBRO_REQUESTS_PER_SECOND = 5.0


def is_set(name: str) -> bool:
    """The variable is set to something (an empty value counts as unset)."""
    return bool(os.environ.get(name))


def krx_data_url() -> str:
    return os.environ.get("KRX_DATA_URL") or KRX_DATA_URL


def krx_openapi_url() -> str:
    return os.environ.get("KRX_OPENAPI_URL") or KRX_OPENAPI_URL


def kis_base_url() -> str:
    """KIS_BASE_URL, else the real service of KIS_ENV (real or paper)."""
    return os.environ.get("KIS_BASE_URL") or KIS_BASE_URLS.get(kis_env(), "")


def seibro_url() -> str:
    return os.environ.get("SEIBRO_URL") or SEIBRO_URL


def dagster_home() -> Path | None:
    """DAGSTER_HOME, the Dagster instance's folder, if set."""
    home = os.environ.get("DAGSTER_HOME")
    return Path(home) if home else None


def cache_dir() -> Path:
    """The per-user cache folder (XDG base directory convention): $XDG_CACHE_HOME/etf_assets."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "etf_assets"


def duckdb_path() -> str:
    """The warehouse file: ETF_ASSETS_DUCKDB, else data/etf.duckdb (relative to the cwd)."""
    return os.environ.get("ETF_ASSETS_DUCKDB") or DUCKDB_PATH


def kis_env() -> str:
    return os.environ.get("KIS_ENV") or KIS_ENV


def _positive_rate(name: str, default: float) -> float:
    """The environment variable `name`, else the default; a value that is not a positive
    number fails, naming the variable."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        rate = float(raw)
    except ValueError:
        rate = 0.0
    if not rate > 0:
        raise ValueError(f"{name} must be a positive number, not {raw!r}")
    return rate


def krx_requests_per_second() -> float:
    return _positive_rate("KRX_REQUESTS_PER_SECOND", KRX_REQUESTS_PER_SECOND)


def seibro_requests_per_second() -> float:
    return _positive_rate("SEIBRO_REQUESTS_PER_SECOND", SEIBRO_REQUESTS_PER_SECOND)


# Alerting (docs/operations.md § Alerts). The URLs carry the channels' secrets: read them via
# dg.EnvVar.
ALERT_URLS_ENV = "ETF_ASSETS_ALERT_URLS"
ALERT_SEVERITIES = ("WARN", "ERROR")
ALERT_MIN_SEVERITY = "ERROR"
UI_URL = "http://127.0.0.1:3000"
# Every value that must never appear in a message (the alert URLs' own secrets are added).
SECRET_ENV_VARS = ("KRX_PW", "KRX_AUTH_KEY", "KIS_APP_KEY", "KIS_APP_SECRET")


def alerting_configured() -> bool:
    """ETF_ASSETS_ALERT_URLS holds at least one URL: the alert sensors ship running."""
    return bool((os.environ.get(ALERT_URLS_ENV) or "").strip(" ,"))


def alert_min_severity() -> str:
    """ETF_ASSETS_ALERT_MIN_SEVERITY (WARN or ERROR), else ERROR; another value fails."""
    raw = (os.environ.get("ETF_ASSETS_ALERT_MIN_SEVERITY") or ALERT_MIN_SEVERITY).upper()
    if raw not in ALERT_SEVERITIES:
        raise ValueError(f"ETF_ASSETS_ALERT_MIN_SEVERITY must be WARN or ERROR, not {raw!r}")
    return raw


def ui_url() -> str:
    """ETF_ASSETS_UI_URL, the Dagster UI that messages link to, else the local `make dev` one."""
    return (os.environ.get("ETF_ASSETS_UI_URL") or UI_URL).rstrip("/")
