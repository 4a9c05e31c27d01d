#!/usr/bin/env node
// bench/serve_bench.js — speed of `edgellm serve` through its HTTP API (a benchmark, not a
// test: it prints figures and asserts nothing).
//
//   node bench/serve_bench.js -m model.gguf [--bin build/edgellm] [-np 4] [-t THREADS]
//                             [--seconds 10] [--tokens 64] [--turns 5] [--words 150]
//   node bench/serve_bench.js --url http://127.0.0.1:8080 [--key KEY] ...   (a running server)
//
// 1. Throughput at 1, 2 and 4 concurrent clients: each client sends streaming chat requests
//    back to back for --seconds (max_tokens --tokens, ignore_eos so every answer has the same
//    length); reports requests/s, generated tokens/s (all clients together), mean time to
//    first token and mean per-stream decode speed.
// 2. Prefix reuse: --turns two-turn conversations, each with its own system prompt of --words
//    (no sharing between conversations). Time to first token of turn 1 (whole prompt
//    prefilled) against turn 2 (the previous turn is in the slot's cache; only the new
//    messages are prefilled), with the cached token counts the server reports.
// Needs only Node.js (no npm packages).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const SECONDS = +opt('--seconds', '10'), TOKENS = +opt('--tokens', '64'), TURNS = +opt('--turns', '5');
let base = opt('--url', null);
const key = opt('--key', null);
let server = null;

async function startServer() {
  const model = opt('-m', opt('--model', null));
  if (!model) throw new Error('give -m model.gguf or --url of a running server');
  const bin = opt('--bin', 'build/edgellm');
  const portFile = path.join(os.tmpdir(), `edgellm-bench-${process.pid}.port`);
  const a = ['serve', '-m', model, '--port', '0', '--port-file', portFile, '-np', opt('-np', '4'), '-c', opt('-c', '4096')];
  if (opt('-t', null)) a.push('-t', opt('-t', null));
  server = spawn(bin, a, { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if (fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()) {
      base = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
      const h = await get('/health');
      if (h.status === 200) {
        fs.unlinkSync(portFile);
        return;
      }
    }
  }
  throw new Error('server did not start');
}

function get(p) {
  return new Promise((resolve) => {
    http.get(base + p, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve({ status: res.statusCode, body: s }));
    }).on('error', () => resolve({ status: 0, body: '' }));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

// one streaming chat request; resolves with timings and usage
function chat(messages, maxTokens, extra = {}) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify({
      messages, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true }, ...extra,
    }));
    const headers = { 'content-type': 'application/json', 'content-length': body.length };
    if (key) headers.authorization = `Bearer ${key}`;
    const t0 = performance.now();
    let tFirst = 0, buf = '', text = '', usage = null;
    const req = http.request(base + '/v1/chat/completions', { method: 'POST', agent, headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`HTTP ${res.statusCode}`));
      }
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let k;
        while ((k = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, k);
          buf = buf.slice(k + 2);
          if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
          const c = JSON.parse(ev.slice(6));
          if (c.usage) usage = c.usage;
          const piece = c.choices?.[0]?.delta?.content;
          if (piece) {
            if (!tFirst) tFirst = performance.now();
            text += piece;
          }
        }
      });
      let ended = false;
      res.on('end', () => {
        ended = true;
        resolve({ t0, tFirst: tFirst || performance.now(), tEnd: performance.now(), text, usage });
      });
      res.on('close', () => ended || reject(new Error('connection closed mid-response')));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function throughput(clients) {
  const end = performance.now() + SECONDS * 1000;
  let reqs = 0, toks = 0, ttft = 0, decodeRate = 0;
  const one = async (k) => {
    for (let r = 0; performance.now() < end; r++) {
      const x = await chat([{ role: 'user', content: `Client ${k}, request ${r}: tell me a story.` }], TOKENS, { ignore_eos: true });
      reqs++;
      toks += x.usage.completion_tokens;
      ttft += x.tFirst - x.t0;
      if (x.usage.completion_tokens > 1) decodeRate += (x.usage.completion_tokens - 1) / ((x.tEnd - x.tFirst) / 1000);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, k) => one(k)));
  const secs = (performance.now() - t0) / 1000;
  return { clients, rps: reqs / secs, tps: toks / secs, ttft: ttft / reqs, stream: decodeRate / reqs, reqs };
}

function words(n, seed) {
  const vocab = ['river', 'stone', 'light', 'garden', 'north', 'music', 'paper', 'window', 'silver', 'market', 'forest', 'engine'];
  let x = seed * 7919 + 17, out = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out.push(vocab[x % vocab.length]);
  }
  return out.join(' ');
}

async function prefixReuse() {
  const first = [], second = [], cached = [], prompt = [];
  for (let c = 0; c < TURNS; c++) {
    const sys = `You are assistant number ${c}. Background: ${words(+opt('--words', '150'), c)}.`;
    const msgs = [{ role: 'system', content: sys }, { role: 'user', content: `Question ${c}: what is in the garden?` }];
    const a = await chat(msgs, 16);
    const msgs2 = [...msgs, { role: 'assistant', content: a.text }, { role: 'user', content: 'And in the forest?' }];
    const b = await chat(msgs2, 16);
    first.push(a.tFirst - a.t0);
    second.push(b.tFirst - b.t0);
    cached.push(b.usage.prompt_tokens_details?.cached_tokens ?? 0);
    prompt.push(b.usage.prompt_tokens);
  }
  const med = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
  return { first: med(first), second: med(second), cached: med(cached), prompt: med(prompt), firstPrompt: 0 };
}

try {
  if (!base) await startServer();
  const m = JSON.parse((await get('/v1/models')).body || '{}');
  const meta = m.data?.[0]?.meta ?? {};
  console.log(`model ${m.data?.[0]?.id} (${meta.arch ?? '?'}, ${meta.n_params ?? '?'} params, ${meta.slots ?? '?'} slots, ctx ${meta.n_ctx ?? '?'}); ` +
    `${os.cpus().length} CPUs; ${SECONDS} s per row, ${TOKENS} tokens per answer`);
  console.log('clients  requests/s  tokens/s  mean TTFT ms  per-stream tok/s  requests');
  for (const c of [1, 2, 4]) {
    const r = await throughput(c);
    console.log(`${String(c).padStart(7)}  ${r.rps.toFixed(2).padStart(10)}  ${r.tps.toFixed(1).padStart(8)}  ` +
      `${r.ttft.toFixed(1).padStart(12)}  ${r.stream.toFixed(1).padStart(16)}  ${String(r.reqs).padStart(8)}`);
  }
  const p = await prefixReuse();
  console.log(`prefix reuse (median of ${TURNS} conversations): turn 1 TTFT ${p.first.toFixed(1)} ms; ` +
    `turn 2 TTFT ${p.second.toFixed(1)} ms with ${p.cached} of ${p.prompt} prompt tokens from the cache ` +
    `(${(p.first / p.second).toFixed(1)}x faster)`);
} finally {
  agent.destroy();
  if (server) server.kill('SIGTERM');
}
