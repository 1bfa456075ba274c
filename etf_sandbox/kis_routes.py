"""The KIS Open API part of the sandbox: token issue and the three ETF quotation TRs.

Wire formats follow docs/kis.md and the captured samples (every value a string, the
`rt_cd/msg_cd/msg1` envelope, tokenP without it). Values come from the generated market as of
the last completed session at the sandbox's `now` (15:30 KST close): KIS is a live feed, but
the market is end-of-day, so the sandbox always answers like KIS does after the close.

Gateway rules enforced, in this order, on every `/uapi` call: app key known and secret
matching (EGW00103 / EGW00105), the injected `kis_egw00201_next_n` fault, at most
`config.kis_rate_per_s[env]` accepted requests per app key in any sliding 1-second window
(EGW00201 on HTTP 500), a valid unexpired Bearer token of that app key (EGW00123), tr_id matching
the path and custtype P/B, then the paper-key refusal (90000000).

HTTP statuses (public sources are unsure; these are the sandbox's choices): gateway errors
(EGW…) answer HTTP 500 with the JSON envelope, as third-party clients report for EGW00201;
business answers (90000000, OPSQ…) answer HTTP 200 with rt_cd "1". tokenP errors answer HTTP 403
with KIS's token-endpoint shape `{"error_description", "error_code"}` plus the envelope keys
`rt_cd/msg_cd/msg1`, so a client reading either shape works. EGW00103/00105/00133/00123 and
90000000 are KIS codes (docs/kis.md § Errors); OPSQ1002, OPSQ2001 and EGW00002 are the
sandbox's own (marked "sandbox" in msg1), standing in for codes the sources do not show.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from etf_assets.partitions import KST, is_session, previous_session, sessions_between
from etf_sandbox.wire import Handler, SandboxRequest, SandboxResponse, SandboxState, json_response

if TYPE_CHECKING:
    from etf_sandbox.market import Market

SERVICE = "kis"
TOKEN_LIFETIME = timedelta(seconds=86400)
TOKEN_ISSUE_MIN_INTERVAL_S = 60.0  # "(1분당 1회)"; module-level so tests can shorten it
RATE_WINDOW_S = 1.0
MARKET_CLOSE = (15, 30)

PATH_TOKEN = "/oauth2/tokenP"
PATH_PRICE = "/uapi/etfetn/v1/quotations/inquire-price"
PATH_NAV_DAILY = "/uapi/etfetn/v1/quotations/nav-comparison-daily-trend"
PATH_COMPONENTS = "/uapi/etfetn/v1/quotations/inquire-component-stock-price"
TR_IDS = {
    PATH_PRICE: "FHPST02400000",
    PATH_NAV_DAILY: "FHPST02440200",
    PATH_COMPONENTS: "FHKST121600C0",
}
NAV_DAILY_MAX_ROWS = 100

OK = {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다."}


@dataclass
class KisSandboxState:
    """What the KIS gateway remembers; lives in `state.extra["kis"]` (tests read `issued`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # token → key, expiry
    issued: dict[str, int] = field(default_factory=dict)  # app key → successful issues
    last_issue: dict[str, float] = field(default_factory=dict)  # app key → monotonic time
    hits: dict[str, deque[float]] = field(default_factory=dict)  # accepted requests per key
    rate_limited: dict[str, int] = field(default_factory=dict)  # EGW00201 answers per key


def _kis(state: SandboxState) -> KisSandboxState:
    with state.lock:
        found = state.extra.get(SERVICE)
        if not isinstance(found, KisSandboxState):
            found = state.extra[SERVICE] = KisSandboxState()
        return found


def _json(obj: Any, status: int = 200) -> SandboxResponse:
    return json_response(obj, status=status)


def _error(msg_cd: str, msg1: str, status: int) -> SandboxResponse:
    return _json({"rt_cd": "1", "msg_cd": msg_cd, "msg1": msg1}, status)


def _token_error(code: str, text: str, status: int = 403) -> SandboxResponse:
    body = {"error_description": text, "error_code": code, "rt_cd": "1", "msg_cd": code}
    return _json({**body, "msg1": text}, status)


# ---- faults ---------------------------------------------------------------------------------


def _take_fault(state: SandboxState, name: str) -> bool:
    """Consume one unit of a counted KIS fault (kis_egw00201_next_n) if it is armed."""
    return bool(state.faults.take(SERVICE, name))


def _expire_tokens_fault(state: SandboxState) -> bool:
    """kis_expire_tokens: every token issued so far becomes invalid (consumed once)."""
    return bool(state.faults.take(SERVICE, "kis_expire_tokens"))


# ---- tokenP ---------------------------------------------------------------------------------


def _new_token(app_key: str, now: datetime, expires: datetime) -> str:
    """A JWT-shaped opaque token like KIS's (HS512 header, exp/iat claims, random jti)."""

    def b64(obj: dict[str, Any]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    audience = hashlib.sha256(app_key.encode()).hexdigest()[:32]
    claims = {
        "sub": "token",
        "aud": audience,
        "iss": "unogw",
        "exp": int(expires.timestamp()),
        "iat": int(now.timestamp()),
        "jti": secrets.token_urlsafe(24),
    }
    signature = secrets.token_urlsafe(64)
    return f"{b64({'typ': 'JWT', 'alg': 'HS512'})}.{b64(claims)}.{signature}"


def token_p(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    """POST /oauth2/tokenP: 24 h token, at most one issue per app key per minute (EGW00133)."""
    body = req.json if isinstance(req.json, dict) else {}
    app_key = str(body.get("appkey") or "")
    secret = str(body.get("appsecret") or "")
    if body.get("grant_type") != "client_credentials":
        return _token_error("EGW00002", "grant_type이 유효하지 않습니다.(sandbox)", 400)
    app = state.config.kis_apps.get(app_key)
    if app is None:
        return _token_error("EGW00103", "유효하지 않은 AppKey입니다.")
    if not secrets.compare_digest(secret, app[0]):
        return _token_error("EGW00105", "유효하지 않은 AppSecret입니다.")
    kis = _kis(state)
    now = state.now().astimezone(KST)
    with kis.lock:
        last = kis.last_issue.get(app_key)
        if last is not None and time.monotonic() - last < TOKEN_ISSUE_MIN_INTERVAL_S:
            return _token_error("EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)")
        expires = (now + TOKEN_LIFETIME).replace(microsecond=0)
        token = _new_token(app_key, now, expires)
        kis.tokens[token] = (app_key, expires)
        kis.issued[app_key] = kis.issued.get(app_key, 0) + 1
        kis.last_issue[app_key] = time.monotonic()
    return _json(
        {
            "access_token": token,
            "access_token_token_expired": expires.strftime("%Y-%m-%d %H:%M:%S"),
            "token_type": "Bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
        }
    )


# ---- the gateway checks ---------------------------------------------------------------------


def _gateway(req: SandboxRequest, state: SandboxState) -> SandboxResponse | None:
    """The checks every /uapi call passes before its data handler; an error answer or None."""
    headers = req.headers
    app_key = headers.get("appkey", "")
    app = state.config.kis_apps.get(app_key)
    if app is None:
        return _error("EGW00103", "유효하지 않은 AppKey입니다.", 500)
    secret, env = app
    if not secrets.compare_digest(headers.get("appsecret", ""), secret):
        return _error("EGW00105", "유효하지 않은 AppSecret입니다.", 500)
    kis = _kis(state)
    limit = state.config.kis_rate_per_s.get(env, 1)
    if _take_fault(state, "kis_egw00201_next_n"):
        return _rate_limited(kis, app_key)
    expire_all = _expire_tokens_fault(state)
    with kis.lock:
        if expire_all:
            kis.tokens.clear()
        now_mono = time.monotonic()
        hits = kis.hits.setdefault(app_key, deque())
        while hits and hits[0] <= now_mono - RATE_WINDOW_S:
            hits.popleft()
        if len(hits) >= limit:
            over = True
        else:
            hits.append(now_mono)
            over = False
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        issued = kis.tokens.get(token)
    if over:
        return _rate_limited(kis, app_key)
    if issued is None or issued[0] != app_key or state.now() >= issued[1]:
        return _error("EGW00123", "기간이 만료된 token 입니다.", 500)
    if headers.get("tr_id", "") != TR_IDS[req.path]:
        return _error("OPSQ0002", "없는 서비스 코드 입니다", 200)
    if headers.get("custtype", "") not in ("P", "B"):
        return _error("OPSQ1002", "custtype이 유효하지 않습니다.(sandbox)", 200)
    if env == "paper":
        return _error("90000000", "모의투자에서는 해당업무가 제공되지 않습니다.", 200)
    return None


def _rate_limited(kis: KisSandboxState, app_key: str) -> SandboxResponse:
    with kis.lock:
        kis.rate_limited[app_key] = kis.rate_limited.get(app_key, 0) + 1
    return _error("EGW00201", "초당 거래건수를 초과하였습니다.", 500)


def _param(req: SandboxRequest, name: str) -> str | None:
    """Query parameters in either case: official code sends UPPER, the portal lower."""
    for key, value in req.query.items():
        if key.upper() == name:
            return value.strip()
    return None


def _missing(name: str) -> SandboxResponse:
    return _error("OPSQ2001", f"ERROR : INPUT FIELD NOT FOUND [{name}](sandbox)", 200)


def _uapi(
    handler: Callable[[SandboxRequest, SandboxState], SandboxResponse],
) -> Callable[[SandboxRequest, SandboxState], SandboxResponse]:
    """Wrap a data handler with the gateway checks."""

    def wrapped(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
        refused = _gateway(req, state)
        return refused if refused is not None else handler(req, state)

    wrapped.__doc__ = handler.__doc__
    return wrapped


# ---- market access --------------------------------------------------------------------------


def last_session(now: datetime) -> date:
    """The newest session whose 15:30 KST close has passed at `now`."""
    local = now.astimezone(KST)
    today = local.date()
    if is_session(today) and (local.hour, local.minute) >= MARKET_CLOSE:
        return today
    return previous_session(today)


@dataclass(frozen=True)
class _Quote:
    """One ETF on one session, read from the market's arrays exactly as `daily(d)` reports it."""

    open: int
    high: int
    low: int
    close: int
    prev_close: int
    volume: int
    nav: float
    prev_nav: float
    listed_shares: int
    net_assets: int  # KRX's figure (unsettled flows make it differ from NAV × shares); 0 on
    # the listing day


def _quote(market: Market, ticker: str, d: date) -> _Quote | None:
    """None when the code is unknown, d is not a session, or the ETF is not listed on d."""
    e, t = market.position(ticker), market.session_row(d)
    if e is None or t is None or not market.first_idx[e] <= t < market.end_idx[e]:
        return None
    listing_day = bool(market.first_idx[e] == t) and market.etfs.at[e, "listing_date"] == d
    base = float(market.base_price[e])
    nav = float(market.nav[t, e])
    shares = int(market.shares[t, e])
    return _Quote(
        open=int(market.opn[t, e]),
        high=int(market.high[t, e]),
        low=int(market.low[t, e]),
        close=int(market.close[t, e]),
        prev_close=int(base if listing_day else market.close[t - 1, e]),
        volume=int(market.volume[t, e]),
        nav=nav,
        prev_nav=base if listing_day else float(market.nav[t - 1, e]),
        listed_shares=shares,
        net_assets=0 if listing_day else int(market.net_assets[t, e]),
    )


def _prev_volume(market: Market, ticker: str, d: date) -> int:
    e, t = market.position(ticker), market.session_row(d)
    if e is None or t is None or t - 1 < market.first_idx[e]:
        return 0
    return int(market.volume[t - 1, e])


def _etf(market: Market, ticker: str) -> dict[str, Any] | None:
    e = market.position(ticker)
    return None if e is None else market.etfs.iloc[e].to_dict()


def _num(value: Any) -> float | None:
    """A market figure, or None for NaN/None (missing is never 0 in the market)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _sign(change: float) -> str:
    return "2" if change > 0 else ("5" if change < 0 else "3")


def _pct(part: float, whole: float | None) -> str:
    return f"{part / whole * 100:.2f}" if whole else "0.00"


def _tick(price: float) -> int:
    """KRX ETF tick size: 1 won below 2,000, else 5 won."""
    return 1 if price < 2000 else 5


def _limits(prev_close: int) -> tuple[int, int]:
    """Daily price limits ±30 % of the base price, on the tick (sample: 19020 → 24725/13315)."""
    tick = _tick(prev_close)
    upper = math.floor(prev_close * 1.3 / tick) * tick
    lower = math.ceil(prev_close * 0.7 / tick) * tick
    return upper, lower


def _eok(krw: float) -> str:
    """KRW → 억원, truncated: the sample's 19028.18 × 62,400,000 = 11873.58 억 shows 11873."""
    return str(math.floor(krw / 100_000_000))


def _stable_fraction(*parts: object) -> float:
    """A deterministic number in [0, 1) for figures the market does not generate."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _net_assets_eok(q: _Quote) -> str:
    """KIS's 순자산 in 억원: KRX's figure, or NAV × listed shares where KRX publishes 0."""
    return _eok(q.net_assets or q.nav * q.listed_shares)


# ---- inquire-price --------------------------------------------------------------------------

_PRICE_TEXT_FIELDS = {
    "prdy_vrss_sign", "nav_prdy_vrss_sign", "crcd", "lp_oder_able_cls_code", "dryy_hgpr_date",
    "dryy_lwpr_date", "bstp_kor_isnm", "vi_cls_code", "mbcr_name", "stck_lstn_date",
    "shrg_type_code", "etf_trgt_nmix_bstp_code", "etf_div_name", "etf_rprs_bstp_kor_isnm",
}  # fmt: skip


def _zeroed_price() -> dict[str, str]:
    """KIS's answer for an unknown or delisted code: rt_cd 0 and a quote of zeros."""
    template = _price_template()
    zeroed = {
        k: ("" if k in _PRICE_TEXT_FIELDS else ("0.00" if "." in v else "0"))
        for k, v in template.items()
    }
    return {**zeroed, "prdy_vrss_sign": "3", "nav_prdy_vrss_sign": "3"}


def _price_template() -> dict[str, str]:
    """The field order and number formats of the captured sample (305720)."""
    return {
        "stck_prpr": "0", "prdy_vrss_sign": "3", "prdy_vrss": "0", "prdy_ctrt": "0.00",
        "acml_vol": "0", "prdy_vol": "0", "stck_mxpr": "0", "stck_llam": "0",
        "stck_prdy_clpr": "0", "stck_oprc": "0", "prdy_clpr_vrss_oprc_rate": "0.00",
        "stck_hgpr": "0", "prdy_clpr_vrss_hgpr_rate": "0.00", "stck_lwpr": "0",
        "prdy_clpr_vrss_lwpr_rate": "0.00", "prdy_last_nav": "0.00", "nav": "0.00",
        "nav_prdy_vrss": "0.00", "nav_prdy_vrss_sign": "3", "nav_prdy_ctrt": "0.00",
        "trc_errt": "0.00", "stck_sdpr": "0", "stck_sspr": "0", "etf_crcl_stcn": "0",
        "etf_ntas_ttam": "0", "etf_frcr_ntas_ttam": "0", "frgn_limt_rate": "0.0000",
        "frgn_oder_able_qty": "0", "etf_cu_unit_scrt_cnt": "0", "etf_cnfg_issu_cnt": "0",
        "etf_dvdn_cycl": "0", "crcd": "", "etf_crcl_ntas_ttam": "0", "etf_frcr_crcl_ntas_ttam": "0",
        "etf_frcr_last_ntas_wrth_val": "0", "lp_oder_able_cls_code": "",
        "stck_dryy_hgpr": "0", "dryy_hgpr_vrss_prpr_rate": "0.00", "dryy_hgpr_date": "",
        "stck_dryy_lwpr": "0", "dryy_lwpr_vrss_prpr_rate": "0.00", "dryy_lwpr_date": "",
        "bstp_kor_isnm": "", "vi_cls_code": "", "lstn_stcn": "0", "frgn_hldn_qty": "0",
        "frgn_hldn_qty_rate": "0.00", "etf_trc_ert_mltp": "0.00", "dprt": "0.00",
        "mbcr_name": "", "stck_lstn_date": "", "mtrt_date": "0", "shrg_type_code": "",
        "lp_hldn_rate": "0.00", "etf_trgt_nmix_bstp_code": "", "etf_div_name": "",
        "etf_rprs_bstp_kor_isnm": "", "lp_hldn_vol": "0",
    }  # fmt: skip


def _year_range(market: Market, ticker: str, d: date) -> tuple[tuple[int, date], ...]:
    """(연중 최고가, date), (연중 최저가, date) from 1 Jan to d; no-trade days (H/L 0) skipped."""
    e, t = market.position(ticker), market.session_row(d)
    assert e is not None and t is not None
    year_start = market.session_row(sessions_between(date(d.year, 1, 1), d)[0]) or 1
    rows = np.arange(max(int(market.first_idx[e]), year_start), t + 1)
    close = market.close[rows, e]
    high = np.where(market.high[rows, e] > 0, market.high[rows, e], close)
    low = np.where(market.low[rows, e] > 0, market.low[rows, e], close)
    hi, lo = int(np.argmax(high)), int(np.argmin(low))
    day = market.sessions
    return (int(high[hi]), day[rows[hi] - 1]), (int(low[lo]), day[rows[lo] - 1])


def _price_output(state: SandboxState, ticker: str) -> dict[str, str]:
    market = state.market
    d = last_session(state.now())
    q = _quote(market, ticker, d)
    etf = _etf(market, ticker)
    if q is None or etf is None:
        return _zeroed_price()
    upper, lower = _limits(q.prev_close)
    foreign = int(q.listed_shares * _stable_fraction(ticker, "foreign") * 0.05)
    (year_high, high_day), (year_low, low_day) = _year_range(market, ticker, d)
    te = _num(market.published_tracking_error(ticker, d))
    synthetic = "합성" in str(etf.get("replication") or "")
    change, nav_change = q.close - q.prev_close, q.nav - q.prev_nav

    def vs_prev(price: int) -> str:
        return _pct(price - q.prev_close, q.prev_close) if price else "0.00"

    out = _price_template()
    out.update(
        stck_prpr=str(q.close),
        prdy_vrss_sign=_sign(change),
        prdy_vrss=str(change),
        prdy_ctrt=_pct(change, q.prev_close),
        acml_vol=str(q.volume),
        prdy_vol=str(_prev_volume(market, ticker, d)),
        stck_mxpr=str(upper),
        stck_llam=str(lower),
        stck_prdy_clpr=str(q.prev_close),
        stck_oprc=str(q.open),
        prdy_clpr_vrss_oprc_rate=vs_prev(q.open),
        stck_hgpr=str(q.high),
        prdy_clpr_vrss_hgpr_rate=vs_prev(q.high),
        stck_lwpr=str(q.low),
        prdy_clpr_vrss_lwpr_rate=vs_prev(q.low),
        prdy_last_nav=f"{q.prev_nav:.2f}",
        nav=f"{q.nav:.2f}",
        nav_prdy_vrss=f"{nav_change:.2f}",
        nav_prdy_vrss_sign=_sign(round(nav_change, 2)),
        nav_prdy_ctrt=_pct(nav_change, q.prev_nav),
        trc_errt="" if te is None else f"{te:.2f}",
        stck_sdpr=str(q.prev_close),
        stck_sspr=str(math.floor(q.prev_close * 0.74 / 10) * 10),
        etf_crcl_stcn=str(q.listed_shares),
        etf_ntas_ttam=_net_assets_eok(q),
        frgn_limt_rate="100.0000",
        frgn_oder_able_qty=str(q.listed_shares - foreign),
        etf_cu_unit_scrt_cnt=str(int(etf["cu_shares"])),
        etf_cnfg_issu_cnt=str(len(market.holdings(ticker, d))),
        etf_dvdn_cycl="2",
        crcd="KRW",
        lp_oder_able_cls_code="N",
        stck_dryy_hgpr=str(year_high),
        dryy_hgpr_vrss_prpr_rate=_pct(q.close - year_high, year_high),
        dryy_hgpr_date=high_day.strftime("%Y%m%d"),
        stck_dryy_lwpr=str(year_low),
        dryy_lwpr_vrss_prpr_rate=_pct(q.close - year_low, year_low),
        dryy_lwpr_date=low_day.strftime("%Y%m%d"),
        bstp_kor_isnm=f"ETF({'합성' if synthetic else '실물복제'}/수익증권)",
        vi_cls_code="N",
        lstn_stcn=str(q.listed_shares),
        frgn_hldn_qty=str(foreign),
        frgn_hldn_qty_rate=_pct(foreign, q.listed_shares),
        etf_trc_ert_mltp=f"{float(etf['leverage_factor']):.2f}",
        dprt=_pct(q.close - q.nav, q.nav),
        mbcr_name=f"{etf['issuer']}(ETF)",
        stck_lstn_date=etf["listing_date"].strftime("%Y%m%d"),
        shrg_type_code="  ",
        etf_trgt_nmix_bstp_code="9999",
        etf_div_name="수익증권형",
        etf_rprs_bstp_kor_isnm=str(etf.get("tracking_index") or ""),
    )
    return out


def inquire_price(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    """ETF/ETN 현재가 (FHPST02400000): the snapshot as of the last completed session."""
    ticker = _param(req, "FID_INPUT_ISCD")
    if not ticker:
        return _missing("FID_INPUT_ISCD")
    return _json({"output": _price_output(state, ticker), **OK})


# ---- nav-comparison-daily-trend -------------------------------------------------------------


def _parse_day(text: str | None) -> date | None:
    try:
        return datetime.strptime(text or "", "%Y%m%d").date()
    except ValueError:
        return None


def nav_daily_trend(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    """NAV 비교추이(일) (FHPST02440200): ≤ 100 rows of [date_1, date_2], newest first."""
    ticker = _param(req, "FID_INPUT_ISCD")
    if not ticker:
        return _missing("FID_INPUT_ISCD")
    start = _parse_day(_param(req, "FID_INPUT_DATE_1"))
    end = _parse_day(_param(req, "FID_INPUT_DATE_2"))
    if start is None:
        return _missing("FID_INPUT_DATE_1")
    if end is None:
        return _missing("FID_INPUT_DATE_2")
    end = min(end, last_session(state.now()))
    rows: list[dict[str, str]] = []
    for d in reversed(sessions_between(start, end)):
        if len(rows) >= NAV_DAILY_MAX_ROWS:
            break
        q = _quote(state.market, ticker, d)
        if q is None:
            continue
        change, nav_change = q.close - q.prev_close, q.nav - q.prev_nav
        rows.append(
            {
                "stck_bsop_date": d.strftime("%Y%m%d"),
                "stck_clpr": str(q.close),
                "prdy_vrss": str(change),
                "prdy_vrss_sign": _sign(change),
                "prdy_ctrt": _pct(change, q.prev_close),
                "acml_vol": str(q.volume),
                "cntg_vol": "",
                "dprt": _pct(q.close - q.nav, q.nav),
                "nav_vrss_prpr": f"{q.close - q.nav:.2f}",
                "nav": f"{q.nav:.2f}",
                "nav_prdy_vrss_sign": _sign(round(nav_change, 2)),
                "nav_prdy_vrss": f"{nav_change:.2f}",
                "nav_prdy_ctrt": _pct(nav_change, q.prev_nav),
            }
        )
    return _json({"output": rows, **OK})


# ---- inquire-component-stock-price ----------------------------------------------------------


_UNQUOTED = ("bond", "cash")  # PDF kinds KIS lists without a price


def _component_rows(state: SandboxState, ticker: str, d: date) -> list[dict[str, str]]:
    """output2: one row per constituent of 1 CU, priced so avls / stck_prpr = shares per CU.

    The market's PDF has the quantity, `amount_krw` at the current price and `value_krw` at
    the previous one (either may be missing: derivatives carry only the valuation, cash and ETF
    lines only the amount); KIS has no quantity, only the price and the two values. Bonds (held
    by face amount) and cash get no quote ("0") and their amount as value, like KIS's cash rows;
    decided by the line's kind, not its per-unit value, as a stock may trade under 100 KRW.
    Weight is "" where the market has none.
    """
    rows = []
    for h in state.market.holdings(ticker, d).to_dict("records"):
        code = str(h.get("code") or "")
        qty = _num(h.get("shares_per_cu"))
        prev_value = _num(h.get("value_krw"))
        amount = _num(h.get("amount_krw"))
        amount = (prev_value if amount is None else amount) or 0.0
        unit = amount / qty if qty else 0.0
        if qty and h.get("kind") not in _UNQUOTED and round(abs(unit)):
            price = round(abs(unit))
            prev_price = round(abs(prev_value / qty)) if prev_value is not None else price
            value, valued_prev = round(qty * price), round(qty * prev_price)
        else:
            price = prev_price = 0
            value = round(amount)
            valued_prev = round(prev_value if prev_value is not None else amount)
        change = price - prev_price
        volume = int(_stable_fraction(code, d, "vol") * 5_000_000) if price else 0
        weight = _num(h.get("weight_pct"))
        rows.append(
            {
                "stck_shrn_iscd": code,
                "hts_kor_isnm": str(h.get("name") or ""),
                "stck_prpr": str(price),
                "prdy_vrss": str(change),
                "prdy_vrss_sign": _sign(change),
                "prdy_ctrt": _pct(change, prev_price),
                "acml_vol": str(volume),
                "acml_tr_pbmn": str(volume * price),
                "tday_rsfl_rate": _pct(change, prev_price),
                "prdy_vrss_vol": str(int((_stable_fraction(code, d, "dv") - 0.5) * volume)),
                "tr_pbmn_tnrt": f"{_stable_fraction(code, d, 'turn') * 2:.2f}",
                "hts_avls": str(int(_stable_fraction(code, "cap") * 500_000)) if price else "0",
                "etf_cnfg_issu_avls": str(value),
                "etf_cnfg_issu_rlim": "" if weight is None else f"{weight:.2f}",
                "etf_vltn_amt": str(valued_prev),
            }
        )
    return rows


def components(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    """ETF 구성종목시세 (FHKST121600C0): output1 (ETF) + output2 (constituents of 1 CU)."""
    ticker = _param(req, "FID_INPUT_ISCD")
    if not ticker:
        return _missing("FID_INPUT_ISCD")
    d = last_session(state.now())
    q = _quote(state.market, ticker, d)
    etf = _etf(state.market, ticker)
    if q is None or etf is None:
        output1 = {k: "0.00" if "nav" in k else "0" for k in _COMPONENT_OUTPUT1}
        output1["prdy_vrss_sign"] = output1["nav_prdy_vrss_sign"] = "3"
        return _json({"output1": output1, "output2": [], **OK})
    output2 = _component_rows(state, ticker, d)
    basket = sum(int(r["etf_cnfg_issu_avls"]) for r in output2)
    change, nav_change = q.close - q.prev_close, q.nav - q.prev_nav
    output1 = {
        "stck_prpr": str(q.close),
        "prdy_vrss": str(change),
        "prdy_vrss_sign": _sign(change),
        "prdy_ctrt": _pct(change, q.prev_close),
        "etf_cnfg_issu_avls": str(basket // 10_000),
        "nav": f"{q.nav:.2f}",
        "nav_prdy_vrss_sign": _sign(round(nav_change, 2)),
        "nav_prdy_vrss": f"{nav_change:.2f}",
        "nav_prdy_ctrt": _pct(nav_change, q.prev_nav),
        "etf_ntas_ttam": _net_assets_eok(q),
        "prdy_clpr_nav": f"{q.prev_nav:.2f}",
        "oprc_nav": f"{q.prev_nav:.2f}",
        "hprc_nav": f"{max(q.nav, q.prev_nav):.2f}",
        "lprc_nav": f"{min(q.nav, q.prev_nav):.2f}",
        "etf_cu_unit_scrt_cnt": str(int(etf["cu_shares"])),
        "etf_cnfg_issu_cnt": str(len(output2)),
    }
    return _json({"output1": output1, "output2": output2, **OK})


_COMPONENT_OUTPUT1 = (
    "stck_prpr", "prdy_vrss", "prdy_vrss_sign", "prdy_ctrt", "etf_cnfg_issu_avls", "nav",
    "nav_prdy_vrss_sign", "nav_prdy_vrss", "nav_prdy_ctrt", "etf_ntas_ttam", "prdy_clpr_nav",
    "oprc_nav", "hprc_nav", "lprc_nav", "etf_cu_unit_scrt_cnt", "etf_cnfg_issu_cnt",
)  # fmt: skip

ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", PATH_TOKEN): token_p,
    ("GET", PATH_PRICE): _uapi(inquire_price),
    ("GET", PATH_NAV_DAILY): _uapi(nav_daily_trend),
    ("GET", PATH_COMPONENTS): _uapi(components),
}
