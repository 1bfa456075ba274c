"""HTTP plumbing shared by the upstream clients: retrying sessions, rate limits, fan-out.

Why here and not in each client: the KRX data service, the KRX Open API and KIS all need the
same three things — retries with backoff on timeouts/5xx (urllib3 `Retry`, not a hand loop),
one rate limit per upstream shared by every worker thread of the process (so concurrency
never turns into a burst that gets the IP blocked), and a concurrent per-ETF fan-out whose
wall time is bounded by that limiter rather than by latency.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from etf_assets.settings import masked_url

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)

# Reads of both KRX services are POSTs; retrying them is safe because they change nothing.
RETRY_METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS"})
DEFAULT_RETRIES = 3
# Words of urllib3's connection errors → what they mean to someone reading the failure.
_CONNECTION_FAILURES = (
    ("refused", "connection refused, nothing listens there"),
    ("Name or service not known", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("getaddrinfo failed", "host name not found"),
    ("Failed to resolve", "host name not found"),
    ("name resolution", "host name not found"),
    ("reset by peer", "connection reset by the server"),
    ("Network is unreachable", "network unreachable"),
)


def transport_failure(
    upstream: str, base_url: str, variable: str, when: str, exc: Exception, retries: int
) -> str:
    """The sentence for a request that got no answer (after urllib3's retries): which service,
    at which URL, set by which variable, and why: `KRX data service at http://127.0.0.1:8765
    (KRX_DATA_URL) did not answer member login after 3 retries: connection refused …`. The URL
    is the configured base (a password in it masked), never a request's own URL or body."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        reason = "connecting timed out"
    elif isinstance(exc, requests.exceptions.Timeout):
        reason = "no answer within the timeout"
    elif isinstance(exc, requests.exceptions.SSLError):
        reason = "the TLS handshake failed"
    elif isinstance(exc, requests.ConnectionError):
        text = str(exc)
        reason = next(
            (meaning for words, meaning in _CONNECTION_FAILURES if words in text),
            "could not connect",
        )
    else:
        reason = "the request could not be sent"
    return (
        f"{upstream} at {masked_url(base_url)} ({variable}) did not answer {when} after "
        f"{retries} retries: {reason} ({type(exc).__name__})"
    )


def build_session(
    *,
    total_retries: int = DEFAULT_RETRIES,
    backoff_factor: float = 0.5,
    status_forcelist: Iterable[int] = (502, 503, 504),
    user_agent: str = DEFAULT_USER_AGENT,
    pool_maxsize: int = 16,
) -> requests.Session:
    """A `requests.Session` whose adapters retry connect/read errors and the given statuses.

    Retry-After is honoured (KRX and KIS send it with 503). After the last retry the final
    response is returned rather than raised (`raise_on_status=False`), so the client can turn
    it into an error that names the screen and date. pool_maxsize should cover the fan-out's
    worker count, or threads wait for a connection instead of the rate limiter.
    """
    retry = Retry(
        total=total_retries,
        connect=total_retries,
        read=total_retries,
        status=total_retries,
        other=0,
        backoff_factor=backoff_factor,
        status_forcelist=tuple(status_forcelist),
        allowed_methods=RETRY_METHODS,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_maxsize)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


_SHARED_SESSIONS: dict[tuple[str, int, int], requests.Session] = {}
_SHARED_SESSIONS_LOCK = threading.Lock()


def shared_session(url: str, max_retries: int, max_workers: int) -> requests.Session:
    """One retrying session per (url, retries, workers) in the process, for every thread."""
    key = (url.rstrip("/"), max_retries, max_workers)
    with _SHARED_SESSIONS_LOCK:
        session = _SHARED_SESSIONS.get(key)
        if session is None:
            session = _SHARED_SESSIONS[key] = build_session(
                total_retries=max_retries, pool_maxsize=max(10, max_workers + 2)
            )
        return session


@dataclass(frozen=True)
class XMLService:
    """A portal answering XML to a POSTed XML body (SEIBro, KOFIA): where, and how its errors
    name themselves. `error` takes (message, screen=, status=, body_excerpt=)."""

    source: str  # as people name it, e.g. "SEIBro"
    variable: str  # the environment variable of its URL, e.g. "SEIBRO_URL"
    path: str
    referer_path: str
    screen: str
    error: Callable[..., Exception]


def post_xml(
    service: XMLService, session: requests.Session, url: str, body: str, when: str,
    *, timeout_s: float, max_retries: int,
) -> str:  # fmt: skip
    """POST `body` as XML and return the answer's text; transport failures (after urllib3's
    retries) and non-200 answers raise `service.error` naming `when`."""
    base = url.rstrip("/")
    try:
        resp = session.post(
            base + service.path,
            data=body.encode("utf-8"),
            headers={
                "Content-Type": "application/xml; charset=UTF-8",
                "Accept": "application/xml, text/xml, */*",
                "Referer": base + service.referer_path,
            },
            timeout=timeout_s,
        )
    except requests.RequestException as exc:
        message = transport_failure(service.source, base, service.variable, when, exc, max_retries)
        raise service.error(message, screen=service.screen) from exc
    text = resp.content.decode("utf-8", errors="replace")
    if resp.status_code != 200:
        raise service.error(
            f"HTTP error for {when}", screen=service.screen, status=resp.status_code,
            body_excerpt=text[:160],
        )  # fmt: skip
    return text


def _pacing(
    rate_per_s: float, burst: int, window_cap: int | None, window_s: float
) -> tuple[float, int, int, float]:
    """Validated limiter settings; the window cap defaults to the rate per window, rounded up,
    and never below the burst."""
    if rate_per_s <= 0 or burst < 1 or window_s <= 0:
        raise ValueError("rate_per_s and window_s must be > 0 and burst >= 1")
    cap = window_cap if window_cap is not None else max(burst, math.ceil(rate_per_s * window_s))
    if cap < 1:
        raise ValueError(f"window_cap must be >= 1, got {cap}")
    return float(rate_per_s), int(burst), int(cap), float(window_s)


class RateLimiter:
    """Thread-safe pacing of one upstream: `rate_per_s` sustained, at most `burst` at once, and
    never more than `window_cap` sends in any `window_s` (default: the rate, rounded up, per s).

    The token bucket spaces the sends: each caller reserves the next free slot under the lock
    and sleeps outside it, so waiting threads are served in arrival order and the lock is never
    held while sleeping. A reserved slot is a time the send may not be earlier than; a thread
    that wakes late on a loaded machine would then send together with the next one. Gateways
    count sends per second, so the window is checked again at the moment of sending: late
    wake-ups are never let through as a burst over the cap.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 1,
        *,
        window_cap: int | None = None,
        window_s: float = 1.0,
    ) -> None:
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self.configure(rate_per_s, burst, window_cap=window_cap, window_s=window_s)
        self._tokens = float(self.burst)
        self._updated = time.monotonic()

    def configure(
        self,
        rate_per_s: float,
        burst: int = 1,
        *,
        window_cap: int | None = None,
        window_s: float = 1.0,
    ) -> None:
        """Change the pacing; the newest configuration of a shared limiter wins."""
        pacing = _pacing(rate_per_s, burst, window_cap, window_s)
        with self._lock:
            self.rate_per_s, self.burst, self.window_cap, self.window_s = pacing
            self._sent = deque(self._sent, maxlen=self.window_cap)

    @property
    def pacing(self) -> tuple[float, int, int, float]:
        """(rate_per_s, burst, window_cap, window_s) as configured."""
        return self.rate_per_s, self.burst, self.window_cap, self.window_s

    def acquire(self) -> float:
        """Block until a request may be sent; returns the seconds waited."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(
                float(self.burst), self._tokens + (now - self._updated) * self.rate_per_s
            )
            self._updated = now
            self._tokens -= 1.0
            wait_s = 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s
        if wait_s > 0:
            time.sleep(wait_s)
        while True:
            with self._lock:
                now = time.monotonic()
                oldest_in_window = self._sent[0] if len(self._sent) == self.window_cap else None
                if oldest_in_window is None or now - oldest_in_window >= self.window_s:
                    self._record_send(now)
                    return wait_s
                late_s = oldest_in_window + self.window_s - now
            time.sleep(late_s)
            wait_s += late_s

    def _record_send(self, now: float) -> None:
        """Called under the lock with the moment a send is let through."""
        self._sent.append(now)


