"""Alert sensors: failed runs, failed checks and stale data, one message per incident and one
when it recovers. They run in dagster-daemon (which `dagster dev` starts) at Dagster's default
interval of 30 s, and ship running only when ETF_ASSETS_ALERT_URLS is set
(docs/operations.md § Alerts).

What an incident is, and what closes it:

* **A failed run** of any job of the instance (schedules, UI materializations, backfills and
  `dagster asset materialize`, which records runs without a code location: hence
  `monitor_all_code_locations`; the instance serves this project alone). It alerts unless the
  previous finished run of the same target (job, or the assets of an ad-hoc run, and
  partition(s)) failed with the same error: retries of a known failure stay quiet. The next
  success of that target sends "recovered". A credential every job fails on (KRX's password
  change, CD010: `alerts.Remedy.account_wide`) is one incident across jobs and partitions,
  alerted once, until a run doing work one of its failed runs did succeeds (it logged in). The
  sensor keeps its own cursor over the instance's failure events; its first tick looks back
  over the last day, so a run that failed before alerting was turned on is not lost, and each
  failed run it handled carries a tag saying what it did (ALERT_TAG), never handled twice.
* **A failed asset check** at or above the minimum severity: once, until the check passes
  again (the open checks are this sensor's cursor). A run that failed only through blocking
  checks is left to this sensor, so it makes one message, with the check's offenders.
* **A stale table**: `rules.freshness` in sessions against its phase's time plus grace, read
  from the warehouse, so a daemon that was down or a schedule left off is caught too (the
  fresh_in_sessions check only runs when monitoring_job does, and is left to this sensor).
* **A session KRX answered with no data** (an empty price partition with a note): once per
  session, with how to add it to ETF_ASSETS_EXTRA_CLOSURES if KRX was closed that day.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import dagster as dg
import duckdb
from apprise import NotifyType
from dagster_duckdb import DuckDBResource
from dagster_shared.error import SerializableErrorInfo

from etf_assets import errors, partitions, settings
from etf_assets.alerts import (
    ALERTING_OFF,
    Alert,
    AlertChannels,
    Channels,
    instruction_for,
    remedy_for,
)
from etf_assets.checks import ALL_CHECKS, FRESHNESS, WATCHED_TABLES, rules
from etf_assets.phases import phase_of

PARTITION_TAG = "dagster/partition"
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
FAILURE_REASON_TAG = "dagster/failure_reason"
# Dagster names its implicit asset jobs (UI materializations, the CLI) `__ASSET_JOB…`.
IMPLICIT_JOB_PREFIX = "__"
CHECK_FAILURE = "DagsterAssetCheckFailedError"
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
PREVIOUS_RUNS_SCANNED = 50
# What alert_on_run_failure did about a failed run, and the account-wide cause it failed of.
ALERT_TAG = "etf_assets/alert"
INCIDENT_TAG = "etf_assets/incident"
# The first tick (no cursor yet: alerting just turned on, or the sensor reset) looks back a day.
FIRST_TICK_LOOKBACK_S = 24 * 3600
FAILURES_PER_TICK = 100
OFFENDER_KEYS = (
    "missing_sample", "offenders", "violations", "non_finite", "outliers", "below_threshold",
    "empty_partitions",
)  # fmt: skip
OFFENDERS_SHOWN_CHARS = 600
# Staleness is due hours after a phase (2 h grace), so every 5 minutes is soon enough, and the
# warehouse is opened (read-only, for a moment) 12 times an hour, not 120.
STALENESS_INTERVAL_S = 300
WAREHOUSE_UNREADABLE = duckdb.Error  # a run holding the write lock, or a file without our schema
STALE_INSTRUCTION = (
    "What to do: a failed run: open it, fix the cause and re-run. No run: turn the phase's "
    "schedule on (UI → Automation) and keep dagster-daemon running (`make dev` runs it), or "
    "materialize by hand: dagster asset materialize -m etf_assets.definitions --select <asset> "
    "--partition <date>."
)
APP = "etf_assets"
T = TypeVar("T")


# ---- runs: what failed, and the run before ---------------------------------------------------


def is_adhoc(run: dg.DagsterRun) -> bool:
    return run.job_name.startswith(IMPLICIT_JOB_PREFIX)


def run_target(run: dg.DagsterRun) -> tuple[str, ...]:
    """What a run materializes: its job (an ad-hoc run: its assets and checks) and partitions."""
    keys = (*(run.asset_selection or ()), *(run.asset_check_selection or ()))
    selection = sorted(k.to_user_string() for k in keys) if is_adhoc(run) else []
    tags = (run.tags.get(tag, "") for tag in (PARTITION_TAG, *RANGE_TAGS))
    return (run.job_name, *tags, *selection)


def run_label(run: dg.DagsterRun) -> str:
    """`listing_job`, or the assets of an ad-hoc run."""
    if is_adhoc(run) and run.asset_selection:
        return "assets " + ", ".join(sorted(k.to_user_string() for k in run.asset_selection))
    return run.job_name


def partition_label(run: dg.DagsterRun) -> str:
    start, end = (run.tags.get(tag) for tag in RANGE_TAGS)
    if start:
        return f"{start}…{end}"
    return run.tags.get(PARTITION_TAG) or "none (the newest partitions)"


@dataclass(frozen=True)
class RunFailure:
    """Why a run failed: the class and first line of its first error, and the failed steps."""

    error_class: str
    first_line: str
    steps: Sequence[str]

    @property
    def checks_only(self) -> bool:
        """Every failed step is a blocking check: the check sensor reports it."""
        return self.error_class == CHECK_FAILURE


def _cause(error: SerializableErrorInfo) -> SerializableErrorInfo:
    """The first error in the chain that is not Dagster's wrapper around the step's own, nor a
    `dg.Failure` raised from ours (a credential error stops Dagster's retries that way)."""
    while (error.cls_name.startswith("Dagster") or error.cls_name == "Failure") and error.cause:
        error = error.cause
    return error


def _first_line(error_class: str, message: str) -> str:
    """`KRXLoginRequired: krx_data …` from `etf_assets.errors.KRXLoginRequired: krx_data …`."""
    line = next((line for line in message.strip().splitlines() if line.strip()), "")
    prefix, sep, rest = line.partition(f"{error_class}: ")
    return f"{error_class}: {rest}" if sep and (not prefix or prefix.endswith(".")) else line


def run_failure(instance: dg.DagsterInstance, run: dg.DagsterRun, run_message: str) -> RunFailure:
    """From the run's step failures (the API `RunFailureSensorContext` reads them with); a run
    that failed outside any step (a crash, a launch failure) by its failure reason."""
    records = instance.get_records_for_run(
        run_id=run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    failures = [
        (r.event_log_entry.step_key or "", _cause(error))
        for r in records
        if r.event_log_entry.dagster_event
        and (error := r.event_log_entry.dagster_event.step_failure_data.error)
    ]
    steps = [step for step, _ in failures]
    user = [error for _, error in failures if error.cls_name != CHECK_FAILURE]
    if failures and not user:
        return RunFailure(CHECK_FAILURE, _first_line(CHECK_FAILURE, failures[0][1].message), steps)
    if user:
        return RunFailure(user[0].cls_name, _first_line(user[0].cls_name, user[0].message), steps)
    reason = run.tags.get(FAILURE_REASON_TAG, "RUN_FAILURE")
    return RunFailure(reason, _first_line(reason, run_message), steps)


def previous_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRun | None:
    """The newest finished run of the same target created before `run`."""
    record = instance.get_run_record_by_id(run.run_id)
    tags = {tag: run.tags[tag] for tag in (PARTITION_TAG, *RANGE_TAGS) if tag in run.tags}
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=run.job_name,
            tags=tags,
            statuses=FINISHED,
            created_before=record.create_timestamp if record else None,
        ),
        limit=PREVIOUS_RUNS_SCANNED,
    )
    target = run_target(run)
    return next(
        (
            r.dagster_run
            for r in records
            if r.dagster_run.run_id != run.run_id and run_target(r.dagster_run) == target
        ),
        None,
    )


