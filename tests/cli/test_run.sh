#!/bin/sh
# tests/cli/test_run.sh — the generation commands end to end on real files:
#   run: greedy text of stories260K equals llama2.c's expected output (from BOS, 200 tokens),
#        --json lines parse and carry logprobs, stop strings, -n, bad flags;
#   perplexity: the number llama-perplexity printed for the same file and flags (golden);
#   chat: a ChatML model renders its template, answers, and keeps the cache between turns;
#   bench: the table has pp and tg rows; --membw prints a bandwidth; peak RSS stays within
#          file + KV cache + 64 MiB on a repacked model.
. "$(dirname "$0")/lib.sh"
S="$DATA/models/stories260K.gguf"

# greedy from BOS: llama2.c prints the first piece without its leading space
run 0 "$BIN" run -m "$S" -p "" -n 200 --temp 0 -t 1
sed '1s/^ //' "$T/out" >"$T/got"
if cmp -s "$T/got" "$DATA/expected/stories260K.llama2c-greedy200.txt"; then ok; else
    no "greedy text differs from llama2.c's: $(head -c 200 "$T/got")"
fi
err_has "generation: 200 tokens"

# --json: one object per token, ids match the reference token file
run 0 "$BIN" run -m "$S" -p "" -n 5 --temp 0 --json --top-logprobs 3
n=$(grep -c '^{"id":' "$T/out")
[ "$n" -eq 5 ] && ok || no "--json printed $n token lines, want 5"
ids=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' "$T/out" | tr '\n' ' ')
want=$(cut -d' ' -f2-6 "$DATA/expected/stories260K.greedy200.tokens.txt")
[ "$ids" = "$want " ] && ok || no "--json ids '$ids' want '$want'"
has '"top_logprobs":[{"id":'
has '"logprob":-'

# stop string: generation ends before it, stop reason reported
run 0 "$BIN" run -m "$S" -p "Once upon a time" -n 100 --temp 0 -r "girl"
hasnt "girl"
err_has "stop: stop"
# sampling with a seed is reproducible
run 0 "$BIN" run -m "$S" -p "Once" -n 30 --temp 0.9 -s 42
cp "$T/out" "$T/a"
run 0 "$BIN" run -m "$S" -p "Once" -n 30 --temp 0.9 -s 42
cmp -s "$T/out" "$T/a" && ok || no "same seed gave different text"

# bad input: one line, exit 2 / 1
run 2 "$BIN" run -m "$S" -p x -n abc
one_line_err
run 2 "$BIN" run -m "$S" --temp -1
one_line_err
run 2 "$BIN" run -m "$S" --bogus
run 1 "$BIN" run -m "$T/missing.gguf" -p x
one_line_err
run 1 "$BIN" run -m "$S" -c 8 -p "Once upon a time there was a little girl who"
err_has "does not fit the context"

# perplexity: llama-perplexity (llama.cpp 1eeb523c) printed
#   "Final estimate: PPL = 6.6859 +/- 0.71773"
# for `-m stories260K.gguf -f text/tinystories_sample.txt -c 128 -b 128 -t 1`
run 0 "$BIN" perplexity -m "$S" -f "$DATA/text/tinystories_sample.txt" -c 128 -b 128 -t 1
ppl=$(sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- .*/\1/p' "$T/out")
awk -v p="$ppl" 'BEGIN { exit !(p > 6.675 && p < 6.697) }' && ok || no "perplexity $ppl, llama.cpp 6.6859"
has "[14]"
# several chunks side by side in one batch give the same number
run 0 "$BIN" perplexity -m "$S" -f "$DATA/text/tinystories_sample.txt" -c 128 -b 512
ppl2=$(sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- .*/\1/p' "$T/out")
awk -v p="$ppl" -v q="$ppl2" 'BEGIN { d = p - q; exit !(d < 0.002 && d > -0.002) }' && ok || no "-b 512 gave $ppl2 vs $ppl"
run 1 "$BIN" perplexity -m "$S" -f "$DATA/text/tinystories_sample.txt" -c 2048
err_has "you need at least"

# chat on a synthesized qwen3 (ChatML template): two turns, the second reuses the cache
run 0 "$BIN" synth --preset tiny-qwen3 -o "$T/q3.gguf"
printf 'hello\nhow are you\n/exit\n' | "$BIN" chat -m "$T/q3.gguf" -n 8 --temp 0 >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && ok || no "chat failed: $(head -c 300 "$T/err")"
grep -q "reused" "$T/err" && ok || no "second chat turn did not reuse the cache: $(tail -n 2 "$T/err")"
# Ctrl-C stops the answer, not the program: the chat goes on to the next prompt
mkfifo "$T/in"
"$BIN" chat -m "$T/q3.gguf" -n -1 --ignore-eos -c 16384 <"$T/in" >"$T/out" 2>"$T/err" &
pid=$!
exec 3>"$T/in"
echo "hello" >&3
sleep 1
kill -INT "$pid"
sleep 0.5
echo "/exit" >&3
exec 3>&-
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] && ok || no "chat after Ctrl-C exited $rc: $(tail -c 300 "$T/err")"
has "(stopped)"
err_has "stop: interrupted"
# a model without a template cannot chat: one clear line
printf 'hi\n' | "$BIN" chat -m "$S" >"$T/out" 2>"$T/err"
[ $? -eq 1 ] && ok || no "chat without template should exit 1"
err_has "chat template"

# bench: llama-bench-shaped table
run 0 "$BIN" bench -m "$S" -p 32 -n 8 -r 2 -t 1 --no-membw
has " pp32 |"
has " tg8 |"
run 0 "$BIN" bench -m "$S" -p 0 -n 8 -r 2 -t 1 -o json
has '"n_gen": 8'
run 0 "$BIN" bench --membw -t 1
has "| read GB/s |"
run 2 "$BIN" bench -m "$S" -o yaml
# the memory goal, on an 88 MiB SmolLM-shaped Q4_0 file (repacked at load on x86): peak
# RSS within file + KV cache + 64 MiB, which a second copy of the weights would break
"$BIN" synth -o "$T/mem.gguf" --preset smollm-135m --type Q4_0 --tied -t 2 >/dev/null 2>&1
run 0 "$BIN" bench -m "$T/mem.gguf" -p 128 -n 16 -r 1 -t 1 --no-membw
has "mem.gguf: peak RSS"
extra=$(sed -n 's/.*largest KV cache [0-9.]* MiB +\([0-9.]*\) MiB$/\1/p' "$T/out")
if [ -n "$extra" ] && awk -v e="$extra" 'BEGIN { exit !(e < 64) }'; then ok; else
    no "peak RSS beyond file + KV cache: '${extra:-?}' MiB (want < 64): $(tail -n 1 "$T/out")"
fi
finish
