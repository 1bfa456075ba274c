"""KISClient: the KIS (한국투자증권) Open API ETF quotations, as a Dagster resource.

What the wire needs and why (docs/kis.md § Token, § Errors, § Rate limit):
- One access token per app key and environment, issued at most about once a day: every issue
  sends the user a KakaoTalk message and KIS refuses a second issue within a minute (EGW00133).
  So the token is cached on disk (mode 0600, file named by a hash of key and environment), shared
  by threads (a process-wide lock) and processes (an fcntl lock around the issue), and reused
  until 10 minutes before `access_token_token_expired` (KST; `expires_in` is unreliable).
- 18 requests/s per app key (1 on paper), counted by KIS per key, not per process: one
  process-wide limiter per key, so two client instances share it. KIS measures arrival times,
  which jitter, so the client paces at RATE_HEADROOM of the limit and never lets more than that,
  rounded down, go out in any second (17 of 18), however late its threads wake.
- KIS answers errors as `rt_cd != "0"` with `msg_cd`, often on HTTP 500: the body is parsed on
  every status. EGW00201 (rate) → back off with jitter and retry; EGW00123 (token) → re-issue
  once and retry; EGW00133 → wait about a minute, never loop.
Secrets (app secret, token) never reach logs, reprs, exceptions or stats.
The parsers (and with them pandas) are imported where an answer is parsed, not at import time:
this module is on the Definitions load path (see `etf_assets.assets`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import requests
from pydantic import Field, PrivateAttr

from etf_assets import settings
from etf_assets.errors import (
    KISError,
    KISPaperUnsupported,
    KISRateLimited,
    KISTokenExpired,
    KISTokenIssueThrottled,
)
from etf_assets.parsing.kis import (
    is_zeroed_quote,
    parse_components,
    parse_inquire_price,
    parse_nav_daily_trend,
)
from etf_assets.partitions import KST
from etf_assets.resources.http import (
    DEFAULT_RETRIES,
    RateLimiter,
    build_session,
    fan_out,
    get_rate_limiter,
    transport_failure,
)

RATE_HEADROOM = 0.95  # pace at 95 % of the limit: KIS counts arrivals, which jitter
TOKEN_MARGIN = timedelta(minutes=10)  # refresh this long before access_token_token_expired
RATE_RETRY_ATTEMPTS = 6  # EGW00201 retries per request before KISRateLimited
RATE_BACKOFF_BASE_S = 0.2
RATE_BACKOFF_MAX_S = 4.0
NAV_DAILY_MAX_ROWS = 100  # KIS caps nav-comparison-daily-trend at 100 rows, newest first
NAV_DAILY_MAX_PAGES = 40

PATH_TOKEN = "/oauth2/tokenP"
PATH_PRICE = "/uapi/etfetn/v1/quotations/inquire-price"
PATH_NAV_DAILY = "/uapi/etfetn/v1/quotations/nav-comparison-daily-trend"
PATH_COMPONENTS = "/uapi/etfetn/v1/quotations/inquire-component-stock-price"
TR_PRICE = "FHPST02400000"
TR_NAV_DAILY = "FHPST02440200"
TR_COMPONENTS = "FHKST121600C0"

MSG_RATE_LIMITED = "EGW00201"
MSG_TOKEN_EXPIRED = "EGW00123"
MSG_TOKEN_THROTTLED = "EGW00133"
MSG_PAPER_UNSUPPORTED = "90000000"

# Errors every ticker would hit: fetch_many stops and raises instead of failing 1,000 times.
SYSTEMIC_ERRORS = (KISPaperUnsupported, KISTokenIssueThrottled, KISTokenExpired)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Token:
    access_token: str
    expires_at: datetime  # tz-aware

    def usable(self, now: datetime) -> bool:
        return now < self.expires_at - TOKEN_MARGIN

    def __repr__(self) -> str:
        return f"_Token(expires_at={self.expires_at.isoformat()})"


class _TokenSlot:
    """The process-wide state of one token cache file: a lock for threads and the token."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: _Token | None = None


_SLOTS: dict[str, _TokenSlot] = {}
_SLOTS_LOCK = threading.Lock()