def open_failure(
    instance: dg.DagsterInstance, run: dg.DagsterRun
) -> tuple[dg.DagsterRun, RunFailure] | None:
    """The failed run before `run` (same target) and its failure, when it was alerted."""
    previous = previous_run(instance, run)
    if previous is None or previous.status != dg.DagsterRunStatus.FAILURE:
        return None
    failure = run_failure(instance, previous, "")
    return None if failure.checks_only else (previous, failure)


def incident_failures(
    instance: dg.DagsterInstance, cause: str, before: dg.DagsterRun
) -> list[dg.DagsterRun]:
    """The failed runs tagged with the account-wide `cause` created before `before`, newest
    first, unless a run doing their work has succeeded since the newest (the incident closed)."""
    created = _created(instance, before)
    failures = [
        record.dagster_run
        for record in instance.get_run_records(
            filters=dg.RunsFilter(
                tags={INCIDENT_TAG: cause},
                statuses=[dg.DagsterRunStatus.FAILURE],
                created_before=created,
            ),
            limit=PREVIOUS_RUNS_SCANNED,
        )
    ]
    if not failures:
        return []
    successes = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.SUCCESS],
            created_after=_created(instance, failures[0]),
            created_before=created,
        ),
        limit=PREVIOUS_RUNS_SCANNED,
    )
    closed = any(does_work_of(record.dagster_run, failures) for record in successes)
    return [] if closed else failures


