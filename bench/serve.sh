#!/usr/bin/env bash
# ember serve vs llama.cpp's llama-server on equal work: the same model, threads, parallel
# slots and context; every stream prefills the same number of prompt tokens (llama-server gets
# as many token ids as ember's chat prompt renders to) and generates exactly N tokens
# (ignore_eos on both sides). Every prompt is prefilled in full on both sides: llama-server's
# requests send cache_prompt false, and ember serve runs with --no-prompt-cache (its prompt cache
# would serve every stream's identical chat prompt from the first one's cells); the cached tokens
# each side reports are printed, 0 on both when the work is equal. For 1, 4, 16 and 64
# concurrent streams: aggregate generated tokens/s and time to first token p50/p99, with
# ratios. Both servers listen on 127.0.0.1 and stay up for the whole run; the tools alternate,
# ROUNDS times, and each keeps its round with the best tokens/s (the machine's other load
# only ever slows a round down).
# Targets (issue 10): tokens/s ratio >= 1.0, TTFT p50 ratio <= 1.1.
#   bench/serve.sh     (STREAMS="1 4 16 64", N=48, ROUNDS=2, THREADS, BENCH_MODEL, PORT=18090, KV=split)
source "$(dirname "$0")/common.sh"
default_model
STREAMS=${STREAMS:-"1 4 16 64"}; N=${N:-48}; ROUNDS=${ROUNDS:-2}; PORT=${PORT:-18090}
EPORT=$((PORT + 1))
# llama-server gives each slot a KV stream of its own (kv_unified false, its default with -np);
# ember serve does the same with --kv-split. KV=unified measures ember's shared cache instead.
KV=${KV:-split}
kv=""; [ "$KV" = split ] && kv="--kv-split"
load="python3 $root/bench/stream_load.py"
max=$(echo $STREAMS | tr ' ' '\n' | sort -n | tail -1)
ctx=$((max * (N + 256)))

"$llama_bin/llama-server" -m "$model" -t "$threads" -np "$max" -c "$ctx" --host 127.0.0.1 \
  --port "$PORT" --no-webui >/tmp/ember-bench-llama-server.log 2>&1 &
lpid=$!
"$ember" serve -m "$model" -t "$threads" --parallel "$max" -c "$ctx" --port "$EPORT" --no-prompt-cache $kv \
  --db "$(mktemp -d)/bench.db" >/tmp/ember-bench-serve.log 2>&1 &
epid=$!
trap 'kill $lpid $epid 2>/dev/null; wait $lpid $epid 2>/dev/null' EXIT
wait_up "$PORT"; wait_up "$EPORT"

lurl="http://127.0.0.1:$PORT/completion"; eurl="http://127.0.0.1:$EPORT/v1/chat/completions"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
# ember's chat prompt in tokens: llama-server is given as many
prompt=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['prompt_tokens'][0])" "$($load "$eurl" chat 1 1)")
$load "$lurl" native 1 4 "$prompt" >/dev/null   # warm-up

declare -A ls em
faster() {  # keeps the result with more tokens/s
  if [ -z "$1" ]; then echo "$2"; return; fi
  python3 -c "import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); print(sys.argv[1] if a['tokens_per_s']>=b['tokens_per_s'] else sys.argv[2])" "$1" "$2"
}
for _ in $(seq 1 "$ROUNDS"); do
  for s in $STREAMS; do
    ls[$s]=$(faster "${ls[$s]:-}" "$($load "$lurl" native "$s" "$N" "$prompt")")
    em[$s]=$(faster "${em[$s]:-}" "$($load "$eurl" chat "$s" "$N")")
  done
done

printf '%-7s | %9s %9s %6s | %11s %11s %6s | %11s %11s %6s\n' streams "tok/s ls" "tok/s em" ratio \
  "p50 ls ms" "p50 em ms" ratio "p99 ls ms" "p99 em ms" ratio
for s in $STREAMS; do
  lr=$(field "${ls[$s]}" tokens_per_s); er=$(field "${em[$s]}" tokens_per_s)
  l5=$(field "${ls[$s]}" ttft_p50_ms); e5=$(field "${em[$s]}" ttft_p50_ms)
  l9=$(field "${ls[$s]}" ttft_p99_ms); e9=$(field "${em[$s]}" ttft_p99_ms)
  printf '%-7s | %9.2f %9.2f %6s | %11.1f %11.1f %6s | %11.1f %11.1f %6s\n' "$s" "$lr" "$er" "$(ratio "$er" "$lr")" \
    "$l5" "$e5" "$(ratio "$e5" "$l5")" "$l9" "$e9" "$(ratio "$e9" "$l9")"
done
for s in $STREAMS; do
  echo "  $s streams: generated llama-server $(field "${ls[$s]}" tokens) / ember $(field "${em[$s]}" tokens) tokens;" \
       "prompt tokens llama-server $(field "${ls[$s]}" prompt_tokens) / ember $(field "${em[$s]}" prompt_tokens);" \
       "from a prompt cache llama-server $(field "${ls[$s]}" cached_tokens) / ember $(field "${em[$s]}" cached_tokens)"
done
echo "N=$N tokens per stream (ignore_eos), prompt $prompt tokens; model $model; threads $threads; -np/--parallel $max, -c $ctx; KV: a stream per slot on llama-server, ${kv:-one unified cache} on ember; best of $ROUNDS rounds"
echo "(tok/s ratio = ember / llama-server, higher is better; TTFT ratios = ember / llama-server, lower is better)"
