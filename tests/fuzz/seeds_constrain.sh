#!/bin/sh
# tests/fuzz/seeds_constrain.sh DIR — seeds for fuzz_constrain: a JSON schema, a NUL byte,
# then bytes that steer a walk through the allowed continuations.
d=$1
i=0
seed() {
    i=$((i + 1))
    printf '%s\000%s' "$1" "$2" >"$d/schema-$i"
}
seed '' 'abcdefghijklmnopqrstuvwxyz0123456789'
seed '{"type":"object","properties":{"a":{"type":"string","maxLength":4},"b":{"type":"integer","minimum":-5,"maximum":200},"c":{"enum":["x",1,null,true]}},"required":["a","b"]}' 'qwertyuiopasdfghjkl'
seed '{"type":"array","items":{"type":"number"},"minItems":1,"maxItems":3}' '0123456789012345678901234567890'
seed '{"$defs":{"t":{"type":"object","properties":{"k":{"type":"array","items":{"$ref":"#/$defs/t"}}}}},"$ref":"#/$defs/t"}' 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'
seed '{"anyOf":[{"type":"string","minLength":2},{"type":"null"},{"type":"boolean"}]}' 'aaaaaaaaaaaa'
seed '{"type":"integer","exclusiveMinimum":10,"exclusiveMaximum":1000}' '5555555555'
