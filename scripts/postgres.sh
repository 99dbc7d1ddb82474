#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the storage tests: its own cluster in a temporary directory,
# listening on 127.0.0.1 only, with a role and a database `keel`. Prints the URL the tests read
# (KEEL_TEST_POSTGRES_URL). Needs Debian's `postgresql` package. `scripts/postgres.sh stop` stops it.
set -euo pipefail
port="${KEEL_PG_PORT:-54329}"
dir="${KEEL_PG_DIR:-/tmp/keel-postgres}"
password="${KEEL_PG_PASSWORD:-keel-test-password}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "error: PostgreSQL server binaries not found under /usr/lib/postgresql; apt-get install -y postgresql" >&2
  exit 2
fi
# initdb and the server refuse to run as root: run them as the `postgres` user the package created.
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi

if [ "${1:-start}" = "stop" ]; then
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  exit 0
fi

if "${as[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
fi
rm -rf "$dir"
mkdir -p "$dir"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
printf '%s\n' "$password" > "$dir/pwfile"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/pwfile"; fi
"${as[@]}" "$bin/initdb" -D "$dir/data" -U keel --pwfile="$dir/pwfile" -A scram-sha-256 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pwfile"
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
PGPASSWORD="$password" "$bin/psql" -h 127.0.0.1 -p "$port" -U keel -d postgres -qc "CREATE DATABASE keel" >/dev/null
echo "postgres://keel:$password@127.0.0.1:$port/keel"
