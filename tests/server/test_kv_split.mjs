// test_kv_split.mjs — `ember serve --kv-split`: each sequence decodes in a KV stream of its own
// of -c / --parallel cells, like llama-server's slots. Four streams run at once and complete,
// decoded in the same steps; a Contemplating request's agents (forks that copy the prompt's
// stream) answer; /metrics counts every stream's cells; a prompt longer than one stream is
// refused with context_length_exceeded saying so, and the server goes on; the cells return
// to zero. The engine's greedy equality with the unified cache is tests/engine/test_kv_split.c's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenAI, startServer, client, waitMetrics, tempDir, streamLetters, G } from './support.mjs';

const OpenAI = await loadOpenAI();
const tmp = tempDir();
after(() => tmp.remove());

const N_CTX = 2048, PARALLEL = 4, AGENTS = 3, MAX = 200;
const PER_SEQ = N_CTX / PARALLEL;                 // 512: already a multiple of 256
const SEQS = PARALLEL + AGENTS + 1;               // ember serve's sequences: parallel + max agents + 1

const streamOne = (api, i) => streamLetters(api, i, MAX);

test('streams of their own: requests overlap and complete, agents answer, a prompt longer than a stream is refused', async () => {
  const server = await startServer(['-c', String(N_CTX), '--parallel', String(PARALLEL), '--max-agents', String(AGENTS),
    '--kv-split', '--no-prompt-cache', '--db', `${tmp.dir}/a.db`]);
  try {
    const api = client(OpenAI, server);
    const streams = [];
    for (let i = 0; i < PARALLEL; i++) streams.push(streamOne(api, i));
    const busy = await waitMetrics(server, (v) => v.ember_runs_active === PARALLEL);
    assert.equal(busy.ember_kv_cells_total, SEQS * PER_SEQ, JSON.stringify(busy));
    for (const r of await Promise.all(streams)) {
      assert.equal(r.finish, 'length', JSON.stringify(r));
      assert.equal(r.usage.completion_tokens, MAX, JSON.stringify(r.usage));
      assert.match(r.content, /^[a-z]+$/);
    }
    let m = await waitMetrics(server, (v) => v.ember_sequences_active === 0 && v.ember_runs_active === 0);
    assert.equal(m.ember_batch_sequences_max, PARALLEL, JSON.stringify(m));
    assert.equal(m.ember_kv_cells_used, 0);

    const answer = await api.chat.completions.create({
      model: 'm', messages: [{ role: 'user', content: '2+2?' }], max_tokens: 24, seed: 9,
      ember: { mode: 'contemplating', agents: AGENTS, think_budget: 8, grammar: G.someThinking },
    });
    assert.equal(answer.ember.agents.length, AGENTS, JSON.stringify(answer.ember));
    assert.ok(['stop', 'length'].includes(answer.choices[0].finish_reason), JSON.stringify(answer.choices[0]));

    await assert.rejects(api.chat.completions.create({
      model: 'm', messages: [{ role: 'user', content: 'lamp '.repeat(PER_SEQ) }], max_tokens: 4,
    }), (e) => e.status === 400 && e.code === 'context_length_exceeded' && /per sequence/.test(e.message));

    const after = await streamOne(api, 9);   // the server goes on
    assert.equal(after.usage.completion_tokens, MAX);
    m = await waitMetrics(server, (v) => v.ember_sequences_active === 0 && v.ember_runs_active === 0);
    assert.equal(m.ember_kv_cells_used, 0);
    assert.equal(m.ember_kv_cells_reserved, 0);
  } finally {
    await server.stop();
  }
});
