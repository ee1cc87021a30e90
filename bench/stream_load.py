#!/usr/bin/env python3
"""Concurrent streaming clients against an OpenAI-style or llama.cpp-native endpoint on
127.0.0.1; prints one JSON line: mean time to first token, aggregate generated tokens/s.

  stream_load.py URL KIND STREAMS MAX_TOKENS   (KIND: chat = /v1/chat/completions SSE,
                                                 native = llama-server /completion SSE)
"""
import json, sys, threading, time, urllib.request

url, kind, streams, max_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
prompt = "Tell me a long story about a lighthouse keeper who counts ships every night. " * 4

def body(i):
    if kind == "chat":
        return {"model": "m", "messages": [{"role": "user", "content": prompt}], "stream": True,
                "max_tokens": max_tokens, "reasoning_effort": "none", "seed": i,
                "stream_options": {"include_usage": True}}
    return {"prompt": prompt, "n_predict": max_tokens, "stream": True, "ignore_eos": True, "seed": i,
            "cache_prompt": False}

results = []
lock = threading.Lock()

def client(i):
    req = urllib.request.Request(url, data=json.dumps(body(i)).encode(), headers={"Content-Type": "application/json"})
    t0 = time.monotonic(); first = None; tokens = 0
    with urllib.request.urlopen(req, timeout=600) as r:
        for line in r:
            line = line.strip()
            if not line.startswith(b"data:") or line == b"data: [DONE]":
                continue
            d = json.loads(line[5:])
            if kind == "chat":
                if d.get("usage"):
                    tokens = d["usage"].get("completion_tokens", tokens)
                ch = d.get("choices") or [{}]
                delta = ch[0].get("delta", {}) if ch else {}
                if first is None and (delta.get("content") or delta.get("reasoning_content")):
                    first = time.monotonic()
            else:
                if d.get("content") and first is None:
                    first = time.monotonic()
                if d.get("stop"):
                    tokens = d.get("tokens_predicted", tokens)
    with lock:
        results.append((first - t0 if first else None, tokens))

t0 = time.monotonic()
threads = [threading.Thread(target=client, args=(i,)) for i in range(streams)]
for t in threads: t.start()
for t in threads: t.join()
wall = time.monotonic() - t0
ttfts = [r[0] for r in results if r[0] is not None]
print(json.dumps({"streams": streams, "ttft_ms": 1000 * sum(ttfts) / max(1, len(ttfts)),
                  "tokens": sum(r[1] for r in results), "tokens_per_s": sum(r[1] for r in results) / wall}))
