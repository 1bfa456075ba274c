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
  success of that target sends "recovered". Run-status sensors keep Dagster's cursor, not ours,
  so both sensors read the incident from the instance's run history, the same way.
* **A failed asset check** at or above the minimum severity: once, until the check passes
  again (the open checks are this sensor's cursor). A run that failed only through blocking
  checks is left to this sensor, so it makes one message, with the check's offenders.
* **A stale table**: `rules.freshness` in sessions against its phase's time plus grace, read
  from the warehouse, so a daemon that was down or a schedule left off is caught too (the
  fresh_in_sessions check only runs when monitoring_job does, and is left to this sensor).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
from apprise import NotifyType
from dagster_duckdb import DuckDBResource
from dagster_shared.error import SerializableErrorInfo

from etf_assets import partitions, settings
from etf_assets.alerts import ALERTING_OFF, Alert, AlertChannels, Channels, instruction_for
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
    """The first error in the chain that is not Dagster's wrapper around the step's own."""
    while error.cls_name.startswith("Dagster") and error.cause is not None:
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


# ---- the sensors -----------------------------------------------------------------------------


def _send_all(
    context: dg.SensorEvaluationContext, alerts: AlertChannels, sent: list[Alert]
) -> None:
    for alert in sent:
        if not alerts.send(alert):
            context.log.warning(f"not every channel took '{alert.title}' (apprise logs which)")


def alert_sensors() -> list[dg.SensorDefinition]:
    """The four alert sensors, running by default only when alert URLs are configured."""
    channels = Channels.parse(dg.EnvVar(settings.ALERT_URLS_ENV).get_value()).describe()
    status = (
        dg.DefaultSensorStatus.RUNNING
        if settings.alerting_configured()
        else dg.DefaultSensorStatus.STOPPED
    )
    metadata = {"channels": channels}

    @dg.run_failure_sensor(
        name="alert_on_run_failure",
        monitor_all_code_locations=True,
        default_status=status,
        description=f"A message per failed run: job, partition, error, what to do. {channels}",
        metadata=metadata,
    )
    def alert_on_run_failure(context: dg.RunFailureSensorContext, alerts: AlertChannels) -> None:
        if not alerts.enabled:
            context.log.info(ALERTING_OFF)
            return
        run = context.dagster_run
        failure = run_failure(context.instance, run, context.failure_event.message or "")
        known = open_failure(context.instance, run)
        if failure.checks_only:
            context.log.info(f"run {run.run_id}: blocking checks failed: alert_on_failed_checks")
        elif known and known[1].error_class == failure.error_class:
            context.log.info(f"run {run.run_id}: still failing with {failure.error_class}")
        else:
            _send_all(context, alerts, [run_failure_alert(run, failure, alerts)])

    @dg.run_status_sensor(
        name="alert_on_recovery",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitor_all_code_locations=True,
        default_status=status,
        description=f"A message when a job and partition that failed succeed again. {channels}",
        metadata=metadata,
    )
    def alert_on_recovery(context: dg.RunStatusSensorContext, alerts: AlertChannels) -> None:
        known = open_failure(context.instance, context.dagster_run)
        if alerts.enabled and known:
            failed_run, failure = known
            alert = recovery_alert(context.dagster_run, failure, failed_run.run_id, alerts)
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
        if not alerts.enabled:
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
        if not alerts.enabled:
            return dg.SkipReason(ALERTING_OFF)
        if not Path(duckdb.database).exists():
            return dg.SkipReason(f"no warehouse at {duckdb.database} yet: nothing to watch")
        try:
            freshness = read_freshness(duckdb.database, partitions.now_kst())
        except WAREHOUSE_UNREADABLE as exc:
            return dg.SkipReason(f"warehouse not readable now ({str(exc).splitlines()[0]})")
        stale_before = json.loads(context.cursor) if context.cursor else {}
        stale, sent = staleness_alerts(context.instance, freshness, stale_before, alerts)
        _send_all(context, alerts, sent)
        context.update_cursor(json.dumps(stale, sort_keys=True))
        return dg.SkipReason(f"{len(sent)} message(s); stale: {sorted(stale) or 'none'}")

    return [alert_on_run_failure, alert_on_recovery, alert_on_failed_checks, alert_on_stale_data]
