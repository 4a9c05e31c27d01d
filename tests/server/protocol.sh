# tests/server/protocol.sh — curl-level tests of `edgellm serve`, sourced by
# tests/cli/test_server.sh (which defines U, KEY, T, PID_main and the helpers post,
# expect_error, jcheck, check, ok, no). The server behind $U has 4 slots, --api-key $KEY,
# --metrics, --max-body 1 MiB and the Qwen3 chat template.

MSG='"messages":[{"role":"user","content":"hello"}]'

# ---- basic endpoints ----
code=$(curl -s -o "$T/body" -w '%{http_code}' "$U/health")
check "health without a key is 200 ok" jcheck "$T/body" "d == {'status': 'ok'}"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$U/v1/models")
check "/v1/models lists the alias" jcheck "$T/body" "d['object'] == 'list' and d['data'][0]['id'] == 'tiny-qwen3' and d['data'][0]['meta']['tool_format'] == 'hermes'"
code=$(curl -s -o "$T/body" -w '%{http_code}' -X OPTIONS -H 'Origin: http://x' "$U/v1/chat/completions")
check "CORS preflight answers 204 (got $code)" test "$code" = 204

# ---- chat, non-streaming ----
post "$U" /v1/chat/completions "{$MSG,\"max_tokens\":8}"
check "chat 200" test "$code" = 200
check "chat.completion shape" jcheck "$T/body" "d['object'] == 'chat.completion' and d['id'].startswith('chatcmpl-') and d['model'] == 'tiny-qwen3' and d['choices'][0]['message']['role'] == 'assistant' and isinstance(d['choices'][0]['message']['content'], str) and d['choices'][0]['finish_reason'] in ('stop', 'length')"
check "usage adds up, max_tokens honoured" jcheck "$T/body" "d['usage']['total_tokens'] == d['usage']['prompt_tokens'] + d['usage']['completion_tokens'] and 1 <= d['usage']['completion_tokens'] <= 8 and d['timings']['predicted_n'] == d['usage']['completion_tokens']"

# the same conversation again: the prompt comes from the slot's cache
post "$U" /v1/chat/completions "{$MSG,\"max_tokens\":4}"
check "second identical prompt reuses the cache" jcheck "$T/body" "d['usage']['prompt_tokens_details']['cached_tokens'] == d['usage']['prompt_tokens'] - 1"

# ---- streaming: SSE framing ----
code=$(curl -sN -w '%{http_code}' -D "$T/headers" -o "$T/sse" -H "Authorization: Bearer $KEY" "$U/v1/chat/completions" \
    -d "{$MSG,\"max_tokens\":12,\"stream\":true}")
check "stream 200" test "$code" = 200
check "stream content type" grep -qi '^content-type: text/event-stream' "$T/headers"
check "chat SSE framing" python3 "$HERE/check_sse.py" "$T/sse" chat -q
code=$(curl -sN -w '%{http_code}' -o "$T/sse" -H "Authorization: Bearer $KEY" "$U/v1/chat/completions" \
    -d "{$MSG,\"max_tokens\":5,\"stream\":true,\"stream_options\":{\"include_usage\":true}}")
check "chat SSE with usage chunk" python3 "$HERE/check_sse.py" "$T/sse" chat --usage -q
code=$(curl -sN -w '%{http_code}' -o "$T/sse" -H "Authorization: Bearer $KEY" "$U/v1/completions" \
    -d '{"prompt":"Once","max_tokens":7,"stream":true,"logprobs":2}')
check "completion SSE framing (with logprobs)" python3 "$HERE/check_sse.py" "$T/sse" completion -q

# ---- seeded sampling is reproducible (for identical computations: the first request warms
# the cache so that the next two decode the same batch shapes) ----
post "$U" /v1/completions '{"prompt":"abc","max_tokens":12,"seed":42,"temperature":1.0}'
post "$U" /v1/completions '{"prompt":"abc","max_tokens":12,"seed":42,"temperature":1.0}'
cp "$T/body" "$T/seed1"
post "$U" /v1/completions '{"prompt":"abc","max_tokens":12,"seed":42,"temperature":1.0}'
check "same seed, same text" python3 -c 'import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); sys.exit(a["choices"][0]["text"] != b["choices"][0]["text"])' "$T/seed1" "$T/body"

