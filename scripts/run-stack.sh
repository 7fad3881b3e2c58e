#!/usr/bin/env bash
# The full default stack on one machine without Docker: a local redis-server
# (AOF on, noeviction), the Kafka-protocol dev broker, and flashsale-server on
# etc/flashsale.properties, wired together. Ctrl-C stops them all.
# PERSIST=postgres: the system of record on a local PostgreSQL 15 instead of
# SQLite (etc/postgres.properties), its cluster made with initdb on the first
# run and kept; as root, initdb and the server run as the postgres user.
#   STACK_REDIS_PORT (default 6379)  STACK_POSTGRES_PORT (default 5433)
#   STACK_DIR (default build/stack)  PERSIST (sqlite or postgres, default sqlite)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=build/release/bin
stack_dir=${STACK_DIR:-build/stack}
redis_port=${STACK_REDIS_PORT:-6379}
postgres_port=${STACK_POSTGRES_PORT:-5433}
persist=${PERSIST:-sqlite}
case "$persist" in
  sqlite | postgres) ;;
  *) echo "run-stack: PERSIST is sqlite or postgres, not '$persist'" >&2; exit 1 ;;
esac
mkdir -p "$stack_dir/redis"

pids=()
postgres_data=
as_postgres=()
stop_all() {
  trap - INT TERM EXIT
  # The server first: it drains its workers while Redis, the broker and
  # PostgreSQL are still up. (Those run in sessions of their own, so a Ctrl-C
  # on the terminal reaches only this script and the server.)
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  if [ -n "$postgres_data" ]; then
    "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$postgres_data" -m fast -w stop >/dev/null 2>&1 || true
  fi
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

config=etc/flashsale.properties
store="SQLite ${DB_PATH:-$stack_dir/flash_sale.db}"
if [ "$persist" = postgres ]; then
  pg_bin=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
  [ -x "$pg_bin/initdb" ] || { echo "run-stack: no $pg_bin/initdb: apt-get install postgresql-15" >&2; exit 1; }
  # PostgreSQL refuses to run as root: then the cluster lives where the
  # postgres user can reach it, and initdb and pg_ctl run as that user.
  postgres_root=$stack_dir/postgres
  if [ "$(id -u)" -eq 0 ]; then
    as_postgres=(runuser -u postgres --)
    postgres_root=${TMPDIR:-/tmp}/flashsale-stack-postgres
  fi
  mkdir -p "$postgres_root"
  [ ${#as_postgres[@]} -eq 0 ] || chown postgres "$postgres_root"
  postgres_data=$postgres_root/data
  if [ ! -f "$postgres_data/PG_VERSION" ]; then
    "${as_postgres[@]}" "$pg_bin/initdb" -D "$postgres_data" -U flashsale --auth=trust --no-locale -E UTF8 \
      >"$stack_dir/initdb.log" 2>&1 || { echo "run-stack: initdb failed, see $stack_dir/initdb.log" >&2; exit 1; }
  fi
  # pg_ctl starts the server in a session of its own; stop_all stops it.
  if ! "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$postgres_data" -l "$postgres_root/postgres.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $postgres_port -k $postgres_root" start >/dev/null; then
    postgres_data=
    echo "run-stack: PostgreSQL did not start on port $postgres_port (set STACK_POSTGRES_PORT), see $postgres_root/postgres.log" >&2
    exit 1
  fi
  "$pg_bin/psql" -h 127.0.0.1 -p "$postgres_port" -U flashsale -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'flashsale'" | grep -q 1 ||
    "$pg_bin/createdb" -h 127.0.0.1 -p "$postgres_port" -U flashsale flashsale
  export POSTGRES_DSN=${POSTGRES_DSN:-postgresql://flashsale@127.0.0.1:$postgres_port/flashsale}
  config=etc/postgres.properties
  store="PostgreSQL $POSTGRES_DSN (cluster in $postgres_data)"
fi

echo "run-stack: redis 127.0.0.1:$redis_port (AOF in $stack_dir/redis), dev broker $brokers, $store"
REDIS_ADDR=127.0.0.1:$redis_port KAFKA_BROKERS=$brokers DB_PATH=${DB_PATH:-$stack_dir/flash_sale.db} \
  "$bin/flashsale-server" --config "$config" &
pids+=($!)
wait "${pids[2]}" || true
