#!/usr/bin/env python3
"""Contemplating over HTTP for the bench scripts (remote.sh, contemplate_server.sh).

  ember PORT AGENTS N SEED QUESTION [agents|done]
      one streamed Contemplating request to `ember serve` (ignore_eos, N tokens per agent,
      early stop off, no synthesis); prints the wall time to the last agent.finished event
      (agents) or to the end of the stream (done), and the request's prompt tokens
  pad URL QUESTION TARGET
      the question padded until llama-server's /tokenize counts TARGET tokens: a JSON string
  count URL PROMPT_JSON
      the tokens llama-server's /tokenize counts in the prompt (special tokens added)
  direct URL PROMPT_JSON N AGENTS SEED
      n_cmpl = AGENTS completions of N tokens of the prompt in one /completion request
      (ignore_eos, top-5 probabilities as ember's agents ask for); prints the wall time
"""
import json
import sys
import time
import urllib.request


def post(url, body):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return urllib.request.urlopen(req)


def count(url, text):
    return len(json.load(post(url + "/tokenize", {"content": text, "add_special": True}))["tokens"])


def ember(port, agents, n, seed, question, until="agents"):
    body = {"model": "m", "messages": [{"role": "user", "content": question}], "stream": True, "max_tokens": n,
            "ignore_eos": True, "seed": seed, "stream_options": {"include_usage": True},
            "ember": {"mode": "contemplating", "agents": agents, "early_stop": False, "synthesis": "never"}}
    t0 = time.monotonic()
    finished, wall, prompt_tokens = 0, None, 0
    with post(f"http://127.0.0.1:{port}/v1/chat/completions", body) as r:
        for line in r:
            if not line.startswith(b"data: {"):
                continue
            chunk = json.loads(line[6:])
            prompt_tokens = (chunk.get("usage") or {}).get("prompt_tokens", prompt_tokens)
            if (chunk.get("ember") or {}).get("type") == "agent.finished":
                finished += 1
                if finished == agents and until == "agents":
                    wall = time.monotonic() - t0
    if until == "done":
        wall = time.monotonic() - t0 if finished == agents else None
    print(wall if wall else "nan", prompt_tokens)


def pad(url, question, target):
    padding = ""
    for unit in ("Please answer carefully. ", "so "):   # close in by sentences, then by a word
        while count(url, padding + unit + question) <= target:
            padding += unit
    while count(url, padding + question) < target:
        padding += "so "
    print(json.dumps(padding + question))


def direct(url, prompt, n, agents, seed):
    t0 = time.monotonic()
    post(url + "/completion", {"prompt": prompt, "n_predict": n, "ignore_eos": True, "n_cmpl": agents, "n_probs": 5,
                               "temperature": 0.7, "seed": seed}).read()
    print(time.monotonic() - t0)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "ember":
        ember(args[0], int(args[1]), int(args[2]), int(args[3]), args[4], *args[5:])
    elif cmd == "pad":
        pad(args[0], args[1], int(args[2]))
    elif cmd == "count":
        print(count(args[0], json.loads(args[1])))
    elif cmd == "direct":
        direct(args[0], json.loads(args[1]), int(args[2]), int(args[3]), int(args[4]))
    else:
        sys.exit(f"unknown command {cmd}")
