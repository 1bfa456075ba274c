"""`make bench` (`python -m bench`): the plan's sequential approach and etf_assets, side by side.

Both run in one go against the sandbox (`python -m etf_sandbox --latency-ms 30`, its own
process, real rate limits). `baseline` is the plan's per-ETF KIS loop with fixed sleeps;
`measure` runs our assets through the real `dagster asset materialize` CLI and the
micro-measurements; `report` renders bench/RESULTS.md. Timings live here only, never in tests.
"""
