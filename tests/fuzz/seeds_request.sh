#!/bin/sh
# tests/fuzz/seeds_request.sh DIR — seed bodies for fuzz_request (byte 0 picks the endpoint:
# c chat, p completions, t tokenize, d detokenize), one file per request shape the server
# takes: plain chat, content parts, tools + tool_choice, a tool round trip, json_schema with
# $defs, sampling fields, stream options, completions with tokens, tokenize/detokenize.
d=$1
i=0
seed() {
    i=$((i + 1))
    printf '%s' "$1" >"$d/req-$i"
}
seed 'c{"model":"m","messages":[{"role":"user","content":"hi"}]}'
seed 'c{"messages":[{"role":"system","content":"s"},{"role":"developer","content":"d"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"max_completion_tokens":5,"temperature":0.2,"top_p":0.9,"top_k":5,"min_p":0.1,"seed":42,"stop":["x","y"],"presence_penalty":1,"frequency_penalty":-1,"logit_bias":{"5":-100,"7":3},"logprobs":true,"top_logprobs":3,"stream":true,"stream_options":{"include_usage":true},"n":1}'
seed 'c{"messages":[{"role":"user","content":"w"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":8},"unit":{"enum":["c","f"]}},"required":["city"]}}},{"type":"function","function":{"name":"t2"}}],"tool_choice":"required","parallel_tool_calls":false}'
seed 'c{"messages":[{"role":"user","content":"w"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"f"}}}'
seed 'c{"messages":[{"role":"user","content":"j"}],"response_format":{"type":"json_schema","json_schema":{"name":"n","strict":true,"schema":{"$defs":{"p":{"type":"object","properties":{"k":{"type":["string","null"]},"v":{"anyOf":[{"type":"integer","minimum":-3,"maximum":9},{"type":"array","items":{"$ref":"#/$defs/p"},"maxItems":2}]}},"required":["k"]}},"$ref":"#/$defs/p"}}}}'
seed 'c{"messages":[{"role":"user","content":"j"}],"response_format":{"type":"json_object"},"chat_template_kwargs":{"enable_thinking":false},"reasoning_effort":"low","reasoning_format":"none"}'
seed 'p{"prompt":"Once upon","max_tokens":8,"logprobs":2,"echo":false,"best_of":1,"ignore_eos":true}'
seed 'p{"prompt":[1,2,3,999],"stream":true}'
seed 'p{"prompt":[[5,6]]}'
seed 't{"content":"<|im_start|>hi","add_special":true,"with_pieces":true}'
seed 'd{"tokens":[1,2,3]}'
