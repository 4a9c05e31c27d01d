"""chat.py — renders conversations with the model's chat template (chat_template.jinja, Qwen3's
template byte for byte) exactly as Hugging Face transformers does: a sandboxed Jinja2
environment with trim_blocks/lstrip_blocks and a `tojson` that keeps key order and uses
", " / ": " separators (Jinja2's own tojson sorts keys and HTML-escapes, which no runtime does).

Training renders the whole conversation and learns the text after the generation prompt, so
what the model learns is exactly the continuation of what inference feeds it."""
import json
import os

from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE_PATH = os.path.join(HERE, "chat_template.jinja")


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def _raise(msg):
    raise ValueError(msg)


with open(TEMPLATE_PATH, encoding="utf-8") as _f:
    TEMPLATE_TEXT = _f.read()
_env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
_env.filters["tojson"] = _tojson
_env.globals["raise_exception"] = _raise
_tmpl = _env.from_string(TEMPLATE_TEXT)


def render(messages, tools=None, add_generation_prompt=False):
    return _tmpl.render(messages=messages, tools=tools,
                        add_generation_prompt=add_generation_prompt)


def split_prompt(conv):
    """(prompt, completion) for a conversation whose last message is the assistant's:
    prompt = render(all but last, generation prompt), completion = the rest of the full
    render. Raises if the prompt is not a prefix of the full render."""
    msgs, tools = conv["messages"], conv.get("tools")
    assert msgs[-1]["role"] == "assistant"
    prompt = render(msgs[:-1], tools, add_generation_prompt=True)
    full = render(msgs, tools)
    if not full.startswith(prompt):
        raise ValueError("prompt is not a prefix of the full render")
    return prompt, full[len(prompt):]