_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


class RequestCounter:
    """A thread-safe request counter for run metadata."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


def get_rate_limiter(
    name: str, rate_per_s: float, burst: int = 1, *, window_cap: int | None = None
) -> RateLimiter:
    """The process-wide limiter of an upstream: every caller with the same name shares it."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(name)
        if limiter is None:
            limiter = _LIMITERS[name] = RateLimiter(rate_per_s, burst, window_cap=window_cap)
        elif limiter.pacing != _pacing(rate_per_s, burst, window_cap, limiter.window_s):
            limiter.configure(rate_per_s, burst, window_cap=window_cap)
        return limiter


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
W = TypeVar("W")


@dataclass
class FanOutResult(Generic[K, V]):
    """Per-item results and failures of a fan-out; failures keep the exception for metadata."""

    results: dict[K, V] = field(default_factory=dict)
    failures: dict[K, BaseException] = field(default_factory=dict)
    wall_s: float = 0.0


def fan_out(
    fn: Callable[[K], V],
    items: Iterable[K],
    *,
    max_workers: int,
    log: logging.Logger | None = None,
    label: str = "",
    progress_every_s: float = 5.0,
    stop_on: tuple[type[BaseException], ...] = (),
) -> FanOutResult[K, V]:
    """Run fn over items on a thread pool; one item failing does not stop the others.

    Exceptions of the types in `stop_on` (e.g. a login error that every item would hit) cancel
    the items not yet started and are re-raised. Progress ("label: done/total, rate/s, ETA")
    goes to `log` at most every progress_every_s seconds, plus one line at the end.
    """
    todo = list(dict.fromkeys(items))
    out: FanOutResult[K, V] = FanOutResult()
    start = time.monotonic()
    last_log = start
    total = len(todo)
    name = label or getattr(fn, "__name__", "fan_out")

    def progress(done: int) -> str:
        elapsed = max(time.monotonic() - start, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else float("inf")
        return f"{name}: {done}/{total}, {rate:.1f}/s, ETA {eta:.0f}s"

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        futures: dict[Future[V], K] = {pool.submit(fn, item): item for item in todo}
        pending = set(futures)
        while pending:
            timeout = progress_every_s if log is not None else None
            finished, pending = wait(pending, timeout=timeout, return_when=FIRST_EXCEPTION)
            for fut in finished:
                item = futures[fut]
                exc = fut.exception()
                if exc is None:
                    out.results[item] = fut.result()
                    continue
                out.failures[item] = exc
                if stop_on and isinstance(exc, stop_on):
                    for other in pending:
                        other.cancel()
                    raise exc
            now = time.monotonic()
            if log is not None and pending and now - last_log >= progress_every_s:
                log.info(progress(len(out.results) + len(out.failures)))
                last_log = now
    out.wall_s = time.monotonic() - start
    if log is not None:
        log.info(f"{progress(total)} — done in {out.wall_s:.1f}s, {len(out.failures)} failed")
    return out


@dataclass
class FanOutBatch(Generic[K, V]):
    """Items finished since the previous batch, and the progress of the whole fan-out."""

    results: dict[K, V] = field(default_factory=dict)
    failures: dict[K, BaseException] = field(default_factory=dict)
    done: int = 0  # items finished so far, this batch's included
    total: int = 0
    elapsed_s: float = 0.0

    def __len__(self) -> int:
        return len(self.results) + len(self.failures)

    @property
    def rate_per_s(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.rate_per_s
        return (self.total - self.done) / rate if rate > 0 else None

    def progress(self, label: str) -> str:
        eta = "?" if self.eta_s is None else f"{self.eta_s:.0f}s"
        return f"{label}: {self.done:,}/{self.total:,}, {self.rate_per_s:.1f}/s, ETA {eta}"


def fan_out_batches(
    fetch: Callable[[K], V],
    items: Iterable[K],
    batch_size: int,
    commit: Callable[[FanOutBatch[K, V]], W],
    *,
    max_workers: int,
    stop_on: tuple[type[BaseException], ...] = (),
) -> Iterator[tuple[FanOutBatch[K, V], W]]:
    """`fetch` over `items` on `max_workers` threads, committed in batches as they finish.

    Memory and lost work are bounded by `batch_size`, not by the number of items: at most that
    many items are in flight or finished but not yet committed. A batch is committed once
    half of them are finished, so the threads keep fetching the other half meanwhile, and
    refilled right after, before the caller gets `(batch, commit's result)` to report on: the
    rate limiter, not the writer or the reporting, sets the pace. Items start in the order
    given. An exception of the types in `stop_on` cancels what has not started and is
    re-raised; any other is reported in its batch's `failures`.
    """
    todo = deque(dict.fromkeys(items))
    total, done = len(todo), 0
    commit_at = max(1, batch_size // 2)
    started = time.monotonic()
    batch: FanOutBatch[K, V] = FanOutBatch()
    pending: dict[Future[V], K] = {}
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:

        def refill() -> None:
            while todo and len(pending) + len(batch) < batch_size:
                item = todo.popleft()
                pending[pool.submit(fetch, item)] = item

        try:
            refill()
            while pending or batch:
                if len(batch) >= commit_at or (batch and not pending):
                    done += len(batch)
                    batch.done, batch.total = done, total
                    batch.elapsed_s = time.monotonic() - started
                    committed, result = batch, commit(batch)
                    batch = FanOutBatch()
                    refill()
                    yield committed, result
                    continue
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = pending.pop(future)
                    exc = future.exception()
                    if exc is None:
                        batch.results[item] = future.result()
                    elif stop_on and isinstance(exc, stop_on):
                        raise exc
                    else:
                        batch.failures[item] = exc
        finally:
            for future in pending:
                future.cancel()
