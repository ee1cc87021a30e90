// test_openai.mjs — `ember serve` driven by the official openai npm client: non-streaming and
// streaming completions, reasoning_effort, structured output (json_schema, json_object), stop
// strings, tool calls, Contemplating's extra events, conversations, metrics and the errors
// (bad JSON, wrong types, images, context overflow, body too large, unknown routes, keys).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenAI, startServer, client, http, metrics, waitMetrics, tempDir, addKey, G } from './support.mjs';

const OpenAI = await loadOpenAI();
const tmp = tempDir();
let server, api;

before(async () => {
  // no --web: the built app beside the binary (cli/web/) is found and served
  server = await startServer(['-c', '4096', '--parallel', '2', '--db', `${tmp.dir}/ember.db`, '--max-body', '65536', '-t', '1']);
  api = client(OpenAI, server);
});

after(async () => {
  await server?.stop();
  tmp.remove();
});

const user = (content) => [{ role: 'user', content }];

test('GET /v1/models and /health', async () => {
  const models = await api.models.list();
  assert.equal(models.data.length, 1);
  assert.equal(models.data[0].id, 'glimmer-tiny.gguf');
  const model = await api.models.retrieve('glimmer-tiny.gguf');
  assert.equal(model.object, 'model');
  const health = await http(server, 'GET', '/health');
  assert.equal(health.status, 200);
  assert.equal(health.json.status, 'ok');
});

test('non-streaming Instant answer with usage', async () => {
  const r = await api.chat.completions.create({
    model: 'glimmer-tiny.gguf', messages: user('2+2?'), reasoning_effort: 'none', seed: 1,
    ember: { grammar: G.four },
  });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(r.choices[0].message.content, 'Four.');
  assert.equal(r.choices[0].message.reasoning_content, undefined);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(r.usage.prompt_tokens > 10);
  assert.ok(r.usage.completion_tokens >= 1);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 0);
  assert.equal(r.ember.mode, 'instant');
});

test('non-streaming Thinking: reasoning_content and content', async () => {
  const r = await api.chat.completions.create({
    model: 'm', messages: [{ role: 'system', content: 'Be brief.' }, ...user('2+2?')],
    reasoning_effort: 'high', seed: 7, max_completion_tokens: 200, ember: { grammar: G.thinking },
  });
  const m = r.choices[0].message;
  assert.equal(m.reasoning_content, 'a'.repeat(30));
  assert.equal(m.content, 'The answer is 4.');
  assert.equal(r.ember.mode, 'thinking');
  assert.ok(r.usage.completion_tokens_details.reasoning_tokens >= 1);
});

test('streaming: role, reasoning deltas, content deltas, finish chunk, usage chunk, [DONE]', async () => {
  const stream = await api.chat.completions.create({
    model: 'm', messages: user('2+2?'), stream: true, stream_options: { include_usage: true },
    reasoning_effort: 'medium', seed: 3, ember: { grammar: G.thinking },
  });
  let reasoning = '', content = '', finish = null, usageChunk = null, role = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.choices.length === 0) { usageChunk = chunk.usage; continue; }
    const d = chunk.choices[0].delta;
    if (d.role) role = d.role;
    reasoning += d.reasoning_content ?? '';
    content += d.content ?? '';
    if (chunk.choices[0].finish_reason) {
      finish = chunk.choices[0].finish_reason;
      assert.ok(chunk.usage.prompt_tokens > 10, 'the finish chunk carries usage');
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(reasoning, 'a'.repeat(30));
  assert.equal(content, 'The answer is 4.');
  assert.equal(finish, 'stop');
  assert.ok(usageChunk && usageChunk.completion_tokens > 0);
  assert.ok(chunks > 5);
});

