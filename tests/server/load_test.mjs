// tests/server/load_test.mjs URL SERVER_PID CLIENTS REQUESTS [norss] — a bounded load test of
// `edgellm serve`: CLIENTS concurrent clients, each sending REQUESTS streaming requests (chat and
// completions alternately, short max_tokens) over keep-alive connections. Every response must
// be either a complete, well-framed SSE stream (one id, one finish_reason, ends with [DONE]) or
// a 503 with the OpenAI error shape — nothing lost, nothing garbled. The server's own counters
// must agree with what the clients saw, its queue and slots must be empty at the end, and its
// resident memory (VmRSS) must not grow between the end of the warm-up (first 10%) and the end
// (skipped with `norss`: sanitizer builds keep freed memory in quarantine on purpose).
// Prints "load: ..." figures, "FAIL ..." lines and "N passed, N failed" last.
import fs from 'node:fs';
import http from 'node:http';

const [base, pid, nClients = '32', nReq = '200', rssMode = ''] = process.argv.slice(2);
const CLIENTS = +nClients, REQS = +nReq, TOTAL = CLIENTS * REQS;
const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
let passed = 0, failed = 0;
const check = (cond, what, detail) => {
  if (cond) passed++;
  else {
    failed++;
    console.log(`FAIL ${what}${detail !== undefined ? ': ' + JSON.stringify(detail).slice(0, 300) : ''}`);
  }
};

const rssKiB = () => +/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1];

function request(path, body) {
  return new Promise((resolve) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(base + path, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': data.length },
    }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body: Buffer.concat(parts) }));
      res.on('error', (e) => resolve({ status: -1, error: String(e) }));
    });
    req.on('error', (e) => resolve({ status: -1, error: String(e) }));
    req.end(data);
  });
}

// '' when the stream is well formed, else what is wrong with it
function sseProblem(buf, object) {
  const text = buf.toString('utf8');
  if (!text.endsWith('data: [DONE]\n\n')) return 'no [DONE] at the end';
  const events = text.slice(0, -2).split('\n\n');
  const ids = new Set();
  let finishes = 0;
  for (let i = 0; i < events.length - 1; i++) {
    const ev = events[i];
    if (!ev.startsWith('data: ') || ev.includes('\n')) return `bad event ${JSON.stringify(ev.slice(0, 80))}`;
    let c;
    try { c = JSON.parse(ev.slice(6)); } catch { return `not JSON: ${ev.slice(0, 80)}`; }
    if (c.error) return `error event ${JSON.stringify(c.error)}`;
    if (c.object !== object) return `object ${c.object}`;
    ids.add(c.id);
    if (c.choices?.[0]?.finish_reason) finishes++;
  }
  if (ids.size !== 1) return `${ids.size} ids`;
  if (finishes !== 1) return `${finishes} finish reasons`;
  return '';
}

let done = 0, ok = 0, busy = 0, bad = 0, rssWarm = 0;
const problems = [];
const t0 = Date.now();

async function client(k) {
  for (let r = 0; r < REQS; r++) {
    const chat = (k + r) % 2 === 0;
    const res = chat
      ? await request('/v1/chat/completions', { messages: [{ role: 'user', content: `client ${k} request ${r}` }], max_tokens: 6, stream: true })
      : await request('/v1/completions', { prompt: `client ${k} request ${r}:`, max_tokens: 6, stream: true });
    if (res.status === 200) {
      const p = sseProblem(res.body, chat ? 'chat.completion.chunk' : 'text_completion');
      if (p === '' && /^text\/event-stream/.test(res.type)) ok++;
      else { bad++; problems.push(p || `content-type ${res.type}`); }
    } else if (res.status === 503) {
      let e = null;
      try { e = JSON.parse(res.body.toString('utf8')).error; } catch { /* counted below */ }
      if (e && e.code === 'server_busy' && e.message) busy++;
      else { bad++; problems.push(`503 body ${res.body.toString('utf8').slice(0, 100)}`); }
      await new Promise((r) => setTimeout(r, 10)); // as a client honouring Retry-After would, briefly
    } else {
      bad++;
      problems.push(`status ${res.status} ${res.error ?? res.body?.toString('utf8').slice(0, 100)}`);
    }
    if (++done === Math.ceil(TOTAL / 10)) rssWarm = rssKiB();
  }
}

await Promise.all(Array.from({ length: CLIENTS }, (_, k) => client(k)));
const secs = (Date.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 200)); // let the last connections settle
const rssEnd = rssKiB();
console.log(`load: ${CLIENTS} clients x ${REQS} requests in ${secs.toFixed(1)} s (${(TOTAL / secs).toFixed(0)} req/s): ` +
  `${ok} complete, ${busy} refused with 503, ${bad} bad; VmRSS ${rssWarm} kB after warm-up, ${rssEnd} kB at the end`);
check(ok + busy + bad === TOTAL, 'every request answered', { ok, busy, bad, TOTAL });
check(bad === 0, `no lost or garbled responses (${bad})`, problems.slice(0, 5));
check(ok >= TOTAL / 4, `a good share of requests is served, not refused (${ok} of ${TOTAL})`);
// resident memory flat: allow 10% + 8 MiB of noise (allocator arenas, page cache of the model)
if (rssMode !== 'norss') check(rssEnd <= rssWarm * 1.10 + 8192, `VmRSS flat: ${rssWarm} kB → ${rssEnd} kB`);

const m = await new Promise((resolve) => {
  http.get(base + '/metrics', (res) => {
    let s = '';
    res.on('data', (d) => (s += d));
    res.on('end', () => resolve(s));
  }).on('error', () => resolve(''));
});
const metric = (re) => {
  let sum = 0;
  for (const line of m.split('\n')) {
    const x = re.exec(line);
    if (x) sum += +x[1];
  }
  return sum;
};
const served = metric(/^edgellm_requests_total\{endpoint="(?:chat|completions)",code="2xx"\} (\d+)/);
const refused = metric(/^edgellm_requests_rejected_total (\d+)/);
check(served === ok && refused === busy, 'server counters agree with the clients', { served, ok, refused, busy });
check(metric(/^edgellm_queue_depth (\d+)/) === 0 && metric(/^edgellm_slots_busy (\d+)/) === 0, 'queue and slots empty at the end');
agent.destroy();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
