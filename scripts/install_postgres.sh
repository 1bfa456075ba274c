#!/usr/bin/env bash
# Make Debian's PostgreSQL server available for the team deployment's integration test
# (etf_assets_tests/deploy/test_postgres_deployment.py), which starts its own throw-away server.
#
# Why Debian's package: it comes through apt like every other system dependency, and it creates
# the unprivileged `postgres` user the test runs the server as when we are root (PostgreSQL
# refuses to run as root).
#
# Idempotent: does nothing when the server binaries are there. Installs only when we are root
# (CI containers); otherwise prints the command to run and exits 0, so `make test` goes on and
# the test is skipped with the same instructions (with CI set, it fails instead).
set -euo pipefail

if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "install_postgres: $(ls -d /usr/lib/postgresql/*/bin | tail -1) present; nothing to do"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_postgres: PostgreSQL server missing and not root; install it with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y postgresql" >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_postgres: PostgreSQL server missing and apt-get not found; install it with" \
        "your package manager (the test looks in /usr/lib/postgresql/*/bin and on PATH)" >&2
    exit 0
fi

echo "install_postgres: installing Debian's postgresql package with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql
echo "install_postgres: installed $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