test('reasoning_effort maps to modes', async () => {
  for (const [effort, mode] of [['none', 'instant'], ['minimal', 'instant'], ['low', 'thinking'], ['xhigh', 'thinking']]) {
    const r = await api.chat.completions.create({
      model: 'm', messages: user('hi'), reasoning_effort: effort, max_tokens: 60, seed: 2,
      ember: { grammar: mode === 'instant' ? G.four : G.thinking },
    });
    assert.equal(r.ember.mode, mode, effort);
    if (mode === 'instant') assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 0);
  }
  await assert.rejects(api.chat.completions.create({ model: 'm', messages: user('hi'), reasoning_effort: 'huge' }),
    (e) => e.status === 400 && e.param === 'reasoning_effort');
});

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 8 },
    age: { type: 'integer' },
    member: { type: 'boolean' },
    tags: { type: 'array', items: { enum: ['red', 'green'] }, maxItems: 3 },
    nick: { type: ['string', 'null'], maxLength: 4 },
  },
  required: ['name', 'age', 'member'],
  additionalProperties: false,
};

function checkPerson(text) {
  const p = JSON.parse(text);
  assert.equal(typeof p.name, 'string');
  // (maxLength bounds the generation; with random weights some characters are invalid UTF-8,
  // which the library replaces by U+FFFD, so the length itself is not compared)
  assert.ok(Number.isInteger(p.age));
  assert.equal(typeof p.member, 'boolean');
  if (p.tags !== undefined) assert.ok(p.tags.every((t) => t === 'red' || t === 'green') && p.tags.length <= 3);
  for (const k of Object.keys(p)) assert.ok(k in PERSON.properties, k);
}

test('response_format json_schema gives JSON that follows the schema', async () => {
  for (const seed of [1, 2, 3]) {
    const r = await api.chat.completions.create({
      model: 'm', messages: user('Describe a person.'), reasoning_effort: 'none', seed, max_tokens: 300, temperature: 1,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON, strict: true } },
    });
    assert.equal(r.choices[0].finish_reason, 'stop', r.choices[0].message.content);
    checkPerson(r.choices[0].message.content);
  }
});

test('json_schema in Thinking mode: reasoning first, then the JSON answer', async () => {
  const r = await api.chat.completions.create({
    model: 'm', messages: user('Describe a person.'), reasoning_effort: 'low', seed: 5, max_tokens: 300,
    response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON } },
    ember: { think_budget: 8 },
  });
  assert.equal(r.choices[0].finish_reason, 'stop');
  checkPerson(r.choices[0].message.content);
});

test('response_format json_object starts an object; a bad schema is a 400', async () => {
  const r = await api.chat.completions.create({
    model: 'm', messages: user('JSON please'), reasoning_effort: 'none', seed: 4, max_tokens: 40,
    response_format: { type: 'json_object' },
  });
  assert.match(r.choices[0].message.content, /^\{/);
  if (r.choices[0].finish_reason === 'stop') assert.equal(typeof JSON.parse(r.choices[0].message.content), 'object');
  await assert.rejects(api.chat.completions.create({
    model: 'm', messages: user('x'), response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'widget' } } },
  }), (e) => e.status === 400 && /unknown type/.test(e.message));
  await assert.rejects(api.chat.completions.create({
    model: 'm', messages: user('x'), response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: 'http://x' } } },
  }), (e) => e.status === 400);
});

test('stop strings end and trim the answer, streaming or not', async () => {
  const body = { model: 'm', messages: user('x'), reasoning_effort: 'none', seed: 1, stop: ['is 4', 'never'], ember: { grammar: G.stop } };
  const r = await api.chat.completions.create(body);
  assert.equal(r.choices[0].message.content, 'The answer ');
  assert.equal(r.choices[0].finish_reason, 'stop');
  const stream = await api.chat.completions.create({ ...body, stop: 'is 4', stream: true });
  let content = '', finish;
  for await (const chunk of stream) {
    content += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(content, 'The answer ');
  assert.equal(finish, 'stop');
});

test('tools: a generated call comes back as tool_calls; the tool result continues the chat', async () => {
  const tools = [{
    type: 'function',
    function: {
      name: 'get_weather', description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] },
    },
  }];
  const r = await api.chat.completions.create({
    model: 'm', messages: user('Weather in Paris?'), tools, seed: 1, max_tokens: 200, ember: { grammar: G.toolCall },
  });
  const m = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  assert.equal(m.tool_calls.length, 1);
  const call = m.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.match(call.id, /^call_/);
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', days: 3 });

  const stream = await api.chat.completions.create({
    model: 'm', messages: user('Weather in Paris?'), tools, seed: 1, max_tokens: 200, stream: true, ember: { grammar: G.toolCall },
  });
  let streamed = null, finish;
  for await (const chunk of stream) {
    const tc = chunk.choices[0]?.delta?.tool_calls;
    if (tc) streamed = tc[0];
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(streamed.index, 0);
  assert.equal(streamed.function.name, 'get_weather');

  const next = await api.chat.completions.create({
    model: 'm', tools, reasoning_effort: 'none', seed: 1, ember: { grammar: G.four },
    messages: [...user('Weather in Paris?'), m, { role: 'tool', tool_call_id: call.id, content: '{"sky":"sunny"}' }],
  });
  assert.equal(next.choices[0].message.content, 'Four.');
  await assert.rejects(api.chat.completions.create({
    model: 'm', messages: [...user('x'), { role: 'tool', tool_call_id: 'nope', content: 'x' }],
  }), (e) => e.status === 400);
});

