#!/usr/bin/env python3
"""bpe.py — a byte-level BPE tokenizer (GPT-2 style) trained from scratch, pre-tokenized with
Qwen2's regex, so llama.cpp (`tokenizer.ggml.model = gpt2`, `pre = qwen2`) and edgellm split
text the same way this trainer did.

  * Text is first cut at special tokens (longest first); the pieces are split with the Qwen2
    pre-tokenizer regex; each piece's UTF-8 bytes are mapped to printable characters with
    GPT-2's byte-to-unicode table; merges are learned on those characters.
  * Vocabulary: the 256 byte characters, then one token per merge (in merge order), then the
    special tokens (CONTROL type in the GGUF).
  * Encoding applies merges by rank (lowest first, leftmost on ties), like llama.cpp.

CLI: bpe.py train --data DIR --vocab 4096  -> DIR/tokenizer.json
"""
import argparse
import heapq
import json
import os
import sys

import regex

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>",
                  "<think>", "</think>", "<tool_response>", "</tool_response>"]

# Qwen2's pre-tokenizer (tokenizer.json of Qwen2/Qwen3; llama.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2).
QWEN2_PAT = regex.compile(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character table."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENC = bytes_to_unicode()
BYTE_DEC = {v: k for k, v in BYTE_ENC.items()}
_SPECIAL_RE = regex.compile("(" + "|".join(regex.escape(t) for t in
                                          sorted(SPECIAL_TOKENS, key=len, reverse=True)) + ")")


def split_special(text):
    """[(piece, is_special)] in order."""
    out = []
    for i, part in enumerate(_SPECIAL_RE.split(text)):
        if part:
            out.append((part, i % 2 == 1))
    return out


def pretokenize(text):
    """Qwen2 regex pieces of a text without special tokens, byte-mapped."""
    return ["".join(BYTE_ENC[b] for b in p.encode("utf-8")) for p in QWEN2_PAT.findall(text)]


def train(texts, vocab_size, log=sys.stderr):
    counts = {}
    for t in texts:
        for piece, special in split_special(t):
            if special:
                continue
            for w in pretokenize(piece):
                counts[w] = counts.get(w, 0) + 1
    words = [list(w) for w in sorted(counts)]
    freqs = [counts[w] for w in sorted(counts)]
    n_merges = vocab_size - 256 - len(SPECIAL_TOKENS)
    pair_count, pair_where = {}, {}

    def add_pairs(i, sign):
        w = words[i]
        for a, b in zip(w, w[1:]):
            p = (a, b)
            pair_count[p] = pair_count.get(p, 0) + sign * freqs[i]
            if sign > 0:
                pair_where.setdefault(p, set()).add(i)

    for i in range(len(words)):
        add_pairs(i, 1)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges and heap:
        negc, p = heapq.heappop(heap)
        c = pair_count.get(p, 0)
        if c != -negc:
            if c > 0:
                heapq.heappush(heap, (-c, p))
            continue
        if c < 2:
            break
        merges.append(p)
        new = p[0] + p[1]
        touched = set()
        for i in list(pair_where.get(p, ())):
            w = words[i]
            if len(w) < 2:
                continue
            add_pairs(i, -1)
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == p[0] and w[j + 1] == p[1]:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            add_pairs(i, 1)
            for q in zip(out, out[1:]):
                touched.add(q)
        for q in touched:
            if pair_count.get(q, 0) > 0:
                heapq.heappush(heap, (-pair_count[q], q))
        if len(merges) % 500 == 0:
            print("bpe: %d merges (last count %d)" % (len(merges), c), file=log)
    vocab = [BYTE_ENC[b] for b in range(256)]
    vocab += [a + b for a, b in merges]
    assert len(set(vocab)) == len(vocab), "duplicate token"
    vocab += SPECIAL_TOKENS
    return {"vocab": vocab, "merges": [a + " " + b for a, b in merges],
            "special": SPECIAL_TOKENS}


class Tokenizer:
    def __init__(self, tok):
        self.vocab = tok["vocab"]
        self.id = {t: i for i, t in enumerate(self.vocab)}
        self.ranks = {tuple(m.split(" ")): i for i, m in enumerate(tok["merges"])}
        self.cache = {}

    def _bpe(self, w):
        if w in self.cache:
            return self.cache[w]
        syms = list(w)
        while len(syms) > 1:
            best, bi = None, -1
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            syms[bi:bi + 2] = [syms[bi] + syms[bi + 1]]
        ids = [self.id[s] for s in syms]
        self.cache[w] = ids
        return ids

    def encode(self, text):
        ids = []
        for piece, special in split_special(text):
            if special:
                ids.append(self.id[piece])
            else:
                for w in pretokenize(piece):
                    ids.extend(self._bpe(w))
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.vocab[i]
            if t in SPECIAL_TOKENS:
                out += t.encode()
            else:
                out += bytes(BYTE_DEC[c] for c in t)
        return out.decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["train", "encode"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--text", default="")
    args = ap.parse_args()
    if args.cmd == "train":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import chat
        texts = []
        with open(os.path.join(args.data, "train.jsonl")) as f:
            for line in f:
                c = json.loads(line)
                texts.append(chat.render(c["messages"], c.get("tools")))
        tok = train(texts, args.vocab)
        with open(os.path.join(args.data, "tokenizer.json"), "w") as f:
            json.dump(tok, f, ensure_ascii=False)
        print("bpe: vocab %d (%d merges)" % (len(tok["vocab"]), len(tok["merges"])))
    else:
        with open(os.path.join(args.data, "tokenizer.json")) as f:
            tok = Tokenizer(json.load(f))
        print(" ".join(str(i) for i in tok.encode(args.text)))


if __name__ == "__main__":
    main()
