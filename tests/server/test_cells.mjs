// test_cells.mjs — `ember serve` when generations together outgrow the KV cells: admission
// reserves a request's prompt, not its max_tokens, so four requests each asking for nearly half
// the context run at once (before, the gate let two in and queued the rest); as their cells run
// out the engine preempts the newest and recomputes it later (engine/cells.c), so every stream
// still ends with all its tokens, /metrics counts the preemptions and no stream is cut, and the
// cells return to zero. Greedy equality with solo runs is tests/engine/test_cells.c's (it
// needs log-probabilities to tell a near-tie from a corrupted cell).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenAI, startServer, client, waitMetrics, tempDir, G } from './support.mjs';

const OpenAI = await loadOpenAI();
const tmp = tempDir();
after(() => tmp.remove());

const N_CTX = 1024, STREAMS = 4, MAX = 300;

async function streamOne(api, i) {
  const stream = await api.chat.completions.create({
    model: 'm', messages: [{ role: 'user', content: `stream ${i}: letters` }], reasoning_effort: 'none',
    temperature: 0, max_tokens: MAX, ignore_eos: true, ember: { grammar: G.long }, stream: true,
    stream_options: { include_usage: true },
  });
  let content = '', finish = null, usage = null, ember = null;
  for await (const chunk of stream) {
    content += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.ember) ember = chunk.ember;
  }
  return { content, finish, usage, ember };
}

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
