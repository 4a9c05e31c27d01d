#!/bin/sh
# tests/cli/test_quantize.sh — `edgellm quantize` on the real stories260K model: the per-tensor
# mix it reports, that the files it writes read back with the types it reported (re-quantizing
# to the same type converts nothing), determinism across thread counts, a Q8_0 -> F32 -> Q8_0
# round trip that gives the same bytes, and one-line errors with exit 2 (usage) or 1 (I/O).
# Env: EL_BIN (the edgellm binary, default build/edgellm), EL_TESTDATA (shared test data).
# Last line: "N passed, N failed".
. "$(dirname "$0")/lib.sh"
MODEL="$DATA/models/stories260K.gguf"

# line_has TENSOR TEXT : the per-tensor line of TENSOR in $T/out contains TEXT
line_has() {
    if grep -E "\] $1 " "$T/out" | grep -q -- "$2"; then ok; else
        no "line of $1 should contain '$2': $(grep -E "\] $1 " "$T/out")"
    fi
}

# one_line_error NEEDLE : $T/err is exactly one line and mentions NEEDLE
one_line_error() {
    if [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q -- "$1" "$T/err"; then ok; else
        no "stderr should be one line with '$1': $(cat "$T/err")"
    fi
}

if [ ! -f "$MODEL" ]; then
    echo "FAIL $MODEL not found (set EL_TESTDATA)"
    echo "0 passed, 1 failed"
    exit 1
fi

# --- Q4_K_M: llama-quantize's mix on a 5-layer model with 64-wide rows ---
run 0 "$BIN" quantize "$MODEL" "$T/q4km.gguf" Q4_K_M
[ -s "$T/q4km.gguf" ] && ok || no "Q4_K_M file not written"
# output.weight gets Q8_0 straight away when its rows do not fit 256-blocks (else Q6_K)
line_has output.weight "q8_0"
# 1-D norms are never quantized
line_has output_norm.weight "(same)"
line_has blk.3.ffn_norm.weight "(same)"
# ffn_down rows are 172 wide: no block size fits, F16
line_has blk.0.ffn_down.weight "f16"
# with 5 layers, attn_v of layers 2 and 4 get more bits (Q6_K, which falls back to Q8_0 for
# 64-wide rows); the others get Q4_K's fallback Q5_0
line_has blk.2.attn_v.weight "q8_0"
line_has blk.4.attn_v.weight "q8_0"
line_has blk.1.attn_v.weight "q5_0"
line_has blk.1.attn_v.weight "fallback"
line_has blk.2.attn_q.weight "q5_0"
grep -q "48 tensors" "$T/out" && ok || no "summary line: $(tail -n 1 "$T/out")"
in_size=$(wc -c <"$MODEL")
out_size=$(wc -c <"$T/q4km.gguf")
[ "$out_size" -lt $((in_size / 3)) ] && ok || no "Q4_K_M should be < 1/3 of F32 ($out_size vs $in_size)"

# the file holds what was reported: quantizing it again to Q4_K_M converts nothing
run 0 "$BIN" quantize "$T/q4km.gguf" "$T/q4km2.gguf" Q4_K_M --quiet
grep -q "0 converted" "$T/out" && ok || no "re-quantizing Q4_K_M should convert nothing: $(cat "$T/out")"
cmp -s "$T/q4km.gguf" "$T/q4km2.gguf" && ok || no "Q4_K_M -> Q4_K_M should be the same file"

# --- determinism across thread counts ---
run 0 "$BIN" quantize "$MODEL" "$T/q8a.gguf" Q8_0 --threads 1 -q
run 0 "$BIN" quantize "$MODEL" "$T/q8b.gguf" Q8_0 -t 3 -q
cmp -s "$T/q8a.gguf" "$T/q8b.gguf" && ok || no "1 and 3 threads should give the same bytes"

# --- round trip: Q8_0 -> F32 -> Q8_0 is the same file (Q8_0 of its own dequantization is
# itself; F16 fallbacks widen and narrow exactly; metadata order is kept) ---
run 0 "$BIN" quantize "$T/q8a.gguf" "$T/f32.gguf" F32 -q
run 0 "$BIN" quantize "$T/f32.gguf" "$T/q8c.gguf" Q8_0 -q
cmp -s "$T/q8a.gguf" "$T/q8c.gguf" && ok || no "Q8_0 -> F32 -> Q8_0 should give identical bytes"

# --- every type the command lists runs and shrinks (or keeps) the model ---
for type in Q4_0 Q4_1 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q5_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS \
    MXFP4_MOE F16 BF16 q4_k; do
    run 0 "$BIN" quantize "$MODEL" "$T/$type.gguf" "$type" -q
    [ -s "$T/$type.gguf" ] && [ "$(wc -c <"$T/$type.gguf")" -le "$in_size" ] && ok ||
        no "$type: no output or larger than the F32 input"
done
# F16 keeps norms F32 and halves the rest
run 0 "$BIN" quantize "$MODEL" "$T/f16.gguf" F16
line_has token_embd.weight "f16"
line_has blk.0.attn_norm.weight "(same)"

# --- help and errors ---
run 0 "$BIN" quantize --help
grep -q "Q4_K_M" "$T/out" && ok || no "help should list the types"
run 2 "$BIN" quantize
run 2 "$BIN" quantize "$MODEL" "$T/x.gguf"
run 2 "$BIN" quantize "$MODEL" "$T/x.gguf" Q9_9
one_line_error "unknown type"
run 2 "$BIN" quantize "$MODEL" "$T/x.gguf" Q4_0 --bogus
run 2 "$BIN" quantize "$MODEL" "$T/x.gguf" Q4_0 --threads 0
one_line_error "threads"
run 2 "$BIN" quantize "$MODEL" "$T/x.gguf" Q4_0 --threads
run 1 "$BIN" quantize "$T/does-not-exist.gguf" "$T/x.gguf" Q4_0
one_line_error "does-not-exist"
printf 'GGUF but not really' >"$T/junk.gguf"
run 1 "$BIN" quantize "$T/junk.gguf" "$T/x.gguf" Q4_0
[ -e "$T/x.gguf" ] && no "failed runs must not leave an output file" || ok
run 1 "$BIN" quantize "$MODEL" "$T/no/such/dir/x.gguf" Q4_0

finish
