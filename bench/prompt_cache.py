#!/usr/bin/env python3
"""Two-turn conversations against ember's /v1/chat/completions or llama-server's native
/completion on 127.0.0.1, one conversation at a time; prints one JSON line: time to first token
of turn 1 and turn 2 (median over the rounds), prompt tokens, and the prompt tokens each side
reported as taken from its cache in turn 2.

  prompt_cache.py URL chat   ROUNDS N
  prompt_cache.py URL native ROUNDS N P1 P2 [cache_prompt: 1|0]

chat: turn 1 is a long user message; turn 2 repeats it, adds an assistant reply and a short
question (the reply is not what turn 1 generated, so the reusable prefix is turn 1's prompt).
native: turn 1 is P1 random token ids, turn 2 the same ids plus P2 - P1 new ones: the same
token counts and the same reusable prefix as ember's turns. Every round starts a new
conversation (its own first tokens), so a round never reuses an earlier round's prompt.
Both sides generate N tokens per turn (ignore_eos).
"""
import json, random, statistics, sys, time, urllib.request

url, kind, rounds, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
p1 = int(sys.argv[5]) if len(sys.argv) > 5 else 0
p2 = int(sys.argv[6]) if len(sys.argv) > 6 else 0
cache_prompt = (sys.argv[7] != "0") if len(sys.argv) > 7 else True
story = ("The keeper climbed the stairs, trimmed the wick, wrote the name of every ship that passed "
         "in the log and listened to the sea against the rocks below the lamp. ")


def stream(body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    t0 = time.monotonic(); first = None; prompt = cached = None
    with urllib.request.urlopen(req, timeout=900) as r:
        for line in r:
            line = line.strip()
            if not line.startswith(b"data:") or line == b"data: [DONE]":
                continue
            d = json.loads(line[5:])
            if kind == "chat":
                if d.get("usage"):
                    prompt = d["usage"]["prompt_tokens"]
                    cached = d["usage"].get("prompt_tokens_details", {}).get("cached_tokens")
                ch = d.get("choices") or []
                if first is None and ch and (ch[0].get("delta", {}).get("content") or ch[0].get("delta", {}).get("reasoning_content")):
                    first = time.monotonic()
            else:
                if first is None and (d.get("content") or d.get("tokens")):
                    first = time.monotonic()
                if d.get("stop"):
                    prompt = d.get("tokens_evaluated")
                    cached = d.get("timings", {}).get("cache_n")
    return (first - t0) * 1e3, prompt, cached


def chat(messages):
    return stream({"model": "m", "messages": messages, "stream": True, "max_tokens": n, "ignore_eos": True,
                   "reasoning_effort": "none", "temperature": 0, "stream_options": {"include_usage": True}})


def native(ids):
    return stream({"prompt": ids, "n_predict": n, "stream": True, "ignore_eos": True, "temperature": 0,
                   "cache_prompt": cache_prompt})


t1, t2, runs = [], [], []
for r in range(rounds):
    if kind == "chat":
        first = [{"role": "user", "content": f"Conversation {r}. " + story * 12 + "Tell me what happened next."}]
        a = chat(first)
        b = chat(first + [{"role": "assistant", "content": "The fog came in."},
                          {"role": "user", "content": "And what did the keeper write that night?"}])
    else:
        rng = random.Random(1000 + r)
        ids = [rng.randrange(300, 30000) for _ in range(p2)]
        a = native(ids[:p1])
        b = native(ids)
    t1.append(a[0]); t2.append(b[0]); runs.append((a, b))
print(json.dumps({
    "ttft1_ms": statistics.median(t1), "ttft2_ms": statistics.median(t2),
    "prompt1": runs[-1][0][1], "prompt2": runs[-1][1][1], "cached2": runs[-1][1][2],
}))
