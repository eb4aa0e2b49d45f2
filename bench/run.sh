#!/usr/bin/env bash
# Side-by-side HTTP benchmark: bare axum, axum + portcullis (cache on / off), actix + portcullis,
# axum + jwt-authorizer, actix + jsonwebtoken, and the floor under them all (axum + one raw RSA
# check, nothing else). Usage: bash bench/run.sh [seconds] [rounds]
#
# Builds the servers (release), mints an RS256 key set and tokens once, installs wrk if missing,
# pins each server to CPU 0 and wrk to CPU 1 (when there are two), and runs every server
# `rounds` times for `seconds` after a warm-up, alternating servers within each round. Four
# modes: `reused` (one token for every request, as clients send it), `distinct` (a different
# token per request, cycling through BENCH_TOKENS pre-minted ones), `mixed` (many clients, each
# reusing its own token: BENCH_MIXED_CLIENTS tokens picked at random, default 10 000, plus
# BENCH_MIXED_NEW percent of requests with a new token, default 5; the verified-token cache's
# size at the end of each run is reported) and `dpop` (one DPoP-bound
# token with a distinct proof per request, BENCH_PROOFS of them signed just before each server
# starts, against bare axum and a raw ES256 floor). Rows with Redis (a revocation mirror of
# 10 000 entries on the cached path; DPoP with the Redis replay store) start a local
# redis-server. Prints medians of req/s, p50, p99
# and server CPU per request (and the kernel's share of it), idle and peak RSS, and ratios to
# bare axum from the same run. `BENCH_EXTRA` adds servers (see below).
# A run whose responses are not all 2xx is reported as an error, never as a number.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-10}"
rounds="${2:-3}"
warmup="${BENCH_WARMUP:-3}"
conns="${BENCH_CONNECTIONS:-64}"
port="${BENCH_PORT:-18080}"
modes="${BENCH_MODES:-reused distinct mixed dpop}"
# A regular expression: only servers whose name matches run (bare axum always does: ratios).
only="${BENCH_SERVERS:-.}"
export BENCH_TOKENS="${BENCH_TOKENS:-300000}"
export BENCH_PROOFS="${BENCH_PROOFS:-300000}"

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    elif command -v sudo >/dev/null; then
        sudo apt-get install -y wrk >/dev/null
    fi
fi
command -v wrk >/dev/null || { echo "bench: wrk is required (Debian/Ubuntu: apt-get install wrk)" >&2; exit 1; }

bin=target/release

if [ "$(nproc)" -ge 2 ]; then
    pin_server=(taskset -c 0)
    pin_load=(taskset -c 1)
    pinning="server on CPU 0, wrk on CPU 1"
else
    pin_server=()
    pin_load=()
    pinning="one CPU: server and wrk share it"
fi
tick="$(getconf CLK_TCK)"

# The Redis rows' server: started below when a selected row uses it, pinned beside wrk (the
# server under test keeps its CPU to itself), without persistence, emptied before each run.
redis_port="${BENCH_REDIS_PORT:-16379}"
redis_url="redis://127.0.0.1:$redis_port/0"

# name | binary | environment | path | modes it runs in (empty: reused, distinct and mixed)
servers=(
    "bare axum|bare_axum||/open|reused distinct dpop"
    "bare axum, no token header|bare_axum||/open|reused"
    "axum + raw RSA check (floor)|axum_rsa_floor||/protected|"
    "axum + portcullis|axum_portcullis||/protected|"
    "axum + portcullis, cache off|axum_portcullis|BENCH_CACHE=off|/protected|"
    "actix + portcullis|actix_portcullis||/protected|"
    "axum + jwt-authorizer 0.15|axum_jwt_authorizer||/protected|"
    "actix + jsonwebtoken|actix_jsonwebtoken||/protected|"
    "axum + raw ES256 check (floor)|axum_es256_floor||/protected|dpop"
    "axum + portcullis, DPoP|axum_portcullis|BENCH_DPOP=required|/protected|dpop"
    "axum + portcullis + revocation mirror (Redis)|axum_portcullis|BENCH_REDIS_URL=$redis_url|/protected|reused"
    "axum + portcullis, DPoP, Redis replay store|axum_portcullis|BENCH_DPOP=required BENCH_REDIS_URL=$redis_url|/protected|dpop"
)
# More servers, `;`-separated in the same form, e.g. a build of another commit copied next to
# the others to compare against in the same run:
# BENCH_EXTRA='axum + portcullis @ a6dc318|axum_portcullis_before||/protected'
if [ -n "${BENCH_EXTRA:-}" ]; then
    IFS=';' read -ra extra_servers <<<"$BENCH_EXTRA"
    servers+=("${extra_servers[@]}")
fi

# Build only the servers this run uses (a BENCH_EXTRA binary is already built).
bins=(--bin mint --bin mint_proofs)
for entry in "${servers[@]}"; do
    IFS='|' read -r name binary _ _ _ <<<"$entry"
    if { [ "$name" = "bare axum" ] || [[ "$name" =~ $only ]]; } && [ -f "src/bin/$binary.rs" ]; then
        bins+=(--bin "$binary")
    fi