test('Contemplating: agent events ride along as chunks without choices', async () => {
  const stream = await api.chat.completions.create({
    model: 'm', messages: user('2+2?'), stream: true, max_tokens: 24, seed: 9,
    ember: { mode: 'contemplating', agents: 2, think_budget: 8, early_stop: true, consensus: 0.75 },
  });
  const types = new Set();
  const streamed = ['', ''];
  let finishChunk;
  for await (const chunk of stream) {
    if (chunk.ember?.type) types.add(chunk.ember.type);
    if (chunk.ember?.type === 'agent.delta' && chunk.ember.channel === 'reasoning') streamed[chunk.ember.agent] += chunk.ember.text;
    if (chunk.choices[0]?.finish_reason) finishChunk = chunk;
  }
  assert.ok(types.has('agent.started'), [...types].join());
  assert.ok(types.has('agent.finished'), [...types].join());
  assert.equal(finishChunk.ember.mode, 'contemplating');
  assert.equal(finishChunk.ember.agents.length, 2);
  // each agent's reasoning in the result: what streamed (and any text an early stop held back)
  finishChunk.ember.agents.forEach((a, i) => assert.ok(a.reasoning.startsWith(streamed[i]), JSON.stringify(a)));
  await assert.rejects(api.chat.completions.create({ model: 'm', messages: user('x'), ember: { mode: 'contemplating', agents: 99 } }),
    (e) => e.status === 400 && e.param === 'ember.agents');
});

