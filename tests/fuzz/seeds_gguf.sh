#!/bin/sh
# tests/fuzz/seeds_gguf.sh DIR — adds seed inputs for fuzz_gguf to DIR: the real GGUF files of
# the shared testdata that are small enough to mutate quickly (about 1 MiB or less: the
# stories260K model and three vocab-only files). The hand-made seeds in
# tests/fuzz/corpus/gguf/ are copied by tests/fuzz/run.sh itself; they were written once with
# a throw-away Python script (struct.pack of the GGUF v2/v3 layout) and are:
#   empty-v3.gguf        header only: v3, 0 tensors, 0 keys
#   empty-v2.gguf        the same as version 2
#   values.gguf          one key of every scalar type, a string, a string array, an empty
#                        array and a nested array of int32 / string arrays
#   tensors.gguf         general.alignment 64, an f32 [4,2] and a q8_0 [32] tensor
#   deep.gguf            arrays nested 16 deep (the reader's limit)
set -eu
dir=$1
root=${EL_TESTDATA:-../shared/testdata}
for f in models/stories260K.gguf tokenizer/ggml-vocab-bert-bge.gguf \
    tokenizer/ggml-vocab-llama-spm.gguf tokenizer/ggml-vocab-phi-3.gguf; do
    if [ -f "$root/$f" ]; then
        cp "$root/$f" "$dir/$(basename "$f")"
    else
        echo "seeds_gguf: $root/$f missing, skipped" >&2
    fi
done
