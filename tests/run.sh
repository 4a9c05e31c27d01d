#!/bin/sh
# tests/run.sh — runs every test given (unit-test binaries and tests/cli/*.sh scripts), each
# under a time limit, and sums their "N passed, N failed" lines. A test that crashes, times
# out or prints no count counts as one failure. The last line is the total, and the exit
# status is non-zero when anything failed.
#   RUNNER   prefix for binaries (e.g. "qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu")
#   EL_TEST_TIMEOUT  seconds per test (default 600)
limit=${EL_TEST_TIMEOUT:-600}
total_p=0
total_f=0
log=$(mktemp)
for t in "$@"; do
    case "$t" in
    *.sh) cmd="sh $t" ;;
    *) cmd="${RUNNER:+$RUNNER }$t" ;;
    esac
    timeout "$limit" $cmd >"$log" 2>&1
    rc=$?
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(printf '%s\n' "$line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1/p')
    f=$(printf '%s\n' "$line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\2/p')
    [ -z "$p" ] && p=$(printf '%s\n' "$line" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1/p')
    [ -z "$f" ] && f=$(printf '%s\n' "$line" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\2/p')
    if [ -z "$p" ] || [ -z "$f" ]; then
        p=0
        f=1
        echo "FAIL $t: exit $rc, no result line"
        tail -n 30 "$log"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "FAIL $t: exit $rc after $line"
        tail -n 30 "$log"
    else
        [ "$f" -ne 0 ] && grep -E '^FAIL|ERROR|Sanitizer' "$log" | head -n 40
        echo "$(basename "$t"): $p passed, $f failed"
    fi
    total_p=$((total_p + p))
    total_f=$((total_f + f))
done
rm -f "$log"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
