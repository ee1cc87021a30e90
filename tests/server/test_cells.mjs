// test_cells.mjs — `ember serve` when generations together outgrow the KV cells: admission
// reserves a request's prompt, not its max_tokens, so four requests each asking for nearly half
// the context run at once (before, the gate let two in and queued the rest); as their cells run
// out the engine preempts the newest and recomputes it later (engine/cells.c), so every stream
// still ends with all its tokens, /metrics counts the preemptions and no stream is cut, and the
// cells return to zero. Greedy equality with solo runs is tests/engine/test_cells.c's (it
// needs log-probabilities to tell a near-tie from a corrupted cell). And a stream that cannot
// get its cells back while nothing decodes (another request's sequence holds them, idle while
// its tool runs) is ended after the grace with finish_reason "length" and the reason in
// ember.finish_detail, the other request untouched.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadOpenAI, startServer, client, metrics, waitMetrics, tempDir, streamLetters } from './support.mjs';

const OpenAI = await loadOpenAI();
const tmp = tempDir();
after(() => tmp.remove());

const N_CTX = 1024, STREAMS = 4, MAX = 300;

const streamOne = (api, i, max = MAX) => streamLetters(api, i, max);

test('requests whose max_tokens together outgrow the cells run at once and all complete', async () => {
  const server = await startServer(['-c', String(N_CTX), '--parallel', String(STREAMS), '--no-prompt-cache',
    '--db', `${tmp.dir}/a.db`]);
  try {
    const api = client(OpenAI, server);
    const streams = [];
    for (let i = 0; i < STREAMS; i++) streams.push(streamOne(api, i));
    // all admitted together: max_tokens is not reserved
    await waitMetrics(server, (v) => v.ember_runs_active === STREAMS);
    const results = await Promise.all(streams);
    for (const r of results) {
      assert.equal(r.finish, 'length', JSON.stringify(r));
      assert.equal(r.usage.completion_tokens, MAX, JSON.stringify(r.usage));
      assert.match(r.content, /^[a-z]+$/);
      assert.equal(r.ember.finish_detail, undefined, 'ended by its token limit, not for want of cells');
      assert.ok(r.usage.prompt_tokens + MAX < N_CTX);
    }
    assert.ok(results.reduce((n, r) => n + r.usage.prompt_tokens + MAX, 0) > 1.5 * N_CTX);
    const m = await waitMetrics(server, (v) => v.ember_sequences_active === 0 && v.ember_runs_active === 0);
    assert.equal(m.ember_batch_sequences_max, STREAMS, JSON.stringify(m));
    assert.ok(m.ember_preemptions_total >= 1, JSON.stringify(m));
    assert.equal(m.ember_sequences_cut_total, 0);
    assert.equal(m.ember_kv_cells_used, 0);
    assert.equal(m.ember_kv_cells_reserved, 0);
  } finally {
    await server.stop();
  }
});

test('a stream that finds no cell while another request waits on its tool ends with "length" and says why', async () => {
  const config = `${tmp.dir}/mcp.json`;
  const script = fileURLToPath(new URL('../tools/mcp_test_server.py', import.meta.url));
  writeFileSync(config, JSON.stringify({ mcpServers: { t: { command: 'python3', args: [script] } } }));
  const server = await startServer(['-c', '4096', '--parallel', '2', '--no-prompt-cache', '--tools', 't.hang',
    '--mcp-config', config, '--db', `${tmp.dir}/b.db`]);
  try {
    const api = client(OpenAI, server);
    const prompt = async (content, effort) => (await api.chat.completions.create({
      model: 'm', messages: [{ role: 'user', content }], max_tokens: 1, reasoning_effort: effort })).usage.prompt_tokens;
    // A's prompt leaves B room for its prompt and about 150 tokens
    const bPrompt = await prompt('stream 9: letters', 'none');
    const base = await prompt('', 'high'), perWord = ((await prompt('lamp '.repeat(100), 'high')) - base) / 100;
    const words = Math.floor((4096 - bPrompt - 150 - 64 - base) / perWord);
    // A: a long prompt, then a call to a tool that sleeps: its sequence holds the cells, idle
    const call = '" to=t.hang" <|message|> "<atem:function_calls>\\n<atem:invoke name=\\"t.hang\\">\\n' +
      '<atem:parameter name=\\"seconds\\">5</atem:parameter>\\n</atem:invoke>\\n</atem:function_calls>"';
    const holder = new AbortController();
    const a = api.chat.completions.create({
      model: 'm', messages: [{ role: 'user', content: 'lamp '.repeat(words) }], max_tokens: 300, reasoning_effort: 'high',
      ember: { grammar: `root ::= "a"{3} <|eom|> <|start|> "assistant" ${call}\n` },
    }, { signal: holder.signal }).catch((e) => e);
    await waitMetrics(server, (v) => v.ember_kv_cells_used > 2000 && v.ember_tokens_sampled_total >= 6, 10000)
      .catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await a)}`); });
    await new Promise((r) => setTimeout(r, 300));   // its call parsed, the tool sleeping
    const held = (await metrics(server)).ember_kv_cells_used;
    // B: a stream that outgrows the cells left
    const b = await streamOne(api, 9, 800);
    assert.equal(b.finish, 'length', JSON.stringify(b));
    assert.match(b.ember.finish_detail ?? '', /ran out of cells/);
    assert.ok(b.usage.completion_tokens > 0 && b.usage.completion_tokens < 4096 - held, JSON.stringify(b.usage));
    assert.match(b.content, /^[a-z]+$/);
    const m = await metrics(server);
    assert.equal(m.ember_sequences_cut_total, 1);
    holder.abort();
    await a;
    await waitMetrics(server, (v) => v.ember_sequences_active === 0 && v.ember_kv_cells_used === 0);
  } finally {
    await server.stop();
  }
});
