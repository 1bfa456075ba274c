"""The team deployment (deploy/) for real: a throw-away PostgreSQL server, then etf_assets' code
server, dagster-daemon and the webserver as separate processes running the commands of
deploy/compose.yaml with deploy/dagster.yaml as the instance, against a small sandbox market.

It shows: two runs submitted at once both succeed, one after the other (the queue admits one
run of the warehouse's concurrency pool at a time); the daemon's sensors tick into Postgres (the
read snapshot is published after a run that wrote, a failed run is alerted); a schedule started
with `dagster schedule start` ticks into Postgres; nothing is written to SQLite.
Select it with `pytest -k postgres`.

Schedules tick at their cron times only (09:00 KST at the earliest), so the daemon runs on a
moved clock (time-machine, through a `sitecustomize` of the test's own): it starts at 08:59:40
of the next closed weekday, and the 09:00 listing schedule ticks within about a minute, skipped
because the day is no XKRX session. Everything else runs on the real clock.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import psycopg2
import pytest
import requests
import yaml
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from etf_assets import settings
from etf_assets.partitions import KST, is_session, now_kst, previous_session
from etf_assets.schedules import RANGE_END_TAG, RANGE_START_TAG
from etf_assets.sensors import ALERT_TAG
from etf_assets_tests.helpers import AS_OF, REPO
from etf_sandbox.localrun import sandbox_env
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

DEPLOY = REPO / "deploy"
INSTALL = "apt-get install -y postgresql (`make test` runs scripts/install_postgres.sh as root)"
PG_USER = "dagster"
# The sessions the two concurrent runs write (the first a range of two: its materializations go
# to Postgres in one batch), and the one a failed login makes fail.
RANGE = (
    previous_session(previous_session(previous_session(AS_OF))),
    previous_session(previous_session(AS_OF)),
)
SESSIONS = (RANGE, previous_session(AS_OF))
FAILING_SESSION = AS_OF
WAIT_S = 90.0
T = TypeVar("T")
SCHEDULE = "listing_schedule"  # 09:00 KST on weekdays
CLOCK_ENV = "DEPLOY_TEST_CLOCK"
CLOCK_HOOK = f"""\
import os

import time_machine

