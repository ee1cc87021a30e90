// main.js — ember's web app: the conversation list (search, open, rename, delete), the
// conversation (streamed answers, branches), the composer (mode per message, images by
// button, drag-and-drop or paste) and the settings. Talks only to the server that served it.
import { api, streamChat, ApiError } from './api.js';
import { settings, initSettingsDialog } from './settings.js';
import { renderMessage, displayText } from './message.js';
import { el, $ } from './dom.js';

const state = {
  info: null,            // /v1/ember/info
  conversation: null,    // { id, title, head_id }
  messages: [],          // the shown branch, oldest first
  running: null,         // { controller, reply }
  attachments: [],       // data: URLs for the next message
};

const busy = () => state.running !== null;

// ---- the conversation list ----------------------------------------------------------------

function dateLabel(seconds) {
  const d = new Date(seconds * 1000);
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleDateString([], { month: 'short', day: 'numeric', year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric' });
}

let searchTimer = 0;
async function refreshList() {
  const q = $('search').value.trim();
  try {
    const list = await api('GET', `/v1/conversations${q ? `?q=${encodeURIComponent(q)}` : ''}`);
    $('conversations').replaceChildren(...list.data.map((c) => {
      const li = el('li');
      const b = el('button', c.id === state.conversation?.id ? 'conv active' : 'conv');
      b.type = 'button';
      b.append(el('span', 'conv-title', c.title), el('time', null, dateLabel(c.updated_at)));
      b.addEventListener('click', () => { openConversation(c.id); closeSidebar(); });
      if (c.id === state.conversation?.id) b.setAttribute('aria-current', 'true');
      li.append(b);
      return li;
    }));
    if (!list.data.length) $('conversations').replaceChildren(el('li', 'empty', q ? 'No conversation matches.' : 'No conversations yet.'));
  } catch (e) {
    $('conversations').replaceChildren(el('li', 'error', e.message));
  }
}

async function loadInfo() {
  try {
    state.info = await api('GET', '/v1/ember/info');
  } catch {
    try {
      const models = await api('GET', '/v1/models');
      state.info = { model: models.data[0]?.id, max_agents: 8, vision: true, modes: ['instant', 'thinking', 'contemplating'] };
    } catch (e) {
      state.info = null;
      showBanner(e.message);
      return;
    }
  }
  hideBanner();
  $('model').textContent = state.info.model || '';
  $('agents').max = String(state.info.max_agents || 8);
  $('agents-max').textContent = `max ${state.info.max_agents || 8}`;
  if (Number($('agents').value) > (state.info.max_agents || 8)) $('agents').value = String(state.info.max_agents);
  $('attach').disabled = state.info.vision === false;
  $('attach').title = state.info.vision === false ? 'This model has no vision projector' : 'Attach images';
}

function showBanner(text) {
  $('banner').textContent = text;
  $('banner').hidden = false;
}
function hideBanner() { $('banner').hidden = true; }

// ---- the conversation ---------------------------------------------------------------------

function fromServer(m) {
  return { ...m, images: m.ember?.images || [] };
}

// Leaving a conversation stops its answer (the server keeps what streamed, marked stopped).
function stopRunning() {
  state.running?.controller.abort();
}

async function openConversation(id, { keepScroll = false } = {}) {
  if (state.conversation?.id !== id) stopRunning();
  try {
    const c = await api('GET', `/v1/conversations/${id}`);
    state.conversation = { id: c.id, title: c.title, head_id: c.head_id };
    state.messages = c.messages.map(fromServer);
    localStorage.setItem('ember.open', c.id);
    render(!keepScroll);
  } catch (e) {
    if (e.status === 404) {
      localStorage.removeItem('ember.open');
      newConversation();
    } else showBanner(e.message);
  }
  refreshList();
}

function newConversation() {
  stopRunning();
  state.conversation = null;
  state.messages = [];
  localStorage.removeItem('ember.open');
  render(true);
  refreshList();
  $('input').focus();
}

const actions = {
  busy,
  redraw: () => render(false),
  switchTo: async (id) => {
    if (!state.conversation || busy()) return;
    try {
      const c = await api('PATCH', `/v1/conversations/${state.conversation.id}`, { head_id: id });
      state.messages = c.messages.map(fromServer);
      render(false);
    } catch (e) { showBanner(e.message); }
  },
  edit: (msg, text) => {
    const at = state.messages.indexOf(msg);
    if (at < 0 || !text.trim()) return;
    msg.ui.editing = false;
    send({ text: text.trim(), images: msg.images || [], history: state.messages.slice(0, at), parentId: msg.parent_id ?? 0 });
  },
  regenerate: (msg) => {
    const at = state.messages.indexOf(msg);
    const user = state.messages[at - 1];
    if (at < 1 || !user?.id) return;
    send({ text: displayText(user.content), images: user.images || [], history: state.messages.slice(0, at - 1), parentId: user.id, regenerate: true });
  },
  retry: (msg) => {
    const request = msg.retry;
    const at = state.messages.indexOf(msg);
    // drop the failed turn (and its unsent question) before sending again
    if (at >= 0) state.messages.splice(request.regenerate ? at : at - 1);
    send(request);
  },
};

let scrollPinned = true;
function render(scrollToEnd) {
  const list = $('messages');
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const images = [];
  const boxes = state.messages.flatMap((m) => m.ember?.boxes || []);
  const nodes = state.messages.map((m) => {
    const imageIndex = images.length;
    if (m.images?.length) images.push(...m.images);
    return renderMessage(m, { images: [...images], boxes, imageIndex }, actions);
  });
  if (!nodes.length) nodes.push(welcome());
  list.replaceChildren(...nodes);
  $('title').textContent = state.conversation?.title || 'New conversation';
  $('rename').disabled = $('delete').disabled = !state.conversation;
  if (scrollToEnd || (scrollPinned && atEnd) || busy()) list.scrollTop = list.scrollHeight;
}

function welcome() {
  const w = el('div', 'welcome');
  w.append(el('h2', null, 'What can I help with?'),
    el('p', null, 'Instant answers at once; Thinking reasons first; Contemplating lets several agents reason in parallel and combines their answers. Attach images with the clip, by dropping or pasting them. Ask for a game, a chart or an interactive display and it runs right here.'));
  return w;
}

let frame = 0;
function scheduleRender() {
  if (frame) return;
  frame = requestAnimationFrame(() => { frame = 0; render(false); });
}

// ---- sending ------------------------------------------------------------------------------

function apiMessage(m) {
  if (m.role === 'user') {
    const text = displayText(m.content);
    if (!m.images?.length) return { role: 'user', content: text };
    return { role: 'user', content: [{ type: 'text', text }, ...m.images.map((url) => ({ type: 'image_url', image_url: { url } }))] };
  }
  return { role: m.role, content: m.content || '' };
}

function requestOptions() {
  const mode = $('mode').value;
  const o = { mode, reasoning: $('effort').value };
  if (mode === 'contemplating') o.agents = Math.max(1, Math.min(Number($('agents').value) || 4, state.info?.max_agents || 8));
  const budget = Number($('budget').value);
  if (mode !== 'instant' && budget > 0) o.think_budget = Math.floor(budget);
  return o;
}

async function ensureConversation(text) {
  if (state.conversation) return state.conversation.id;
  const c = await api('POST', '/v1/conversations', { title: (text || 'Images').slice(0, 60) });
  state.conversation = { id: c.id, title: c.title, head_id: null };
  localStorage.setItem('ember.open', c.id);
  refreshList();
  return c.id;
}

// request: { text, images, history (messages before the new one), parentId?, regenerate?, options? }
async function send(request) {
  if (busy()) return;
  const options = request.options || requestOptions();
  request.options = options;
  const history = request.history.filter((m) => !m.error || m.content).map(apiMessage);
  const user = { role: 'user', content: request.text, images: request.images, parent_id: request.parentId };
  const reply = { role: 'assistant', content: '', reasoning_content: '', mode: options.mode, streaming: true, live: { agents: {}, tools: [], reasoningDeltas: 0 }, ui: {} };
  state.messages = [...request.history, ...(request.regenerate ? [state.messages[request.history.length]].filter(Boolean) : [user]), reply];
  state.running = { controller: new AbortController(), reply };
  setComposerBusy(true);
  render(true);

  let conversationId;
  try {
    conversationId = await ensureConversation(request.text);
  } catch (e) {
    return finish(reply, request, e);
  }
  const body = {
    model: state.info?.model || 'ember',
    messages: [...(settings.system.trim() ? [{ role: 'system', content: settings.system }] : []), ...history, apiMessage(user)],
    stream: true,
    stream_options: { include_usage: true },
    reasoning_effort: options.mode === 'instant' ? 'none' : options.reasoning,
    ember: { ...options, conversation_id: conversationId, artifacts: settings.artifacts },
  };
  if (request.parentId !== undefined && request.parentId !== null) body.ember.parent_id = request.parentId;
  if (request.regenerate) body.ember.regenerate = true;
  if (settings.temperature !== '') body.temperature = Number(settings.temperature);
  if (settings.maxTokens !== '') body.max_tokens = Number(settings.maxTokens);

  const t0 = performance.now();
  try {
    await streamChat(body, state.running.controller.signal, (chunk) => onChunk(reply, chunk, t0));
    finish(reply, request, null);
  } catch (e) {
    finish(reply, request, e);
  }
}

function onChunk(reply, chunk, t0) {
  const live = reply.live;
  const ev = chunk.ember;
  if (ev?.type) {
    if (ev.type === 'agent.started') live.agents[ev.agent] = { index: ev.agent, approach: ev.approach, reasoning: '', answer: '', done: false };
    else if (ev.type === 'agent.delta' && live.agents[ev.agent]) {
      const a = live.agents[ev.agent];
      if (ev.channel === 'reasoning') a.reasoning += ev.text;
      else if (ev.channel === 'answer') a.answer += ev.text;
    } else if (ev.type === 'agent.finished' && live.agents[ev.agent]) {
      Object.assign(live.agents[ev.agent], { done: true, answer: ev.answer, confidence: ev.confidence, tokens: ev.tokens, stopReason: ev.stop_reason, early: ev.stop_reason !== 'finished' });
    } else if (ev.type === 'vote') live.vote = { answer: ev.answer, share: ev.share, synthesized: ev.synthesized };
    else if (ev.type === 'tool.call') live.tools.push({ name: ev.name, arguments: ev.arguments, agent: ev.agent });
    else if (ev.type === 'tool.result') {
      // a Contemplating agent's result belongs to that agent's call of the tool
      const t = [...live.tools].reverse().find((x) => x.name === ev.name && x.agent === ev.agent && x.output === undefined);
      if (t) t.output = ev.output;
      else live.tools.push({ name: ev.name, arguments: '', output: ev.output, agent: ev.agent });
    }
  }
  const choice = chunk.choices?.[0];
  if (choice?.delta?.reasoning_content) {
    if (!live.reasoningStart) live.reasoningStart = performance.now();
    reply.reasoning_content += choice.delta.reasoning_content;
    live.reasoningDeltas++;
    live.reasoningMs = performance.now() - live.reasoningStart;
  }
  if (choice?.delta?.content) reply.content += choice.delta.content;
  if (choice?.finish_reason && chunk.ember) reply.ember = chunk.ember;
  live.elapsed = performance.now() - t0;
  scheduleRender();
}

function finish(reply, request, error) {
  const stopped = error?.name === 'AbortError';
  reply.streaming = false;
  state.running = null;
  setComposerBusy(false);
  if (stopped) {
    reply.stopped = true;
  } else if (error) {
    reply.error = error instanceof ApiError || error.message ? error.message : String(error);
    reply.retry = request;
    // the typed text is not lost: it is in the message above, and back in the composer
    if (!$('input').value && !request.regenerate) $('input').value = request.text;
  }
  render(false);
  const id = state.conversation?.id;
  if (!id) return;
  if (!error) openConversation(id, { keepScroll: true });
  // a stopped turn is saved by the server once it notices: show it with its ids then
  else if (stopped) setTimeout(() => { if (!busy() && state.conversation?.id === id) openConversation(id, { keepScroll: true }); }, 600);
  else refreshList();
}

function setComposerBusy(on) {
  $('send').hidden = on;
  $('stop').hidden = !on;
  $('input').setAttribute('aria-busy', String(on));
}

// ---- the composer -------------------------------------------------------------------------

function updateModeOptions() {
  const mode = $('mode').value;
  $('thinking-options').hidden = mode === 'instant';
  $('contemplating-options').hidden = mode !== 'contemplating';
  localStorage.setItem('ember.mode', mode);
}

function addFiles(files) {
  if (state.info?.vision === false) {
    showBanner('This model has no vision projector: images cannot be attached.');
    return;
  }
  for (const file of files) {
    if (!file.type.startsWith('image/')) continue;
    if (state.attachments.length >= (state.info?.max_images || 16)) break;
    const reader = new FileReader();
    reader.onload = () => { state.attachments.push(reader.result); renderAttachments(); };
    reader.readAsDataURL(file);
  }
}

function renderAttachments() {
  $('attachments').replaceChildren(...state.attachments.map((src, i) => {
    const fig = el('figure', 'attachment');
    const img = el('img');
    img.src = src;
    img.alt = `attachment ${i + 1}`;
    const remove = el('button', 'remove', '×');
    remove.type = 'button';
    remove.setAttribute('aria-label', `Remove attachment ${i + 1}`);
    remove.addEventListener('click', () => { state.attachments.splice(i, 1); renderAttachments(); });
    fig.append(img, remove);
    return fig;
  }));
  $('attachments').hidden = state.attachments.length === 0;
}

function submit() {
  const text = $('input').value.trim();
  if ((!text && !state.attachments.length) || busy()) return;
  const images = state.attachments;
  state.attachments = [];
  renderAttachments();
  $('input').value = '';
  const last = state.messages[state.messages.length - 1];
  // after a failed turn, the new message follows what was stored
  const history = state.messages.filter((m) => !(m.error && !m.content));
  if (last?.error && !last.content) history.pop();
  send({ text, images, history });
}

function closeSidebar() { document.body.classList.remove('side-open'); }

function init() {
  initSettingsDialog(() => { loadInfo(); refreshList(); if (state.conversation) openConversation(state.conversation.id); });
  $('mode').value = localStorage.getItem('ember.mode') || 'thinking';
  $('mode').addEventListener('change', updateModeOptions);
  updateModeOptions();
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  $('input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  $('input').addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files || [])].filter((f) => f.type.startsWith('image/'));
    if (files.length) { e.preventDefault(); addFiles(files); }
  });
  $('stop').addEventListener('click', () => state.running?.controller.abort());
  $('attach').addEventListener('click', () => $('file').click());
  $('file').addEventListener('change', () => { addFiles($('file').files); $('file').value = ''; });
  const main = document.querySelector('main');
  main.addEventListener('dragover', (e) => { if (e.dataTransfer?.types.includes('Files')) { e.preventDefault(); main.classList.add('dropping'); } });
  main.addEventListener('dragleave', (e) => { if (e.target === main) main.classList.remove('dropping'); });
  main.addEventListener('drop', (e) => {
    main.classList.remove('dropping');
    if (!e.dataTransfer?.files.length) return;
    e.preventDefault();
    addFiles(e.dataTransfer.files);
  });
  $('new').addEventListener('click', () => { newConversation(); closeSidebar(); });
  $('new-top').addEventListener('click', newConversation);
  $('search').addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(refreshList, 200); });
  $('rename').addEventListener('click', async () => {
    if (!state.conversation) return;
    const title = prompt('Rename the conversation', state.conversation.title);
    if (!title?.trim()) return;
    try {
      const c = await api('PATCH', `/v1/conversations/${state.conversation.id}`, { title: title.trim().slice(0, 200) });
      state.conversation.title = c.title;
      render(false);
      refreshList();
    } catch (e) { showBanner(e.message); }
  });
  $('delete').addEventListener('click', async () => {
    if (!state.conversation || !confirm(`Delete “${state.conversation.title}”?`)) return;
    try {
      await api('DELETE', `/v1/conversations/${state.conversation.id}`);
      newConversation();
    } catch (e) { showBanner(e.message); }
  });
  $('menu').addEventListener('click', () => document.body.classList.toggle('side-open'));
  $('close-side').addEventListener('click', closeSidebar);
  $('scrim').addEventListener('click', closeSidebar);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      if (busy()) state.running.controller.abort();
      closeSidebar();
    }
  });
  // copy buttons of code blocks (rendered Markdown holds no handlers)
  $('messages').addEventListener('click', (e) => {
    const b = e.target.closest?.('button.copy');
    if (!b) return;
    const code = b.closest('.code')?.querySelector('pre code');
    if (code) navigator.clipboard?.writeText(code.textContent).then(() => { b.textContent = 'Copied'; setTimeout(() => { b.textContent = 'Copy'; }, 1500); }, () => {});
  });
  $('messages').addEventListener('scroll', () => {
    const list = $('messages');
    scrollPinned = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  });
  render(true);
  loadInfo().then(() => {
    const open = localStorage.getItem('ember.open');
    if (open) openConversation(open);
    else refreshList();
  });
}

init();
