#!/bin/sh
# tests/cli/test_info.sh — `edgellm info` on the real test models: the header, the
# hyperparameters and tokenizer summary stories260K and llama-2-tiny-random are known to have
# (testdata/README.md), tensor listing, totals and the KV-cache arithmetic at a given context;
# a vocab-only file; the GGUF v1 rejection; a missing file and a non-GGUF file (one line on
# stderr, exit 1); bad flags (usage, exit 2); --cpu and EL_CPU_FEATURES.
# Env: EL_BIN (the edgellm binary, default build/edgellm), EL_TESTDATA (shared test data).
# Last line: "N passed, N failed".
. "$(dirname "$0")/lib.sh"

# row LABEL VALUE : the line starting with LABEL (after indentation) continues with VALUE
row() {
    if grep -E "^ *$1 " "$T/out" | grep -qF -- "$2"; then ok; else
        no "row '$1' should show '$2': $(grep -E "^ *$1 " "$T/out")"
    fi
}

# one_line_error TEXT : stderr is one line containing TEXT
one_line_error() {
    if [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qF -- "$1" "$T/err"; then ok; else
        no "stderr should be one line with '$1': $(cat "$T/err")"
    fi
}

# --- stories260K: header facts from testdata/README.md -------------------------------------
M="$DATA/models/stories260K.gguf"
run 0 "$BIN" info "$M"
has "GGUF v3, 19 keys, 48 tensors, alignment 32, data at byte 14176"
row arch llama
row block_count 5
row embedding_length 64
row feed_forward_length 172
row head_count 8
row head_count_kv "4  (GQA 2:1)"
row head_dim 8
row rope "dims 8, freq_base 10000 (default)"
row context_length 2048
row "norm eps" "1e-05 (RMSNorm)"
row vocab_size 512
row tokenizer "llama (SentencePiece)"
has "512 tokens"
has "bos 1 '<s>'"
has "eos 2 '</s>'"
has "unk 0 '<unk>'"
has "chat_template none"
row f32 "48 tensors"
# 292,800 parameters, all f32
row totals "292.80 K parameters, 1.12 MiB, 32.00 bits/weight"
# default context: context_length 2048 (under the 4096 cap);
# KV f16 = 2 * 5 layers * 2048 * 4 kv heads * 8 head_dim * 2 B = 1310720 B = 1.25 MiB
has "at context 2048"
row "KV cache" "1.25 MiB"
row weights "1.12 MiB (mmapped"
row total "MiB"
[ "$(wc -c <"$T/err")" -eq 0 ] && ok || no "nothing on stderr: $(cat "$T/err")"

# -c: 2 * 5 * 512 * 4 * 8 * 2 = 327680 B = 320 KiB
run 0 "$BIN" info -c 512 "$M"
has "at context 512"
row "KV cache" "320.00 KiB"
run 0 "$BIN" info "$M" --ctx-size 100000
row "KV cache" "61.04 MiB"

# --tensors: every tensor with type, shape and bytes (ffn_down is 172 x 64 f32 = 44032 B)
run 0 "$BIN" info --tensors "$M"
[ "$(grep -c '\.weight ' "$T/out")" -eq 48 ] && ok || no "--tensors should list 48 tensors"
grep -E '^ *blk\.4\.ffn_down\.weight +f32 +172 x 64 +44032$' "$T/out" >/dev/null && ok ||
    no "ffn_down row: $(grep ffn_down "$T/out" | tail -n 1)"
grep -E '^ *token_embd\.weight +f32 +64 x 512 +131072$' "$T/out" >/dev/null && ok ||
    no "token_embd row: $(grep token_embd "$T/out")"

# --- llama-2-tiny-random: F16, 32000-token vocab, context 4096 --------------------------------
M2="$DATA/models/llama-2-tiny-random.gguf"
run 0 "$BIN" info "$M2"
has "LLaMA v2  (file_type 1)"
row block_count 1
row head_count_kv 2
row head_dim 4
row context_length 4096
has "32000 tokens"
row f16 "9 tensors"
row f32 "3 tensors"
row totals "16.00 bits/weight"
# KV = 2 * 1 * 4096 * 2 * 4 * 2 = 131072 B
has "at context 4096"
row "KV cache" "128.00 KiB"

# --- vocab-only file: no tensors, no memory section -------------------------------------------
run 0 "$BIN" info "$DATA/tokenizer/ggml-vocab-gpt-2.gguf"
row tokenizer "gpt2 (byte-level BPE), pre gpt-2, 50257 tokens, 50000 merges"
has "none (vocab-only file)"
grep -q "^memory" "$T/out" && no "a vocab-only file has no memory estimate" || ok

# --- errors: one line on stderr, exit 1 ------------------------------------------------------
run 1 "$BIN" info "$DATA/models/legacy-gguf-v1/tinyllamas-stories-260k-f32.gguf"
one_line_error "GGUF version 1 is not supported (v2/v3 only; re-convert the model with a current llama.cpp) at byte 4"
[ "$(wc -c <"$T/out")" -eq 0 ] && ok || no "nothing on stdout for a rejected file"
run 1 "$BIN" info "$T/does-not-exist.gguf"
one_line_error "does-not-exist.gguf: No such file or directory"
printf 'not a model at all\n' >"$T/text.gguf"
run 1 "$BIN" info "$T/text.gguf"
one_line_error "bad magic"
head -c 5000 "$M" >"$T/cut.gguf"
run 1 "$BIN" info "$T/cut.gguf"
one_line_error "cut.gguf: "

# --- bad usage: exit 2 with the usage text --------------------------------------------------
run 2 "$BIN" info
grep -q "usage: edgellm info" "$T/err" && ok || no "usage on stderr"
run 2 "$BIN" info --bogus "$M"
grep -q "unknown option '--bogus'" "$T/err" && ok || no "names the bad flag: $(cat "$T/err")"
run 2 "$BIN" info -c 0 "$M"
run 2 "$BIN" info -c abc "$M"
run 2 "$BIN" info "$M" -c
run 2 "$BIN" info "$M" "$M2"
run 0 "$BIN" info --help
grep -q "usage: edgellm info" "$T/out" && ok || no "--help prints usage on stdout"

# --- CPU features ----------------------------------------------------------------------------
run 0 "$BIN" info --cpu
grep -qE '^cpu +(x86_64|aarch64|other).* \| level [a-z0-9]+ \(detected [a-z0-9]+\) \| [0-9]+ cores' "$T/out" && ok ||
    no "--cpu line: $(cat "$T/out")"
[ "$(wc -l <"$T/out")" -eq 1 ] && ok || no "--cpu alone prints one line"
run 0 env EL_CPU_FEATURES=scalar "$BIN" info --cpu
has "| level scalar"
run 0 env EL_CPU_FEATURES=bogus "$BIN" info --cpu
one_line_error "EL_CPU_FEATURES=bogus: unknown level"
run 0 "$BIN" info --cpu "$M"
grep -q "^cpu " "$T/out" && grep -q "^arch " "$T/out" && ok || no "--cpu with a file prints both"

# --- what the engine repacks at load (kernels/repack.h: q4_0 on any x86 SIMD level) ----------
"$BIN" synth -o "$T/rp.gguf" --preset tiny-llama --embd 256 --ffn 512 --type Q4_0 >/dev/null 2>&1
run 0 "$BIN" info "$T/rp.gguf"
case "$("$BIN" info --cpu)" in
*"level avx2"* | *"level avx512"*) has "repacked at load" ;;
*) hasnt "repacked at load" ;;
esac
run 0 env EL_REPACK=0 "$BIN" info "$T/rp.gguf"
hasnt "repacked at load"
run 0 env EL_CPU_FEATURES=scalar "$BIN" info "$T/rp.gguf"
hasnt "repacked at load"

finish
