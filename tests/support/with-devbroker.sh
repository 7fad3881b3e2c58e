#!/bin/sh
# with-devbroker.sh <flashsale-devbroker> <command> [args...]
#
# Runs <command> against a Kafka-protocol dev broker of its own (librdkafka's
# mock cluster on an ephemeral loopback port): exports KAFKA_BROKERS, runs the
# command, stops the broker, pass or fail. The exit status is the command's.
set -u

broker=$1
shift
dir=$(mktemp -d "${TMPDIR:-/tmp}/flashsale-broker-XXXXXX") || exit 1
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$broker" --partitions 3 --topic "${KAFKA_TOPIC:-flash-sale-orders}" >"$dir/out" 2>"$dir/log" &
pid=$!
for i in $(seq 1 100); do
  [ -s "$dir/out" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
KAFKA_BROKERS=$(head -n 1 "$dir/out")
if [ -z "$KAFKA_BROKERS" ]; then
  echo "with-devbroker.sh: the dev broker did not start" >&2
  cat "$dir/log" >&2
  exit 1
fi
export KAFKA_BROKERS
"$@"