def _created(instance: dg.DagsterInstance, run: dg.DagsterRun) -> datetime | None:
    record = instance.get_run_record_by_id(run.run_id)
    return record.create_timestamp if record else None


def does_work_of(run: dg.DagsterRun, failures: Sequence[dg.DagsterRun]) -> bool:
    """`run` is a job one of `failures` was, or an ad-hoc run of one of their assets: its
    success means what failed them (a login) works again."""
    jobs = {f.job_name for f in failures if not is_adhoc(f)}
    assets = {key for f in failures if is_adhoc(f) for key in f.asset_selection or ()}
    if is_adhoc(run):
        return bool(assets & set(run.asset_selection or ()))
    return run.job_name in jobs


def failed_run_alerts(
    instance: dg.DagsterInstance, run: dg.DagsterRun, message: str, alerts: AlertChannels
) -> tuple[dict[str, str], list[Alert]]:
    """The alert for a failed run, if any, and the tags saying what was decided."""
    failure = run_failure(instance, run, message)
    if failure.checks_only:
        return {ALERT_TAG: "left to alert_on_failed_checks"}, []
    remedy = remedy_for(failure.error_class, failure.first_line)
    if remedy and remedy.account_wide:
        tags = {INCIDENT_TAG: remedy.cause}
        incident = incident_failures(instance, remedy.cause, run)
        if incident:
            return {**tags, ALERT_TAG: f"same incident as run {incident[-1].run_id[:8]}"}, []
    else:
        tags = {}
        known = open_failure(instance, run)
        if known and known[1].error_class == failure.error_class:
            return {ALERT_TAG: f"same failure as run {known[0].run_id[:8]}"}, []
    return {**tags, ALERT_TAG: "alerted"}, [run_failure_alert(run, failure, alerts)]


def recovers_quietly(instance: dg.DagsterInstance, run: dg.DagsterRun, failure: RunFailure) -> bool:
    """A success after an account-wide failure that another success already closed: the
    incident recovered once, with its first success, not once per job and partition."""
    remedy = remedy_for(failure.error_class, failure.first_line)
    if remedy is None or not remedy.account_wide:
        return False
    return not incident_failures(instance, remedy.cause, run)


def failures_after(instance: dg.DagsterInstance, cursor: str | None) -> list[dg.EventLogRecord]:
    """The run failure events after the cursor (an event's storage id); without one, those of
    the last day (the runs already handled carry ALERT_TAG and are skipped)."""
    failed = dg.DagsterEventType.RUN_FAILURE
    since = (
        dg.RunStatusChangeRecordsFilter(failed, after_storage_id=int(cursor))
        if cursor
        else dg.RunStatusChangeRecordsFilter(
            failed, after_timestamp=time.time() - FIRST_TICK_LOOKBACK_S
        )
    )
    return instance.fetch_run_status_changes(since, limit=FAILURES_PER_TICK, ascending=True).records


def run_failure_alert(run: dg.DagsterRun, failure: RunFailure, alerts: AlertChannels) -> Alert:
    return Alert(
        f"{APP}: {run_label(run)} failed for {partition_label(run)}",
        [
            f"Job: {run_label(run)}"
            + (f", failed: {', '.join(failure.steps)}" if failure.steps else ""),
            f"Partition: {partition_label(run)}",
            f"Error: {failure.first_line}",
            f"What to do: {instruction_for(failure.error_class, failure.first_line)}",
            f"Run: {alerts.run_link(run.run_id)}",
        ],
    )


