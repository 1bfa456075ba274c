"""HTTP plumbing: urllib3 retries against a tiny local server, a measured limiter, fan-out."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from etf_assets.resources.http import RateLimiter, build_session, fan_out, get_rate_limiter

# ── a scripted local server ──

Script = Callable[[int], tuple[int, dict[str, str], bytes, float]]


@contextmanager
def scripted_server(script: Script) -> Iterator[tuple[str, list[float]]]:
    """Serve answers from script(n) (status, headers, body, delay) for the n-th request."""
    hits: list[float] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            with lock:
                n = len(hits)
                hits.append(time.monotonic())
            status, headers, body, delay = script(n)
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (read timeout) — that is the point of the test

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


OK = (200, {"Content-Type": "text/html; charset=utf-8"}, b'{"output": []}', 0.0)
UNAVAILABLE = (503, {}, b"busy", 0.0)


def test_retries_503_then_succeeds_on_post() -> None:
    with scripted_server(lambda n: UNAVAILABLE if n < 2 else OK) as (url, hits):
        session = build_session(total_retries=3, backoff_factor=0.01)
        resp = session.post(url + "/comm/bldAttendant/getJsonData.cmd", data={"bld": "x"})
    assert resp.status_code == 200 and resp.json() == {"output": []}
    assert len(hits) == 3


def test_gives_back_the_last_503_after_retries() -> None:
    with scripted_server(lambda n: UNAVAILABLE) as (url, hits):
        resp = build_session(total_retries=2, backoff_factor=0.01).get(url)
    assert resp.status_code == 503
    assert len(hits) == 3  # first try + 2 retries


def test_respects_retry_after() -> None:
    first = (503, {"Retry-After": "1"}, b"", 0.0)
    with scripted_server(lambda n: first if n == 0 else OK) as (url, hits):
        resp = build_session(total_retries=2, backoff_factor=0.01).get(url)
    assert resp.status_code == 200
    assert hits[1] - hits[0] >= 0.95


def test_retries_a_read_timeout() -> None:
    slow = (200, {}, b"late", 1.0)
    with scripted_server(lambda n: slow if n == 0 else OK) as (url, hits):
        resp = build_session(total_retries=2, backoff_factor=0.01).post(url, timeout=0.3)
    assert resp.status_code == 200 and len(hits) == 2


def test_no_retry_on_404() -> None:
    with scripted_server(lambda n: (404, {}, b"nope", 0.0)) as (url, hits):
        resp = build_session(total_retries=3, backoff_factor=0.01).get(url)
    assert resp.status_code == 404 and len(hits) == 1


def test_connection_refused_raises_after_retries() -> None:
    with scripted_server(lambda n: OK) as (url, _):
        dead = url  # the port is free again once the server is closed
    with pytest.raises(requests.ConnectionError):
        build_session(total_retries=1, backoff_factor=0.01).get(dead, timeout=1)


def test_session_sends_user_agent() -> None:
    session = build_session(user_agent="etf-assets-test")
    assert session.headers["User-Agent"] == "etf-assets-test"


# ── rate limiter ──


def max_in_window(stamps: list[float], window_s: float) -> int:
    stamps = sorted(stamps)
    best, j = 0, 0
    for i in range(len(stamps)):
        while stamps[i] - stamps[j] >= window_s:
            j += 1
        best = max(best, i - j + 1)
    return best


def record_sends(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every moment any limiter of this process lets a send through, as it saw it under its
    lock: what a client controls, unlike arrival times at a server on a loaded machine."""
    sends: list[float] = []
    record_send = RateLimiter._record_send

    def recording(limiter: RateLimiter, now: float) -> None:
        record_send(limiter, now)
        sends.append(now)

    monkeypatch.setattr(RateLimiter, "_record_send", recording)
    return sends


