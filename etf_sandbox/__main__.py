"""`python -m etf_sandbox --port N`: run the sandbox until SIGINT/SIGTERM.

Prints one line `sandbox listening on http://127.0.0.1:PORT` and the environment variables
that point etf_assets at it (the sandbox's own test accounts, not real credentials): the same
block `make demo` and `make dev` set (`localrun.sandbox_env`).
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from etf_sandbox.localrun import export_lines, sandbox_env
from etf_sandbox.server import SandboxConfig, start_sandbox


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m etf_sandbox", description=__doc__)
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--seed", type=int, default=SandboxConfig.seed)
    p.add_argument("--n-etfs", type=int, default=SandboxConfig.n_etfs)
    p.add_argument(
        "--require-login",
        action="store_true",
        help="anonymous KRX data calls get HTTP 400 LOGOUT, as since Feb 2026",
    )
    p.add_argument("--latency-ms", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    config = SandboxConfig(seed=args.seed, n_etfs=args.n_etfs, require_login=args.require_login,
                           latency_ms=args.latency_ms, port=args.port)  # fmt: skip
    sandbox = start_sandbox(config)
    print(f"sandbox listening on {sandbox.url}", flush=True)
    env = sandbox_env(sandbox.url, config=config)
    print(f"# point etf_assets at it (what make demo sets):\n{export_lines(env)}", flush=True)
    optional = f"export KRX_AUTH_KEY={config.openapi_keys[0]}"
    print(f"# optional, prices from the Open API (T+1): {optional}", flush=True)
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    done.wait()
    sandbox.stop()


if __name__ == "__main__":
    main()
