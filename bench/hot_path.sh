#!/usr/bin/env bash
# The scheduler's per-token work on a 150k-entry vocabulary (Qwen3's and Muse Glimmer's size):
# `ember bench` reports, from the engine's statistics, the scheduler thread's time per generated
# token outside llama_decode (sampling, grammar, Contemplating's confidence; token callbacks),
# for five kinds of sequence: greedy, default sampling (temperature 0.7, top-k 40, top-p 0.95,
# min-p 0.05), a grammar that allows the likely tokens (grammar-free: any text, as inside a
# JSON string), one that refuses them ([a-z]+ on random weights: the grammar's pass over the
# whole vocabulary on every token, llama.cpp's cost) and 4 Contemplating agents (confidence).
# The model is tiny but for its vocabulary (n_embd 64, 2 layers, 151936 tokens), so sampling is
# a large share of a step. Beside it, decode tokens/s against llama-bench's tg (which does not
# sample at all) on the same model and threads.
# BEFORE_REF=<git ref> also builds that commit (in build/hot-path-before/) and runs the same
# tests with it; the two run alternately ROUNDS times and each keeps its best, so a burst of other
# load (a training run on the other core) does not decide the ratio.
#   bench/hot_path.sh      (THREADS=1, BEFORE_REF=, N=64, REPS=3, ROUNDS=3)
source "$(dirname "$0")/common.sh"
threads=${THREADS:-1}
N=${N:-64}; REPS=${REPS:-3}; ROUNDS=${ROUNDS:-3}

model=$root/build/release/bench-models/glimmer-vocab152k.gguf
if [ ! -f "$model" ]; then
  mkdir -p "$(dirname "$model")"
  "$root/build/release/testmodel/ember-genmodel" --arch muse-glimmer --out "$model" --n-vocab 151936 >/dev/null
fi

binaries=("$ember")
names=(after)
if [ -n "${BEFORE_REF:-}" ]; then
  sha=$(git rev-parse --short "$BEFORE_REF")
  tree=$root/build/hot-path-before/$sha
  if [ ! -x "$tree/build/release/cli/ember" ]; then
    # a plain export of that commit (not a git worktree, which would stay registered)
    [ -d "$tree" ] || { mkdir -p "$tree" && git archive "$sha" | tar -x -C "$tree"; }
    (cd "$tree" && cmake --preset release >/dev/null && cmake --build --preset release -j "$(nproc)" --target ember-cli >/dev/null)
  fi
  binaries=("$tree/build/release/cli/ember" "$ember")
  names=("before ($sha)" after)
fi

modes=(greedy default grammar-free grammar-tight agents4)
mode_args() {  # sets args
  case $1 in
    greedy) args=(--temp 0) ;;
    default) args=() ;;
    grammar-free) args=(--grammar 'root ::= [^\x01]*') ;;
    grammar-tight) args=(--grammar 'root ::= [a-z]+') ;;
    agents4) args=(--bench-agents 4) ;;
  esac
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for _ in $(seq 1 "$ROUNDS"); do
  lb=$("$llama_bin/llama-bench" -m "$model" -t "$threads" -p 0 -n "$N" -r "$REPS" -o json 2>/dev/null)
  python3 -c "import json,sys; print('llama-bench tg', [r['avg_ts'] for r in json.loads(sys.argv[1])][0])" "$lb" >>"$results"
  for mode in "${modes[@]}"; do
    for b in "${!binaries[@]}"; do
      mode_args "$mode"
      out=$(OMP_WAIT_POLICY=passive "${binaries[$b]}" bench -m "$model" -t "$threads" -p 16 -n "$N" -r "$REPS" --json "${args[@]}")
      echo "$b $mode $out" >>"$results"
    done
  done
done

python3 - "$results" "${names[@]}" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
names = sys.argv[2:]
lb = max(float(l.split()[-1]) for l in lines if l.startswith('llama-bench'))
best = {}
for l in lines:
    if l.startswith('llama-bench'):
        continue
    b, mode, js = l.split(' ', 2)
    d = json.loads(js)
    us = d.get('sample_us_per_token', float('nan')) + d.get('callback_us_per_token', 0.0)
    tps = d.get('tg_tokens_per_s') or d.get('total_tokens_per_s_n')
    key = (int(b), mode)
    old = best.get(key)
    best[key] = (min(us, old[0]) if old else us, max(tps, old[1]) if old else tps)
modes = ['greedy', 'default', 'grammar-free', 'grammar-tight', 'agents4']
print(f"scheduler time per token outside llama_decode (us), best of rounds; decode tokens/s (agents4: all 4)")
head = f"{'sequence':<14}" + ''.join(f"{n + ' us':>22}" for n in names)
if len(names) == 2:
    head += f"{'after/before':>15}"
head += ''.join(f"{n + ' t/s':>22}" for n in names) + f"{'after/llama-bench':>19}"
print(head)
for m in modes:
    us = [best[(b, m)][0] for b in range(len(names))]
    tps = [best[(b, m)][1] for b in range(len(names))]
    row = f"{m:<14}" + ''.join(f"{u:>22.1f}" for u in us)
    if len(names) == 2:
        row += f"{us[1] / us[0]:>15.3f}"
    row += ''.join(f"{t:>22.1f}" for t in tps) + (f"{tps[-1] / lb:>19.3f}" if m != 'agents4' else f"{'-':>19}")
    print(row)
print(f"llama-bench tg: {lb:.1f} t/s (one sequence, no sampling)")
EOF
echo "model: $model (vocabulary 151936), threads: $threads, $ROUNDS alternating rounds of $REPS repetitions;"
echo "wall times on a shared machine are noisy: compare within one run (best of rounds)."
