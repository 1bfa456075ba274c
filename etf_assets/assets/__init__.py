"""Assets, one module per group. Group names are constants so checks and jobs can select them.

Loading Definitions must stay under 2 s (every run, UI reload and schedule tick pays it), and
pandas alone costs about 0.5 s of that. So the modules Definitions import (assets, checks,
resources) import pandas and the pure parsing/metrics modules inside the functions that use
them; `test_definitions` guards that loading them imports no pandas.
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
REPORTS = "reports"
