#!/usr/bin/env bash
# Fetch the real components the serve tests and benchmark run against, from Debian's archive,
# without installing a service: `apt-get download` + `dpkg-deb -x` of prometheus (prometheus and
# promtool) and prometheus-node-exporter (the benchmark's peer) into target/tools/root, where the
# tests look first (tests/common/serve.rs; TCPSCOPE_TOOLS_DIR overrides). Idempotent. Chromium is
# an ordinary package: `apt-get install chromium` (.ci/run does both).
#
# Usage: scripts/fetch-tools.sh            needs apt (root for apt-get update)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/tools
bin=$dir/root/usr/bin
if [ -x "$bin/prometheus" ] && [ -x "$bin/promtool" ] && [ -x "$bin/prometheus-node-exporter" ]; then
    exit 0
fi
mkdir -p "$dir/debs"
cd "$dir/debs"
if ! apt-get download prometheus prometheus-node-exporter >/dev/null 2>&1; then
    apt-get update -qq
    apt-get download prometheus prometheus-node-exporter >/dev/null
fi
for deb in prometheus_*.deb prometheus-node-exporter_*.deb; do
    dpkg-deb -x "$deb" ../root
done
cd ../root/usr/bin
./prometheus --version 2>&1 | head -1
./promtool --version 2>&1 | head -1
./prometheus-node-exporter --version 2>&1 | head -1
