"""The published read snapshot: a consistent read-only copy of the warehouse, for readers.

DuckDB lets one process write a file and no other process open it meanwhile: a notebook holding
the warehouse open makes the 16:00 run wait, then fail, and while a run writes nobody can read.
So readers (export, `make health`, `etf_assets.read`, notebooks) never open the warehouse:
after each successful run that wrote it (the `publish_read_snapshot` sensor) and on demand
(`make publish`), the warehouse is copied into a new file beside the snapshot, which is then
renamed over it. The rename is atomic: a reader that has the old snapshot open keeps reading
its (now unlinked) file, never blocks anything, and its next connection opens the new one.

    python -m etf_assets.warehouse.publish [--db WAREHOUSE] [--to SNAPSHOT]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from etf_assets import settings

# The snapshot is for reading: nobody should write into a file the next publish replaces.
SNAPSHOT_MODE = 0o444
# A run may hold the warehouse when a publish starts (the next queued run began): how long the
# copy waits for the lock before it gives up, naming the file.
LOCK_WAIT_S = 30.0
LOCK_RETRY_S = 1.0


@dataclass(frozen=True)
class Published:
    """One publish: where, how long it took, how big the snapshot is and what it holds."""

    path: Path
    seconds: float
    size_bytes: int
    tables: int
    views: int

    def line(self) -> str:
        return (
            f"published {self.path} ({self.size_bytes / 1e6:,.1f} MB, {self.tables} tables, "
            f"{self.views} views) in {self.seconds:.1f} s"
        )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def modified_at(warehouse: Path) -> float:
    """The newest change to the warehouse: to its file or to its write-ahead log."""
    return max(p.stat().st_mtime for p in (warehouse, _wal(warehouse)) if p.exists())


def is_current(warehouse: Path, snapshot: Path) -> bool:
    """The snapshot was published after the warehouse last changed: nothing new to publish."""
    return snapshot.is_file() and snapshot.stat().st_mtime >= modified_at(warehouse)


def read_source(snapshot: Path, warehouse: Path) -> tuple[Path, str | None]:
    """What a reader opens: the snapshot, else (none published yet) the warehouse itself, with
    a note saying so, because that read can lock a run out (or be locked out by one)."""
    if snapshot.is_file():
        return snapshot, None
    return warehouse, (
        f"no read snapshot at {snapshot} yet: reading the warehouse itself, which a running "
        "materialization locks (run `make publish` once)"
    )


def _attach_read_only(conn: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """Attach the warehouse read-only, waiting up to LOCK_WAIT_S for a run that holds it."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            conn.execute(f"ATTACH {_sql_string(str(warehouse))} AS warehouse (READ_ONLY)")
            return
        except duckdb.IOException as error:
            if time.monotonic() >= deadline:
                first = str(error).splitlines()[0]
                raise duckdb.IOException(
                    f"cannot publish: {warehouse} stayed locked by a writer for "
                    f"{LOCK_WAIT_S:g} s ({first})"
                ) from error
            time.sleep(LOCK_RETRY_S)


def publish(warehouse: Path, snapshot: Path) -> Published:
    """Copy `warehouse` into a new file beside `snapshot`, then rename it over `snapshot`.

    The copy is DuckDB's `COPY FROM DATABASE` under a read-only attach, which no writer can
    change meanwhile: every table, view and macro as of one moment, compacted. A failure
    leaves the previous snapshot untouched and no partial file behind.
    """
    if not warehouse.is_file():
        raise FileNotFoundError(
            f"no warehouse at {warehouse} to publish: run `make demo`, or materialize assets"
        )
    if snapshot.resolve() == warehouse.resolve():
        raise ValueError(
            f"{settings.READ_DUCKDB_ENV}={str(snapshot)!r} is the warehouse itself: name another "
            "file (unset, it is <warehouse>.read.duckdb beside the warehouse)"
        )
    if not snapshot.parent.is_dir():
        raise FileNotFoundError(
            f"{settings.READ_DUCKDB_ENV}={str(snapshot)!r}: folder {snapshot.parent} does not "
            "exist: create it or correct the path"
        )
    started = time.perf_counter()
    partial = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.partial")
    try:
        partial.unlink(missing_ok=True)
        with duckdb.connect() as conn:
            _attach_read_only(conn, warehouse)
            conn.execute(f"ATTACH {_sql_string(str(partial))} AS snapshot")
            conn.execute("COPY FROM DATABASE warehouse TO snapshot")
            tables, views = conn.execute(
                "SELECT (SELECT count(*) FROM duckdb_tables() WHERE database_name = 'snapshot'), "
                "(SELECT count(*) FROM duckdb_views() "
                "WHERE database_name = 'snapshot' AND NOT internal)"
            ).fetchone()
            conn.execute("DETACH snapshot")  # checkpoints and closes: the file is complete
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        partial.chmod(SNAPSHOT_MODE)
        os.replace(partial, snapshot)
        folder = os.open(snapshot.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the rename itself survives a crash
        finally:
            os.close(folder)
    finally:
        partial.unlink(missing_ok=True)
        _wal(partial).unlink(missing_ok=True)
    return Published(
        snapshot, time.perf_counter() - started, snapshot.stat().st_size, tables, views
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m etf_assets.warehouse.publish", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--db", type=Path, default=Path(settings.duckdb_path()))
    parser.add_argument("--to", type=Path, help="the snapshot (default: ETF_ASSETS_READ_DUCKDB)")
    args = parser.parse_args(argv)
    snapshot = args.to or Path(settings.read_duckdb_path(str(args.db)))
    try:
        print(publish(args.db, snapshot).line())
    except (FileNotFoundError, ValueError, duckdb.Error) as error:
        print(f"publish: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
