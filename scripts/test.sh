#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what the real-client and report tests
# need (simple-salesforce, jsforce, Chromium), then `cargo test`. Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> installing real clients (simple-salesforce, jsforce) and the Python example's requirements"
python3 -m pip install --quiet --disable-pip-version-check \
  -r tests/clients/python/requirements.txt -r examples/python-sync/requirements.txt
npm ci --prefix tests/clients/node --no-audit --no-fund --loglevel=error

if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Chromium (headless HTML report test)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# Proxies would capture loopback traffic (jsforce ignores NO_PROXY).
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# A one-off build gains nothing from incremental state but its disk space.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "==> cargo test"
cargo test --workspace --locked "$@"
