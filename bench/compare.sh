#!/bin/sh
# bench/compare.sh — edgellm against a reference llama-bench on the same GGUF files, thread
# counts and tests, run alternately in one go (so both see the same machine state), printed
# as ratios. Without a reference it still runs edgellm's side.
#
#   LLAMA_BENCH=/path/to/llama-bench bench/compare.sh [-m a.gguf,b.gguf] [-t 1,2] [-p 512]
#       [-n 128] [-d 0,4096] [-r 3] [--rounds 2]
#
# Each (model, threads, test) is measured ROUNDS times per runtime, alternating edgellm and
# llama-bench, each run with -r repetitions; the figure kept per runtime is the best round's
# mean (the least disturbed by other load). The ratio is edgellm / llama.cpp.
# Env: EDGELLM (binary, default ./edgellm), LLAMA_BENCH (reference llama-bench, optional).
set -u
EL=${EDGELLM:-./edgellm}
REF=${LLAMA_BENCH:-}
models=""
threads=$(nproc 2>/dev/null || echo 1)
pp=512
tg=128
depths=0
reps=3
rounds=2
while [ $# -gt 0 ]; do
    case "$1" in
    -m) models=$2; shift 2 ;;
    -t) threads=$2; shift 2 ;;
    -p) pp=$2; shift 2 ;;
    -n) tg=$2; shift 2 ;;
    -d) depths=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [ -z "$models" ]; then
    echo "compare.sh: give -m model.gguf[,model2.gguf]" >&2
    exit 2
fi
[ -x "$EL" ] || { echo "compare.sh: $EL is not built (make)" >&2; exit 2; }
if [ -n "$REF" ] && [ ! -x "$REF" ]; then
    echo "compare.sh: LLAMA_BENCH=$REF is not executable" >&2
    exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ts_of CSVFILE RUNTIME: the avg_ts column of the first data row
col_of() {
    awk -F, -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) { h = $i; gsub(/"/, "", h); if (h == col) c = i } next }
        NR == 2 { v = $c; gsub(/"/, "", v); print v; exit }' "$1"
}
ts_of() {
    awk -F, -v col="avg_ts" 'NR == 1 { for (i = 1; i <= NF; i++) { h = $i; gsub(/"/, "", h); if (h == col) c = i } next }
        NR == 2 { v = $c; gsub(/"/, "", v); print v; exit }' "$1"
}
best() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print b; else if (b == "") print a; else print (b > a ? b : a) }'; }

if [ -n "$REF" ]; then echo "reference: $REF"; fi
echo "edgellm:   $EL ($("$EL" info --cpu 2>/dev/null | head -n 1))"
echo
printf '| %-28s | %-14s | %7s | %12s | %12s | %7s |\n' model test threads edgellm llama.cpp ratio
printf '| %-28s | %-14s | %7s | %12s | %12s | %7s |\n' "----------------------------" "--------------" "------:" "-----------:" "-----------:" "------:"
IFS_SAVE=$IFS
for m in $(echo "$models" | tr ',' ' '); do
    for t in $(echo "$threads" | tr ',' ' '); do
        for d in $(echo "$depths" | tr ',' ' '); do
            for kind in pp tg; do
                if [ "$kind" = pp ]; then n=$pp; args="-p $pp -n 0"; else n=$tg; args="-p 0 -n $tg"; fi
                [ "$n" -eq 0 ] && continue
                [ "$kind" = pp ] && [ "$d" -ne 0 ] && continue
                ours=""
                theirs=""
                r=0
                while [ "$r" -lt "$rounds" ]; do
                    "$EL" bench -m "$m" $args -d "$d" -t "$t" -r "$reps" -o csv --no-membw >"$tmp/e.csv" 2>"$tmp/e.err" ||
                        { echo "edgellm bench failed: $(head -c 300 "$tmp/e.err")" >&2; exit 1; }
                    ours=$(best "$ours" "$(ts_of "$tmp/e.csv")")
                    if [ -n "$REF" ]; then
                        "$REF" -m "$m" $args -d "$d" -t "$t" -r "$reps" -o csv >"$tmp/l.csv" 2>"$tmp/l.err" ||
                            { echo "llama-bench failed: $(head -c 300 "$tmp/l.err")" >&2; exit 1; }
                        theirs=$(best "$theirs" "$(ts_of "$tmp/l.csv")")
                    fi
                    r=$((r + 1))
                done
                test="$kind$n"
                [ "$d" -ne 0 ] && test="$test @ d$d"
                if [ -n "$theirs" ]; then
                    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
                    theirs=$(awk -v b="$theirs" 'BEGIN { printf "%.2f", b }')
                else
                    theirs="-"
                    ratio="-"
                fi
                printf '| %-28.28s | %-14s | %7s | %12.2f | %12s | %7s |\n' "$(basename "$m")" "$test" "$t" "$ours" "$theirs" "$ratio"
            done
        done
    done
done
IFS=$IFS_SAVE
if [ -n "$REF" ] && [ -f "$tmp/l.csv" ]; then
    echo
    echo "llama.cpp build $(col_of "$tmp/l.csv" build_commit) ($(col_of "$tmp/l.csv" build_number)); ratio = edgellm / llama.cpp"
fi
