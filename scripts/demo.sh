#!/usr/bin/env bash
# ember's main job on a fresh Debian 12 machine: installs what ember needs, builds it, writes
# a small random-weight Muse Glimmer model (real architecture, random weights: the words are
# noise, the machinery is real) and answers a question in Thinking mode with a think budget,
# printing the answer and then the --json result.
#   scripts/demo.sh [PROMPT]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/llama-cpp.sh libs >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"

build=build/release
model=$build/demo-models/glimmer-demo.gguf
mkdir -p "$(dirname "$model")"
[ -f "$model" ] || "$build/testmodel/ember-genmodel" --arch muse-glimmer --out "$model" \
  --n-embd 256 --n-layer 4 --n-head 8 --n-head-kv 4 --n-ff 512 --n-vocab 2048 --type f16
prompt=${1:-"What is 17 times 23?"}

echo "== ember show"
"$build/cli/ember" show "$model"
echo "== ember ask --mode thinking --think-budget 48 --show-reasoning"
"$build/cli/ember" ask -m "$model" --mode thinking --think-budget 48 --budget-cue --max-tokens 96 \
  --seed 42 --show-reasoning "$prompt"
echo "== the same, --json"
"$build/cli/ember" ask -m "$model" --mode thinking --think-budget 48 --max-tokens 96 --seed 42 --json "$prompt"
