// test_remote.mjs — ember in front of real llama-server replicas (replicas.mjs): `ember ask
// --engine` in Instant, Thinking with a think budget, Contemplating with 4 agents and with the
// calculator tool; `ember serve --engine A --engine B` spreading work and reporting replicas on
// /metrics; a replica killed in the middle of a 4-agent Contemplating request and in the middle
// of a 16-stream load: every request completes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadOpenAI, startServer, client, metrics, model, EMBER, G } from '../server/support.mjs';
import { requireLlamaServer, startReplica } from './replicas.mjs';

requireLlamaServer();
const OpenAI = await loadOpenAI();
const run = promisify(execFile);
let a, b;

before(async () => {
  [a, b] = await Promise.all([startReplica(model(), { ctx: 8192 }), startReplica(model(), { ctx: 8192 })]);
});

after(async () => {
  await a?.stop();
  await b?.stop();
});

async function ask(args) {
  const { stdout } = await run(EMBER, ['ask', '--engine', a.url, '--engine', b.url, '--json', ...args],
    { maxBuffer: 1 << 24, env: { ...process.env, OMP_WAIT_POLICY: 'passive' } });
  return JSON.parse(stdout);
}

test('ember ask --engine: Instant', async () => {
  const r = await ask(['--mode', 'instant', '--seed', '1', '--grammar', G.four, 'Two plus two?']);
  assert.equal(r.mode, 'instant');
  assert.equal(r.answer, 'Four.');
  assert.equal(r.reasoning, '');
  assert.equal(r.finish_reason, 'stop');
  assert.ok(r.usage.prompt_tokens > 10);
  // the rendered prompt's BOS is not sent: llama-server adds the model's own
  for (const replica of [a, b]) assert.doesNotMatch(replica.log(), /2 BOS tokens/);
});

test('ember ask --engine: Thinking never reasons past --think-budget', async () => {
  for (const budget of [1, 8, 24]) {
    const r = await ask(['--mode', 'thinking', '--think-budget', String(budget), '--max-tokens', '200', '--seed', String(budget),
      '--temp', '1', 'Think about it.']);
    assert.ok(r.usage.reasoning_tokens <= budget, `budget ${budget}: ${r.usage.reasoning_tokens} reasoning tokens`);
    if (r.usage.reasoning_tokens === budget) assert.equal(r.think_budget_reached, true);
    assert.notEqual(r.finish_reason, 'error', r.error);
  }
  // the budget's closing text and the answer come from a new request on the same prefix
  const r = await ask(['--mode', 'thinking', '--think-budget', '5', '--seed', '3', '--grammar',
    'root ::= [a-z]{40} <|eom|> <|start|> "assistant to=user" <|message|> "Done."\n', 'Go']);
  assert.equal(r.think_budget_reached, true);
  assert.equal(r.usage.reasoning_tokens, 5);
});

test('ember ask --engine: Contemplating with 4 agents, confidence from the engine, vote, synthesis', async () => {
  const r = await ask(['--mode', 'contemplating', '--agents', '4', '--max-tokens', '48', '--seed', '5', '--no-early-stop', 'Hmm?']);
  assert.equal(r.mode, 'contemplating');
  assert.equal(r.agents.length, 4);
  for (const agent of r.agents) {
    assert.ok(agent.tokens > 0);
    assert.ok(Number.isFinite(agent.confidence) && agent.confidence > 0, `confidence ${agent.confidence}`);
  }
  assert.ok(r.vote && typeof r.vote.answer === 'string');
  assert.ok(r.synthesis && typeof r.synthesis.answer === 'string');
});

test('ember bench --engine: prefill, generation and the agents shape through the engine\'s HTTP API', async () => {
  const bench = async (...extra) => JSON.parse((await run(EMBER, ['bench', '--engine', a.url, '-p', '64', '-n', '8', '-r', '1',
    '--json', ...extra], { env: { ...process.env, OMP_WAIT_POLICY: 'passive' } })).stdout);
  const plain = await bench();
  assert.equal(plain.remote, true);
  assert.ok(plain.n_prompt >= 64 && plain.n_prompt < 80, `prompt of ${plain.n_prompt} tokens for -p 64`);
  assert.ok(plain.pp_tokens_per_s > 0 && plain.tg_tokens_per_s > 0, JSON.stringify(plain));
  const agents = await bench('--bench-agents', '3');
  assert.equal(agents.agents, 3);
  assert.ok(agents.wall_s_1 > 0 && agents.wall_s_n > 0 && agents.total_tokens_per_s_n > 0, JSON.stringify(agents));
});

