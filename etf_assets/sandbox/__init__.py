"""Local emulator of the KRX data service, the KRX Open API and KIS (see DESIGN.md § sandbox).

Start it in-process with `etf_assets.sandbox.server.start_sandbox()` or from a shell with
`python -m etf_assets.sandbox --port 8765`.
"""
