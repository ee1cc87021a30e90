// postgres.mjs — a real PostgreSQL server for the tests, from Debian's `postgresql` package:
// initdb into a temporary directory, listening only on a unix socket there (no TCP port to
// collide with), stopped and started again on demand, removed at the end. As root (CI
// containers) the server runs as `nobody`, since PostgreSQL refuses to run as root.
// Exits 77 (CTest's "skipped") when the PostgreSQL binaries are not installed.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function binDir() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : null;
}

export async function startPostgres() {
  const bin = binDir();
  if (!bin) {
    console.log('PostgreSQL is not installed (scripts/install-deps.sh installs it)');
    process.exit(77);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ember-pg-'));
  const asRoot = process.getuid() === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), 0);
  const run = (tool, args) => {
    const cmd = asRoot ? 'runuser' : join(bin, tool);
    const argv = asRoot ? ['-u', 'nobody', '--', join(bin, tool), ...args] : args;
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'ember', '--no-sync', '-E', 'UTF8']);
  const start = () => run('pg_ctl', ['-D', data, '-o', `-k ${dir} -c listen_addresses= -c fsync=off`,
    '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  const stop = () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  start();
  let running = true;
  return {
    uri: `postgresql:///postgres?host=${encodeURIComponent(dir)}&user=ember`,
    start() { if (!running) { start(); running = true; } },
    stop() { if (running) { stop(); running = false; } },
    remove() {
      try { if (running) stop(); } finally { rmSync(dir, { recursive: true, force: true }); }
    },
  };
}
