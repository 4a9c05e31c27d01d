"""check_sse.py FILE KIND [--usage] [-q] — checks that FILE (a raw text/event-stream body from
`edgellm serve`) is well framed: only `data: ...` events separated by blank lines, every
payload but the last is a JSON object of the right kind with one id throughout, the first chat
delta carries the role, exactly one chunk has a finish_reason, the usage chunk comes when asked
for, and the stream ends with `data: [DONE]`. Prints the assembled text on success (stdout)
(unless -q) and exits 0; prints the first problem and exits 1."""
import json
import sys


def fail(msg):
    print("SSE: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    path, kind = sys.argv[1], sys.argv[2]
    want_usage = "--usage" in sys.argv
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("not UTF-8: %s" % e)
    if not text.endswith("data: [DONE]\n\n"):
        fail("does not end with 'data: [DONE]\\n\\n': %r" % text[-80:])
    events = text[:-2].split("\n\n")
    ids, finishes, usage, out, role_seen = set(), 0, None, [], False
    obj = "chat.completion.chunk" if kind == "chat" else "text_completion"
    for i, ev in enumerate(events):
        if not ev.startswith("data: ") or "\n" in ev:
            fail("event %d is not one 'data: ' line: %r" % (i, ev[:120]))
        payload = ev[6:]
        if payload == "[DONE]":
            if i != len(events) - 1:
                fail("[DONE] before the end")
            continue
        try:
            c = json.loads(payload)
        except ValueError as e:
            fail("event %d is not JSON (%s): %r" % (i, e, payload[:200]))
        if "error" in c:
            fail("error event: %r" % c)
        if c.get("object") != obj:
            fail("event %d object %r, want %r" % (i, c.get("object"), obj))
        ids.add(c.get("id"))
        if "usage" in c and c["usage"] is not None:
            if c.get("choices") != []:
                fail("usage chunk must have empty choices")
            usage = c["usage"]
            continue
        ch = c["choices"]
        if len(ch) != 1 or ch[0].get("index") != 0:
            fail("event %d: want one choice with index 0" % i)
        ch = ch[0]
        if ch.get("finish_reason"):
            finishes += 1
        if kind == "chat":
            d = ch.get("delta")
            if not isinstance(d, dict):
                fail("event %d has no delta" % i)
            if i == 0:
                role_seen = d.get("role") == "assistant"
            if d.get("content"):
                out.append(d["content"])
        else:
            if not isinstance(ch.get("text"), str):
                fail("event %d has no text" % i)
            out.append(ch["text"])
    if len(ids) != 1:
        fail("ids differ across chunks: %r" % ids)
    if kind == "chat" and not role_seen:
        fail("the first chat chunk does not carry role=assistant")
    if finishes != 1:
        fail("%d chunks with a finish_reason (want 1)" % finishes)
    if want_usage:
        if not usage or usage.get("total_tokens") != usage.get("prompt_tokens", 0) + usage.get(
                "completion_tokens", 0):
            fail("missing or inconsistent usage chunk: %r" % usage)
    elif usage is not None:
        fail("usage chunk without stream_options.include_usage")
    if "-q" not in sys.argv:
        sys.stdout.write("".join(out))


main()
