#!/bin/sh
# tests/fuzz/seeds_toolcall.sh DIR — seeds for fuzz_toolcall: byte 0 picks the family
# (value mod 3: 0 hermes, 1 llama3, 2 mistral) and how the text is cut; the rest is model output.
d=$1
i=0
seed() {
    i=$((i + 1))
    printf '%s%s' "$1" "$2" >"$d/out-$i"
}
seed 'c' 'Sure.<tool_call>
{"name": "get_weather", "arguments": {"city": "Paris"}}
</tool_call>'
seed 'f' '<think>
plan
</think>

<tool_call>{"arguments": {}, "name": "f"}</tool_call> done'
seed 'a' '<|python_tag|>{"name": "get_time", "parameters": {"tz": "UTC"}}'
seed 'd' '{"name": "x"} and text'
seed 'b' '[TOOL_CALLS][{"name": "a", "arguments": {"x": [1, "]"]}}]'
seed 'e' 'hi [TOOL_CALLS]get_time[ARGS]{"tz": "CET"} bye'