def recovery_alert(
    run: dg.DagsterRun, failure: RunFailure, failed_run_id: str, alerts: AlertChannels
) -> Alert:
    return Alert(
        f"{APP}: recovered: {run_label(run)} for {partition_label(run)} succeeded",
        [
            f"Job: {run_label(run)}",
            f"Partition: {partition_label(run)}",
            f"Failed before with: {failure.first_line}",
            f"Failed run: {alerts.run_link(failed_run_id)}",
            f"Run: {alerts.run_link(run.run_id)}",
        ],
        kind=NotifyType.SUCCESS,
    )


# ---- checks ----------------------------------------------------------------------------------

CHECK_INSTRUCTION = (
    "See the offenders on the asset's Checks tab, fix the source or the data and re-materialize "
    "the partition; a failed blocking check stops the assets downstream of it."
)


def alerted_check_specs() -> dict[dg.AssetCheckKey, dg.AssetCheckSpec]:
    """Every check but freshness, which the staleness sensor reports from the warehouse."""
    return {
        spec.key: spec
        for check in ALL_CHECKS
        for spec in check.check_specs
        if spec.name != FRESHNESS
    }


def _shorten(text: str) -> str:
    cut = OFFENDERS_SHOWN_CHARS
    return text if len(text) <= cut else text[:cut] + "…"


def offender_lines(metadata: Mapping[str, dg.MetadataValue]) -> list[str]:
    """The offenders a check's metadata names (rules.MAX_OFFENDERS at most), one line a kind."""
    lines = []
    for key in OFFENDER_KEYS:
        value = getattr(metadata.get(key), "value", None)
        if value:
            lines.append(f"{key}: {_shorten(json.dumps(value, ensure_ascii=False, default=str))}")
    return lines


def _run_line(instance: dg.DagsterInstance, run_id: str, alerts: AlertChannels) -> str:
    run = instance.get_run_by_id(run_id)
    what = f"{run_label(run)} for {partition_label(run)}, " if run else ""
    return f"Run: {what}{alerts.run_link(run_id)}"


def check_alert(
    spec: dg.AssetCheckSpec,
    evaluation: dg.AssetCheckEvaluation,
    run_line: str,
) -> Alert:
    """A failed check's message, or its recovery's when `evaluation` passed."""
    name = spec.key.to_user_string()
    if evaluation.passed:
        return Alert(
            f"{APP}: recovered: check {name} passes",
            [f"Result: {evaluation.description}", run_line],
            kind=NotifyType.SUCCESS,
        )
    blocking = ", blocking" if spec.blocking else ""
    return Alert(
        f"{APP}: check {name} failed ({evaluation.severity.value}{blocking})",
        [
            f"Check: {spec.description}",
            f"Result: {evaluation.description}",
            *offender_lines(evaluation.metadata),
            run_line,
            f"What to do: {CHECK_INSTRUCTION}",
        ],
        kind=NotifyType.FAILURE if evaluation.severity.value == "ERROR" else NotifyType.WARNING,
    )


def evaluate_checks(
    instance: dg.DagsterInstance, open_checks: dict[str, int], alerts: AlertChannels
) -> tuple[dict[str, int], list[Alert]]:
    """Alerts for checks whose latest result newly fails (at the minimum severity) or passes
    again, and the open checks after them (check key → the failed evaluation's record id)."""
    specs = alerted_check_specs()
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(specs))
    still_open = dict(open_checks)
    sent = []
    for key, record in sorted(latest.items(), key=lambda item: item[1].id):
        evaluation = record.event.asset_check_evaluation if record.event else None
        if evaluation is None:  # planned: its run is still going, or died (the run sensor says)
            continue
        name = key.to_user_string()
        newly_failed = not evaluation.passed and alerts.alerts_on(evaluation.severity)
        if (newly_failed and name not in still_open) or (evaluation.passed and name in still_open):
            sent.append(
                check_alert(specs[key], evaluation, _run_line(instance, record.run_id, alerts))
            )
            if evaluation.passed:
                del still_open[name]
            else:
                still_open[name] = record.id
    return still_open, sent


