// test_web.mjs — ember's web app in a real browser: Debian's Chromium, headless, driven by
// playwright-core, against `ember serve` on a generated random-weight model (tests/ fixture
// `models`), serving the built app (cli/web/ beside the binary). Where a test needs known
// text, the request the app sends is given a grammar on its way out (page.route), so the app
// itself is what a person uses. Screenshots of each state go to $EMBER_WEB_SHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, http } from '../server/support.mjs';
import { launch } from './browser.mjs';
import * as F from './fixtures.mjs';

const tmp = tempDir();
const SHOTS = process.env.EMBER_WEB_SHOTS || join(tmp.dir, 'shots');
mkdirSync(SHOTS, { recursive: true });
const PNG_PATH = join(tmp.dir, 'square.png');
writeFileSync(PNG_PATH, F.picturePng());
const T = 240000;   // a state may take this long to appear on a busy machine (ASan, shared cores)

let server, chrome, page;
const pageErrors = [];

before(async () => {
  server = await startServer(['-c', '8192', '--parallel', '2', '--max-agents', '6', '--db', `${tmp.dir}/ember.db`, '-t', '2']);
  chrome = await launch();
  // a loaded machine (ASan, shared cores) can be very slow: every wait gets the long timeout
  chrome.context.setDefaultTimeout(T);
  chrome.context.setDefaultNavigationTimeout(T);
  page = await chrome.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.base);
  await page.locator('#model').filter({ hasText: 'glimmer-tiny.gguf' }).waitFor({ timeout: T });
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  tmp.remove();
});

const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

/* Routes the app's chat requests through here: each body is recorded as the app sent it,
 * then given `ember` and top-level extras (a grammar, a seed) before it goes on. */
async function force(ember = {}, extra = {}, p = page) {
  const sent = [];
  await p.unroute('**/v1/chat/completions');
  await p.route('**/v1/chat/completions', async (route) => {
    const body = JSON.parse(route.request().postData());
    sent.push(structuredClone(body));
    Object.assign(body.ember, ember);
    Object.assign(body, extra);
    await route.continue({ postData: JSON.stringify(body) });
  });
  return sent;
}

async function newChat(mode = 'instant') {
  await page.click('#new');
  await page.selectOption('#mode', mode);
}

/* Types and sends with the keyboard (Enter). */
async function say(text) {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
}

/* Waits for the answer to finish: the app reloads the stored conversation, which gives the
 * answer its Regenerate button. */
async function answered(n = 1) {
  await page.locator('.msg.assistant >> text=Regenerate').nth(n - 1).waitFor({ timeout: T });
}

/* Records, in the page, the text length of the elements matching selector each time it
 * changes while the answer is still streaming: a stream leaves several partial lengths, an
 * answer that appears at once leaves none. */