time_machine.travel(os.environ["{CLOCK_ENV}"], tick=True).start()
"""


def closed_weekday() -> date:
    """The first weekday after today that is no XKRX session (a holiday, the year-end closure).

    After, not before: gRPC turns a call's timeout into a deadline on the process's clock, and
    a clock moved back would have every call of the daemon to the code server past its deadline.
    """
    day = now_kst().date() + timedelta(days=1)
    while day.weekday() >= 5 or is_session(day):
        day += timedelta(days=1)
    return day


def moved_clock(env: dict[str, str], hook: Path, at: datetime) -> dict[str, str]:
    """`env` for a process whose clock starts at `at` and runs on from there."""
    return {**env, "PYTHONPATH": str(hook), CLOCK_ENV: at.isoformat()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server binaries: on PATH, else Debian's newest."""
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).resolve().parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    return found[-1].parent if found else None


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float = WAIT_S) -> T:
    """`probe()` once it returns something, polled until `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this test started (and its children: its own process group)."""
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A PostgreSQL server of its own on 127.0.0.1, as an unprivileged user (PostgreSQL refuses
    root): the DAGSTER_PG_* variables that reach it."""
    bindir = postgres_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL server not installed: {INSTALL}")
        pytest.skip(f"PostgreSQL server not installed: {INSTALL}")
    root = Path(tempfile.mkdtemp(prefix="etf_assets_pg_"))  # not under root's 0700 pytest dir
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust",
         "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [*as_user, str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p",
         str(port), "-k", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    env = {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(port),
        "DAGSTER_PG_USERNAME": PG_USER,
        "DAGSTER_PG_PASSWORD": "trust-auth-takes-any",
        "DAGSTER_PG_DB": "postgres",
    }

    def accepts() -> bool:
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user=PG_USER, dbname="postgres").close()
        except psycopg2.OperationalError:
            return False
        return True

    try:
        wait_for("PostgreSQL to accept connections", accepts, 30)
        yield env
    finally:
        _stop(server)
        shutil.rmtree(root, ignore_errors=True)


class Inbox(ThreadingHTTPServer):
    """An alert channel (apprise's json://) that keeps what it was sent."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                inbox.messages.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


def compose_dagster_settings() -> dict[str, str]:
    """The Dagster settings of compose.yaml's shared environment that hold in any deployment
    (DAGSTER_EVENT_BATCH_SIZE), so the test's processes run with them too."""
    environment = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["x-dagster"]["environment"]
    return {"DAGSTER_EVENT_BATCH_SIZE": str(environment["DAGSTER_EVENT_BATCH_SIZE"])}


def compose_commands(ports: dict[str, int]) -> dict[str, list[str]]:
    """The services' commands of deploy/compose.yaml, on 127.0.0.1 and the given ports."""
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    commands = {}
    for name in ("code-server", "daemon", "webserver"):
        command = list(services[name]["command"])
        for i, word in enumerate(command[:-1]):
            if word == "-h":
                command[i + 1] = "127.0.0.1"
            if word == "-p":
                command[i + 1] = str(ports[name])
        commands[name] = [str(Path(sys.executable).parent / command[0]), *command[1:]]
    return commands


def postgres_rows(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    with psycopg2.connect(
        host=env["DAGSTER_PG_HOST"], port=int(env["DAGSTER_PG_PORT"]), user=PG_USER,
        dbname=env["DAGSTER_PG_DB"],
    ) as conn, conn.cursor() as cursor:  # fmt: skip
        cursor.execute(sql)
        return cursor.fetchall()


def schedule_ticks(env: dict[str, str]) -> list[tuple[Any, ...]]:
    """The ticks of SCHEDULE in Postgres: status and skip reason."""
    return postgres_rows(
        env,
        "SELECT tick_body::json->>'status', tick_body::json->>'skip_reason' FROM job_ticks "
        f"WHERE type = 'SCHEDULE' AND tick_body::json->>'job_name' = '{SCHEDULE}'",
    )


def test_postgres_deployment_serializes_runs_and_records_ticks(
    postgres: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, warehouse = tmp_path / "dagster_home", tmp_path / "etf.duckdb"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    ports = {"code-server": free_port(), "webserver": free_port(), "daemon": 0}
    hook = tmp_path / "clock"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CLOCK_HOOK)
    holiday = closed_weekday()
    daemon_starts = datetime.combine(holiday, clock_time(8, 59, 40), KST)
    evening = datetime.combine(AS_OF, datetime.min.time(), KST).replace(hour=20)
    inbox = Inbox()
    threading.Thread(target=inbox.serve_forever, daemon=True).start()
    processes: list[subprocess.Popen[bytes]] = []
    with start_sandbox(SandboxConfig(n_etfs=150, now=lambda: evening)) as sandbox:
        env = {
            **os.environ,
            **sandbox_env(sandbox.url),
            **postgres,
            "DAGSTER_HOME": str(home),
            "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
            "DAGSTER_CODE_SERVER_PORT": str(ports["code-server"]),
            settings.DUCKDB_ENV: str(warehouse),
            settings.ALERT_URLS_ENV: f"json://127.0.0.1:{inbox.server_port}/hook",
            **compose_dagster_settings(),
        }
        for name, command in compose_commands(ports).items():
            process_env = moved_clock(env, hook, daemon_starts) if name == "daemon" else env
            with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own copy
                processes.append(
                    subprocess.Popen(
                        command, cwd=REPO, env=process_env, stdout=log,
                        stderr=subprocess.STDOUT, start_new_session=True,
                    )
                )  # fmt: skip

        def start_schedule() -> None:
            """As an operator would, on the daemon's moved clock a minute before its start."""
            subprocess.run(
                [str(Path(sys.executable).parent / "dagster"), "schedule", "start", SCHEDULE,
                 "-w", str(DEPLOY / "workspace.yaml")],
                cwd=REPO, env=moved_clock(env, hook, daemon_starts - timedelta(minutes=1)),
                check=True, capture_output=True,
            )  # fmt: skip

        try:
            check_deployment(
                env, ports["webserver"], sandbox, inbox, start_schedule, warehouse, monkeypatch
            )
            tick = wait_for(f"{SCHEDULE}'s 09:00 tick", lambda: schedule_ticks(env))
            assert tick == [
                (
                    '{"__enum__": "TickStatus.SKIPPED"}',
                    f"{holiday:%Y-%m-%d %a} is not an XKRX session",
                )
            ]
            assert not list(home.rglob("*.db"))  # no SQLite storage anywhere in DAGSTER_HOME
            assert "caught an error" not in (tmp_path / "daemon.log").read_text()
        except BaseException:
            for name in ("code-server", "daemon", "webserver"):
                print(f"---- {name}.log\n{(tmp_path / f'{name}.log').read_text()[-3000:]}")
            raise
        finally:
            for process in processes:
                _stop(process)
            inbox.shutdown()


def check_deployment(
    env: dict[str, str],
    webserver_port: int,
    sandbox: Sandbox,
    inbox: Inbox,
    start_schedule: Callable[[], None],
    warehouse: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = DagsterGraphQLClient("127.0.0.1", port_number=webserver_port)

    def submit(session: object) -> str | None:
        tags = (
            {RANGE_START_TAG: str(session[0]), RANGE_END_TAG: str(session[1])}
            if isinstance(session, tuple)
            else {"dagster/partition": str(session)}
        )
        try:
            return client.submit_job_execution("listing_job", tags=tags)
        except (DagsterGraphQLClientError, requests.ConnectionError):
            return None  # the webserver or the code location is still loading

    for name, value in env.items():  # this process reads the same instance, in Postgres
        if name.startswith(("DAGSTER_", "ETF_ASSETS_")):
            monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:

        def finished(*run_ids: str) -> Callable[[], list[dg.RunRecord] | None]:
            def probe() -> list[dg.RunRecord] | None:
                records = instance.get_run_records(dg.RunsFilter(run_ids=list(run_ids)))
                done = len(records) == len(run_ids)
                return records if done and all(r.dagster_run.is_finished for r in records) else None

            return probe

        # A run failing (KRX wants its password changed) is alerted by the daemon's sensor; the
        # alert's tick overlaps the two runs below.
        sandbox.set_faults("krx_data", krx_password_change=True)
        failed = wait_for("the webserver to load etf_assets", lambda: submit(FAILING_SESSION))
        start_schedule()  # its tick (the daemon's 09:00) overlaps the runs too
        wait_for("the failing run", finished(failed))
        sandbox.clear_faults()

        first, second = submit(SESSIONS[0]), submit(SESSIONS[1])  # at once: both queue
        assert first and second
        records = wait_for("both runs to finish", finished(first, second))
        records = sorted(records, key=lambda r: r.start_time)
        assert [r.dagster_run.status for r in records] == [dg.DagsterRunStatus.SUCCESS] * 2
        assert records[0].end_time <= records[1].start_time  # one after the other
        batched = instance.get_records_for_run(
            run_id=first, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=100
        ).records
        assert {r.asset_key.to_user_string() for r in batched} == {
            "krx_etf_list",
            "etf_details",
            "etf_classification",
        }
        assert {r.partition_key for r in batched} == {str(d) for d in RANGE}
        assert len(batched) == 6  # each asset once per session of the range

        # The daemon's publish sensor copies the warehouse for readers after a run that wrote.
        wait_for("the read snapshot", Path(settings.read_duckdb_path(str(warehouse))).is_file)
        wait_for("the failed-run alert", lambda: inbox.messages)
        assert "listing_job failed" in inbox.messages[0]["title"]
        assert instance.get_run_by_id(failed).tags[ALERT_TAG] == "alerted"

    ticks = postgres_rows(
        env, "SELECT DISTINCT type, tick_body::json->>'job_name' FROM job_ticks ORDER BY 2"
    )
    assert ("SENSOR", "alert_on_run_failure") in ticks
    assert ("SENSOR", "publish_read_snapshot") in ticks
