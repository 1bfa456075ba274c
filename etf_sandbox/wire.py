"""What the sandbox's server and route modules share: requests, responses, the shared state
and its configuration, and the small helpers that write an answer.

Route modules (`krx_routes`, `kis_routes`, `seibro_routes`) import this module and the market,
never `etf_sandbox.server`; the server imports the route modules to collect their `ROUTES`.
The fault settings `Faults` holds are described in `etf_sandbox.server`.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from etf_assets.partitions import KST
from etf_sandbox.market import Market

SERVICES = ("krx_data", "krx_openapi", "kis", "seibro", "kofia")
KRX_DATA_PATH = "/comm/bldAttendant/getJsonData.cmd"
FAULT_KEYS = (
    "latency_ms", "timeout_every_n", "timeout_s", "http_5xx_next_n", "logout_next_n",
    "html_maintenance_next_n", "malformed_rows_n", "drop_field", "kis_egw00201_next_n",
    "kis_expire_tokens", "krx_password_change", "reset_next_n", "seibro_shift_rows",
    "krx_unscheduled_closures",
)  # fmt: skip


@dataclass
class SandboxConfig:
    """How the sandbox behaves; defaults mirror the real services' rules."""

    seed: int = 20260101
    n_etfs: int = 1070
    require_login: bool = False
    krx_accounts: dict[str, str] = field(default_factory=lambda: {"sandbox": "sandbox-pw"})
    openapi_keys: tuple[str, ...] = ("sandbox-auth-key",)
    kis_apps: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "PSsandboxAPPKEYreal0000000000000000": ("sandbox-secret-real", "real"),
            "PSsandboxAPPKEYpaper000000000000000": ("sandbox-secret-paper", "paper"),
        }
    )
    kis_rate_per_s: dict[str, float] = field(default_factory=lambda: {"real": 18, "paper": 1})
    krx_rate_per_s: float = 50  # beyond this the KRX data service serves its HTML block page
    openapi_daily_limit: int = 10_000  # per key per KST day
    seibro_rate_per_s: float = 25  # unknown for the real one; beyond it: connection resets
    latency_ms: int = 0
    now: Callable[[], datetime] | None = None
    port: int = 0


@dataclass
class SandboxRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    json: Any | None
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes


@dataclass
class SandboxResponse:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False  # reset the connection instead of answering


Handler = Callable[[SandboxRequest, "SandboxState"], SandboxResponse]


def json_response(
    obj: Any, status: int = 200, content_type: str = "application/json; charset=utf-8"
) -> SandboxResponse:
    """A JSON answer as the real services write it: UTF-8, Korean unescaped, compact."""
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)
    return SandboxResponse(status=status, body=body.encode("utf-8"), content_type=content_type)


def html_response(text: str, status: int = 200) -> SandboxResponse:
    return SandboxResponse(status, text.encode("utf-8"), "text/html; charset=utf-8")


class Faults:
    """Fault settings per scope ("all" or a service) with thread-safe counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[str, dict[str, Any]] = {}
        self._seen: dict[str, int] = {}

    def set(self, scope: str = "all", **settings: Any) -> None:
        unknown = set(settings) - set(FAULT_KEYS)
        if scope not in (*SERVICES, "all") or unknown:
            raise ValueError(f"unknown fault scope {scope!r} or keys {sorted(unknown)}")
        with self._lock:
            self._scopes.setdefault(scope, {}).update(settings)

    def clear(self) -> None:
        with self._lock:
            self._scopes.clear()
            self._seen.clear()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._scopes.items() if v}

    def get(self, service: str, name: str, default: Any = None) -> Any:
        """A persistent setting: the service's own value, else the "all" value, else default."""
        with self._lock:
            for scope in (service, "all"):
                value = self._scopes.get(scope, {}).get(name)
                if value not in (None, 0, False, ""):
                    return value
        return default

    def take(self, service: str, name: str) -> bool:
        """Consume one unit of a `*_next_n` counter (or a one-shot True flag); True if it fired."""
        with self._lock:
            for scope in (service, "all"):
                settings = self._scopes.get(scope, {})
                value = settings.get(name)
                if value is True:
                    settings[name] = False
                    return True
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    settings[name] = value - 1
                    return True
        return False

    def every_nth(self, service: str) -> bool:
        """True when this request is the n-th of `timeout_every_n` for its service."""
        n = self.get(service, "timeout_every_n")
        if not n:
            return False
        with self._lock:
            self._seen[service] = self._seen.get(service, 0) + 1
            return self._seen[service] % int(n) == 0


class Stats:
    """Every request as (monotonic time, service, path, status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[tuple[float, str, str, int]] = []

    def record(self, at: float, service: str, path: str, status: int) -> None:
        with self._lock:
            self._records.append((at, service, path, status))

    def reset(self) -> None:
        with self._lock:
            self._records.clear()

    def summary(self) -> dict[str, Any]:
        """Counts per service / path / status and per-service timestamps (JSON-friendly)."""
        with self._lock:
            records = list(self._records)
        out: dict[str, Any] = {
            "total": len(records), "by_service": {}, "by_path": {}, "by_status": {},
            "by_service_status": {}, "timestamps": {},
        }  # fmt: skip
        for at, service, path, status in records:
            out["by_service"][service] = out["by_service"].get(service, 0) + 1
            out["by_path"][path] = out["by_path"].get(path, 0) + 1
            out["by_status"][str(status)] = out["by_status"].get(str(status), 0) + 1
            per = out["by_service_status"].setdefault(service, {})
            per[str(status)] = per.get(str(status), 0) + 1
            out["timestamps"].setdefault(service, []).append(at)
        return out


@dataclass
class SandboxState:
    """Shared by every request thread; route modules keep their own state in `extra`."""

    config: SandboxConfig
    market: Market
    faults: Faults = field(default_factory=Faults)
    stats: Stats = field(default_factory=Stats)
    lock: threading.RLock = field(default_factory=threading.RLock)
    extra: dict[str, Any] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    krx_window: deque[float] = field(default_factory=deque)

    def now(self) -> datetime:
        """The sandbox clock in KST (config.now for frozen tests, else the real clock)."""
        now = self.config.now() if self.config.now else datetime.now(KST)
        return now.astimezone(KST)

    def sleep(self, seconds: float) -> None:
        """Sleep that ends early when the server stops (so shutdown never hangs)."""
        if seconds > 0:
            self.stopping.wait(seconds)
