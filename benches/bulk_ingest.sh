#!/usr/bin/env bash
# Bulk API 2.0 at scale: a 1,000,000-row Account insert (~100 MB CSV) through the simulator over
# HTTP, timed end to end, with peak RSS. Target: < 60 s and < 2 GiB on a 2-core machine.
#   benches/bulk_ingest.sh              # 1,000,000 rows
#   BULK_ROWS=200000 benches/bulk_ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
cargo bench -p simulator --bench bulk_ingest --no-run
bin=$(ls -t target/release/deps/bulk_ingest-* | grep -v '\.d$' | head -1)
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v "$bin" --bench 2> >(grep -E "Maximum resident|Elapsed \(wall" >&2)
else
  "$bin" --bench
fi