def _slot(path: Path) -> _TokenSlot:
    with _SLOTS_LOCK:
        return _SLOTS.setdefault(str(path), _TokenSlot())


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive fcntl lock, so two processes never issue a token at the same time."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_cache(path: Path) -> _Token | None:
    """The cached token, or None when the file is missing or unreadable (then re-issue)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _Token(str(data["access_token"]), datetime.fromisoformat(data["expires_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(path: Path, token: _Token) -> None:
    """Atomic write (temp file + rename), created 0600 so the token is never world-readable."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        payload = {"access_token": token.access_token, "expires_at": token.expires_at.isoformat()}
        os.write(fd, json.dumps(payload).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _body(resp: requests.Response) -> dict[str, Any] | None:
    """The JSON object of any answer, whatever its HTTP status; None if it is not one."""
    try:
        data = resp.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _excerpt(resp: requests.Response) -> str:
    return resp.text[:160] if resp.text else ""


@dataclass
class _Counters:
    """Requests sent and EGW00201 retries, shared by the worker threads of one client."""

    requests: int = 0
    rate_limited_retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, sent: int = 0, retries: int = 0) -> None:
        with self.lock:
            self.requests += sent
            self.rate_limited_retries += retries

    def snapshot(self) -> tuple[int, int]:
        with self.lock:
            return self.requests, self.rate_limited_retries