class RecordingLimiter(RateLimiter):
    """Keeps every moment a send was let through, as the limiter saw it under its lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sends: list[float] = []

    def _record_send(self, now: float) -> None:
        super()._record_send(now)
        self.sends.append(now)


def acquire_from_threads(limiter: RateLimiter, threads: int, per_thread: int) -> float:
    """Seconds for `threads` threads to acquire `per_thread` sends each."""

    def worker() -> None:
        for _ in range(per_thread):
            limiter.acquire()

    start = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.monotonic() - start


def test_rate_limiter_never_exceeds_rate_across_threads() -> None:
    rate, burst, per_thread, threads = 40.0, 1, 6, 8
    limiter = RecordingLimiter(rate, burst)
    elapsed = acquire_from_threads(limiter, threads, per_thread)
    n = per_thread * threads
    assert len(limiter.sends) == n
    assert elapsed >= (n - burst) / rate * 0.98
    # At the moment of sending, never more than the rate in any second, however the threads
    # were scheduled: a load-independent property, not a timing measurement.
    assert max_in_window(limiter.sends, 1.0) <= rate


def test_window_cap_holds_when_the_bucket_would_let_a_burst_through() -> None:
    """Threads that wake late from the bucket's wait all send at once; this is the same
    situation made deterministic with a bucket that allows 20 at once."""
    limiter = RecordingLimiter(1000.0, burst=20, window_cap=5, window_s=0.25)
    elapsed = acquire_from_threads(limiter, threads=4, per_thread=5)
    assert len(limiter.sends) == 20
    assert max_in_window(limiter.sends, 0.25) == 5
    assert elapsed >= 3 * 0.25  # 20 sends at 5 per window need three more windows


def test_window_cap_defaults_to_the_rate_rounded_up_and_never_below_burst() -> None:
    assert RateLimiter(17.1).window_cap == 18
    assert RateLimiter(0.5).window_cap == 1
    assert RateLimiter(2.0, burst=3).window_cap == 3
    with pytest.raises(ValueError, match="window_cap must be >= 1"):
        RateLimiter(10.0, window_cap=0)


def test_rate_limiter_burst_then_pace() -> None:
    limiter = RateLimiter(10.0, burst=3)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    # Sequential callers: each further request waits one interval after the previous one.
    assert waits[3] == pytest.approx(0.1, abs=0.03) and waits[4] == pytest.approx(0.1, abs=0.03)


def test_rate_limiter_registry_shares_one_bucket() -> None:
    a = get_rate_limiter("test_http_shared", 50.0)
    b = get_rate_limiter("test_http_shared", 50.0)
    assert a is b
    assert get_rate_limiter("test_http_other", 50.0) is not a
    c = get_rate_limiter("test_http_shared", 5.0)  # newest configuration wins, same bucket
    assert c is a and a.pacing == (5.0, 1, 5, 1.0)
    assert get_rate_limiter("test_http_shared", 5.0, window_cap=4) is a and a.window_cap == 4
    with pytest.raises(ValueError):
        RateLimiter(0)


# ── fan-out ──


def test_fan_out_collects_results_and_failures_concurrently() -> None:
    all_workers_at_once = threading.Barrier(8, timeout=30)  # sequential work would time out

    def work(i: int) -> int:
        all_workers_at_once.wait()
        if i % 3 == 0:
            raise ValueError(f"bad {i}")
        return i * i

    result = fan_out(work, range(16), max_workers=8)
    assert result.results == {i: i * i for i in range(16) if i % 3}
    assert set(result.failures) == {0, 3, 6, 9, 12, 15}
    assert all(isinstance(e, ValueError) for e in result.failures.values())
    assert str(result.failures[9]) == "bad 9"


def test_fan_out_bounded_by_shared_limiter() -> None:
    limiter = RateLimiter(50.0)

    def work(i: int) -> int:
        limiter.acquire()
        return i

    result = fan_out(work, range(26), max_workers=8)
    assert len(result.results) == 26 and result.wall_s >= 25 / 50 * 0.95


def test_fan_out_logs_progress_at_most_every_interval() -> None:
    records: list[tuple[float, str]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((time.monotonic(), record.getMessage()))

    log = logging.getLogger("etf_assets_tests.fan_out")
    log.setLevel(logging.INFO)
    log.addHandler(Collect())
    log.propagate = False
    result = fan_out(
        lambda i: time.sleep(0.05), range(24), max_workers=2, log=log, label="pdfs",
        progress_every_s=0.2,
    )  # fmt: skip
    assert len(result.results) == 24
    progress = [r for r in records if "done in" not in r[1]]
    assert progress, records
    assert all(
        msg.startswith("pdfs: ") and "/24, " in msg and "/s, ETA" in msg for _, msg in progress
    )
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(progress)]
    assert all(gap >= 0.19 for gap in gaps)
    assert records[-1][1].startswith("pdfs: 24/24") and "0 failed" in records[-1][1]


def test_fan_out_stop_on_cancels_the_rest() -> None:
    class Fatal(Exception):
        pass

    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        time.sleep(0.02)
        if i == 0:
            raise Fatal("login required")
        return i

    with pytest.raises(Fatal):
        fan_out(work, range(200), max_workers=2, stop_on=(Fatal,))
    assert len(started) < 50
