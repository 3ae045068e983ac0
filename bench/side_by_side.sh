#!/usr/bin/env bash
# The side-by-side benchmark of issue 14: OneID (release build) against panva's oidc-provider
# 9.13.3 (bench/node, Node 20, NODE_ENV=production), in one run, on one machine: each server
# pinned to one core (SERVER_CPU, default 0), the load (wrk, the flow driver) on another
# (LOAD_CPU, default 1). Prints one markdown table for bench/RESULTS.md, then the raw samples,
# memory, start-up times and the one-core physical bounds measured in the same run.
#
#   bench/side_by_side.sh              # embedded: oidc-provider vs OneID on SQLite + memory store
#   bench/side_by_side.sh scale        # OneID embedded vs OneID on PostgreSQL + Redis
#                                      #   (ONEID_BENCH_DATABASE_URL, ONEID_BENCH_REDIS_URL)
#   bench/side_by_side.sh million      # OneID password sign-in: 1,000 vs 1,000,000 accounts
#
# Knobs (environment): WARMUP (10 s), DURATION (10 s per sample), SAMPLES (3), CONNECTIONS (32,
# wrk's connections and the driver's browsers), STARTS (15 timed starts per server), ACCOUNTS
# (1000 seeded accounts), MILLION (1000000), SERVER_CPU, LOAD_CPU, ONEID_PORT, NODE_PORT, ROWS
# (a subset of the mode's rows, for example ROWS="token introspection"; the peak RSS is then of
# those rows only).
# A quick trial: WARMUP=2 DURATION=3 SAMPLES=1 STARTS=3 bench/side_by_side.sh
#
# It installs what it lacks: wrk (apt), the peer's exact packages (npm ci from the lock file);
# it builds OneID and the examples flow_bench and bounds (cargo, release profile).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=${1:-embedded}
case $mode in embedded | scale | million) ;; *)
  echo "usage: bench/side_by_side.sh [embedded|scale|million]" >&2
  exit 2
  ;;
esac
warmup=${WARMUP:-10}
duration=${DURATION:-10}
samples=${SAMPLES:-3}
connections=${CONNECTIONS:-32}
starts=${STARTS:-15}
accounts=${ACCOUNTS:-1000}
million=${MILLION:-1000000}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
oneid_port=${ONEID_PORT:-8811}
node_port=${NODE_PORT:-8812}
clk_tck=$(getconf CLK_TCK)
redirect_uri=http://127.0.0.1:9/callback # nothing listens there: the driver stops at the redirect
password=bench-password-7Hq2     # every account's (the peer's development login takes any)
sso_login=+919700000001          # the account `oneid user add` makes; the SSO browsers use it
fresh_login='+9198{n}'           # the seeded accounts, picked at random per sign-in

say() { echo "$*" >&2; }

# ROWS: the rows to run, when not all of them; a name that is no row is a typo, refused.
known_rows=" discovery jwks token introspection sso fresh login "
for row in ${ROWS:-}; do
  [[ $known_rows == *" $row "* ]] || { say "ROWS: no row is called '$row' (rows:$known_rows)"; exit 2; }
done
wanted() { [ -z "${ROWS:-}" ] || [[ " $ROWS " == *" $1 "* ]]; }

# --- What it needs ---------------------------------------------------------------------------
apt_install() {
  say "installing $* (apt)"
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "$@" >/dev/null
}
command -v wrk >/dev/null || apt_install wrk
command -v taskset >/dev/null || apt_install util-linux
command -v python3 >/dev/null || apt_install python3
command -v openssl >/dev/null || apt_install openssl
if [ "$mode" = embedded ]; then
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$node_major" -ge 20 ] || apt_install nodejs npm
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$node_major" -ge 20 ] || { say "Node.js 20 or later is required (found $(node --version 2>&1))"; exit 1; }
  (cd bench/node && npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2)
fi
say "building OneID and the benchmark programs (release)"
# One command: built apart, the examples' dev-dependencies would unify other features and build
# the library a second time (about as long as the first).
cargo build --release --quiet -p oneid --bin oneid --example flow_bench --example bounds
release=${CARGO_TARGET_DIR:-$root/target}/release
oneid=$release/oneid
driver=$release/examples/flow_bench

work=$(mktemp -d)
pid=""
schemas=()
prefixes=()
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  for schema in "${schemas[@]}"; do
    psql -q "$pg_admin_url" -c "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true
  done
  for prefix in "${prefixes[@]}"; do
    redis-cli -u "$redis_url" --scan --pattern "$prefix*" | xargs -r redis-cli -u "$redis_url" del >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