class KISClient(dg.ConfigurableResource):
    """KIS Open API ETF quotations (real-account app key; paper keys get KISPaperUnsupported).

    Not configured (no key or secret) is a normal state: assets check `is_configured` and say
    so in metadata; calling a method anyway raises KISError telling what to set.
    """

    app_key: str | None = Field(default=None, description="KIS_APP_KEY; None = not configured")
    app_secret: str | None = Field(
        default=None,
        repr=False,
        exclude=True,  # out of model_dump() and everything built on it
        description="KIS_APP_SECRET (never logged, dumped or shown)",
    )
    env: str = Field(default=settings.KIS_ENV, description="real | paper (KIS_ENV)")
    base_url: str = Field(
        default=settings.KIS_BASE_URLS["real"],
        description="KIS_BASE_URL; the real default is swapped for the paper domain on paper",
    )
    token_cache_dir: str | None = Field(
        default=None, description="default $DAGSTER_HOME/kis_tokens, else ~/.cache/etf_assets"
    )
    requests_per_second: float | None = Field(
        default=None,
        description="the app key's limit (default 18 real / 1 paper); paced at 95 % of it",
    )
    max_workers: int = Field(default=16, description="threads of fetch_many")
    timeout_s: float = Field(default=10.0, description="connect and read timeout per request")
    token_issue_wait_s: float = Field(
        default=65.0, description="wait after EGW00133 (one token issue per minute per key)"
    )

    _clock: Callable[[], datetime] | None = PrivateAttr(default=None)
    _sleep: Callable[[float], None] | None = PrivateAttr(default=None)
    _session: requests.Session | None = PrivateAttr(default=None)
    _init_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _counters: _Counters = PrivateAttr(default_factory=_Counters)
    _cache_path: Path | None = PrivateAttr(default=None)

    # ---- identity and secrecy -------------------------------------------------------------

    def __repr__(self) -> str:
        key = f"{self.app_key[:6]}…" if self.app_key else None
        return (
            f"KISClient(app_key={key!r}, app_secret={'***' if self.app_secret else None}, "
            f"env={self.env!r}, base_url={self.base_url!r})"
        )

    __str__ = __repr__

    @property
    def is_configured(self) -> bool:
        """True when both app key and secret are set (KIS is optional; KRX alone suffices)."""
        return bool(self.app_key) and bool(self.app_secret)

    def use_clock(
        self,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> KISClient:
        """Inject a tz-aware clock and a sleep function (tests simulate expiry and waits)."""
        self._clock = clock
        self._sleep = sleep
        return self

    def _now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(KST)

    def _pause(self, seconds: float) -> None:
        (self._sleep or time.sleep)(seconds)

    def _require_configured(self) -> tuple[str, str]:
        if not self.app_key or not self.app_secret:
            raise KISError("KIS is not configured: set KIS_APP_KEY and KIS_APP_SECRET")
        if self.env not in settings.KIS_REQUESTS_PER_SECOND:
            raise KISError(f"KIS_ENV must be 'real' or 'paper', not {self.env!r}")
        return self.app_key, self.app_secret

    def _key_hash(self) -> str:
        key, _ = self._require_configured()
        return hashlib.sha256(f"{key}{self.env}".encode()).hexdigest()

    def _base(self) -> str:
        if self.env == "paper" and self.base_url.rstrip("/") == settings.KIS_BASE_URLS["real"]:
            return settings.KIS_BASE_URLS["paper"]
        return self.base_url.rstrip("/")

    # ---- plumbing -------------------------------------------------------------------------

    def _http(self) -> requests.Session:
        with self._init_lock:
            if self._session is None:
                self._session = build_session(pool_maxsize=max(self.max_workers, 10))
            return self._session

    def _transport_failure(self, when: str, exc: requests.RequestException) -> str:
        return transport_failure("KIS", self._base(), "KIS_BASE_URL", when, exc, DEFAULT_RETRIES)

    def _limiter(self) -> RateLimiter:
        """The process-wide limiter of this app key (shared by every client instance)."""
        limit = self.requests_per_second or settings.KIS_REQUESTS_PER_SECOND[self.env]
        paced = limit * RATE_HEADROOM
        return get_rate_limiter(
            f"kis:{self._key_hash()[:16]}", paced, burst=1, window_cap=max(1, math.floor(paced))
        )

    def cache_path(self) -> Path:
        """The token cache file: named by sha256(app key + env), never by the key itself."""
        if self._cache_path is not None:
            return self._cache_path
        if self.token_cache_dir:
            folder = Path(self.token_cache_dir)
        elif home := settings.dagster_home():
            folder = home / "kis_tokens"
        else:
            folder = settings.cache_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._cache_path = folder / f"kis_token_{self._key_hash()}.json"
        return self._cache_path

    # ---- token ----------------------------------------------------------------------------

    def _access_token(self) -> str:
        """A usable token: from memory, else the cache file, else one issue (under both locks)."""
        path = self.cache_path()
        slot = _slot(path)
        token = slot.token
        if token and token.usable(self._now()):
            return token.access_token
        with slot.lock:
            token = slot.token
            if token and token.usable(self._now()):
                return token.access_token
            with _file_lock(path.with_suffix(".lock")):
                token = _read_cache(path)
                if token is None or not token.usable(self._now()):
                    token = self._issue_token()
                    _write_cache(path, token)
                slot.token = token
        return token.access_token

    def _drop_token(self, failed: str) -> None:
        """Forget a token KIS rejected, unless another thread already replaced it."""
        path = self.cache_path()
        slot = _slot(path)
        with slot.lock:
            if slot.token and slot.token.access_token == failed:
                slot.token = None
            with _file_lock(path.with_suffix(".lock")):
                cached = _read_cache(path)
                if cached and cached.access_token == failed:
                    path.unlink(missing_ok=True)

    def _issue_token(self) -> _Token:
        """POST /oauth2/tokenP; on EGW00133 wait once (≥ 1 min) and try once more."""
        key, secret = self._require_configured()
        payload = {"grant_type": "client_credentials", "appkey": key, "appsecret": secret}
        url = f"{self._base()}{PATH_TOKEN}"
        for attempt in (1, 2):
            try:
                resp = self._http().post(url, json=payload, timeout=self.timeout_s)
            except requests.RequestException as exc:
                failure = self._transport_failure("the token issue", exc)
                raise KISError(failure, screen="tokenP") from exc
            body = _body(resp) or {}
            if resp.ok and body.get("access_token"):
                log.info("KIS access token issued (env=%s)", self.env)
                return _Token(str(body["access_token"]), self._token_expiry(body))
            # tokenP errors come as {error_code, error_description}; accept msg_cd/msg1 too.
            code = str(body.get("error_code") or body.get("msg_cd") or "").strip() or None
            text = str(body.get("error_description") or body.get("msg1") or "").strip() or None
            if code == MSG_TOKEN_THROTTLED:
                if attempt == 1:
                    log.warning(
                        "KIS refused a token issue (EGW00133, one per minute per key); "
                        "waiting %.0f s before the one retry",
                        self.token_issue_wait_s,
                    )
                    self._pause(self.token_issue_wait_s)
                    continue
                raise KISTokenIssueThrottled(
                    "token issue refused twice: another process or client issued one within a "
                    "minute; reuse its cache dir or wait",
                    msg_cd=code, msg1=text, screen="tokenP", status=resp.status_code,
                )  # fmt: skip
            # Never a body excerpt here: a token answer may carry the token.
            raise KISError(
                "token issue refused; check KIS_APP_KEY/KIS_APP_SECRET and KIS_ENV",
                msg_cd=code, msg1=text, screen="tokenP", status=resp.status_code,
            )  # fmt: skip
        raise AssertionError("unreachable")  # pragma: no cover

    def _token_expiry(self, body: Mapping[str, Any]) -> datetime:
        """access_token_token_expired ("YYYY-MM-DD HH:MM:SS", KST), which KIS itself honours.

        `expires_in` has no reference time (docs/kis.md § Token), so it is only the fallback: for a
        missing stamp, or one already past by our clock (a skewed clock would otherwise make
        every request issue a new token).
        """
        now = self._now()
        fallback = now + timedelta(seconds=float(body.get("expires_in") or 0))
        stamp = str(body.get("access_token_token_expired") or "").strip()
        try:
            expires = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=KST)
        except ValueError:
            return fallback
        if expires - TOKEN_MARGIN <= now:
            log.warning(
                "KIS token expiry %s is already past by the local clock; using expires_in", stamp
            )
            return fallback
        return expires

    # ---- requests -------------------------------------------------------------------------

    def _get(self, path: str, tr_id: str, params: Mapping[str, str], ticker: str) -> dict:
        """One quotation GET, paced by the limiter; retries EGW00201 and EGW00123 as documented."""
        key, secret = self._require_configured()
        url = f"{self._base()}{path}"
        reissued = False
        rate_retries = 0
        while True:
            token = self._access_token()
            headers = {
                "content-type": "application/json; charset=utf-8",
                "authorization": f"Bearer {token}",
                "appkey": key,
                "appsecret": secret,
                "tr_id": tr_id,
                "custtype": "P",
            }
            self._limiter().acquire()
            self._counters.add(sent=1)
            try:
                resp = self._http().get(url, params=params, headers=headers, timeout=self.timeout_s)
            except requests.RequestException as exc:
                failure = self._transport_failure(f"{tr_id} for {ticker}", exc)
                raise KISError(failure, screen=tr_id) from exc
            body = _body(resp)
            if body is None:
                raise KISError(
                    f"{ticker}: answer is not a JSON object",
                    screen=tr_id, status=resp.status_code, body_excerpt=_excerpt(resp),
                )  # fmt: skip
            rt_cd = str(body.get("rt_cd", "")).strip()
            if rt_cd == "0" and resp.ok:
                return body
            msg_cd = str(body.get("msg_cd") or body.get("error_code") or "").strip() or None
            msg1 = str(body.get("msg1") or body.get("error_description") or "").strip() or None
            status = resp.status_code
            if msg_cd == MSG_RATE_LIMITED:
                if rate_retries >= RATE_RETRY_ATTEMPTS:
                    raise KISRateLimited(
                        f"{ticker}: still over the rate limit after {rate_retries} retries",
                        msg_cd=msg_cd, msg1=msg1, screen=tr_id, status=status,
                    )  # fmt: skip
                rate_retries += 1
                self._counters.add(retries=1)
                ceiling = min(RATE_BACKOFF_MAX_S, RATE_BACKOFF_BASE_S * 2 ** (rate_retries - 1))
                self._pause(random.uniform(ceiling / 2, ceiling))
                continue
            if msg_cd == MSG_TOKEN_EXPIRED:
                if reissued:
                    raise KISTokenExpired(
                        f"{ticker}: a freshly issued token was rejected too",
                        msg_cd=msg_cd, msg1=msg1, screen=tr_id, status=status,
                    )  # fmt: skip
                log.warning("KIS rejected the access token (EGW00123); re-issuing once")
                self._drop_token(token)
                reissued = True
                continue
            if msg_cd == MSG_PAPER_UNSUPPORTED:
                raise KISPaperUnsupported(
                    "the ETF quotations need a real-account (실전) app key; paper keys are refused",
                    msg_cd=msg_cd, msg1=msg1, screen=tr_id, status=status,
                )  # fmt: skip
            raise KISError(
                f"{ticker}: KIS answered rt_cd={rt_cd or 'missing'}",
                msg_cd=msg_cd, msg1=msg1, screen=tr_id, status=status,
                body_excerpt=_excerpt(resp),
            )  # fmt: skip

    # ---- endpoints ------------------------------------------------------------------------

    def inquire_price(self, ticker: str) -> dict[str, Any]:
        """ETF/ETN 현재가: price, NAV, listed shares, net assets (KRW), 괴리율, 추적오차율."""
        body = self._get(
            PATH_PRICE,
            TR_PRICE,
            {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": ticker},
            ticker,
        )

        output = body.get("output")
        if isinstance(output, Mapping) and is_zeroed_quote(output):
            raise KISError(f"{ticker}: KIS answered a zeroed quote (unknown or delisted code)")
        return parse_inquire_price(output, ticker)  # type: ignore[arg-type]

    def nav_daily_trend(self, ticker: str, start: date, end: date) -> pd.DataFrame:
        """Daily close vs NAV over [start, end], oldest first.

        KIS returns at most 100 rows, newest first, without tr_cont paging: page by moving the
        end date before the oldest row received (docs/kis.md § NAV daily trend).
        """
        rows: list[Mapping[str, Any]] = []
        page_end = end
        for _ in range(NAV_DAILY_MAX_PAGES):
            if page_end < start:
                break
            body = self._get(
                PATH_NAV_DAILY,
                TR_NAV_DAILY,
                {
                    "FID_COND_MRKT_DIV_CODE": "J",
                    "FID_INPUT_ISCD": ticker,
                    "FID_INPUT_DATE_1": start.strftime("%Y%m%d"),
                    "FID_INPUT_DATE_2": page_end.strftime("%Y%m%d"),
                },
                ticker,
            )
            page = [r for r in body.get("output") or [] if r]
            rows.extend(page)
            if len(page) < NAV_DAILY_MAX_ROWS:
                break
            oldest = min(str(r.get("stck_bsop_date", "")).strip() for r in page)
            page_end = datetime.strptime(oldest, "%Y%m%d").date() - timedelta(days=1)

        frame = parse_nav_daily_trend(rows, ticker)
        if frame.empty:
            return frame
        dates = frame["trade_date"]
        return frame[(dates >= start) & (dates <= end)].reset_index(drop=True)

    def components(self, ticker: str) -> tuple[dict[str, Any], pd.DataFrame]:
        """ETF 구성종목시세: (ETF-level record, constituents per 1 CU). Today's basket only."""
        body = self._get(
            PATH_COMPONENTS,
            TR_COMPONENTS,
            {
                "FID_COND_MRKT_DIV_CODE": "J",
                "FID_INPUT_ISCD": ticker,
                "FID_COND_SCR_DIV_CODE": "11216",
            },
            ticker,
        )
        output2 = body.get("output2") or []
        if isinstance(output2, Mapping):  # normalise: output2 is an object on some TRs
            output2 = [output2]

        return parse_components(body.get("output1") or {}, output2, ticker)

    def fetch_many(
        self,
        fetch: Callable[[str], Any],
        tickers: Iterable[str],
        log_to: logging.Logger | None = None,
    ) -> tuple[dict[str, Any], dict[str, Exception], dict[str, float | int]]:
        """`fetch` (e.g. `kis.inquire_price`) for every ticker at once, on http.fan_out.

        Threads overlap the network latency; the shared limiter, not latency, sets the pace.
        Returns (results, failures, stats); stats count this client's requests during the call
        (requests, wall_s, effective_rps, rate_limited_retries).
        """
        self._require_configured()
        before_requests, before_retries = self._counters.snapshot()
        started = time.monotonic()
        outcome = fan_out(
            fetch,
            list(tickers),
            max_workers=self.max_workers,
            log=log_to,
            label=f"kis {getattr(fetch, '__name__', 'call')}",
            stop_on=SYSTEMIC_ERRORS,
        )
        wall = time.monotonic() - started
        after_requests, after_retries = self._counters.snapshot()
        sent = after_requests - before_requests
        stats: dict[str, float | int] = {
            "requests": sent,
            "wall_s": round(wall, 3),
            "effective_rps": round(sent / wall, 2) if wall > 0 else 0.0,
            "rate_limited_retries": after_retries - before_retries,
        }
        return dict(outcome.results), dict(outcome.failures), stats
