#!/usr/bin/env bash
# Measures ember-nano on held-out problems with `ember eval`: the numbers and plots in the
# README's ember-nano section.
#   scripts/eval-nano.sh [MODEL] [OUT_DIR]   (defaults: models/ember-nano.gguf, build/nano-eval)
# LIMIT=N questions for modes and budgets (default 200), AGENT_LIMIT=N for the calculator and
# Contemplating (default 30; 8 agents cost 8 traces a question), THREADS=N.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/ember-nano.gguf}
out=${2:-build/nano-eval}
limit=${LIMIT:-200}
agent_limit=${AGENT_LIMIT:-30}
threads=${THREADS:-2}
E=build/release/cli/ember
[ -x "$E" ] || { scripts/install-deps.sh; scripts/llama-cpp.sh libs >/dev/null;
                 cmake --preset release >/dev/null; cmake --build --preset release -j "$(nproc)"; }
export OMP_WAIT_POLICY=passive
mkdir -p "$out"
data=$out/held-out.jsonl
"$E" train --write-data "$data" --held-out --count "$limit" --seed 1
common=(-m "$model" --data "$data" --limit "$limit" -t "$threads" -c 16384 --max-tokens 640 --parallel 4)

echo "== modes and think budgets (accuracy vs reasoning tokens)"
"$E" eval "${common[@]}" --modes instant,thinking --budgets 16,32,64,0 \
  --json "$out/modes.json" --plot "$out/modes.png" --title "ember-nano: accuracy vs reasoning tokens"
echo "== Contemplating: agents, early stop on and off"
# one question at a time in a 4096-token context: room for 8 agents' traces (about 160 tokens
# each, at most 480); the synthesizer's brief is cut to what fits (agent/brief.c)
"$E" eval "${common[@]}" --limit "$agent_limit" -c 4096 --parallel 1 --max-tokens 480 --modes contemplating --agents-list 2,4,8 --early-stop-both \
  --json "$out/agents.json" --plot "$out/agents.png" --title "ember-nano: accuracy vs Contemplating agents"
echo "== the calculator tool"
"$E" eval "${common[@]}" --limit "$agent_limit" --mode thinking --tools calculator --json "$out/tools.json"
