// agents.js — Contemplating's agents: one card per agent with its approach, its reasoning
// (streaming live, kept afterwards, collapsed), its answer, whether it stopped early, its
// confidence on a bar relative to the other agents, and whether it agreed with the vote.
import { el } from './dom.js';

export const CONFIDENCE_HELP =
  'Confidence (DeepConf): while the agent reasoned, the mean negative log-probability of the top ' +
  'candidate tokens was taken over a sliding window; its lowest value is the score. Higher is ' +
  'surer. The bar is the agent\'s score as a share of the most confident agent\'s; agents well ' +
  'below the first finishers are stopped early.';

const normalize = (s) => (s || '').toLowerCase().replace(/[\s.,;:!?"'`*_()[\]{}]+/g, ' ').trim();

// The agents of a message: from the stored result (with their reasoning) or from the events
// streamed so far.
export function agentsOf(msg) {
  const stored = msg.ember?.agents;
  if (stored?.length) {
    return stored.map((a) => ({
      index: a.index, approach: a.approach, reasoning: a.reasoning ?? msg.live?.agents?.[a.index]?.reasoning ?? '',
      answer: a.answer, normalized: a.normalized_answer || normalize(a.answer), confidence: a.confidence,
      tokens: a.tokens, done: true, early: a.stopped_early || (a.stop_reason && a.stop_reason !== 'finished'),
      stopReason: a.stop_reason,
    }));
  }
  return Object.values(msg.live?.agents || {}).sort((a, b) => a.index - b.index);
}

export function voteOf(msg) {
  return msg.ember?.vote || msg.live?.vote || null;
}

function statusText(a) {
  if (!a.done) return 'reasoning…';
  if (a.early) return `stopped early (${(a.stopReason || 'early stop').replace(/_/g, ' ')})`;
  return 'finished';
}

export function renderAgents(msg, ui) {
  const agents = agentsOf(msg);
  if (!agents.length) return null;
  const vote = voteOf(msg);
  const voted = vote ? normalize(vote.answer) : null;
  const finished = agents.filter((a) => a.done && Number.isFinite(a.confidence));
  const hi = Math.max(...finished.map((a) => a.confidence));
  const ranked = [...finished].sort((a, b) => b.confidence - a.confidence);

  const section = el('section', 'agents');
  section.setAttribute('aria-label', 'Contemplating agents');
  const head = el('div', 'agents-head');
  const agreeing = voted === null ? [] : agents.filter((a) => a.done && (normalize(a.normalized) === voted || normalize(a.answer) === voted));
  head.append(el('b', null, `${agents.length} agents`));
  if (vote) {
    const share = Math.round((vote.share ?? 0) * 100);
    head.append(el('span', 'vote', ` · vote: “${vote.answer || '—'}” — ${share}% of the confidence-weighted vote` +
      (agreeing.length ? `, agents ${agreeing.map((a) => a.index + 1).join(', ')} agreed` : '')));
  }
  if (msg.ember?.tokens_saved) head.append(el('span', 'saved', ` · ${msg.ember.tokens_saved} tokens saved by early stop`));
  section.append(head);

  const grid = el('div', 'agent-grid');
  for (const a of agents) {
    const card = el('article', 'agent');
    card.dataset.agent = String(a.index);
    if (a.done) card.classList.add('done');
    if (a.early) card.classList.add('early');
    const agreed = agreeing.includes(a);
    if (agreed) card.classList.add('agreed');
    const top = el('div', 'agent-top');
    top.append(el('b', null, `Agent ${a.index + 1}`), el('span', 'status', statusText(a)));
    card.append(top);
    if (a.approach) card.append(el('div', 'approach', a.approach));
    if (a.done && Number.isFinite(a.confidence)) {
      const conf = el('div', 'confidence');
      conf.title = CONFIDENCE_HELP;
      const rel = hi > 0 ? Math.max(0, Math.min(1, a.confidence / hi)) : 1;
      const bar = el('div', 'bar');
      const fill = el('div', 'fill');
      fill.style.width = `${Math.max(2, Math.round(100 * rel))}%`;
      bar.append(fill);
      bar.setAttribute('role', 'meter');
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', '100');
      bar.setAttribute('aria-valuenow', String(Math.round(100 * rel)));
      bar.setAttribute('aria-label', 'confidence as a share of the most confident agent');
      const rank = ranked.indexOf(a) + 1;
      conf.append(bar, el('span', 'value', `confidence ${a.confidence.toFixed(2)} · ${rank === 1 ? 'most confident' : `${Math.round(100 * rel)}% of the most confident`}`));
      card.append(conf);
    }
    const details = el('details', 'agent-reasoning');
    const key = `agent${a.index}`;
    details.open = ui[key] ?? !a.done;
    details.addEventListener('toggle', () => { ui[key] = details.open; });
    const words = (a.reasoning || '').trim() ? (a.reasoning.trim().split(/\s+/).length) : 0;
    details.append(el('summary', null, `Reasoning${a.tokens ? ` · ${a.tokens} tokens` : words ? ` · ${words} words` : ''}`),
      el('div', 'text', a.reasoning || ''));
    card.append(details);
    if (a.answer) card.append(el('div', 'agent-answer', `Answer: ${a.answer}`));
    if (agreed) card.append(el('div', 'agreed-mark', '✓ agreed with the vote'));
    grid.append(card);
  }
  section.append(grid);
  return section;
}