# ---- staleness -------------------------------------------------------------------------------


def read_freshness(database: str, now: datetime) -> dict[str, rules.RuleOutcome]:
    """Each table's freshness, on a read-only connection held only for these queries."""
    with duckdb.connect(database, read_only=True) as conn:
        return {table: rules.freshness(conn, table, now) for table in WATCHED_TABLES}


def due(table: str) -> str:
    """When `table`'s session is due: its phase's time plus grace (rules.expected_newest)."""
    return phase_of(table).due_label


def why_stale(
    instance: dg.DagsterInstance, table: str, expected: str, alerts: AlertChannels
) -> str:
    """What Dagster knows of the expected partition: a failed or running run, or none at all."""
    key, partitions_def = WATCHED_TABLES[table]
    if partitions_def is None:  # rebuilt whole: its newest materialization is all there is
        event = instance.get_latest_materialization_event(key)
        if event is None:
            return "never materialized"
        when = datetime.fromtimestamp(event.timestamp, partitions.KST)
        return f"last materialized {when:%Y-%m-%d %H:%M} KST: {alerts.asset_link(key, None)}"
    # A refreshed (monthly) table's partition is the expected session's month, by its first day.
    session = date.fromisoformat(expected)
    partition = (session.replace(day=1) if rules.refreshed_whole(table) else session).isoformat()
    statuses = instance.get_status_by_partition(key, [partition], partitions_def)
    status = (statuses or {}).get(partition)
    link = alerts.asset_link(key, partition)
    if status == dg.AssetPartitionStatus.FAILED:
        return f"its run for {partition} failed: {link}"
    if status == dg.AssetPartitionStatus.IN_PROGRESS:
        return f"a run for {partition} is still going: {link}"
    if status == dg.AssetPartitionStatus.MATERIALIZED:
        return f"Dagster materialized {partition}, but into another warehouse (ETF_ASSETS_DUCKDB?)"
    return f"no run for {partition}"


def staleness_alerts(
    instance: dg.DagsterInstance,
    freshness: Mapping[str, rules.RuleOutcome],
    stale_before: dict[str, str],
    alerts: AlertChannels,
) -> tuple[dict[str, str], list[Alert]]:
    """One alert for the tables newly stale, one for those fresh again; the stale ones after
    (table → the partition expected when it went stale)."""
    stale = {t: str(o.metadata["expected"]) for t, o in freshness.items() if not o.passed}
    newly = [t for t in stale if t not in stale_before]
    fresh_again = [t for t in freshness if t in stale_before and t not in stale]
    sent = []
    if newly:
        lines = [
            f"{freshness[t].description}, due {due(t)}: {why_stale(instance, t, stale[t], alerts)}"
            for t in newly
        ]
        sent.append(Alert(f"{APP}: stale data: {', '.join(newly)}", [*lines, STALE_INSTRUCTION]))
    if fresh_again:
        sent.append(
            Alert(
                f"{APP}: recovered: fresh again: {', '.join(fresh_again)}",
                [freshness[t].description for t in fresh_again],
                kind=NotifyType.SUCCESS,
            )
        )
    return {t: stale_before.get(t, stale[t]) for t in stale}, sent


# ---- sessions KRX answered with no data (a closure the calendar may lack) -------------------

# Empty price partitions written this many days back alert (older ones are history a backfill
# rewrote, not news).
EMPTY_SESSION_LOOKBACK_DAYS = 31


def empty_session_alerts(
    conn: duckdb.DuckDBPyConnection, alerted_before: Sequence[str], today: date
) -> tuple[list[str], list[Alert]]:
    """One alert per session of the last EMPTY_SESSION_LOOKBACK_DAYS whose etf_daily_prices
    partition is empty with a note (KRX answered no data) and that is still a session of the
    calendar, unless alerted before; and the sessions alerted, as the next cursor."""
    rows = conn.execute(
        "SELECT partition_date, note FROM etf_partition_log_latest "
        "WHERE table_name = 'etf_daily_prices' AND row_count = 0 AND partition_date >= ? "
        "ORDER BY partition_date",
        [today - timedelta(days=EMPTY_SESSION_LOOKBACK_DAYS)],
    ).fetchall()
    empty = {str(d): note for d, note in rows if d <= today and partitions.is_session(d)}
    sent = [
        Alert(
            f"{APP}: KRX had no data for session {day}",
            [
                note or "etf_daily_prices was written empty",
                f"Every window that counts sessions skips {day}, so no figure turns NULL.",
                f"If KRX was closed on {day} (a holiday the calendar lacks), add it to the "
                f"closures and restart: {settings.EXTRA_CLOSURES_ENV}={day}=reason (comma-"
                "separated, e.g. 2027-03-03=임시공휴일); it is then no partition and no "
                f"schedule runs on it. If KRX was open, re-run etf_daily_prices for {day}.",
            ],
            kind=NotifyType.WARNING,
        )
        for day, note in empty.items()
        if day not in alerted_before
    ]
    return sorted(empty), sent


