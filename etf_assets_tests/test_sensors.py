"""The alert sensors against a real instance: real runs failing on the sandbox's login wall, a
real blocking check failing, a warehouse going stale on the session calendar; each sensor is
ticked as the daemon ticks it (from the cursor its last tick left), and messages arrive through
apprise at a JSON webhook and an SMTP server on 127.0.0.1. One message per channel per incident,
none on the ticks after, one when it recovers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from etf_assets import partitions
from etf_assets.alerts import REDACTED, AlertChannels
from etf_assets.assets import listing
from etf_assets.checks import ALL_CHECKS
from etf_assets.errors import ConfigurationError
from etf_assets.partitions import KST
from etf_assets.phases import phase_of
from etf_assets.schedules import PHASE_SCHEDULES
from etf_assets.sensors import ALERT_TAG, alert_sensors, why_stale
from etf_assets_tests.helpers import ALL_ASSETS, AS_OF, krx_client, resources
from etf_assets_tests.test_alerts import SECRETS, AlertInbox
from etf_sandbox.server import Sandbox, SandboxConfig, start_sandbox

MONDAY = date(2026, 11, 23)  # the session after AS_OF (Friday 2026-11-20)
LOGIN = {"krx_id": "sandbox", "krx_pw": "sandbox-pw"}
# The sensors that watch runs and checks (staleness has tests of its own).
RUNS_AND_CHECKS = ("alert_on_run_failure", "alert_on_recovery", "alert_on_failed_checks")


class Ticks:
    """The alert sensors of one code location, ticked like dagster-daemon ticks them."""

    def __init__(self, instance: dg.DagsterInstance, res: dict[str, object]) -> None:
        self.instance = instance
        self.resources = res
        self.sensors = {sensor.name: sensor for sensor in alert_sensors()}
        self.cursors: dict[str, str | None] = {}
        self.repository = self.definitions(res).get_repository_def()

    def definitions(self, res: dict[str, object]) -> dg.Definitions:
        return dg.Definitions(
            assets=ALL_ASSETS,
            asset_checks=ALL_CHECKS,
            schedules=PHASE_SCHEDULES,
            sensors=list(self.sensors.values()),
            resources=res,
        )

    def tick(self, *names: str) -> None:
        for name in names or RUNS_AND_CHECKS:
            context = dg.build_sensor_context(
                instance=self.instance,
                cursor=self.cursors.get(name),
                repository_def=self.repository,
                resources=self.resources,
            )
            self.cursors[name] = self.sensors[name].evaluate_tick(context).cursor

    def run(self, job: str, partition: str, **overrides: object) -> dg.ExecuteInProcessResult:
        """`job` for `partition`, as the daemon would launch it, on these resources + overrides."""
        defs = self.definitions({**self.resources, **overrides})
        return defs.resolve_job_def(job).execute_in_process(
            instance=self.instance, partition_key=partition, raise_on_error=False
        )


@pytest.fixture
def inbox() -> Iterator[AlertInbox]:
    with AlertInbox() as started:
        yield started


@pytest.fixture
def login_wall() -> Iterator[Sandbox]:
    """A sandbox that answers LOGOUT to anonymous calls, as KRX does since Feb 2026."""
    with start_sandbox(SandboxConfig(require_login=True)) as sandbox:
        yield sandbox


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as test_instance:
        yield test_instance


def make_ticks(
    instance: dg.DagsterInstance, sandbox: Sandbox, db: Path, inbox: AlertInbox
) -> Ticks:
    ticks = Ticks(instance, {**resources(sandbox, db), "alerts": AlertChannels(urls=inbox.urls)})
    ticks.tick("alert_on_run_failure", "alert_on_recovery")  # their first tick places the cursor
    return ticks


def test_a_run_failed_before_the_first_tick_is_alerted_once(
    login_wall: Sandbox, instance: dg.DagsterInstance, inbox: AlertInbox, tmp_path: Path
) -> None:
    """Alerting turned on after a run failed: the first tick (no cursor) looks back a day and
    alerts it; a sensor starting over (its cursor reset) does not alert it again."""
    ticks = Ticks(
        instance,
        {
            **resources(login_wall, tmp_path / "etf.duckdb"),
            "alerts": AlertChannels(urls=inbox.urls),
        },
    )
    result = ticks.run("listing_job", AS_OF.isoformat())
    assert not result.success
    ticks.tick("alert_on_run_failure")
    (failed,) = inbox.take()
    assert failed.title == f"etf_assets: listing_job failed for {AS_OF}"
    assert instance.get_run_by_id(result.run_id).tags[ALERT_TAG] == "alerted"

    ticks.cursors.clear()
    ticks.tick("alert_on_run_failure")
    assert inbox.take() == []


def test_an_expired_password_alerts_once_per_incident(
    login_wall: Sandbox, instance: dg.DagsterInstance, inbox: AlertInbox, tmp_path: Path
) -> None:
    """KRX's password change (CD010) fails every job and partition: one alert, and one
    recovery with the first run that logs in; the same cause later is a new incident."""
    ticks = make_ticks(instance, login_wall, tmp_path / "etf.duckdb", inbox)
    krx = krx_client(login_wall, **LOGIN)
    login_wall.set_faults("krx_data", krx_password_change=True)
    for job, partition in [("listing_job", AS_OF), ("listing_job", MONDAY), ("prices_job", AS_OF)]:
        assert not ticks.run(job, partition.isoformat(), krx=krx).success
        ticks.tick()
    (changed,) = inbox.take()
    assert "three-monthly password change (CD010)" in changed.body

    login_wall.set_faults("krx_data", krx_password_change=False)
    assert ticks.run("listing_job", AS_OF.isoformat(), krx=krx).success
    ticks.tick()
    (recovered,) = inbox.take()
    assert recovered.title == f"etf_assets: recovered: listing_job for {AS_OF} succeeded"
    assert ticks.run("listing_job", MONDAY.isoformat(), krx=krx).success
    ticks.tick()
    assert inbox.take() == []  # the incident recovered once

    # Three months on: KRX ends the logged-in session and refuses the next login.
    login_wall.set_faults("krx_data", krx_password_change=True, logout_next_n=1)
    assert not ticks.run("listing_job", MONDAY.isoformat(), krx=krx).success
    ticks.tick()
    (again,) = inbox.take()
    assert "CD010" in again.body


def test_no_usable_alert_url_fails_the_tick_with_the_error(
    instance: dg.DagsterInstance,
) -> None:
    """URLs set but none usable is an error on every tick, not "alerting is off"."""
    sensors = {sensor.name: sensor for sensor in alert_sensors()}
    res = {"alerts": AlertChannels(urls="notaurl slack://T1/secret-B2")}
    context = dg.build_sensor_context(instance=instance, resources=res)
    with pytest.raises(ConfigurationError) as raised:
        sensors["alert_on_run_failure"].evaluate_tick(context)
    message = str(raised.value)
    assert "2 URLs apprise cannot use: nota*** (Unsupported URL: nota***); slack://***" in message
    assert "notaurl" not in message and "secret-B2" not in message


def test_failed_run_alerts_once_per_channel_then_recovers_once(
    login_wall: Sandbox, instance: dg.DagsterInstance, inbox: AlertInbox, tmp_path: Path
) -> None:
    ticks = make_ticks(instance, login_wall, tmp_path / "etf.duckdb", inbox)
    partition = AS_OF.isoformat()

    assert not ticks.run("listing_job", partition).success  # LOGOUT: no credentials
    ticks.tick()
    (failed,) = inbox.take()
    assert failed.title == f"etf_assets: listing_job failed for {partition}"
    assert f"Partition: {partition}" in failed.body
    assert "Error: KRXLoginRequired: krx_data MDCSTAT04601: KRX answered LOGOUT" in failed.body
    assert "What to do: KRX's data service wants a member login" in failed.body
    assert "set KRX_ID and KRX_PW" in failed.body
    assert "Run: http://127.0.0.1:3000/runs/" in failed.body

    ticks.tick()
    assert not ticks.run("listing_job", partition).success  # the same failure again
    ticks.tick()
    assert inbox.take() == []  # one message per incident

    login_wall.set_faults("krx_data", krx_password_change=True)
    krx = krx_client(login_wall, **LOGIN)
    assert not ticks.run("listing_job", partition, krx=krx).success  # CD010: a new failure
    ticks.tick()
    (changed,) = inbox.take()
    assert "KRXLoginFailed" in changed.body and "CD010" in changed.body
    assert "three-monthly password change (CD010)" in changed.body

    login_wall.set_faults("krx_data", krx_password_change=False)
    assert ticks.run("listing_job", partition, krx=krx).success
    ticks.tick()
    (recovered,) = inbox.take()
    assert recovered.title == f"etf_assets: recovered: listing_job for {partition} succeeded"
    assert "Failed before with: KRXLoginFailed" in recovered.body
    ticks.tick()
    assert ticks.run("listing_job", partition, krx=krx).success
    ticks.tick()
    assert inbox.take() == []


def test_adhoc_asset_runs_are_alerted_with_their_assets(
    login_wall: Sandbox, instance: dg.DagsterInstance, inbox: AlertInbox, tmp_path: Path
) -> None:
    """A run of the implicit asset job (the UI's Materialize, `dagster asset materialize`)."""
    ticks = make_ticks(instance, login_wall, tmp_path / "etf.duckdb", inbox)
    defs = ticks.definitions(ticks.resources)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance,
        partition_key=AS_OF.isoformat(),
        asset_selection=[dg.AssetKey("krx_etf_list")],
        raise_on_error=False,
    )
    assert not result.success
    ticks.tick()
    (failed,) = inbox.take()
    assert failed.title == f"etf_assets: assets krx_etf_list failed for {AS_OF}"


