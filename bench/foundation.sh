#!/usr/bin/env bash
# Prefill and decode throughput: ember vs llama.cpp's llama-bench on the same model, threads
# and token counts. The two tools run alternately ROUNDS times and each keeps its best result,
# so that a burst of other load on the machine does not decide the ratio.
# Target: ember >= 0.97 x llama-bench on both.
#   bench/foundation.sh      (THREADS=N, BENCH_MODEL=FILE, P=512, N=128, REPS=2, ROUNDS=3)
source "$(dirname "$0")/common.sh"
default_model
P=${P:-512}; N=${N:-128}; REPS=${REPS:-2}; ROUNDS=${ROUNDS:-3}

lb_pp=(); lb_tg=(); em_pp=(); em_tg=()
for _ in $(seq 1 "$ROUNDS"); do
  lb=$("$llama_bin/llama-bench" -m "$model" -t "$threads" -p "$P" -n "$N" -r "$REPS" -o json 2>/dev/null)
  lb_pp+=("$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([r['avg_ts'] for r in d if r['n_prompt']>0][0])" "$lb")")
  lb_tg+=("$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([r['avg_ts'] for r in d if r['n_gen']>0][0])" "$lb")")
  em=$("$ember" bench -m "$model" -t "$threads" -p "$P" -n "$N" -r "$REPS" --json)
  em_pp+=("$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['pp_tokens_per_s'])" "$em")")
  em_tg+=("$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['tg_tokens_per_s'])" "$em")")
done
lbp=$(best "${lb_pp[@]}"); lbt=$(best "${lb_tg[@]}"); emp=$(best "${em_pp[@]}"); emt=$(best "${em_tg[@]}")

printf '%-8s %14s %14s %8s\n' test "llama-bench" ember ratio
printf '%-8s %14.2f %14.2f %8s\n' "pp$P" "$lbp" "$emp" "$(ratio "$emp" "$lbp")"
printf '%-8s %14.2f %14.2f %8s\n' "tg$N" "$lbt" "$emt" "$(ratio "$emt" "$lbt")"
echo "best of $ROUNDS alternating rounds; model: $model, threads: $threads (target: ratio >= 0.97)"
