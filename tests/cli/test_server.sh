#!/bin/sh
# tests/cli/test_server.sh — `edgellm serve` end to end: real server processes on loopback
# (ports chosen free at run time with --port 0 --port-file), driven by curl (protocol, SSE
# framing, every bad-input class, limits, disconnects, drain on SIGTERM) and by the official
# `openai` npm client (tests/server/*.mjs; needs `npm ci` in tests/server, which .ci/run and
# tools/deps.sh do), plus a bounded load test (32 concurrent streaming clients).
# Models: a tiny random-weight qwen3 from `edgellm synth` (served with the real Qwen3 chat
# template from the shared test data) and the real stories260K (no chat template). Checks
# protocol, shapes and constraints only, never what a random model says.
# Env: EL_BIN (default build/edgellm), EL_TESTDATA, EL_BUILD (a sanitizer build shrinks the
# load test), EL_SERVER_LOAD="clients requests" to override it. Last line: "N passed, N failed".
BIN=${EL_BIN:-build/edgellm}
DATA=${EL_TESTDATA:-../shared/testdata}
HERE=$(cd "$(dirname "$0")/../server" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/edgellm-serve-XXXXXX")
KEY=test-key-123
long=4000 # tokens of a stream that must still be running a moment after it starts, yet finish
case "${EL_BUILD:-build}" in build) ;; *) long=300 ;; esac # sanitizers: 5-50x slower
# A generation that must be cut (by a disconnect or --timeout), never finish on its own: more
# tokens than any test context holds (the server clamps max_tokens to the room left), so how
# fast the build or the machine is cannot make it end first.
endless=1000000
pass=0
fail=0
PIDS=""
ok() { pass=$((pass + 1)); }
no() {
    fail=$((fail + 1))
    echo "FAIL $*"
}
check() { # check DESCRIPTION CMD... : one assertion on a command's exit status
    d=$1
    shift
    if "$@"; then ok; else no "$d"; fi
}
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

# jcheck FILE PYEXPR : PYEXPR over d = the JSON in FILE is true
jcheck() {
    python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1], encoding="utf-8"))
except Exception as e:
    print("not JSON:", e, open(sys.argv[1], "rb").read()[:200], file=sys.stderr); sys.exit(1)
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

# start_server NAME ARGS... : starts `edgellm serve ARGS --port 0`, waits for /health ok;
# sets URL_<NAME>, PID_<NAME>
start_server() {
    name=$1
    shift
    rm -f "$T/$name.port"
    "$BIN" serve --port 0 --port-file "$T/$name.port" -t 1 "$@" >"$T/$name.log" 2>&1 &
    pid=$!
    PIDS="$PIDS $pid"
    i=0
    while [ $i -lt 300 ]; do
        if [ -s "$T/$name.port" ]; then
            port=$(cat "$T/$name.port")
            code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")
            [ "$code" = 200 ] && break
        fi
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    eval "URL_$name=http://127.0.0.1:\$port PID_$name=$pid"
    if [ "$code" = 200 ]; then ok; else no "server $name did not come up: $(tail -n 5 "$T/$name.log")"; fi
}

# post URL PATH JSON [curl args...] : body in $T/body, status in $code
post() {
    u=$1
    p=$2
    d=$3
    shift 3
    code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' "$@" --data-binary "$d" "$u$p")
}

# expect_error STATUS ERRCODE URL PATH JSON : the OpenAI error shape with that code
expect_error() {
    st=$1
    ec=$2
    shift 2
    post "$@"
    if [ "$code" = "$st" ] && jcheck "$T/body" "isinstance(d['error']['message'], str) and d['error']['message'] and d['error']['type'] and d['error']['code'] == '$ec'"; then
        ok
    else
        no "$4 $(printf '%.80s' "$5"): want $st/$ec, got $code $(head -c 300 "$T/body")"
    fi
}

[ -x "$BIN" ] || { no "no binary $BIN"; echo "$pass passed, $fail failed"; exit 1; }

# ---- models ----
"$BIN" synth -o "$T/q3.gguf" --preset tiny-qwen3 --type F32 --ctx 4096 >"$T/synth.log" 2>&1
check "synth tiny-qwen3" test -s "$T/q3.gguf"
"$BIN" synth -o "$T/slow.gguf" --preset tiny-qwen3 --layers 6 --embd 256 --ffn 768 --type F32 \
    --ctx 4096 >"$T/synth2.log" 2>&1
check "synth a slower qwen3" test -s "$T/slow.gguf"
QWEN3_TMPL="$DATA/chat_templates/Qwen-Qwen3-0.6B.jinja"

# ---- the main server: 4 slots, API key, metrics, the real Qwen3 template ----
start_server main -m "$T/q3.gguf" --parallel 4 --api-key "$KEY" --metrics \
    --chat-template-file "$QWEN3_TMPL" --alias tiny-qwen3 --max-body 1048576
