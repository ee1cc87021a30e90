#!/usr/bin/env bash
# Contemplating's cost: N agents forked from one prompt vs one agent, same tokens per agent,
# early stop off, as wall-time ratios; the same ratio from llama.cpp's llama-batched-bench with
# a shared prompt (-pps). The tools run alternately ROUNDS times; each keeps its fastest times.
# Target: ember's ratio <= 1.05 x llama-batched-bench's.
#   bench/contemplate.sh     (AGENTS=4, P=128, N=64, ROUNDS=3, THREADS, BENCH_MODEL)
source "$(dirname "$0")/common.sh"
default_model
AGENTS=${AGENTS:-4}; P=${P:-128}; N=${N:-64}; ROUNDS=${ROUNDS:-3}

bb1=(); bbn=(); em1=(); emn=()
for _ in $(seq 1 "$ROUNDS"); do
  # llama-batched-bench's table: |PP|TG|B|N_KV|T_PP s|S_PP t/s|T_TG s|S_TG t/s|T s|S t/s|
  bb=$("$llama_bin/llama-batched-bench" -m "$model" -t "$threads" -c $((P + AGENTS * N + 64)) -b 2048 -ub 512 \
       -npp "$P" -ntg "$N" -npl "1,$AGENTS" -pps 2>/dev/null)
  tg_time() { echo "$bb" | awk -F'|' -v b="$1" '$4+0==b && $2+0>0 {gsub(/ /,"",$8); print $8}' | tail -1; }
  bb1+=("$(tg_time 1)"); bbn+=("$(tg_time "$AGENTS")")
  em=$("$ember" bench -m "$model" -t "$threads" -p "$P" -n "$N" -r 1 --bench-agents "$AGENTS" --json)
  em1+=("$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['wall_s_1'])" "$em")")
  emn+=("$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['wall_s_n'])" "$em")")
done
b1=$(least "${bb1[@]}"); bn=$(least "${bbn[@]}"); e1=$(least "${em1[@]}"); en=$(least "${emn[@]}")

bb_ratio=$(ratio "$bn" "$b1"); em_ratio=$(ratio "$en" "$e1")
printf '%-22s %10s %12s %8s\n' "" "1 seq (s)" "$AGENTS seqs (s)" ratio
printf '%-22s %10.3f %12.3f %8s\n' llama-batched-bench "$b1" "$bn" "$bb_ratio"
printf '%-22s %10.3f %12.3f %8s\n' "ember contemplating" "$e1" "$en" "$em_ratio"
echo "ember ratio / llama-batched-bench ratio: $(ratio "$em_ratio" "$bb_ratio") (target <= 1.05); best of $ROUNDS rounds"
