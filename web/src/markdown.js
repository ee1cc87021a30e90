// markdown.js — model text to safe DOM: Markdown (marked, GitHub flavour), code highlighted by
// highlight.js with a copy button, math by KaTeX ($…$, $$…$$, \(…\), \[…\]), and everything
// sanitized by DOMPurify before it reaches the page. Code blocks that hold one of the
// answer's artifacts become slots where the artifact's live frame goes.
import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/common';
import katex from 'katex';

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function tex(source, displayMode) {
  return katex.renderToString(source, { displayMode, throwOnError: false, output: 'htmlAndMathml', strict: 'ignore', maxSize: 50, maxExpand: 500 });
}

const blockMath = {
  name: 'blockMath',
  level: 'block',
  start: (src) => src.match(/\$\$|\\\[/)?.index,
  tokenizer(src) {
    const m = /^\$\$([\s\S]+?)\$\$[^\S\n]*(?:\n|$)/.exec(src) || /^\\\[([\s\S]+?)\\\][^\S\n]*(?:\n|$)/.exec(src);
    if (m) return { type: 'blockMath', raw: m[0], text: m[1].trim() };
    return undefined;
  },
  renderer: (token) => `<div class="math-block">${tex(token.text, true)}</div>`,
};

const inlineMath = {
  name: 'inlineMath',
  level: 'inline',
  start: (src) => src.match(/\$|\\\(/)?.index,
  tokenizer(src) {
    // $…$ not touching spaces inside, and not followed by a digit ("$5 and $6" stays text)
    const m = /^\$(?!\s)((?:\\.|[^\\$\n])+?)(?<!\s)\$(?!\d)/.exec(src) || /^\\\(([\s\S]+?)\\\)/.exec(src);
    if (m) return { type: 'inlineMath', raw: m[0], text: m[1] };
    return undefined;
  },
  renderer: (token) => tex(token.text, false),
};

let currentArtifacts = [];

const marked = new Marked({
  gfm: true,
  breaks: false,
  extensions: [blockMath, inlineMath],
  renderer: {
    code({ text, lang }) {
      const language = (lang || '').trim().split(/\s+/)[0].toLowerCase();
      const artifact = currentArtifacts.findIndex((a) => a.content.trim() === text.trim());
      if (artifact >= 0) return `<div class="artifact-slot" data-artifact="${artifact}"></div>`;
      const known = language && hljs.getLanguage(language);
      const body = known ? hljs.highlight(text, { language, ignoreIllegals: true }).value : escapeHtml(text);
      return `<div class="code"><div class="code-bar"><span>${escapeHtml(language || 'text')}</span>` +
        `<button type="button" class="copy" aria-label="Copy code">Copy</button></div>` +
        `<pre><code class="hljs">${body}</code></pre></div>`;
    },
  },
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
  if (node.tagName === 'IMG') node.setAttribute('referrerpolicy', 'no-referrer');
});

const PURIFY = {
  ADD_ATTR: ['target'],
  FORBID_TAGS: ['style', 'form', 'input', 'textarea', 'select', 'button', 'dialog'],
  RETURN_DOM_FRAGMENT: true,
};

// Markdown text → a sanitized DocumentFragment. artifacts: [{content}] whose code blocks become
// <div class="artifact-slot" data-artifact="i">.
export function renderMarkdown(text, artifacts = []) {
  currentArtifacts = artifacts;
  let html;
  try {
    html = marked.parse(text || '');
  } catch (e) {
    html = `<pre>${escapeHtml(text || '')}</pre>`;
  } finally {
    currentArtifacts = [];
  }
  // the copy buttons are ours: sanitize without buttons, then put them back by class
  const marked_ = html.replace(/<button type="button" class="copy" aria-label="Copy code">Copy<\/button>/g, '<span class="copy-slot"></span>');
  const fragment = DOMPurify.sanitize(marked_, PURIFY);
  for (const slot of fragment.querySelectorAll('span.copy-slot')) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy code');
    slot.replaceWith(button);
  }
  return fragment;
}

export function highlight(code, language) {
  if (language && hljs.getLanguage(language)) return hljs.highlight(code, { language, ignoreIllegals: true }).value;
  return escapeHtml(code);
}

export function sanitizeText(text) {
  return DOMPurify.sanitize(text, { ALLOWED_TAGS: [] });
}
