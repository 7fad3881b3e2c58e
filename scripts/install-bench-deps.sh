#!/usr/bin/env bash
# Installs what `make bench` needs beyond the build: wrk (HTTP load), gnuplot
# (the throughput/p99 plot), redis-tools (redis-benchmark, redis-cli) and
# redis-server. Idempotent: asks apt only for what dpkg does not already have.
set -euo pipefail

packages=(wrk gnuplot-nox redis-tools redis-server libbenchmark-dev libsqlite3-dev procps)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
