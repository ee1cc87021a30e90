// message.js — one message of the conversation as DOM. A user message: its text, image
// thumbnails (with the boxes the answer localized drawn over them), edit, and the switch
// between branches. An answer: tool cards, the reasoning (collapsible, streaming, with its
// token count and time, and the zoom crops the model took), Contemplating's agents, the
// answer as Markdown with its artifacts running live, and its error or "stopped" mark.
import { el, button } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { renderArtifact } from './artifact.js';
import { renderAgents, voteOf } from './agents.js';

const MARKER = '<__media__>';

export function displayText(content) {
  return (content || '').split(MARKER).join('').replace(/^\n+|\n+$/g, '');
}

function branchSwitch(msg, actions) {
  const ids = msg.siblings || [];
  if (ids.length < 2 || !msg.id) return null;
  const at = ids.indexOf(msg.id);
  const nav = el('span', 'branches');
  nav.setAttribute('aria-label', 'Branches');
  const prev = button('‹', 'icon', () => actions.switchTo(ids[at - 1]), 'Previous branch');
  const next = button('›', 'icon', () => actions.switchTo(ids[at + 1]), 'Next branch');
  prev.disabled = at <= 0;
  next.disabled = at >= ids.length - 1;
  nav.append(prev, el('span', 'count', `${at + 1}/${ids.length}`), next);
  return nav;
}

function thumbnails(images, boxes, firstIndex) {
  const row = el('div', 'thumbs');
  images.forEach((src, i) => {
    const fig = el('figure', 'thumb');
    const img = el('img');
    img.src = src;
    img.alt = `image ${firstIndex + i + 1}`;
    fig.append(img);
    for (const b of boxes.filter((x) => x.image === firstIndex + i + 1)) {
      const n = b.box_normalized;
      if (!n || n.length !== 4) continue;
      const box = el('div', 'box');
      box.style.left = `${n[0] * 100}%`;
      box.style.top = `${n[1] * 100}%`;
      box.style.width = `${Math.max(0, n[2] - n[0]) * 100}%`;
      box.style.height = `${Math.max(0, n[3] - n[1]) * 100}%`;
      if (b.label) box.append(el('span', 'box-label', b.label));
      fig.append(box);
    }
    row.append(fig);
  });
  return row;
}

// A crop of one of the conversation's images, drawn once the image has loaded.
function zoomCrop(zoom, images) {
  const fig = el('figure', 'zoom');
  const src = images[zoom.image - 1];
  const [x1, y1, x2, y2] = zoom.box || [];
  fig.append(el('figcaption', null, `zoomed into image ${zoom.image}${zoom.agent >= 0 ? ` (agent ${zoom.agent + 1})` : ''}`));
  if (!src || !(x2 > x1 && y2 > y1)) return fig;
  const canvas = el('canvas');
  const img = new Image();
  img.onload = () => {
    const w = Math.max(96, Math.min(240, x2 - x1));   // small crops scaled up, as the model saw them
    canvas.width = w;
    canvas.height = Math.round(w * (y2 - y1) / (x2 - x1));
    canvas.getContext('2d').drawImage(img, x1, y1, x2 - x1, y2 - y1, 0, 0, canvas.width, canvas.height);
  };
  img.src = src;
  fig.append(canvas);
  return fig;
}

function toolCards(msg) {
  const tools = msg.ember?.tools || msg.live?.tools || [];
  if (!tools.length) return null;
  const box = el('div', 'tools');
  for (const t of tools) {
    if (t.name === 'zoom') continue;
    const card = el('details', 'tool');
    const args = typeof t.arguments === 'string' ? t.arguments : JSON.stringify(t.arguments, null, 2);
    card.append(el('summary', null, `Tool: ${t.name}${t.output === undefined ? ' (running…)' : ''}`));
    card.append(el('div', 'label', 'Input'), el('pre', null, args));
    if (t.output !== undefined) card.append(el('div', 'label', 'Output'), el('pre', null, t.output));
    box.append(card);
  }
  return box.childElementCount ? box : null;
}

function reasoningBlock(msg, ui, images, mode) {
  const text = msg.reasoning_content || '';
  const zooms = msg.ember?.zooms || [];
  if (!text && !zooms.length) return null;
  const details = el('details', 'reasoning');
  details.open = ui.reasoning ?? !!msg.streaming;
  details.addEventListener('toggle', () => { ui.reasoning = details.open; });
  const contemplating = mode === 'contemplating';
  // Contemplating's reasoning_tokens count every agent's too: no count for the synthesizer alone
  const tokens = contemplating ? 0 : msg.ember?.usage?.reasoning_tokens ?? msg.live?.reasoningDeltas ?? 0;
  const ms = msg.ember?.reasoning_ms ?? msg.live?.reasoningMs;
  const what = contemplating ? 'Synthesizer’s reasoning' : 'Reasoning';
  const parts = [msg.streaming && !msg.content ? `${what}…` : what];
  if (tokens) parts.push(`${tokens} tokens`);
  if (ms) parts.push(`${(ms / 1000).toFixed(1)} s`);
  if (msg.ember?.think_budget_reached) parts.push('budget reached');
  details.append(el('summary', null, parts.join(' · ')));
  const body = el('div', 'reasoning-text markdown');
  body.append(renderMarkdown(text));
  details.append(body);
  if (zooms.length) {
    const strip = el('div', 'zooms');
    for (const z of zooms) strip.append(zoomCrop(z, images));
    details.append(strip);
  }
  return details;
}

