"""Run the project locally against the sandbox: shared by `make demo`, `make dev` and bench.

The sandbox runs as its own process (like the real services would be elsewhere) and the
project is pointed at it purely through the documented environment variables.
"""

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etf_assets import settings
from etf_sandbox.server import SandboxConfig

REPO = Path(__file__).resolve().parent.parent


# The pace make demo, make dev and bench use against the sandbox (it blocks above 50 a second).
SANDBOX_KRX_REQUESTS_PER_SECOND = "40"


def sandbox_env(
    url: str,
    *,
    with_kis: bool = True,
    with_openapi: bool = False,
    config: SandboxConfig | None = None,
) -> dict[str, str]:
    """The environment that points every upstream at the sandbox, with its demo accounts.

    The one place it is written: `python -m etf_sandbox` prints it, `make demo`, `make dev`,
    bench and the tests use it, so no source can be left pointing at the real service.
    """
    config = config or SandboxConfig()
    krx_id, krx_pw = next(iter(config.krx_accounts.items()))
    env = {
        **dict.fromkeys(settings.UPSTREAM_URL_VARIABLES, url),
        "KRX_ID": krx_id,
        "KRX_PW": krx_pw,
        "KRX_REQUESTS_PER_SECOND": SANDBOX_KRX_REQUESTS_PER_SECOND,
    }
    if with_openapi:
        env["KRX_AUTH_KEY"] = config.openapi_keys[0]
    if with_kis:
        app_key = next(k for k, (_, kind) in config.kis_apps.items() if kind == "real")
        env |= {"KIS_APP_KEY": app_key, "KIS_APP_SECRET": config.kis_apps[app_key][0]}
        env["KIS_ENV"] = "real"
    return env


def export_lines(env: dict[str, str]) -> str:
    """`env` as shell `export` lines, to paste into a terminal."""
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in env.items())


def prepare_dagster_home(home: Path | None = None) -> Path:
    """A DAGSTER_HOME holding the project's instance settings (one run at a time).

    Without `home`: $DAGSTER_HOME, else `.dagster_home` in the repo (as `make` sets it).
    """
    home = home or Path(os.environ.get("DAGSTER_HOME") or REPO / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return home


@contextmanager
def sandbox_process(port: int = 0, *args: str) -> Iterator[str]:
    """Start `python -m etf_sandbox` and yield its URL; stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "etf_sandbox", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        url = ""
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("sandbox listening on "):
                url = line.split()[-1]
                break
        if not url:
            raise RuntimeError(f"sandbox did not start (exit code {proc.poll()})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
