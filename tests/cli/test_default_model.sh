#!/bin/sh
# tests/cli/test_default_model.sh — the bundled default model (models/default.gguf, made by
# tools/train/run.sh) loads, is the shape the project relies on, and really answers: greedy
# "What is 2 + 3?" gives 5 (through `run` with the ChatML prompt the model's own template
# renders, and through `chat`, which renders that template itself), and a weather question
# with a get_weather tool gives a parseable Qwen-style tool call. The model answers arithmetic
# after a worked step in a <think> block; the checks read the number after it.
# The prompts below are exactly what tools/train/chat.py renders (Qwen3's template).
. tests/cli/lib.sh
M=${EL_DEFAULT_MODEL:-models/default.gguf}

if [ ! -f "$M" ]; then
    no "$M is missing (tools/train/run.sh makes it)"
    finish
    exit 1
fi

# Committed size bound (the model must stay small enough to live in the repository).
size=$(wc -c <"$M")
if [ "$size" -le 31457280 ]; then ok; else no "$M is $size bytes, more than 30 MiB"; fi

run 0 "$BIN" info "$M"
has "qwen3"

# The answer part of a completion printed with --special: the text after a <think>...</think>
# block (the model writes its worked step for arithmetic there), up to <|im_end|>, without
# blank lines.
answer() {
    tr '\n' '\001' <"$1" | sed -e 's/.*<\/think>//; s/<|im_end|>.*//' | tr '\001' '\n' | sed '/^$/d'
}

# 1. arithmetic through `run` with the rendered prompt
printf '<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n' >"$T/p1.txt"
run 0 "$BIN" run -m "$M" -f "$T/p1.txt" --temp 0 -n 48 -t 2 --special
a=$(answer "$T/out" | head -n 1)
if [ "$a" = "5" ]; then ok; else no "run: 'What is 2 + 3?' answered '$a', want 5"; fi

# 2. the same question through `chat` (the runtime renders the template itself)
printf 'What is 2 + 3?\n' >"$T/in.txt"
"$BIN" chat -m "$M" --temp 0 -n 48 -t 2 <"$T/in.txt" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ]; then ok; else no "chat exited $rc: $(head -c 300 "$T/err")"; fi
# the last number printed is the answer (the worked step, if shown, comes before it)
last=$(grep -oE '[0-9]+' "$T/out" | tail -n 1)
if [ "$last" = "5" ]; then ok; else no "chat: last number is '$last' in '$(head -c 200 "$T/out" | tr '\n' ' ')', want 5"; fi

# 3. a weather question with a get_weather tool -> <tool_call> with valid JSON
cat >"$T/p2.txt" <<'EOF'
<|im_start|>system
# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}, "required": ["city"]}}}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
<|im_start|>user
What is the weather in Paris?<|im_end|>
<|im_start|>assistant
EOF
run 0 "$BIN" run -m "$M" -f "$T/p2.txt" --temp 0 -n 48 -t 2 --special
# the JSON between the tags, on one line
call=$(tr '\n' ' ' <"$T/out" | sed -n 's/.*<tool_call> *\(.*\) *<\/tool_call>.*/\1/p')
if [ -n "$call" ]; then ok; else no "no <tool_call>...</tool_call> in '$(head -c 300 "$T/out")'"; fi
if printf '%s' "$call" | grep -qE '^\{"name": *"get_weather", *"arguments": *\{"city": *"Paris"\}\} *$'; then
    ok
else
    no "tool call is '$call', want get_weather with {\"city\": \"Paris\"}"
fi
if command -v python3 >/dev/null 2>&1; then
    if printf '%s' "$call" | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o["name"]=="get_weather" and o["arguments"]=={"city":"Paris"}' 2>/dev/null; then
        ok
    else
        no "tool call does not parse as the expected JSON: '$call'"
    fi
fi

finish
