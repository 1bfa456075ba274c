"""`python -m etf_sandbox --port N`: run the sandbox until SIGINT/SIGTERM.

Prints one line `sandbox listening on http://127.0.0.1:PORT` and the environment variables
that point etf_assets at it (the sandbox's own test accounts, not real credentials).
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from etf_sandbox.server import SandboxConfig, start_sandbox


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m etf_sandbox", description=__doc__)
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--seed", type=int, default=SandboxConfig.seed)
    p.add_argument("--n-etfs", type=int, default=SandboxConfig.n_etfs)
    p.add_argument("--require-login", action="store_true",
                   help="anonymous KRX data calls get HTTP 400 LOGOUT, as since Feb 2026")
    p.add_argument("--latency-ms", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    config = SandboxConfig(seed=args.seed, n_etfs=args.n_etfs, require_login=args.require_login,
                           latency_ms=args.latency_ms, port=args.port)  # fmt: skip
    sandbox = start_sandbox(config)
    account, password = next(iter(config.krx_accounts.items()))
    app_key, (app_secret, _env) = next(iter(config.kis_apps.items()))
    print(f"sandbox listening on {sandbox.url}", flush=True)
    print(
        "# point etf_assets at it:\n"
        f"export KRX_DATA_URL={sandbox.url}\n"
        f"export KRX_OPENAPI_URL={sandbox.url}\n"
        f"export KIS_BASE_URL={sandbox.url}\n"
        f"export KRX_ID={account}\n"
        f"export KRX_PW={password}\n"
        f"export KRX_AUTH_KEY={config.openapi_keys[0]}\n"
        f"export KIS_APP_KEY={app_key}\n"
        f"export KIS_APP_SECRET={app_secret}\n"
        "export KIS_ENV=real",
        flush=True,
    )
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    done.wait()
    sandbox.stop()


if __name__ == "__main__":
    main()
