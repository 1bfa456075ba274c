"""One schedule per phase (Asia/Seoul), each computing its partition key from the tick time.

Not `build_schedule_from_partitioned_job`, which misbehaves with exclusions: each schedule
asks the XKRX calendar whether its tick is a session and returns a SkipReason when it is not.
"""


from collections.abc import Callable
from datetime import date, datetime

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from etf_assets.partitions import KST, is_session, week_last_session

KeyForTick = Callable[[datetime], date | None]

listing_job = dg.define_asset_job(
    "listing_job", selection=["krx_etf_list", "etf_details"], description="09:00 phase"
)
prices_job = dg.define_asset_job(
    "prices_job", selection=["etf_daily_prices", "etf_aum"], description="16:00 phase"
)
week52_job = dg.define_asset_job(
    "week52_job", selection=["etf_52w", "etf_overview"], description="17:00 phase"
)
tracking_job = dg.define_asset_job(
    "tracking_job",
    selection=["etf_holdings", "etf_tracking_error"],
    description="Sunday 21:00 phase",
)


def todays_session(tick: datetime) -> date | None:
    """today's session, skipped on closed days"""
    today = tick.astimezone(KST).date()
    return today if is_session(today) else None


def this_weeks_last_session(tick: datetime) -> date | None:
    """the week's last session, skipped for a week without one"""
    return week_last_session(tick.astimezone(KST).date())


def phase_schedule(
    job: UnresolvedAssetJobDefinition, cron: str, key_for_tick: KeyForTick
) -> dg.ScheduleDefinition:
    name = job.name.removesuffix("_job") + "_schedule"

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone="Asia/Seoul",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"{job.description}: {key_for_tick.__doc__ or key_for_tick.__name__}",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        tick = context.scheduled_execution_time or datetime.now(KST)
        key = key_for_tick(tick)
        if key is None:
            return dg.SkipReason(f"{tick.astimezone(KST):%Y-%m-%d %a} is not an XKRX session")
        return dg.RunRequest(run_key=f"{name}:{key}", partition_key=key.isoformat())

    return _schedule


listing_schedule = phase_schedule(listing_job, "0 9 * * 1-5", todays_session)
prices_schedule = phase_schedule(prices_job, "0 16 * * 1-5", todays_session)
week52_schedule = phase_schedule(week52_job, "0 17 * * 1-5", todays_session)
tracking_schedule = phase_schedule(tracking_job, "0 21 * * 0", this_weeks_last_session)

PHASE_JOBS = [listing_job, prices_job, week52_job, tracking_job]
PHASE_SCHEDULES = [listing_schedule, prices_schedule, week52_schedule, tracking_schedule]

monitoring_job = dg.define_asset_job(
    "monitoring",
    selection=dg.AssetSelection.all_asset_checks(),
    description="Only the checks: freshness in sessions and the newest partitions' health",
)

monitoring_schedule = dg.ScheduleDefinition(
    name="monitoring_schedule",
    job=monitoring_job,
    cron_schedule=["30 9,16,17 * * 1-5", "30 21 * * 0"],  # half an hour after each phase
    execution_timezone="Asia/Seoul",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Runs the monitoring checks after every phase; closed days never alarm",
)
