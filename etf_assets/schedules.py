"""One schedule per phase of `phases.PHASES` (Asia/Seoul), each computing its partition from the
tick time, and the checks-only monitoring schedule after every phase.

Names: a phase's job is `<phase>_job` and its schedule `<phase>_schedule`; the checks-only job
is `monitoring_job`. Jobs reach Definitions through the schedules that target them.

Not `build_schedule_from_partitioned_job`, which misbehaves with exclusions: each schedule
asks the XKRX calendar whether its tick is a session and returns a SkipReason when it is not.
"""

from datetime import datetime

import dagster as dg

from etf_assets.partitions import (
    KST,
    is_session,
    sessions_between,
    trailing_months,
    week_last_session,
)
from etf_assets.phases import (
    COSTS_FIRST_SESSIONS,
    PHASES,
    TIMEZONE,
    Phase,
    Target,
    disclosed_month,
    monitoring_crons,
)

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def run_request(phase: Phase, tick: datetime) -> dg.RunRequest | dg.SkipReason:
    """The run `phase` asks for at `tick`: its partition (or months), or why it skips."""
    today = tick.astimezone(KST).date()
    run_key = f"{phase.name}_schedule:"
    if phase.target is Target.WEEK:
        last = week_last_session(today)
        if last is None:
            return dg.SkipReason(f"the week of {today:%Y-%m-%d} has no XKRX session")
        return dg.RunRequest(run_key=run_key + last.isoformat(), partition_key=last.isoformat())
    if not is_session(today):
        return dg.SkipReason(f"{today:%Y-%m-%d %a} is not an XKRX session")
    if phase.target is Target.MONTHS:
        months = trailing_months(today)
        return dg.RunRequest(
            run_key=run_key + today.isoformat(),
            tags={RANGE_START_TAG: months[0].isoformat(), RANGE_END_TAG: months[-1].isoformat()},
        )
    if phase.target is Target.DISCLOSED_MONTH:
        if len(sessions_between(today.replace(day=1), today)) > COSTS_FIRST_SESSIONS:
            return dg.SkipReason(
                f"{today:%Y-%m-%d} is past the first {COSTS_FIRST_SESSIONS} sessions of its month"
            )
        month = disclosed_month(today).isoformat()
        return dg.RunRequest(run_key=run_key + today.isoformat(), partition_key=month)
    return dg.RunRequest(run_key=run_key + today.isoformat(), partition_key=today.isoformat())


def phase_schedule(phase: Phase) -> dg.ScheduleDefinition:
    """The `<phase>_schedule`, running the `<phase>_job` on the tick's partition."""
    description = f"{phase.label} phase: {phase.why}"

    @dg.schedule(
        name=f"{phase.name}_schedule",
        target=dg.define_asset_job(
            f"{phase.name}_job", selection=list(phase.assets), description=description
        ),
        cron_schedule=phase.cron,
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"{description}. Runs {phase.target.value}; skipped on closed days.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        return run_request(phase, context.scheduled_execution_time or datetime.now(KST))

    return _schedule


PHASE_SCHEDULES = [phase_schedule(phase) for phase in PHASES]

monitoring_schedule = dg.ScheduleDefinition(
    name="monitoring_schedule",
    target=dg.define_asset_job(
        "monitoring_job",
        selection=dg.AssetSelection.all_asset_checks(),
        description="Only the checks: freshness in sessions and the newest partitions' health",
    ),
    cron_schedule=monitoring_crons(),
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Runs the monitoring checks half an hour after every phase; closed days never "
    "alarm",
)
