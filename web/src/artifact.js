// artifact.js — an artifact (an HTML document or SVG image from the answer) running live.
//
// The frame is sandboxed with allow-scripts only: without allow-same-origin its document has
// an opaque origin, so its scripts cannot reach this page (parent.document), its cookies or
// its storage. A Content-Security-Policy in the document itself (a <meta> placed before
// anything the model wrote) forbids every fetch: no network, only inline script and style and
// data:/blob: images. Source view, full screen and download sit on its title bar.
import { highlight } from './markdown.js';

export const ARTIFACT_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:";

// The srcdoc: our doctype and CSP first, then the document without its own doctype (so the
// page keeps standards mode and the policy precedes every script the model wrote).
export function artifactDocument(artifact) {
  const head = `<!doctype html><meta http-equiv="Content-Security-Policy" content="${ARTIFACT_CSP}"><meta charset="utf-8">`;
  if (artifact.type === 'svg') {
    return `${head}<meta name="viewport" content="width=device-width, initial-scale=1"><style>html,body{margin:0;height:100%;display:grid;place-items:center;background:#fff}svg{max-width:100%;max-height:100vh}</style>${artifact.content}`;
  }
  return head + artifact.content.replace(/^\s*<!doctype[^>]*>/i, '');
}

function slug(title) {
  return (title || 'artifact').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'artifact';
}

function button(label, title, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.title = title;
  b.setAttribute('aria-label', title);
  b.addEventListener('click', onClick);
  return b;
}

export function renderArtifact(artifact) {
  const figure = document.createElement('figure');
  figure.className = 'artifact';
  const bar = document.createElement('figcaption');
  const name = document.createElement('span');
  name.className = 'artifact-title';
  name.textContent = artifact.title || 'Artifact';
  const kind = document.createElement('span');
  kind.className = 'artifact-type';
  kind.textContent = artifact.type === 'svg' ? 'SVG' : 'HTML';

  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', 'allow-scripts');
  frame.setAttribute('referrerpolicy', 'no-referrer');
  frame.setAttribute('loading', 'lazy');
  frame.title = `Artifact: ${artifact.title || 'untitled'}`;
  frame.srcdoc = artifactDocument(artifact);
  // a document that navigates itself away (location, meta refresh) is put back
  let loads = 0;
  frame.addEventListener('load', () => {
    if (++loads > 1) {
      loads = 0;
      frame.srcdoc = artifactDocument(artifact);
    }
  });

  const source = document.createElement('pre');
  source.className = 'artifact-source';
  source.hidden = true;
  const code = document.createElement('code');
  code.className = 'hljs';
  code.innerHTML = highlight(artifact.content, artifact.type === 'svg' ? 'xml' : 'html');
  source.append(code);

  const view = button('Source', 'Show the source', () => {
    source.hidden = !source.hidden;
    frame.hidden = !source.hidden;
    view.textContent = source.hidden ? 'Source' : 'Preview';
    view.setAttribute('aria-pressed', String(!source.hidden));
  });
  const full = button('Full screen', 'Full screen', () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else figure.requestFullscreen?.().catch(() => {});
  });
  const download = button('Download', 'Download the file', () => {
    const type = artifact.type === 'svg' ? 'image/svg+xml' : 'text/html';
    const url = URL.createObjectURL(new Blob([artifact.content], { type }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${slug(artifact.title)}.${artifact.type === 'svg' ? 'svg' : 'html'}`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  const buttons = document.createElement('span');
  buttons.className = 'artifact-buttons';
  buttons.append(view, full, download);
  bar.append(name, kind, buttons);
  figure.append(bar, frame, source);
  return figure;
}