async function watchLengths(selector) {
  await page.evaluate((sel) => {
    window.__lengths = [];
    const seen = window.__lengths;
    new MutationObserver(() => {
      if (!document.querySelector('.msg.assistant .badge.live')) return;
      const n = [...document.querySelectorAll(sel)].reduce((s, e) => s + e.textContent.length, 0);
      if (n && n !== seen[seen.length - 1]) seen.push(n);
    }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
  }, selector);
}
const lengths = () => page.evaluate(() => window.__lengths);

test('Thinking: the reasoning and a Markdown answer stream in; code, tables and math render; nothing from the model runs', async () => {
  await newChat('thinking');
  await page.selectOption('#effort', 'high');
  const reasoning = 'First I look at the question. '.repeat(12).trim();
  const sent = await force({ grammar: F.thinking(reasoning, F.MARKDOWN) }, { seed: 1 });
  await watchLengths('.msg.assistant .answer, .msg.assistant .reasoning-text');
  await say('Show me Markdown');
  await page.locator('.msg.assistant .badge.live').waitFor({ timeout: T });
  await shot('thinking-streaming');
  await answered();
  const seen = await lengths();
  const final = await page.locator('.msg.assistant .answer, .msg.assistant .reasoning-text')
    .evaluateAll((els) => els.reduce((s, e) => s + e.textContent.length, 0));
  assert.ok(seen.filter((n) => n < final).length >= 2, `partial states while streaming: ${seen} (final ${final})`);
  assert.equal(sent[0].reasoning_effort, 'high');
  assert.equal(sent[0].ember.mode, 'thinking');
  assert.equal(sent[0].stream, true);

  const msg = page.locator('.msg.assistant').last();
  const details = msg.locator('details.reasoning');
  assert.equal(await details.evaluate((d) => d.open), false, 'collapsed once answered');
  assert.match(await details.locator('summary').innerText(), /^Reasoning · \d+ tokens · [\d.]+ s/);
  assert.equal((await details.locator('.reasoning-text').textContent()).trim(), reasoning);
  const answer = msg.locator('.answer');
  assert.equal(await answer.locator('strong').innerText(), 'bold');
  assert.equal(await answer.locator('table td').first().innerText(), 'apple');
  assert.ok(await answer.locator('.katex').count() >= 2, 'inline and display math');
  assert.ok(await answer.locator('.math-block .katex-display').count() === 1);
  assert.equal(await answer.locator('.code .hljs-keyword').first().innerText(), 'const');
  assert.equal(await answer.locator('.code button.copy').count(), 1);
  // sanitized: no handlers, no scripts, no javascript: links
  assert.equal(await answer.locator('script').count(), 0);
  assert.equal(await answer.locator('[onerror]').count(), 0);
  assert.equal(await answer.locator('a[href^="javascript"]').count(), 0);
  await answer.locator('a').first().click().catch(() => {});
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await shot('thinking-desktop');
});

test('modes per message: Instant, Thinking and Contemplating requests; agents up to the server limit', async () => {
  await newChat('instant');
  assert.equal(await page.locator('#agents').getAttribute('max'), '6');
  assert.ok(await page.locator('#thinking-options').isHidden());
  let sent = await force({ grammar: F.answer('Four.') }, { seed: 1 });
  await say('2+2?');
  await answered();
  assert.equal(sent[0].reasoning_effort, 'none');
  assert.equal(sent[0].ember.mode, 'instant');
  assert.equal(await page.locator('.msg.assistant .badge.mode-instant').innerText(), 'Instant');
  assert.equal(await page.locator('.msg.assistant .answer').innerText(), 'Four.');

  await page.selectOption('#mode', 'thinking');
  await page.selectOption('#effort', 'low');
  await page.fill('#budget', '64');
  sent = await force({ grammar: F.thinking('Two and two.', 'Four.') }, { seed: 1 });
  await say('And now?');
  await answered(2);
  assert.equal(sent[0].reasoning_effort, 'low');
  assert.equal(sent[0].ember.think_budget, 64);
  assert.deepEqual(sent[0].messages.map((m) => m.role), ['user', 'assistant', 'user'], 'the history goes along');
  await page.fill('#budget', '');

  await page.selectOption('#mode', 'contemplating');
  assert.ok(await page.locator('#contemplating-options').isVisible());
  await page.fill('#agents', '9');
  sent = await force({ agent_grammar: F.agentGrammar, grammar: F.thinking('Four. ', '4') }, { seed: 3 });
  await say('Once more');
  await answered(3);
  assert.equal(sent[0].ember.mode, 'contemplating');
  assert.equal(sent[0].ember.agents, 6, 'clamped to --max-agents');
  await page.fill('#agents', '3');
});

test('Contemplating: agent cards stream live, stay readable afterwards; confidence, early stop, vote and synthesis are labelled', async () => {
  await newChat('contemplating');
  await page.fill('#agents', '4');
  // all four start at once (early stop's first wave is half of them) and stream side by side
  await force({ agent_grammar: F.agentGrammar, grammar: F.thinking('I check the candidates: four. ', 'The answer is **4**.'), synthesis: 'always', first_wave: 4 }, { seed: 3 });
  await watchLengths('.agent .agent-reasoning .text');
  await say('What is 2+2? Think it over.');
  await page.locator('.agent').nth(3).waitFor({ timeout: T });
  await shot('contemplating-streaming');
  await answered();
  assert.ok((await lengths()).length >= 2, `agent reasoning streamed: ${await lengths()}`);
  const cards = page.locator('.msg.assistant').last().locator('.agent');
  assert.equal(await cards.count(), 4);
  for (let i = 0; i < 4; i++) {
    const card = cards.nth(i);
    const text = await card.locator('.agent-reasoning .text').textContent();
    assert.match(text, /^Let me add: two plus two is four\./, `agent ${i + 1} keeps its reasoning`);
    assert.equal(await card.locator('.agent-reasoning').evaluate((d) => d.open), false, 'collapsed');
    const status = await card.locator('.status').innerText();
    const early = await card.evaluate((c) => c.classList.contains('early'));
    assert.equal(early, status.startsWith('stopped early'), status);
    if (!early) {
      assert.match(await card.locator('.confidence .value').innerText(), /^confidence \d+\.\d\d · /);
      assert.match(await card.locator('.confidence').getAttribute('title'), /Higher is surer/);
    }
  }
  assert.match(await page.locator('.agents-head .vote').last().innerText(), /vote: “4” — \d+% .*agents [\d, ]+ agreed/);
  assert.ok(await page.locator('.agent.agreed').count() >= 1);
  assert.match(await page.locator('.answer-label').last().innerText(), /^Synthesized answer/i);
  assert.equal(await page.locator('.msg.assistant').last().locator('.answer').innerText(), 'The answer is 4.');
  // the synthesizer's reasoning, after the agents whose answers it read
  const synth = page.locator('.msg.assistant').last().locator('.agents ~ details.reasoning');
  assert.match(await synth.locator('summary').innerText(), /^Synthesizer’s reasoning/);
  assert.match(await synth.locator('.reasoning-text').textContent(), /I check the candidates: four\./);
  await cards.first().locator('.agent-reasoning summary').click();
  await shot('contemplating-desktop');
  // readable after a reload too: stored with the conversation
  await page.reload();
  await page.locator('.agent .agent-reasoning .text').first().waitFor({ state: 'attached', timeout: T });
  assert.equal(await page.locator('.msg.assistant').last().locator('.agent').count(), 4);
  assert.match(await page.locator('.agent .agent-reasoning .text').first().textContent(), /^Let me add/);
});

test('Contemplating: agents that agree give their answer, labelled as theirs, with no synthesis', async () => {
  await newChat('contemplating');
  await page.fill('#agents', '2');
  await force({ agent_grammar: F.agentGrammar, early_stop: false }, { seed: 3 });
  await say('What is 2+2?');
  await answered();
  assert.match(await page.locator('.agents-head .vote').last().innerText(), /vote: “4” — 100% /);
  assert.match(await page.locator('.answer-label').last().innerText(), /^Answer of the agreeing agents/i);
  assert.equal(await page.locator('.msg.assistant').last().locator('.answer').innerText(), '4');
  await page.fill('#agents', '4');
});

test('images: attached by button, paste and drop; the image reaches the model; zoom crops and boxes are shown', async () => {
  await newChat('thinking');
  await page.setInputFiles('#file', PNG_PATH);
  await page.locator('.attachment').first().waitFor();
  const png64 = F.picturePng().toString('base64');
  // paste and drag-and-drop hand the app a File, as a browser does
  await page.evaluate((b64) => {
    const file = () => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'p.png', { type: 'image/png' });
    const paste = new DataTransfer();
    paste.items.add(file());
    document.getElementById('input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }));
    const drop = new DataTransfer();
    drop.items.add(file());
    document.querySelector('main').dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
  }, png64);
  await page.locator('.attachment').nth(2).waitFor();
  await shot('image-attached');
  await page.click('.attachment >> nth=2 >> .remove');
  await page.click('.attachment >> nth=1 >> .remove');
  assert.equal(await page.locator('.attachment').count(), 1);

  const sent = await force({ grammar: F.zoomOrBox }, { seed: 2 });
  await say('Where is the green square?');
  await answered();
  const parts = sent[0].messages.at(-1).content;
  assert.equal(parts[0].text, 'Where is the green square?');
  assert.match(parts[1].image_url.url, /^data:image\/png;base64,/);
  // the model saw it: the stored answer counts image tokens, the question keeps the image
  const id = await page.evaluate(() => localStorage.getItem('ember.open'));
  const conv = (await http(server, 'GET', `/v1/conversations/${id}`)).json;
  assert.ok(conv.messages[1].ember.usage.image_tokens > 0, JSON.stringify(conv.messages[1].ember.usage));
  assert.ok(conv.messages[1].ember.usage.prompt_tokens > conv.messages[1].ember.usage.image_tokens);
  assert.equal(conv.messages[0].ember.images.length, 1);
  assert.equal(await page.locator('.msg.user .thumb img').count(), 1);
  const e = conv.messages[1].ember;
  if (e.boxes?.length) {
    await page.locator('.thumb .box').first().waitFor();
    assert.equal(await page.locator('.thumb .box .box-label').first().innerText(), 'square');
    const box = await page.locator('.thumb .box').first().evaluate((b) => [b.style.left, b.style.top]);
    assert.deepEqual(box, ['62.5%', '12.5%']);
  }
  if (e.zooms?.length) {
    await page.locator('.msg.assistant details.reasoning summary').last().click();
    await page.locator('.zoom canvas').first().waitFor();
    assert.match(await page.locator('.zoom figcaption').first().innerText(), /zoomed into image 1/);
    assert.equal(await page.locator('.zoom canvas').first().evaluate((c) => c.width), 96, 'a 16 px crop scaled up');
  }
  assert.ok(e.boxes?.length || e.zooms?.length, 'the grammar made the model zoom or answer with a box');
  await shot('image-answered');
});

test('an artifact runs in the sandbox: its script cannot reach the page, cookies, storage or the network', async () => {
  await newChat('instant');
  const probe = F.probeArtifact();
  const sent = await force({ grammar: F.answer(probe.answer) }, { seed: 1 });
  const artifactRequests = [];
  page.on('request', (r) => { if (r.url().includes('from-artifact')) artifactRequests.push(r.url()); });
  await say('Make an interactive nutrition display for an apple');
  await answered();
  assert.equal(sent[0].ember.artifacts, true);
  const frameEl = page.locator('.artifact iframe');
  assert.equal(await frameEl.getAttribute('sandbox'), 'allow-scripts');
  const srcdoc = await frameEl.getAttribute('srcdoc');
  assert.ok(srcdoc.startsWith(`<!doctype html><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:">`), srcdoc.slice(0, 200));
  assert.equal(await page.locator('.artifact-title').innerText(), 'Nutrition probe');
  const frame = page.frameLocator('.artifact iframe');
  await frame.locator('#fetch').waitFor({ timeout: T });
  assert.match(await frame.locator('#parent').innerText(), /^parent: blocked SecurityError/);
  assert.match(await frame.locator('#cookie').innerText(), /^cookie: blocked SecurityError/);
  assert.match(await frame.locator('#storage').innerText(), /^storage: blocked SecurityError/);
  assert.match(await frame.locator('#fetch').innerText(), /^fetch: blocked TypeError/);
  assert.match(await frame.locator('#csp').innerText(), /^csp: connect-src/);
  assert.deepEqual(artifactRequests, [], 'nothing left the frame');
  // it runs: its canvas is painted
  const pixel = await frame.locator('#c').evaluate((c) => [...c.getContext('2d').getImageData(5, 5, 1, 1).data]);
  assert.deepEqual(pixel, [0xe8, 0x64, 0x3a, 255]);
  // the page is untouched
  assert.equal(await page.title(), 'ember');
  assert.ok(await page.evaluate(() => localStorage.getItem('ember.open')));
  await shot('artifact');

  // source view, full screen, download
  await page.click('.artifact button:has-text("Source")');
  assert.ok(await page.locator('.artifact-source').isVisible());
  assert.ok(await frameEl.isHidden());
  assert.match(await page.locator('.artifact-source').innerText(), /<title>Nutrition probe<\/title>/);
  await shot('artifact-source');
  await page.click('.artifact button:has-text("Preview")');
  assert.ok(await frameEl.isVisible());
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('.artifact button:has-text("Download")')]);
  assert.equal(download.suggestedFilename(), 'nutrition-probe.html');
  await page.click('.artifact button:has-text("Full screen")');
  await page.waitForFunction(() => document.fullscreenElement?.classList.contains('artifact'), null, { timeout: 10000 });
  await page.evaluate(() => document.exitFullscreen());

  // stored: after a reload the artifact runs again
  await page.reload();
  await page.frameLocator('.artifact iframe').locator('#fetch').waitFor({ timeout: T });
});

