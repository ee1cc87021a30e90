// test_postgres.mjs — two `ember serve` processes sharing one PostgreSQL database (a real
// server started here, postgres.mjs): a key created once authenticates on both; a conversation
// written through one is read, renamed and listed through the other; while the database is
// stopped both answer 503 (database_unavailable) and an answer finished during the outage
// reaches the database once it is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenAI, startServer, client, http, addKey, G } from './support.mjs';
import { startPostgres } from './postgres.mjs';

const OpenAI = await loadOpenAI();
let pg, a, b, key;

const args = (uri) => ['--db', uri, '-c', '4096', '--parallel', '1', '-t', '1'];
const auth = (k) => ({ headers: { authorization: `Bearer ${k}` } });
const user = (content) => [{ role: 'user', content }];

before(async () => {
  pg = await startPostgres();
  key = addKey(pg.uri, 'alice');
  [a, b] = await Promise.all([startServer(args(pg.uri)), startServer(args(pg.uri))]);
});

after(async () => {
  await a?.stop();
  await b?.stop();
  pg?.remove();
});

test('a key created once authenticates on both servers; a wrong one on neither', async () => {
  for (const server of [a, b]) {
    assert.equal((await http(server, 'GET', '/v1/models', auth(key))).status, 200);
    assert.equal((await http(server, 'GET', '/v1/models', auth('ember-wrong'))).status, 401);
  }
  // a key added while both run is known to both at once
  const bob = addKey(pg.uri, 'bob');
  assert.equal((await http(a, 'GET', '/v1/models', auth(bob))).status, 200);
  assert.equal((await http(b, 'GET', '/v1/models', auth(bob))).status, 200);
});

