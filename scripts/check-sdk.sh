#!/usr/bin/env bash
# The plugin SDK as a plugin author meets it (docs/plugin-guide.md,
# "Plugin author's guide"), run by ctest as sdk:journal-example (tests/sdk/CMakeLists.txt):
#
#   1. installs the build into a temp prefix (cmake --install);
#   2. builds examples/plugin-journal as a project of its own against that
#      prefix only (find_package(flashsale));
#   3. runs the installed flashsale-conformance on the .so (persist stage,
#      a fresh journal per test case);
#   4. installs the plugin beside the SDK's own, starts the installed server
#      on the embedded profile with STAGE_PERSIST=journal, buys once to
#      success, stops it, starts it again and finds the result in the journal.
#
# usage: scripts/check-sdk.sh <build dir>   (a build with tests, fully built)
# Everything it makes lives in one temp dir, removed on exit.
set -euo pipefail

build=$(cd "${1:?usage: check-sdk.sh <build dir>}" && pwd)
source_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/flashsale-sdk-XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

started=$SECONDS
step() { echo "== [$((SECONDS - started)) s] $*"; }
fail() {
  echo "check-sdk: $*" >&2
  exit 1
}

# --- 1. the SDK, installed -------------------------------------------------
step "cmake --install $build --prefix $work/sdk"
cmake --install "$build" --prefix "$work/sdk" >"$work/install.log" || { cat "$work/install.log"; exit 1; }
sdk=$work/sdk

# --- 2. the example, built out of tree -------------------------------------
step "building examples/plugin-journal against $sdk"
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
configure=(-S "$source_dir/examples/plugin-journal" -B "$work/journal" -DCMAKE_PREFIX_PATH="$sdk"
  -DCMAKE_CXX_COMPILER="$compiler")
if command -v ccache >/dev/null; then
  # Paths under the temp dir hash as relative ones, so a later run hits the cache.
  export CCACHE_BASEDIR=$work CCACHE_NOHASHDIR=1
  configure+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
{ cmake "${configure[@]}" && cmake --build "$work/journal" -j "$(nproc)"; } >"$work/journal.log" 2>&1 ||
  { cat "$work/journal.log"; fail "the example did not build against the installed SDK"; }
plugin=$work/journal/flashsale-journal.so
[ -f "$plugin" ] || fail "no $plugin"

# --- 3. the installed conformance tool -------------------------------------
step "flashsale-conformance --plugin $plugin --stage persist"
"$sdk/bin/flashsale-conformance" --plugin "$plugin" --stage persist --set 'journal.path={tmp}/journal.log' ||
  fail "the journal plugin failed the conformance suite"

# --- 4. the installed server -----------------------------------------------
step "loading it into the installed server"
cmake --install "$work/journal" --prefix "$sdk" >/dev/null
[ -f "$sdk/plugins/flashsale-journal.so" ] || fail "cmake --install of the example did not put it in $sdk/plugins"
mkdir -p "$work/run"
port=""

start_server() {
  : >"$work/server.out"
  (cd "$work/run" && exec env STAGE_PERSIST=journal JOURNAL_PATH="$work/run/journal.log" HTTP_ADDR=127.0.0.1:0 \
    "$sdk/bin/flashsale-server" --config "$source_dir/etc/embedded.properties" \
    >"$work/server.out" 2>"$work/server.err") &
  server_pid=$!
  local deadline=$((SECONDS + 60))
  until grep -q 'listening on' "$work/server.out"; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err"; fail "the server did not start"; }
    [ $SECONDS -lt $deadline ] || fail "the server did not listen within 60 s"
    sleep 0.1
  done
  port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$work/server.out")
}

stop_server() {
  kill -TERM "$server_pid"
  local status=0
  wait "$server_pid" || status=$?
  server_pid=""
  [ $status -eq 0 ] || { cat "$work/server.err"; fail "the server exited with $status"; }
}

# http METHOD PATH [BODY]: sets $status and $body (HTTP/1.1 over bash's /dev/tcp).
http() {
  local method=$1 path=$2 payload=${3:-} response
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Admin-Token: dev-admin-token\r\n' \
    "$method" "$path" >&3
  printf 'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' "${#payload}" "$payload" >&3
  response=$(timeout 10 cat <&3) || true
  exec 3<&-
  status=$(head -n 1 <<<"$response" | cut -d ' ' -f 2)
  body=${response#*$'\r\n\r\n'}
}

expect() {  # expect STATUS WHAT
  [ "$status" = "$1" ] || fail "$2: expected $1, got $status: $body"
}

start_server
grep -q $'^journal\tabi [0-9]*\tpersist\t' <("$sdk/bin/flashsale-server" --list-plugins) || fail "--list-plugins does not show the journal plugin"
window_start=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
window_end=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
http POST /api/products "{\"name\":\"sdk check\",\"stock\":5,\"sale_price\":100,\"start_time\":\"$window_start\",\"end_time\":\"$window_end\"}"
expect 201 "creating a product"
product=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' <<<"$body")
http POST "/api/flash_sale/preload/$product"
expect 200 "preloading product $product"
http POST /api/flash_sale/buy "{\"product_id\":$product,\"user_id\":10001,\"quantity\":1}"
expect 202 "buying"
request=$(sed -n 's/.*"request_id":"\([^"]*\)".*/\1/p' <<<"$body")
deadline=$((SECONDS + 30))
until http GET "/api/flash_sale/result/$request" && grep -q '"status":"success"' <<<"$body"; do
  grep -q '"status":"pending"' <<<"$body" || fail "result of $request: $status $body"
  [ $SECONDS -lt $deadline ] || fail "$request still pending after 30 s"
  sleep 0.1
done
grep -q "^order [0-9]* $request " "$work/run/journal.log" || fail "no order of $request in the journal"
stop_server

step "restarting the server on the same journal"
start_server
http GET "/api/flash_sale/result/$request"
expect 200 "result of $request after a restart"
grep -q '"status":"success"' <<<"$body" || fail "after a restart, $request is $body"
stop_server

step "the SDK works: installed, built against, conformant, loaded"
