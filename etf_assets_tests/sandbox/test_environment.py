"""The sandbox's environment is written once (localrun.sandbox_env): what `python -m
etf_sandbox` prints is exactly what `make demo`, `make dev`, bench and the tests set, with
every upstream URL variable in it, so no source can be left on the real service."""

import subprocess
import sys

import pytest

from etf_assets import settings
from etf_assets_tests.helpers import REPO
from etf_sandbox.localrun import sandbox_env

URL_READERS = (
    settings.krx_data_url,
    settings.krx_openapi_url,
    settings.kis_base_url,
    settings.seibro_url,
    settings.kofia_url,
)


def test_every_url_reader_is_an_upstream_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings.UPSTREAM_URL_VARIABLES:
        monkeypatch.setenv(name, f"http://127.0.0.1:1/{name}")
    read = {reader() for reader in URL_READERS}
    assert read == {f"http://127.0.0.1:1/{name}" for name in settings.UPSTREAM_URL_VARIABLES}


def test_the_printed_block_is_what_make_demo_sets() -> None:
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "etf_sandbox", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert sandbox.stdout is not None
        for line in sandbox.stdout:
            lines.append(line.strip())
            if line.startswith("# optional"):
                break
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    url = lines[0].removeprefix("sandbox listening on ")
    printed = dict(
        line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export ")
    )
    assert printed == sandbox_env(url)  # the demo's own environment, SEIBRO_URL included
    assert {name: printed[name] for name in settings.UPSTREAM_URL_VARIABLES} == dict.fromkeys(
        settings.UPSTREAM_URL_VARIABLES, url
    )
    assert any(line.startswith("# optional") and "KRX_AUTH_KEY=" in line for line in lines)
