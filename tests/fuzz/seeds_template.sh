#!/bin/sh
# tests/fuzz/seeds_template.sh DIR — adds seed inputs for fuzz_template to DIR: the real chat
# templates of the shared testdata ($EL_TESTDATA/chat_templates/*.jinja) and a few small
# templates, one per feature family (loops and loop controls, macros, filters and tests,
# whitespace control, string methods, namespace, errors).
set -eu
dir=$1
root=${EL_TESTDATA:-../shared/testdata}
n=0
for f in "$root"/chat_templates/*.jinja; do
    [ -f "$f" ] || continue
    cp "$f" "$dir/$(basename "$f")"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || echo "seeds_template: no templates under $root/chat_templates" >&2
printf '%s' "{% for m in messages if m.role != 'tool' %}{{ loop.index }}:{{ m.role|upper }}{% if loop.last %}!{% else %},{% endif %}{% else %}none{% endfor %}" >"$dir/loop.j2"
printf '%s' "{% for x in d.l %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% if x > 2 %}{% break %}{% endif %}{% endfor %}" >"$dir/loopctl.j2"
printf '%s' "{% macro m(a, b='x') %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}{% set v %}  {{ s }} {% endset %}{{ v|trim }}" >"$dir/macro.j2"
printf '%s' "{{ tools|tojson(indent=2) }}{{ d|dictsort }}{{ d.l|map('string')|join(',') }}{{ d.l|select('odd')|list }}{{ s is string and n is none }}" >"$dir/filters.j2"
printf 'a\n  {%%- if true -%%}\n  b {{- s -}} c\n  {%% endif %%}\n{# c #}\n{%% raw %%}{{x}}{%% endraw %%}' >"$dir/ws.j2"
printf '%s' "{{ s.split('b')[-1].lstrip('c').upper() }}{{ messages[-1].content.split('</think>')[0] }}{{ '%s-%d' % ('a', 1) }}{{ s[::-1] }}{{ s[1:] }}" >"$dir/methods.j2"
printf '%s' "{% set ns = namespace(k=0) %}{% for m in messages[::-1] %}{% set ns.k = ns.k + 1 %}{% endfor %}{{ ns.k }}{{ strftime_now('%d %b %Y') }}{{ raise_exception('x') if n }}" >"$dir/ns.j2"