pg_admin_url=${ONEID_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
redis_url=${ONEID_BENCH_REDIS_URL:-redis://127.0.0.1:6379}
# OneID reads every ONEID_* variable as a setting and refuses one it does not know.
unset ONEID_BENCH_DATABASE_URL ONEID_BENCH_REDIS_URL

json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# Writes the highest RssAnon of process $1 seen so far to file $2 (MiB), until killed.
sample_anon() {
  local most=0 now
  while now=$(status_kib "$1" RssAnon 2>/dev/null) && [ -n "$now" ]; do
    if [ "$now" -gt "$most" ]; then
      most=$now
      mib "$most" >"$2"
    fi
    sleep 0.2
  done
}
wait_ready() {
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "$1/.well-known/openid-configuration" && return 0
    sleep 0.05
  done
  say "the server at $1 did not start"
  return 1
}

# --- The physical bounds, on the servers' core, before any server runs -----------------------
say "measuring the one-core bounds"
openssl_rate() { # openssl speed -mr prints rates (3.x) or seconds per operation (1.1)
  taskset -c "$server_cpu" openssl speed -seconds 3 -mr "$1" 2>/dev/null |
    awk -F: -v tag="$2" '$1 == tag { v = $4; printf "%.0f", (v < 1 ? 1 / v : v); exit }'
}
openssl_rs256=$(openssl_rate rsa2048 +F2)
openssl_es256=$(openssl_rate ecdsap256 +F4)
bounds=$(taskset -c "$server_cpu" "$release/examples/bounds")
bound() { tr ' ' '\n' <<<"$bounds" | sed -n "s/^$1=//p"; }

# --- Servers ---------------------------------------------------------------------------------
# Each server: a name, an environment (exported by its setup function), its start command.
results=$work/results
mkdir -p "$results"

setup_oneid() { # pair dir accounts
  local pair=$1 dir=$2 n=$3
  mkdir -p "$dir"
  export RUST_LOG=warn ONEID_LISTEN=127.0.0.1:$oneid_port ONEID_ISSUER=http://127.0.0.1:$oneid_port
  export ONEID_OUTBOX=$dir/outbox.jsonl ONEID_KEYS__ENCRYPTION_KEY_FILE=$dir/keys.secret
  # One load generator from one address: lift the per-address limits (sign-ins, parked requests).
  export ONEID_LIMITS__IP_SIGN_IN_ATTEMPTS=100000000 ONEID_LIMITS__IP_INTERACTIONS=100000000
  unset ONEID_REDIS_URL ONEID_REDIS__KEY_PREFIX
  case $pair in
    embedded) export ONEID_DATABASE_URL=sqlite://$dir/oneid.db ;;
    scale)
      local schema=oneid_side_$$_${#schemas[@]}
      psql -q "$pg_admin_url" -c "CREATE SCHEMA $schema" >/dev/null
      schemas+=("$schema")
      export ONEID_DATABASE_URL="$pg_admin_url?options=-csearch_path%3D$schema"
      export ONEID_REDIS_URL=$redis_url
      export ONEID_REDIS__KEY_PREFIX=oneid-side-$$-${#schemas[@]}:
      prefixes+=("$ONEID_REDIS__KEY_PREFIX")
      ;;
  esac
  "$oneid" migrate >/dev/null
  local client
  # As bench/run.sh registers it (a service alone would need --scope; its tokens are the same).
  client=$("$oneid" client add --name "Bench service" --redirect-uri "$redirect_uri" \
    --first-party --grant client_credentials --json)
  cc_id=$(json client_id <<<"$client")
  cc_secret=$(json client_secret <<<"$client")
  client=$("$oneid" client add --name "Bench app" --redirect-uri "$redirect_uri" --first-party --json)
  code_id=$(json client_id <<<"$client")
  code_secret=$(json client_secret <<<"$client")
  say "seeding $n accounts ($pair)"
  "$driver" seed --database-url "$ONEID_DATABASE_URL" --accounts "$n" --password "$password" 2>/dev/null
  # After the seeding: `user add` draws a random account ID and retries one that is taken.
  printf '%s\n' "$password" | "$oneid" user add --phone "$sso_login" --name "Bench" --password-stdin >/dev/null
  base=http://127.0.0.1:$oneid_port
  provider=oneid
  sso_user=$sso_login
  start_cmd=(taskset -c "$server_cpu" "$oneid" serve)
}

setup_node() {
  local dir=$1
  mkdir -p "$dir"
  (cd bench/node && node provider.mjs keys "$dir/jwks.json")
  export NODE_ENV=production PEER_ISSUER=http://127.0.0.1:$node_port PEER_JWKS_FILE=$dir/jwks.json
  PEER_COOKIE_KEY=$(openssl rand -hex 32)
  cc_id=bench-service cc_secret=$(openssl rand -hex 24)
  code_id=bench-app code_secret=$(openssl rand -hex 24)
  export PEER_COOKIE_KEY PEER_CC_ID=$cc_id PEER_CC_SECRET=$cc_secret PEER_CODE_ID=$code_id \
    PEER_CODE_SECRET=$code_secret PEER_REDIRECT_URI=$redirect_uri
  base=http://127.0.0.1:$node_port
  provider=node
  sso_user=bench-user
  start_cmd=(taskset -c "$server_cpu" node "$root/bench/node/provider.mjs")
}

# --- Rows ------------------------------------------------------------------------------------
# Every sample appends "rate p50_ms p99_ms cpu_ms_per_op errors" to $results/<server>.<row>.

ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f", v / 1000; else if (v ~ /ms$/) printf "%.2f", v + 0; else printf "%.2f", v * 1000 }'; }

# The Lua check counts answers that are not 200 with `mark` in the body as errors.
lua_post() { # file body mark (Authorization: the client's)
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf '%s:%s' "$cc_id" "$cc_secret" | base64 -w0)"
wrk.body = "$2"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '$3', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  io.write(string.format("bad=%d\n", n))
end
LUA
}

wrk_row() { # server row url [lua]
  local server=$1 row=$2 url=$3 lua=${4:-}
  local args=(-t1 "-c$connections" --latency)
  [ -n "$lua" ] && args+=(-s "$lua")
  taskset -c "$load_cpu" wrk "${args[@]}" "-d${warmup}s" "$url" >/dev/null
  for _ in $(seq 1 "$samples"); do
    local t0 t1 out
    t0=$(ticks "$pid")
    out=$(taskset -c "$load_cpu" wrk "${args[@]}" "-d${duration}s" "$url")
    t1=$(ticks "$pid")
    local n rate p50 p99 errors
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    rate=$(awk '/Requests\/sec/ { printf "%.1f", $2 }' <<<"$out")
    p50=$(ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    errors=$(awk '/Non-2xx/ { e += $NF } /Socket errors/ { gsub(",", ""); e += $4 + $6 + $8 + $10 }
      /^bad=/ { split($0, b, "="); e += b[2] } END { print e + 0 }' <<<"$out")
    local cpu
    cpu=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$clk_tck" 'BEGIN { printf "%.4f", n ? d * 1000 / hz / n : 0 }')
    echo "$rate $p50 $p99 $cpu $errors" >>"$results/$server.$row"
  done
}

driver_row() { # server row mode username
  local server=$1 row=$2 flow=$3 username=$4
  local out
  out=$(taskset -c "$load_cpu" "$driver" "$flow" --base "$base" --provider "$provider" \
    --client-id "$code_id" --client-secret "$code_secret" --redirect-uri "$redirect_uri" \
    --username "$username" --password "$password" --accounts "$seeded" \
    --concurrency "$connections" --warmup "$warmup" --duration "$duration" --samples "$samples" \
    --server-pid "$pid" --clk-tck "$clk_tck")
  while read -r line; do
    local -A kv=()
    for pair in $line; do kv[${pair%%=*}]=${pair#*=}; done
    echo "${kv[rate]} ${kv[p50_ms]} ${kv[p99_ms]} ${kv[cpu_ms_per_op]} ${kv[errors]}" >>"$results/$server.$row"
    echo "${kv[id_alg]} ${kv[at_alg]}" >"$results/$server.$row.algs"
  done <<<"$out"
}

# Runs `rows` against the server set up last, then times its starts.
measure() { # server rows...
  local server=$1
  shift
  say "== $server: starting"
  "${start_cmd[@]}" >"$work/$server.log" 2>&1 &
  pid=$!
  wait_ready "$base"
  sleep 1
  echo "$(mib "$(status_kib "$pid" VmRSS)")" >"$results/$server.rss_idle"
  echo "$(mib "$(status_kib "$pid" RssAnon)")" >"$results/$server.anon_idle"
  # RSS counts the executable's clean text pages too (file-backed, shared with the page cache,
  # which the kernel may drop at any time); RssAnon is the memory the process owns. The kernel
  # keeps no high-water mark of it, so a sampler reads it every 200 ms while the rows run.
  sample_anon "$pid" "$results/$server.anon_peak" &
  local sampler=$!
  taskset -cp "$load_cpu" "$sampler" >/dev/null
  local discovery
  discovery=$(curl -fs "$base/.well-known/openid-configuration")
  for row in "$@"; do
    wanted "$row" || continue
    say "== $server: $row"
    case $row in
      discovery) wrk_row "$server" "$row" "$base/.well-known/openid-configuration" ;;
      jwks) wrk_row "$server" "$row" "$(json jwks_uri <<<"$discovery")" ;;
      token)
        lua_post "$work/token.lua" "grant_type=client_credentials" '"access_token"'
        wrk_row "$server" "$row" "$(json token_endpoint <<<"$discovery")" "$work/token.lua"
        ;;
      introspection)
        local token
        token=$(curl -fs -u "$cc_id:$cc_secret" -d grant_type=client_credentials \
          "$(json token_endpoint <<<"$discovery")" | json access_token)
        # The token's header says how OneID signs access tokens (opaque for the peer).
        python3 -c 'import base64,json,sys; t=sys.argv[1].split("."); print(json.loads(base64.urlsafe_b64decode(t[0]+"==")).get("alg","?") if len(t)==3 else "opaque")' \
          "$token" >"$results/$server.cc_alg"
        lua_post "$work/introspect.lua" "token=$token" '"active":true'
        wrk_row "$server" "$row" "$(json introspection_endpoint <<<"$discovery")" "$work/introspect.lua"
        ;;
      sso) driver_row "$server" "$row" sso "$sso_user" ;;
      fresh) driver_row "$server" "$row" fresh "$fresh_login" ;;
      login) driver_row "$server" "$row" login "$fresh_login" ;;
    esac
  done
  echo "$(mib "$(status_kib "$pid" VmHWM)")" >"$results/$server.rss_peak"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  if [ "$starts" -gt 0 ]; then
    say "== $server: $starts timed starts"
    taskset -c "$load_cpu" "$driver" startup --url "$base/.well-known/openid-configuration" \
      --runs "$starts" -- "${start_cmd[@]}" >"$results/$server.startup"
  fi
}

