// tests/server/openai_test.mjs BASE_URL API_KEY — drives `edgellm serve` with the official
// `openai` npm client, unchanged, as a real application would: chat (plain and streamed),
// completions, a tool call with the tool result fed back (plain and streamed), json_schema and
// json_object output, logprobs, seeds, an API-key rejection and the error shapes the client
// turns into exceptions. The model has random weights: the checks are on protocol, shapes and
// constraints, never on what it says. Prints "FAIL ..." lines and "N passed, N failed" last.
import OpenAI from 'openai';

const [base, key] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 60000 });
const MODEL = 'tiny-qwen3';
let passed = 0, failed = 0;

function check(cond, what, detail) {
  if (cond) passed++;
  else {
    failed++;
    console.log(`FAIL ${what}${detail !== undefined ? ': ' + JSON.stringify(detail).slice(0, 400) : ''}`);
  }
}

async function test(name, fn) {
  try {
    await fn();
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: threw ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
  }
}

const user = (text) => [{ role: 'user', content: text }];

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string', maxLength: 12 },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
const timeTool = {
  type: 'function',
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { tz: { type: 'string', maxLength: 8 } }, required: ['tz'] },
  },
};

function validWeatherArgs(s) {
  try {
    const a = JSON.parse(s);
    return typeof a.city === 'string' && [...a.city].length <= 12 &&
      ['celsius', 'fahrenheit'].includes(a.unit) && Object.keys(a).length === 2;
  } catch {
    return false;
  }
}

await test('models', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id);
  check(ids.includes(MODEL), 'models.list has the alias', ids);
});

await test('chat non-streaming', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: user('Hello!'), max_tokens: 10 });
  const c = r.choices[0];
  check(r.object === 'chat.completion' && r.id.startsWith('chatcmpl-'), 'chat object/id', r);
  check(c.message.role === 'assistant' && typeof c.message.content === 'string', 'chat message', c);
  check(['stop', 'length'].includes(c.finish_reason), 'chat finish_reason', c.finish_reason);
  check(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 10 &&
    r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens, 'chat usage', r.usage);
});

await test('chat with system/developer messages and max_completion_tokens', async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'developer', content: 'Really brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Hi' }, { type: 'text', text: 'there' }] }],
    max_completion_tokens: 3,
  });
  check(r.usage.completion_tokens <= 3, 'max_completion_tokens honoured', r.usage);
});

await test('chat streaming', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL, messages: user('Stream please'), max_tokens: 12, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '', finish = null, usage = null, chunks = 0, ids = new Set(), role = null;
  for await (const ch of stream) {
    chunks++;
    ids.add(ch.id);
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      if (c.delta.role) role = c.delta.role;
      if (c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  check(chunks >= 3 && ids.size === 1 && role === 'assistant', 'stream chunks/ids/role', { chunks, ids: [...ids], role });
  check(['stop', 'length'].includes(finish), 'stream finish_reason', finish);
  check(usage && usage.completion_tokens >= 1 && usage.completion_tokens <= 12, 'stream usage', usage);
});

await test('completions', async () => {
  const r = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 8, logprobs: 2 });
  const c = r.choices[0];
  check(r.object === 'text_completion' && typeof c.text === 'string', 'completion shape', r);
  check(c.logprobs && c.logprobs.tokens.length === r.usage.completion_tokens - (c.finish_reason === 'stop' ? 1 : 0) &&
    c.logprobs.top_logprobs.every((t) => Object.keys(t).length <= 2), 'completion logprobs', c.logprobs);
  const s = await client.completions.create({ model: MODEL, prompt: 'Once upon a time', max_tokens: 8, stream: true });
  let text = '', finish = null;
  for await (const ch of s) {
    text += ch.choices[0].text;
    if (ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
  }
  check(['stop', 'length'].includes(finish), 'completion stream finish', finish);
});

