"""`make dev`: the sandbox plus `dagster dev`, wired together through the environment.

SIGTERM and SIGINT are forwarded to `dagster dev`, which stops its webserver and daemon, and
then the sandbox stops: `kill <pid>` of this process leaves nothing running.
"""

import argparse
import os
import signal
import subprocess
import sys
from types import FrameType

from etf_sandbox.localrun import (
    REPO,
    export_lines,
    prepare_dagster_home,
    sandbox_env,
    sandbox_process,
)

STOP_TIMEOUT_S = 30.0


def run_until_signalled(command: list[str], env: dict[str, str]) -> int:
    """Run `command`; on SIGTERM or SIGINT pass SIGTERM on and wait for it to stop.

    The handlers are installed before the child starts: a process started in the background
    inherits SIGINT ignored, and `dagster dev` maps SIGTERM to its SIGINT handler, so it would
    ignore SIGTERM too. A handled signal is reset to the default in the child, an ignored one not.
    """
    children: list[subprocess.Popen[bytes]] = []
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    if stopping:
        return 0
    children.append(subprocess.Popen(command, env=env, cwd=REPO))
    try:
        code = children[0].wait()
    finally:
        if children[0].poll() is None:
            try:
                children[0].wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                children[0].kill()
    return 0 if stopping else code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="sandbox port (0: a free one)")
    parser.add_argument("--ui-port", type=int, default=3000)
    args = parser.parse_args()
    home = prepare_dagster_home()
    with sandbox_process(args.port) as url:
        upstreams = {**sandbox_env(url), "DAGSTER_HOME": str(home)}
        env = {**os.environ, **upstreams}
        print(f"sandbox at {url}; Dagster UI at http://127.0.0.1:{args.ui_port}", flush=True)
        print("# its environment, for the CLI beside it:\n" + export_lines(upstreams), flush=True)
        command = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml",
                   "-h", "127.0.0.1", "-p", str(args.ui_port)]  # fmt: skip
        code = run_until_signalled(command, env)
    sys.exit(code)


if __name__ == "__main__":
    main()