done
cargo build --release --quiet "${bins[@]}"
redis_pid=""
for entry in "${servers[@]}"; do
    IFS='|' read -r name _ envs _ _ <<<"$entry"
    if [[ "$envs" == *BENCH_REDIS_URL* ]] && [[ "$name" =~ $only ]] && [ -z "$redis_pid" ]; then
        command -v redis-server >/dev/null || { echo "bench: the Redis rows need redis-server" >&2; exit 1; }
        "${pin_load[@]}" redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >/dev/null 2>&1 &
        redis_pid=$!
        for _ in $(seq 50); do
            (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
            sleep 0.1
        done
    fi
done
if [ ! -s data/tokens.txt ] || [ ! -s data/dpop_token.txt ] || [ "$(wc -l < data/tokens.txt)" -lt "$BENCH_TOKENS" ]; then
    "$bin/mint"
fi
token="$(cat data/token.txt)"

# One HTTP/1.1 request over bash's /dev/tcp; prints the status code. With a third argument, a
# DPoP request: `Authorization: DPoP <token>` and that proof.
status() {
    local path="$1" auth="${2:-}" proof="${3:-}" headers=""
    if [ -n "$proof" ]; then
        headers="Authorization: DPoP $auth"$'\r\n'"DPoP: $proof"$'\r\n'
    elif [ -n "$auth" ]; then
        headers="Authorization: Bearer $auth"$'\r\n'
    fi
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n%sConnection: close\r\n\r\n' "$path" "$port" \
        "$headers" >&3
    local line
    IFS= read -r line <&3 || true
    exec 3<&- 3>&-
    echo "$line" | awk '{print $2}'
}

# The body of a GET over bash's /dev/tcp (empty when the route is not there).
body() {
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$1" "$port" >&3
    local response
    response="$(cat <&3)"
    exec 3<&- 3>&-
    case "$response" in
        "HTTP/1.1 200"*) printf '%s' "${response##*$'\r\n\r\n'}" ;;
    esac
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }
rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
to_us() { # wrk latency ("370.12us", "1.20ms", "1.02s") in µs
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else print n * 1000000 }'
}

# Raw results (one line per run) are kept next to the script for inspection.
mkdir -p results
results="results/$(date +%Y%m%d-%H%M%S).tsv"
: >"$results"
trap '[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true' EXIT

run_one() {
    local mode="$1" round="$2" name="$3" binary="$4" envs="$5" path="$6"
    # Bare axum has no token to vary.
    if { [ "$mode" = distinct ] || [ "$mode" = mixed ]; } && [ "$path" = /open ]; then
        return 0
    fi
    if [ "$mode" = dpop ]; then
        # Fresh proofs for this server: dated now, and each accepted once.
        BENCH_ADDR="127.0.0.1:$port" "$bin/mint_proofs"
    fi
    if [[ "$envs" == *BENCH_REDIS_URL* ]]; then
        # Each run starts from an empty Redis: no replay keys or revocations of earlier runs.
        printf 'FLUSHALL\r\n' | (exec 3<>"/dev/tcp/127.0.0.1/$redis_port"; cat >&3; head -c 5 <&3 >/dev/null)
    fi
    env $envs BENCH_ADDR="127.0.0.1:$port" "${pin_server[@]}" "$bin/$binary" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    sleep 0.5
    local idle
    idle="$(rss_kb "$pid" VmRSS)"
    # The route must do what it claims: accept the token, and (if protected) refuse no token.
    local ok
    if [ "$mode" = dpop ]; then
        ok="$(status "$path" "$(cat data/dpop_token.txt)" "$(cat data/dpop_sanity.txt)")"
    else
        ok="$(status "$path" "$token")"
    fi
    if [ "$path" = /protected ] && [ "$(status "$path")" != 401 ]; then ok="no-auth"; fi
    if [ "$ok" != 200 ]; then
        printf '%s\t%s\t%s\terror\tsanity check: %s\n' "$mode" "$name" "$round" "$ok" >>"$results"
        kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
        return
    fi
    local load=(-t1 -c"$conns" --latency) extra=()
    if [ "$mode" = distinct ]; then
        load+=(-s distinct.lua)
        extra=(-- data/tokens.txt)
    elif [ "$mode" = mixed ]; then
        load+=(-s mixed.lua)
        extra=(-- data/tokens.txt)
    elif [ "$mode" = dpop ]; then
        load+=(-s dpop.lua)
        extra=(-- data/dpop_token.txt data/dpop_proofs.txt)
    elif [[ "$name" != *"no token header"* ]]; then
        # Every server gets the same ~1 KB header, so the baseline parses it too.
        load+=(-H "Authorization: Bearer $token")
    fi
    local url="http://127.0.0.1:$port$path"
    local warm=("${extra[@]}")
    if [ "$mode" = dpop ]; then warm+=(warmup); fi
    "${pin_load[@]}" wrk "${load[@]}" -d"${warmup}s" "$url" "${warm[@]}" >/dev/null
    local before sys_before out
    before="$(cpu_ticks "$pid")"
    sys_before="$(sys_ticks "$pid")"
    out="$("${pin_load[@]}" wrk "${load[@]}" -d"${secs}s" "$url" "${extra[@]}")"
    local after sys_after peak
    after="$(cpu_ticks "$pid")"
    sys_after="$(sys_ticks "$pid")"
    peak="$(rss_kb "$pid" VmHWM)"
    # The verified-token cache at the end of the run (servers that report it: `GET /cache`,
    # "entries bytes"), kept for the summary.
    if [ "$mode" = mixed ]; then
        local usage
        usage="$(body /cache)"
        if [ -n "$usage" ]; then
            printf '%s	%s	%s	cache	%s
' "$mode" "$name" "$round" "$usage" >>"$results"
        fi
    fi
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
        printf '%s\t%s\t%s\terror\t%s\n' "$mode" "$name" "$round" "$(echo "$out" | grep "Non-2xx\|Socket errors" | tr -s ' ')" >>"$results"
        return
    fi
    local rps requests p50 p99
    rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
    requests="$(echo "$out" | awk '/requests in/ {print $1}')"
    p50="$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")"
    p99="$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")"
    local cpu sys
    cpu="$(awk -v t=$((after - before)) -v hz="$tick" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
    sys="$(awk -v t=$((sys_after - sys_before)) -v hz="$tick" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
    printf '%s\t%s\t%s\tok\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$name" "$round" "$rps" "$p50" "$p99" "$cpu" "$idle" "$peak" "$sys" >>"$results"
}

