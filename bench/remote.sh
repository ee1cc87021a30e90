#!/usr/bin/env bash
# ember in front of a remote engine vs the same work sent straight to it: one llama-server
# (same model, threads, AGENTS slots), Contemplating with AGENTS agents of N tokens each
# through `ember ask --engine` against llama-server generating n_cmpl = AGENTS completions of
# ember's own agent prompt followed by one completion of N tokens (the synthesizer's share),
# with ignore_eos on both sides so that the token counts are equal. Then early stop: the
# tokens ember spends with it against without it (same seeds), as a ratio.
# Target: throughput ratio >= 0.9; early stop spends fewer tokens (ratio < 1).
#   bench/remote.sh    (AGENTS=4, N=64, REPS=3, THREADS, BENCH_MODEL, PORT=18090)
source "$(dirname "$0")/common.sh"
default_model
AGENTS=${AGENTS:-4}; N=${N:-64}; REPS=${REPS:-3}; PORT=${PORT:-18090}
url="http://127.0.0.1:$PORT"
question="How many primes are there below 100?"

"$llama_bin/llama-server" -m "$model" -t "$threads" -np "$AGENTS" -c $((4096 * AGENTS)) \
  --host 127.0.0.1 --port "$PORT" --no-webui >/tmp/ember-bench-remote.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 1 300); do
  curl -sf "$url/health" >/dev/null 2>&1 && break
  sleep 0.2
done

# The direct side's prompt: a Muse Glimmer conversation of the same question opening the
# reasoning channel (ember's agents add a system block and an approach hint: a few dozen
# tokens more, prefilled once per agent and then cached)
prompt=$(python3 -c 'import json, sys; print(json.dumps("<|start|>system<|message|>Reasoning: medium<|eom|>"
  "<|start|>user<|message|>" + sys.argv[1] + "<|eom|><|start|>assistant<|message|>"))' "$question")
direct() {  # n_cmpl = AGENTS completions of N tokens, then one more of N tokens
  curl -sf "$url/completion" -H 'Content-Type: application/json' -d "{\"prompt\": $prompt, \"n_predict\": $N,
    \"ignore_eos\": true, \"n_cmpl\": $AGENTS, \"n_probs\": 5, \"temperature\": 0.7, \"seed\": $1}" >/dev/null
  curl -sf "$url/completion" -H 'Content-Type: application/json' -d "{\"prompt\": $prompt, \"n_predict\": $N,
    \"ignore_eos\": true, \"temperature\": 0.7, \"seed\": $1}" >/dev/null
}
through_ember() {
  "$ember" ask --engine "$url" --mode contemplating --agents "$AGENTS" --no-early-stop --ignore-eos \
    --max-tokens "$N" --seed "$1" --json "$question"
}
direct 0; through_ember 0 >/dev/null   # warm-up (and the prompt in both caches)

ls_walls=(); em_walls=(); em_tokens=0
for r in $(seq 1 "$REPS"); do
  t0=$(date +%s.%N); direct "$r"; t1=$(date +%s.%N)
  ls_walls+=("$(python3 -c "print($t1 - $t0)")")
  t0=$(date +%s.%N); out=$(through_ember "$r"); t1=$(date +%s.%N)
  em_walls+=("$(python3 -c "print($t1 - $t0)")")
  em_tokens=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(sum(a['tokens'] for a in d['agents']) + $N)" "$out")
done
ls_wall=$(least "${ls_walls[@]}"); em_wall=$(least "${em_walls[@]}")
ls_tps=$(python3 -c "print(($AGENTS + 1) * $N / $ls_wall)")
em_tps=$(python3 -c "print($em_tokens / $em_wall)")
printf '%-34s %10s %12s\n' "" "wall (s)" "tokens/s"
printf '%-34s %10.3f %12.2f\n' "llama-server n_cmpl=$AGENTS + 1" "$ls_wall" "$ls_tps"
printf '%-34s %10.3f %12.2f\n' "ember --engine, $AGENTS agents + synthesis" "$em_wall" "$em_tps"
echo "ember / llama-server throughput: $(ratio "$em_tps" "$ls_tps") (target >= 0.9)"

# early stop: the same runs (seeds 1..REPS, the model ends turns itself) with and without it
with=0; without=0
for r in $(seq 1 "$REPS"); do
  for mode in early full; do
    flag=(); [ "$mode" = full ] && flag=(--no-early-stop)
    out=$("$ember" ask --engine "$url" --mode contemplating --agents "$AGENTS" "${flag[@]}" --max-tokens $((N * 4)) \
      --seed "$r" --temp 1 --json "$question")
    t=$(python3 -c "import json,sys; print(sum(a['tokens'] for a in json.loads(sys.argv[1])['agents']))" "$out")
    if [ "$mode" = early ]; then with=$((with + t)); else without=$((without + t)); fi
  done
done
echo "agent tokens with early stop / without: $with / $without = $(ratio "$with" "$without") (target < 1)"
