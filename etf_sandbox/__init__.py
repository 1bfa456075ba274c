"""Local emulator of the KRX data service, the KRX Open API and KIS (see DESIGN.md § sandbox).

Start it in-process with `etf_sandbox.server.start_sandbox()` or from a shell with
`python -m etf_sandbox --port 8765`.
"""
