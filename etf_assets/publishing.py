"""`publish_read_snapshot`: the read snapshot published after every successful run that wrote
the warehouse (etf_assets.warehouse.publish says why readers need one).

A run-status sensor, not a hook: it sees every run of the instance (schedules, backfills, the
UI and `dagster asset materialize`, hence `monitor_all_code_locations`), once the run has ended
and let go of the warehouse, and it runs in dagster-daemon, so a reader's notebook is never
part of a run. It always runs, alerting or not; `make publish` does the same by hand.

A run it has nothing to do for is logged, not skipped: one tick reacts to every run that ended
since the last, and Dagster refuses a tick that both reacted to a run and returned a SkipReason
(the second of two runs that ended together would fail it).
"""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from etf_assets import settings
from etf_assets.warehouse.publish import is_current, publish
from etf_assets.warehouse.write import IN_MEMORY


@dg.run_status_sensor(
    name="publish_read_snapshot",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After each successful run that materialized an asset, copies the warehouse "
    "to the read snapshot (ETF_ASSETS_READ_DUCKDB) that readers open instead of it.",
)
def publish_read_snapshot(context: dg.RunStatusSensorContext, duckdb: DuckDBResource) -> None:
    run = context.dagster_run
    context.log.info(f"run {run.run_id[:8]}: {_publish_after(context, run, duckdb.database)}")


def _publish_after(context: dg.RunStatusSensorContext, run: dg.DagsterRun, database: str) -> str:
    """Publishes the snapshot if `run` wrote the warehouse; says what was done, or why not."""
    wrote = context.instance.get_records_for_run(
        run_id=run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1
    ).records
    if not wrote:
        return "materialized nothing (checks only): nothing to publish"
    if database == IN_MEMORY:
        return "the warehouse is in memory: nothing to publish"
    warehouse = Path(database)
    snapshot = Path(settings.read_duckdb_path(database))
    if not warehouse.is_file():
        return f"no warehouse at {warehouse}: the run wrote elsewhere"
    if is_current(warehouse, snapshot):
        return f"{snapshot} already holds every change of {warehouse}"
    return publish(warehouse, snapshot).line()
