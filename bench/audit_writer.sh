#!/usr/bin/env bash
# The audit writer alone (issue 14): 200,000 `token_issued` events through the server's queued
# writer into a fresh SQLite file and a fresh PostgreSQL schema, pinned to one core; prints the
# rate and the whole process's CPU per event (the writer and the 32 tasks recording). Results:
# bench/RESULTS.md, "A fifth run".
#
#   bench/audit_writer.sh              # both backends
#   bench/audit_writer.sh sqlite       # one of them
#   ONEID_BENCH_DATABASE_URL=postgres://... bench/audit_writer.sh postgres
#
# EVENTS and PRODUCERS override the sizes; SERVER_CPU the core (0).
set -euo pipefail
cd "$(dirname "$0")/.."
backends=${1:-sqlite postgres}
pg_url=${ONEID_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
cpu=${SERVER_CPU:-0}
events=${EVENTS:-200000}
command -v taskset >/dev/null || { echo "taskset (util-linux) is required" >&2; exit 1; }
cargo build --release --quiet --example audit_bench
bin=${CARGO_TARGET_DIR:-target}/release/examples/audit_bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| backend | events | events/s | CPU µs per event (whole process) |"
echo "|---|---:|---:|---:|"
for backend in $backends; do
  case $backend in
    sqlite) target=$work/audit.db ;;
    # The program makes its own schema and drops it when done.
    postgres) target=$pg_url ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  # bash's own `time`: the user and system CPU of the program (its threads included).
  out=$({ TIMEFORMAT='cpu=%U %S'; time EVENTS=$events taskset -c "$cpu" "$bin" "$backend" "$target"; } 2>&1)
  rate=$(sed -n 's/.*: \([0-9]*\) events\/s$/\1/p' <<<"$out")
  cpu_us=$(awk -v n="$events" '/^cpu=/ { sub("cpu=", ""); printf "%.1f", ($1 + $2) * 1e6 / n }' <<<"$out")
  echo "| $backend | $events | $rate | $cpu_us |"
done
