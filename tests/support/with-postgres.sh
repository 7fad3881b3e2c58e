#!/bin/sh
# with-postgres.sh <command> [args...]
#
# Runs <command> against a PostgreSQL server of its own: a fresh cluster
# (initdb: trust auth, superuser flashsale, fsync off) in a temp dir, on a
# free loopback port; exports POSTGRES_DSN (its `postgres` database), runs
# the command, then stops the server and removes the dir, pass or fail. The
# exit status is the command's. PostgreSQL refuses to run as root, so as root
# initdb and the server run as the postgres user (runuser). Used to run the
# conformance suite on the postgres family (tests/plugins/postgres/CMakeLists.txt).
set -u

bin=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
dir=$(mktemp -d "${TMPDIR:-/tmp}/flashsale-postgres-XXXXXX") || exit 1
as=
if [ "$(id -u)" -eq 0 ]; then
  as="runuser -u postgres --"
  chown postgres "$dir" || exit 1
fi
started=
cleanup() {
  if [ -n "$started" ]; then $as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! $as "$bin/initdb" -D "$dir/data" -U flashsale --auth=trust --no-locale -E UTF8 --no-sync >"$dir/initdb.log" 2>&1; then
  echo "with-postgres.sh: initdb failed (is every folder above $dir traversable by the postgres user?)" >&2
  cat "$dir/initdb.log" >&2
  exit 1
fi

# A free port: ask the kernel for one (bind to port 0), then retry on a clash.
for attempt in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  if $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null 2>&1; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  echo "with-postgres.sh: postgres did not start" >&2
  cat "$dir/postgres.log" >&2 2>/dev/null
  exit 1
fi

POSTGRES_DSN="postgresql://flashsale@127.0.0.1:$port/postgres"
export POSTGRES_DSN
"$@"