def read_empty_session_alerts(
    database: str, alerted_before: Sequence[str], today: date
) -> tuple[list[str], list[Alert]]:
    """`empty_session_alerts` on a read-only connection held only for its query."""
    with duckdb.connect(database, read_only=True) as conn:
        return empty_session_alerts(conn, alerted_before, today)


def empty_session_sensor(
    status: dg.DefaultSensorStatus, channels: str, metadata: dict[str, str]
) -> dg.SensorDefinition:
    """alert_on_empty_sessions: `empty_session_alerts` on the warehouse every few minutes."""

    @dg.sensor(
        name="alert_on_empty_sessions",
        minimum_interval_seconds=STALENESS_INTERVAL_S,
        default_status=status,
        description="A message per session KRX answered with no data (an empty price "
        f"partition): how to add it to the closures if KRX was closed. {channels}",
        metadata=metadata,
    )
    def alert_on_empty_sessions(
        context: dg.SensorEvaluationContext, alerts: AlertChannels, duckdb: DuckDBResource
    ) -> dg.SkipReason:
        alerted_before = json.loads(context.cursor) if context.cursor else []
        read = watch_warehouse(
            context,
            alerts,
            duckdb,
            lambda db: read_empty_session_alerts(db, alerted_before, partitions.now_kst().date()),
        )
        if isinstance(read, dg.SkipReason):
            return read
        alerted, sent = read
        _send_all(context, alerts, sent)
        context.update_cursor(json.dumps(alerted))
        return dg.SkipReason(f"{len(sent)} message(s); empty sessions: {alerted or 'none'}")

    return alert_on_empty_sessions


# ---- the sensors -----------------------------------------------------------------------------


def alerting(
    context: dg.SensorEvaluationContext | dg.RunStatusSensorContext, alerts: AlertChannels
) -> bool:
    """False when no alert URL is set. URLs set but none usable fail the tick with the error
    (visible on the sensor's ticks; a cursor kept by a failed tick loses no alert) rather than
    skip as if alerting were off; some unusable: each tick logs which."""
    channels = alerts.channels()
    if not channels.configured:
        return False
    if not channels.plugins:
        raise errors.ConfigurationError(channels.unusable_error())
    if channels.unusable:
        context.log.warning(channels.unusable_error())
    return True


def watch_warehouse(
    context: dg.SensorEvaluationContext,
    alerts: AlertChannels,
    duckdb: DuckDBResource,
    read: Callable[[str], T],
) -> T | dg.SkipReason:
    """What a sensor that watches the warehouse reads (`read` of its path), or why this tick
    skips: alerting off, no warehouse yet, or the file locked by a run for now."""
    if not alerting(context, alerts):
        return dg.SkipReason(ALERTING_OFF)
    if not Path(duckdb.database).exists():
        return dg.SkipReason(f"no warehouse at {duckdb.database} yet: nothing to watch")
    try:
        return read(duckdb.database)
    except WAREHOUSE_UNREADABLE as exc:
        return dg.SkipReason(f"warehouse not readable now ({str(exc).splitlines()[0]})")


def _send_all(
    context: dg.SensorEvaluationContext | dg.RunStatusSensorContext,
    alerts: AlertChannels,
    sent: list[Alert],
) -> None:
    for alert in sent:
        delivery = alerts.send(alert)
        if delivery.failed:
            context.log.warning(
                f"'{alert.title}' not delivered to: {'; '.join(delivery.failures())}"
            )


