"""Every default of etf_assets, and the environment variables that override them, in one place.

The names of the variables are a contract (README § Pointing it at the real services): users'
shells, cron jobs and CI set them. The defaults are the real services, so the sandbox is only
other URLs on the same code path.
"""

import os
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from etf_assets.errors import ConfigurationError

KRX_DATA_URL = "https://data.krx.co.kr"
KRX_OPENAPI_URL = "https://data-dbg.krx.co.kr"
KIS_BASE_URLS = {
    "real": "https://openapi.koreainvestment.com:9443",
    "paper": "https://openapivts.koreainvestment.com:29443",
}
KIS_ENV = "real"
SEIBRO_URL = "https://seibro.or.kr"
KOFIA_URL = "https://dis.kofia.or.kr"
# Every upstream base-URL variable: the sandbox answers each (etf_sandbox.localrun.sandbox_env),
# so pointing at it can never leave one source on the real service.
UPSTREAM_URL_VARIABLES = (
    "KRX_DATA_URL", "KRX_OPENAPI_URL", "KIS_BASE_URL", "SEIBRO_URL", "KOFIA_URL",
)  # fmt: skip
DUCKDB_ENV = "ETF_ASSETS_DUCKDB"
DUCKDB_PATH = "data/etf.duckdb"

# KRX publishes no limit, but bursts have got client IPs blocked (pykrx #146): stay modest.
KRX_REQUESTS_PER_SECOND = 10.0
# The most KRX_REQUESTS_PER_SECOND may ask for: faster clients get KRX's block page
# (docs/krx.md § Maintenance page), which the sandbox serves above 50 a second.
KRX_MAX_REQUESTS_PER_SECOND = 50.0
# A KIS app key's limit per environment (KIS notice of 2026-04-20).
KIS_REQUESTS_PER_SECOND = {"real": 18.0, "paper": 1.0}
# SEIBro publishes no limit and its firewall resets connections; collectors run at 4–20 a second.
SEIBRO_REQUESTS_PER_SECOND = 5.0
# The most SEIBRO_REQUESTS_PER_SECOND may ask for: the fastest collectors reported run at 20
# (docs/seibro.md); the sandbox resets connections above 25.
SEIBRO_MAX_REQUESTS_PER_SECOND = 20.0
# KOFIA publishes no limit; one answer is a month of every fund (~1.6 MB for the ETFs alone), so
# a polite pace costs nothing: a 24-month backfill is 24 requests (docs/kofia.md).
KOFIA_REQUESTS_PER_SECOND = 2.0
KOFIA_MAX_REQUESTS_PER_SECOND = 10.0


def is_set(name: str) -> bool:
    """The variable is set to something (an empty value counts as unset)."""
    return bool(os.environ.get(name))


def masked_url(url: str) -> str:
    """`url` with a password in it (`https://user:pw@host`) shown as `***`, for messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _base_url(name: str, default: str) -> str:
    """The environment variable `name`, else the default; a value that is not an http(s) URL
    with a host fails at once, naming the variable."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        parts = urlsplit(raw)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        raise ConfigurationError(
            f"{name}={masked_url(raw)!r} is not an http(s) URL: set it like {default!r}, "
            "or unset it for that default"
        )
    return raw


def krx_data_url() -> str:
    return _base_url("KRX_DATA_URL", KRX_DATA_URL)


def krx_openapi_url() -> str:
    return _base_url("KRX_OPENAPI_URL", KRX_OPENAPI_URL)


def kis_base_url() -> str:
    """KIS_BASE_URL, else the real service of KIS_ENV (real or paper)."""
    return _base_url("KIS_BASE_URL", KIS_BASE_URLS[kis_env()])


def seibro_url() -> str:
    return _base_url("SEIBRO_URL", SEIBRO_URL)


def kofia_url() -> str:
    return _base_url("KOFIA_URL", KOFIA_URL)


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
    return os.environ.get(DUCKDB_ENV) or DUCKDB_PATH


READ_DUCKDB_ENV = "ETF_ASSETS_READ_DUCKDB"
READ_DUCKDB_SUFFIX = ".read.duckdb"


