"""Assets, one module per group. Group names are constants so checks and jobs can select them."""

LISTING = "listing"
PRICES = "prices"
HOLDINGS = "holdings"
METRICS = "metrics"
REPORTS = "reports"
