// test_openai_remote.mjs — the openai-client suite of ember serve (tests/server/test_openai.mjs)
// run again with the server in front of two llama-server replicas (`--engine A --engine B`)
// instead of the in-process engine: same requests, same assertions.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { model } from '../server/support.mjs';
import { requireLlamaServer, startReplica } from './replicas.mjs';

requireLlamaServer();
// with the projector, as the local suite's server finds it beside the model
const vision = { extra: ['--mmproj', model('mmproj-glimmer-tiny.gguf')] };
const replicas = await Promise.all([startReplica(model(), vision), startReplica(model(), vision)]);
const suite = fileURLToPath(new URL('../server/test_openai.mjs', import.meta.url));
const child = spawn(process.execPath, [suite], {
  stdio: 'inherit',
  env: { ...process.env, EMBER_TEST_ENGINES: replicas.map((r) => r.url).join(' ') },
});
const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await Promise.all(replicas.map((r) => r.stop()));
process.exit(code);