echo "bench: ${rounds} x ${secs} s per server after ${warmup} s warm-up, ${conns} connections, ${pinning}" >&2
for mode in $modes; do
    for round in $(seq "$rounds"); do
        # Alternate the order each round so drift (thermal, noisy neighbours) spreads evenly.
        order=("${servers[@]}")
        if [ $((round % 2)) = 0 ]; then
            order=()
            for ((i = ${#servers[@]} - 1; i >= 0; i--)); do order+=("${servers[$i]}"); done
        fi
        for entry in "${order[@]}"; do
            IFS='|' read -r name binary envs path runs_in <<<"$entry"
            if [ "$name" != "bare axum" ] && ! [[ "$name" =~ $only ]]; then
                continue
            fi
            if ! [[ " ${runs_in:-reused distinct mixed} " == *" $mode "* ]]; then
                continue
            fi
            echo "bench: $mode round $round: $name" >&2
            run_one "$mode" "$round" "$name" "$binary" "$envs" "$path"
        done
    done
done

# Medians per (mode, server); ratios to bare axum's median req/s in the same mode (the reused
# mode's for the distinct mode, where bare axum has no token to vary), same run.
awk -F'\t' '
function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$4 == "cache" && $5 !~ /^[0-9]+ [0-9]+$/ { next }
$4 == "cache" { split($5, u, " "); centries[$1 SUBSEP $2] = centries[$1 SUBSEP $2] " " u[1]; cbytes[$1 SUBSEP $2] = cbytes[$1 SUBSEP $2] " " u[2]; next }
$4 == "error" { err[$1 SUBSEP $2] = $5; if (!($1 SUBSEP $2 in seen)) { seen[$1 SUBSEP $2] = 1; order[++k] = $1 SUBSEP $2 } next }
{
    key = $1 SUBSEP $2
    if (!(key in seen)) { seen[key] = 1; order[++k] = key }
    rps[key] = rps[key] " " $5; p50[key] = p50[key] " " $6; p99[key] = p99[key] " " $7
    cpu[key] = cpu[key] " " $8; idle[key] = idle[key] " " $9; peak[key] = peak[key] " " $10
    sys[key] = sys[key] " " $11
}
END {
    reused = median(rps["reused" SUBSEP "bare axum"])
    printf "\n%-9s %-30s %10s %9s %9s %10s %10s %9s %9s %9s\n", "mode", "server", "req/s", "p50 µs", "p99 µs", "CPU µs/req", "of it sys", "idle MB", "peak MB", "x bare"
    for (i = 1; i <= k; i++) {
        split(order[i], kk, SUBSEP)
        if (order[i] in err) { printf "%-9s %-30s error: %s\n", kk[1], kk[2], err[order[i]]; continue }
        r = median(rps[order[i]])
        base = (kk[1] SUBSEP "bare axum") in seen ? median(rps[kk[1] SUBSEP "bare axum"]) : reused
        printf "%-9s %-30s %10.0f %9.0f %9.0f %10.1f %10.1f %9.1f %9.1f %8.3fx\n", kk[1], kk[2], r, median(p50[order[i]]), median(p99[order[i]]), median(cpu[order[i]]), median(sys[order[i]]), median(idle[order[i]]) / 1024, median(peak[order[i]]) / 1024, (base > 0 ? r / base : 0)
    }
    for (i = 1; i <= k; i++) {
        if (order[i] in centries) {
            split(order[i], kk, SUBSEP)
            printf "%-9s %-30s verified-token cache at the end: %d entries, %.1f MB\n", kk[1], kk[2], median(centries[order[i]]), median(cbytes[order[i]]) / 1048576
        }
    }
}' "$results"
if grep -q $'\terror\t' "$results"; then
    exit 1
fi
