"""Schedules are built from phases.py: each ticks at its phase's time and targets its partition."""

from datetime import UTC, date, datetime, time, timedelta

import dagster as dg
import pytest

from etf_assets import phases
from etf_assets.checks import WATCHED_TABLES
from etf_assets.definitions import defs
from etf_assets.phases import PHASE_BY_NAME, PHASES


def evaluate(schedule_name: str, tick: datetime) -> dg.RunRequest | dg.SkipReason:
    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def(schedule_name)
    context = dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repository)
    data = schedule.evaluate_tick(context)
    if data.run_requests:
        (request,) = data.run_requests
        return request
    return dg.SkipReason(data.skip_message)


def tick(phase: str, day: date) -> datetime:
    return PHASE_BY_NAME[phase].tick(day)


@pytest.mark.parametrize(
    ("phase", "day", "key"),
    [
        ("listing", date(2026, 11, 23), "2026-11-23"),
        ("prices", date(2026, 11, 20), "2026-11-20"),  # Friday
        ("week52", date(2026, 11, 20), "2026-11-20"),
        ("flows", date(2026, 11, 20), "2026-11-20"),
        ("tracking", date(2026, 11, 22), "2026-11-20"),
        # Chuseok week 2026: Thursday and Friday closed, the week's last session is Wednesday.
        ("tracking", date(2026, 9, 27), "2026-09-23"),
        ("prices", date(2026, 9, 28), "2026-09-28"),  # after Chuseok
    ],
)
def test_schedule_targets_the_right_partition(phase: str, day: date, key: str) -> None:
    schedule = f"{phase}_schedule"
    request = evaluate(schedule, tick(phase, day))
    assert isinstance(request, dg.RunRequest), request
    assert request.partition_key == key
    assert request.run_key == f"{schedule}:{key}"


def test_the_kst_date_decides_not_the_utc_one() -> None:
    # Sunday 15:30 UTC is Monday 00:30 in Seoul: Monday's session.
    request = evaluate("listing_schedule", datetime(2026, 11, 22, 15, 30, tzinfo=UTC))
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2026-11-23"


@pytest.mark.parametrize(
    ("phase", "day"),
    [
        ("listing", date(2026, 11, 21)),  # Saturday
        ("prices", date(2026, 9, 24)),  # Chuseok
        ("week52", date(2026, 6, 3)),  # local elections
        ("flows", date(2026, 11, 21)),  # Saturday
        ("listing", date(2025, 12, 31)),  # year-end closure
    ],
)
def test_schedule_skips_closed_days(phase: str, day: date) -> None:
    result = evaluate(f"{phase}_schedule", tick(phase, day))
    assert isinstance(result, dg.SkipReason)
    assert "not an XKRX session" in (result.skip_message or "")


def test_every_phase_has_its_schedule_in_seoul_time_and_its_job() -> None:
    repository = defs.get_repository_def()
    for phase in PHASES:
        schedule = repository.get_schedule_def(f"{phase.name}_schedule")
        assert (schedule.cron_schedule, schedule.execution_timezone) == (phase.cron, "Asia/Seoul")
        job = repository.get_job(f"{phase.name}_job")
        assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == set(
            phase.assets
        )
    assert repository.get_schedule_def("monitoring_schedule").execution_timezone == "Asia/Seoul"


def plus(at: time, delta: timedelta) -> time:
    return (datetime.combine(date.min, at) + delta).time()


def test_phase_times_keep_their_minutes() -> None:
    for phase in PHASES:
        minute, hour, *_ = phase.cron.split()
        assert (int(hour), int(minute)) == (phase.at.hour, phase.at.minute)
        assert phase.due == plus(phase.at, phases.GRACE)  # minutes kept, not rounded to hours
        assert phase.due_label.endswith(f"{phase.due:%H:%M} KST")
    # flows run once KRX's flows are final, prices once the close has settled
    assert PHASE_BY_NAME["flows"].at > phases.FLOWS_FINAL_AT
    assert PHASE_BY_NAME["prices"].at > phases.PRICES_FINAL_AT
    assert PHASE_BY_NAME["tracking"].due_label.startswith("Sunday ")


def test_monitoring_runs_half_an_hour_after_every_phase() -> None:
    monitoring = defs.get_repository_def().get_schedule_def("monitoring_schedule").cron_schedule
    assert sorted(monitoring) == sorted(phases.monitoring_crons())
    expected = {phases.cron_at(plus(p.at, timedelta(minutes=30)), p.days) for p in PHASES}
    assert set(monitoring) == expected


def test_every_table_has_one_phase_and_every_watched_table_is_timed() -> None:
    tables = [t for p in PHASES for t in p.tables]
    assert len(tables) == len(set(tables))  # a table is kept fresh by exactly one phase
    assert set(tables) == set(WATCHED_TABLES)
