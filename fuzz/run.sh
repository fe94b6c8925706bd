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
targets=${*:-yaml hcl plan rules admission}
mkdir -p logs
# Seeds: the project's own samples and rules, taken fresh on every run so they never go stale
# (seeds/TARGET holds only hand-written extras, such as a small plan).
tree_seeds() { # $1: target; prints the files of the tree that seed it
    case $1 in
        yaml) find ../samples -name '*.yaml' ;;
        hcl) find ../samples -name '*.tf' ;;
        plan) find ../samples -name '*.plan.json' ;;
        rules) find ../rules -name '*.rego' ;;
        admission) ;; # seeds/admission holds reviews written for it
    esac
}
for t in $targets; do
    mkdir -p "corpus/$t" "seeds/$t"
    rm -rf "tree-seeds/$t" && mkdir -p "tree-seeds/$t"
    tree_seeds "$t" | while read -r f; do
        cp "$f" "tree-seeds/$t/$(echo "${f#../}" | tr / _)"
    done
    # -rss_limit_mb and -timeout make a memory or time blow-up a crash, not a slow run.
    cargo +nightly fuzz run --sanitizer none "$t" "corpus/$t" "tree-seeds/$t" "seeds/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        >"logs/$t.log" 2>&1 || true
    execs=$(grep -o 'Done [0-9]* runs' "logs/$t.log" | tail -1 | grep -o '[0-9][0-9]*' || echo '?')
    crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
    echo "$t: $execs executions in ${secs}s, $crashes crash inputs"
done
