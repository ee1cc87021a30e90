// app.js — ember's web app: conversations (list, open, rename, delete) kept by `ember serve`,
// and chat completions streamed over SSE with reasoning, answers and Contemplating's agents.
// Plain browser JavaScript, no build step; talks only to the server that served it.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { conversation: null, messages: [], controller: null };

$('key').value = localStorage.getItem('ember.key') || '';
$('key').addEventListener('change', () => { localStorage.setItem('ember.key', $('key').value); refresh(); });

function headers(json = true) {
  const h = json ? { 'content-type': 'application/json' } : {};
  const key = $('key').value.trim();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

async function api(method, path, body) {
  const res = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error?.message || `${res.status}`);
  return json;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function renderMessage(m) {
  const box = el('div', `msg ${m.role}`);
  if (m.role !== 'assistant') { box.textContent = m.content; return box; }
  const reasoning = el('details', 'reasoning');
  reasoning.append(el('summary', null, 'Reasoning'), el('div', 'text', m.reasoning_content || ''));
  if (!m.reasoning_content) reasoning.hidden = true;
  const agents = el('div', 'agents');
  for (const a of m.ember?.agents || []) {
    const d = el('div', 'agent done');
    d.append(el('b', null, `Agent ${a.index + 1}`), el('div', null, `${a.answer || ''} (confidence ${Number(a.confidence).toFixed(2)}, ${a.stop_reason})`));
    agents.append(d);
  }
  box.append(reasoning, agents, el('div', 'answer', m.content || ''));
  if (m.ember?.mode) box.append(el('div', 'meta', `${m.ember.mode}${m.ember.vote ? ` · vote ${m.ember.vote.answer} (${Math.round(m.ember.vote.share * 100)}%)` : ''}`));
  return box;
}

function renderAll() {
  const list = $('messages');
  list.replaceChildren(...state.messages.map(renderMessage));
  list.scrollTop = list.scrollHeight;
  $('title').textContent = state.conversation?.title || 'New conversation';
}

async function refresh() {
  try {
    const models = await api('GET', '/v1/models');
    $('model').textContent = models.data[0]?.id || '';
    const maxAgents = models.data[0]?.ember?.max_agents;  // the server's limit, the only one
    if (maxAgents) $('agents').max = String(maxAgents);
    const list = await api('GET', '/v1/conversations');
    $('conversations').replaceChildren(...list.data.map((c) => {
      const li = el('li', c.id === state.conversation?.id ? 'active' : '', c.title);
      li.onclick = () => open(c.id);
      return li;
    }));
  } catch (e) {
    $('conversations').replaceChildren(el('li', 'error', e.message));
  }
}

async function open(id) {
  const c = await api('GET', `/v1/conversations/${id}`);
  state.conversation = c;
  state.messages = c.messages;
  renderAll();
  refresh();
}

$('new').onclick = () => { state.conversation = null; state.messages = []; renderAll(); refresh(); };
$('rename').onclick = async () => {
  if (!state.conversation) return;
  const title = prompt('New title', state.conversation.title);
  if (title) { state.conversation = await api('PATCH', `/v1/conversations/${state.conversation.id}`, { title }); renderAll(); refresh(); }
};
$('delete').onclick = async () => {
  if (!state.conversation || !confirm('Delete this conversation?')) return;
  await api('DELETE', `/v1/conversations/${state.conversation.id}`);
  $('new').onclick();
};
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('composer').requestSubmit(); }
});
$('stop').onclick = () => state.controller?.abort();

// Reads an SSE body: calls onData with each parsed `data:` JSON until [DONE].
async function readSSE(res, onData) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        onData(JSON.parse(data));
      }
    }
  }
}

$('composer').onsubmit = async (e) => {
  e.preventDefault();
  const text = $('input').value.trim();
  if (!text || state.controller) return;
  $('input').value = '';
  const mode = $('mode').value;
  const history = state.messages.filter((m) => m.role === 'user' || m.role === 'assistant')
    .map((m) => ({ role: m.role, content: m.content || '' }));
  state.messages.push({ role: 'user', content: text });
  const reply = { role: 'assistant', content: '', reasoning_content: '', ember: { mode } };
  state.messages.push(reply);
  renderAll();
  const box = $('messages').lastChild;
  const reasoningBox = box.querySelector('.reasoning');
  const agentsBox = box.querySelector('.agents');
  const answerBox = box.querySelector('.answer');
  const agentBoxes = {};
  const body = {
    model: $('model').textContent || 'ember',
    messages: [...history, { role: 'user', content: text }],
    stream: true,
    reasoning_effort: mode === 'instant' ? 'none' : $('effort').value,
    ember: { mode, reasoning: $('effort').value, agents: Number($('agents').value) || 4 },
  };
  if (state.conversation) body.ember.conversation_id = state.conversation.id;
  else body.ember.store = true;
  state.controller = new AbortController();
  $('send').disabled = true;
  $('stop').disabled = false;
  try {
    const res = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body), signal: state.controller.signal });
    if (!res.ok) throw new Error((await res.json()).error?.message || res.status);
    await readSSE(res, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      const ev = chunk.ember;
      if (ev?.type === 'agent.started') {
        const d = el('div', 'agent');
        d.append(el('b', null, `Agent ${ev.agent + 1}`), el('div', 'text', ''));
        agentBoxes[ev.agent] = d;
        agentsBox.append(d);
      } else if (ev?.type === 'agent.delta' && agentBoxes[ev.agent]) {
        const t = agentBoxes[ev.agent].querySelector('.text');
        t.textContent = (t.textContent + ev.text).slice(-400);
      } else if (ev?.type === 'agent.finished' && agentBoxes[ev.agent]) {
        agentBoxes[ev.agent].classList.add('done');
        agentBoxes[ev.agent].querySelector('.text').textContent = `${ev.answer} (confidence ${ev.confidence.toFixed(2)}, ${ev.stop_reason})`;
      }
      const choice = chunk.choices?.[0];
      if (choice?.delta?.reasoning_content) {
        reply.reasoning_content += choice.delta.reasoning_content;
        reasoningBox.hidden = false;
        reasoningBox.querySelector('.text').textContent = reply.reasoning_content;
      }
      if (choice?.delta?.content) {
        reply.content += choice.delta.content;
        answerBox.textContent = reply.content;
      }
      if (choice?.finish_reason && chunk.ember) reply.ember = chunk.ember;
      if (choice?.finish_reason && chunk.ember?.conversation_id && !state.conversation)
        state.conversation = { id: chunk.ember.conversation_id, title: text.slice(0, 60) };
      $('messages').scrollTop = $('messages').scrollHeight;
    });
  } catch (err) {
    if (err.name !== 'AbortError') box.append(el('div', 'error', String(err.message || err)));
  } finally {
    state.controller = null;
    $('send').disabled = false;
    $('stop').disabled = true;
    renderAll();
    refresh();
  }
};

refresh();
