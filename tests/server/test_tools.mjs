// test_tools.mjs — tools over `ember serve`. OpenAI's tool_choice, for both chat formats (Muse
// Glimmer's ATEM calls and ChatML's <tool_call> JSON): the test models have random weights, so
// only the forced grammar makes their output a call; "required" and a named function returning a
// well-formed call to an offered tool (Instant and Thinking, streamed or not) shows the grammar
// is applied from the first token; "none" offers nothing; bad choices are 400s. And Contemplating
// agents calling the server's built-in tools: each call and result streams as an ember event
// for its agent, and none becomes the client's tool_calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadOpenAI, startServer, client, tempDir } from './support.mjs';

const OpenAI = await loadOpenAI();
const tmp = tempDir();
const servers = {};

before(async () => {
  servers.glimmer = await startServer(['-c', '4096', '--parallel', '1', '--db', `${tmp.dir}/g.db`, '-t', '1']);
  servers.tools = await startServer(['-c', '4096', '--parallel', '1', '--db', `${tmp.dir}/t.db`, '-t', '1',
    '--tools', 'calculator']);
  servers.qwen3 = await startServer(['-c', '4096', '--parallel', '1', '--db', `${tmp.dir}/q.db`, '-t', '1'],
    { modelName: 'qwen3-tiny.gguf' });
});

after(async () => {
  for (const s of Object.values(servers)) await s?.stop();
  tmp.remove();
});

const user = (content) => [{ role: 'user', content }];
const TOOLS = [
  { type: 'function', function: { name: 'add', description: 'Adds two integers',
    parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } } } },
  { type: 'function', function: { name: 'now', description: 'The current time',
    parameters: { type: 'object', properties: {} } } },
];
const MODES = {
  instant: { reasoning_effort: 'none' },
  thinking: { reasoning_effort: 'low', ember: { think_budget: 6 } },
};

/* Every call names an offered tool (or `only`) and its arguments are a JSON object of that
 * tool's parameters with their types. */
function checkCalls(calls, only, where) {
  assert.ok(calls.length >= 1, `${where}: no tool_calls`);
  for (const c of calls) {
    const name = c.function.name;
    assert.ok(only ? name === only : ['add', 'now'].includes(name), `${where}: called ${name}`);
    const args = JSON.parse(c.function.arguments);
    assert.equal(typeof args, 'object', `${where}: ${c.function.arguments}`);
    assert.ok(args !== null && !Array.isArray(args), `${where}: ${c.function.arguments}`);
    for (const [k, v] of Object.entries(args)) {
      assert.ok(name === 'add' && ['a', 'b'].includes(k), `${where}: argument ${k} of ${name}`);
      assert.ok(Number.isInteger(v), `${where}: ${k} = ${JSON.stringify(v)}`);
    }
  }
}

