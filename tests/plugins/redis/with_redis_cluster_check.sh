#!/bin/sh
# with_redis_cluster_check.sh <path of with-redis-cluster.sh>
#
# What cluster-mode runs of the conformance suite rely on: the command sees
# REDIS_CLUSTER=true and a seed list of 3 nodes that form one healthy
# cluster, its exit status comes back unchanged, and no node is left
# running afterwards.
set -u
wrapper=$1

"$wrapper" sh -c 'exit 3'
status=$?
[ "$status" -eq 3 ] || { echo "exit status $status, not the command's 3" >&2; exit 1; }

# shellcheck disable=SC2016 # expanded by the inner shell, under the wrapper
seeds=$("$wrapper" sh -c '
  [ "$REDIS_CLUSTER" = true ] || { echo "REDIS_CLUSTER is not true" >&2; exit 1; }
  count=0
  for seed in $(echo "$REDIS_ADDR" | tr , " "); do
    count=$((count + 1))
    redis-cli -h "${seed%:*}" -p "${seed#*:}" cluster info | grep -q "^cluster_state:ok" ||
      { echo "$seed is not in a healthy cluster" >&2; exit 1; }
  done
  [ "$count" -eq 3 ] || { echo "$count seeds in $REDIS_ADDR" >&2; exit 1; }
  first=${REDIS_ADDR%%,*}
  # Keys of every slot range: -c follows the MOVED of the masters not serving them.
  for key in a b c d e f; do
    [ "$(redis-cli -c -h "${first%:*}" -p "${first#*:}" set "$key" v)" = OK ] || exit 1
  done
  echo "$REDIS_ADDR"
') || exit 1

for seed in $(echo "$seeds" | tr , " "); do
  if redis-cli -h "${seed%:*}" -p "${seed#*:}" ping >/dev/null 2>&1; then
    echo "$seed still answers after the command ended" >&2
    exit 1
  fi
done
