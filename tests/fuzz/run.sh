#!/bin/sh
# tests/fuzz/run.sh SECONDS HARNESS... — runs each libFuzzer harness for SECONDS on a scratch
# copy of its seed corpus (tests/fuzz/corpus/<name>/, plus anything the harness's
# seeds script adds), and fails if any harness finds a crash, leak or timeout.
set -u
secs=$1
shift
rc=0
for h in "$@"; do
    name=$(basename "$h")
    name=${name#fuzz_}
    work=$(mktemp -d)
    [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/" 2>/dev/null
    [ -f "tests/fuzz/seeds_$name.sh" ] && sh "tests/fuzz/seeds_$name.sh" "$work"
    echo "fuzz $name: ${secs}s, $(ls "$work" | wc -l) seeds"
    if ! "$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
        echo "FAIL fuzz $name:"
        tail -n 40 "$work.log"
        rc=1
    else
        grep -E '^#[0-9]+.*DONE' "$work.log" | tail -n 1
    fi
    rm -rf "$work" "$work.log"
done
exit $rc