async function ask(api, choice, mode, stream, seed) {
  const body = { model: 'm', messages: user('What is 2+3?'), tools: TOOLS, tool_choice: choice, seed,
    max_tokens: 1500, temperature: 1.0, ...MODES[mode], stream };
  if (!stream) {
    const r = await api.chat.completions.create(body);
    const m = r.choices[0].message;
    return { finish: r.choices[0].finish_reason, calls: m.tool_calls ?? [], reasoning: m.reasoning_content ?? '' };
  }
  const calls = [];
  let finish = null;
  for await (const chunk of await api.chat.completions.create(body)) {
    for (const d of chunk.choices[0]?.delta?.tool_calls ?? []) {
      calls[d.index] ??= { function: { name: '', arguments: '' } };
      calls[d.index].function.name += d.function?.name ?? '';
      calls[d.index].function.arguments += d.function?.arguments ?? '';
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  return { finish, calls };
}

for (const format of ['glimmer', 'qwen3']) {
  for (const mode of Object.keys(MODES)) {
    test(`${format} ${mode}: tool_choice "required" and a named function force a call`, async () => {
      const api = client(OpenAI, servers[format]);
      let seed = 1;
      for (const stream of [false, true]) {
        for (const [choice, only] of [['required', null],
          [{ type: 'function', function: { name: 'add' } }, 'add'],
          [{ type: 'function', function: { name: 'now' } }, 'now']]) {
          for (let k = 0; k < 2; k++, seed++) {
            const where = `${format} ${mode} ${stream ? 'stream' : 'json'} ${only ?? 'required'} seed ${seed}`;
            const r = await ask(api, choice, mode, stream, seed);
            assert.equal(r.finish, 'tool_calls', where);
            checkCalls(r.calls, only, where);
            if (!stream) assert.equal(r.reasoning.length > 0, mode === 'thinking', `${where}: reasoning first`);
          }
        }
      }
    });
  }

  test(`${format}: tool_choice "none" offers no tools`, async () => {
    const api = client(OpenAI, servers[format]);
    const base = { model: 'm', messages: user('hi'), tools: TOOLS, seed: 1, max_tokens: 4, reasoning_effort: 'none' };
    const offered = await api.chat.completions.create({ ...base, tool_choice: 'auto' });
    const none = await api.chat.completions.create({ ...base, tool_choice: 'none' });
    const bare = await api.chat.completions.create({ ...base, tools: undefined });
    assert.equal(none.usage.prompt_tokens, bare.usage.prompt_tokens, 'the prompt holds no tool definitions');
    assert.ok(offered.usage.prompt_tokens > none.usage.prompt_tokens + 20);
    assert.equal(none.choices[0].message.tool_calls, undefined);
  });
}

test('bad tool_choice requests are 400s that say why', async () => {
  const api = client(OpenAI, servers.glimmer);
  const base = { model: 'm', messages: user('x'), tools: TOOLS, max_tokens: 8 };
  const cases = [
    [{ ...base, tool_choice: { type: 'function', function: { name: 'nope' } } }, /'nope'.*not among the offered tools/],
    [{ ...base, tools: undefined, tool_choice: 'required' }, /no tools are offered/],
    [{ ...base, tool_choice: 'required', ember: { mode: 'contemplating', agents: 2 } }, /Instant or Thinking/],
    [{ ...base, tool_choice: 'required', response_format: { type: 'json_object' } }, /cannot be combined/],
    [{ ...base, tool_choice: 'sometimes' }, /must be none, auto, required/],
  ];
  for (const [body, message] of cases) {
    await assert.rejects(api.chat.completions.create(body),
      (e) => e.status === 400 && e.param === 'tool_choice' && message.test(e.message), JSON.stringify(body.tool_choice));
  }
});

test('Contemplating agents run the server\'s tools; their calls and results stream for each agent', async () => {
  const api = client(OpenAI, servers.tools);
  const call = '" to=calculator" <|message|> "<atem:function_calls>\\n<atem:invoke name=\\"calculator\\">\\n' +
    '<atem:parameter name=\\"expression\\">6*7</atem:parameter>\\n</atem:invoke>\\n</atem:function_calls>"';
  const agentGrammar = `root ::= "a"{3} <|eom|> <|start|> "assistant" ${call}\n`;
  const stream = await api.chat.completions.create({
    model: 'm', messages: user('What is 6*7?'), stream: true, seed: 4, max_tokens: 300,
    ember: { mode: 'contemplating', agents: 2, early_stop: false, agent_grammar: agentGrammar,
      grammar: 'root ::= "I check." <|eom|> <|start|> "assistant to=user" <|message|> "42."' },
  });
  const calls = [], results = [];
  let content = '', clientCalls = 0, finish;
  for await (const chunk of stream) {
    if (chunk.ember?.type === 'tool.call') calls.push(chunk.ember);
    if (chunk.ember?.type === 'tool.result') results.push(chunk.ember);
    if (chunk.choices[0]?.delta?.tool_calls) clientCalls++;
    content += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  for (const agent of [0, 1]) {
    assert.ok(calls.some((c) => c.agent === agent && c.name === 'calculator'), JSON.stringify(calls));
    /* the grammar calls in every round: rounds go on until the agent's token limit */
    const mine = results.filter((r) => r.agent === agent);
    assert.ok(mine.length >= 1, JSON.stringify(results));
    for (const r of mine) assert.equal(r.output, '42');
    assert.ok(calls.filter((c) => c.agent === agent).length >= mine.length);
  }
  assert.equal(clientCalls, 0);
  assert.equal(content, '42.');
  assert.equal(finish, 'stop');
});
