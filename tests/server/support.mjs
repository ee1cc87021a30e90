// support.mjs — what the Node tests of `ember serve` share: starting a server on a free port of
// 127.0.0.1 (and stopping it, checking that it exits cleanly: under ASan a leak fails the exit
// status), an OpenAI client for it, raw HTTP requests and /metrics parsing.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const EMBER = process.env.EMBER_BIN;
export const MODELS = process.env.EMBER_TEST_MODELS;

/* The openai package, or exit 77 (CTest's "skipped") when npm ci has not installed it. */
export async function loadOpenAI() {
  try {
    return (await import('openai')).default;
  } catch (e) {
    console.log(`openai npm package not installed (npm ci): ${e.message}`);
    process.exit(77);
  }
}

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'ember-serve-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function model(name = 'glimmer-tiny.gguf') {
  if (!EMBER || !MODELS) throw new Error('EMBER_BIN and EMBER_TEST_MODELS must be set (run under CTest)');
  return join(MODELS, name);
}

/* `ember keys add NAME --db DB` → the key. */
export function addKey(db, name) {
  return execFileSync(EMBER, ['keys', 'add', name, '--db', db], { encoding: 'utf8' }).trim();
}

/* Starts `ember serve -m MODEL --port 0 ...args` (or --engine URL … with EMBER_TEST_ENGINES);
 * resolves once it listens. */
export async function startServer(args = [], { modelName, engines: given } = {}) {
  // `engines`, or EMBER_TEST_ENGINES (space-separated URLs): the same server in front of remote
  // engines (tests/backend), named as the local model would be.
  const engines = given ?? process.env.EMBER_TEST_ENGINES?.split(' ').filter(Boolean) ?? [];
  const source = engines.length && !modelName
    ? [...engines.flatMap((url) => ['--engine', url]), '--model-id', 'glimmer-tiny.gguf']
    : ['-m', model(modelName)];
  const proc = spawn(EMBER, ['serve', ...source, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, OMP_WAIT_POLICY: 'passive' },
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${stderr}`)); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    /* SIGTERM, then the exit status must be 0 (ASan reports leaks through it). */
    async stop() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 60000);
      const { code, signal } = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`server exited with ${code ?? signal}:\n${stderr}`);
    },
  };
}

export function client(OpenAI, server, apiKey = 'none') {
  return new OpenAI({ baseURL: `${server.base}/v1`, apiKey, maxRetries: 0, timeout: 120000 });
}

/* A raw request: { status, headers, text, json }. */
export async function http(server, method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    init.headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${server.base}${path}`, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

/* GET /metrics → { 'name{labels}': value }. */
export async function metrics(server, headers = {}) {
  const res = await http(server, 'GET', '/metrics', { headers });
  if (res.status !== 200) throw new Error(`/metrics: ${res.status} ${res.text}`);
  const values = {};
  for (const line of res.text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    values[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return values;
}

/* Polls /metrics until pred(values) holds (or fails after timeoutMs). */
export async function waitMetrics(server, pred, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await metrics(server);
    if (pred(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`metrics never matched: ${JSON.stringify(last)}`);
}

/* Test grammars (GBNF). A grammar never names an end-of-generation token: it ends with text
 * and the model then ends its turn. Muse Glimmer's reasoning channel is closed with <|eom|>
 * and the answer opened with <|start|>assistant to=user<|message|>. */
export const G = {
  four: 'root ::= "Four."\n',
  thinking: 'root ::= "a"{30} <|eom|> <|start|> "assistant to=user" <|message|> "The answer is 4."\n',
  stop: 'root ::= "The answer is 4. Done."\n',
  /* random words, at least one letter (a first token that ends the turn would leave nothing
   * to check), ending when the model likes or at max_tokens */
  someWords: 'root ::= [a-z] [a-z ]{0,80}\n',
  someThinking: 'root ::= [a-z] [a-z ]{0,40} <|eom|> <|start|> "assistant to=user" <|message|> [a-z] [a-z ]{0,40}\n',
  /* an answer that never completes: it runs until max_tokens (finish_reason "length") */
  long: 'root ::= [a-z] root\n',
  toolCall: 'root ::= "x" <|eom|> <|start|> "assistant to=get_weather" <|message|> ' +
    '"<atem:function_calls>\\n<atem:invoke name=\\"get_weather\\">\\n' +
    '<atem:parameter name=\\"city\\">Paris</atem:parameter>\\n' +
    '<atem:parameter name=\\"days\\">3</atem:parameter>\\n' +
    '</atem:invoke>\\n</atem:function_calls>" <|eom|>\n',
};

/* Reads a streamed chat completion to its end: the answer's text, the finish reason, the final
 * usage chunk and the last `ember` extension seen. */
export async function collect(stream) {
  let content = '', finish = null, usage = null, ember = null;
  for await (const chunk of stream) {
    content += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.ember) ember = chunk.ember;
  }
  return { content, finish, usage, ember };
}

/* A streamed Instant request for `max` greedy letters (G.long, ignore_eos: it ends at max_tokens),
 * read to its end with collect(). */
export async function streamLetters(api, i, max) {
  const stream = await api.chat.completions.create({
    model: 'm', messages: [{ role: 'user', content: `stream ${i}: letters` }], reasoning_effort: 'none',
    temperature: 0, max_tokens: max, ignore_eos: true, ember: { grammar: G.long }, stream: true,
    stream_options: { include_usage: true },
  });
  return collect(stream);
}
