#!/usr/bin/env bash
# Prefill and decode throughput: ember vs llama.cpp's llama-bench on the same model, threads
# and token counts. Target: ember >= 0.97 x llama-bench on both.
#   bench/foundation.sh            (THREADS=N, BENCH_MODEL=FILE, P=512, N=128, REPS=3)
source "$(dirname "$0")/common.sh"
P=${P:-512}; N=${N:-128}; REPS=${REPS:-3}

lb=$("$llama_bin/llama-bench" -m "$model" -t "$threads" -p "$P" -n "$N" -r "$REPS" -o json 2>/dev/null)
lb_pp=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([r['avg_ts'] for r in d if r['n_prompt']>0][0])" "$lb")
lb_tg=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([r['avg_ts'] for r in d if r['n_gen']>0][0])" "$lb")
em=$("$ember" bench -m "$model" -t "$threads" -p "$P" -n "$N" -r "$REPS" --json)
em_pp=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['pp_tokens_per_s'])" "$em")
em_tg=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['tg_tokens_per_s'])" "$em")

printf '%-8s %14s %14s %8s\n' test "llama-bench" ember ratio
printf '%-8s %14.2f %14.2f %8s\n' "pp$P" "$lb_pp" "$em_pp" "$(ratio "$em_pp" "$lb_pp")"
printf '%-8s %14.2f %14.2f %8s\n' "tg$N" "$lb_tg" "$em_tg" "$(ratio "$em_tg" "$lb_tg")"
echo "model: $model, threads: $threads (target: ratio >= 0.97)"
