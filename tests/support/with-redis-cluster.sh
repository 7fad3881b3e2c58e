#!/bin/sh
# with-redis-cluster.sh <command> [args...]
#
# Runs <command> against a Redis Cluster of its own: 3 masters, no replicas,
# each a redis-server with --cluster-enabled on free loopback ports (client
# and bus port) in one temp dir (no persistence), joined by
# `redis-cli --cluster create` and ready once every node says cluster_state:ok
# with all 16384 slots served and knows the other two. Exports REDIS_ADDR
# (the seed list "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3") and
# REDIS_CLUSTER=true, runs the command, then stops the nodes and removes the
# dir, pass or fail. The exit status is the command's. The cluster-mode
# twin of with-redis.sh; tests in C++ use tests/support/redis_cluster.h.
set -u

masters=3
dir=$(mktemp -d "${TMPDIR:-/tmp}/flashsale-redis-cluster-XXXXXX") || exit 1
pids=
cleanup() {
  for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
  for pid in $pids; do wait "$pid" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "with-redis-cluster.sh: $1" >&2
  for log in "$dir"/*/redis.log; do [ -f "$log" ] && { echo "== $log" >&2; tail -20 "$log" >&2; }; done
  exit 1
}

# Two free ports at once (client and cluster bus; the bus is not port+10000,
# which may be past 65535): ask the kernel for them (bind to port 0), then
# retry on a clash.
free_ports() {
  python3 -c 'import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])'
}

# start_node <n>: prints the node's port once it answers PING.
start_node() {
  mkdir -p "$dir/$1"
  for _ in 1 2 3 4 5; do
    # shellcheck disable=SC2046 # the two ports become $2 and $3
    set -- "$1" $(free_ports)
    redis-server --port "$2" --bind 127.0.0.1 --dir "$dir/$1" --save '' --appendonly no \
      --daemonize no --logfile "$dir/$1/redis.log" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-port "$3" \
      --cluster-node-timeout 1000 >/dev/null 2>&1 &
    node_pid=$!
    for _ in $(seq 1 100); do
      if redis-cli -h 127.0.0.1 -p "$2" ping 2>/dev/null | grep -q PONG; then
        port=$2
        return 0
      fi
      if ! kill -0 "$node_pid" 2>/dev/null; then break; fi
      sleep 0.05
    done
    kill -9 "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null
  done
  return 1
}

seeds=
ports=
for n in $(seq 1 $masters); do
  start_node "$n" || fail "redis-server node $n did not start"
  pids="$pids $node_pid"
  ports="$ports $port"
  seeds="${seeds:+$seeds,}127.0.0.1:$port"
done

# shellcheck disable=SC2046 # one argument per node
redis-cli --cluster create $(echo "$seeds" | tr ',' ' ') --cluster-replicas 0 --cluster-yes \
  >"$dir/create.log" 2>&1 || { cat "$dir/create.log" >&2; fail "redis-cli --cluster create failed"; }

# Ready when every node agrees: a client given any seed then sees the same map.
ready() {
  for p in $ports; do
    info=$(redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | tr -d '\r')
    echo "$info" | grep -qx 'cluster_state:ok' || return 1
    echo "$info" | grep -qx 'cluster_slots_ok:16384' || return 1
    echo "$info" | grep -qx "cluster_known_nodes:$masters" || return 1
  done
}
deadline=$(($(date +%s) + 30))
until ready; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the cluster did not reach cluster_state:ok within 30 s"
  sleep 0.05
done

REDIS_ADDR=$seeds
REDIS_CLUSTER=true
export REDIS_ADDR REDIS_CLUSTER
"$@"
