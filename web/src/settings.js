// settings.js — the person's settings, kept in localStorage: system prompt, temperature, max
// tokens, API key, theme, artifacts; and the settings dialog that edits them.
const KEY = 'ember.settings';
const DEFAULTS = { system: '', temperature: '', maxTokens: '', apiKey: '', theme: 'system', artifacts: true };

export const settings = { ...DEFAULTS, ...readStored() };

function readStored() {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) || '{}');
    // the key of the earlier app
    if (!stored.apiKey && localStorage.getItem('ember.key')) stored.apiKey = localStorage.getItem('ember.key');
    return stored;
  } catch {
    return {};
  }
}

export function saveSettings() {
  localStorage.setItem(KEY, JSON.stringify(settings));
  applyTheme();
}

export function applyTheme() {
  const dark = settings.theme === 'dark' ||
    (settings.theme === 'system' && window.matchMedia?.('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

// Wires the <dialog id="settings"> form; onSaved runs after a save (e.g. to reload lists).
export function initSettingsDialog(onSaved) {
  const dialog = document.getElementById('settings');
  const form = dialog.querySelector('form');
  const field = (name) => form.elements.namedItem(name);
  document.getElementById('open-settings').addEventListener('click', () => {
    field('system').value = settings.system;
    field('temperature').value = settings.temperature;
    field('maxTokens').value = settings.maxTokens;
    field('apiKey').value = settings.apiKey;
    field('theme').value = settings.theme;
    field('artifacts').checked = settings.artifacts;
    dialog.showModal();
  });
  form.addEventListener('submit', (e) => {
    if (e.submitter?.value !== 'save') return;
    settings.system = field('system').value;
    settings.temperature = field('temperature').value;
    settings.maxTokens = field('maxTokens').value;
    settings.apiKey = field('apiKey').value.trim();
    settings.theme = field('theme').value;
    settings.artifacts = field('artifacts').checked;
    saveSettings();
    onSaved();
  });
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', applyTheme);
  applyTheme();
}
