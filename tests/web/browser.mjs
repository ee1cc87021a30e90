// browser.mjs — Debian's Chromium driven by playwright-core for the web app's tests: a fresh
// profile per launch, headless, without the background services (their connections are
// refused in CI sandboxes). Exits 77 (CTest's "skipped") only when Chromium or playwright-core
// is not installed.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.EMBER_CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    console.log(`playwright-core not installed (npm ci): ${e.message}`);
    process.exit(77);
  }
  if (!existsSync(CHROMIUM)) {
    console.log(`${CHROMIUM} not found (apt-get install chromium)`);
    process.exit(77);
  }
  const profile = mkdtempSync(join(tmpdir(), 'ember-chromium-'));
  // a persistent context is how playwright takes a --user-data-dir: a fresh one each time
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    timeout: 300000,   // starting Chromium on a loaded machine can take minutes
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