test('Stop keeps what streamed; the stopped turn is saved and marked', async () => {
  await newChat('instant');
  await force({ grammar: F.endless }, { seed: 1, max_tokens: 3000 });
  await say('Tell me everything');
  const answer = page.locator('.msg.assistant .answer');
  await page.waitForFunction(() => (document.querySelector('.msg.assistant .answer')?.textContent.length ?? 0) > 30, null, { timeout: T });
  await page.click('#stop');
  await page.locator('.msg.assistant .badge.stopped').waitFor();
  const kept = await answer.innerText();
  assert.ok(kept.length > 30);
  assert.ok(await page.locator('#send').isVisible());
  await shot('stopped');
  await page.waitForTimeout(1500);
  await page.reload();
  await page.locator('.msg.assistant .badge.stopped').waitFor({ timeout: T });
  const stored = await page.locator('.msg.assistant .answer').innerText();
  assert.ok(stored.startsWith(kept.slice(0, 30)), `${stored.slice(0, 40)} / ${kept.slice(0, 40)}`);
});

test('regenerate and edit-and-resend create branches that can be switched', async () => {
  await newChat('instant');
  await force({ grammar: F.answer('First answer.') }, { seed: 1 });
  await say('Branch test');
  await answered();
  let sent = await force({ grammar: F.answer('Second answer.') }, { seed: 1 });
  await page.click('.msg.assistant >> text=Regenerate');
  await page.locator('.msg.assistant .answer', { hasText: 'Second answer.' }).waitFor({ timeout: T });
  await answered();
  assert.equal(sent[0].ember.regenerate, true);
  assert.ok(sent[0].ember.parent_id > 0);
  assert.equal(await page.locator('.msg.assistant .branches .count').innerText(), '2/2');
  await page.click('.msg.assistant .branches button[aria-label="Previous branch"]');
  await page.locator('.msg.assistant .answer', { hasText: 'First answer.' }).waitFor();
  assert.equal(await page.locator('.msg.assistant .branches .count').innerText(), '1/2');

  sent = await force({ grammar: F.answer('Edited answer.') }, { seed: 1 });
  await page.click('.msg.user >> text=Edit');
  await page.fill('.msg.user textarea.edit', 'Branch test, edited');
  await page.click('.msg.user >> text=Send');
  await page.locator('.msg.assistant .answer', { hasText: 'Edited answer.' }).waitFor({ timeout: T });
  await answered();
  assert.equal(sent[0].ember.parent_id, 0, 'the first message is edited: a new first message');
  assert.equal(await page.locator('.msg.user .text').innerText(), 'Branch test, edited');
  assert.equal(await page.locator('.msg.user .branches .count').innerText(), '2/2');
  await page.click('.msg.user .branches button[aria-label="Previous branch"]');
  await page.locator('.msg.user .text', { hasText: /^Branch test$/ }).waitFor();
  // a switched-to branch shows its newest answer
  assert.equal(await page.locator('.msg.assistant .answer').innerText(), 'Second answer.');
  await shot('branches');
});

