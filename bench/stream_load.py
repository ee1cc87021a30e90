#!/usr/bin/env python3
"""Concurrent streaming clients against ember's /v1/chat/completions or llama-server's native
/completion on 127.0.0.1; prints one JSON line: time to first token (p50, p99, mean), aggregate
generated tokens/s over the wall time of the whole wave, the prompt tokens each side saw and how
many of them came from a prompt cache (ember's usage.prompt_tokens_details.cached_tokens,
llama-server's timings.cache_n) instead of a prefill.

  stream_load.py URL KIND STREAMS MAX_TOKENS [PROMPT_TOKENS]
    KIND chat:   the chat request below; ignore_eos, so every stream generates MAX_TOKENS
    KIND native: llama-server /completion with a prompt of PROMPT_TOKENS token ids (the count
                 ember's chat prompt renders to, so both sides prefill the same amount),
                 ignore_eos and n_predict = MAX_TOKENS
"""
import json, random, sys, threading, time, urllib.request

url, kind, streams, max_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
prompt_tokens = int(sys.argv[5]) if len(sys.argv) > 5 else 0
prompt = "Tell me a long story about a lighthouse keeper who counts ships every night. " * 4


def body(i):
    if kind == "chat":
        return {"model": "m", "messages": [{"role": "user", "content": prompt}], "stream": True,
                "max_tokens": max_tokens, "ignore_eos": True, "reasoning_effort": "none", "seed": i,
                "stream_options": {"include_usage": True}}
    rng = random.Random(i)
    ids = [rng.randrange(300, 30000) for _ in range(prompt_tokens)]
    return {"prompt": ids, "n_predict": max_tokens, "stream": True, "ignore_eos": True, "seed": i,
            "cache_prompt": False}


results = []
lock = threading.Lock()


def client(i):
    req = urllib.request.Request(url, data=json.dumps(body(i)).encode(), headers={"Content-Type": "application/json"})
    t0 = time.monotonic(); first = None; tokens = 0; seen_prompt = None; cached = 0
    with urllib.request.urlopen(req, timeout=900) as r:
        for line in r:
            line = line.strip()
            if not line.startswith(b"data:") or line == b"data: [DONE]":
                continue
            d = json.loads(line[5:])
            if kind == "chat":
                if d.get("usage"):
                    tokens = d["usage"].get("completion_tokens", tokens)
                    seen_prompt = d["usage"].get("prompt_tokens", seen_prompt)
                    cached = (d["usage"].get("prompt_tokens_details") or {}).get("cached_tokens", cached)
                ch = d.get("choices") or [{}]
                delta = ch[0].get("delta", {}) if ch else {}
                if first is None and (delta.get("content") or delta.get("reasoning_content")):
                    first = time.monotonic()
            else:
                if first is None and (d.get("content") or d.get("tokens")):
                    first = time.monotonic()
                if d.get("stop"):
                    tokens = d.get("tokens_predicted", tokens)
                    seen_prompt = d.get("tokens_evaluated", seen_prompt)
                    cached = (d.get("timings") or {}).get("cache_n", cached)
    with lock:
        results.append((first - t0 if first else None, tokens, seen_prompt, cached or 0))


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[k]


t0 = time.monotonic()
threads = [threading.Thread(target=client, args=(i,)) for i in range(streams)]
for t in threads: t.start()
for t in threads: t.join()
wall = time.monotonic() - t0
ttfts = [r[0] for r in results if r[0] is not None]
print(json.dumps({"streams": streams, "wall_s": wall,
                  "ttft_ms": 1000 * sum(ttfts) / max(1, len(ttfts)),
                  "ttft_p50_ms": 1000 * percentile(ttfts, 0.5), "ttft_p99_ms": 1000 * percentile(ttfts, 0.99),
                  "tokens": sum(r[1] for r in results), "tokens_per_s": sum(r[1] for r in results) / wall,
                  "prompt_tokens": sorted({r[2] for r in results if r[2] is not None}),
                  "cached_tokens": sum(r[3] for r in results)}))
