"""`make dev` stops on SIGTERM: `dagster dev`, its webserver, daemon and code servers, and the
sandbox all exit, even when started in the background (where SIGINT is inherited ignored and
`dagster dev` would otherwise ignore SIGTERM too)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from etf_assets import settings
from etf_sandbox.localrun import REPO

STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 45.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _as_a_background_job() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_sigterm_stops_everything_make_dev_started(tmp_path: Path) -> None:
    ui_port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "ETF_ASSETS_DUCKDB": str(tmp_path / "etf.duckdb"),
    }
    log = (tmp_path / "dev.log").open("w")
    dev = subprocess.Popen(
        [sys.executable, "-m", "etf_sandbox.dev", "--port", "0", "--ui-port", str(ui_port)],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_as_a_background_job,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert dev.poll() is None, (tmp_path / "dev.log").read_text()[-3000:]
            try:
                if requests.get(f"http://127.0.0.1:{ui_port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("dagster dev did not come up:\n" + (tmp_path / "dev.log").read_text())
        printed = (tmp_path / "dev.log").read_text()  # the block to paste for the CLI beside it
        for name in (*settings.UPSTREAM_URL_VARIABLES, "DAGSTER_HOME"):
            assert f"\nexport {name}=" in printed, name
        dev.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _group_alive(dev.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
            dev.poll()
        assert not _group_alive(dev.pid), "processes of make dev outlived SIGTERM"
        assert dev.wait() == 0
    finally:
        if _group_alive(dev.pid):
            os.killpg(dev.pid, signal.SIGKILL)
        log.close()
