#!/usr/bin/env bash
# Runs every fuzz target for N seconds (default 60) on the nightly toolchain, prints execs/s,
# coverage and corpus size per target, and exits non-zero if any target crashes, hangs (> 1 s
# per input) or runs out of memory. Usage: fuzz/run.sh [seconds-per-target] [target...]
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="artifacts/$t/last-run.log"
    # Fuzz into a working corpus (fuzz/work/, not committed) seeded from the committed one, so
    # runs build on each other and the committed seeds stay small; minimise into corpus/ with
    # `cargo +nightly fuzz cmin` (docs/fuzzing.md).
    scratch="work/$t"
    mkdir -p "$scratch"
    cp -n "corpus/$t"/* "$scratch"/ 2>/dev/null || true
    cargo +nightly fuzz run "$t" "$scratch" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -max_len=20000 -print_final_stats=1 >"$log" 2>&1
    status=$?
    execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -ao '[0-9]*$' | tail -1)
    rate=$(grep -ao 'exec/s: *[0-9]*' "$log" | grep -ao '[0-9]*$' | tail -1)
    cov=$(grep -ao 'cov: *[0-9]*' "$log" | grep -ao '[0-9]*$' | tail -1)
    # Coverage after loading the corpus, so the run's own finds show as "+new".
    start=$(grep -a 'INITED' "$log" | grep -ao 'cov: *[0-9]*' | grep -ao '[0-9]*$' | head -1)
    size=$(ls "$scratch" | wc -l)
    printf '%-20s %6ss  execs %-10s %6s exec/s  cov %-6s (+%s new)  corpus %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$(( ${cov:-0} - ${start:-0} ))" "$size"
    if [ $status -ne 0 ]; then
        echo "  $t FAILED (exit $status): see fuzz/$log and fuzz/artifacts/$t/" >&2
        failed=1
    fi
done
exit $failed