U=$URL_main

. "$HERE/protocol.sh"

# ---- the official openai client ----
if ! command -v node >/dev/null 2>&1; then
    no "node is not installed: the openai-client tests did not run (sh tools/deps.sh)"
elif [ ! -d "$HERE/node_modules/openai" ]; then
    no "tests/server/node_modules is missing: the openai-client tests did not run (cd tests/server && npm ci)"
else
    node "$HERE/openai_test.mjs" "$U/v1" "$KEY" >"$T/openai.log" 2>&1
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$T/openai.log" | tail -n 1)
    p=${line%% passed*}
    f=${line#*passed, }
    f=${f%% failed*}
    if [ -n "$line" ]; then
        pass=$((pass + p))
        fail=$((fail + f))
        [ "$f" -ne 0 ] && grep -E '^FAIL' "$T/openai.log" | head -n 20
    else
        no "openai_test.mjs crashed: $(tail -n 15 "$T/openai.log")"
    fi
fi

# ---- a model without a chat template (real stories260K) ----
start_server st -m "$DATA/models/stories260K.gguf" --parallel 2
expect_error 400 no_chat_template "$URL_st" /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}]}'
post "$URL_st" /v1/completions '{"prompt":"Once upon a time","max_tokens":16,"temperature":0}'
check "stories260K completes a prompt" jcheck "$T/body" "d['choices'][0]['text'] and d['usage']['completion_tokens'] <= 16"
cp "$T/body" "$T/greedy1"
post "$URL_st" /v1/completions '{"prompt":"Once upon a time","max_tokens":16,"temperature":0}'
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if a["choices"][0]["text"]==b["choices"][0]["text"] else 1)' "$T/greedy1" "$T/body"
if [ $? -eq 0 ]; then ok; else no "two greedy completions differ"; fi
kill -TERM "$PID_st"
wait "$PID_st"
check "stories server exits 0 on SIGTERM" test $? -eq 0

# ---- reasoning models: a template whose generation prompt opens <think> (DeepSeek-R1) ----
# The random model never writes </think>, so everything it says is reasoning: content stays
# empty and reasoning_content gets the text, streamed as reasoning deltas; with
# reasoning_format "none" the same text is plain content. --timeout 1 ends a long answer.
start_server r1 -m "$T/slow.gguf" --parallel 1 --timeout 1 \
    --chat-template-file "$DATA/chat_templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"
# (the first request warms the slot's cache, so the next two decode the same batch shapes:
# logits, and so seeded samples, are only bit-identical for identical computations)
post "$URL_r1" /v1/chat/completions '{"messages":[{"role":"user","content":"2+2?"}],"max_tokens":12,"seed":3}'
post "$URL_r1" /v1/chat/completions '{"messages":[{"role":"user","content":"2+2?"}],"max_tokens":12,"seed":3}'
check "R1: the answer is all reasoning_content" jcheck "$T/body" "d['choices'][0]['message']['content'] == '' and len(d['choices'][0]['message']['reasoning_content']) > 0"
cp "$T/body" "$T/r1a"
post "$URL_r1" /v1/chat/completions '{"messages":[{"role":"user","content":"2+2?"}],"max_tokens":12,"seed":3,"reasoning_format":"none"}'
python3 -c 'import json,sys; a,b=(json.load(open(f))["choices"][0]["message"] for f in sys.argv[1:]); sys.exit(0 if b["content"].strip() == a["reasoning_content"].strip() and "reasoning_content" not in b else 1)' "$T/r1a" "$T/body"
if [ $? -eq 0 ]; then ok; else no "R1: reasoning_format none gives the same text as content: $(head -c 300 "$T/body")"; fi
code=$(curl -sN -w '%{http_code}' -o "$T/r1.sse" "$URL_r1/v1/chat/completions" \
    -d '{"messages":[{"role":"user","content":"2+2?"}],"max_tokens":12,"stream":true}')
check "R1: streamed reasoning deltas" python3 -c 'import json,sys
ev=[json.loads(l[6:]) for l in open(sys.argv[1]).read().split("\n\n") if l.startswith("data: {")]
r="".join(e["choices"][0]["delta"].get("reasoning_content","") for e in ev if e["choices"])
c="".join(e["choices"][0]["delta"].get("content","") for e in ev if e["choices"])
sys.exit(0 if r and not c else 1)' "$T/r1.sse"
t0=$(date +%s)
post "$URL_r1" /v1/completions "{\"prompt\":\"a\",\"max_tokens\":$endless,\"ignore_eos\":true}"
t1=$(date +%s)
check "--timeout 1 ends a long generation with finish_reason length ($((t1 - t0)) s)" jcheck "$T/body" "d['choices'][0]['finish_reason'] == 'length' and d['usage']['completion_tokens'] < 4000 and $((t1 - t0)) <= 5"
kill -TERM "$PID_r1"
wait "$PID_r1"

