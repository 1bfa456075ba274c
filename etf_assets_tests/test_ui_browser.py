"""The Dagster UI in a real browser: the asset graph shows every asset, and a listing run
launched from the UI succeeds.

Why a browser and not only the GraphQL API: what users rely on is the page — the definitions
loading in `dagster dev` with the project's instance settings, the graph rendering every asset,
the partitioned launch dialog, the queued run being picked up by the daemon and run in its own
process against the upstreams configured by environment. Each of those has broken on its own
before (a definitions import error only shows in the UI; `run_queue` without a daemon leaves
runs queued forever).

Set-up as `make dev` does it: `dagster dev` (webserver and daemon) with a temporary DAGSTER_HOME
holding the project's dagster.yaml, a temporary warehouse, and the environment of
`etf_sandbox.localrun.sandbox_env` pointing at a sandbox served from this process. The browser is
Debian's Chromium driven by Playwright (never `playwright install`): `scripts/install_browser.sh`
installs it. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from etf_assets_tests.helpers import AS_OF, REPO
from etf_sandbox.localrun import prepare_dagster_home, sandbox_env
from etf_sandbox.server import SandboxConfig, start_sandbox

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path(os.environ.get("ETF_ASSETS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
INSTALL_HINT = (
    "install Debian's Chromium with `sudo apt-get update && sudo apt-get install -y chromium` "
    "(as root, `make test` runs scripts/install_browser.sh, which does that), or point "
    "ETF_ASSETS_CHROMIUM at a Chromium binary; not `playwright install`"
)
ASSETS = (
    "krx_etf_list", "etf_details", "etf_daily_prices", "etf_holdings", "etf_aum", "etf_52w",
    "etf_tracking_error", "etf_investor_flows", "etf_distributions", "etf_returns",
    "etf_universe", "etf_universe_names",
)  # fmt: skip
OPTIONAL_ASSETS = ("etf_overview",)  # shown too whenever the definitions have it
LAUNCHED = ("krx_etf_list", "etf_details")
PARTITION = AS_OF.isoformat()
STARTUP_TIMEOUT_S = 75.0
RUN_TIMEOUT_S = 75.0
UI_TIMEOUT_MS = 30_000
# The graph opens at a scale of at most 1.0, its zoom-out button steps 0.05, and below 0.15 it
# draws groups only: more clicks than 17 can never bring more nodes into view.
ZOOM_OUT_MAX_CLICKS = 17


@dataclass(frozen=True)
class DagsterUI:
    url: str
    warehouse: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM `dagster dev` (it stops its webserver, daemon and code server), then SIGKILL
    whatever is left of the process group it leads (started with start_new_session)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def require_chromium() -> Path:
    """The browser binary, or a skip that prints how to install it; in CI (`CI` set) a FAIL
    instead, since a skipped UI test would look like a passing one in a CI summary."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    """`dagster dev` on a free port of 127.0.0.1, wired to a sandbox by environment only."""
    root = tmp_path_factory.mktemp("dagster_ui")
    home = prepare_dagster_home(root / "dagster_home")  # the project's dagster.yaml
    warehouse = root / "etf.duckdb"
    log = root / "dagster_dev.log"
    with start_sandbox(SandboxConfig()) as sandbox:
        env = {
            **os.environ,
            **sandbox_env(sandbox.url, with_kis=False),
            "DAGSTER_HOME": str(home),
            "ETF_ASSETS_DUCKDB": str(warehouse),
        }
        port = _free_port()
        command = [
            sys.executable, "-m", "dagster", "dev", "-m", "etf_assets.definitions",
            "-h", "127.0.0.1", "-p", str(port),
        ]  # fmt: skip
        with log.open("wb") as out:
            proc = subprocess.Popen(
                command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"dagster dev exited ({proc.returncode}):\n{_log_tail(log)}")
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{url}/server_info", timeout=2).ok:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"dagster dev not serving after {STARTUP_TIMEOUT_S:.0f}s:\n"
                                f"{_log_tail(log)}")  # fmt: skip
                time.sleep(0.5)
            yield DagsterUI(url, warehouse, log)
        finally:
            _stop(proc)


def graphql(ui: DagsterUI, query: str) -> dict[str, Any]:
    resp = requests.post(f"{ui.url}/graphql", json={"query": query}, timeout=30)
    resp.raise_for_status()
    body = resp.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def asset_names(ui: DagsterUI) -> set[str]:
    """The assets the webserver's code location loaded (what the graph must show)."""
    data = graphql(ui, "{ assetNodes { assetKey { path } } }")
    return {node["assetKey"]["path"][-1] for node in data["assetNodes"]}


RUNS_QUERY = """{ runsOrError(limit: 20) { __typename ... on Runs { results {
    runId status tags { key value } assetSelection { path } } } } }"""


