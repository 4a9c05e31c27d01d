#!/usr/bin/env python3
"""train.py — trains the default Qwen3 model on DIR/train.jsonl with DIR/tokenizer.json and
writes DIR/model.pt, DIR/default.gguf, DIR/loss.csv, DIR/train_log.json.

Each conversation becomes one sequence: its chat-template render, with loss on the assistant
turns the model generates as rendered (see spans(): a plain answer never starts with a think
block; arithmetic starts with its worked step) and none on the rest. Conversations longer than
--max-len tokens are left out. Batches are built from length buckets, padded on the right; the
number of tokens per batch is bounded by --batch-tokens. AdamW, linear warm-up then cosine
decay to 10% over --steps or --minutes of wall time, whichever runs out first; steps that took
far longer than usual (a paused or starved process) are recorded as paused time.
Deterministic for a given seed and thread count (torch CPU kernels), apart from wall time.

  train.py --data DIR --steps N [--minutes M]   train, then export (schedule: see --minutes)
  train.py --data DIR --export-only             re-export DIR/model.pt
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import chat  # noqa: E402
import gguf_write  # noqa: E402
from model import Config, Qwen3, n_params  # noqa: E402

MODEL_CFG = dict(n_embd=256, n_layer=6, n_head=4, n_kv=2, head_dim=64, n_ff=768,
                 rope_base=10000.0, eps=1e-6, ctx=1024)


EMPTY_THINK = "<think>\n\n</think>\n\n"


def spans(conv, rng):
    """(text, [(start, end)]) — the conversation's chat-template render and the character spans
    of the assistant turns to learn, each from after its generation prompt through its
    <|im_end|>. Each prefix is checked to be exactly the render of the history with the
    generation prompt, i.e. what inference feeds the model before that turn.

    What the model should generate after `<|im_start|>assistant\n` is: a plain answer or a
    tool call directly, or, for arithmetic, `<think>\n<worked step>\n</think>\n\n<number>`.
    Qwen3's template renders the LAST assistant turn with a think block (an empty one when the
    message has no reasoning) and drops reasoning from turns before the last user query, so:
      * last turn, empty think block: half the time the block is removed from the text (the
        answer follows the generation prompt directly), half the time it stays as context
        with no loss (what a prompt rendered with enable_thinking=false looks like); the model
        never learns to open a plain answer with <think>;
      * an earlier turn whose reasoning the template dropped: context only (no loss), since
        the model would generate the worked step there;
      * every other assistant turn is learned as rendered."""
    msgs, tools = conv["messages"], conv.get("tools")
    full = chat.render(msgs, tools)
    out = []
    for i, m in enumerate(msgs):
        if m["role"] != "assistant":
            continue
        p = chat.render(msgs[:i], tools, add_generation_prompt=True)
        if not full.startswith(p):
            raise ValueError("generation prompt is not a prefix of the conversation")
        s0 = len(p)
        if i == len(msgs) - 1 and full.startswith(EMPTY_THINK, s0):
            if rng.random() < 0.5:
                full = full[:s0] + full[s0 + len(EMPTY_THINK):]
            else:
                s0 += len(EMPTY_THINK)
        end = full.index("<|im_end|>", s0) + len("<|im_end|>")
        if m.get("reasoning_content") and not full.startswith("<think>", s0):
            continue
        out.append((s0, end))
    return full, out


def encode_all(data, tok, max_len, seed, check=300):
    """[(ids, loss_mask)] — encoded segment by segment (segments start/end next to special
    tokens or a newline, so this equals encoding the whole text; checked on the first
    `check` conversations). Conversations longer than max_len tokens are left out (counted)."""
    seqs, skipped = [], 0
    rng = random.Random(seed)
    with open(os.path.join(data, "train.jsonl")) as f:
        for n, line in enumerate(f):
            full, sp = spans(json.loads(line), rng)
            ids, mask, pos = [], [], 0
            for s0, s1 in sp:
                ctx = tok.encode(full[pos:s0])
                ans = tok.encode(full[s0:s1])
                ids += ctx + ans
                mask += [0] * len(ctx) + [1] * len(ans)
                pos = s1
            if n < check and tok.encode(full[:pos]) != ids:
                raise ValueError("segment-wise encoding differs from whole-text encoding")
            if len(ids) > max_len:
                skipped += 1
                continue
            if sum(mask):
                seqs.append((ids, mask))
    return seqs, skipped


def make_batches(seqs, batch_tokens, rng):
    """Shuffle, then sort within chunks of 50 batches' worth by length and cut batches whose
    padded size (n * longest) stays under batch_tokens."""
    order = list(range(len(seqs)))
    rng.shuffle(order)
    batches = []
    chunk = 2000
    for s in range(0, len(order), chunk):
        part = sorted(order[s:s + chunk], key=lambda i: len(seqs[i][0]))
        cur, longest = [], 0
        for i in part:
            L = len(seqs[i][0]) - 1
            if cur and max(longest, L) * (len(cur) + 1) > batch_tokens:
                batches.append(cur)
                cur, longest = [], 0
            cur.append(i)
            longest = max(longest, L)
        if cur:
            batches.append(cur)
    rng.shuffle(batches)
    return batches


def collate(seqs, idx, pad_id):
    T = max(len(seqs[i][0]) for i in idx) - 1
    x = torch.full((len(idx), T), pad_id, dtype=torch.long)
    y = torch.full((len(idx), T), -100, dtype=torch.long)
    for r, i in enumerate(idx):
        ids, mask = seqs[i]
        n = len(ids) - 1
        x[r, :n] = torch.tensor(ids[:-1])
        tgt = torch.tensor(ids[1:])
        tgt[torch.tensor(mask[1:]) == 0] = -100  # loss only on the assistant's tokens
        y[r, :n] = tgt
    return x, y


def export(model, tok, path):
    c = model.c
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    tensors = [("token_embd.weight", sd["tok_embd.weight"]),
               ("output_norm.weight", sd["out_norm.weight"])]
    names = [("attn_norm", "attn_norm.weight"), ("attn_q", "wq.weight"), ("attn_k", "wk.weight"),
             ("attn_v", "wv.weight"), ("attn_output", "wo.weight"),
             ("attn_q_norm", "q_norm.weight"), ("attn_k_norm", "k_norm.weight"),
             ("ffn_norm", "ffn_norm.weight"), ("ffn_gate", "w_gate.weight"),
             ("ffn_up", "w_up.weight"), ("ffn_down", "w_down.weight")]
    for i in range(c.n_layer):
        for g, t in names:
            tensors.append(("blk.%d.%s.weight" % (i, g), sd["layers.%d.%s" % (i, t)]))
    types = [3 if t in bpe.SPECIAL_TOKENS else 1 for t in tok.vocab]
    kvs = [
        ("general.architecture", "qwen3"),
        ("general.name", "edgellm-default"),
        ("general.description", "Small chat model trained from scratch by edgellm's "
                                "tools/train recipe (greetings, arithmetic, WordNet "
                                "definitions, tool calls)"),
        ("general.license", "Apache-2.0"),
        ("general.file_type", 1),
        ("qwen3.context_length", c.ctx),
        ("qwen3.embedding_length", c.n_embd),
        ("qwen3.block_count", c.n_layer),
        ("qwen3.feed_forward_length", c.n_ff),
        ("qwen3.attention.head_count", c.n_head),
        ("qwen3.attention.head_count_kv", c.n_kv),
        ("qwen3.attention.key_length", c.head_dim),
        ("qwen3.attention.value_length", c.head_dim),
        ("qwen3.rope.dimension_count", c.head_dim),
        ("qwen3.rope.freq_base", float(c.rope_base)),
        ("qwen3.attention.layer_norm_rms_epsilon", float(c.eps)),
        ("tokenizer.ggml.model", "gpt2"),
        ("tokenizer.ggml.pre", "qwen2"),
        ("tokenizer.ggml.tokens", tok.vocab),
        ("tokenizer.ggml.token_type", ("i32", types)),
        ("tokenizer.ggml.merges", tok.merges),
        ("tokenizer.ggml.eos_token_id", tok.id["<|im_end|>"]),
        ("tokenizer.ggml.padding_token_id", tok.id["<|endoftext|>"]),
        ("tokenizer.ggml.bos_token_id", tok.id["<|endoftext|>"]),
        ("tokenizer.ggml.add_bos_token", False),
        ("tokenizer.chat_template", chat.TEMPLATE_TEXT),
    ]
    gguf_write.write(path, kvs, tensors)


def load_tok(data):
    with open(os.path.join(data, "tokenizer.json")) as f:
        d = json.load(f)
    t = bpe.Tokenizer(d)
    t.merges = d["merges"]
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--minutes", type=float, default=0,
                    help="wall-clock budget: schedule ends at steps or minutes (0 = steps only)")
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--gguf", default=None, help="GGUF path (default DIR/default.gguf)")
    ap.add_argument("--init", default=None,
                    help="start from these weights (a second phase; fresh optimizer)")
    ap.add_argument("--log-suffix", default="", help="loss.csv -> loss<suffix>.csv etc.")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tok = load_tok(args.data)
    cfg = Config(vocab=len(tok.vocab), **MODEL_CFG)
    model = Qwen3(cfg)
    ckpt = os.path.join(args.data, "model.pt")
    if args.export_only:
        model.load_state_dict(torch.load(ckpt))
        export(model, tok, args.gguf or os.path.join(args.data, "default.gguf"))
        return

    if args.init:
        model.load_state_dict(torch.load(args.init))
    t0 = time.time()
    seqs, skipped = encode_all(args.data, tok, args.max_len, args.seed)
    n_tok = sum(len(s[0]) for s in seqs)
    n_loss = sum(sum(s[1]) for s in seqs)
    print("data: %d sequences (%d longer than %d left out), %d tokens (%d with loss), longest %d,"
          " encode %.0fs" % (len(seqs), skipped, args.max_len, n_tok, n_loss,
                             max(len(s[0]) for s in seqs), time.time() - t0), flush=True)
    print("torch: %d threads" % torch.get_num_threads(), flush=True)
    print("model: %d parameters" % n_params(model), flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": other, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    rng = random.Random(args.seed)
    batches, bi, epoch = make_batches(seqs, args.batch_tokens, rng), 0, 0
    pad = tok.id["<|endoftext|>"]
    log, t_start, cpu_start = [], time.time(), time.process_time()
    # A step that takes far longer than usual means the process was paused (SIGSTOP by a
    # benchmark) or starved: that time still counts against the wall-clock budget (the run
    # must end on time) but is recorded as paused, so the record states the real training time.
    paused, recent, t_prev = 0.0, [], t_start
    tokens_seen = 0
    step = 0
    smooth = None
    for step in range(1, args.steps + 1):
        if bi >= len(batches):
            batches, bi, epoch = make_batches(seqs, args.batch_tokens, rng), 0, epoch + 1
        x, y = collate(seqs, batches[bi], pad)
        bi += 1
        # Progress is whichever budget runs out first, steps or wall time, so a slow (shared)
        # machine still ends with a fully decayed learning rate.
        el = time.time() - t_start
        pr = (step - args.warmup) / max(1, args.steps - args.warmup)
        if args.minutes:
            pr = max(pr, el / (args.minutes * 60))
        if step <= args.warmup:
            lr = args.lr * step / args.warmup
        else:
            lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, pr))))
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens_seen += x.numel()
        lv = float(loss)
        now = time.time()
        dt, t_prev = now - t_prev, now
        if len(recent) >= 10:
            med = sorted(recent)[len(recent) // 2]
            if dt > max(10.0, 5 * med):
                paused += dt - med
                dt = med
        recent = (recent + [dt])[-50:]
        smooth = lv if smooth is None else 0.98 * smooth + 0.02 * lv
        el = time.time() - t_start
        log.append((step, lv, lr, el, epoch))
        if step % 5 == 0 or step == 1:
            print("step %d/%d loss %.4f (avg %.4f) lr %.2e epoch %d %.0fs %.0f tok/s" %
                  (step, args.steps, lv, smooth, lr, epoch, el, tokens_seen / el), flush=True)
        if step % 500 == 0:
            torch.save(model.state_dict(), ckpt)
        if pr >= 1.0 and step < args.steps:
            print("stopping at step %d: wall-clock budget used" % step, flush=True)
            break
    train_s = time.time() - t_start
    cpu_s = time.process_time() - cpu_start
    torch.save(model.state_dict(), ckpt)
    with open(os.path.join(args.data, "loss%s.csv" % args.log_suffix), "w") as f:
        f.write("step,loss,lr,seconds,epoch\n")
        for r in log:
            f.write("%d,%.5f,%.6g,%.1f,%d\n" % r)
    info = {"seed": args.seed, "init": args.init, "steps_planned": args.steps, "steps_done": step,
            "batch_tokens": args.batch_tokens, "lr": args.lr, "threads": args.threads,
            "sequences": len(seqs), "tokens": n_tok, "loss_tokens": n_loss,
            "tokens_processed": tokens_seen, "epochs": epoch + bi / max(1, len(batches)),
            "parameters": n_params(model), "train_seconds": round(train_s, 1),
            "paused_seconds": round(paused, 1), "active_seconds": round(train_s - paused, 1),
            "cpu_seconds": round(cpu_s, 1), "tokens_per_second": round(tokens_seen / train_s),
            "skipped_long": skipped, "max_len": args.max_len, "warmup": args.warmup,
            "final_loss_avg": smooth, "config": MODEL_CFG, "vocab": len(tok.vocab)}
    with open(os.path.join(args.data, "train_log%s.json" % args.log_suffix), "w") as f:
        json.dump(info, f, indent=1)
    export(model, tok, os.path.join(args.data, "default.gguf"))
    print("done: %s" % json.dumps(info), flush=True)


if __name__ == "__main__":
    main()