# ---- bounded load test: 32 concurrent streaming clients, RSS flat ----
load=${EL_SERVER_LOAD:-}
if [ -z "$load" ]; then
    case "${EL_BUILD:-build}" in
    build) load="32 200" ;;
    *) load="32 12 norss" ;; # sanitizer builds: 5-20x slower, freed memory quarantined
    esac
fi
if command -v node >/dev/null 2>&1; then
    start_server load -m "$T/q3.gguf" --parallel 4 --queue 20 --metrics -c 512
    node "$HERE/load_test.mjs" "$URL_load" "$PID_load" $load >"$T/loadtest.out" 2>&1
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$T/loadtest.out" | tail -n 1)
    if [ -n "$line" ]; then
        p=${line%% passed*}
        f=${line#*passed, }
        f=${f%% failed*}
        pass=$((pass + p))
        fail=$((fail + f))
        grep -E '^(FAIL|load:)' "$T/loadtest.out" | head -n 20
    else
        no "load_test.mjs crashed: $(tail -n 15 "$T/loadtest.out")"
    fi
    kill -TERM "$PID_load"
    wait "$PID_load"
    check "load server exits 0 on SIGTERM" test $? -eq 0
else
    no "node is not installed: the load test did not run"
fi

# ---- SIGTERM while streams are in flight: they finish, then the server exits 0 ----
# One slot, a slower model and a 1 s idle timeout: the second stream waits in the queue
# longer than the idle timeout, which must not cut it (waiting for the engine is not idleness).
start_server drain -m "$T/slow.gguf" --parallel 1 --idle-timeout 1
curl -sN -o "$T/drain.sse" "$URL_drain/v1/completions" \
    -d '{"prompt":"a","max_tokens":'$long',"ignore_eos":true,"stream":true}' &
cpid=$!
i=0
while [ ! -s "$T/drain.sse" ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
curl -sN -o "$T/queued.sse" "$URL_drain/v1/chat/completions" \
    -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"stream":true}' &
qpid=$!
sleep 0.2
kill -TERM "$PID_drain"
sleep 0.1
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$URL_drain/v1/completions" -d '{"prompt":"a","max_tokens":2}')
case "$code" in 000 | 503) ok ;; *) no "a new request during the drain got $code (want refused or 503)" ;; esac
wait $cpid
wait $qpid
wait "$PID_drain"
check "server exits 0 after draining" test $? -eq 0
check "the in-flight stream completed during the drain" python3 "$HERE/check_sse.py" "$T/drain.sse" completion -q
check "the queued stream outlived the idle timeout and the drain" python3 "$HERE/check_sse.py" "$T/queued.sse" chat -q

# ---- the project's own trained model, when it is there (protocol only, never quality) ----
if [ -f models/default.gguf ]; then
    start_server dm -m models/default.gguf --parallel 2
    post "$URL_dm" /v1/chat/completions '{"messages":[{"role":"user","content":"Hello!"}],"max_tokens":32}'
    check "default model: chat answers" jcheck "$T/body" "isinstance(d['choices'][0]['message']['content'], str) and d['choices'][0]['finish_reason'] in ('stop','length') and '<think>' not in d['choices'][0]['message']['content']"
    DTOOLS='"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]'
    for choice in '"auto"' '"required"'; do
        post "$URL_dm" /v1/chat/completions "{\"messages\":[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"}],$DTOOLS,\"tool_choice\":$choice,\"max_tokens\":64}"
        check "default model, tool_choice $choice: a well-formed answer or call" jcheck "$T/body" "(lambda c: c['finish_reason'] in ('stop','length') and isinstance(c['message']['content'], str) and '<tool_call>' not in c['message']['content'] if c['finish_reason'] != 'tool_calls' else all(t['function']['name'] == 'get_weather' and isinstance(json.loads(t['function']['arguments']), dict) for t in c['message']['tool_calls']))(d['choices'][0]) and ($choice != 'required' or d['choices'][0]['finish_reason'] == 'tool_calls')"
    done
    kill -TERM "$PID_dm"
    wait "$PID_dm"
else
    echo "note: models/default.gguf is not there yet: its smoke test was skipped"
fi

# ---- the main server survived everything above ----
code=$(curl -s -o /dev/null -w '%{http_code}' "$U/health")
check "main server still healthy at the end (got $code)" test "$code" = 200
kill -TERM "$PID_main"
wait "$PID_main"
check "main server exits 0 on SIGTERM" test $? -eq 0
if grep -qE 'ERROR|Sanitizer|runtime error' "$T/main.log" "$T/st.log" "$T/load.log" "$T/drain.log" "$T/r1.log"; then
    no "sanitizer or error output in the server logs: $(grep -hE 'ERROR|Sanitizer|runtime error' "$T"/*.log | head -n 5)"
else ok; fi

echo "test_server.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
