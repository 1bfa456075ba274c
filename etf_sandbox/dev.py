"""`make dev`: the sandbox plus `dagster dev`, wired together through the environment."""

import argparse
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from etf_sandbox.localrun import REPO, prepare_dagster_home, sandbox_env, sandbox_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="sandbox port")
    parser.add_argument("--ui-port", type=int, default=3000)
    args = parser.parse_args()
    home = prepare_dagster_home(Path(os.environ.get("DAGSTER_HOME", REPO / ".dagster_home")))
    with sandbox_process(args.port) as url:
        env = {**os.environ, **sandbox_env(url), "DAGSTER_HOME": str(home)}
        print(f"sandbox at {url}; Dagster UI at http://127.0.0.1:{args.ui_port}", flush=True)
        command = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml",
                   "-h", "127.0.0.1", "-p", str(args.ui_port)]  # fmt: skip
        with contextlib.suppress(KeyboardInterrupt):
            subprocess.run(command, env=env, cwd=REPO, check=False)


if __name__ == "__main__":
    main()
