"""`make health` on the shared sandbox warehouse: healthy when fresh, exit 1 when stale."""

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from etf_assets import health, partitions
from etf_assets.partitions import KST

# The shared warehouse holds AS_OF = Friday 2026-11-20 for every asset.
SATURDAY_AFTER = datetime(2026, 11, 21, 12, tzinfo=KST)
STALE_TUESDAY = datetime(2026, 11, 24, 19, tzinfo=KST)


@pytest.fixture
def db(warehouse_path: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "etf.duckdb"
    shutil.copy(warehouse_path, copy)
    return copy


def run(db: Path, now: datetime, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(partitions, "now_kst", lambda: now)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return health.main(["--db", str(db)])


def test_fresh_warehouse_is_healthy_on_the_weekend(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db, SATURDAY_AFTER, monkeypatch) == 0
    out = capsys.readouterr().out
    assert "verdict: HEALTHY" in out and "etf_daily_prices     2026-11-20" in out


def test_stale_warehouse_is_unhealthy(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(db, STALE_TUESDAY, monkeypatch) == 1
    out = capsys.readouterr().out
    assert "verdict: UNHEALTHY" in out
    assert "etf_daily_prices: newest 2026-11-20, expected 2026-11-24 (2 sessions behind)" in out


def test_missing_warehouse_is_unhealthy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(tmp_path / "none.duckdb", SATURDAY_AFTER, monkeypatch) == 1
