// test_prompt_cache.mjs — `ember serve`'s prompt cache across requests (like llama-server's
// cache_prompt): a follow-up request of a conversation reuses the cells of the previous one and
// reports them as usage.prompt_tokens_details.cached_tokens (streamed too) and in /metrics;
// greedy answers are the same as a server started with --no-prompt-cache; cached prompts are
// evicted when live streams need their cells, and those streams stay correct.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenAI, startServer, client, metrics, waitMetrics, tempDir, collect } from './support.mjs';

const OpenAI = await loadOpenAI();
const tmp = tempDir();
let cached, plain, api, ref;

before(async () => {
  const common = ['-c', '1024', '--parallel', '2', '-t', '1', '--no-web'];
  cached = await startServer([...common, '--db', `${tmp.dir}/a.db`]);
  plain = await startServer([...common, '--db', `${tmp.dir}/b.db`, '--no-prompt-cache']);
  api = client(OpenAI, cached);
  ref = client(OpenAI, plain);
});

after(async () => {
  await cached?.stop();
  await plain?.stop();
  tmp.remove();
});

const user = (content) => ({ role: 'user', content });
const assistant = (content) => ({ role: 'assistant', content });
const greedy = (messages, max_tokens) =>
  ({ model: 'm', messages, reasoning_effort: 'none', temperature: 0, max_tokens, ignore_eos: true });

test('a follow-up request reuses the earlier one: cached_tokens is the common prefix', async () => {
  const turn1 = [user('What is two and two?')];
  // one token: the run leaves exactly its prompt in the KV cache
  const r1 = await api.chat.completions.create(greedy(turn1, 1));
  assert.equal(r1.usage.prompt_tokens_details.cached_tokens, 0);
  const turn2 = [...turn1, assistant('Four.'), user('And three and three?')];
  const r2 = await api.chat.completions.create(greedy(turn2, 5));
  assert.ok(r2.usage.prompt_tokens > r1.usage.prompt_tokens);
  assert.equal(r2.usage.prompt_tokens_details.cached_tokens, r1.usage.prompt_tokens);
  // the same prompt again: all of it but the last token, whose logits are needed
  const r3 = await api.chat.completions.create(greedy(turn2, 5));
  assert.equal(r3.usage.prompt_tokens_details.cached_tokens, r2.usage.prompt_tokens - 1);
  assert.equal(r3.choices[0].message.content, r2.choices[0].message.content);
  // streamed: the final usage chunk says it too; the prefix covers the whole earlier prompt
  // (and of the generated tokens, as many as the answer re-tokenizes to)
  const turn3 = [...turn2, assistant(r3.choices[0].message.content), user('Thanks.')];
  const stream = await api.chat.completions.create({ ...greedy(turn3, 5), stream: true, stream_options: { include_usage: true } });
  let usage = null;
  for await (const chunk of stream) if (chunk.choices.length === 0) usage = chunk.usage;
  assert.ok(usage, 'a usage chunk');
  const c4 = usage.prompt_tokens_details.cached_tokens;
  assert.ok(c4 >= r2.usage.prompt_tokens && c4 <= r2.usage.prompt_tokens + 4, `${c4} of ${usage.prompt_tokens}`);
  const m = await metrics(cached);
  assert.equal(m.ember_prompt_tokens_cached_total, r1.usage.prompt_tokens + r2.usage.prompt_tokens - 1 + c4);
  assert.ok(m.ember_sequences_cached >= 1);
  assert.ok(m.ember_kv_cells_cached > 0);
  assert.equal(m.ember_kv_cells_used, 0, 'no live sequence holds a cell');
});

test('greedy answers are the same with and without the prompt cache', async () => {
  const turn1 = [user('Tell me about lighthouses.')];
  const a1 = await api.chat.completions.create(greedy(turn1, 24));
  const b1 = await ref.chat.completions.create(greedy(turn1, 24));
  assert.equal(a1.choices[0].message.content, b1.choices[0].message.content);
  const turn2 = [...turn1, assistant(a1.choices[0].message.content), user('And their keepers?')];
  const a2 = await api.chat.completions.create(greedy(turn2, 32));
  const b2 = await ref.chat.completions.create(greedy(turn2, 32));
  assert.ok(a2.usage.prompt_tokens_details.cached_tokens >= a1.usage.prompt_tokens);
  assert.equal(b2.usage.prompt_tokens_details.cached_tokens, 0);
  assert.equal(a2.choices[0].message.content, b2.choices[0].message.content);
  assert.equal(a2.usage.completion_tokens, 32);
});

test('cached prompts are evicted for live streams, which stay correct', async () => {
  // fill the cache: four conversations of ~190 cells each
  for (let i = 0; i < 4; i++) await api.chat.completions.create(greedy([user(`Conversation ${i} about the sea.`)], 20));
  const before = await metrics(cached);
  assert.ok(before.ember_kv_cells_cached > 500, JSON.stringify(before));
  // two concurrent streams whose cells (prompt + 300 each) do not fit beside the cache; their
  // text is forced (greedy text of concurrent streams depends on how steps were batched, so it
  // cannot be compared with another run), and it must come out whole
  const text = (i) => `stream ${i} keeps its cells. `;
  const asks = [0, 1].map((i) => ({
    ...greedy([user(`Stream ${i}: write a long story.`)], 300),
    ember: { grammar: `root ::= (${JSON.stringify(text(i))})+\n` },
  }));
  const run = async (body) => {
    const stream = await api.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    return collect(stream);
  };
  const live = await Promise.all(asks.map(run));
  for (const [i, r] of live.entries()) {
    assert.equal(r.finish, 'length');
    assert.equal(r.usage.completion_tokens, 300);
    const whole = Math.floor(r.content.length / text(i).length);
    assert.ok(whole >= 10, r.content);
    assert.equal(r.content.slice(0, whole * text(i).length), text(i).repeat(whole));
  }
  const m = await waitMetrics(cached, (v) => v.ember_runs_active === 0 && v.ember_kv_cells_used === 0);
  assert.ok(m.ember_prompt_cache_evictions_total >= 1, JSON.stringify(m));
  assert.ok(m.ember_kv_cells_cached <= m.ember_kv_cells_total);
  // after the pressure: a follow-up of a conversation whose prompt survived is still served
  // from the cache and answers as the server without it does
  const again = [user('Conversation 3 about the sea.'), assistant('Calm.'), user('Why?')];
  const a = await api.chat.completions.create(greedy(again, 16));
  const b = await ref.chat.completions.create(greedy(again, 16));
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});
