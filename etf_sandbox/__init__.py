"""Local emulator of the KRX data service, the KRX Open API, KIS and SEIBro (README.md § Set-up).

Start it in-process with `etf_sandbox.server.start_sandbox()` or from a shell with
`python -m etf_sandbox --port 8765`.
"""