function answerBlock(msg) {
  const artifacts = msg.ember?.artifacts || [];
  const answer = el('div', 'answer markdown');
  answer.append(renderMarkdown(msg.content || '', artifacts));
  const placed = new Set();
  for (const slot of answer.querySelectorAll('.artifact-slot')) {
    const i = Number(slot.dataset.artifact);
    if (!artifacts[i] || placed.has(i)) {
      slot.remove();
      continue;
    }
    placed.add(i);
    slot.replaceWith(renderArtifact(artifacts[i]));
  }
  artifacts.forEach((a, i) => { if (!placed.has(i)) answer.append(renderArtifact(a)); });
  return answer;
}

function meta(msg) {
  const e = msg.ember || {};
  const bits = [];
  if (e.mode) bits.push(e.mode[0].toUpperCase() + e.mode.slice(1));
  if (e.usage?.completion_tokens) bits.push(`${e.usage.completion_tokens} tokens`);
  if (e.timings?.total_ms) bits.push(`${(e.timings.total_ms / 1000).toFixed(1)} s`);
  if (e.timings?.decode_tokens_per_s) bits.push(`${e.timings.decode_tokens_per_s.toFixed(1)} tok/s`);
  return bits.join(' · ');
}

// ctx: { images: the conversation's images before and in this message, boxes, imageIndex }
export function renderMessage(msg, ctx, actions) {
  const ui = (msg.ui ||= {});
  const box = el('div', `msg ${msg.role}`);
  box.dataset.role = msg.role;
  if (msg.id) box.dataset.id = String(msg.id);
  if (msg.role === 'user') {
    if (msg.images?.length) box.append(thumbnails(msg.images, ctx.boxes, ctx.imageIndex));
    if (ui.editing) {
      const area = el('textarea', 'edit');
      area.value = displayText(msg.content);
      area.setAttribute('aria-label', 'Edit the message');
      const row = el('div', 'row');
      row.append(button('Send', 'primary', () => actions.edit(msg, area.value)), button('Cancel', null, () => { ui.editing = false; actions.redraw(); }));
      box.append(area, row);
      setTimeout(() => area.focus(), 0);
      return box;
    }
    box.append(el('div', 'text', displayText(msg.content)));
    const tools = el('div', 'msg-tools');
    const nav = branchSwitch(msg, actions);
    if (nav) tools.append(nav);
    if (!actions.busy()) tools.append(button('Edit', 'small', () => { ui.editing = true; actions.redraw(); }, 'Edit and send again'));
    box.append(tools);
    return box;
  }
  const e = msg.ember || {};
  const mode = e.mode || msg.mode;
  const badges = el('div', 'badges');
  if (mode) badges.append(el('span', `badge mode-${mode}`, mode[0].toUpperCase() + mode.slice(1)));
  if (e.stopped || msg.stopped) badges.append(el('span', 'badge stopped', 'stopped'));
  if (msg.streaming) badges.append(el('span', 'badge live', 'streaming'));
  box.append(badges);
  const tools = toolCards(msg);
  if (tools) box.append(tools);
  const reasoning = reasoningBlock(msg, ui, ctx.images, mode);
  const agents = renderAgents(msg, ui);
  // Contemplating's own reasoning is the synthesizer's, which reads the agents' answers: after them
  if (reasoning && !agents) box.append(reasoning);
  if (agents) box.append(agents);
  if (reasoning && agents) box.append(reasoning);
  if (msg.content || e.artifacts?.length) {
    if (mode === 'contemplating' && agents) {
      box.append(el('div', 'answer-label', voteOf(msg)?.synthesized === false
        ? 'Answer of the agreeing agents (they reached consensus: nothing to synthesize)'
        : 'Synthesized answer (written from the agents’ candidates and the vote)'));
    }
    box.append(answerBlock(msg));
  }
  if (msg.error) {
    const err = el('div', 'error');
    err.setAttribute('role', 'alert');
    err.append(el('span', null, msg.error));
    if (msg.retry) err.append(button('Retry', 'small', () => actions.retry(msg), 'Send it again'));
    box.append(err);
  }
  const foot = el('div', 'msg-tools');
  const nav = branchSwitch(msg, actions);
  if (nav) foot.append(nav);
  const info = meta(msg);
  if (info) foot.append(el('span', 'meta', info));
  if (!msg.streaming && msg.content) foot.append(button('Copy', 'small', () => navigator.clipboard?.writeText(msg.content), 'Copy the answer'));
  if (!msg.streaming && !actions.busy() && msg.id) foot.append(button('Regenerate', 'small', () => actions.regenerate(msg), 'Answer again (a new branch)'));
  box.append(foot);
  return box;
}
