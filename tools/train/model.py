"""model.py — the Qwen3 decoder in PyTorch, written to match llama.cpp's LLM_ARCH_QWEN3 graph:

  x = tok_embd[ids]
  per layer:  h = rmsnorm(x) * attn_norm
              q = h Wq -> (T, n_head, hd);   q = rmsnorm_hd(q) * q_norm;   q = rope_neox(q)
              k = h Wk -> (T, n_kv, hd);     k = rmsnorm_hd(k) * k_norm;   k = rope_neox(k)
              v = h Wv -> (T, n_kv, hd)
              x = x + softmax(q k^T / sqrt(hd), causal) v  Wo        (GQA: kv head = q head / g)
              x = x + Wdown( silu(Wgate h') * Wup h' ),  h' = rmsnorm(x) * ffn_norm
  logits = (rmsnorm(x) * output_norm) tok_embd^T        (tied embeddings, no output.weight)

"neox" RoPE rotates the pairs (i, i + hd/2) — the half-split layout Hugging Face's
rotate_half uses, which is what llama.cpp's converter leaves untouched for qwen3.
Linear weights are stored (out, in), the GGUF layout with ne0 = in."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, **kw):
        self.vocab = 4096
        self.n_embd = 256
        self.n_layer = 6
        self.n_head = 4
        self.n_kv = 2
        self.head_dim = 64
        self.n_ff = 768
        self.rope_base = 10000.0
        self.eps = 1e-6
        self.ctx = 1024
        self.__dict__.update(kw)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(hd, n, base):
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.arange(n, dtype=torch.float64)[:, None] * inv[None, :]  # (n, hd/2)
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope_neox(x, cos, sin):
    # x: (B, H, T, hd); cos/sin: (T, hd/2)
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.attn_norm = RMSNorm(c.n_embd, c.eps)
        self.wq = nn.Linear(c.n_embd, c.n_head * c.head_dim, bias=False)
        self.wk = nn.Linear(c.n_embd, c.n_kv * c.head_dim, bias=False)
        self.wv = nn.Linear(c.n_embd, c.n_kv * c.head_dim, bias=False)
        self.wo = nn.Linear(c.n_head * c.head_dim, c.n_embd, bias=False)
        self.q_norm = RMSNorm(c.head_dim, c.eps)
        self.k_norm = RMSNorm(c.head_dim, c.eps)
        self.ffn_norm = RMSNorm(c.n_embd, c.eps)
        self.w_gate = nn.Linear(c.n_embd, c.n_ff, bias=False)
        self.w_up = nn.Linear(c.n_embd, c.n_ff, bias=False)
        self.w_down = nn.Linear(c.n_ff, c.n_embd, bias=False)

    def forward(self, x, cos, sin, mask):
        c = self.c
        B, T, _ = x.shape
        h = self.attn_norm(x)
        q = self.q_norm(self.wq(h).view(B, T, c.n_head, c.head_dim)).transpose(1, 2)
        k = self.k_norm(self.wk(h).view(B, T, c.n_kv, c.head_dim)).transpose(1, 2)
        v = self.wv(h).view(B, T, c.n_kv, c.head_dim).transpose(1, 2)
        q, k = rope_neox(q, cos, sin), rope_neox(k, cos, sin)
        # GQA without copying K/V: the g query heads that share a KV head (q head h uses kv
        # head h // g, as llama.cpp does) are stacked along the time axis of one matmul.
        g = c.n_head // c.n_kv
        q = q.reshape(B, c.n_kv, g * T, c.head_dim) * (1.0 / math.sqrt(c.head_dim))
        att = (q @ k.transpose(-1, -2)).view(B, c.n_kv, g, T, T) + mask
        y = F.softmax(att, dim=-1).view(B, c.n_kv, g * T, T) @ v
        y = y.view(B, c.n_head, T, c.head_dim).transpose(1, 2)
        x = x + self.wo(y.reshape(B, T, c.n_head * c.head_dim))
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Qwen3(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok_embd = nn.Embedding(c.vocab, c.n_embd)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.n_layer)])
        self.out_norm = RMSNorm(c.n_embd, c.eps)
        cos, sin = rope_tables(c.head_dim, c.ctx, c.rope_base)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for n, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02
                if n.endswith("wo.weight") or n.endswith("w_down.weight"):
                    std = 0.02 / math.sqrt(2 * c.n_layer)
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids):
        B, T = ids.shape
        x = self.tok_embd(ids)
        mask = torch.full((T, T), float("-inf")).triu(1)
        cos, sin = self.cos[:T], self.sin[:T]
        for blk in self.layers:
            x = blk(x, cos, sin, mask)
        return self.out_norm(x) @ self.tok_embd.weight.t()

    @torch.no_grad()
    def greedy(self, ids, n, stop):
        """Greedy continuation (full recompute each step; fine for a few dozen tokens)."""
        ids = list(ids)
        out = []
        for _ in range(n):
            logits = self.forward(torch.tensor([ids]))[0, -1]
            t = int(torch.argmax(logits))
            out.append(t)
            ids.append(t)
            if t in stop:
                break
        return out


def n_params(m):
    return sum(p.numel() for p in m.parameters())
