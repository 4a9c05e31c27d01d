#!/usr/bin/python3
"""Golden outputs for edgellm's chat-template interpreter (src/tok/jinja*.c).

Renders real chat templates with the REAL Jinja2, set up the way Hugging Face transformers'
apply_chat_template sets it up: ImmutableSandboxedEnvironment(trim_blocks=True,
lstrip_blocks=True) with the loopcontrols extension, a `{% generation %}` tag that just renders
its body, `tojson` = json.dumps(x, ensure_ascii=False, indent=None, separators=None,
sort_keys=False), `raise_exception` raising TemplateError, and `strftime_now` — here fixed to
the `now` instant of conversations.json (UTC) so the outputs are reproducible. The variables
are transformers' too: messages, tools (None when absent), documents=None,
add_generation_prompt, bos_token, eos_token, enable_thinking when the conversation sets it,
and the conversation's extra variables.

Tool-call arguments: like llama.cpp's server (minja chat_template, polyfill_object_arguments),
each template is first probed with a string and an object `arguments`; if only the object
renders, string arguments that parse as JSON are replaced by the parsed value. The C side does
the same (el_tmpl_wants_object_arguments).

Writes, under tests/golden/templates/:
  inputs/<conv>.messages.json, .tools.json, .extra.json  exact JSON text both sides parse
  <template>/<conv>.txt     the rendering, byte for byte
  <template>/<conv>.error   instead, when Jinja raised (first line: exception type and text)
  cases.jsonl               one JSON object per line: {"template", "out"} or {"template",
                            "error"}: small templates over a fixed context (cases_context)

Usage (repo root; Debian's python3-jinja2):
  /usr/bin/python3 tools/render_template_golden.py [TESTDATA_DIR]
"""
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden", "templates")


class GenerationTag(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %}: renders the body (transformers tracks
    assistant-token indices there; the text is unchanged)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        call = self.call_method("_render_body")
        return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render_body(self, caller):
        return caller()


def make_env(now):
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True,
        extensions=[GenerationTag, jinja2.ext.loopcontrols])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    fixed = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).replace(tzinfo=None)

    def strftime_now(fmt):
        return fixed.strftime(fmt)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(tmpl, messages, tools, add_generation_prompt, tokens, enable_thinking, extra):
    kw = dict(tokens)
    if enable_thinking is not None:
        kw["enable_thinking"] = enable_thinking
    kw.update(extra or {})
    return tmpl.render(messages=messages, tools=tools, documents=None,
                       add_generation_prompt=add_generation_prompt, **kw)


def try_render(tmpl, messages):
    try:
        return render(tmpl, messages, None, False, {"bos_token": "", "eos_token": ""}, None, None)
    except Exception:
        return ""


def wants_object_arguments(tmpl):
    """llama.cpp's probe (vendor/minja/chat-template.hpp), re-expressed."""
    needle = "<User Needle>"
    user = {"role": "user", "content": needle}

    def two_turns(content):
        a = {"role": "assistant", "content": content}
        return [user, a, user, a]

    non_null = needle in try_render(tmpl, two_turns("")) and \
        needle not in try_render(tmpl, two_turns(None))
    args = {"argument_needle": "print('Hello, World!')"}

    def renders(arguments):
        msg = {"role": "assistant", "content": "" if non_null else None,
               "tool_calls": [{"id": "call_1___", "type": "function",
                               "function": {"arguments": arguments, "name": "ipython"}}]}
        out = try_render(tmpl, [user, msg])
        return ("<parameter=argument_needle>" in out or '"argument_needle":' in out
                or "'argument_needle':" in out)

    return not renders(json.dumps(args, separators=(",", ":"))) and renders(args)


def object_arguments(messages):
    for m in messages:
        for tc in (m.get("tool_calls") or []) if isinstance(m, dict) else []:
            if not isinstance(tc, dict) or tc.get("type") != "function":
                continue
            fn = tc.get("function")
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                try:
                    fn["arguments"] = json.loads(fn["arguments"])
                except ValueError:
                    pass


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def error_text(e):
    return f"{type(e).__name__}: {e}".splitlines()[0] + "\n"


