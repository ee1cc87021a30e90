#!/usr/bin/env bash
# The prompt cache across requests: time to first token of a conversation's second turn when
# the first turn's cells are reused, `ember serve` (default) vs `ember serve --no-prompt-cache`,
# beside llama-server with cache_prompt true vs false on the same token counts (llama-server is
# given random token ids: turn 1 as many as ember's turn-1 prompt, turn 2 those plus as many
# new ones as ember's turn 2 adds, so both sides reuse the same prefix and evaluate the same
# rest). HTTP and streaming on both sides, one conversation at a time, ROUNDS conversations,
# medians printed with ratios.
#   bench/prompt_cache.sh     (ROUNDS=5, N=16, THREADS, BENCH_MODEL, PORT=18190)
source "$(dirname "$0")/common.sh"
default_model
ROUNDS=${ROUNDS:-5}; N=${N:-16}; PORT=${PORT:-18190}
run="python3 $root/bench/prompt_cache.py"
ctx=4096
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null' EXIT
start_ember() {  # port, extra flags
  "$ember" serve -m "$model" -t "$threads" --parallel 1 -c "$ctx" --port "$1" --no-web \
    --db "$(mktemp -d)/bench.db" "${@:2}" >/tmp/ember-bench-prompt-cache-$1.log 2>&1 &
  pids+=($!)
  wait_up "$1"
}

# one server at a time: the machine may be shared, and two models would compete for its cores
start_ember $((PORT + 1))
em=$($run "http://127.0.0.1:$((PORT + 1))/v1/chat/completions" chat "$ROUNDS" "$N")
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
start_ember $((PORT + 2)) --no-prompt-cache
en=$($run "http://127.0.0.1:$((PORT + 2))/v1/chat/completions" chat "$ROUNDS" "$N")
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
p1=$(field "$em" prompt1); p2=$(field "$em" prompt2); c2=$(field "$em" cached2)
"$llama_bin/llama-server" -m "$model" -t "$threads" -np 1 -c "$ctx" --host 127.0.0.1 --port "$PORT" \
  --no-webui >/tmp/ember-bench-prompt-cache-llama.log 2>&1 &
pids+=($!)
wait_up "$PORT"
lurl="http://127.0.0.1:$PORT/completion"
$run "$lurl" native 1 4 "$p1" "$p2" 1 >/dev/null   # warm-up
lc=$($run "$lurl" native "$ROUNDS" "$N" "$p1" "$p2" 1)
ln=$($run "$lurl" native "$ROUNDS" "$N" "$p1" "$p2" 0)

printf '%-28s | %12s %12s | %8s %8s %8s\n' "" "turn 1 ms" "turn 2 ms" prompt1 prompt2 cached2
row() { printf '%-28s | %12.1f %12.1f | %8s %8s %8s\n' "$1" "$(field "$2" ttft1_ms)" "$(field "$2" ttft2_ms)" \
  "$(field "$2" prompt1)" "$(field "$2" prompt2)" "$(field "$2" cached2)"; }
row "ember (prompt cache)" "$em"
row "ember --no-prompt-cache" "$en"
row "llama-server cache_prompt" "$lc"
row "llama-server no cache_prompt" "$ln"
e2=$(field "$em" ttft2_ms); n2=$(field "$en" ttft2_ms); l2=$(field "$lc" ttft2_ms); m2=$(field "$ln" ttft2_ms)
echo "turn-2 TTFT, cache / no cache: ember $(ratio "$e2" "$n2"), llama-server $(ratio "$l2" "$m2")"
echo "turn-2 TTFT with cache, ember / llama-server: $(ratio "$e2" "$l2") (lower is better)"
echo "note: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end: this machine may be shared (e.g. with a" \
     "training run); the cache / no-cache ratio of one tool is steadier than a ratio across tools"
echo "ember reused $c2 of $p2 turn-2 prompt tokens; N=$N generated per turn (ignore_eos), median of $ROUNDS" \
     "conversations; model $model; threads $threads; -c $ctx, one slot"
