#!/usr/bin/env python3
"""eval.py — scores the default model on the 100 held-out prompts of DIR/eval.json.

Each prompt is rendered with the model's chat template (generation prompt on) and completed
greedily, 64 tokens at most, by one or more back-ends:
  edgellm  the real runtime:  edgellm run -m MODEL -f PROMPT --temp 0 -n 64 --json
  llama    llama.cpp's llama-simple (greedy) as a cross-check, if LLAMA_SIMPLE points to it
  torch    the PyTorch model of this recipe (DIR/model.pt, weights rounded to F16 as stored)
The first back-end given is the one scored; when several run, the report also counts how many
completions are token-for-token (edgellm, torch) or text-for-text (llama) identical.

Scoring (the text after an optional <think>...</think> block, up to <|im_end|>):
  arithmetic   the first integer in the answer equals the result
  definition   at least 60% of the gloss's key words (4+ letters, not stop words) appear
  tool_call    a <tool_call> block with valid JSON naming the right tool with exactly the
               expected arguments (calculator: same expression up to spaces)
  tool_answer  every expected value (temperature and condition, time, result) and the city
               appear
  smalltalk    one of the expected keywords appears
  dont_know    the answer says it does not know / cannot
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chat  # noqa: E402

STOP = set("a an the of or and to in on for with by from that this which is are be been being "
           "as at it its into than then their there these those who whom whose what when where "
           "has have had not but any some such very more most other".split())


def answer_text(out):
    out = out.split("<|im_end|>")[0]
    if "</think>" in out:
        out = out.split("</think>", 1)[1]
    return out.strip()


def keywords(gloss):
    return [w for w in re.findall(r"[a-z]+", gloss.lower()) if len(w) >= 4 and w not in STOP]


def parse_tool_call(ans):
    m = re.search(r"<tool_call>\s*(.*?)\s*</tool_call>", ans, re.S)
    if not m:
        return None
    try:
        return json.loads(m.group(1))
    except ValueError:
        return None


def score(item, out):
    ans = answer_text(out)
    e, cat = item["expect"], item["category"]
    low = ans.lower()
    if cat == "arithmetic":
        m = re.search(r"-?\d+", ans)
        return bool(m) and int(m.group(0)) == e["number"]
    if cat == "definition":
        kw = keywords(e["gloss"]) or [e["word"]]
        hit = sum(1 for k in kw if k in low)
        return hit >= 0.6 * len(kw)
    if cat == "tool_call":
        call = parse_tool_call(ans)
        if not isinstance(call, dict) or call.get("name") != e["name"]:
            return False
        args = call.get("arguments")
        if not isinstance(args, dict):
            return False
        if e["name"] == "calculator":
            got = str(args.get("expression", "")).replace(" ", "")
            return set(args) == {"expression"} and got == e["arguments"]["expression"].replace(" ", "")
        return args == e["arguments"]
    if cat == "tool_answer":  # the values, and the city the tool answered about
        want = list(e["contains"])
        res = json.loads(item["messages"][-1]["content"])
        if "city" in res:
            want.append(res["city"])
        return all(str(k).lower() in low for k in want)
    if cat == "smalltalk":  # whole words: "fine" must not match "define"
        return any(re.search(r"(?<![a-z])" + re.escape(k) + r"(?![a-z])", low) for k in e["any"])
    if cat == "dont_know":
        return "don't know" in low or "can't" in low or "do not know" in low
    raise ValueError(cat)


def run_edgellm(binary, model, prompt, n):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(prompt)
        path = f.name
    try:
        r = subprocess.run([binary, "run", "-m", model, "-f", path, "--temp", "0", "-n", str(n),
                            "--json", "-t", "2"], capture_output=True, timeout=300)
    finally:
        os.unlink(path)
    if r.returncode != 0:
        raise RuntimeError("edgellm run failed: " + r.stderr.decode(errors="replace")[-300:])
    ids, text = [], []
    for line in r.stdout.decode().splitlines():
        if not line.startswith("{"):
            continue
        o = json.loads(line)
        if o.get("eog"):
            text.append("<|im_end|>")
            break
        ids.append(o["id"])
        text.append(o["text"])
    return ids, "".join(text)


def run_llama(binary, model, prompt, n):
    r = subprocess.run([binary, "-m", model, "-n", str(n), prompt], capture_output=True,
                       timeout=300)
    so = r.stdout.decode("utf-8", "replace")
    i = so.find(prompt)
    return None, (so[i + len(prompt):] if i >= 0 else so).rstrip("\n")


class TorchRunner:
    def __init__(self, data):
        import torch
        import train
        from model import Config, Qwen3
        torch.set_num_threads(2)
        self.tok = train.load_tok(data)
        self.m = Qwen3(Config(vocab=len(self.tok.vocab), **train.MODEL_CFG))
        sd = torch.load(os.path.join(data, "model.pt"))
        sd = {k: (v.half().float() if v.dim() >= 2 else v) for k, v in sd.items()}
        self.m.load_state_dict(sd)
        self.m.eval()
        self.eos = self.tok.id["<|im_end|>"]

    def __call__(self, prompt, n):
        out = self.m.greedy(self.tok.encode(prompt), n, {self.eos})
        ids = [t for t in out if t != self.eos]
        return ids, self.tok.decode(out)

    def agrees(self, prompt, ids, ended):
        """Teacher-forced check that torch's greedy choice equals the runtime's token at every
        generated position (and eos after the last one when the runtime stopped there) — the
        same as comparing whole greedy runs, in one forward pass. Returns (same, first
        differing position or -1, smallest top-1/top-2 logit gap seen)."""
        import torch
        p = self.tok.encode(prompt)
        with torch.no_grad():
            logits = self.m(torch.tensor([p + ids]))[0, len(p) - 1:]
        want = ids + ([self.eos] if ended else [])
        gap = float("inf")
        for i, t in enumerate(want):
            top2 = torch.topk(logits[i], 2)
            gap = min(gap, float(top2.values[0] - top2.values[1]))
            if int(top2.indices[0]) != t:
                return False, i, gap
        return True, -1, gap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="recipe work dir with eval.json (and model.pt)")
    ap.add_argument("--model", default="models/default.gguf")
    ap.add_argument("--backends", default="edgellm,llama,torch")
    ap.add_argument("--edgellm", default=os.environ.get("EL_BIN", "build/edgellm"))
    ap.add_argument("--llama-simple", default=os.environ.get(
        "LLAMA_SIMPLE", "/work/ref/llama.cpp/build/bin/llama-simple"))
    ap.add_argument("--torch-limit", type=int, default=100, help="prompts run through torch")
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("--out", default=None)
    ap.add_argument("--rescore", default=None,
                    help="re-score the outputs saved in this results file (no generation)")
    args = ap.parse_args()
    with open(os.path.join(args.data, "eval.json")) as f:
        items = json.load(f)
    if args.rescore:
        with open(args.rescore) as f:
            saved = json.load(f)
        cats = {}
        for it, r in zip(items, saved["results"]):
            assert it["id"] == r["id"]
            r["pass"] = score(it, r["output"])
            c = cats.setdefault(it["category"], [0, 0])
            c[0] += r["pass"]
            c[1] += 1
        saved["summary"]["per_category"] = cats
        saved["summary"]["total"] = [sum(c[0] for c in cats.values()), len(items)]
        print(json.dumps(saved["summary"]))
        with open(args.out or args.rescore, "w") as f:
            json.dump(saved, f, indent=1, ensure_ascii=False)
        return
    backends = []
    for b in args.backends.split(","):
        if b == "edgellm" and os.access(args.edgellm, os.X_OK):
            backends.append(("edgellm", lambda p, n: run_edgellm(args.edgellm, args.model, p, n)))
        elif b == "llama" and os.access(args.llama_simple, os.X_OK):
            backends.append(("llama", lambda p, n: run_llama(args.llama_simple, args.model, p, n)))
        elif b == "torch" and os.path.exists(os.path.join(args.data, "model.pt")):
            backends.append(("torch", TorchRunner(args.data)))
        else:
            print("eval: back-end %s not available, skipped" % b, file=sys.stderr)
    if not backends:
        sys.exit("eval: no back-end available")
    results, agree = [], {}
    torch_runner = next((fn for name, fn in backends if name == "torch"), None)
    for k, it in enumerate(items):
        prompt = chat.render(it["messages"], it["tools"], add_generation_prompt=True)
        outs = {}
        main_name = backends[0][0]
        for name, fn in backends:
            if name == "torch" and (k >= args.torch_limit or outs.get(main_name, (None,))[0]):
                continue
            outs[name] = fn(prompt, args.n)
        ok = score(it, outs[main_name][1])
        r = {"id": it["id"], "category": it["category"], "prompt": it["messages"][-1]["content"],
             "output": outs[main_name][1], "pass": ok}
        for name in outs:
            if name == main_name:
                continue
            a, b = outs[main_name], outs[name]
            if a[0] is not None and b[0] is not None:
                same = a[0] == b[0]
            else:
                same = answer_text(a[1]) == answer_text(b[1])
            agree.setdefault(name, [0, 0])
            agree[name][0] += same
            agree[name][1] += 1
            r["same_as_" + name] = same
            if not same:
                r["output_" + name] = b[1]
        if torch_runner and outs[main_name][0] is not None and k < args.torch_limit:
            same, at, gap = torch_runner.agrees(prompt, outs[main_name][0],
                                                outs[main_name][1].endswith("<|im_end|>"))
            agree.setdefault("torch", [0, 0])
            agree["torch"][0] += same
            agree["torch"][1] += 1
            r["same_as_torch"] = same
            r["torch_min_gap"] = round(gap, 4)
            if not same:
                r["torch_differs_at"] = at
        results.append(r)
        print("%3d %-11s %s %r -> %r" % (it["id"], it["category"], "PASS" if ok else "fail",
                                          r["prompt"][:50], answer_text(r["output"])[:90]),
              flush=True)
    cats = {}
    for r in results:
        c = cats.setdefault(r["category"], [0, 0])
        c[0] += r["pass"]
        c[1] += 1
    total = sum(c[0] for c in cats.values())
    summary = {"backend": backends[0][0], "model": args.model, "per_category": cats,
               "total": [total, len(results)],
               "agreement_with_" + backends[0][0]: agree}
    print(json.dumps(summary))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"summary": summary, "results": results}, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