CASES_CONTEXT = {
    "d": {"a": 1, "items": 5, "content": "x", "nested": {"k": [1, 2, {"z": "deep"}]}},
    "l": [3, 1, 2], "s": "Hello, World", "n": None, "f": 2.5, "i": 7, "b": True,
    "words": ["banana", "Apple", "cherry", "apple"],
    "people": [{"name": "Bo", "age": 30}, {"name": "al", "age": 25},
               {"name": "Cy", "age": 35, "tags": ["x"]}],
    "u8": "héllo wörld ß ﬁ İ ΣΑΣ όσος", "ws": "  \t padded \n ", "empty": "", "zero": 0,
    "big": 9007199254740993, "neg": -7, "fl": [0.1, 1e16, 1e-05, 123456.789, -0.0, 1.0],
    "quote": "it's \"quoted\" \\ \u0001\u00a0\u2028",
    "parts": [{"type": "text", "text": "hi"}, {"type": "image", "url": "x.png"},
              {"type": "text", "text": "there"}],
}

# Small templates over CASES_CONTEXT (+ messages = the "multi_turn" conversation).
CASES = [
    # literals and printing
    "{{ 'a' ~ \"b\" ~ 1 ~ 2.0 ~ none ~ true ~ False }}",
    "{{ 'tab\\tnl\\nq\\'\\\"\\x41\\u00e9\\U0001F600\\101\\d' }}",
    "{{ 'adjacent' 'strings' }}",
    "{{ 1_000 + 0x10 + 0o10 + 0b10 }} {{ 1.5e3 }} {{ 2e-3 }} {{ 10/4 }} {{ 10//4 }} {{ -10//4 }}",
    "{{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 % 2 }} {{ -7.5 // 2 }} {{ 2 ** 10 }} {{ 2 ** -2 }}",
    "{{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ (-2) ** 2 }} {{ not 1 == 2 }} {{ 1 + 2 * 3 - 4 / 2 }}",
    "{{ fl }} {{ fl|tojson }}",
    "{{ 0.1 + 0.2 }} {{ 1e22 }} {{ 1e15 + 0.5 }} {{ 3.0 * 2 }} {{ 1 / 3 }} {{ 2 / 1 }}",
    "{{ [1, 'a', none, true, 1.5, {'k': 'v'}] }} {{ (1,) }} {{ () }} {{ (1, 'b') }}",
    "{{ d }} {{ quote }} {{ [quote] }}",
    "{{ {'a': [1, {'b': none}], 'c': 'it\\'s'} }}",
    "{{ {1: 'a', 2.5: 'b', true: 'c', none: 'd', 'k': 1} }} {{ {1: 'x', 1.0: 'y'} }} {{ {0: 0, 512: 128}[512] }} {{ {1: 2}.get(1.0) }} {{ 1 in {1: 0} }}",
    "{{ {1: 'a', 2.5: 'b', true: 'c', none: 'd'}|tojson }} {{ {3: 0, 1: 1}|tojson(sort_keys=true) }} {{ {0: 0, 512: 128, 16384: 2048}|dictsort }} {{ {2: 'b', 1: 'a'}|items|list }}",
    "{{ {1: 'a', 'b': 2}|tojson(sort_keys=true) }}",
    "{{ u8 }}|{{ u8|length }}|{{ u8[1] }}|{{ u8[-3:] }}|{{ u8[::-1] }}|{{ u8|upper }}|{{ u8|lower }}",
    "{{ big }} {{ big + 1 }} {{ neg }} {{ -neg }} {{ +neg }} {{ zero }} {{ -0.0 }}",
    "{{ 'x' * 3 }}{{ 2 * 'ab' }}{{ [1] * 2 }}{{ 'a' * -1 }}|",
    "{{ [1, 2] + [3] }} {{ (1,) + (2,) }} {{ 'a' + 'b' }} {{ true + 1 }} {{ 1.5 + 1 }}",
    # comparisons and logic
    "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 == 1.0 }} {{ true == 1 }}",
    "{{ 'ell' in s }} {{ 'z' not in s }} {{ 2 in l }} {{ 'a' in d }} {{ 'zz' in d }} {{ none in [none] }}",
    "{{ 1 and 'x' }} {{ 0 and 'x' }} {{ 0 or 'y' }} {{ '' or [] }} {{ none or 0 }} {{ not none }}",
    "{{ 'yes' if b else 'no' }} {{ 'yes' if n else 'no' }} [{{ 'x' if false }}]",
    "{{ d == {'a': 1, 'items': 5, 'content': 'x', 'nested': {'k': [1, 2, {'z': 'deep'}]}} }} {{ [1] == (1,) }} {{ l != [3, 1, 2] }}",
    "{{ u == u }} {{ u == none }} {{ n == none }} {{ u is defined }} {{ n is none }}",
    # attribute and item access
    "{{ d.a }} {{ d['a'] }} {{ d.nested.k[2].z }} {{ d['nested']['k'][-1]['z'] }} {{ d.nested.k.0 }}",
    "[{{ d.missing }}][{{ d['missing'] }}][{{ l[10] }}][{{ s[100] }}][{{ n.x }}][{{ zero.real }}]",
    "{{ d.missing is defined }} {{ d.a is defined }} {{ d['items'] }} {{ d.get('items') }} {{ d.get('nope', 'dflt') }} {{ d.get('nope') }}",
    "{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ s[7:] }} {{ s[-5:-1] }} {{ s[::3] }} {{ l[5:] }} {{ l[-100:1] }}",
    "{{ messages[0].role }} {{ messages[-1]['content'] }} {{ messages|length }}",
    "[{{ l[::, 0] }}][{{ d['a', 'b'] }}][{{ s[1:2, 3] }}]",
    # statements
    "{% for x in l %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}:{{ x }} {% endfor %}",
    "{% for x in l %}[{{ loop.previtem }}|{{ loop.nextitem }}|{{ loop.cycle('a', 'b') }}]{% endfor %}",
    "{% for x in [] %}x{% else %}empty{% endfor %} {% for x in l if x > 1 %}{{ x }}@{{ loop.index }}/{{ loop.length }} {% else %}none{% endfor %}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for k in d %}{{ k }},{% endfor %} {% for c in 'abc' %}{{ c }}.{% endfor %}",
    "{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.depth }}{{ loop.index }} {% endfor %}{{ loop.depth0 }}{% endfor %}",
    "{% set x = 1 %}{% for i in l %}{% set x = x + i %}{{ x }} {% endfor %}{{ x }}",
    "{% set ns = namespace(total=0, items=[]) %}{% for i in l %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }} {{ ns.items }}",
    "{% set ns = namespace() %}{% set ns.a = 'A' %}{{ ns.a }}{{ ns.b is defined }}",
    "{% if false %}a{% elif n %}b{% elif 0 %}c{% else %}d{% endif %}{% if true %}{% set y = 3 %}{% endif %}{{ y }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c, e = 'xy' %}{{ c }}{{ e }}{% set t = 1, 2 %}{{ t }}",
    "{% set blk %}  inner {{ s }} {% endset %}[{{ blk }}]{% set blk2 | upper | trim %}  shout  {% endset %}[{{ blk2 }}]",
    "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bo') }} {{ greet('Al', punct='?') }} {{ greet(punct='.', name='Cy') }}",
    "{% macro rec(n) %}{{ n }}{% if n > 0 %}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}",
    "{% macro m(a, b) %}[{{ a }}|{{ b }}|{{ b is defined }}]{% endmacro %}{{ m(1) }}",
    "{% with a = 5, z = 'q' %}{{ a }}{{ z }}{% endwith %}[{{ a }}]",
    "{% filter upper %}shout {{ s }}{% endfilter %}",
    "{% raw %}{{ not rendered }}{% endraw %}",
    "{% generation %}{% set g = 1 %}gen{{ g }}{% endgeneration %}[{{ g }}]",
    "{% print 'printed', 1 %}",
    "{# a comment #}x{#- trimmed -#}   y",
    # whitespace control: trim_blocks, lstrip_blocks, -, +
    "a\n  {% if true %}\n    b\n  {% endif %}\nc",
    "a  {%- if true -%}  b  {%- endif -%}  c",
    "a\n  {{ 'x' }}\n  {{- 'y' -}}\n  z",
    "line1\n    {%+ if true %}kept{% endif %}\n{% if true +%}\nno-trim{% endif %}",
    "{% for i in l %}\n  {{ i }}\n{% endfor %}\n",
    "x {# c #}\n  y\n  {# c2 #}\nz",
    "{% raw -%}  \n  raw  {%- endraw %}|",
    "  {% raw %}\n  a\n  {% endraw %}\nb",
    "text \\r\\n{{ 'v' }}\r\nmore\rend\n",
    # filters
    "{{ ws|trim }}|{{ ws.strip() }}|{{ ws.lstrip() }}|{{ ws.rstrip() }}|{{ '--x--'|trim('-') }}|{{ 'xxaxx'.strip('x') }}",
    "{{ s|length }} {{ l|length }} {{ d|length }} {{ u|length }} {{ s|count }}",
    "{{ l|first }} {{ l|last }} {{ s|first }} {{ s|last }} {{ d|first }} [{{ []|first }}]",
    "{{ u|default('dflt') }} {{ n|default('dflt') }} {{ n|default('dflt', true) }} {{ empty|d('e', boolean=true) }}",
    "{{ l|join(', ') }} {{ words|join }} {{ people|join('/', attribute='name') }} {{ [1, none, u]|join('-') }}",
    "{{ s|upper }} {{ s|lower }} {{ 'hello wORLD-foo (bar) [baz]'|title }} {{ 'hello wORLD'|capitalize }}",
    "{{ s|replace('l', 'L') }} {{ s|replace('l', 'L', 2) }} {{ 'abc'|replace('', '-') }}",
    "{{ l|list }} {{ 'ab'|list }} {{ d|list }} {{ u|list }} {{ l|sort }} {{ l|sort(reverse=true) }}",
    "{{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ people|sort(attribute='age')|map(attribute='name')|list }}",
    "{{ words|unique|list }} {{ words|unique(case_sensitive=true)|list }} {{ l|max }} {{ l|min }} {{ words|max }} {{ people|min(attribute='age') }}",
    "{{ l|sum }} {{ people|sum(attribute='age') }} {{ fl|sum }} {{ l|sum(start=10) }}",
    "{{ l|map('string')|join('+') }} {{ words|map('upper')|list }} {{ people|map(attribute='tags', default='-')|list }}",
    "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ l|select|list }} {{ [0, 1, '', 'a']|select|list }}",
    "{{ people|selectattr('age', 'gt', 28)|map(attribute='name')|list }} {{ people|rejectattr('tags')|map(attribute='name')|list }} {{ people|selectattr('tags', 'defined')|list|length }}",
    "{{ words|select('equalto', 'apple')|list }} {{ words|reject('in', ['banana', 'apple'])|list }}",
    "{{ d|dictsort }} {{ {'b': 1, 'A': 2, 'c': 0}|dictsort(by='value') }} {{ {'b': 1, 'A': 2}|dictsort(case_sensitive=true, reverse=true) }}",
    "{{ d|items|list }} {{ u|items|list }}",
    "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(-1) }} {{ 4.9|int }} {{ '0x1A'|int(0, 16) }} {{ ' 12 '|int }} {{ '1_000'|int }}",
    "{{ '4.5'|float }} {{ 'x'|float }} {{ 3|float }} {{ '1e3'|float }} {{ ' -2.5 '|float }} {{ 'nan'|float }}",
    "{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 7|round }} {{ 2.1|round(0, 'ceil') }} {{ 2.9|round(method='floor') }}",
    "{{ -3|abs }} {{ -3.5|abs }} {{ neg|abs }}",
    "{{ s|string }} {{ l|string }} {{ n|string }} [{{ u|string }}] {{ 1.0|string }}",
    "{{ '<a href=\"x\">&\\'</a>'|e }} {{ '<b>'|escape }} {{ '<i>'|safe }}",
    "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent('> ', blank=true) }}",
    "{{ '%s-%d-%r'|format('a', 3, 'q') }} {{ 'x=%s' % 5 }} {{ '%s/%s' % ('a', 'b') }} {{ '100%%' % () }}",
    "{{ d.nested|tojson }} {{ d.nested|tojson(indent=2) }} {{ {'b': 1, 'a': [], 'c': {}}|tojson(sort_keys=true) }}",
    "{{ quote|tojson }} {{ u8|tojson }} {{ u8|tojson(ensure_ascii=true) }} {{ '\\x7f\\x1f'|tojson }}",
    "{{ l|tojson(separators=(',', ':')) }} {{ d|tojson(indent='\\t') }} {{ [1, [2]]|tojson(indent=0) }}",
    "{{ people|tojson }} {{ none|tojson }} {{ true|tojson }} {{ (1, 2)|tojson }} {{ 1e100|tojson }} {{ 'é'|tojson(ensure_ascii=True) }}",
    "{{ people|sort(attribute='tags,age')|map(attribute='name')|list }} {{ [{'a': 2, 'b': 'x'}, {'a': 1, 'b': 'Y'}, {'a': 2, 'b': 'a'}]|sort(attribute='a,b', reverse=true)|list }}",
    "[{{ n|map('upper')|list }}][{{ n|select|list }}][{{ u|rejectattr('x')|list }}][{{ 0|selectattr('x')|list }}][{{ n|map|list }}]",
    "{{ 'a<b'|safe + '<i>' }} {{ '<x>' + 'y&z'|e }} {{ ('<a>'|safe) * 2 }} {{ '%s|%s'|safe % ('<', '>'|safe) }} {{ '<p>%s</p>'|format('&') }} {{ ('<q>'|safe)|format() }}",
    "{{ ('a\\'s'|safe).upper() + '\"' }} {{ ('a,b'|safe).split(',') }} {{ ('[x]'|safe).strip('[') }} {{ ('<>'|safe).replace('<', '&') }} {{ (', '|safe).join(['<', 1]) }} {{ ('ab'|safe)[0] + '<' }}",
    "{{ ['x'|safe, 'y'|e] }} {{ '<a>'|forceescape }} {{ '<a>'|e|e }} {{ ('<a>'|e)|forceescape }} {{ ('m'|safe ~ '<') + '<' }} {{ ('<t>'|safe)|string + '&' }} {{ ('ab'|safe)|reverse + '<' }}",
    "{{ ('a'|safe)|upper + '<' }} {{ ('a'|safe)|title + '<' }} {{ ('a'|safe)|trim + '<' }} {{ ('a\nb'|safe)|indent + '<' }} {{ ('ab'|safe)|last + '<' }} {{ ('ab'|safe)|first + '<' }} {{ none|safe + '<' }}",
    "{{ l|reverse|list }} {{ s|reverse }} {{ 'x'|attr('upper') is defined }} {{ d|attr('a') is defined }}",
    # tests
    "{{ s is string }} {{ l is string }} {{ d is mapping }} {{ l is mapping }} {{ l is iterable }} {{ s is iterable }} {{ i is iterable }} {{ u is iterable }}",
    "{{ l is sequence }} {{ d is sequence }} {{ i is sequence }} {{ i is number }} {{ f is number }} {{ b is number }} {{ i is integer }} {{ b is integer }} {{ f is float }}",
    "{{ b is boolean }} {{ b is true }} {{ b is false }} {{ n is none }} {{ u is undefined }} {{ i is odd }} {{ i is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }}",
    "{{ 'abc' is lower }} {{ 'aBc' is lower }} {{ 'ABC' is upper }} {{ 1 is eq 1 }} {{ 1 is ne 2 }} {{ 3 is gt 2 }} {{ 3 is ge 3 }} {{ 2 is lt 3 }} {{ 2 is le 1 }}",
    "{{ 2 is in l }} {{ 'x' is in 'xyz' }} {{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }} {{ none is sameas none }} {{ true is sameas true }}",
    "{{ s is not string }} {{ not s is string }} {{ u is not defined }} {{ (l|select('odd')|list) is sequence }}",
    "{{ range is callable }} {{ s is callable }} {{ d.items is callable }}",
    # methods
    "{{ s.split(', ') }} {{ 'a b  c\\n'.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ '  a b  '.split(none, 1) }} {{ '  a b  '.rsplit(none, 1) }}",
    "{{ s.startswith('Hell') }} {{ s.endswith(('x', 'ld')) }} {{ s.startswith('World', 7) }} {{ s.upper() }} {{ s.lower() }} {{ 'hello wORLD 3rd'.title() }} {{ 'hELLO'.capitalize() }}",
    "{{ s.replace('o', '0') }} {{ s.find('o') }} {{ s.rfind('o') }} {{ s.find('z') }} {{ s.index('W') }} {{ s.count('l') }} {{ u8.find('ß') }}",
    "{{ '-'.join(['a', 'b']) }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ 'x\\ny\\n'.splitlines(true) }} {{ '123'.isdigit() }} {{ 'ab1'.isalpha() }} {{ ' \\t'.isspace() }}",
    "{{ 'pre_x'.removeprefix('pre_') }} {{ 'x.txt'.removesuffix('.txt') }} {{ s.split('</think>')[-1].lstrip('\\n') }}",
    "{{ d.keys()|list }} {{ d.values()|list|length }} {{ d.items()|list|first }} {{ l.index(1) }} {{ l.count(3) }}",
    "{{ d.keys() }} {{ d.items() }} {{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }}",
    "{{ dict(a=1, b='x') }} {{ dict({'q': 1}, r=2) }} {{ namespace(a=1).a }}",
    "{{ strftime_now('%Y-%m-%d %H:%M:%S') }} {{ strftime_now('%d %b %Y') }} {{ strftime_now('%A %j%%') }}",
    "{{ u8.title() }} {{ 'ǆemal ΣΑΣ'.lower() }} {{ 'straße'.upper() }}",
    # reprs, loop helpers, macros, unpacking, content parts
    "{% for x in l %}{{ loop }}{{ loop.changed(x % 2) }} {% endfor %}{% macro m() %}{% endmacro %}{{ m }} {{ namespace(a=1, b=[none]) }} {{ range(3) }} {{ range(0, 10, 3) }} {{ d.values()|list }}",
    "{% for a, b in [[1, 2], (3, 4), 'xy'] %}{{ a }}{{ b }};{% endfor %}{% for k, (x, y) in [('p', [1, 2])] %}{{ k }}{{ x }}{{ y }}{% endfor %}",
    "{% for a, b in [[1, 2, 3]] %}{% endfor %}",
    "{% macro outer(x, sep='-') %}{{ inner(x, sep=sep) }}{% endmacro %}{% macro inner(v, sep) %}<{{ v|join(sep) }}>{% endmacro %}{{ outer([1, 2]) }}{{ outer('ab', sep='+') }}",
    "{% macro m(a, b=a * 2) %}{{ a }},{{ b }}{% endmacro %}{{ m(3) }} {{ m(1, 5) }}{% set e %}{% endset %}[{{ e }}]",
    "{{ 'a' if 0 else 'b' if 0 else 'c' }} {{ 'x' if true else raise_exception('no') }} {{ none ~ 'a' }} {{ [1, 2] ~ 'a' }} {{ '' ~ 1.0 }} {{ 'a' in ['a', 'b'] and 'c' not in 'abd' }} {{ u is string }}",
    "{% for p in parts if p.type == 'text' %}{{ p.text }}|{% endfor %}{{ parts|selectattr('type', 'equalto', 'image')|list|length }} {{ parts[0] is mapping }} {{ parts is string }}",
    "{{ strftime_now('%f|%z|%Z|%j|%U|%a') }} {{ {'a': 1,} }} {{ [1, 2,] }} {{ (1, 2,) }}",
    "{% set ns = namespace(found=false) %}{% for m in messages %}{% if m.role == 'assistant' and not ns.found %}{% set ns.found = true %}{{ loop.index0 }}{% endif %}{% endfor %}{{ ns.found }}",
    "{{ u > 1 }}",
    "{{ 'a' + ('b' if false) }}",
    "{{ messages[0].content.split()[0] ~ messages|map(attribute='role')|unique|join(',') }}",
    # undefined behaviour and errors
    "{{ u }}|{{ u ~ 'x' }}|{% for x in u %}no{% endfor %}|{{ u|length }}|{{ not u }}",
    "{{ u.attr }}",
    "{{ u['k'] }}",
    "{{ u + 1 }}",
    "{{ u() }}",
    "{{ d.missing.deeper }}",
    "{{ n.split('x') }}",
    "{{ 'a' + 1 }}",
    "{{ 1 + 'a' }}",
    "{{ 'a' - 'b' }}",
    "{{ none + 'a' }}",
    "{{ 1 / 0 }}",
    "{{ 1 // 0 }}",
    "{{ 5 % 0 }}",
    "{{ 1 < 'a' }}",
    "{{ 1 in 'abc' }}",
    "{{ 'a' in none }}",
    "{% for x in none %}{% endfor %}",
    "{% for x in 5 %}{% endfor %}",
    "{{ raise_exception('custom failure') }}",
    "{% set x = 1 %}{% set x.attr = 2 %}",
    "{% set a, b = [1, 2, 3] %}",
    "{{ l|length(1) }}",
    "{{ s.split('') }}",
    "{{ l.append(4) }}",
    "{{ d.update({}) }}",
    "{{ range(200000)|length }}",
    "{{ (l|select('odd'))|length }}",
    "{{ ('x'|int) + u }}",
    "{{ undefined_function() }}",
    "{{ d|tojson|tojson }}",
    "{{ u|tojson }}",
    "{{ s[::0] }}",
    "{{ 'abc'.index('z') }}",
    "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
    "{% macro m(a) %}{% endmacro %}{{ m(b=2) }}",
    "{{ 'x'|unknownfilter }}",
    "{{ 1 is unknowntest }}",
    # syntax errors
    "{% if true %}unclosed",
    "{% for x in l %}{% endif %}",
    "{{ 1 + }}",
    "{{ (1 }}",
    "{{ 'unterminated }}",
    "{% endfor %}",
    "{% if %}{% endif %}",
    "{{ x y }}",
    "{# unterminated comment",
    "{% raw %} no end",
    "{% break %}",
    "{% include 'other.html' %}",
    "{% do l.append(1) %}",
    "{{ }}",
    "{% set %}",
    "{{ 1 is }}",
    "{% macro m(a=1, b) %}{% endmacro %}",
    "{{ a.1.b }}x",
    "{% for %}",
    "{{ 1 +* 2 }}",
]


