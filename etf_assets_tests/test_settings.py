"""Configuration errors: one clear line naming the variable, its value (secrets masked) and what
is allowed, raised when the Definitions load; the CLI prints that line, not a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from etf_assets import settings
from etf_assets.errors import ConfigurationError
from etf_sandbox.localrun import REPO


@pytest.mark.parametrize(
    ("value", "problem"),
    [("abc", "is not a number above 0"), ("0", "is not a number above 0"),
     ("nan", "is not a number above 0"), ("1e9", "is above the limit"),
     ("51", "is above the limit")],
)  # fmt: skip
def test_a_krx_rate_outside_0_to_50_is_refused_naming_the_limit(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("KRX_REQUESTS_PER_SECOND", value)
    with pytest.raises(ConfigurationError) as refused:
        settings.krx_requests_per_second()
    assert str(refused.value) == (
        f"KRX_REQUESTS_PER_SECOND='{value}' {problem}: set a rate above 0 and at most 50 "
        "requests a second (faster clients get KRX's block page), or unset it for the default 10"
    )


def test_rates_up_to_each_limit_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRX_REQUESTS_PER_SECOND", "50")
    monkeypatch.setenv("SEIBRO_REQUESTS_PER_SECOND", "20")
    assert settings.krx_requests_per_second() == settings.KRX_MAX_REQUESTS_PER_SECOND == 50
    assert settings.seibro_requests_per_second() == settings.SEIBRO_MAX_REQUESTS_PER_SECOND
    monkeypatch.setenv("SEIBRO_REQUESTS_PER_SECOND", "25")
    with pytest.raises(ConfigurationError, match="at most 20 requests a second"):
        settings.seibro_requests_per_second()


def test_a_base_url_that_is_not_http_is_refused_with_its_password_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KRX_DATA_URL", "127.0.0.1:8765")
    with pytest.raises(
        ConfigurationError, match=r"KRX_DATA_URL='127\.0\.0\.1:8765' is not an http"
    ):
        settings.krx_data_url()
    monkeypatch.setenv("SEIBRO_URL", "ftp://user:hunter2@seibro.example")
    with pytest.raises(ConfigurationError) as refused:
        settings.seibro_url()
    assert "hunter2" not in str(refused.value)
    assert "SEIBRO_URL='ftp://user:***@seibro.example'" in str(refused.value)


def test_kis_env_other_than_real_or_paper_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_ENV", "live")
    with pytest.raises(ConfigurationError, match="KIS_ENV='live' is neither 'real' nor 'paper'"):
        settings.kis_base_url()


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        (
            "KRX_REQUESTS_PER_SECOND",
            "1e9",
            "etf_assets configuration error: KRX_REQUESTS_PER_SECOND='1e9' is above the limit: "
            "set a rate above 0 and at most 50 requests a second (faster clients get KRX's "
            "block page), or unset it for the default 10",
        ),
        # read by the calendar while the assets' partitions are built, before any resource
        (
            "ETF_ASSETS_EXTRA_CLOSURES",
            "2027-03-03=임시공휴일, 2027-13-01",
            "etf_assets configuration error: ETF_ASSETS_EXTRA_CLOSURES: '2027-13-01' is not "
            "YYYY-MM-DD or YYYY-MM-DD=reason",
        ),
    ],
)
def test_the_cli_prints_a_configuration_error_as_its_one_line(
    tmp_path: Path, name: str, value: str, line: str
) -> None:
    """`dagster asset materialize` loads the Definitions; a bad setting is the one line it
    prints (Dagster's own deprecation warning aside), not the last line of a 75-line traceback."""
    env = {
        **os.environ,
        name: value,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),  # the calendar is read afresh
        "DAGSTER_HOME": str(tmp_path),
        "ETF_ASSETS_DUCKDB": str(tmp_path / "w.duckdb"),
    }
    completed = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "etf_assets.definitions",
         "--select", "krx_etf_list", "--partition", "2026-11-20"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr + completed.stdout
    assert [ours for ours in completed.stderr.splitlines() if name in ours] == [line]
    assert not (tmp_path / "w.duckdb").exists()