def wait_for_listing_run(ui: DagsterUI) -> dict[str, Any]:
    """The run of PARTITION that the UI launched, once it has finished (polled via GraphQL)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    run: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        runs = graphql(ui, RUNS_QUERY)["runsOrError"]["results"]
        run = next(
            (r for r in runs
             if {t["key"]: t["value"] for t in r["tags"]}.get("dagster/partition") == PARTITION),
            None,
        )  # fmt: skip
        if run and run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        time.sleep(1)
    status = run["status"] if run else "never created"
    pytest.fail(f"the run launched from the UI did not finish in {RUN_TIMEOUT_S:.0f}s "
                f"(status: {status}):\n{_log_tail(ui.log)}")  # fmt: skip


def zoom_out_until_shown(page: Any, names: list[str]) -> None:
    """Zoom out as a user would, one click of the zoom-out button at a time, until every named
    asset's node is on screen: the UI renders only the nodes in view, its "zoom to fit" fits
    only the width, and the lineage with every group expanded is several windows tall (and
    grows with every asset group). A graph too tall to show whole even at the smallest scale
    that still draws nodes fails here, naming the nodes it could not show.
    """
    shown = page.locator("[class*=AssetNode_assetName]")
    shown.first.wait_for()  # the expanded layout is drawn (collapsed groups show no nodes)
    button = page.locator("button:has([aria-label=zoom_out])")

    def missing() -> list[str]:
        return sorted(set(names) - {text.strip() for text in shown.all_inner_texts()})

    for _ in range(ZOOM_OUT_MAX_CLICKS):
        if not missing():
            return
        button.click()
        page.wait_for_timeout(100)  # one re-render of the nodes in view
    if missing():
        pytest.fail(f"the asset graph never showed {missing()} together with the other assets, "
                    f"even zoomed out {ZOOM_OUT_MAX_CLICKS} clicks")  # fmt: skip


def expand_all_groups(page: Any) -> None:
    """ "Expand all groups" from the graph's context menu (groups start collapsed).

    The menu opens on a right-click of the empty canvas under the toolbar (the collapsed
    groups sit in the middle). A raw mouse click does not trigger the dialog handler, and the
    newsletter dialog may pop up just then and swallow the click: so hover a real locator
    first (which runs the handler) and try again if no menu opened.
    """
    materialize_all = page.get_by_role("button", name="Materialize all…")
    expand = page.get_by_role("menuitem", name="Expand all groups").first
    for _ in range(3):
        materialize_all.hover()
        box = materialize_all.bounding_box()
        assert box is not None
        page.mouse.click(box["x"], box["y"] + 120, button="right")
        try:
            expand.click(timeout=5_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    pytest.fail("the asset graph's context menu never offered 'Expand all groups'")


def test_asset_graph_and_a_run_launched_from_the_ui(request: pytest.FixtureRequest) -> None:
    """Every asset in the graph; krx_etf_list + etf_details launched for AS_OF from the UI,
    run by the daemon, succeeded, and written to the warehouse the environment names."""
    chromium = require_chromium()  # before the 30 s of starting dagster dev
    dagster_ui: DagsterUI = request.getfixturevalue("dagster_ui")

    for stale in ARTIFACTS.glob("ui_*.png"):
        stale.unlink()
    loaded = asset_names(dagster_ui)
    assert set(ASSETS) <= loaded, f"definitions lack {sorted(set(ASSETS) - loaded)}"
    expected = [*ASSETS, *(a for a in OPTIONAL_ASSETS if a in loaded)]
    ARTIFACTS.mkdir(exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1920, "height": 2160})  # a tall 4K screen
        try:
            page.set_default_timeout(UI_TIMEOUT_MS)
            # A fresh instance greets the first visitor with a newsletter dialog: dismiss it
            # whenever it shows up.
            skip = page.get_by_role("button", name="Skip")
            page.add_locator_handler(skip, lambda button: button.click())

            # The global asset lineage, every group expanded.
            page.goto(f"{dagster_ui.url}/asset-groups")
            page.get_by_text("Materialize all").wait_for()
            expand_all_groups(page)
            zoom_out_until_shown(page, expected)

            def node(name: str) -> Any:
                """The graph node of an asset (not the sidebar's or the tree's entry)."""
                exact = re.compile(f"^{re.escape(name)}$")
                return page.locator("[class*=AssetNode_assetName]", has_text=exact)

            page.screenshot(path=str(ARTIFACTS / "ui_asset_graph.png"))

            # Select the listing assets and launch one partition from the dialog.
            node(LAUNCHED[0]).click()
            node(LAUNCHED[1]).click(modifiers=["Shift"])
            page.get_by_role("button", name="Materialize selected (2)…").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_text("Launch runs to materialize 2 assets").wait_for()
            partitions = dialog.get_by_placeholder("No matching partitions")
            partitions.fill(PARTITION)
            partitions.press("Enter")
            dialog.get_by_role("button", name="Launch 1 run").click()

            run = wait_for_listing_run(dagster_ui)
            assert run["status"] == "SUCCESS", (
                f"run {run['runId']} ended {run['status']}:\n{_log_tail(dagster_ui.log)}"
            )
            assert {p["path"][-1] for p in run["assetSelection"]} == set(LAUNCHED)

            page.goto(f"{dagster_ui.url}/runs/{run['runId']}")
            page.get_by_text("Success", exact=True).first.wait_for()
            page.get_by_text("RUN_SUCCESS").first.wait_for()
            page.screenshot(path=str(ARTIFACTS / "ui_run_succeeded.png"))
        except BaseException:
            # What the page showed when it went wrong: the first thing to look at in CI.
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / "ui_failure.png"))
            raise
        finally:
            browser.close()

    # The run really wrote the warehouse named by ETF_ASSETS_DUCKDB, from the sandbox.
    with duckdb.connect(str(dagster_ui.warehouse), read_only=True) as conn:
        counts = dict(
            conn.execute(
                "SELECT 'list', count(*) FROM krx_etf_list WHERE trade_date = ? UNION ALL "
                "SELECT 'details', count(*) FROM etf_details WHERE trade_date = ?",
                [AS_OF, AS_OF],
            ).fetchall()
        )
    assert counts["list"] > 1000 and counts["details"] == counts["list"], counts
