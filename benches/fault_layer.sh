#!/usr/bin/env bash
# Requests/s of `GET /services/data/v62.0/sobjects/Account/{id}` (valid token, keep-alive) against
# `sfchaos sim` built --release, in three configurations:
#   no-layer   the fault layer not installed (--no-fault-layer): the baseline
#   no-rules   the layer installed, no rules
#   10-rules   the layer with benches/fault_layer_rules.toml: ten per-request rules, none matching
#
# The three simulators run side by side; each round benchmarks them one after the other for DURATION,
# and a configuration's cost is the median over rounds of its throughput relative to the baseline's in
# the same round (paired), because on a shared machine other load moves whole rounds. Also reported:
# the simulator's CPU time (utime + stime from /proc) per request served, which other processes
# competing for the cores disturb less than throughput.
# Needs wrk (apt-get install -y wrk). Traffic stays on 127.0.0.1.
#
#   benches/fault_layer.sh            # ROUNDS=21 DURATION=3s THREADS=2 CONNECTIONS=16
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-21}
DURATION=${DURATION:-3s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
BIN=target/release/sfchaos
CONFIGS=(no-layer no-rules 10-rules)

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
cargo build --release --quiet --bin sfchaos
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A url pid_of token_of
# Start one simulator, log in, create the record every request reads.
start() {
  local config=$1; shift
  local port base out err token id
  port=$(free_port)
  base="http://127.0.0.1:$port"
  out="$work/$config.out"; err="$work/$config.err"
  "$BIN" sim --no-tls --listen "127.0.0.1:$port" --journal "$work/$config.journal.zst" "$@" >"$out" 2>"$err" &
  pids+=($!); pid_of[$config]=$!
  for _ in $(seq 1 100); do grep -q "listening" "$out" 2>/dev/null && break; sleep 0.1; done
  grep -q "listening" "$out" || { cat "$err" >&2; exit 2; }
  token=$(curl -sf -X POST "$base/services/oauth2/token" \
    -d 'grant_type=password&client_id=sfchaos-client&client_secret=sfchaos-secret&username=admin@sfchaos.test&password=sfchaos' \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["access_token"])')
  id=$(curl -sf -X POST "$base/services/data/v62.0/sobjects/Account" -H "Authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"Name":"Bench"}' \
    | python3 -c 'import sys, json; print(json.load(sys.stdin)["id"])')
  url[$config]="$base/services/data/v62.0/sobjects/Account/$id"
  token_of[$config]=$token
}

start no-layer --scenario benches/fault_layer_base.toml --no-fault-layer
start no-rules --scenario benches/fault_layer_base.toml
start 10-rules --scenario benches/fault_layer_rules.toml

# One measurement: "req/s cpu-us-per-request".
measure() {
  local config=$1 before after out requests rps
  before=$(cpu_ticks "${pid_of[$config]}")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: Bearer ${token_of[$config]}" "${url[$config]}")
  after=$(cpu_ticks "${pid_of[$config]}")
  if echo "$out" | grep -q "Non-2xx"; then echo "$config: non-2xx answers:" >&2; echo "$out" >&2; exit 2; fi
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$rps $(python3 -c "print(($after - $before) / $(getconf CLK_TCK) * 1e6 / $requests)")"
}

for config in "${CONFIGS[@]}"; do : >"$work/$config.runs"; done
for round in $(seq 1 "$ROUNDS"); do
  # Rotate who goes first, so no configuration always runs right after another.
  for k in 0 1 2; do
    config=${CONFIGS[$(( (round + k) % 3 ))]}
    measure "$config" >>"$work/$config.runs"
  done
  echo "round $round/$ROUNDS" >&2
done

python3 - "$work" "${CONFIGS[@]}" <<'EOF'
import statistics, sys
work, configs = sys.argv[1], sys.argv[2:]
runs = {c: [tuple(map(float, l.split())) for l in open(f"{work}/{c}.runs")] for c in configs}
base = runs[configs[0]]
print(f"{len(base)} paired rounds")
print(f"{'config':<10} {'req/s med':>10} {'best':>8} {'cost (paired)':>14} {'CPU us/req':>11} {'cost (paired)':>14}")
for c in configs:
    rps = [r for r, _ in runs[c]]
    cpu = [u for _, u in runs[c]]
    if c == configs[0]:
        rc = uc = "-"
    else:
        rc = f"{(1 - statistics.median(r / b[0] for (r, _), b in zip(runs[c], base))) * 100:+.1f}%"
        uc = f"{(statistics.median(u / b[1] for (_, u), b in zip(runs[c], base)) - 1) * 100:+.1f}%"
    print(f"{c:<10} {statistics.median(rps):>10.0f} {max(rps):>8.0f} {rc:>14} {statistics.median(cpu):>11.2f} {uc:>14}")
EOF