test('ignore_eos: the run generates max_tokens whatever the model says (equal-work benchmarks)', async () => {
  for (const seed of [1, 2, 3]) {
    const r = await api.chat.completions.create({
      model: 'm', messages: user('go on'), reasoning_effort: 'none', seed, temperature: 1, max_tokens: 40, ignore_eos: true,
    });
    assert.equal(r.usage.completion_tokens, 40);
    assert.equal(r.choices[0].finish_reason, 'length');
  }
  const bad = await http(server, 'POST', '/v1/chat/completions', { body: { model: 'm', messages: user('x'), ignore_eos: 'yes' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.param, 'ignore_eos');
});

test('an exchange is stored once even when the run ends before the first look at it', async () => {
  // an empty grammar lets the model end its turn at once: DONE is the run's only event, seen by
  // the first wait; the exchange was once stored twice then (and a conversation id leaked)
  for (let i = 0; i < 3; i++) {
    const r = await api.chat.completions.create({
      model: 'm', messages: user(`empty ${i}`), reasoning_effort: 'none', ember: { grammar: 'root ::= ""\n', store: true },
    });
    assert.equal(r.choices[0].message.content, '');
    const one = await http(server, 'GET', `/v1/conversations/${r.ember.conversation_id}`);
    assert.deepEqual(one.json.messages.map((m) => m.role), ['user', 'assistant']);
    const list = await http(server, 'GET', '/v1/conversations');
    assert.equal(list.json.data.filter((c) => c.title === `empty ${i}`).length, 1);
  }
});

test('conversations: stored per exchange, listed, read, renamed, deleted', async () => {
  const r = await api.chat.completions.create({
    model: 'm', messages: user('Remember me'), reasoning_effort: 'low', max_tokens: 120, seed: 2,
    ember: { grammar: G.thinking, store: true },
  });
  const id = r.ember.conversation_id;
  assert.match(id, /^conv_/);
  await api.chat.completions.create({
    model: 'm', messages: user('Again'), reasoning_effort: 'none', seed: 2, ember: { grammar: G.four, conversation_id: id },
  });
  const list = await http(server, 'GET', '/v1/conversations');
  assert.equal(list.status, 200);
  assert.ok(list.json.data.some((c) => c.id === id && c.title === 'Remember me' && c.message_count === 4));
  const one = await http(server, 'GET', `/v1/conversations/${id}`);
  assert.deepEqual(one.json.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
  assert.equal(one.json.messages[1].reasoning_content, 'a'.repeat(30));
  assert.equal(one.json.messages[1].content, 'The answer is 4.');
  assert.equal(one.json.messages[1].ember.mode, 'thinking');
  const renamed = await http(server, 'PATCH', `/v1/conversations/${id}`, { body: { title: 'Renamed' } });
  assert.equal(renamed.json.title, 'Renamed');
  assert.equal((await http(server, 'PATCH', `/v1/conversations/${id}`, { body: { title: 5 } })).status, 400);
  const created = await http(server, 'POST', '/v1/conversations', { body: { title: 'Empty' } });
  assert.equal(created.status, 201);
  assert.equal((await http(server, 'DELETE', `/v1/conversations/${id}`)).json.deleted, true);
  assert.equal((await http(server, 'GET', `/v1/conversations/${id}`)).status, 404);
  await assert.rejects(api.chat.completions.create({ model: 'm', messages: user('x'), ember: { conversation_id: id } }),
    (e) => e.status === 404);
});

test('errors: bad JSON, wrong types, images, context, body size, routes — OpenAI error objects', async () => {
  const bad = await http(server, 'POST', '/v1/chat/completions', { body: '{"model": "m", "messages": [' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.type, 'invalid_request_error');
  assert.equal(bad.json.error.code, 'invalid_json');
  const cases = [
    [{ model: 'm', messages: 'hi' }, 'messages'],
    [{ model: 'm' }, 'messages'],
    [{ model: 'm', messages: [] }, 'messages'],
    [{ model: 'm', messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    [{ model: 'm', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    [{ model: 'm', messages: user('x'), temperature: 'hot' }, 'temperature'],
    [{ model: 'm', messages: user('x'), temperature: 5 }, 'temperature'],
    [{ model: 'm', messages: user('x'), max_tokens: -1 }, 'max_tokens'],
    [{ model: 'm', messages: user('x'), max_tokens: 1.5 }, 'max_tokens'],
    [{ model: 'm', messages: user('x'), stream: 'yes' }, 'stream'],
    [{ model: 'm', messages: user('x'), stop: [1] }, 'stop'],
    [{ model: 'm', messages: user('x'), n: 2 }, 'n'],
    [{ model: 'm', messages: user('x'), tools: [{ type: 'function' }] }, 'tools[0]'],
    [{ model: 'm', messages: user('x'), response_format: { type: 'xml' } }, 'response_format.type'],
    [{ model: 'm', messages: [{ role: 'assistant', content: 'x' }] }, 'messages'],
  ];
  for (const [body, param] of cases) {
    const r = await http(server, 'POST', '/v1/chat/completions', { body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.param, param, JSON.stringify(body));
    assert.equal(typeof r.json.error.message, 'string');
  }
  await assert.rejects(api.chat.completions.create({
    model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }],
  }), (e) => e.status === 400 && e.code === 'unsupported_content' && /data: URLs/.test(e.message));
  await assert.rejects(api.chat.completions.create({
    model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }],
  }), (e) => e.status === 400 && /image 1/.test(e.message));
  const parts = await api.chat.completions.create({
    model: 'm', reasoning_effort: 'none', ember: { grammar: G.four },
    messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
  });
  assert.equal(parts.choices[0].message.content, 'Four.');
  await assert.rejects(api.chat.completions.create({ model: 'm', messages: user('word '.repeat(6000)) }),
    (e) => e.status === 400 && e.code === 'context_length_exceeded');
  const big = await http(server, 'POST', '/v1/chat/completions', { body: JSON.stringify({ model: 'm', messages: user('x'.repeat(70000)) }) });
  assert.equal(big.status, 413);
  assert.equal(big.json.error.code, 'request_too_large');
  assert.equal((await http(server, 'GET', '/v1/nothing')).status, 404);
  assert.equal((await http(server, 'GET', '/v1/chat/completions')).status, 405);
  await assert.rejects(api.models.retrieve('other'), (e) => e.status === 404);
});

test('a client that disconnects mid-stream has its run cancelled and freed', async () => {
  const before = await metrics(server);
  const controller = new AbortController();
  const stream = await api.chat.completions.create({
    model: 'm', messages: user('go on'), reasoning_effort: 'none', stream: true, max_tokens: 1000,
    ember: { grammar: G.long },
  }, { signal: controller.signal });
  let n = 0;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta?.content && ++n === 3) controller.abort();
  }
  const after = await waitMetrics(server, (m) => m.ember_sequences_active === 0 && m.ember_runs_active === 0 &&
    m.ember_runs_cancelled_total > (before.ember_runs_cancelled_total ?? 0));
  assert.equal(after.ember_kv_cells_reserved, 0);
  // the server still answers
  const r = await api.chat.completions.create({ model: 'm', messages: user('x'), reasoning_effort: 'none', ember: { grammar: G.four } });
  assert.equal(r.choices[0].message.content, 'Four.');
});

test('/metrics: Prometheus text with requests, tokens, gauges and histograms', async () => {
  const res = await http(server, 'GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  const m = await metrics(server);
  assert.ok(m['ember_http_requests_total{code="200"}'] > 5);
  assert.ok(m['ember_http_requests_total{code="400"}'] > 5);
  assert.ok(m.ember_prompt_tokens_total > 0);
  assert.ok(m.ember_completion_tokens_total > 0);
  assert.equal(m.ember_queue_depth, 0);
  assert.equal(m.ember_sequences_active, 0);
  assert.ok(m.ember_ttft_seconds_count > 0);
  assert.ok(m['ember_ttft_seconds_bucket{le="+Inf"}'] === m.ember_ttft_seconds_count);
  assert.ok(m.ember_decode_seconds_per_delta_count > 0);
});

test('API keys: 401 without a valid key once keys exist; hashed in the database', async () => {
  const t = tempDir();
  const db = `${t.dir}/keys.db`;
  const key = addKey(db, 'alice');
  assert.match(key, /^ember-[0-9a-f]{40}$/);
  const keyed = await startServer(['--db', db, '-c', '1024', '--parallel', '1', '-t', '1']);
  try {
    const anon = client(OpenAI, keyed, 'wrong');
    await assert.rejects(anon.models.list(), (e) => e.status === 401 && e.type === 'authentication_error');
    assert.equal((await http(keyed, 'GET', '/v1/models')).status, 401);
    assert.equal((await http(keyed, 'GET', '/health')).status, 200);
    const alice = client(OpenAI, keyed, key);
    assert.equal((await alice.models.list()).data.length, 1);
    const r = await alice.chat.completions.create({
      model: 'm', messages: user('x'), reasoning_effort: 'none', ember: { grammar: G.four, store: true },
    });
    // another key sees none of alice's conversations
    const bob = addKey(db, 'bob');
    const auth = (k) => ({ headers: { authorization: `Bearer ${k}` } });
    assert.equal((await http(keyed, 'GET', `/v1/conversations/${r.ember.conversation_id}`, auth(bob))).status, 404);
    assert.equal((await http(keyed, 'GET', `/v1/conversations/${r.ember.conversation_id}`, auth(key))).status, 200);
  } finally {
    await keyed.stop();
  }
  const { execFileSync } = await import('node:child_process');
  const sqliteDump = execFileSync(process.env.EMBER_BIN, ['keys', 'list', '--db', db], { encoding: 'utf8' });
  assert.match(sqliteDump, /alice/);
  assert.doesNotMatch(sqliteDump, new RegExp(key));
  t.remove();
});

test('the built web app is served at / without a key; nothing outside it is', async () => {
  const index = await http(server, 'GET', '/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.match(index.text, /<title>ember<\/title>/);
  const js = await http(server, 'GET', '/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.match(js.text, /\/v1\/chat\/completions/);
  const css = await http(server, 'GET', '/style.css');
  assert.match(css.headers.get('content-type'), /^text\/css/);
  const font = css.text.match(/url\("?(?:\.\/)?(fonts\/KaTeX_Main-Regular-[A-Z0-9]+\.woff2)"?\)/);
  assert.ok(font, 'KaTeX fonts are bundled');
  assert.equal((await http(server, 'GET', `/${font[1]}`)).headers.get('content-type'), 'font/woff2');
  for (const path of ['/%2e%2e/package.json', '/..%2fpackage.json', '/.hidden', '/nothing.html', '/a//b'])
    assert.equal((await http(server, 'GET', path)).status, 404, path);
  // API routes still answer as the API
  assert.equal((await http(server, 'GET', '/v1/models')).status, 200);
});

// A 2x2 RGB PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFElEQVR4nGP4z8DAAMIM/////w8AH+4F+7C4l8kAAAAASUVORK5CYII=';

test('images: a data: URL image part reaches the model (the projector beside the model is loaded)', async () => {
  const text = await api.chat.completions.create({
    model: 'm', reasoning_effort: 'none', ember: { grammar: G.four }, messages: user('What is in the picture?'),
  });
  const r = await api.chat.completions.create({
    model: 'm', reasoning_effort: 'none', ember: { grammar: G.four },
    messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in the picture?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }],
  });
  assert.equal(r.choices[0].message.content, 'Four.');
  assert.ok(r.usage.prompt_tokens > text.usage.prompt_tokens, `${r.usage.prompt_tokens} vs ${text.usage.prompt_tokens}`);
});

test('qwen3 (ChatML with <think>): Thinking json_schema, and no vision means images get 400', async () => {
  const qwen = await startServer(['-c', '2048', '--parallel', '1', '--db', `${tmp.dir}/q.db`, '-t', '1'], { modelName: 'qwen3-tiny.gguf' });
  try {
    const q = client(OpenAI, qwen);
    const r = await q.chat.completions.create({
      model: 'm', messages: user('Describe a person.'), reasoning_effort: 'low', seed: 5, max_tokens: 300,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON } }, ember: { think_budget: 8 },
    });
    assert.equal(r.choices[0].finish_reason, 'stop');
    checkPerson(r.choices[0].message.content);
    await assert.rejects(q.chat.completions.create({
      model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }],
    }), (e) => e.status === 400 && /no vision projector/.test(e.message));
  } finally {
    await qwen.stop();
  }
});