test('a conversation written through one server is read through the other', async () => {
  const apiA = client(OpenAI, a, key);
  const r = await apiA.chat.completions.create({
    model: 'm', messages: user('Remember me'), reasoning_effort: 'low', max_tokens: 120, seed: 2,
    ember: { grammar: G.thinking, store: true },
  });
  const id = r.ember.conversation_id;
  assert.match(id, /^conv_/);
  const apiB = client(OpenAI, b, key);
  await apiB.chat.completions.create({
    model: 'm', messages: user('Again'), reasoning_effort: 'none', seed: 2, ember: { grammar: G.four, conversation_id: id },
  });
  const one = await http(b, 'GET', `/v1/conversations/${id}`, auth(key));
  assert.equal(one.status, 200);
  assert.deepEqual(one.json.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
  assert.equal(one.json.messages[0].content, 'Remember me');
  assert.equal(one.json.messages[1].reasoning_content, 'a'.repeat(30));
  assert.equal(one.json.messages[1].content, 'The answer is 4.');
  assert.equal(one.json.messages[1].ember.mode, 'thinking');
  assert.equal(one.json.messages[3].content, 'Four.');

  const renamed = await http(b, 'PATCH', `/v1/conversations/${id}`, { body: { title: 'Renamed' }, ...auth(key) });
  assert.equal(renamed.json.title, 'Renamed');
  const created = await http(a, 'POST', '/v1/conversations', { body: { title: 'Newer' }, ...auth(key) });
  assert.equal(created.status, 201);
  const list = await http(b, 'GET', '/v1/conversations', auth(key));
  assert.deepEqual(list.json.data.map((c) => c.title).slice(0, 2), ['Newer', 'Renamed']);
  assert.equal(list.json.data.find((c) => c.id === id).message_count, 4);
  // another key sees none of them, on either server
  const bob = addKey(pg.uri, 'carol');
  assert.equal((await http(a, 'GET', `/v1/conversations/${id}`, auth(bob))).status, 404);
  assert.equal((await http(b, 'GET', '/v1/conversations', auth(bob))).json.data.length, 0);
  assert.equal((await http(a, 'DELETE', `/v1/conversations/${created.json.id}`, auth(key))).status, 200);
  assert.equal((await http(b, 'GET', `/v1/conversations/${created.json.id}`, auth(key))).status, 404);
});

test('branches and search work the same on PostgreSQL, across the two servers', async () => {
  const gram = (text) => `root ::= ${JSON.stringify(text)}\n`;
  const ask = (server, content, ember) => client(OpenAI, server, key).chat.completions.create({
    model: 'm', messages: user(content), reasoning_effort: 'none', seed: 1, ember,
  });
  const first = await ask(a, 'Branch on pg', { grammar: gram('One'), store: true });
  const id = first.ember.conversation_id;
  const again = await ask(b, 'Branch on pg', { grammar: gram('Two'), conversation_id: id, parent_id: first.ember.user_message_id, regenerate: true });
  let conv = (await http(a, 'GET', `/v1/conversations/${id}`, auth(key))).json;
  assert.deepEqual(conv.messages.map((m) => m.content), ['Branch on pg', 'Two']);
  assert.deepEqual(conv.messages[1].siblings, [first.ember.message_id, again.ember.message_id]);
  conv = (await http(b, 'PATCH', `/v1/conversations/${id}`, { body: { head_id: first.ember.message_id }, ...auth(key) })).json;
  assert.deepEqual(conv.messages.map((m) => m.content), ['Branch on pg', 'One']);
  const edit = await ask(a, 'Branch on pg, edited', { grammar: gram('Three'), conversation_id: id, parent_id: 0 });
  conv = (await http(b, 'GET', `/v1/conversations/${id}`, auth(key))).json;
  assert.deepEqual(conv.messages.map((m) => m.content), ['Branch on pg, edited', 'Three']);
  assert.deepEqual(conv.messages[0].siblings, [first.ember.user_message_id, edit.ember.user_message_id]);
  assert.equal(conv.messages[0].parent_id, null);
  const found = (await http(a, 'GET', '/v1/conversations?q=BRANCH%20ON', auth(key))).json.data.map((c) => c.id);
  assert.deepEqual(found, [id]);
  assert.deepEqual((await http(b, 'GET', '/v1/conversations?q=100%25', auth(key))).json.data, []);
});

test('a stopped database: clear 503s, and an answer finished meanwhile is written once it is back', async () => {
  const conv = await http(a, 'POST', '/v1/conversations', { body: { title: 'Outage' }, ...auth(key) });
  const id = conv.json.id;
  // a long streamed answer on A; the database stops while it is generated
  const stream = await client(OpenAI, a, key).chat.completions.create({
    model: 'm', messages: user('Write on'), reasoning_effort: 'none', max_tokens: 3000, stream: true,
    ember: { grammar: G.long, conversation_id: id },
  });
  const it = stream[Symbol.asyncIterator]();
  assert.ok((await it.next()).value);
  pg.stop();
  let finish, n = 0;
  for (let c = await it.next(); !c.done; c = await it.next()) {
    finish = c.value.choices[0]?.finish_reason ?? finish;
    n += 1;
  }
  assert.equal(finish, 'length', 'the answer must finish during the outage');

  for (const server of [a, b]) {
    for (const [method, path] of [['GET', '/v1/conversations'], ['GET', `/v1/conversations/${id}`], ['GET', '/v1/models'],
      ['POST', '/v1/conversations']]) {
      const r = await http(server, method, path, { body: method === 'POST' ? {} : undefined, ...auth(key) });
      assert.equal(r.status, 503, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.error.code, 'database_unavailable');
      assert.match(r.json.error.message, /database/);
    }
    assert.equal((await http(server, 'GET', '/health')).status, 200);
  }
  await assert.rejects(client(OpenAI, b, key).chat.completions.create({
    model: 'm', messages: user('x'), ember: { grammar: G.four, conversation_id: id },
  }), (e) => e.status === 503);

  pg.start();
  // A writes its queued exchange on its own (no request to A needed); B reads it
  let messages = [];
  for (let i = 0; i < 100 && messages.length < 2; i++) {
    const r = await http(b, 'GET', `/v1/conversations/${id}`, auth(key));
    if (r.status === 200) messages = r.json.messages;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(messages.map((m) => m.role), ['user', 'assistant']);
  assert.equal(messages[0].content, 'Write on');
  assert.ok(messages[1].content.length > 100, `${n} chunks streamed, stored ${messages[1].content.length} bytes`);
  // and both servers work as before
  assert.equal((await http(a, 'GET', '/v1/conversations', auth(key))).status, 200);
  assert.equal((await http(b, 'GET', '/v1/models', auth(key))).status, 200);
});
