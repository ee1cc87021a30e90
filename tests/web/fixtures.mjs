// fixtures.mjs — what the web app's browser tests feed the model: a PNG written here (no
// binary is committed), and GBNF grammars that force the model's text where a test needs to
// know it. A grammar never names an end-of-generation token: it ends, and the model ends its
// turn. Muse Glimmer's reasoning channel closes with <|eom|>; the answer opens with
// <|start|>assistant to=user<|message|>.
import { deflateSync } from 'node:zlib';

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/* A 64x64 RGB PNG: light grey with a green square at x 40..55, y 8..23. */
export function picturePng() {
  const w = 64, h = 64;
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) {
    raw[y * (1 + 3 * w)] = 0;
    for (let x = 0; x < w; x++) {
      const green = x >= 40 && x < 56 && y >= 8 && y < 24;
      raw.set(green ? [40, 200, 60] : [240, 240, 240], y * (1 + 3 * w) + 1 + 3 * x);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/* A GBNF string literal of text. */
export const lit = (text) => JSON.stringify(text);
const toUser = '<|eom|> <|start|> "assistant to=user" <|message|>';

/* Thinking: exactly this reasoning, then exactly this answer. */
export const thinking = (reasoning, answer) => `root ::= ${lit(reasoning)} ${toUser} ${lit(answer)}\n`;
/* An answer only (Instant). Contemplating's synthesizer reasons first, as Thinking does. */
export const answer = (text) => `root ::= ${lit(text)}\n`;
/* An answer that never completes: it runs until max_tokens. */
export const endless = 'root ::= [a-z] root\n';

/* Every Contemplating agent: a known start of reasoning, a few free words, the answer "4". */
export const agentGrammar = `root ::= "Let me add: two plus two is four. " ("I check it once more. "){8} [a-z ]{0,24} ${toUser} "4"\n`;

/* Thinking with the picture: zoom into the green square (the run's own tool), or answer with a
 * box around it — sampling picks, the tool-step limit ends the calls. */
export const zoomOrBox =
  'root ::= "a"{3} <|eom|> <|start|> "assistant" (call | answer)\n' +
  'call ::= " to=zoom" <|message|> "<atem:function_calls>\\n<atem:invoke name=\\"zoom\\">\\n' +
  '<atem:parameter name=\\"image\\">1</atem:parameter>\\n<atem:parameter name=\\"box\\">[0.625, 0.125, 0.875, 0.375]</atem:parameter>\\n' +
  '</atem:invoke>\\n</atem:function_calls>"\n' +
  'answer ::= " to=user" <|message|> "A green square <box label=\\"square\\">0.625,0.125,0.875,0.375</box>."\n';

/* Every round calls the calculator (the server runs it) until the step limit. */
export const calculatorCall = 'root ::= "a" <|eom|> <|start|> "assistant to=calculator" <|message|> ' +
  '"<atem:function_calls>\\n<atem:invoke name=\\"calculator\\">\\n<atem:parameter name=\\"expression\\">2^100</atem:parameter>\\n</atem:invoke>\\n</atem:function_calls>"\n';

/* The Markdown answer: emphasis, code, a table, math, a code block, and what must never run. */
export const MARKDOWN = 'Here is **bold**, `code` and math $e^{i\\pi}+1=0$.\n\n' +
  '| food | kcal |\n|---|---|\n| apple | 52 |\n\n' +
  '```js\nconst x = 1;\n```\n\n' +
  '$$\\int_0^1 x\\,dx = \\tfrac12$$\n\n' +
  '<img src="x" onerror="window.__xss=1"><script>window.__xss=2</script> [link](javascript:window.__xss=3)\n';

/* An artifact: a small nutrition display that also probes its sandbox and writes what it
 * found into its own page. */
export function probeArtifact() {
  const html = `<!doctype html>
<html><head><title>Nutrition probe</title>
<style>body{font:14px sans-serif;margin:12px}b{display:inline-block;height:14px;background:#e8643a}</style>
</head><body>
<h2>Apple, 100 g: 52 kcal</h2>
<p>Carbs <b style="width:140px"></b> 14 g</p>
<p>Fiber <b style="width:24px;background:#4c9a52"></b> 2.4 g</p>
<canvas id="c" width="120" height="20"></canvas>
<ul id="r"></ul>
<script>
const out = (k, v) => { const li = document.createElement('li'); li.id = k; li.textContent = k + ': ' + v; document.getElementById('r').append(li); };
document.addEventListener('securitypolicyviolation', (e) => out('csp', e.violatedDirective));
try { out('parent', 'read ' + parent.document.title); } catch (e) { out('parent', 'blocked ' + e.name); }
try { out('cookie', 'read ' + document.cookie); } catch (e) { out('cookie', 'blocked ' + e.name); }
try { out('storage', 'read ' + localStorage.length); } catch (e) { out('storage', 'blocked ' + e.name); }
fetch('/v1/models?from-artifact').then((r) => out('fetch', 'allowed ' + r.status), (e) => out('fetch', 'blocked ' + e.name));
const g = document.getElementById('c').getContext('2d'); g.fillStyle = '#e8643a'; g.fillRect(0, 0, 120, 20);
</script>
</body></html>`;
  return { html, answer: `Here is the display:\n\n\`\`\`html title="Nutrition probe"\n${html}\n\`\`\`\n\nTap a bar to see more.` };
}
