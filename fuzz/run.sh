#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, one after another (the machine may be small).
#
#   fuzz/run.sh [SECONDS]      default 60 seconds per target
#
# Seeds are made from the fixtures and the demo schema (fuzz/seeds, not committed); what a run
# finds goes in fuzz/corpus/TARGET (kept between runs, not committed). Before fuzzing, each
# target replays its regressions (fuzz/regressions/TARGET: inputs that once crashed it).
# A crash leaves its input in fuzz/artifacts/TARGET/ and makes this script fail; turn it into
# a regression test (see the README's "Fuzzing" section).
# Environment: FUZZ_TARGETS="a b" runs only those; FUZZ_JOBS=N runs N workers per target.
set -euo pipefail

seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
targets="${FUZZ_TARGETS:-json_to_message json_to_wire wire_to_json reflection_to_pool}"
jobs="${FUZZ_JOBS:-1}"

# The seeds, written by a unit test of the main crate that also checks each is accepted.
(cd "$root" && GRPCX_FUZZ_SEEDS_DIR="$here/seeds" cargo test --locked --quiet --lib \
    fuzzing::seeds >/dev/null)

cd "$here"
cargo +nightly fuzz build

failed=()
for target in $targets; do
    mkdir -p "corpus/$target" "seeds/$target" "regressions/$target" "artifacts/$target"
    echo "== $target: regressions"
    if [ -n "$(ls -A "regressions/$target")" ]; then
        if ! cargo +nightly fuzz run "$target" "regressions/$target" -- -runs=0 \
            -rss_limit_mb=2048 -timeout=10; then
            failed+=("$target (a regression came back)")
            continue
        fi
    fi
    echo "== $target: fuzzing for ${seconds}s"
    log="artifacts/$target/run.log"
    if ! cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 -detect_leaks=0 \
        -use_value_profile=1 -jobs="$jobs" -workers="$jobs" -print_final_stats=1 2>&1 | tee "$log"; then
        failed+=("$target")
    fi
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|cov: " "$log" | tail -3 || true
done

crashes="$(find artifacts -type f ! -name '*.log' 2>/dev/null || true)"
if [ ${#failed[@]} -gt 0 ] || [ -n "$crashes" ]; then
    echo "FAILED: ${failed[*]:-}" >&2
    [ -n "$crashes" ] && echo "inputs that crashed:" >&2 && echo "$crashes" >&2
    echo "reproduce: cargo +nightly fuzz run TARGET INPUT (from fuzz/)" >&2
    exit 1
fi
echo "no crashes"
