// replicas.mjs — real llama-server replicas for the remote-engine tests: llama.cpp's own
// server, built from the pinned source into ember's llama.cpp cache (the llama_server_tools
// fixture builds it when missing), serving a generated model on free loopback ports.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export const LLAMA_SERVER = process.env.LLAMA_SERVER;

export function requireLlamaServer() {
  if (!LLAMA_SERVER || !existsSync(LLAMA_SERVER)) {
    console.log(`llama-server not built (${LLAMA_SERVER}): scripts/llama-cpp.sh tools builds it`);
    process.exit(77);
  }
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/* One llama-server on 127.0.0.1; resolves once /health answers 200. `slots` requests at once,
 * each with `ctx` tokens of context. */
export async function startReplica(modelPath, { slots = 4, ctx = 4096, extra = [] } = {}) {
  const port = await freePort();
  const proc = spawn(LLAMA_SERVER, ['-m', modelPath, '--host', '127.0.0.1', '--port', String(port), '-np', String(slots),
    '-c', String(ctx * slots), '-t', '1', '--no-webui', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log = (log + d).slice(-4000); });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 60000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`llama-server exited: ${log}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > end) throw new Error(`llama-server did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    log: () => log,
    /* SIGKILL: the replica dies as a crashed machine would, mid-stream. */
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
