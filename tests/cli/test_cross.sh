#!/bin/sh
# tests/cli/test_cross.sh — the aarch64 kernel tests (NEON, dotprod, i8mm against the scalar
# reference) cross-built and run under qemu-aarch64 -cpu max, as part of `make test` whenever
# the cross tools are installed (tools/deps.sh installs them; .ci/run also runs `make cross`
# by itself). Without the tools it says so and counts nothing; so does a sanitizer or other
# variant run of the suite (EL_BUILD other than build/), which the plain run already covered.
# Env: EL_TESTDATA (shared test data), EL_BUILD (the build folder of the suite).
case "${EL_BUILD:-build}" in
build | ./build) ;;
*)
    echo "test_cross: run by the plain suite only (this is $EL_BUILD): skipped"
    echo "0 passed, 0 failed"
    exit 0
    ;;
esac
if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || ! command -v qemu-aarch64 >/dev/null 2>&1; then
    echo "test_cross: aarch64-linux-gnu-gcc or qemu-aarch64 is not installed (make deps): skipped"
    echo "0 passed, 0 failed"
    exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# a clean make environment: a parent make's command-line variables (a sanitizer build's SAN,
# OPT, BUILD) must not leak into the cross build
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
    make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" cross TESTDATA="${EL_TESTDATA:-../shared/testdata}" >"$log" 2>&1
rc=$?
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    grep -E 'FAIL|rror' "$log" | head -n 40
    tail -n 20 "$log"
    echo "FAIL make cross: exit $rc"
    echo "${line:-0 passed, 1 failed}" | sed 's/ 0 failed$/ 1 failed/'
    exit 1
fi
grep -E '^test_[a-z_]+: [0-9]+ passed' "$log"
echo "$line"
