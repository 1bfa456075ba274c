#!/usr/bin/env bash
# Make Debian's Chromium available for the browser test (etf_assets_tests/test_ui_browser.py).
#
# Why Debian's package and not `playwright install`: Playwright's own download is a second,
# unpinned browser fetched from a CDN at test time; the distribution package comes through apt
# like every other system dependency, and Playwright drives it through executable_path.
#
# Idempotent: does nothing when the browser is already there. Installs only when we are root
# (CI containers); otherwise prints the command to run and exits 0, so `make test` goes on and
# the browser test is skipped with the same instructions in pytest's summary (with CI set, it
# fails instead: a skipped UI test must not pass for a green CI).
set -euo pipefail

CHROMIUM="${ETF_ASSETS_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "install_browser: $CHROMIUM present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')); nothing to do"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_browser: $CHROMIUM missing and not root; install it with:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: $CHROMIUM missing and apt-get not found; install Chromium with your" \
        "package manager and set ETF_ASSETS_CHROMIUM to its path" >&2
    exit 0
fi

echo "install_browser: installing Debian's chromium package with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium
echo "install_browser: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
