# tests/cli/lib.sh — shared by the tests/cli/test_*.sh scripts (sourced, not run).
# Env: EL_BIN (the edgellm binary, default build/edgellm), EL_TESTDATA (shared test data).
# Provides: $BIN, $DATA, a scratch folder $T (removed at exit), counters and
#   ok / no MSG          count a pass / a failure (with its message)
#   run WANT_RC CMD...   run CMD, stdout in $T/out, stderr in $T/err, check the exit status
#   has TEXT / hasnt TEXT   stdout contains / does not contain the fixed string
#   err_has TEXT         stderr contains the fixed string
#   one_line_err         stderr is exactly one line
#   finish               prints "N passed, N failed" and exits non-zero on failures
BIN=${EL_BIN:-build/edgellm}
DATA=${EL_TESTDATA:-../shared/testdata}
T=$(mktemp -d "${TMPDIR:-/tmp}/edgellm-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
no() {
    fail=$((fail + 1))
    echo "FAIL $*"
}
run() {
    want=$1
    shift
    "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else no "exit $rc (want $want): $*: $(head -c 300 "$T/err")"; fi
}
has() { if grep -qF -- "$1" "$T/out"; then ok; else no "stdout should contain '$1': $(head -c 300 "$T/out")"; fi; }
hasnt() { if grep -qF -- "$1" "$T/out"; then no "stdout should not contain '$1'"; else ok; fi; }
err_has() { if grep -qF -- "$1" "$T/err"; then ok; else no "stderr should contain '$1': $(head -c 300 "$T/err")"; fi; }
one_line_err() {
    n=$(wc -l <"$T/err")
    if [ "$n" -eq 1 ]; then ok; else no "stderr should be one line, is $n: $(head -c 300 "$T/err")"; fi
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
