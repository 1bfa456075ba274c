"""KRXClient: the KRX data service (data.krx.co.kr, optional member login) and the KRX Open API.

Returns raw rows (`list[dict[str, str]]`, the strings KRX sent); `etf_assets.parsing.krx` turns
them into typed frames. What this module is about is the transport, because that is where
KRX breaks (docs/krx.md § Data service, § Login, § Errors):

* Success is decided by parsing the body: KRX serves JSON as `text/html`, `HTTP 400 LOGOUT`
  when the session is missing or was taken over, an HTML "서비스 제공 불가능" page during
  maintenance, and the row list under a key that depends on the screen.
* Since Feb 2026 the data service wants a member session, and an account has one live session:
  a second login (`CD011` → `skipDup=Y`) kicks the first. So the logged-in `requests.Session`
  is process-wide per (data_url, krx_id) and shared by every fan-out thread; a thread that
  gets `LOGOUT` re-logs in only if the session that failed is still the current one, so a
  burst of failures causes one login, not eight.
* KRX publishes no rate limit, but bursts have got IPs blocked (pykrx #146): one process-wide
  token bucket per upstream ("krx_data", "krx_openapi"), default 10 requests/s.
* Secrets (krx_pw, auth_key) stay out of reprs (`repr=False`), logs and exception messages;
  the Open API key travels only in the `AUTH_KEY` header, never in the URL.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

import dagster as dg
import requests
from pydantic import Field, PrivateAttr

from etf_assets import settings
from etf_assets.errors import (
    KRX_FATAL,
    KRXAuthKeyRejected,
    KRXBadResponse,
    KRXError,
    KRXLoginFailed,
    KRXLoginRequired,
    KRXMaintenance,
)
from etf_assets.resources.http import (
    FanOutBatch,
    FanOutResult,
    RequestCounter,
    build_session,
    fan_out,
    fan_out_batches,
    get_rate_limiter,
    transport_failure,
)

DATA_SERVICE = "krx_data"
OPENAPI_SERVICE = "krx_openapi"

DATA_PATH = "/comm/bldAttendant/getJsonData.cmd"
REFERER_PATH = "/contents/MDC/MDI/outerLoader/index.cmd"
LOGIN_PAGE_PATH = "/contents/MDC/COMS/client/MDCCOMS001.cmd"
LOGIN_VIEW_PATH = "/contents/MDC/COMS/client/view/login.jsp?site=mdc"
LOGIN_POST_PATH = "/contents/MDC/COMS/client/MDCCOMS001D1.cmd"
OPENAPI_ETF_DAILY_PATH = "/svc/apis/etp/etf_bydd_trd"
BLD_PREFIX = "dbms/MDC/STAT/standard/"

SCREEN_MASTER = "MDCSTAT04601"
SCREEN_DAILY = "MDCSTAT04301"
SCREEN_PERIOD_CHANGE = "MDCSTAT04401"
SCREEN_PDF = "MDCSTAT05001"
SCREEN_TRACKING_ERROR = "MDCSTAT05901"
SCREEN_PREMIUM_DISCOUNT = "MDCSTAT06001"
SCREEN_INVESTOR_TOTALS = "MDCSTAT04901"
SCREEN_INVESTOR_DAILY = "MDCSTAT04902"
SCREEN_OPENAPI_DAILY = "etf_bydd_trd"
# Stock screens (docs/krx.md § Stock screens): rows under another key than "output".
SCREEN_STOCK_SECTORS = "MDCSTAT03901"  # 업종분류 현황, rows under "block1"
SCREEN_STOCK_PRICES = "MDCSTAT01501"  # 전종목 시세, rows under "OutBlock_1"
STOCK_MARKETS = ("STK", "KSQ")  # mktId: KOSPI, KOSDAQ

# pykrx splits date ranges into chunks of at most 730 days; longer ranges are refused.
MAX_RANGE_DAYS = 730
# MDCSTAT04902's selectors (docs/krx.md § Request parameters)
INVESTOR_MEASURES = {"value": "1", "volume": "2"}  # inqCondTpCd1: 거래대금, 거래량
INVESTOR_SIDES = {"net": "1", "buy": "2", "sell": "3"}  # inqCondTpCd2: 순매수, 매수, 매도

LOGIN_OK = "CD001"
LOGIN_DUPLICATE = "CD011"
LOGIN_PASSWORD_CHANGE = "CD010"

_MAINTENANCE_MARKERS = ("서비스 제공 불가능", "일시적 접근 불안정")
_BLOCK_MARKERS = ("차단", "과도한 요청")

Rows = list[dict[str, str]]


@dataclass
class _DataSession:
    """The one data-service session of a (data_url, krx_id) in this process.

    `generation` grows with every login; a caller remembers the generation it sent with and
    re-logs in only if it is still current, which makes concurrent LOGOUTs log in once.
    """

    session: requests.Session
    lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0
    logged_in: bool = False


_DATA_SESSIONS: dict[tuple[str | int | None, ...], _DataSession] = {}
_OPENAPI_SESSIONS: dict[tuple[str, int], requests.Session] = {}
_REGISTRY_LOCK = threading.Lock()

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
W = TypeVar("W")


@contextmanager
def fatal_fails_run() -> Iterator[None]:
    """A credentials error (KRX_FATAL) fails the run without Dagster's retries: waiting five
    minutes cannot fix a wrong password or a missing login. Every KRX fan-out runs inside it."""
    try:
        yield
    except KRX_FATAL as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


class KRXClient(dg.ConfigurableResource):
    """Client of the KRX data service (data.krx.co.kr) and the KRX Open API (data-dbg).

    The data service alone covers every asset; log-in credentials are needed since Feb 2026.
    The Open API (KRX_AUTH_KEY) is the sanctioned, stable source of daily prices, T+1.
    """

    data_url: str = Field(
        default=settings.KRX_DATA_URL, description="KRX data service base URL (KRX_DATA_URL)."
    )
    openapi_url: str = Field(
        default=settings.KRX_OPENAPI_URL,
        description="KRX Open API base URL (KRX_OPENAPI_URL).",
    )
    krx_id: str | None = Field(default=None, description="KRX member id (KRX_ID).")
    krx_pw: str | None = Field(
        default=None, repr=False, exclude=True, description="KRX password (KRX_PW)."
    )
    auth_key: str | None = Field(
        default=None, repr=False, exclude=True, description="KRX Open API key (KRX_AUTH_KEY)."
    )
    requests_per_second: float = Field(
        default=settings.KRX_REQUESTS_PER_SECOND,
        description="Process-wide pace per KRX upstream (KRX_REQUESTS_PER_SECOND).",
    )
    max_workers: int = Field(default=8, description="Threads for per-ETF fan-out.")
    timeout_s: float = Field(default=20.0, description="Connect and read timeout per request.")
    max_retries: int = Field(default=3, description="urllib3 retries on timeouts and 502/503/504.")

    _requests: RequestCounter = PrivateAttr(default_factory=RequestCounter)

    # ── fan-out: every per-ETF or per-session KRX call goes through these ──

    def fan_out(
        self,
        fetch: Callable[[K], V],
        items: Iterable[K],
        *,
        label: str,
        log: logging.Logger | None = None,
    ) -> FanOutResult[K, V]:
        """`fetch` over `items` on this client's threads (http.fan_out); a credentials error
        stops the rest and fails the run (fatal_fails_run)."""
        with fatal_fails_run():
            return fan_out(
                fetch, items, max_workers=self.max_workers, log=log, stop_on=KRX_FATAL, label=label
            )

    def fan_out_batches(
        self,
        fetch: Callable[[K], V],
        items: Iterable[K],
        batch_size: int,
        commit: Callable[[FanOutBatch[K, V]], W],
    ) -> Iterator[tuple[FanOutBatch[K, V], W]]:
        """`fetch` over `items` committed in batches as they finish (http.fan_out_batches); a
        credentials error stops the rest and fails the run (fatal_fails_run)."""
        with fatal_fails_run():
            yield from fan_out_batches(
                fetch, items, batch_size, commit, max_workers=self.max_workers, stop_on=KRX_FATAL
            )

    # ── configuration views ──

    @property
    def has_login(self) -> bool:
        """Both KRX_ID and KRX_PW are set: the data service is used with a member session."""
        return bool(self.krx_id) and bool(self.krx_pw)

    @property
    def has_openapi(self) -> bool:
        """KRX_AUTH_KEY is set: daily prices may come from the Open API."""
        return bool(self.auth_key)

    @property
    def request_count(self) -> int:
        """HTTP requests this client sent (login steps included, urllib3 retries not)."""
        return self._requests.value

    # ── public fetches (raw rows) ──

    def fetch_etf_master(self) -> Rows:
        """MDCSTAT04601: today's master of every listed ETF (no date parameter exists)."""
        return self._data_rows(SCREEN_MASTER, {})

    def fetch_daily_prices(self, trade_date: date) -> Rows:
        """MDCSTAT04301: every ETF's OHLCV, NAV, net assets and index close on trade_date."""
        return self._data_rows(SCREEN_DAILY, {"trdDd": _ymd(trade_date)})

    def fetch_period_change(self, start: date, end: date) -> Rows:
        """MDCSTAT04401: every ETF's change from the close of the session before `start`
        (BAS_PRC) to the close of `end`, in one request; a change cannot be assembled from
        chunks, so the period must fit in one (≤ 730 days)."""
        if (end - start).days >= MAX_RANGE_DAYS:
            raise ValueError(f"a period change spans at most {MAX_RANGE_DAYS} days: {start}…{end}")
        return self._data_rows(SCREEN_PERIOD_CHANGE, {"strtDd": _ymd(start), "endDd": _ymd(end)})

    def fetch_pdf(self, trade_date: date, isin: str) -> Rows:
        """MDCSTAT05001: constituents per CU of one ETF (isuCd is the 12-char ISIN)."""
        return self._data_rows(SCREEN_PDF, {"trdDd": _ymd(trade_date), "isuCd": isin})

    def fetch_tracking_error(self, isin: str, start: date, end: date) -> Rows:
        """MDCSTAT05901: KRX's NAV/index/추적오차율 series of one ETF, chunked to ≤ 730 days."""
        return self._ranged_rows(SCREEN_TRACKING_ERROR, isin, start, end)

    def fetch_premium_discount(self, isin: str, start: date, end: date) -> Rows:
        """MDCSTAT06001: KRX's close/NAV/괴리율 series of one ETF, chunked to ≤ 730 days."""
        return self._ranged_rows(SCREEN_PREMIUM_DISCOUNT, isin, start, end)

    def fetch_investor_daily(
        self, isin: str, start: date, end: date, *, measure: str, side: str
    ) -> Rows:
        """MDCSTAT04902: one `measure` ("value", "volume") and `side` ("net", "buy", "sell") of
        the four investor groups of one ETF per session, chunked to ≤ 730 days."""
        selectors = {
            "inqCondTpCd1": INVESTOR_MEASURES[measure],
            "inqCondTpCd2": INVESTOR_SIDES[side],
        }
        return self._ranged_rows(SCREEN_INVESTOR_DAILY, isin, start, end, selectors)

    def fetch_investor_totals(self, isin: str, start: date, end: date) -> Rows:
        """MDCSTAT04901: one ETF's totals over [start, end] per investor type, units and KRW,
        bought, sold and net, in one request. A total cannot be assembled from chunks, so the
        period must fit in one (≤ 730 days)."""
        if (end - start).days >= MAX_RANGE_DAYS:
            raise ValueError(f"a period total spans at most {MAX_RANGE_DAYS} days: {start}…{end}")
        params = {"isuCd": isin, "strtDd": _ymd(start), "endDd": _ymd(end)}
        return self._data_rows(SCREEN_INVESTOR_TOTALS, params)

    def fetch_stock_sectors(self, trade_date: date, market: str) -> Rows:
        """MDCSTAT03901: every stock of one market (`STK` or `KSQ`) with its KRX industry
        (IDX_IND_NM), close and market cap on trade_date."""
        return self._stock_rows(SCREEN_STOCK_SECTORS, trade_date, market, "block1")

    def fetch_stock_prices(self, trade_date: date, market: str) -> Rows:
        """MDCSTAT01501: every stock of one market (`STK` or `KSQ`) with its OHLCV, market cap
        and listed shares (LIST_SHRS) on trade_date."""
        return self._stock_rows(SCREEN_STOCK_PRICES, trade_date, market, "OutBlock_1")

    def _stock_rows(self, screen: str, trade_date: date, market: str, envelope: str) -> Rows:
        if market not in STOCK_MARKETS:
            raise ValueError(f"mktId must be one of {STOCK_MARKETS}, not {market!r}")
        params = {"mktId": market, "trdDd": _ymd(trade_date)}
        return self._data_rows(screen, params, envelope)

    def fetch_openapi_daily(self, trade_date: date) -> Rows:
        """Open API etf_bydd_trd: every ETF on basDd. `[]` means holiday *or* not yet published
        (T+1, from about 08:00 KST next day) — the caller tells them apart by its calendar.
        """
        screen = SCREEN_OPENAPI_DAILY
        if not self.auth_key:
            raise KRXAuthKeyRejected(
                OPENAPI_SERVICE,
                "no Open API key configured: set KRX_AUTH_KEY (or use the data service)",
                screen=screen,
            )
        when = f"basDd={_ymd(trade_date)}"
        resp = self._send(
            self._openapi_session(),
            "GET",
            self.openapi_url.rstrip("/") + OPENAPI_ETF_DAILY_PATH,
            service=OPENAPI_SERVICE,
            screen=screen,
            when=when,
            params={"basDd": _ymd(trade_date)},
            headers={"AUTH_KEY": self.auth_key, "Accept": "application/json"},
        )
        body = _body_text(resp)
        if resp.status_code == 401:
            message = _json_or_none(body)
            reason = message.get("respMsg") if isinstance(message, dict) else None
            raise KRXAuthKeyRejected(
                OPENAPI_SERVICE,
                f"{reason or 'Unauthorized'}: KRX_AUTH_KEY is wrong or expired, or the "
                "etf_bydd_trd service is not approved for it (apply on openapi.krx.co.kr)",
                screen=screen,
                status=401,
            )
        if resp.status_code == 429:
            raise KRXError(
                OPENAPI_SERVICE,
                f"daily quota of this AUTH_KEY exhausted ({when}); KRX allows 10,000 requests "
                "per key per day: retry tomorrow or use the data service",
                screen=screen,
                status=429,
            )
        return self._rows_from(resp, body, OPENAPI_SERVICE, screen, when, "OutBlock_1")

    # ── data service transport ──

    def _ranged_rows(
        self, screen: str, isin: str, start: date, end: date, extra: dict[str, str] | None = None
    ) -> Rows:
        rows: Rows = []
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + timedelta(days=MAX_RANGE_DAYS - 1))
            params = {
                **(extra or {}),
                "isuCd": isin,
                "strtDd": _ymd(chunk_start),
                "endDd": _ymd(chunk_end),
            }
            rows.extend(self._data_rows(screen, params))
            chunk_start = chunk_end + timedelta(days=1)
        return rows

    def _data_rows(self, screen: str, params: dict[str, str], envelope: str = "output") -> Rows:
        """POST one screen, its rows under `envelope`; re-login once on LOGOUT when credentials
        exist, else explain."""
        when = ", ".join(f"{k}={v}" for k, v in params.items()) or "today's snapshot"
        entry = self._data_session()
        if self.has_login and not entry.logged_in:
            self._login(entry, entry.generation)
        form = {"bld": BLD_PREFIX + screen, **params}
        base = self.data_url.rstrip("/")
        for attempt in range(2):
            with entry.lock:  # waits while another thread is logging in
                session, generation = entry.session, entry.generation
            resp = self._send(
                session,
                "POST",
                base + DATA_PATH,
                service=DATA_SERVICE,
                screen=screen,
                when=when,
                data=form,
                headers={
                    "Referer": base + REFERER_PATH,
                    "X-Requested-With": "XMLHttpRequest",
                    "Accept": "application/json, text/javascript, */*; q=0.01",
                },
            )
            body = _body_text(resp)
            if body.strip() != "LOGOUT":
                return self._rows_from(resp, body, DATA_SERVICE, screen, when, envelope)
            if not self.has_login:
                raise KRXLoginRequired(
                    DATA_SERVICE,
                    "KRX answered LOGOUT: the data service requires a KRX member login since "
                    "Feb 2026. Set KRX_ID and KRX_PW (or KRX_AUTH_KEY to take daily prices "
                    "from the KRX Open API)",
                    screen=screen,
                    status=resp.status_code,
                )
            if attempt == 0:
                _log().info(f"KRX {screen} answered LOGOUT; logging in again")
                self._login(entry, generation)
        raise KRXLoginFailed(
            DATA_SERVICE,
            f"LOGOUT again right after a fresh login ({when}); is another process logged in "
            "with the same KRX_ID? KRX keeps one session per account",
            screen=screen,
        )

    def _data_session(self) -> _DataSession:
        """The process-wide session of this account. Its transport settings (retries, pool)
        are those of the client that logged in last: one account must never hold two
        sessions, so clients differing only in settings share it. Anonymous sessions have no
        such rule, so each transport setting gets its own.
        """
        url = self.data_url.rstrip("/")
        key = (
            (url, self.krx_id)
            if self.has_login
            else (url, None, self.max_retries, self.max_workers)
        )
        with _REGISTRY_LOCK:
            entry = _DATA_SESSIONS.get(key)
            if entry is None:
                entry = _DATA_SESSIONS[key] = _DataSession(self._new_session())
            return entry

    def _openapi_session(self) -> requests.Session:
        key = (self.openapi_url.rstrip("/"), self.max_retries)
        with _REGISTRY_LOCK:
            session = _OPENAPI_SESSIONS.get(key)
            if session is None:
                session = _OPENAPI_SESSIONS[key] = self._new_session()
            return session

    def _new_session(self) -> requests.Session:
        return build_session(
            total_retries=self.max_retries, pool_maxsize=max(10, self.max_workers + 2)
        )

    def _login(self, entry: _DataSession, failed_generation: int) -> None:
        """Log in on a fresh session and make it current — unless another thread already did.

        A fresh session (not new cookies on the shared one) so threads still using the old
        session never see half-replaced cookies.
        """
        with entry.lock:
            if entry.logged_in and entry.generation != failed_generation:
                return
            session = self._new_session()
            self._login_steps(session)
            entry.session = session
            entry.generation += 1
            entry.logged_in = True
            _log().info(f"KRX data service: logged in (session #{entry.generation})")

    def _login_steps(self, session: requests.Session) -> None:
        """The 3-step login of docs/krx.md § Login (same as pykrx's auth.py)."""
        base = self.data_url.rstrip("/")
        page = base + LOGIN_PAGE_PATH
        common = {"service": DATA_SERVICE, "screen": "login", "when": "member login"}
        self._send(session, "GET", page, **common)
        self._send(session, "GET", base + LOGIN_VIEW_PATH, headers={"Referer": page}, **common)
        form = {
            "mbrNm": "", "telNo": "", "di": "", "certType": "",
            "mbrId": self.krx_id or "", "pw": self.krx_pw or "",
        }  # fmt: skip
        code, message = self._login_post(session, form)
        if code == LOGIN_DUPLICATE:  # another session of this account is live: take it over
            _log().info("KRX login: account already logged in elsewhere; taking over (skipDup)")
            code, message = self._login_post(session, {**form, "skipDup": "Y"})
        if code == LOGIN_OK:
            return
        hint = (
            "KRX requires a password change: log in on data.krx.co.kr once and change it"
            if code == LOGIN_PASSWORD_CHANGE
            else "check KRX_ID and KRX_PW"
        )
        raise KRXLoginFailed(
            DATA_SERVICE,
            f"login refused ({code or 'no code'}: {self._scrub(message or '')}); {hint}",
            screen="login",
        )

    def _login_post(self, session: requests.Session, form: dict[str, str]) -> tuple[str, str]:
        base = self.data_url.rstrip("/")
        resp = self._send(
            session,
            "POST",
            base + LOGIN_POST_PATH,
            service=DATA_SERVICE,
            screen="login",
            when="member login",
            data=form,
            headers={"Referer": base + LOGIN_PAGE_PATH, "X-Requested-With": "XMLHttpRequest"},
        )
        body = _body_text(resp)
        parsed = _json_or_none(body)
        if not isinstance(parsed, dict):
            raise KRXLoginFailed(
                DATA_SERVICE,
                "the login answer is not JSON (KRX may have changed its login flow)",
                screen="login",
                status=resp.status_code,
                body_excerpt=self._scrub(body[:160]),
            )
        return str(parsed.get("_error_code") or ""), str(parsed.get("_error_message") or "")

    # ── shared plumbing ──

    def _send(
        self,
        session: requests.Session,
        method: str,
        url: str,
        *,
        service: str,
        screen: str,
        when: str,
        **kwargs: Any,
    ) -> requests.Response:
        """One paced request; transport failures (after urllib3's retries) → KRXError."""
        get_rate_limiter(service, self.requests_per_second).acquire()
        self._requests.add()
        try:
            return session.request(method, url, timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:
            upstream, base_url, variable = (
                ("KRX Open API", self.openapi_url, "KRX_OPENAPI_URL")
                if service == OPENAPI_SERVICE
                else ("KRX data service", self.data_url, "KRX_DATA_URL")
            )
            raise KRXError(
                service,
                transport_failure(upstream, base_url, variable, when, exc, self.max_retries),
                screen=screen,
            ) from exc

    def _rows_from(
        self,
        resp: requests.Response,
        body: str,
        service: str,
        screen: str,
        when: str,
        envelope: str,
    ) -> Rows:
        """Decide success from the body: maintenance page, HTTP errors, envelope, row shape."""
        excerpt = self._scrub(body[:160])
        head = body.lstrip()[:2000]
        known_page = any(marker in head for marker in _MAINTENANCE_MARKERS + _BLOCK_MARKERS)
        if resp.status_code >= 500 and not known_page:
            raise KRXError(
                service,
                f"server error for {when} after {self.max_retries} retries",
                screen=screen,
                status=resp.status_code,
                body_excerpt=excerpt,
            )
        if known_page or head.startswith("<"):
            reason = (
                "KRX blocked this client for too many requests: lower requests_per_second"
                if any(marker in head for marker in _BLOCK_MARKERS)
                else "maintenance or '서비스 제공 불가능'; retry later"
            )
            raise KRXMaintenance(
                service,
                f"KRX served an HTML page instead of data for {when} ({reason})",
                screen=screen,
                status=resp.status_code,
                body_excerpt=excerpt,
            )
        parsed = _json_or_none(body)
        if not isinstance(parsed, dict):
            raise KRXBadResponse(
                service,
                f"the answer for {when} is not a JSON object",
                screen=screen,
                status=resp.status_code,
                body_excerpt=excerpt,
            )
        if resp.status_code != 200:
            raise KRXBadResponse(
                service,
                f"unexpected HTTP status for {when}",
                screen=screen,
                status=resp.status_code,
                body_excerpt=excerpt,
            )
        rows = parsed.get(envelope)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise KRXBadResponse(
                service,
                f"envelope key {envelope!r} missing or not a list of rows for {when} "
                f"(keys: {sorted(parsed)[:8]})",
                screen=screen,
                status=resp.status_code,
            )
        return rows

    def _scrub(self, text: str) -> str:
        """Mask the secrets in server-provided text before it reaches a message or a log."""
        for secret in (self.krx_pw, self.auth_key):
            if secret:
                text = text.replace(secret, "***")
        return text


def _ymd(d: date) -> str:
    return d.strftime("%Y%m%d")


def _body_text(resp: requests.Response) -> str:
    """UTF-8 body. Not resp.text: for text/html without a charset requests guesses Latin-1."""
    return resp.content.decode("utf-8", errors="replace")


def _json_or_none(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _log() -> logging.Logger:
    """Dagster's logger when inside a run (shown in the UI), a plain child logger otherwise."""
    return dg.get_dagster_logger("etf_assets.krx")