test('ember ask --engine: the calculator tool runs and the answer continues', async () => {
  const call = 'root ::= "x" <|eom|> <|start|> "assistant to=calculator" <|message|> ' +
    '"<atem:function_calls>\\n<atem:invoke name=\\"calculator\\">\\n<atem:parameter name=\\"expression\\">6*7</atem:parameter>\\n' +
    '</atem:invoke>\\n</atem:function_calls>" <|eom|>\n';
  const r = await ask(['--mode', 'instant', '--tools', 'calculator', '--max-tool-steps', '2', '--seed', '2', '--grammar', call, '6*7?']);
  assert.ok(r.tool_calls.length >= 1, JSON.stringify(r));
  assert.equal(r.tool_calls[0].name, 'calculator');
  assert.equal(r.tool_calls[0].output, '42');
});

test('ember ask --engine: a dead URL is a clear error', async () => {
  await assert.rejects(run(EMBER, ['ask', '--engine', 'http://127.0.0.1:9', 'x']), (e) => /no engine answers/.test(e.stderr));
  await assert.rejects(run(EMBER, ['ask', '--engine', 'ftp://x', 'x']), (e) => /not an http/.test(e.stderr));
});

/* A request that generates exactly `tokens` tokens, whatever the model says. */
const long = (tokens, seed) => ({ model: 'm', messages: [{ role: 'user', content: `go ${seed}` }], reasoning_effort: 'none',
  max_tokens: tokens, ignore_eos: true, temperature: 1, seed, stream: true });

test('ember serve --engine A --engine B: a replica killed mid-Contemplating and mid-load, no request fails', async () => {
  const c = await startReplica(model(), { ctx: 8192 });
  const server = await startServer(['--parallel', '16', '-t', '1'], { engines: [a.url, c.url] });
  try {
    const api = client(OpenAI, server);
    // 4 agents spread over both replicas; the second dies while they generate
    const stream = await api.chat.completions.create({
      ...long(300, 1), ember: { mode: 'contemplating', agents: 4, early_stop: false },
    });
    let deltas = 0, killed, final;
    for await (const chunk of stream) {
      if (chunk.ember?.type === 'agent.delta' && ++deltas === 40) killed = c.kill();
      if (chunk.choices[0]?.finish_reason) final = chunk;
    }
    await killed;
    assert.ok(killed, 'the replica was killed mid-run');
    assert.notEqual(final.choices[0].finish_reason, 'error');
    assert.equal(final.ember.agents.length, 4);
    for (const agent of final.ember.agents) assert.equal(agent.tokens, 300, JSON.stringify(agent));
    const m = await metrics(server);
    const failures = Object.entries(m).filter(([k]) => k.startsWith('ember_replica_failures_total'));
    assert.ok(failures.some(([k, v]) => k.includes(c.url) && v > 0), JSON.stringify(failures));
  } finally {
    await server.stop();
  }

  // 16 streams over A and a new replica D, which is killed once tokens flow
  const d = await startReplica(model(), { ctx: 8192 });
  const load = await startServer(['--parallel', '16', '-t', '1'], { engines: [a.url, d.url] });
  try {
    const api = client(OpenAI, load);
    let tokens = 0, killed;
    const one = async (i) => {
      const stream = await api.chat.completions.create(long(200, 100 + i));
      let text = '', finish;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (++tokens === 300) killed = d.kill();
      }
      return { finish, text };
    };
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => one(i)));
    await killed;
    assert.ok(killed, 'the replica was killed mid-load');
    for (const r of results) assert.equal(r.finish, 'length');
    const m = await metrics(load);
    assert.equal(m[`ember_replica_up{url="${d.url}",engine="llama-server"}`], 0);
    assert.equal(m[`ember_replica_up{url="${a.url}",engine="llama-server"}`], 1);
  } finally {
    await load.stop();
  }
});
