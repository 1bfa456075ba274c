"""The sandbox HTTP server: one local server speaking KRX data service, KRX Open API, KIS,
SEIBro and KOFIA.

Why one server: the real client code runs unchanged against it (only base URLs differ), so
tests exercise the wire. Route modules (`krx_routes`, `kis_routes`, `seibro_routes`,
`kofia_routes`) expose
`ROUTES: dict[(method, path), handler]`; this module owns parsing, faults, stats and admin.
The request, response, state and config types they share live in `etf_sandbox.wire` (and are
re-exported here), so the route modules never import this one.

Faults (per service "krx_data", "krx_openapi", "kis", "seibro", "kofia", or "all"; set with
`Sandbox.set_faults`
or `POST /_sandbox/faults` JSON `{"service": "krx_data", "http_5xx_next_n": 2}`):
- latency_ms: extra delay per request (added to `SandboxConfig.latency_ms`).
- timeout_every_n (+ timeout_s, default 30): every n-th request sleeps timeout_s before
  answering normally, i.e. past any sane client timeout.
- http_5xx_next_n: the next n requests answer 503 (HTML body).
- reset_next_n: the next n connections are reset without an answer (a firewall's errno 104).
- logout_next_n (KRX data calls): 400 with body `LOGOUT`.
- html_maintenance_next_n (KRX data calls): 200 text/html maintenance page.
- malformed_rows_n: in every JSON answer, the first n rows get each numeric string suffixed
  with "x" (unparseable) — persistent until cleared.
- drop_field: remove that key from every row of every JSON answer — persistent.
- kis_egw00201_next_n, kis_expire_tokens: read by kis_routes via `state.faults`.
- krx_password_change (KRX login): `True`, an account id or a list of ids; a login with the
  right password then answers `CD010` (KRX wants the 3-monthly password change) until cleared.
- krx_unscheduled_closures: ISO dates of sessions KRX was closed on although the calendar
  says otherwise; the data service answers them like a closed day ("-" rows), the Open API
  `[]` — persistent until cleared.
- seibro_shift_rows: SEIBro pages after the first re-serve the previous page's last row
  (rows shifting while a client pages) — persistent until cleared.
Counters (`*_next_n`) are consumed from the service's own scope first, then from "all".
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from etf_sandbox import kis_routes, kofia_routes, krx_routes, seibro_routes
from etf_sandbox.market import get_market
from etf_sandbox.wire import (
    FAULT_KEYS,
    KRX_DATA_PATH,
    SERVICES,
    Faults,
    Handler,
    SandboxConfig,
    SandboxRequest,
    SandboxResponse,
    SandboxState,
    Stats,
    html_response,
    json_response,
)

__all__ = [
    "FAULT_KEYS",
    "KRX_DATA_PATH",
    "SERVICES",
    "Faults",
    "Handler",
    "Sandbox",
    "SandboxConfig",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxState",
    "Stats",
    "html_response",
    "json_response",
    "reset_state",
    "service_of",
    "start_sandbox",
]

_NUMERIC = re.compile(r"^-?[\d,]+(\.\d+)?$")


def service_of(path: str) -> str:
    if path.startswith("/_sandbox"):
        return "admin"
    if path.startswith("/svc/"):
        return "krx_openapi"
    if path.startswith(("/comm/", "/contents/")):
        return "krx_data"
    if path.startswith("/websquare/"):
        return "seibro"
    if path.startswith("/proframeWeb/"):
        return "kofia"
    return "kis"


MAINTENANCE_PAGE = """<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>KRX 정보데이터시스템</title></head>
<body><div class="error"><span>서비스 제공 불가능</span>
<p>현재 일시적 접근 불안정으로 서비스를 제공할 수 없습니다. 잠시 후 다시 이용해 주십시오.</p>
</div></body></html>
"""
BLOCK_PAGE = """<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>KRX 정보데이터시스템</title></head>
<body><div class="error"><span>접근이 차단되었습니다</span>
<p>짧은 시간에 과도한 요청이 감지되어 접근이 일시적으로 제한되었습니다.</p>
</div></body></html>
"""
UNAVAILABLE_PAGE = "<html><body><h1>503 Service Unavailable</h1></body></html>\n"


def _pre_route_fault(
    req: SandboxRequest, state: SandboxState, service: str
) -> SandboxResponse | None:
    """Latency, timeouts, 5xx, LOGOUT, maintenance and the KRX rate block, in that order."""
    faults = state.faults
    state.sleep((state.config.latency_ms + int(faults.get(service, "latency_ms", 0))) / 1000)
    if faults.every_nth(service):
        state.sleep(float(faults.get(service, "timeout_s", 30)))
    if faults.take(service, "http_5xx_next_n"):
        return html_response(UNAVAILABLE_PAGE, 503)
    if faults.take(service, "reset_next_n"):
        return SandboxResponse(status=0, reset=True)
    if service == "krx_data" and req.path == KRX_DATA_PATH:
        if faults.take(service, "logout_next_n"):
            return html_response("LOGOUT", 400)
        if faults.take(service, "html_maintenance_next_n"):
            return html_response(MAINTENANCE_PAGE)
    if service == "krx_data":
        with state.lock:
            now = time.monotonic()
            window = state.krx_window
            while window and window[0] <= now - 1.0:
                window.popleft()
            window.append(now)
            if len(window) > state.config.krx_rate_per_s:
                return html_response(BLOCK_PAGE)
    return None


def _corrupt(resp: SandboxResponse, state: SandboxState, service: str) -> SandboxResponse:
    """Apply malformed_rows_n / drop_field to the rows of a JSON answer."""
    bad_n = int(state.faults.get(service, "malformed_rows_n", 0))
    drop = state.faults.get(service, "drop_field")
    if not (bad_n or drop) or resp.status != 200:
        return resp
    try:
        payload = json.loads(resp.body)
    except (ValueError, TypeError):
        return resp
    if not isinstance(payload, dict):
        return resp
    for key, value in payload.items():
        rows = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        rows = [r for r in rows if isinstance(r, dict)]
        for i, row in enumerate(rows):
            if drop:
                row.pop(drop, None)
            if i < bad_n:
                for k, v in row.items():
                    if isinstance(v, str) and _NUMERIC.match(v):
                        row[k] = v + "x"
        payload[key] = value
    fixed = json_response(payload, resp.status, resp.content_type)
    fixed.headers = resp.headers
    return fixed


def _admin(req: SandboxRequest, state: SandboxState) -> SandboxResponse:
    if req.path == "/_sandbox/stats" and req.method == "GET":
        return json_response(state.stats.summary())
    if req.path == "/_sandbox/faults" and req.method == "GET":
        return json_response(state.faults.snapshot())
    if req.path == "/_sandbox/faults" and req.method == "POST":
        body = req.json if isinstance(req.json, dict) else {}
        try:
            if "service" in body or not body:
                body = dict(body)
                state.faults.set(body.pop("service", "all"), **body)
            else:
                for scope, settings in body.items():
                    state.faults.set(scope, **settings)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(state.faults.snapshot())
    if req.path == "/_sandbox/reset" and req.method == "POST":
        reset_state(state)
        return json_response({"reset": True})
    return json_response({"error": "not found"}, 404)


def reset_state(state: SandboxState) -> None:
    """Back to a fresh sandbox: no faults, no stats, no sessions/tokens/quotas."""
    state.faults.clear()
    state.stats.reset()
    with state.lock:
        state.extra.clear()
        state.krx_window.clear()


def _collect_routes() -> dict[tuple[str, str], Handler]:
    """ROUTES of the route modules, merged."""
    routes: dict[tuple[str, str], Handler] = {}
    for module in (krx_routes, kis_routes, seibro_routes, kofia_routes):
        routes.update(module.ROUTES)
    return routes


def _make_handler(state: SandboxState, routes: dict[tuple[str, str], Handler]) -> type:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "etf-assets-sandbox"

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines may carry keys in query strings."""

        def _handle(self) -> None:
            arrived = time.monotonic()
            req = self._parse()
            service = service_of(req.path)
            if service == "admin":
                resp = _admin(req, state)
            else:
                resp = _pre_route_fault(req, state, service)
                if resp is None:
                    handler = routes.get((req.method, req.path))
                    resp = (
                        handler(req, state)
                        if handler
                        else html_response("<html><body>404 Not Found</body></html>", 404)
                    )
                    resp = _corrupt(resp, state, service)
            state.stats.record(arrived, service, req.path, resp.status)
            self._send(resp)

        def _parse(self) -> SandboxRequest:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            ctype = headers.get("content-type", "")
            form: dict[str, str] = {}
            payload: Any | None = None
            if "application/x-www-form-urlencoded" in ctype:
                form = {
                    k: v[-1]
                    for k, v in parse_qs(
                        body.decode("utf-8", "replace"), keep_blank_values=True
                    ).items()
                }
            elif "application/json" in ctype and body:
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
            cookies: dict[str, str] = {}
            if "cookie" in headers:
                jar = SimpleCookie()
                jar.load(headers["cookie"])
                cookies = {k: m.value for k, m in jar.items()}
            query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            return SandboxRequest(self.command, split.path, query, form, payload, headers,
                                  cookies, body)  # fmt: skip

        def _send(self, resp: SandboxResponse) -> None:
            if resp.reset:  # RST on close (SO_LINGER 0): the client reads ECONNRESET
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            body = resp.body.encode("utf-8") if isinstance(resp.body, str) else resp.body
            try:
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (e.g. a timeout fault)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    return _Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Sandbox:
    """A running sandbox; stop() (or leaving the `with` block) shuts it down."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.market = get_market(config.seed, config.n_etfs)
        self.state = SandboxState(config=config, market=self.market)
        self._server = _Server(
            ("127.0.0.1", config.port), _make_handler(self.state, _collect_routes())
        )
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
            name=f"sandbox:{self.port}",
        )  # fmt: skip
        self._thread.start()

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r})"

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.state.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def set_faults(self, service: str = "all", **faults: Any) -> None:
        """E.g. set_faults(http_5xx_next_n=2) or set_faults("krx_data", logout_next_n=1)."""
        self.state.faults.set(service, **faults)

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def stats(self) -> dict[str, Any]:
        return self.state.stats.summary()

    def reset_stats(self) -> None:
        self.state.stats.reset()

    def reset(self) -> None:
        reset_state(self.state)


def start_sandbox(config: SandboxConfig | None = None) -> Sandbox:
    """Start the sandbox on 127.0.0.1 (config.port 0 = a free port) in a daemon thread."""
    return Sandbox(config or SandboxConfig())
