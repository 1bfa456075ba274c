from datetime import UTC, datetime

import dagster as dg
import pytest

from etf_assets.definitions import defs
from etf_assets.partitions import KST


def evaluate(schedule_name: str, tick: datetime) -> dg.RunRequest | dg.SkipReason:
    repository = defs.get_repository_def()
    schedule = repository.get_schedule_def(schedule_name)
    context = dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repository)
    data = schedule.evaluate_tick(context)
    if data.run_requests:
        (request,) = data.run_requests
        return request
    return dg.SkipReason(data.skip_message)


@pytest.mark.parametrize(
    ("schedule", "tick", "key"),
    [
        ("listing_schedule", datetime(2026, 11, 23, 9, tzinfo=KST), "2026-11-23"),
        # Sunday 15:30 UTC is Monday 00:30 in Seoul: the KST date decides.
        ("listing_schedule", datetime(2026, 11, 22, 15, 30, tzinfo=UTC), "2026-11-23"),
        ("prices_schedule", datetime(2026, 11, 20, 16, tzinfo=KST), "2026-11-20"),  # Friday
        ("week52_schedule", datetime(2026, 11, 20, 17, tzinfo=KST), "2026-11-20"),
        ("flows_schedule", datetime(2026, 11, 20, 18, 30, tzinfo=KST), "2026-11-20"),
        ("tracking_schedule", datetime(2026, 11, 22, 21, tzinfo=KST), "2026-11-20"),
        # Chuseok week 2026: Thursday and Friday closed, the week's last session is Wednesday.
        ("tracking_schedule", datetime(2026, 9, 27, 21, tzinfo=KST), "2026-09-23"),
        ("prices_schedule", datetime(2026, 9, 28, 16, tzinfo=KST), "2026-09-28"),  # after Chuseok
    ],
)
def test_schedule_targets_the_right_partition(schedule: str, tick: datetime, key: str) -> None:
    request = evaluate(schedule, tick)
    assert isinstance(request, dg.RunRequest), request
    assert request.partition_key == key
    assert request.run_key == f"{schedule}:{key}"


@pytest.mark.parametrize(
    ("schedule", "tick"),
    [
        ("listing_schedule", datetime(2026, 11, 21, 9, tzinfo=KST)),  # Saturday
        ("prices_schedule", datetime(2026, 9, 24, 16, tzinfo=KST)),  # Chuseok
        ("week52_schedule", datetime(2026, 6, 3, 17, tzinfo=KST)),  # local elections
        ("flows_schedule", datetime(2026, 11, 21, 18, 30, tzinfo=KST)),  # Saturday
        ("listing_schedule", datetime(2025, 12, 31, 9, tzinfo=KST)),  # year-end closure
    ],
)
def test_schedule_skips_closed_days(schedule: str, tick: datetime) -> None:
    result = evaluate(schedule, tick)
    assert isinstance(result, dg.SkipReason)
    assert "not an XKRX session" in (result.skip_message or "")


def test_every_phase_has_its_schedule_in_seoul_time() -> None:
    crons = {s.name: (s.cron_schedule, s.execution_timezone) for s in defs.schedules}
    assert crons["listing_schedule"] == ("0 9 * * 1-5", "Asia/Seoul")
    assert crons["prices_schedule"] == ("0 16 * * 1-5", "Asia/Seoul")
    assert crons["week52_schedule"] == ("0 17 * * 1-5", "Asia/Seoul")
    assert crons["tracking_schedule"] == ("0 21 * * 0", "Asia/Seoul")
    assert crons["flows_schedule"] == ("30 18 * * 1-5", "Asia/Seoul")  # flows final after 18:00
    assert crons["monitoring_schedule"][1] == "Asia/Seoul"


def test_flows_phase_refreshes_the_overview_and_is_monitored_half_an_hour_later() -> None:
    repository = defs.get_repository_def()
    job = repository.get_job("flows_job")
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == {
        "etf_investor_flows", "etf_overview",
    }  # fmt: skip
    monitoring = repository.get_schedule_def("monitoring_schedule").cron_schedule
    assert "0 19 * * 1-5" in monitoring
