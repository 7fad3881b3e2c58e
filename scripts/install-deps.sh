#!/usr/bin/env bash
# Installs the Debian 12 packages flashsale builds and tests with, plus any
# packages named as arguments (`make bench` adds its tools this way).
# Idempotent: asks apt only for what dpkg does not already have.
set -euo pipefail

packages=("$@"
  build-essential cmake make ccache pkg-config
  libpoco-dev libboost-dev libhiredis-dev librdkafka-dev
  catch2 libbenchmark-dev
  redis-server redis-tools sqlite3 libsqlite3-dev
  libpq-dev postgresql-15
  prometheus-cpp-dev prometheus
  python3 python3-yaml
  chromium chromium-driver python3-selenium
)

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