test('errors stay visible next to the message with a retry; the typed text is kept', async () => {
  await newChat('instant');
  await page.unroute('**/v1/chat/completions');
  // longer than the server's context
  const long = 'word '.repeat(9000).trim();
  await page.fill('#input', long);
  await page.click('#send');
  const error = page.locator('.msg.assistant .error');
  await error.waitFor({ timeout: T });
  assert.match(await error.innerText(), /context/);
  await page.waitForTimeout(1500);
  assert.ok(await error.isVisible(), 'still there after the app redrew');
  assert.equal(await page.locator('.msg.user .text').innerText(), long);
  assert.equal(await page.inputValue('#input'), long);
  await page.click('.msg.assistant .error >> text=Retry');
  await page.locator('.msg.assistant .error').waitFor({ timeout: T });
  assert.equal(await page.locator('.msg.user').count(), 1, 'retried, not duplicated');
  await shot('error-context');

  // a server that went away
  const other = await startServer(['-c', '2048', '--parallel', '1', '--db', `${tmp.dir}/other.db`, '-t', '1']);
  const p2 = await chrome.context.newPage();
  await p2.goto(other.base);
  await p2.locator('#model').filter({ hasText: 'glimmer' }).waitFor({ timeout: T });
  await other.stop();
  await p2.fill('#input', 'Are you there?');
  await p2.press('#input', 'Enter');
  await p2.locator('.msg.assistant .error').waitFor({ timeout: T });
  assert.match(await p2.locator('.msg.assistant .error').innerText(), /cannot be reached/);
  assert.equal(await p2.locator('.msg.user .text').innerText(), 'Are you there?');
  assert.equal(await p2.inputValue('#input'), 'Are you there?');
  await p2.screenshot({ path: join(SHOTS, 'error-server-gone.png') });
  await p2.close();
});

