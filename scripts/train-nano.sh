#!/usr/bin/env bash
# Rebuilds ember-nano from nothing: the exact recipe and seeds of models/ember-nano.gguf.
#   scripts/train-nano.sh [OUT_DIR]        (default build/nano; about 1 h 30 on 2 cores)
# 1. ember-genmodel initialises a 3.4M-parameter qwen3 (256 wide, 4 layers, 8 heads, vocab 512,
#    untied output, F32; digits are single tokens under the qwen2 pre-tokenizer);
# 2. ember train: supervised, 12,000 generated problems (70 % reasoning traces, 22 % direct
#    answers, 8 % calculator calls), windows of 512 tokens, 4 per AdamW step, lr 1e-3 → 5e-5;
# 3. ember train --expert-rounds: thought compression by expert iteration (4 Contemplating
#    samples per problem, the shortest correct one kept), measured on held-out problems.
# The model of the last round is copied to OUT_DIR/ember-nano.gguf.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/nano}
scripts/install-deps.sh
scripts/llama-cpp.sh libs >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
E=build/release/cli/ember
G=build/release/testmodel/ember-genmodel
export OMP_WAIT_POLICY=passive
mkdir -p "$out"
"$G" --arch qwen3 --untied --out "$out/init.gguf" --n-embd 256 --n-layer 4 --n-head 8 --n-head-kv 8 \
  --n-ff 768 --n-vocab 512 --n-ctx 1024 --type f32 --seed 7 --name ember-nano
"$E" train -m "$out/init.gguf" -o "$out/stage1.gguf" --checkpoints "$out/ckpt1" --checkpoint-every 100 \
  --examples 12000 --ctx 512 --batch 4 --mix 70,22,8 --lr 1e-3 --lr-min 5e-5 --warmup 50 --seed 1 -t 1 \
  --context-length 8192
"$E" train --write-data "$out/held-out.jsonl" --held-out --count 300 --seed 1
"$E" train -m "$out/stage1.gguf" --expert-rounds "${ROUNDS:-2}" --expert-dir "$out/expert" \
  --eval-data "$out/held-out.jsonl" --eval-limit 200 --problems 300 --samples 4 --seed 1 -t 1 \
  --context-length 8192
last=$(ls "$out"/expert/round-*.gguf 2>/dev/null | sort -V | tail -1)
cp "${last:-$out/stage1.gguf}" "$out/ember-nano.gguf"
echo "ember-nano: $out/ember-nano.gguf"
