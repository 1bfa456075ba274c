"""Assets, one module per group. Group names are constants so checks and jobs can select them.

Every asset declares, in its definition metadata, the warehouse table that stores its partitions
and that table's columns (`utils.table_metadata`, from the contract in warehouse/schema.py).

Imports are at module top, pandas and the parsing/metrics modules included: deferring them
saved about 0.5 s of the Definitions load at the cost of types hidden behind `TYPE_CHECKING`.
The load time is measured in the bench (`make bench`), not asserted in tests.
"""

import warnings

import dagster as dg

# `backfill_policy` is beta and warns on every load; we use it deliberately (single-run
# backfills), so exactly that warning is filtered, here where the asset modules use it, so
# every entry point (definitions, `make health`, tests) gets the same filter.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

LISTING = "listing"
PRICES = "prices"
HOLDINGS = "holdings"
METRICS = "metrics"
FLOWS = "flows"
DISTRIBUTIONS = "distributions"
REPORTS = "reports"
COSTS = "costs"
CLASSIFICATION = "classification"
EXPOSURE = "exposure"
