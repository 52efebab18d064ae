#!/usr/bin/env bash
# Requests/s of `GET /services/data/v62.0/sobjects/Account/{id}` (valid token, keep-alive) against
# `sfchaos sim` built --release, in three configurations:
#   no-layer   the fault layer not installed (--no-fault-layer): the baseline
#   no-rules   the layer installed, no rules
#   10-rules   the layer with benches/fault_layer_rules.toml: ten per-request rules, none matching
# Two numbers per configuration, each the median over ROUNDS interleaved rounds:
#   req/s       what wrk measured (on a shared machine this swings with other load; the best round is
#               shown too);
#   CPU us/req  the simulator process's CPU time (utime + stime from /proc) per request served: what a
#               request costs, unaffected by other processes competing for the cores.
# The layer's cost is reported on both. Needs wrk (apt-get install -y wrk). Traffic stays on 127.0.0.1.
#
#   benches/fault_layer.sh            # ROUNDS=5 DURATION=8s THREADS=2 CONNECTIONS=16
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
BIN=target/release/sfchaos

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
cargo build --release --quiet --bin sfchaos
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# One measurement: start the simulator with the given flags, log in, create a record, run wrk.
measure() {
  local port base token id
  port=$(free_port)
  base="http://127.0.0.1:$port"
  local out="$work/sim-$port.out" err="$work/sim-$port.err"
  "$BIN" sim --no-tls --listen "127.0.0.1:$port" --journal "$work/journal-$port.zst" "$@" >"$out" 2>"$err" &
  pid=$!
  for _ in $(seq 1 100); do grep -q "listening" "$out" 2>/dev/null && break; sleep 0.1; done
  grep -q "listening" "$out" || { cat "$err" >&2; exit 2; }
  token=$(curl -sf -X POST "$base/services/oauth2/token" \
    -d 'grant_type=password&client_id=sfchaos-client&client_secret=sfchaos-secret&username=admin@sfchaos.test&password=sfchaos' \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')
  id=$(curl -sf -X POST "$base/services/data/v62.0/sobjects/Account" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"Name":"Bench"}' \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])')
  local before after out requests rps cpu
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: Bearer $token" \
    "$base/services/data/v62.0/sobjects/Account/$id")
  after=$(cpu_ticks "$pid")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  cpu=$(python3 -c "print(f'{($after - $before) / $(getconf CLK_TCK) * 1e6 / $requests:.2f}')")
  # Every answer must have been a 200: a benchmark of errors would measure the wrong thing.
  local bad
  bad=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/services/data/v62.0/sobjects/Account/$id")
  [ "$bad" = "200" ] || { echo "the benchmarked route answered $bad" >&2; exit 2; }
  kill -INT "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  echo "$rps/$cpu"
}

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A results
for round in $(seq 1 "$ROUNDS"); do
  results[no-layer]+="$(measure --scenario benches/fault_layer_base.toml --no-fault-layer) "
  results[no-rules]+="$(measure --scenario benches/fault_layer_base.toml) "
  results[10-rules]+="$(measure --scenario benches/fault_layer_rules.toml) "
  echo "round $round/$ROUNDS done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
best() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }
field() { tr ' ' '\n' | grep -v '^$' | cut -d/ -f"$1" | tr '\n' ' '; }
base_rps=$(echo "${results[no-layer]}" | field 1 | median)
base_cpu=$(echo "${results[no-layer]}" | field 2 | median)
printf '%-10s %12s %10s %12s %12s %10s\n' config "req/s (med)" "(best)" "cost" "CPU us/req" "cost"
for config in no-layer no-rules 10-rules; do
  rps=$(echo "${results[$config]}" | field 1 | median)
  top=$(echo "${results[$config]}" | field 1 | best)
  cpu=$(echo "${results[$config]}" | field 2 | median)
  printf '%-10s %12.0f %10.0f %12s %12.2f %10s\n' "$config" "$rps" "$top" \
    "$(python3 -c "print('-' if '$config' == 'no-layer' else f'{(1 - $rps / $base_rps) * 100:.1f}%')")" \
    "$cpu" "$(python3 -c "print('-' if '$config' == 'no-layer' else f'{($cpu / $base_cpu - 1) * 100:.1f}%')")"
done
echo "runs (req/s / CPU us per request):"
for config in no-layer no-rules 10-rules; do echo "  $config: ${results[$config]}"; done
