#!/usr/bin/env bash
# ember serve vs llama.cpp's llama-server on the same model and threads: mean time to first
# token and aggregate generated tokens/s for 1, 4 and 16 concurrent streams, with ratios.
# Both servers listen on 127.0.0.1 only. llama-server is driven through its native /completion
# (the random-weight model has no chat template for it); ember through /v1/chat/completions.
#   bench/serve.sh            (STREAMS="1 4 16", N=64, THREADS, BENCH_MODEL, PORT=18090)
source "$(dirname "$0")/common.sh"
default_model
STREAMS=${STREAMS:-"1 4 16"}; N=${N:-64}; PORT=${PORT:-18090}
load="python3 $root/bench/stream_load.py"
max=$(echo $STREAMS | tr ' ' '\n' | sort -n | tail -1)

wait_up() { for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }

"$llama_bin/llama-server" -m "$model" -t "$threads" -np "$max" -c $((max * (N + 256))) --host 127.0.0.1 \
  --port "$PORT" --no-webui >/tmp/ember-bench-llama-server.log 2>&1 &
pid=$!; wait_up
declare -A ls
for s in $STREAMS; do ls[$s]=$($load "http://127.0.0.1:$PORT/completion" native "$s" "$N"); done
kill $pid; wait $pid 2>/dev/null || true

"$ember" serve -m "$model" -t "$threads" --parallel "$max" -c $((max * (N + 256))) --port "$PORT" \
  --db "$(mktemp -d)/bench.db" >/tmp/ember-bench-serve.log 2>&1 &
pid=$!; wait_up
declare -A em
for s in $STREAMS; do em[$s]=$($load "http://127.0.0.1:$PORT/v1/chat/completions" chat "$s" "$N"); done
kill $pid; wait $pid 2>/dev/null || true

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
printf '%-8s %14s %14s %8s %16s %16s %8s\n' streams "ttft llama ms" "ttft ember ms" ratio "tok/s llama" "tok/s ember" ratio
for s in $STREAMS; do
  lt=$(field "${ls[$s]}" ttft_ms); et=$(field "${em[$s]}" ttft_ms)
  lr=$(field "${ls[$s]}" tokens_per_s); er=$(field "${em[$s]}" tokens_per_s)
  printf '%-8s %14.1f %14.1f %8s %16.2f %16.2f %8s\n' "$s" "$lt" "$et" "$(ratio "$et" "$lt")" "$lr" "$er" "$(ratio "$er" "$lr")"
done
echo "N=$N tokens per stream; model $model; threads $threads (ttft ratio: lower is better; tok/s ratio: higher is better)"
