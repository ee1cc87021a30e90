#!/usr/bin/env bash
# ember's main job on a fresh Debian 12 machine: installs what ember needs, builds it, and
# answers an arithmetic question with ember-nano — the small model ember trained itself
# (models/ember-nano.gguf; scripts/train-nano.sh rebuilds it) — in each mode: Thinking with its
# reasoning shown, Instant, Contemplating with 8 agents (--json: agents, confidence, vote) and
# Thinking with the calculator tool (models/ember-nano-tools.gguf, ember-nano trained further
# in windows long enough for the tool's prompt).
#   scripts/demo.sh [PROMPT]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/llama-cpp.sh libs >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"

E=build/release/cli/ember
model=models/ember-nano.gguf
prompt=${1:-"What is 17 × 23?"}
export OMP_WAIT_POLICY=passive
run=(-m "$model" -c 8192 --max-tokens 640 --seed 42)

echo "== ember show $model"
"$E" show "$model"
echo "== Thinking: $prompt"
"$E" ask "${run[@]}" --mode thinking --show-reasoning "$prompt"
echo "== Instant"
"$E" ask "${run[@]}" --mode instant "$prompt"
echo "== Contemplating, 8 agents (--json: agents, confidence, vote; the vote's answer stands, as ember-nano"
echo "   never learned to write a synthesis)"
"$E" ask "${run[@]}" --mode contemplating --agents 8 --synthesis never --json "$prompt"
echo "== Thinking with the calculator tool (ember-nano-tools)"
"$E" ask "${run[@]}" -m models/ember-nano-tools.gguf --mode thinking --tools calculator --show-reasoning "$prompt"