await test('seeded sampling', async () => {
  // the first request warms the slot's cache: the next two decode the same batch shapes
  await client.chat.completions.create({ model: MODEL, messages: user('seed'), max_tokens: 10, seed: 1234, temperature: 1 });
  const a = await client.chat.completions.create({ model: MODEL, messages: user('seed'), max_tokens: 10, seed: 1234, temperature: 1 });
  const b = await client.chat.completions.create({ model: MODEL, messages: user('seed'), max_tokens: 10, seed: 1234, temperature: 1 });
  check(a.choices[0].message.content === b.choices[0].message.content, 'same seed, same answer',
    [a.choices[0].message.content, b.choices[0].message.content]);
});

await test('chat logprobs', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: user('lp'), max_tokens: 5, logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs?.content;
  check(Array.isArray(lp) && lp.length >= 1 && lp.length <= 5, 'logprobs.content entries', r.choices[0].logprobs);
  check(lp && lp.every((t) => typeof t.token === 'string' && t.logprob <= 0 && Array.isArray(t.bytes) &&
    t.top_logprobs.length === 3 && t.top_logprobs[0].logprob >= t.top_logprobs[2].logprob), 'logprob entries', lp);
});

await test('tool call round trip', async () => {
  const messages = user('What is the weather in Oslo?');
  const r = await client.chat.completions.create({
    model: MODEL, messages, tools: [weatherTool, timeTool],
    tool_choice: { type: 'function', function: { name: 'get_weather' } }, max_tokens: 300,
  });
  const c = r.choices[0];
  const tc = c.message.tool_calls?.[0];
  check(c.finish_reason === 'tool_calls', 'finish_reason tool_calls', c);
  check(tc && tc.type === 'function' && tc.id && tc.function.name === 'get_weather', 'the named tool is called', c.message);
  check(tc && validWeatherArgs(tc.function.arguments), 'arguments follow the parameters schema', tc?.function);
  // the result goes back as a tool message; the model answers (anything) in plain text
  const r2 = await client.chat.completions.create({
    model: MODEL,
    messages: [...messages, c.message, { role: 'tool', tool_call_id: tc.id, content: JSON.stringify({ temp: 4, sky: 'snow' }) }],
    tools: [weatherTool, timeTool], tool_choice: 'none', max_tokens: 8,
  });
  check(typeof r2.choices[0].message.content === 'string' && !r2.choices[0].message.tool_calls, 'answer after the tool result', r2.choices[0]);
  const r0 = await client.chat.completions.create({ model: MODEL, messages, tools: [weatherTool, timeTool], tool_choice: 'none', max_tokens: 1 });
  check(r2.usage.prompt_tokens > r0.usage.prompt_tokens + 20, 'the call and its result are part of the prompt', [r0.usage, r2.usage]);
});

await test('tool call streamed, tool_choice required', async () => {
  const stream = await client.chat.completions.create({
    model: MODEL, messages: user('Time in Tokyo and weather?'), tools: [weatherTool, timeTool],
    tool_choice: 'required', max_tokens: 300, stream: true,
  });
  const calls = [];
  let finish = null;
  for await (const ch of stream) {
    const d = ch.choices[0]?.delta;
    if (ch.choices[0]?.finish_reason) finish = ch.choices[0].finish_reason;
    for (const t of d?.tool_calls ?? []) {
      if (!calls[t.index]) calls[t.index] = { id: t.id, name: t.function?.name ?? '', args: '' };
      if (t.function?.arguments) calls[t.index].args += t.function.arguments;
    }
  }
  check(finish === 'tool_calls' && calls.length === 1, 'one streamed call', { finish, calls });
  const c = calls[0];
  const ok = c && c.id && (c.name === 'get_weather' ? validWeatherArgs(c.args)
    : c.name === 'get_time' && typeof JSON.parse(c.args).tz === 'string');
  check(ok, 'streamed call assembles into valid arguments', c);
});