def alert_sensors() -> list[dg.SensorDefinition]:
    """The four alert sensors, running by default only when alert URLs are configured."""
    channels = Channels.parse(dg.EnvVar(settings.ALERT_URLS_ENV).get_value()).describe()
    status = (
        dg.DefaultSensorStatus.RUNNING
        if settings.alerting_configured()
        else dg.DefaultSensorStatus.STOPPED
    )
    metadata = {"channels": channels}

    @dg.sensor(
        name="alert_on_run_failure",
        default_status=status,
        description="A message per failed run (any job of the instance): job, partition, error, "
        f"what to do; a credential's failures once per incident. {channels}",
        metadata=metadata,
    )
    def alert_on_run_failure(
        context: dg.SensorEvaluationContext, alerts: AlertChannels
    ) -> dg.SkipReason:
        if not alerting(context, alerts):
            return dg.SkipReason(ALERTING_OFF)
        decided = []
        for record in failures_after(context.instance, context.cursor):
            entry = record.event_log_entry
            run = context.instance.get_run_by_id(entry.run_id)
            if run is not None and ALERT_TAG not in run.tags:
                message = entry.dagster_event.message if entry.dagster_event else ""
                tags, sent = failed_run_alerts(context.instance, run, message or "", alerts)
                _send_all(context, alerts, sent)
                context.instance.add_run_tags(run.run_id, tags)
                decided.append(f"{run.run_id[:8]}: {tags[ALERT_TAG]}")
            context.update_cursor(str(record.storage_id))
        return dg.SkipReason("; ".join(decided) or "no new failed run")

    @dg.run_status_sensor(
        name="alert_on_recovery",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitor_all_code_locations=True,
        default_status=status,
        description=f"A message when a job and partition that failed succeed again. {channels}",
        metadata=metadata,
    )
    def alert_on_recovery(context: dg.RunStatusSensorContext, alerts: AlertChannels) -> None:
        run = context.dagster_run
        known = open_failure(context.instance, run)
        quiet = known and recovers_quietly(context.instance, run, known[1])
        if known and not quiet and alerting(context, alerts):
            failed_run, failure = known
            alert = recovery_alert(run, failure, failed_run.run_id, alerts)
            _send_all(context, alerts, [alert])

    @dg.sensor(
        name="alert_on_failed_checks",
        default_status=status,
        description="A message per asset check that fails at or above "
        f"ETF_ASSETS_ALERT_MIN_SEVERITY (default ERROR), one when it passes again. {channels}",
        metadata=metadata,
    )
    def alert_on_failed_checks(
        context: dg.SensorEvaluationContext, alerts: AlertChannels
    ) -> dg.SkipReason:
        if not alerting(context, alerts):
            return dg.SkipReason(ALERTING_OFF)
        open_checks = json.loads(context.cursor) if context.cursor else {}
        still_open, sent = evaluate_checks(context.instance, open_checks, alerts)
        _send_all(context, alerts, sent)
        context.update_cursor(json.dumps(still_open, sort_keys=True))
        return dg.SkipReason(f"{len(sent)} message(s); failing: {sorted(still_open) or 'none'}")

    @dg.sensor(
        name="alert_on_stale_data",
        minimum_interval_seconds=STALENESS_INTERVAL_S,
        default_status=status,
        description="A message when a table misses its session by its phase's time plus "
        f"grace (closed days never alarm), one when fresh again. {channels}",
        metadata=metadata,
    )
    def alert_on_stale_data(
        context: dg.SensorEvaluationContext, alerts: AlertChannels, duckdb: DuckDBResource
    ) -> dg.SkipReason:
        freshness = watch_warehouse(
            context, alerts, duckdb, lambda db: read_freshness(db, partitions.now_kst())
        )
        if isinstance(freshness, dg.SkipReason):
            return freshness
        stale_before = json.loads(context.cursor) if context.cursor else {}
        stale, sent = staleness_alerts(context.instance, freshness, stale_before, alerts)
        _send_all(context, alerts, sent)
        context.update_cursor(json.dumps(stale, sort_keys=True))
        return dg.SkipReason(f"{len(sent)} message(s); stale: {sorted(stale) or 'none'}")

    return [
        alert_on_run_failure,
        alert_on_recovery,
        alert_on_failed_checks,
        alert_on_stale_data,
        empty_session_sensor(status, channels, metadata),
    ]