test('built-in tools run inside the server: their calls and results stream as ember events', async () => {
  const srv = await startServer(['-c', '4096', '--parallel', '1', '--db', `${tmp.dir}/t.db`, '-t', '1', '--tools', 'calculator']);
  try {
    const c = client(OpenAI, srv);
    /* every round must call the calculator: the server runs it and continues until its step limit */
    const grammar = 'root ::= "a" <|eom|> <|start|> "assistant to=calculator" <|message|> ' +
      '"<atem:function_calls>\\n<atem:invoke name=\\"calculator\\">\\n<atem:parameter name=\\"expression\\">2^100</atem:parameter>\\n</atem:invoke>\\n</atem:function_calls>"\n';
    const stream = await c.chat.completions.create({
      model: 'm', messages: user('What is 2^100?'), stream: true, seed: 1, max_tokens: 2000,
      ember: { grammar, mode: 'thinking' },
    });
    const results = [], calls = [];
    let finish, clientCalls = 0;
    for await (const chunk of stream) {
      if (chunk.ember?.type === 'tool.result') results.push(chunk.ember);
      if (chunk.ember?.type === 'tool.call') calls.push(chunk.ember);
      if (chunk.choices[0]?.delta?.tool_calls) clientCalls++;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.ok(calls.length >= 1 && calls[0].name === 'calculator', JSON.stringify(calls));
    assert.ok(results.length >= 1, 'no tool.result events');
    assert.equal(results[0].name, 'calculator');
    assert.equal(results[0].output, '1267650600228229401496703205376');
    assert.equal(clientCalls, 0);            /* not handed to the client */
    assert.notEqual(finish, 'tool_calls');
  } finally {
    await srv.stop();
  }
});

test('/v1/ember/info: the limits and features a client should not hard-code', async () => {
  const info = await http(server, 'GET', '/v1/ember/info');
  assert.equal(info.status, 200);
  const models = await http(server, 'GET', '/v1/models');
  assert.equal(info.json.max_agents, models.json.data[0].ember.max_agents);
  assert.ok(info.json.max_agents >= 1);
  assert.deepEqual(info.json.modes, ['instant', 'thinking', 'contemplating']);
  assert.deepEqual(info.json.strengths, ['low', 'medium', 'high', 'xhigh']);
  assert.equal(info.json.vision, true);
  assert.deepEqual(info.json.tools, []);
  assert.equal(info.json.artifacts, true);
  assert.equal(info.json.n_ctx, 4096);
  assert.equal((await http(server, 'POST', '/v1/ember/info', { body: {} })).status, 405);
});

/* An answer holding an HTML document and an SVG image, fenced as the artifacts prompt asks. */
const ARTIFACT_ANSWER = 'Here it is:\n```html title="Tiny game"\n<!doctype html>\n<html><body><p>hi</p></body></html>\n```\n' +
  'and a picture:\n```svg\n<svg xmlns="http://www.w3.org/2000/svg"><title>Dot</title><circle r="3"/></svg>\n```\n' +
  'and code:\n```html\n<p>not a document</p>\n```\n';
const gbnfString = (text) => `root ::= ${JSON.stringify(text)}\n`;

test('artifacts: the prompt section is added, documents come back in ember.artifacts and are stored', async () => {
  const plain = await api.chat.completions.create({
    model: 'm', messages: user('Make a game'), reasoning_effort: 'none', ember: { grammar: G.four },
  });
  const r = await api.chat.completions.create({
    model: 'm', messages: user('Make a game'), reasoning_effort: 'none', max_tokens: 400,
    ember: { grammar: gbnfString(ARTIFACT_ANSWER), artifacts: true, store: true },
  });
  assert.equal(r.choices[0].message.content, ARTIFACT_ANSWER);
  assert.ok(r.usage.prompt_tokens > plain.usage.prompt_tokens + 50, 'the artifacts section is in the prompt');
  assert.deepEqual(r.ember.artifacts, [
    { type: 'html', title: 'Tiny game', content: '<!doctype html>\n<html><body><p>hi</p></body></html>' },
    { type: 'svg', title: 'Dot', content: '<svg xmlns="http://www.w3.org/2000/svg"><title>Dot</title><circle r="3"/></svg>' },
  ]);
  const stored = await http(server, 'GET', `/v1/conversations/${r.ember.conversation_id}`);
  assert.deepEqual(stored.json.messages[1].ember.artifacts, r.ember.artifacts);
  // without the flag: no artifacts, no extra prompt
  const without = await api.chat.completions.create({
    model: 'm', messages: user('Make a game'), reasoning_effort: 'none', max_tokens: 400, ember: { grammar: gbnfString(ARTIFACT_ANSWER) },
  });
  assert.equal(without.ember.artifacts, undefined);
  assert.equal((await http(server, 'POST', '/v1/chat/completions', {
    body: { messages: user('x'), ember: { artifacts: 'yes' } },
  })).status, 400);
});

test('conversations: branches from regenerate and edit, switched with head_id; search', async () => {
  const first = await api.chat.completions.create({
    model: 'm', messages: user('Branch me'), reasoning_effort: 'none', ember: { grammar: gbnfString('One'), store: true },
  });
  const id = first.ember.conversation_id;
  const u1 = first.ember.user_message_id, a1 = first.ember.message_id;
  assert.ok(u1 > 0 && a1 > u1);
  // regenerate: a second answer to the same stored user message
  const again = await api.chat.completions.create({
    model: 'm', messages: user('Branch me'), reasoning_effort: 'none',
    ember: { grammar: gbnfString('Two'), conversation_id: id, parent_id: u1, regenerate: true },
  });
  assert.equal(again.ember.user_message_id, undefined);
  const a2 = again.ember.message_id;
  // a follow-up on the regenerated branch
  const follow = await api.chat.completions.create({
    model: 'm', messages: [...user('Branch me'), { role: 'assistant', content: 'Two' }, ...user('More')],
    reasoning_effort: 'none', ember: { grammar: gbnfString('Three'), conversation_id: id },
  });
  // edit the first message: a sibling of u1 (parent_id 0: a first message)
  const edit = await api.chat.completions.create({
    model: 'm', messages: user('Branch me, edited'), reasoning_effort: 'none',
    ember: { grammar: gbnfString('Four'), conversation_id: id, parent_id: 0 },
  });
  let conv = (await http(server, 'GET', `/v1/conversations/${id}`)).json;
  assert.deepEqual(conv.messages.map((m) => m.content), ['Branch me, edited', 'Four']);
  assert.deepEqual(conv.messages[0].siblings, [u1, edit.ember.user_message_id]);
  assert.equal(conv.messages[0].parent_id, null);
  conv = (await http(server, 'PATCH', `/v1/conversations/${id}`, { body: { head_id: a2 } })).json;
  assert.deepEqual(conv.messages.map((m) => m.content), ['Branch me', 'Two', 'More', 'Three']);
  assert.deepEqual(conv.messages[1].siblings, [a1, a2]);
  assert.equal(conv.head_id, follow.ember.message_id);
  conv = (await http(server, 'PATCH', `/v1/conversations/${id}`, { body: { head_id: a1 } })).json;
  assert.deepEqual(conv.messages.map((m) => m.content), ['Branch me', 'One']);
  // still the head after a reload
  conv = (await http(server, 'GET', `/v1/conversations/${id}`)).json;
  assert.deepEqual(conv.messages.map((m) => m.content), ['Branch me', 'One']);
  assert.equal((await http(server, 'PATCH', `/v1/conversations/${id}`, { body: { head_id: 999999 } })).status, 404);
  assert.equal((await http(server, 'PATCH', `/v1/conversations/${id}`, { body: { head_id: 'x' } })).status, 400);
  assert.equal((await http(server, 'POST', '/v1/chat/completions', {
    body: { messages: user('x'), ember: { conversation_id: id, parent_id: 999999 } },
  })).status, 404);
  assert.equal((await http(server, 'POST', '/v1/chat/completions', {
    body: { messages: user('x'), ember: { parent_id: 1 } },
  })).status, 400);
  // search: titles and message text, case-insensitively; % and _ are plain characters
  const found = (await http(server, 'GET', '/v1/conversations?q=THREE')).json.data.map((c) => c.id);
  assert.ok(found.includes(id));
  assert.deepEqual((await http(server, 'GET', '/v1/conversations?q=%25%25nothing')).json.data, []);
  assert.ok((await http(server, 'GET', '/v1/conversations?q=branch')).json.data.some((c) => c.id === id));
});

test('a stopped turn is stored with what streamed, marked stopped', async () => {
  const conv = (await http(server, 'POST', '/v1/conversations', { body: { title: 'Stop me' } })).json;
  const controller = new AbortController();
  const stream = await api.chat.completions.create({
    model: 'm', messages: user('go on'), reasoning_effort: 'none', stream: true, max_tokens: 1000,
    ember: { grammar: G.long, conversation_id: conv.id },
  }, { signal: controller.signal });
  let text = '';
  try {
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (text.length >= 5) controller.abort();
    }
  } catch (e) {
    if (e.name !== 'AbortError' && !/abort/i.test(e.message)) throw e;
  }
  let stored;
  for (let i = 0; i < 100; i++) {
    stored = (await http(server, 'GET', `/v1/conversations/${conv.id}`)).json;
    if (stored.messages.length === 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(stored.messages.map((m) => m.role), ['user', 'assistant']);
  assert.equal(stored.messages[1].ember.stopped, true);
  assert.ok(stored.messages[1].content.startsWith(text), `${stored.messages[1].content} / ${text}`);
});
