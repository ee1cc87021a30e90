// test_load.mjs — `ember serve` under load on 127.0.0.1: 64 concurrent streaming clients on one
// engine (--parallel 4, the rest queued), a quarter of them disconnecting mid-stream, and
// malformed requests answered with 400 at once while the others keep streaming. Afterwards
// every other stream ended normally and /metrics shows no active sequence, run, queued
// request or reserved KV cell. Then a server with a queue of one answers 429 + Retry-After.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenAI, startServer, client, http, waitMetrics, tempDir, G } from './support.mjs';

const OpenAI = await loadOpenAI();
const tmp = tempDir();
after(() => tmp.remove());

const user = (content) => [{ role: 'user', content }];

async function streamOne(api, i, disconnect) {
  const controller = new AbortController();
  const body = disconnect
    ? { model: 'm', messages: user(`client ${i}`), reasoning_effort: 'none', max_tokens: 400, ember: { grammar: G.long } }
    : { model: 'm', messages: user(`client ${i}: say something`), reasoning_effort: i % 2 ? 'low' : 'none', max_tokens: 48, seed: i,
        temperature: 1, ember: { grammar: i % 2 ? G.someThinking : G.someWords } };
  const stream = await api.chat.completions.create({ ...body, stream: true }, { signal: controller.signal });
  let content = '', reasoning = '', finish = null, deltas = 0;
  for await (const chunk of stream) {
    const d = chunk.choices[0]?.delta;
    if (d?.content || d?.reasoning_content) deltas++;
    content += d?.content ?? '';
    reasoning += d?.reasoning_content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (disconnect && deltas === 3) controller.abort();
  }
  return { disconnected: disconnect && controller.signal.aborted, content, reasoning, finish, deltas };
}

test('64 concurrent streams, 16 disconnecting, malformed requests in between', async () => {
  const server = await startServer(['-c', '8192', '--parallel', '4', '--queue', '64', '--db', `${tmp.dir}/a.db`]);
  try {
    const api = client(OpenAI, server);
    const streams = [];
    for (let i = 0; i < 64; i++) streams.push(streamOne(api, i, i % 4 === 0));
    // malformed requests while the streams run: each answered 400 without queueing
    await new Promise((r) => setTimeout(r, 100));
    const malformed = [
      '{"messages": [',
      { model: 'm', messages: 'not an array', stream: true },
      { model: 'm', messages: user('x'), stream: true, temperature: 'hot' },
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }], stream: true },
      { model: 'm', messages: user('x'), stream: true, response_format: { type: 'json_schema', json_schema: { schema: { type: 'nope' } } } },
      { model: 'm', messages: user('word '.repeat(9000)), stream: true },
    ];
    const t0 = Date.now();
    const bad = await Promise.all(malformed.map((body) => http(server, 'POST', '/v1/chat/completions', { body })));
    const badMs = Date.now() - t0;
    for (const r of bad) {
      assert.equal(r.status, 400, r.text);
      assert.equal(typeof r.json.error.message, 'string');
    }
    // the streams overlap: the gate admits as many runs as --parallel, and the engine decodes
    // their sequences in the same steps
    const during = await waitMetrics(server, (v) => v.ember_runs_active === 4 && v.ember_batch_sequences_max >= 4);
    const results = await Promise.all(streams);
    assert.ok(badMs < 10000, `malformed requests took ${badMs} ms`);
    let completed = 0, disconnected = 0;
    for (const r of results) {
      if (r.disconnected) { disconnected++; continue; }
      completed++;
      assert.ok(['stop', 'length'].includes(r.finish), JSON.stringify(r));
      assert.ok(r.deltas > 0 && (r.content.length > 0 || r.reasoning.length > 0), JSON.stringify(r));
    }
    assert.equal(completed, 48);
    assert.equal(disconnected, 16);
    const m = await waitMetrics(server, (v) => v.ember_sequences_active === 0 && v.ember_runs_active === 0 &&
      v.ember_queue_depth === 0 && v.ember_kv_cells_reserved === 0 && v.ember_sequences_reserved === 0);
    assert.ok(m['ember_http_requests_total{code="200"}'] >= 64);
    assert.equal(m['ember_http_requests_total{code="400"}'], malformed.length);
    // every disconnecting client (400 tokens asked, gone after 3) had its run cancelled, no other
    assert.equal(m.ember_runs_cancelled_total, 16);
    assert.equal(during.ember_parallel, 4);
    assert.ok(during.ember_sequences_active <= 4, JSON.stringify(during));
    assert.equal(m.ember_kv_cells_used, 0);
  } finally {
    await server.stop();
  }
});

test('a full queue answers 429 with Retry-After; the server recovers', async () => {
  const server = await startServer(['-c', '2048', '--parallel', '1', '--queue', '1', '--db', `${tmp.dir}/b.db`]);
  try {
    const api = client(OpenAI, server);
    const long = { model: 'm', messages: user('x'), reasoning_effort: 'none', max_tokens: 1500, stream: true, ember: { grammar: G.long } };
    const c1 = new AbortController(), c2 = new AbortController();
    const first = await api.chat.completions.create(long, { signal: c1.signal });   // running
    const it1 = first[Symbol.asyncIterator]();
    await it1.next();
    const second = api.chat.completions.create(long, { signal: c2.signal }).catch((e) => e);  // queued
    await waitMetrics(server, (v) => v.ember_queue_depth === 1);
    const third = await http(server, 'POST', '/v1/chat/completions', { body: long });
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('retry-after'), '1');
    assert.equal(third.json.error.type, 'rate_limit_error');
    await assert.rejects(api.chat.completions.create({ ...long, stream: false }), (e) => e.status === 429);
    c1.abort();
    const s2 = await second;
    c2.abort();
    if (s2 && s2[Symbol.asyncIterator]) { try { for await (const _ of s2) break; } catch { /* aborted */ } }
    const m = await waitMetrics(server, (v) => v.ember_sequences_active === 0 && v.ember_runs_active === 0 && v.ember_queue_depth === 0);
    assert.ok(m.ember_rejected_overload_total >= 2);
    const ok = await api.chat.completions.create({ model: 'm', messages: user('x'), reasoning_effort: 'none', ember: { grammar: G.four } });
    assert.equal(ok.choices[0].message.content, 'Four.');
  } finally {
    await server.stop();
  }
});

test('SIGTERM while streaming and queueing: runs are cancelled, the server exits cleanly', async () => {
  const server = await startServer(['-c', '2048', '--parallel', '1', '--queue', '4', '--db', `${tmp.dir}/c.db`]);
  const api = client(OpenAI, server);
  const long = { model: 'm', messages: user('x'), reasoning_effort: 'none', max_tokens: 1500, stream: true, ember: { grammar: G.long } };
  const stream = await api.chat.completions.create(long);
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  const queued = api.chat.completions.create({ ...long, stream: false }).then(() => 'answered', (e) => e);
  await waitMetrics(server, (v) => v.ember_queue_depth === 1);
  await server.stop();   // exit status 0: no crash, and under ASan no leak
  // the stream ends (or breaks) without its 1500 tokens: its run was cancelled, not finished
  let finish = null, deltas = 0;
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      if (r.value.choices[0]?.delta?.content) deltas++;
      finish = r.value.choices[0]?.finish_reason ?? finish;
    }
  } catch { /* the connection closed mid-stream */ }
  assert.notEqual(finish, 'length');
  assert.ok(deltas < 1500, `${deltas} deltas after SIGTERM`);
  assert.notEqual(await queued, 'answered');
});
