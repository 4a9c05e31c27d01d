#!/bin/sh
# tests/fuzz/seeds_tok.sh DIR — adds seed inputs for fuzz_tok to DIR: the 46 strings of
# llama.cpp's tokenizer test vectors (shared testdata, ggml-vocab-llama-spm.gguf.inp), each
# prefixed with a config byte (vocabulary in bits 0-1, add_special bit 2, parse_special
# bit 3) that cycles through all 16 combinations, plus a few chat-marker strings.
set -eu
dir=$1
root=${EL_TESTDATA:-../shared/testdata}
inp="$root/tokenizer/ggml-vocab-llama-spm.gguf.inp"
if [ ! -f "$inp" ]; then
    echo "seeds_tok: $inp missing, skipped" >&2
    exit 0
fi
python3 - "$inp" "$dir" <<'PY'
import sys
raw = open(sys.argv[1], "rb").read()
parts = raw.split(b"\n__ggml_vocab_test__\n")
parts += [b"<|im_start|>user\nhi<|im_end|>", b"<s>[INST] x [/INST]</s>", b"<|sp|> <u>ab\xc4\xa0a",
          b"\xf0\x9f\xa6\x99\xe2\x96\x81\xff\xc3", b"[CLS] Caf\xc3\xa9 \xe4\xb8\xad [SEP]"]
for i, p in enumerate(parts):
    with open("%s/seed-%03d" % (sys.argv[2], i), "wb") as f:
        f.write(bytes([i % 16]) + p)
PY
