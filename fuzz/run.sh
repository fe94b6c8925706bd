#!/bin/sh
# Runs each fuzz target for a fixed time (default 180 s each) and prints its executions and
# crashes. Needs nightly and cargo-fuzz (`cargo install cargo-fuzz`).
#   fuzz/run.sh [SECONDS] [TARGET...]
# Crash inputs land in fuzz/artifacts/TARGET/; copy them to fuzz/regressions/TARGET/ so that
# `cargo test --test fuzz_regressions` replays them.
set -eu
cd "$(dirname "$0")"
secs=${1:-180}
[ $# -gt 0 ] && shift
targets=${*:-yaml hcl plan rules}
mkdir -p logs
for t in $targets; do
    mkdir -p "corpus/$t" "seeds/$t"
    # -rss_limit_mb and -timeout make a memory or time blow-up a crash, not a slow run.
    cargo +nightly fuzz run --sanitizer none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        >"logs/$t.log" 2>&1 || true
    execs=$(grep -o 'Done [0-9]* runs' "logs/$t.log" | tail -1 | grep -o '[0-9][0-9]*' || echo '?')
    crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
    echo "$t: $execs executions in ${secs}s, $crashes crash inputs"
done
