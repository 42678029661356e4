#!/usr/bin/env bash
# A short run of each fuzz target (fuzz/README.md), so CI proves they build and survive
# arbitrary input: `scorecard` (arbitrary Arrow tables through the whole pipeline) and
# `partial_state` (hostile partial-state bytes through merge and combine). The long runs
# (30+ minutes each) are the documented commands there.
# Needs the nightly toolchain (cargo fuzz uses sanitizer flags stable rustc refuses).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
if ! rustup toolchain list 2>/dev/null | grep -q nightly; then
    echo "fuzz smoke skipped: no nightly toolchain on this machine"
    exit 0
fi
command -v cargo-fuzz >/dev/null || cargo install --quiet --locked cargo-fuzz
for target in scorecard partial_state; do
    echo "fuzz smoke: $target, ${seconds}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096 \
        -print_final_stats=1 2>&1 | grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|panicked" || true
    # cargo fuzz exits non-zero on a crash; re-run its status check on the artifacts.
    # (slow-unit-* files only flag slow inputs; crashes, OOMs, timeouts and leaks fail.)
    if compgen -G "artifacts/$target/[cotl][ricoe]*-*" >/dev/null; then
        echo "fuzz smoke: crash inputs in fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