read -ra all_rows <<<"$known_rows"
seeded=$accounts
case $mode in
  embedded)
    setup_node "$work/node"
    measure a discovery jwks token introspection sso fresh
    setup_oneid embedded "$work/oneid" "$accounts"
    measure b "${all_rows[@]}"
    name_a="oidc-provider 9.13.3" name_b="OneID (embedded)" ratio="OneID / node"
    ;;
  scale)
    setup_oneid embedded "$work/embedded" "$accounts"
    measure a "${all_rows[@]}"
    setup_oneid scale "$work/scale" "$accounts"
    measure b "${all_rows[@]}"
    name_a="OneID embedded (SQLite + memory)" name_b="OneID scale (PostgreSQL + Redis)" ratio="scale / embedded"
    ;;
  million)
    setup_oneid embedded "$work/thousand" "$accounts"
    measure a login
    seeded=$million
    setup_oneid embedded "$work/million" "$million"
    measure b login
    name_a="$accounts accounts" name_b="$million accounts" ratio="B / A"
    all_rows=(login)
    ;;
esac

# --- The table -------------------------------------------------------------------------------
median() { # file column
  [ -s "$1" ] || { echo "–"; return; }
  awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
total() { [ -s "$1" ] && awk -v c="$2" '{ s += $c } END { print s }' "$1" || echo "–"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b != "–" && a != "–") printf "%.2f×", b / a; else printf "–" }'; }
label() {
  case $1 in
    discovery) echo "GET discovery" ;;
    jwks) echo "GET JWKS" ;;
    token) echo "POST /token client_credentials" ;;
    introspection) echo "POST introspection (client_credentials token)" ;;
    sso) echo "code flow riding an SSO session (flows/s)" ;;
    fresh) echo "code flow with a fresh sign-in (flows/s)" ;;
    login) echo "OneID password sign-in alone (POST /login)" ;;
  esac
}