def test_a_failed_blocking_check_alerts_once_with_its_offenders(
    sandbox: Sandbox,
    instance: dg.DagsterInstance,
    inbox: AlertInbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """etf_details written with half the master's ETFs: `complete` (blocking) fails the run.
    The check sensor alerts, the run-failure sensor leaves it to it; the run succeeding
    afterwards closes it with one message."""
    ticks = make_ticks(instance, sandbox, tmp_path / "etf.duckdb", inbox)
    write = listing.replace_partitions

    def half_of_the_details(
        conn: duckdb.DuckDBPyConnection, table: str, dates: list[date], frame: pd.DataFrame, **kw
    ) -> int:
        kept = frame.iloc[: len(frame) // 2] if table == "etf_details" else frame
        return write(conn, table, dates, kept, **kw)

    monkeypatch.setattr(listing, "replace_partitions", half_of_the_details)
    assert not ticks.run("listing_job", AS_OF.isoformat()).success
    ticks.tick()
    (failed,) = inbox.take()
    assert failed.title == "etf_assets: check etf_details:complete failed (ERROR, blocking)"
    assert "Check: Rows of each partition against the ETF universe" in failed.body
    assert f"Result: etf_details {AS_OF}: 535 ETFs of a universe of 1070" in failed.body
    assert "missing_sample: [" in failed.body
    assert f"Run: listing_job for {AS_OF}, http://127.0.0.1:3000/runs/" in failed.body
    ticks.tick()
    assert inbox.take() == []

    monkeypatch.setattr(listing, "replace_partitions", write)
    assert ticks.run("listing_job", AS_OF.isoformat()).success
    ticks.tick()
    (recovered,) = inbox.take()
    assert recovered.title == "etf_assets: recovered: check etf_details:complete passes"
    ticks.tick()
    assert inbox.take() == []


def test_stale_tables_alert_once_and_recover_when_written(
    login_wall: Sandbox,
    db: Path,
    instance: dg.DagsterInstance,
    inbox: AlertInbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The shared warehouse holds Friday AS_OF. Sunday night nothing is due; Monday at noon
    the 09:00 phase's listing and classification are (09:00 + 2 h grace), and its run failed;
    written, they recover."""
    ticks = make_ticks(instance, login_wall, db, inbox)
    monkeypatch.setattr(partitions, "now_kst", lambda: datetime(2026, 11, 22, 23, tzinfo=KST))
    ticks.tick("alert_on_stale_data")
    assert inbox.take() == []  # a weekend never alarms

    monkeypatch.setattr(partitions, "now_kst", lambda: datetime(2026, 11, 23, 12, tzinfo=KST))
    assert not ticks.run("listing_job", MONDAY.isoformat()).success  # LOGOUT
    ticks.tick("alert_on_stale_data")
    (stale,) = inbox.take()
    assert stale.title == "etf_assets: stale data: krx_etf_list, etf_details, etf_classification"
    assert (
        f"krx_etf_list: newest {AS_OF}, expected {MONDAY} (1 sessions behind), "
        f"due {phase_of('krx_etf_list').due_label}: "
        f"its run for {MONDAY} failed: http://127.0.0.1:3000/assets/krx_etf_list"
        f"?view=partitions&partition={MONDAY}"
    ) in stale.body
    assert "What to do:" in stale.body
    ticks.tick("alert_on_stale_data")
    assert inbox.take() == []

    assert ticks.run("listing_job", MONDAY.isoformat(), krx=krx_client(login_wall, **LOGIN)).success
    ticks.tick("alert_on_stale_data")
    (fresh,) = inbox.take()
    assert fresh.title == (
        "etf_assets: recovered: fresh again: krx_etf_list, etf_details, etf_classification"
    )


def test_staleness_skips_a_tick_while_a_run_holds_the_warehouse(
    sandbox: Sandbox, db: Path, instance: dg.DagsterInstance, inbox: AlertInbox
) -> None:
    ticks = make_ticks(instance, sandbox, db, inbox)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "locked"
        context = dg.build_sensor_context(
            instance=instance, repository_def=ticks.repository, resources=ticks.resources
        )
        data = ticks.sensors["alert_on_stale_data"].evaluate_tick(context)
    finally:
        holder.kill()
        holder.wait()
    assert data.skip_message and data.skip_message.startswith("warehouse not readable now")
    assert data.cursor is None and inbox.take() == []


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2026-11-01"))
def leaky() -> None:
    """Fails with every secret in its error's first line, as no code of ours does."""
    secrets = " ".join(os.environ[name] for name in SECRETS)
    raise RuntimeError(f"upstream said: {secrets} {os.environ['ETF_ASSETS_ALERT_URLS']}")


def test_no_secret_reaches_a_channel_from_a_failed_run(
    instance: dg.DagsterInstance,
    inbox: AlertInbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ETF_ASSETS_ALERT_URLS", inbox.urls)
    sensors = {sensor.name: sensor for sensor in alert_sensors()}
    failure = sensors["alert_on_run_failure"]
    res = {"alerts": AlertChannels(urls=inbox.urls)}
    defs = dg.Definitions(assets=[leaky], sensors=[failure], resources=res)

    def tick(cursor: str | None) -> str | None:
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, repository_def=defs.get_repository_def(),
            resources=res,
        )  # fmt: skip
        return failure.evaluate_tick(context).cursor

    cursor = tick(None)
    job = defs.resolve_implicit_global_asset_job_def()
    assert not job.execute_in_process(
        instance=instance, partition_key="2026-11-20", raise_on_error=False
    ).success
    tick(cursor)
    assert len(inbox.received) == 2
    for message in inbox.received:
        text = message.title + message.body
        assert "upstream said" in text and REDACTED in text
        for secret in [*SECRETS.values(), *inbox.secrets]:
            assert secret not in text, (message.channel, secret)


def test_alert_sensors_need_no_urls_to_load(tmp_path: Path) -> None:
    """Without ETF_ASSETS_ALERT_URLS the sensors skip with the reason, sending nothing."""
    sensors = {sensor.name: sensor for sensor in alert_sensors()}
    res = {
        "alerts": AlertChannels(urls=None),
        "duckdb": DuckDBResource(database=str(tmp_path / "etf.duckdb")),
    }
    with dg.instance_for_test() as test_instance:
        for name in ("alert_on_failed_checks", "alert_on_stale_data"):
            context = dg.build_sensor_context(instance=test_instance, resources=res)
            data = sensors[name].evaluate_tick(context)
            assert data.skip_message and data.skip_message.startswith("Alerting is off")


@pytest.mark.parametrize("min_severity", ["ERROR", "WARN"])
def test_warn_checks_alert_only_when_opted_in(
    sandbox: Sandbox,
    instance: dg.DagsterInstance,
    inbox: AlertInbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    min_severity: str,
) -> None:
    """A fee of 5 % fails etf_details' `ranges` check, a WARN: alerted with
    ETF_ASSETS_ALERT_MIN_SEVERITY=WARN only."""
    ticks = make_ticks(instance, sandbox, tmp_path / "etf.duckdb", inbox)
    ticks.resources["alerts"] = AlertChannels(urls=inbox.urls, min_severity=min_severity)
    write = listing.replace_partitions

    def one_fee_of_five_percent(
        conn: duckdb.DuckDBPyConnection, table: str, dates: list[date], frame: pd.DataFrame, **kw
    ) -> int:
        if table == "etf_details":
            frame = frame.assign(
                expense_ratio_pct=frame["expense_ratio_pct"].mask(frame.index == 0, 5.0)
            )
        return write(conn, table, dates, frame, **kw)

    monkeypatch.setattr(listing, "replace_partitions", one_fee_of_five_percent)
    assert ticks.run("listing_job", AS_OF.isoformat()).success  # a WARN does not fail the run
    ticks.tick()
    titles = [m.title for m in inbox.take()]
    warned = ["etf_assets: check etf_details:ranges failed (WARN)"]
    assert titles == (warned if min_severity == "WARN" else [])


def test_a_stale_refreshed_or_rebuilt_table_names_what_dagster_knows(
    instance: dg.DagsterInstance,
) -> None:
    """etf_distributions is partitioned by month and etf_universe not at all: the alert looks
    up the expected session's month, or the newest materialization."""
    alerts = AlertChannels(urls="json://localhost")
    assert why_stale(instance, "etf_distributions", "2026-11-20", alerts) == (
        "no run for 2026-11-01"
    )
    assert why_stale(instance, "etf_universe", "2026-11-20", alerts) == "never materialized"
    instance.report_runless_asset_event(dg.AssetMaterialization("etf_universe"))
    said = why_stale(instance, "etf_universe", "2026-11-20", alerts)
    assert re.fullmatch(
        r"last materialized \d{4}-\d\d-\d\d \d\d:\d\d KST: http://127\.0\.0\.1:3000/assets/etf_universe",
        said,
    ), said
    assert why_stale(instance, "etf_daily_prices", "2026-11-20", alerts) == "no run for 2026-11-20"