test('conversations: listed with dates, searched, survive a reload, renamed and deleted', async () => {
  await page.reload();
  await page.locator('#conversations .conv').first().waitFor({ timeout: T });
  assert.ok(await page.locator('#conversations .conv').count() >= 5);
  assert.match(await page.locator('#conversations .conv time').first().innerText(), /\d/);
  await page.fill('#search', 'nutrition display');
  await page.waitForFunction(() => document.querySelectorAll('#conversations .conv').length === 1, null, { timeout: T });
  await page.click('#conversations .conv');
  await page.locator('.artifact iframe').waitFor({ timeout: T });
  assert.match(await page.locator('#title').innerText(), /nutrition display/);
  page.once('dialog', (d) => d.accept('Apple display'));
  await page.click('#rename');
  await page.locator('#title', { hasText: 'Apple display' }).waitFor();
  await page.fill('#search', '');
  await page.locator('#conversations .conv', { hasText: 'Apple display' }).waitFor();
  await page.reload();
  await page.locator('#title', { hasText: 'Apple display' }).waitFor({ timeout: T });
  await shot('conversations');
  page.once('dialog', (d) => d.accept());
  await page.click('#delete');
  await page.locator('#title', { hasText: 'New conversation' }).waitFor({ timeout: 10000 }).catch(async (e) => {
    throw new Error(`${e.message}\ntitle: ${await page.locator('#title').innerText()}; banner: ${await page.locator('#banner').innerText()}`);
  });
  await page.waitForFunction(() => ![...document.querySelectorAll('#conversations .conv')].some((c) => c.textContent.includes('Apple display')));
});

