// build.mjs — bundles ember's web app with esbuild: web/src/main.js and web/style.css (with
// the npm packages they import: marked, DOMPurify, highlight.js, KaTeX and its fonts) into
// one directory that `ember serve` serves. Run by CMake (target ember-web) and by hand:
//   node web/build.mjs --out DIR
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--out');
if (i < 0 || !process.argv[i + 1]) {
  console.error('usage: node web/build.mjs --out DIR');
  process.exit(2);
}
const out = process.argv[i + 1];
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await esbuild.build({
  entryPoints: { app: join(here, 'src/main.js'), style: join(here, 'style.css') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  loader: { '.woff2': 'file', '.woff': 'file', '.ttf': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
copyFileSync(join(here, 'icon.svg'), join(out, 'icon.svg'));
