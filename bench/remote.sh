#!/usr/bin/env bash
# ember in front of a remote engine vs the same work sent straight to it: one llama-server
# (same model, threads, AGENTS slots). Throughput: Contemplating's AGENTS agents of N tokens
# each through `ember serve --engine` (timed from the request to the last agent.finished event,
# i.e. without the synthesizer, which is extra work) against llama-server generating
# n_cmpl = AGENTS completions of N tokens of the same question in one request; ignore_eos on
# both sides so the token counts are equal. Then early stop: the agent tokens ember spends with
# it against without it (same seeds, the model ends its turns itself), as a ratio.
# Target: throughput ratio >= 0.9; early stop spends fewer tokens (ratio < 1).
#   bench/remote.sh    (AGENTS=4, N=64, REPS=3, THREADS, BENCH_MODEL, PORT=18090, EMBER_PORT=18091)
source "$(dirname "$0")/common.sh"
default_model
AGENTS=${AGENTS:-4}; N=${N:-64}; REPS=${REPS:-3}; PORT=${PORT:-18090}; EMBER_PORT=${EMBER_PORT:-18091}
url="http://127.0.0.1:$PORT"
question="How many primes are there below 100?"

"$llama_bin/llama-server" -m "$model" -t "$threads" -np "$AGENTS" -c $((4096 * AGENTS)) \
  --host 127.0.0.1 --port "$PORT" --no-webui >/tmp/ember-bench-remote.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
wait_up "$PORT" 300 || true

"$ember" serve --engine "$url" --port "$EMBER_PORT" --parallel "$AGENTS" >/tmp/ember-bench-remote-serve.log 2>&1 &
ember_server=$!
trap 'kill $server $ember_server 2>/dev/null; wait $server $ember_server 2>/dev/null' EXIT
wait_up "$EMBER_PORT" 300 || true

http="python3 $root/bench/contemplate_http.py"
through_ember() {  # the agents' phase of a streamed Contemplating request: its wall time, prompt tokens
  $http ember "$EMBER_PORT" "$AGENTS" "$N" "$1" "$question" agents
}

# Equal work: the direct side's prompt has as many tokens as an agent's (ember's rendered
# conversation, with the model's default system block, plus one approach line), built by
# padding the question and counted with the server's own /tokenize.
read -r _ ember_prompt < <(through_ember 0)   # also the warm-up
approach=$(curl -sf "$url/tokenize" -H 'Content-Type: application/json' \
  -d '{"content": "Approach: Solve it directly, step by step.\n"}' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tokens"]))')
target=$((ember_prompt + approach))
prompt=$($http pad "$url" "$question" "$target")
direct_tokens=$($http count "$url" "$prompt")
direct() { $http direct "$url" "$prompt" "$N" "$AGENTS" "$1"; }  # n_cmpl = AGENTS completions: the wall time

# Each side's repetitions run together, so neither evicts the other's cached prompts from the
# server's slots (interleaved, the direct side's n_cmpl took every slot before each ember run).
ls_walls=(); em_walls=()
direct 0 >/dev/null
for r in $(seq 1 "$REPS"); do ls_walls+=("$(direct "$r")"); done
through_ember 0 >/dev/null
for r in $(seq 1 "$REPS"); do read -r w _ < <(through_ember "$r"); em_walls+=("$w"); done
ls_wall=$(least "${ls_walls[@]}"); em_wall=$(least "${em_walls[@]}")
ls_tps=$(python3 -c "print($AGENTS * $N / $ls_wall)")
em_tps=$(python3 -c "print($AGENTS * $N / $em_wall)")
echo "prompt tokens: ember's agents $ember_prompt + an approach line ($approach); direct $direct_tokens"
printf '%-34s %10s %12s\n' "" "wall (s)" "tokens/s"
printf '%-34s %10.3f %12.2f\n' "llama-server n_cmpl=$AGENTS" "$ls_wall" "$ls_tps"
printf '%-34s %10.3f %12.2f\n' "ember --engine, $AGENTS agents" "$em_wall" "$em_tps"
echo "ember / llama-server throughput: $(ratio "$em_tps" "$ls_tps") (target >= 0.9)"
echo "differs: ember's agents each prefill their own approach line in their own slot; n_cmpl decodes one prompt and copies it"

# early stop: the same runs (seeds 1..REPS, the model ends turns itself) with and without it
with=0; without=0
for r in $(seq 1 "$REPS"); do
  for mode in early full; do
    flag=(); [ "$mode" = full ] && flag=(--no-early-stop)
    out=$("$ember" ask --engine "$url" --mode contemplating --agents "$AGENTS" "${flag[@]}" --max-tokens $((N * 2)) \
      --seed "$r" --temp 1 --json "$question")
    t=$(python3 -c "import json,sys; print(sum(a['tokens'] for a in json.loads(sys.argv[1])['agents']))" "$out")
    if [ "$mode" = early ]; then with=$((with + t)); else without=$((without + t)); fi
  done
done
echo "agent tokens with early stop / without: $with / $without = $(ratio "$with" "$without") (target < 1)"