await test('json_schema output', async () => {
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 16 },
      age: { type: 'integer', minimum: 0, maximum: 130 },
      tags: { type: 'array', items: { type: 'string', enum: ['a', 'b', 'c'] }, maxItems: 3 },
      ok: { type: 'boolean' },
    },
    required: ['name', 'age', 'tags', 'ok'],
    additionalProperties: false,
  };
  for (const stream of [false, true]) {
    const args = { model: MODEL, messages: user('A person as JSON'), max_tokens: 400,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } } };
    let text = '';
    if (stream) {
      for await (const ch of await client.chat.completions.create({ ...args, stream: true }))
        text += ch.choices[0]?.delta?.content ?? '';
    } else {
      text = (await client.chat.completions.create(args)).choices[0].message.content;
    }
    let o = null;
    try { o = JSON.parse(text); } catch { /* checked below */ }
    check(o && typeof o.name === 'string' && [...o.name].length <= 16 && Number.isInteger(o.age) &&
      o.age >= 0 && o.age <= 130 && Array.isArray(o.tags) && o.tags.length <= 3 &&
      o.tags.every((t) => ['a', 'b', 'c'].includes(t)) && typeof o.ok === 'boolean' &&
      Object.keys(o).length === 4, `json_schema output validates (stream=${stream})`, text);
  }
  const r = await client.chat.completions.create({ model: MODEL, messages: user('any JSON'), max_tokens: 200,
    response_format: { type: 'json_object' } });
  const t = r.choices[0].message.content;
  let o = null;
  try { o = JSON.parse(t); } catch { /* checked below */ }
  check(r.choices[0].finish_reason === 'length' || (o !== null && typeof o === 'object' && !Array.isArray(o)),
    'json_object output is an object (or cut by max_tokens)', t);
});

await test('thinking switch accepted', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: user('hi'), max_tokens: 4,
    chat_template_kwargs: { enable_thinking: false } });
  check(typeof r.choices[0].message.content === 'string', 'enable_thinking false', r.choices[0]);
});

await test('API key rejection', async () => {
  const bad = new OpenAI({ baseURL: base, apiKey: 'not-the-key', maxRetries: 0 });
  try {
    await bad.chat.completions.create({ model: MODEL, messages: user('x') });
    check(false, 'wrong key must fail');
  } catch (e) {
    check(e instanceof OpenAI.AuthenticationError && e.status === 401 && e.code === 'invalid_api_key',
      'wrong key → AuthenticationError 401', { status: e.status, code: e.code, msg: e.message });
  }
});

await test('error shapes', async () => {
  const cases = [
    [{ model: MODEL, messages: [{ role: 'wizard', content: 'x' }] }, 'invalid_value', 'messages[0]'],
    [{ model: MODEL, messages: user('x'), temperature: 'hot' }, 'invalid_type', 'temperature'],
    [{ model: MODEL, messages: user('x'), n: 3 }, 'invalid_value', 'n'],
    [{ model: MODEL, messages: user('x'), tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'invalid_value', 'tool_choice'],
  ];
  for (const [body, code, param] of cases) {
    try {
      await client.chat.completions.create(body);
      check(false, `${code} must fail`, body);
    } catch (e) {
      check(e instanceof OpenAI.BadRequestError && e.status === 400 && e.code === code &&
        e.type === 'invalid_request_error' && e.param === param && e.message.length > 10,
      `error shape for ${code}/${param}`, { status: e.status, code: e.code, type: e.type, param: e.param, m: e.message });
    }
  }
  try {
    await client.chat.completions.create({ model: MODEL, messages: user('lorem ipsum '.repeat(3000)) });
    check(false, 'too long must fail');
  } catch (e) {
    check(e.status === 400 && e.code === 'context_length_exceeded', 'context_length_exceeded', { status: e.status, code: e.code });
  }
});

await test('concurrent streams', async () => {
  const one = async (i) => {
    let finish = null;
    for await (const ch of await client.chat.completions.create({ model: MODEL, messages: user(`req ${i}`), max_tokens: 16, stream: true }))
      if (ch.choices[0]?.finish_reason) finish = ch.choices[0].finish_reason;
    return finish;
  };
  const res = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(one));
  check(res.every((f) => f === 'stop' || f === 'length'), '8 concurrent streams finish', res);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
