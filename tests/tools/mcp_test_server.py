#!/usr/bin/env python3
"""A small, real MCP server over stdio for ember's tests (newline-delimited JSON-RPC 2.0).

Tools: echo(text), add(a, b), env(name), pid(), fail(), hang(seconds), crash().
It also exercises the client's robustness on purpose:
  - prints a line that is not JSON before answering initialize;
  - sends a ping request to the client during initialize and waits for the answer;
  - sends a log notification before every tools/call answer;
  - pages tools/list (three tools, then the rest behind a cursor).
"""
import json
import os
import sys
import time

TOOLS = [
    {"name": "echo", "description": "Echo the text back.",
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "add", "description": "Add two numbers.",
     "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                     "required": ["a", "b"]}},
    {"name": "env", "description": "Read an environment variable of the server.",
     "inputSchema": {"type": "object", "properties": {"name": {"type": "string"}}}},
    {"name": "pid", "description": "The server's process id."},
    {"name": "fail", "description": "Always reports a tool error.",
     "inputSchema": {"type": "object", "properties": {}}},
    {"name": "hang", "description": "Sleeps for the given seconds before answering.",
     "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
    {"name": "crash", "description": "Exits without answering.",
     "inputSchema": {"type": "object", "properties": {}}},
]


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def read():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def text(t, is_error=False):
    return {"content": [{"type": "text", "text": t}], "isError": is_error}


def call(name, args):
    if name == "echo":
        return text(str(args.get("text", "")))
    if name == "add":
        s = args["a"] + args["b"]
        return {"content": [{"type": "text", "text": str(s)}], "structuredContent": {"sum": s}}
    if name == "env":
        return text(os.environ.get(args.get("name", ""), ""))
    if name == "pid":
        return text(str(os.getpid()))
    if name == "fail":
        return text("this tool always fails", True)
    if name == "hang":
        time.sleep(float(args.get("seconds", 60)))
        return text("woke up")
    if name == "crash":
        os._exit(3)
    return None


def main():
    while True:
        msg = read()
        method, mid = msg.get("method"), msg.get("id")
        if method == "initialize":
            print("this line is not JSON", flush=True)
            send({"jsonrpc": "2.0", "id": "srv-ping", "method": "ping"})
            while True:  # the client must answer our ping before we answer it
                reply = read()
                if reply.get("id") == "srv-ping":
                    assert "result" in reply, reply
                    break
            send({"jsonrpc": "2.0", "id": mid, "result": {
                "protocolVersion": msg["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "ember-test", "version": "1"}}})
        elif method == "notifications/initialized" or method == "notifications/cancelled":
            pass
        elif method == "tools/list":
            cursor = (msg.get("params") or {}).get("cursor")
            if cursor is None:
                result = {"tools": TOOLS[:3], "nextCursor": "page2"}
            else:
                result = {"tools": TOOLS[3:]}
            send({"jsonrpc": "2.0", "id": mid, "result": result})
        elif method == "tools/call":
            p = msg.get("params") or {}
            send({"jsonrpc": "2.0", "method": "notifications/message",
                  "params": {"level": "info", "data": "calling " + p.get("name", "")}})
            result = call(p.get("name"), p.get("arguments") or {})
            if result is None:
                send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32602, "message": "unknown tool"}})
            else:
                send({"jsonrpc": "2.0", "id": mid, "result": result})
        elif mid is not None:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "method not found"}})


if __name__ == "__main__":
    main()
