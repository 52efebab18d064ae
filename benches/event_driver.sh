#!/bin/sh
# Load benchmark of sfchaos's event driver: achieved rate at 1,000…20,000 events/s against a
# trivial target, and requests/s against wrk on the same endpoint in the same run.
#
#   benches/event_driver.sh                 # defaults: 5 s per measurement, 64 connections
#   SFCHAOS_BENCH_SECS=10 benches/event_driver.sh
#
# Needs wrk (`apt-get install -y wrk`); without it the wrk comparison is skipped.
set -eu
cd "$(dirname "$0")/.."
if ! command -v "${SFCHAOS_BENCH_WRK:-wrk}" >/dev/null 2>&1; then
    echo "wrk not found: install it with apt-get install -y wrk (the comparison is skipped)" >&2
fi
exec cargo bench --bench event_driver
