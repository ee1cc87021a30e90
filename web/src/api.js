// api.js — talking to the `ember serve` that served the page: JSON requests with the API key
// from the settings, and Server-Sent Events read from a streaming chat completion.
import { settings } from './settings.js';

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export function headers(json = true) {
  const h = json ? { 'content-type': 'application/json' } : {};
  const key = settings.apiKey.trim();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

async function errorOf(res) {
  const json = await res.json().catch(() => ({}));
  return new ApiError(json.error?.message || `${res.status} ${res.statusText}`, res.status);
}

export async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(`the server cannot be reached (${e.message})`, 0);
  }
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

// POSTs a streaming chat completion and calls onChunk with each parsed `data:` JSON until
// [DONE]. Rejects with an ApiError for an HTTP error or an error chunk.
export async function streamChat(body, signal, onChunk) {
  let res;
  try {
    res = await fetch('/v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body), signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`the server cannot be reached (${e.message})`, 0);
  }
  if (!res.ok) throw await errorOf(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(`the connection was lost (${e.message})`, 0);
    }
    if (chunk.done) throw new ApiError('the stream ended early (the server stopped?)', 0);
    buffer += decoder.decode(chunk.value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') return;
        const json = JSON.parse(data);
        if (json.error) throw new ApiError(json.error.message || 'the run failed', 500);
        onChunk(json);
      }
    }
  }
}