def read_duckdb_path(warehouse: str | None = None) -> str:
    """The published read snapshot (etf_assets.warehouse.publish): ETF_ASSETS_READ_DUCKDB, else
    beside the warehouse (`warehouse`, else duckdb_path()) as `<name>.read.duckdb`."""
    if os.environ.get(READ_DUCKDB_ENV):
        return os.environ[READ_DUCKDB_ENV]
    path = Path(warehouse or duckdb_path())
    return str(path.with_name(path.stem + READ_DUCKDB_SUFFIX))


def kis_env() -> str:
    """KIS_ENV (real or paper), else real; another value fails at once, naming the variable."""
    raw = os.environ.get("KIS_ENV") or KIS_ENV
    if raw not in KIS_BASE_URLS:
        raise ConfigurationError(
            f"KIS_ENV={raw!r} is neither 'real' nor 'paper': set one of them, or unset it for "
            f"{KIS_ENV!r}"
        )
    return raw


def _rate(name: str, default: float, maximum: float, why: str) -> float:
    """The environment variable `name`, else the default; a value that is not a number above 0
    and at most `maximum` (requests a second) fails at once, naming the variable."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        rate = float(raw)
    except ValueError:
        rate = float("nan")
    if not 0 < rate <= maximum:  # NaN fails too
        problem = "is above the limit" if rate > maximum else "is not a number above 0"
        raise ConfigurationError(
            f"{name}={raw!r} {problem}: set a rate above 0 and at most {maximum:g} requests a "
            f"second ({why}), or unset it for the default {default:g}"
        )
    return rate


def krx_requests_per_second() -> float:
    return _rate(
        "KRX_REQUESTS_PER_SECOND",
        KRX_REQUESTS_PER_SECOND,
        KRX_MAX_REQUESTS_PER_SECOND,
        "faster clients get KRX's block page",
    )


def seibro_requests_per_second() -> float:
    return _rate(
        "SEIBRO_REQUESTS_PER_SECOND",
        SEIBRO_REQUESTS_PER_SECOND,
        SEIBRO_MAX_REQUESTS_PER_SECOND,
        "the fastest SEIBro collectors reported; its firewall resets faster clients",
    )


def kofia_requests_per_second() -> float:
    return _rate(
        "KOFIA_REQUESTS_PER_SECOND",
        KOFIA_REQUESTS_PER_SECOND,
        KOFIA_MAX_REQUESTS_PER_SECOND,
        "KOFIA publishes no limit; each answer is a whole month of funds",
    )


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
        raise ConfigurationError(
            f"ETF_ASSETS_ALERT_MIN_SEVERITY={raw!r} is neither WARN nor ERROR: set one of them, or "
            f"unset it for {ALERT_MIN_SEVERITY}"
        )
    return raw


EXTRA_CLOSURES_ENV = "ETF_ASSETS_EXTRA_CLOSURES"


def extra_closures() -> dict[date, str]:
    """ETF_ASSETS_EXTRA_CLOSURES: days KRX closed that the calendar lacks, comma-separated ISO
    dates, each optionally `date=reason` (2027-03-03=임시공휴일); a malformed item fails,
    naming the variable and the item."""
    closed: dict[date, str] = {}
    for item in (os.environ.get(EXTRA_CLOSURES_ENV) or "").split(","):
        day, _, reason = (part.strip() for part in item.partition("="))
        if not item.strip():
            continue
        try:
            closed[date.fromisoformat(day)] = reason or f"closed by {EXTRA_CLOSURES_ENV}"
        except ValueError:
            raise ConfigurationError(
                f"{EXTRA_CLOSURES_ENV}: {item.strip()!r} is not YYYY-MM-DD or YYYY-MM-DD=reason"
            ) from None
    return closed


def ui_url() -> str:
    """ETF_ASSETS_UI_URL, the Dagster UI that messages link to, else the local `make dev` one."""
    return (os.environ.get("ETF_ASSETS_UI_URL") or UI_URL).rstrip("/")
