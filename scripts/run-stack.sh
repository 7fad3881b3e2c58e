#!/usr/bin/env bash
# The full default stack on one machine without Docker: a local redis-server
# (AOF on, noeviction), the Kafka-protocol dev broker, and flashsale-server on
# etc/flashsale.properties, wired together. Ctrl-C stops all three.
#   STACK_REDIS_PORT (default 6379)  STACK_DIR (default build/stack)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=build/release/bin
stack_dir=${STACK_DIR:-build/stack}
redis_port=${STACK_REDIS_PORT:-6379}
mkdir -p "$stack_dir/redis"

pids=()
stop_all() {
  trap - INT TERM EXIT
  # The server first: it drains its workers while Redis and the broker are
  # still up. (Those two run in sessions of their own, so a Ctrl-C on the
  # terminal reaches only this script and the server.)
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
trap stop_all INT TERM EXIT

if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  echo "run-stack: something already answers on port $redis_port; set STACK_REDIS_PORT" >&2
  exit 1
fi
setsid redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$stack_dir/redis" \
  --appendonly yes --maxmemory-policy noeviction --save '' >"$stack_dir/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping >/dev/null || { echo "run-stack: redis-server did not start, see $stack_dir/redis.log" >&2; exit 1; }

setsid "$bin/flashsale-devbroker" --partitions 4 >"$stack_dir/broker.out" 2>"$stack_dir/broker.log" &
pids+=($!)
for _ in $(seq 50); do [ -s "$stack_dir/broker.out" ] && break; sleep 0.1; done
brokers=$(head -n 1 "$stack_dir/broker.out")
[ -n "$brokers" ] || { echo "run-stack: the dev broker did not start, see $stack_dir/broker.log" >&2; exit 1; }

echo "run-stack: redis 127.0.0.1:$redis_port (AOF in $stack_dir/redis), dev broker $brokers"
REDIS_ADDR=127.0.0.1:$redis_port KAFKA_BROKERS=$brokers DB_PATH=${DB_PATH:-$stack_dir/flash_sale.db} \
  "$bin/flashsale-server" --config etc/flashsale.properties &
pids+=($!)
wait "${pids[2]}" || true