echo
echo "Mode \`$mode\`, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?), $(nproc) cores ($(uname -m)), server on core $server_cpu, load on core $load_cpu; wrk -t1 -c$connections / $connections browsers; ${warmup} s warm-up, median of $samples × ${duration} s. A = $name_a, B = $name_b."
echo
echo "| workload (one core) | A /s | B /s | $ratio | A p50 / p99 ms | B p50 / p99 ms | A CPU ms/op | B CPU ms/op | CPU A / B | errors A / B |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for row in "${all_rows[@]}"; do
  wanted "$row" || continue
  fa=$results/a.$row fb=$results/b.$row
  ra=$(median "$fa" 1) rb=$(median "$fb" 1)
  ca=$(median "$fa" 4) cb=$(median "$fb" 4)
  printf '| %s | %s | %s | %s | %s / %s | %s / %s | %s | %s | %s | %s / %s |\n' "$(label "$row")" \
    "$ra" "$rb" "$(ratio "$ra" "$rb")" "$(median "$fa" 2)" "$(median "$fa" 3)" \
    "$(median "$fb" 2)" "$(median "$fb" 3)" "$ca" "$cb" "$(ratio "$cb" "$ca")" \
    "$(total "$fa" 5)" "$(total "$fb" 5)"
done
startup_of() { [ -s "$results/$1.startup" ] && tr ' ' '\n' <"$results/$1.startup" | awk -F= '$1 == "median_ms" { m = $2 } $1 == "min_ms" { lo = $2 } $1 == "max_ms" { hi = $2 } END { printf "%s ms (%s–%s)", m, lo, hi }' || echo "–"; }
echo "| idle / peak RSS (MiB) | $(cat "$results/a.rss_idle") / $(cat "$results/a.rss_peak") | $(cat "$results/b.rss_idle") / $(cat "$results/b.rss_peak") | | | | | | | |"
echo "| idle / peak private memory, RssAnon (MiB) | $(cat "$results/a.anon_idle") / $(cat "$results/a.anon_peak") | $(cat "$results/b.anon_idle") / $(cat "$results/b.anon_peak") | | | | | | | |"
echo "| start to first discovery 200 (median of $starts) | $(startup_of a) | $(startup_of b) | | | | | | | |"
if [ "$mode" = million ]; then
  echo
  echo "Password sign-in p99: $(median "$results/b.login" 3) ms with $million accounts vs $(median "$results/a.login" 3) ms with $accounts: $(ratio "$(median "$results/a.login" 3)" "$(median "$results/b.login" 3)") (target: within 10%)."
