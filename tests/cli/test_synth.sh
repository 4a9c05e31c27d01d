#!/bin/sh
# tests/cli/test_synth.sh — `edgellm synth`: makes tiny models of each architecture, reads
# them back with `edgellm info`, checks determinism by bytes, and that bad flags and
# impossible shapes fail with one line and exit 2 (a failed write: exit 1).
# Env: EL_BIN (the edgellm binary, default build/edgellm), EL_TESTDATA (shared test data).
# Last line: "N passed, N failed".
. "$(dirname "$0")/lib.sh"

# expect_rc WANT CMD... : runs CMD, checks the exit status; output in $T/out, $T/err
expect_rc() { run "$@"; }

# expect_err WANT_SUBSTRING CMD... : exit 2, exactly one line on stderr that names the problem
expect_err() {
    needle=$1
    shift
    expect_rc 2 "$@"
    lines=$(wc -l <"$T/err")
    if [ "$lines" -eq 1 ] && grep -q -- "$needle" "$T/err"; then ok; else
        no "stderr of '$*' should be one line with '$needle': $(cat "$T/err")"
    fi
}

# --- each architecture, a few types; info reads them back ---
for arch in llama qwen2 qwen3; do
    for type in F32 F16 Q8_0 Q4_K_M; do
        f="$T/$arch-$type.gguf"
        expect_rc 0 "$BIN" synth -o "$f" --arch "$arch" --type "$type"
        [ -s "$f" ] && ok || no "$f not written"
        grep -q "wrote $f" "$T/out" && ok || no "synth should say what it wrote: $(cat "$T/out")"
        expect_rc 0 "$BIN" info "$f"
        grep -qi "$arch" "$T/out" && ok || no "info on $f does not mention $arch"
    done
done

# --- shape flags are honoured (read back with info --tensors) ---
f="$T/shape.gguf"
expect_rc 0 "$BIN" synth -o "$f" --arch qwen2 --layers 3 --embd 96 --heads 6 --kv-heads 2 \
    --ffn 160 --vocab 500 --ctx 1024 --untied --type F16
expect_rc 0 "$BIN" info --tensors "$f"
grep -q "blk.2.attn_q.bias" "$T/out" && ok || no "3 layers of qwen2 with biases"
grep -q "blk.3." "$T/out" && no "only 3 layers wanted" || ok
grep -q "output.weight" "$T/out" && ok || no "--untied should write output.weight"

# --- a real vocabulary copied from a vocab GGUF ---
f="$T/gpt2.gguf"
expect_rc 0 "$BIN" synth -o "$f" --preset tiny-llama --layers 1 \
    --tokenizer "$DATA/tokenizer/ggml-vocab-gpt-2.gguf"
expect_rc 0 "$BIN" info "$f"
grep -q "50257" "$T/out" && ok || no "info should show the gpt-2 vocab size 50257"

# --- determinism: same seed same bytes, other seed other bytes ---
expect_rc 0 "$BIN" synth -o "$T/a.gguf" --arch qwen3 --type Q4_0 --seed 7
expect_rc 0 "$BIN" synth -o "$T/b.gguf" --arch qwen3 --type Q4_0 --seed 7 --threads 2
expect_rc 0 "$BIN" synth -o "$T/c.gguf" --arch qwen3 --type Q4_0 --seed 8
cmp -s "$T/a.gguf" "$T/b.gguf" && ok || no "same seed must give identical files"
cmp -s "$T/a.gguf" "$T/c.gguf" && no "different seeds must differ" || ok

# --- help and errors ---
expect_rc 0 "$BIN" synth --help
grep -q "qwen2.5-0.5b" "$T/out" && grep -q "llama-3.2-1b" "$T/out" && ok || no "help lists presets"
expect_err "no output" "$BIN" synth --arch llama
expect_err "unknown option" "$BIN" synth -o "$T/x.gguf" --bogus 1
expect_err "unknown type" "$BIN" synth -o "$T/x.gguf" --type Q9_9
expect_err "unknown architecture" "$BIN" synth -o "$T/x.gguf" --arch gpt2
expect_err "unknown preset" "$BIN" synth -o "$T/x.gguf" --preset nope
expect_err "divide embd" "$BIN" synth -o "$T/x.gguf" --heads 3 --kv-heads 1
expect_err "kv-heads" "$BIN" synth -o "$T/x.gguf" --heads 4 --kv-heads 3
expect_err "multiple of 32" "$BIN" synth -o "$T/x.gguf" --embd 48 --heads 4 --kv-heads 2 --type Q4_0
expect_err "--layers" "$BIN" synth -o "$T/x.gguf" --layers 0
expect_err "--layers" "$BIN" synth -o "$T/x.gguf" --layers abc
expect_err "--embd" "$BIN" synth -o "$T/x.gguf" --embd 99999999
expect_err "needs a value" "$BIN" synth -o "$T/x.gguf" --layers
expect_err "llama3" "$BIN" synth -o "$T/x.gguf" --arch qwen2 --rope-scaling llama3
expect_rc 0 "$BIN" synth -o "$T/q.gguf" --preset llama-3.2-1b --arch qwen2 --layers 1 --vocab 300 --embd 128 --heads 2 --kv-heads 2 --ffn 64
expect_err "--rope-scaling" "$BIN" synth -o "$T/x.gguf" --rope-scaling yarn
expect_err "--tokenizer" "$BIN" synth -o "$T/x.gguf" --tokenizer /nonexistent/tok.gguf
expect_err "too small" "$BIN" synth -o "$T/x.gguf" --vocab 100
[ -e "$T/x.gguf" ] && no "a failed synth must not leave a file" || ok
expect_rc 1 "$BIN" synth -o /nonexistent-dir/x.gguf
[ "$(wc -l <"$T/err")" -eq 1 ] && ok || no "write failure: one line: $(cat "$T/err")"

finish
