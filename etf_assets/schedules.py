"""One schedule per phase (Asia/Seoul), each computing its partition key from the tick time.

Names: a phase's job is `<phase>_job` and its schedule `<phase>_schedule`; the checks-only job
is `monitoring_job`. Jobs reach Definitions through the schedules that target them.

Not `build_schedule_from_partitioned_job`, which misbehaves with exclusions: each schedule
asks the XKRX calendar whether its tick is a session and returns a SkipReason when it is not.
"""


from collections.abc import Callable
from datetime import date, datetime

import dagster as dg

from etf_assets.assets.distributions import trailing_months
from etf_assets.partitions import KST, is_session, week_last_session

KeyForTick = Callable[[datetime], date | None]


def todays_session(tick: datetime) -> date | None:
    """today's session, skipped on closed days"""
    today = tick.astimezone(KST).date()
    return today if is_session(today) else None


def this_weeks_last_session(tick: datetime) -> date | None:
    """the week's last session, skipped for a week without one"""
    return week_last_session(tick.astimezone(KST).date())


def phase_schedule(
    phase: str, assets: list[str], description: str, cron: str, key_for_tick: KeyForTick
) -> dg.ScheduleDefinition:
    """The `<phase>_schedule`, running the `<phase>_job` of `assets` on the tick's partition."""
    name = f"{phase}_schedule"

    @dg.schedule(
        name=name,
        target=dg.define_asset_job(f"{phase}_job", selection=assets, description=description),
        cron_schedule=cron,
        execution_timezone="Asia/Seoul",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"{description}: {key_for_tick.__doc__ or key_for_tick.__name__}",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        tick = context.scheduled_execution_time or datetime.now(KST)
        key = key_for_tick(tick)
        if key is None:
            return dg.SkipReason(f"{tick.astimezone(KST):%Y-%m-%d %a} is not an XKRX session")
        return dg.RunRequest(run_key=f"{name}:{key}", partition_key=key.isoformat())

    return _schedule


LISTING_CRON = "0 9 * * 1-5"


@dg.schedule(
    name="distributions_schedule",
    target=dg.define_asset_job(
        "distributions_job",
        selection=["etf_distributions"],
        description="09:00 phase: SEIBro's distributions of the trailing window",
    ),
    cron_schedule=LISTING_CRON,
    execution_timezone="Asia/Seoul",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="09:00 phase, with the listing: one run over the monthly partitions of the "
    "previous, this and the next month (payouts are announced before their record date and "
    "corrected after), skipped on closed days",
)
def distributions_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    tick = context.scheduled_execution_time or datetime.now(KST)
    today = tick.astimezone(KST).date()
    if not is_session(today):
        return dg.SkipReason(f"{today:%Y-%m-%d %a} is not an XKRX session")
    months = trailing_months(today)
    return dg.RunRequest(
        run_key=f"distributions_schedule:{today}",
        tags={
            "dagster/asset_partition_range_start": months[0].isoformat(),
            "dagster/asset_partition_range_end": months[-1].isoformat(),
        },
    )


PHASE_SCHEDULES = [
    phase_schedule(
        "listing", ["krx_etf_list", "etf_details"], "09:00 phase", LISTING_CRON, todays_session
    ),
    distributions_schedule,
    phase_schedule(
        "prices", ["etf_daily_prices", "etf_aum"], "16:00 phase", "0 16 * * 1-5", todays_session
    ),
    # Returns and distribution yield come with the 52-week figures, before the overview; the
    # universe (unpartitioned, rebuilt whole) picks up the day's prices and payouts.
    phase_schedule(
        "week52",
        ["etf_52w", "etf_returns", "etf_overview", "etf_universe", "etf_universe_names"],
        "17:00 phase",
        "0 17 * * 1-5",
        todays_session,
    ),
    # KRX's investor flows are final after 18:00; the overview is refreshed to include them.
    phase_schedule(
        "flows",
        ["etf_investor_flows", "etf_overview"],
        "18:30 phase",
        "30 18 * * 1-5",
        todays_session,
    ),
    phase_schedule(
        "tracking",
        ["etf_holdings", "etf_tracking_error"],
        "Sunday 21:00 phase",
        "0 21 * * 0",
        this_weeks_last_session,
    ),
]

monitoring_schedule = dg.ScheduleDefinition(
    name="monitoring_schedule",
    target=dg.define_asset_job(
        "monitoring_job",
        selection=dg.AssetSelection.all_asset_checks(),
        description="Only the checks: freshness in sessions and the newest partitions' health",
    ),
    # half an hour after each phase
    cron_schedule=["30 9,16,17 * * 1-5", "0 19 * * 1-5", "30 21 * * 0"],
    execution_timezone="Asia/Seoul",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Runs the monitoring checks after every phase; closed days never alarm",
)