fi

echo
echo "Raw samples (rate /s, p50 ms, p99 ms, CPU ms/op, errors):"
for row in "${all_rows[@]}"; do
  for side in a b; do
    [ -s "$results/$side.$row" ] || continue
    echo "- $(label "$row"), $side: $(paste -sd '|' "$results/$side.$row" | sed 's/|/; /g')"
  done
done
for side in a b; do
  [ -s "$results/$side.startup" ] && echo "- starts, $side: $(tr ' ' '\n' <"$results/$side.startup" | awk -F= '$1 == "all_ms" { print $2 }') ms"
done

# The bounds: what one core can sign and hash, and the flow rates they allow.
at_alg=$(awk '{ print $2 }' "$results/b.sso.algs" 2>/dev/null || echo "?")
id_alg=$(awk '{ print $1 }' "$results/b.sso.algs" 2>/dev/null || echo "?")
rate_of() {
  case $1 in
    RS256) bound signer_rs256_sign_per_s ;;
    ES256) bound signer_es256_sign_per_s ;;
    EdDSA) bound signer_eddsa_sign_per_s ;;
    *) echo 0 ;;
  esac
}
echo
echo "One-core bounds (core $server_cpu, same run): openssl speed RSA-2048 $openssl_rs256 sign/s, ECDSA P-256 $openssl_es256 sign/s;" \
  "aws-lc-rs (OneID's signer) RS256 $(bound signer_rs256_sign_per_s)/s, ES256 $(bound signer_es256_sign_per_s)/s, EdDSA $(bound signer_eddsa_sign_per_s)/s;" \
  "OneID's argon2id ($(bound phc)) $(bound argon2id_checks_per_s) checks/s."
fresh_bound=$(bound argon2id_checks_per_s)
fresh_target="fresh-sign-in bound = argon2id checks/s = $fresh_bound flows/s (80%: $(awk -v b="$fresh_bound" 'BEGIN { printf "%.0f", b * 0.8 }'))"
if [ -s "$results/b.sso.algs" ]; then
  echo "B's tokens: ID token $id_alg, access token (code flow) $at_alg, client_credentials access token $(cat "$results/b.cc_alg" 2>/dev/null || echo "?")."
  sso_bound=$(awk -v i="$(rate_of "$id_alg")" -v a="$(rate_of "$at_alg")" 'BEGIN { if (i > 0 && a > 0) printf "%.0f", 1 / (1 / i + 1 / a); else print "–" }')
  echo "Derived targets for B: SSO flow bound = 1 / (one $id_alg ID-token signature + one $at_alg access-token signature) = $sso_bound flows/s (80%: $(awk -v b="$sso_bound" 'BEGIN { printf "%.0f", b * 0.8 }')); $fresh_target."
else
  echo "Derived target: $fresh_target."
fi
