#!/usr/bin/env bash
# Contemplating throughput vs llama.cpp's llama-server generating n_cmpl = N completions of one
# prompt (prompt decoded once, children share it): same model, threads, prompt length and
# tokens per agent; wall time includes the prompt. Target: ember >= 1.0 x llama-server.
#   bench/contemplate_server.sh    (AGENTS=4, P=128, N=64, THREADS, BENCH_MODEL, PORT=18089)
source "$(dirname "$0")/common.sh"
default_model
AGENTS=${AGENTS:-4}; P=${P:-128}; N=${N:-64}; PORT=${PORT:-18089}

"$llama_bin/llama-server" -m "$model" -t "$threads" -np "$AGENTS" -c $(((P + N + 64) * AGENTS)) \
  --host 127.0.0.1 --port "$PORT" --no-webui >/tmp/ember-bench-llama-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
wait_up "$PORT" 300 || true
prompt=$(python3 -c "import random; random.seed(1); print([random.randrange(300, 30000) for _ in range($P)])")
request() {
  curl -sf "http://127.0.0.1:$PORT/completion" -H 'Content-Type: application/json' \
    -d "{\"prompt\": $prompt, \"n_predict\": $N, \"ignore_eos\": true, \"n_cmpl\": $AGENTS, \"cache_prompt\": false, \"temperature\": 0.7, \"seed\": $1}" >/dev/null
}
request 0   # warm-up
t0=$(date +%s.%N); request 1; t1=$(date +%s.%N)
ls_wall=$(python3 -c "print($t1 - $t0)")

em=$("$ember" bench -m "$model" -t "$threads" -p "$P" -n "$N" -r 2 --bench-agents "$AGENTS" --json)
em_wall=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(d['n_prompt'] / d['pp_tokens_per_s'] + d['wall_s_n'])" "$em")

ls_tps=$(python3 -c "print($AGENTS * $N / $ls_wall)"); em_tps=$(python3 -c "print($AGENTS * $N / $em_wall)")
printf '%-24s %10s %14s\n' "" "wall (s)" "tokens/s"
printf '%-24s %10.3f %14.2f\n' "llama-server n_cmpl=$AGENTS" "$ls_wall" "$ls_tps"
printf '%-24s %10.3f %14.2f\n' "ember $AGENTS agents" "$em_wall" "$em_tps"
echo "ember / llama-server throughput: $(ratio "$em_tps" "$ls_tps") (target >= 1.0)"