test('settings: system prompt, temperature, max tokens and a dark theme reach the request and the page', async () => {
  await newChat('instant');
  await page.click('#open-settings');
  await page.fill('dialog [name=system]', 'Answer briefly.');
  await page.fill('dialog [name=temperature]', '0.3');
  await page.fill('dialog [name=maxTokens]', '50');
  await page.selectOption('dialog [name=theme]', 'dark');
  await page.click('dialog button[value=save]');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const sent = await force({ grammar: F.answer('Brief.') }, { seed: 1 });
  await say('Hello');
  await answered();
  assert.deepEqual(sent[0].messages[0], { role: 'system', content: 'Answer briefly.' });
  assert.equal(sent[0].temperature, 0.3);
  assert.equal(sent[0].max_tokens, 50);
  await shot('dark');
  await page.click('#open-settings');
  await page.fill('dialog [name=system]', '');
  await page.fill('dialog [name=temperature]', '');
  await page.fill('dialog [name=maxTokens]', '');
  await page.selectOption('dialog [name=theme]', 'light');
  await page.click('dialog button[value=save]');
});

test('a 375 px phone: Send stays on screen, the list is a drawer, nothing scrolls sideways; keyboard only', async () => {
  await page.setViewportSize({ width: 375, height: 740 });
  await page.reload();
  await page.locator('#model').filter({ hasText: 'glimmer' }).waitFor({ state: 'attached', timeout: T });
  await page.click('#new-top');
  await page.selectOption('#mode', 'contemplating');
  const send = await page.locator('#send').boundingBox();
  assert.ok(send.x >= 0 && send.x + send.width <= 375 && send.y + send.height <= 740, JSON.stringify(send));
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 375);
  const side = await page.locator('aside').boundingBox();
  assert.ok(side.x + side.width <= 0, 'the list is off screen');
  await page.click('#menu');
  await page.waitForFunction(() => document.querySelector('aside').getBoundingClientRect().left >= 0);
  await shot('phone-drawer');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.querySelector('aside').getBoundingClientRect().right <= 0);
  // every control has a name a screen reader can say
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, select, input, textarea')]
    .filter((e) => !e.hidden && e.type !== 'file' && !(e.getAttribute('aria-label') || e.textContent.trim() || e.labels?.length || e.title))
    .map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  // keyboard: focus the message box, type, Enter sends
  await page.selectOption('#mode', 'instant');
  await force({ grammar: F.answer('Small screens work.') }, { seed: 1 });
  await page.focus('#input');
  await page.keyboard.type('Hi from a phone');
  await page.keyboard.press('Enter');
  await answered();
  const after = await page.locator('#send').boundingBox();
  assert.ok(after.x + after.width <= 375 && after.y + after.height <= 740, JSON.stringify(after));
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 375);
  await shot('phone');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('server-side tools show as cards with their inputs and outputs', async () => {
  const tools = await startServer(['-c', '4096', '--parallel', '1', '--db', `${tmp.dir}/tools.db`, '-t', '1', '--tools', 'calculator']);
  const p = await chrome.context.newPage();
  try {
    await p.goto(tools.base);
    await p.locator('#model').filter({ hasText: 'glimmer' }).waitFor({ timeout: T });
    await p.selectOption('#mode', 'thinking');
    await force({ grammar: F.calculatorCall }, { seed: 1, max_tokens: 400 }, p);
    await p.fill('#input', 'What is 2^100?');
    await p.press('#input', 'Enter');
    await p.locator('.msg.assistant >> text=Regenerate').waitFor({ timeout: T });
    const card = p.locator('details.tool').first();
    assert.match(await card.locator('summary').innerText(), /^Tool: calculator/);
    await card.locator('summary').click();
    assert.match(await card.locator('pre').first().innerText(), /2\^100/);
    assert.equal(await card.locator('pre').nth(1).innerText(), '1267650600228229401496703205376');
    await p.screenshot({ path: join(SHOTS, 'tools.png') });
  } finally {
    await p.close();
    await tools.stop();
  }
});

test('no errors in the page', () => {
  assert.deepEqual(pageErrors, []);
});
