#!/usr/bin/env bash
# The million-account benchmark of the admin console (issue 13 §4): seeds 1,000,000 accounts
# and 10,000,000 audit events into a fresh SQLite file and a fresh PostgreSQL schema, times
# account search and the audit log page (median, p99 over 1,000 random queries per kind), and
# deletes the seeded data afterwards. Prints markdown rows; results: bench/RESULTS.md.
#
#   bench/admin_search.sh              # both backends
#   bench/admin_search.sh sqlite       # one of them
#   ONEID_BENCH_DATABASE_URL=postgres://... bench/admin_search.sh postgres
#
# ACCOUNTS, EVENTS and QUERIES override the sizes (defaults 1000000, 10000000, 1000).
set -euo pipefail
cd "$(dirname "$0")/.."
backends=${1:-sqlite postgres}
pg_url=${ONEID_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
# The dev profile builds dependencies (SQLite, libpq bindings) optimised; the queries run there.
cargo build --quiet --example admin_bench
bin=${CARGO_TARGET_DIR:-target}/debug/examples/admin_bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| backend | query | n | median ms | p99 ms |"
echo "|---|---|---:|---:|---:|"
for backend in $backends; do
  case $backend in
    sqlite) "$bin" sqlite "$work/admin_bench.db" ;;
    # The program makes its own schema and drops it when done.
    postgres) "$bin" postgres "$pg_url" ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
done