# ---- stop strings cut the text before the stop ----
post "$U" /v1/completions '{"prompt":"abc","max_tokens":40,"seed":7,"temperature":1.0}'
post "$U" /v1/completions '{"prompt":"abc","max_tokens":40,"seed":7,"temperature":1.0}'
stop=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["choices"][0]["text"]; print(t[len(t)//2:len(t)//2+2] if len(t) > 6 and "\\" not in t and "\"" not in t else "")' "$T/body")
if [ -n "$stop" ]; then
    sj=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$stop")
    post "$U" /v1/completions "{\"prompt\":\"abc\",\"max_tokens\":40,\"seed\":7,\"temperature\":1.0,\"stop\":[$sj]}"
    check "stop string ends the text before it" jcheck "$T/body" "d['choices'][0]['finish_reason'] == 'stop' and $sj not in d['choices'][0]['text']"
else ok; fi

# ---- json_schema output: parses and validates whatever the model wanted ----
SCHEMA='{"type":"object","properties":{"city":{"type":"string","maxLength":10},"temp":{"type":"integer","minimum":-40,"maximum":50},"sky":{"enum":["sun","rain"]}},"required":["city","temp","sky"],"additionalProperties":false}'
post "$U" /v1/chat/completions "{$MSG,\"max_tokens\":400,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"w\",\"schema\":$SCHEMA}}}"
check "json_schema output validates" jcheck "$T/body" "(lambda o: set(o) == {'city','temp','sky'} and len(o['city']) <= 10 and -40 <= o['temp'] <= 50 and o['sky'] in ('sun','rain'))(json.loads(d['choices'][0]['message']['content'])) and d['choices'][0]['finish_reason'] == 'stop'"

# ---- a forced tool call, then its result fed back ----
TOOLS='"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":12},"unit":{"enum":["c","f"]}},"required":["city","unit"]}}}]'
post "$U" /v1/chat/completions "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Oslo?\"}],$TOOLS,\"tool_choice\":\"required\",\"max_tokens\":300}"
check "tool_choice required gives a get_weather call" jcheck "$T/body" "d['choices'][0]['finish_reason'] == 'tool_calls' and d['choices'][0]['message']['tool_calls'][0]['function']['name'] == 'get_weather' and json.loads(d['choices'][0]['message']['tool_calls'][0]['function']['arguments'])['unit'] in ('c','f')"
python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); m=d["choices"][0]["message"]
msgs=[{"role":"user","content":"Weather in Oslo?"}, m, {"role":"tool","tool_call_id":m["tool_calls"][0]["id"],"content":"{\"temp\": 3}"}]
print(json.dumps({"messages":msgs,"max_tokens":6}))' "$T/body" >"$T/rt.json" 2>/dev/null
post "$U" /v1/chat/completions "@$T/rt.json"
check "tool result round trip answers (got $code)" jcheck "$T/body" "isinstance(d['choices'][0]['message']['content'], str) and d['usage']['prompt_tokens'] > 100"

# ---- tokenize / detokenize ----
post "$U" /tokenize '{"content":"<|im_start|>user\nhi","with_pieces":true}'
check "tokenize with pieces" jcheck "$T/body" "d['tokens'][0]['piece'] == '<|im_start|>' and ''.join(t['piece'] for t in d['tokens']) == '<|im_start|>user\nhi'"
post "$U" /tokenize '{"content":"héllo wörld"}'
ids=$(python3 -c 'import json,sys; print(json.dumps({"tokens": json.load(open(sys.argv[1]))["tokens"]}))' "$T/body")
post "$U" /detokenize "$ids"
check "detokenize inverts tokenize" jcheck "$T/body" "d['content'] == 'héllo wörld'"

# ---- every bad-input class: a 4xx with a message, and the server goes on ----
C=/v1/chat/completions
expect_error 400 invalid_json "$U" $C '{"messages":'
expect_error 400 invalid_json "$U" $C '[1,2,3]'
expect_error 400 invalid_json "$U" $C ''
expect_error 400 invalid_json "$U" $C "{$MSG} trailing"
expect_error 400 invalid_json "$U" $C "$(python3 -c 'print("["*20000 + "]"*20000)')"
expect_error 400 missing_field "$U" $C '{"max_tokens":3}'
expect_error 400 invalid_type "$U" $C '{"messages":"hello"}'
expect_error 400 invalid_type "$U" $C "{$MSG,\"temperature\":\"hot\"}"
expect_error 400 invalid_type "$U" $C "{$MSG,\"stream\":\"yes\"}"
expect_error 400 invalid_type "$U" $C "{$MSG,\"max_tokens\":1.5}"
expect_error 400 invalid_type "$U" $C "{$MSG,\"stop\":5}"
expect_error 400 invalid_type "$U" $C "{$MSG,\"tools\":{}}"
expect_error 400 invalid_value "$U" $C '{"messages":[{"role":"wizard","content":"hi"}]}'
expect_error 400 invalid_value "$U" $C '{"messages":[]}'
expect_error 400 missing_field "$U" $C '{"messages":[{"role":"user"}]}'
expect_error 400 missing_field "$U" $C '{"messages":[{"role":"tool","content":"x"}]}'
expect_error 400 unsupported_content "$U" $C '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}]}'
expect_error 400 invalid_value "$U" $C "{$MSG,\"max_tokens\":-1}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"max_tokens\":0}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"max_tokens\":1e30}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"temperature\":-0.5}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"temperature\":1e308}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"top_p\":7}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"seed\":1e40}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"n\":2}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"top_logprobs\":3}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"logprobs\":true,\"top_logprobs\":-2}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"logit_bias\":{\"999999\":5}}"
expect_error 400 invalid_value "$U" $C "{$MSG,$TOOLS,\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}}"
expect_error 400 invalid_schema "$U" $C "{$MSG,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"string\",\"pattern\":\"^a+\$\"}}}}"
expect_error 400 invalid_value "$U" $C "{$MSG,\"response_format\":{\"type\":\"xml\"}}"
expect_error 400 invalid_value "$U" /v1/completions '{"prompt":[1,2,99999999]}'
expect_error 400 invalid_value "$U" /v1/completions '{"prompt":["a","b"]}'
expect_error 400 invalid_value "$U" /detokenize '{"tokens":[-1]}'
# invalid UTF-8 and a NUL byte in the body
printf '{"messages":[{"role":"user","content":"\377\376"}]}' >"$T/bad.json"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary "@$T/bad.json" "$U$C")
check "invalid UTF-8 is a 400 (got $code)" jcheck "$T/body" "d['error']['code'] == 'invalid_utf8'"
printf '{"messages":[{"role":"user","content":"a\000b"}]}' >"$T/bad.json"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary "@$T/bad.json" "$U$C")
check "a NUL byte is a 400 (got $code)" test "$code" = 400
# a prompt longer than the context (4096 tokens)
python3 -c 'import json; print(json.dumps({"messages":[{"role":"user","content":"lorem ipsum dolor " * 1500}]}))' >"$T/long.json"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary "@$T/long.json" "$U$C")
check "prompt longer than the context is a 400 (got $code)" jcheck "$T/body" "d['error']['code'] == 'context_length_exceeded'"
# body over --max-body (1 MiB): declared, and chunked without a length
python3 -c 'print("{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x" * 1200000 + "\"}]}")' >"$T/big.json"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" --data-binary "@$T/big.json" "$U$C")
check "body over the limit is a 413 (got $code)" test "$code" = 413
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" -H 'Transfer-Encoding: chunked' --data-binary "@$T/big.json" "$U$C")
check "chunked body over the limit is a 413 (got $code)" test "$code" = 413
# headers over the limit (64 KiB)
big=$(python3 -c 'print("x" * 70000)')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" -H "Authorization: Bearer $KEY" "$U/v1/models")
case "$code" in 431 | 413 | 400) ok ;; *) no "headers over the limit: got $code (want 431)" ;; esac
# keys, paths, methods
code=$(curl -s -o "$T/body" -w '%{http_code}' --data-binary "{$MSG}" "$U$C")
check "no API key is a 401 (got $code)" jcheck "$T/body" "d['error']['code'] == 'invalid_api_key'"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Authorization: Bearer wrong' --data-binary "{$MSG}" "$U$C")
check "a wrong API key is a 401 (got $code)" test "$code" = 401
expect_error 404 not_found "$U" /v1/nothing '{}'
code=$(curl -s -o "$T/body" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $KEY" "$U/v1/models")
check "wrong method is a 405 (got $code)" test "$code" = 405
# a slow client that never finishes its headers does not block others
python3 -c 'import socket,sys,time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
time.sleep(3)' "${U##*:}" &
slow=$!
post "$U" $C "{$MSG,\"max_tokens\":2}"
check "served while a slow client dawdles (got $code)" test "$code" = 200
kill $slow 2>/dev/null

# ---- a client that disconnects mid-stream frees its slot within a step ----
curl -sN -o "$T/cut.sse" -H "Authorization: Bearer $KEY" "$U/v1/completions" \
    -d '{"prompt":"a","max_tokens":'$endless',"ignore_eos":true,"stream":true}' &
cp=$!
i=0
while [ ! -s "$T/cut.sse" ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
busy=$(curl -s -H "Authorization: Bearer $KEY" "$U/metrics" | sed -n 's/^edgellm_slots_busy //p')
check "the long stream holds a slot (slots busy $busy)" test "${busy:-0}" -ge 1
kill $cp
wait $cp 2>/dev/null
i=0
while [ $i -lt 50 ]; do
    busy=$(curl -s -H "Authorization: Bearer $KEY" "$U/metrics" | sed -n 's/^edgellm_slots_busy //p')
    [ "$busy" = 0 ] && break
    sleep 0.02
    i=$((i + 1))
done
check "slot freed after the disconnect (slots busy $busy after $((i * 20)) ms)" test "$busy" = 0
# the same for a client waiting for a whole (non-streamed) answer
curl -s -o /dev/null -H "Authorization: Bearer $KEY" "$U/v1/completions" \
    -d '{"prompt":"b","max_tokens":'$endless',"ignore_eos":true}' &
cp=$!
sleep 0.3
kill $cp
wait $cp 2>/dev/null
i=0
while [ $i -lt 50 ]; do
    busy=$(curl -s -H "Authorization: Bearer $KEY" "$U/metrics" | sed -n 's/^edgellm_slots_busy //p')
    [ "$busy" = 0 ] && break
    sleep 0.02
    i=$((i + 1))
done
check "slot freed after a non-streaming client left (slots busy $busy)" test "$busy" = 0
curl -s -H "Authorization: Bearer $KEY" "$U/metrics" >"$T/metrics"
check "metrics count both cancels" grep -qE '^edgellm_requests_cancelled_total ([2-9]|[1-9][0-9])' "$T/metrics"
for m in edgellm_requests_total edgellm_prompt_tokens_total edgellm_generated_tokens_total \
    edgellm_prefill_tokens_per_second edgellm_decode_tokens_per_second \
    edgellm_time_to_first_token_seconds_sum edgellm_queue_depth edgellm_slots_busy \
    edgellm_kv_cache_bytes; do
    check "metrics has $m" grep -q "^$m" "$T/metrics"
done
code=$(curl -s -o "$T/body" -w '%{http_code}' "$U/health")
check "still healthy after the bad inputs (got $code)" test "$code" = 200
