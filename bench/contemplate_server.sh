#!/usr/bin/env bash
# Contemplating through `ember serve`'s HTTP API against llama.cpp's llama-server generating
# n_cmpl = AGENTS completions of one prompt (decoded once, the children share it), also over
# HTTP: same model, threads, prompt token count and tokens per agent (ignore_eos on both
# sides), each side's wall time from its request to its last byte, best of REPS. ember's
# request asks for no synthesis (ember.synthesis "never": the vote's answer stands), so both
# sides do the same work: one prompt, AGENTS x N tokens. Target: ember >= 1.0 x llama-server.
#   bench/contemplate_server.sh   (AGENTS=4, N=64, REPS=3, THREADS, BENCH_MODEL, PORT=18089, EMBER_PORT=18088)
source "$(dirname "$0")/common.sh"
default_model
AGENTS=${AGENTS:-4}; N=${N:-64}; REPS=${REPS:-3}; PORT=${PORT:-18089}; EMBER_PORT=${EMBER_PORT:-18088}
url="http://127.0.0.1:$PORT"
question="How many primes are there below 100?"
http="python3 $root/bench/contemplate_http.py"

"$llama_bin/llama-server" -m "$model" -t "$threads" -np "$AGENTS" -c $((1024 * AGENTS)) \
  --host 127.0.0.1 --port "$PORT" --no-webui >/tmp/ember-bench-llama-server.log 2>&1 &
server=$!
OMP_WAIT_POLICY=passive "$ember" serve -m "$model" -t "$threads" -c $((1024 * AGENTS)) --port "$EMBER_PORT" \
  >/tmp/ember-bench-contemplate-serve.log 2>&1 &
ember_server=$!
trap 'kill $server $ember_server 2>/dev/null; wait $server $ember_server 2>/dev/null' EXIT
wait_up "$PORT" 300 || true
wait_up "$EMBER_PORT" 300 || true

through_ember() { $http ember "$EMBER_PORT" "$AGENTS" "$N" "$1" "$question" done; }  # wall time, prompt tokens
# Equal work: llama-server's prompt has as many tokens as ember's shared prompt (its rendered
# conversation with the model's default system block), padded and counted with /tokenize.
read -r _ ember_prompt < <(through_ember 0)   # also the warm-up
prompt=$($http pad "$url" "$question" "$ember_prompt")
direct_tokens=$($http count "$url" "$prompt")

ls_walls=(); em_walls=()
$http direct "$url" "$prompt" "$N" "$AGENTS" 0 >/dev/null
for r in $(seq 1 "$REPS"); do ls_walls+=("$($http direct "$url" "$prompt" "$N" "$AGENTS" "$r")"); done
for r in $(seq 1 "$REPS"); do read -r w _ < <(through_ember "$r"); em_walls+=("$w"); done
ls_wall=$(least "${ls_walls[@]}"); em_wall=$(least "${em_walls[@]}")
ls_tps=$(python3 -c "print($AGENTS * $N / $ls_wall)"); em_tps=$(python3 -c "print($AGENTS * $N / $em_wall)")
echo "prompt tokens: ember $ember_prompt (shared by the agents); llama-server $direct_tokens; best of $REPS each"
printf '%-28s %10s %14s\n' "" "wall (s)" "tokens/s"
printf '%-28s %10.3f %14.2f\n' "llama-server n_cmpl=$AGENTS" "$ls_wall" "$ls_tps"
printf '%-28s %10.3f %14.2f\n' "ember serve, $AGENTS agents" "$em_wall" "$em_tps"
echo "ember / llama-server throughput: $(ratio "$em_tps" "$ls_tps") (target >= 1.0)"
echo "differs: each ember agent also decodes its approach line (about 10 tokens); ember scores every token's confidence"
