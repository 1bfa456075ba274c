"""`python -m bench.peak_rss OUT CMD…`: run CMD, write its exit code, wall time and peak RSS.

Why a wrapper: Linux charges a child the RSS high-water mark of the process it was spawned from
(the exec replaces a copy of the parent's address space, and that copy's peak is kept), so the
bench process, which holds pandas frames, cannot measure a CLI run it starts itself. This
process is small, so the `ru_maxrss` of its child is the child's own. Output is JSON:
`{"returncode": …, "wall_s": …, "peak_rss_kib": …}`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    out, command = Path(argv[0]), argv[1:]
    started = time.monotonic()
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.write_text(
        json.dumps({"returncode": proc.returncode, "wall_s": wall, "peak_rss_kib": usage.ru_maxrss})
    )
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