def main():
    testdata = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "EL_TESTDATA", os.path.join(ROOT, "..", "shared", "testdata"))
    with open(os.path.join(GOLDEN, "conversations.json"), encoding="utf-8") as f:
        spec = json.load(f)
    env = make_env(spec["now"])
    tdir = os.path.join(testdata, "chat_templates")
    names = sorted(n[:-6] for n in os.listdir(tdir) if n.endswith(".jinja"))
    convs = spec["conversations"]

    def tools_of(conv):
        t = conv.get("tools")
        return json.loads(json.dumps(spec["tool_sets"][t])) if t else None

    for conv in convs:
        name = conv["name"]
        write(os.path.join(GOLDEN, "inputs", name + ".messages.json"),
              json.dumps(conv["messages"], ensure_ascii=False, indent=1) + "\n")
        if conv.get("tools"):
            write(os.path.join(GOLDEN, "inputs", name + ".tools.json"),
                  json.dumps(tools_of(conv), ensure_ascii=False, indent=1) + "\n")
        if conv.get("extra"):
            write(os.path.join(GOLDEN, "inputs", name + ".extra.json"),
                  json.dumps(conv["extra"], ensure_ascii=False, indent=1) + "\n")

    for tname in names:
        with open(os.path.join(tdir, tname + ".jinja"), encoding="utf-8") as f:
            src = f.read()
        tmpl = env.from_string(src)
        obj_args = wants_object_arguments(tmpl)
        tokens = spec["special_tokens"][tname]
        for conv in convs:
            messages = json.loads(json.dumps(conv["messages"]))
            if obj_args:
                object_arguments(messages)
            base = os.path.join(GOLDEN, tname, conv["name"])
            for ext in (".txt", ".error"):
                if os.path.exists(base + ext):
                    os.remove(base + ext)
            try:
                out = render(tmpl, messages, tools_of(conv), conv["add_generation_prompt"],
                             tokens, conv.get("enable_thinking"), conv.get("extra"))
                write(base + ".txt", out)
            except Exception as e:  # the template raised: the C side must fail too
                write(base + ".error", error_text(e))
        print(f"{tname}: object arguments {'yes' if obj_args else 'no'}")

    ctx_text = json.dumps(CASES_CONTEXT, ensure_ascii=False)
    write(os.path.join(GOLDEN, "inputs", "cases_context.json"), ctx_text + "\n")
    ctx = json.loads(ctx_text)
    multi = next(c for c in convs if c["name"] == "multi_turn")["messages"]
    lines = []
    for src in CASES:
        rec = {"template": src}
        try:
            rec["out"] = render(env.from_string(src), multi, None, True,
                                {"bos_token": "<s>", "eos_token": "</s>"}, None, ctx)
        except Exception as e:
            rec["error"] = error_text(e).strip()
        lines.append(json.dumps(rec, ensure_ascii=False))
    write(os.path.join(GOLDEN, "cases.jsonl"), "\n".join(lines) + "\n")
    print(f"cases: {len(CASES)}; jinja2 {jinja2.__version__}; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
