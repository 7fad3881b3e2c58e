#!/bin/sh
# with-redis.sh <command> [args...]
#
# Runs <command> against a redis-server of its own: starts one on a free
# loopback port in a temp dir (no persistence), exports REDIS_ADDR, runs the
# command, then stops redis and removes the dir, pass or fail. The exit
# status is the command's. Used to run the conformance suite on the redis
# family (tests/plugins/redis/CMakeLists.txt).
set -u

dir=$(mktemp -d "${TMPDIR:-/tmp}/flashsale-redis-XXXXXX") || exit 1
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port: ask the kernel for one (bind to port 0), then retry on a clash.
for attempt in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
    --daemonize no --logfile "$dir/redis.log" &
  pid=$!
  for i in $(seq 1 100); do
    if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then break 2; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
done
if [ -z "$pid" ]; then
  echo "with-redis.sh: redis-server did not start" >&2
  cat "$dir/redis.log" >&2 2>/dev/null
  exit 1
fi

REDIS_ADDR="127.0.0.1:$port"
export REDIS_ADDR
"$@"
