#!/usr/bin/env bash
# Load benchmark of a release build of OneID, reproducible on any machine with wrk
# (Debian: apt-get install wrk). Prints one markdown table row per endpoint.
#
#   bench/run.sh            # the embedded pair: SQLite + in-memory state
#   bench/run.sh scale      # PostgreSQL + Redis (ONEID_BENCH_DATABASE_URL, ONEID_BENCH_REDIS_URL;
#                           # defaults: the local test database and Redis, in a schema of its own)
#
# DURATION (10s), CONNECTIONS (32) and THREADS (2) tune wrk. Results: bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
pair=${1:-embedded}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
port=${PORT:-8799}
base=http://127.0.0.1:$port

command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet -p oneid
bin=$PWD/target/release/oneid
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "${schema:-}" ] && psql -q "$admin_url" -c "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

export RUST_LOG=warn ONEID_LISTEN=127.0.0.1:$port ONEID_ISSUER=$base
export ONEID_OUTBOX=$work/outbox.jsonl ONEID_KEYS__ENCRYPTION_KEY_FILE=$work/keys.secret
# The benchmark is one client hammering from one address: lift the per-address sign-in cap.
export ONEID_LIMITS__IP_SIGN_IN_ATTEMPTS=100000000
case $pair in
  embedded) export ONEID_DATABASE_URL=sqlite://$work/oneid.db ;;
  scale)
    admin_url=${ONEID_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
    schema=oneid_bench_$$
    psql -q "$admin_url" -c "CREATE SCHEMA $schema" >/dev/null
    export ONEID_DATABASE_URL="$admin_url?options=-csearch_path%3D$schema"
    export ONEID_REDIS_URL=${ONEID_BENCH_REDIS_URL:-redis://127.0.0.1:6379}
    export ONEID_REDIS__KEY_PREFIX=oneid-bench-$$:
    ;;
  *) echo "usage: bench/run.sh [embedded|scale]" >&2; exit 2 ;;
esac
# OneID reads every ONEID_* variable as a setting and refuses one it does not know.
unset ONEID_BENCH_DATABASE_URL ONEID_BENCH_REDIS_URL

"$bin" migrate >/dev/null
client=$("$bin" client add --name Bench --redirect-uri http://127.0.0.1:9/callback \
  --first-party --grant client_credentials --json)
client_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$client")
client_secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$client")

"$bin" serve 2>"$work/server.log" &
pid=$!
for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
rss() { echo $(( $(ps -o rss= -p "$pid") / 1024 )); }
rss_idle=$(rss)

# A session cookie and its CSRF token for the sign-in form.
jar=$work/cookies
csrf=$(curl -fs -c "$jar" "$base/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n1)
cookie=$(sed 's/^#HttpOnly_//' "$jar" | awk '!/^#/ && NF >= 7 { print $6 "=" $7 }' | head -n1)


cat >"$work/token.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)"
wrk.body = "grant_type=client_credentials"
LUA
cat >"$work/login.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "$cookie"
-- An account that does not exist: the dummy argon2id verification runs, as for a wrong password.
wrk.body = "csrf=$csrf&identifier=9812300000&password=not-the-password"
LUA

echo "| pair | request | req/s | p50 ms | p99 ms | non-2xx |"
echo "|---|---|---:|---:|---:|---:|"
run() {
  local name=$1 path=$2 script=${3:-} c=${4:-$connections}
  local out
  out=$(wrk -t"$threads" -c"$c" -d"$duration" --latency ${script:+-s "$script"} "$base$path")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx/ { print $5 }' <<<"$out")
  ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f", v / 1000; else if (v ~ /ms$/) printf "%.2f", v + 0; else printf "%.0f", v * 1000 }'; }
  echo "| $pair | $name | $rps | $(ms "$p50") | $(ms "$p99") | ${errors:-0} |"
}
run "GET discovery" /.well-known/openid-configuration
run "GET /jwks.json" /jwks.json
run "GET /login (page, no cookie)" /login
run "POST /token (client_credentials, RS256 JWT)" /token "$work/token.lua"
# argon2id is CPU-bound: as many connections as cores says what one instance can verify.
run "POST /login (argon2id check)" /login "$work/login.lua" "$(nproc)"
echo
echo "RSS: ${rss_idle} MiB idle after start, $(rss) MiB after the runs ($(nproc) cores, $(uname -m))."
