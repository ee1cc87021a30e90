#!/usr/bin/env bash
# Measures ember-nano on held-out problems with `ember eval`: the numbers and plots in the
# README's ember-nano section.
#   scripts/eval-nano.sh [MODEL] [OUT_DIR] [TOOLS_MODEL]
#   (defaults: models/ember-nano.gguf, build/nano-eval, models/ember-nano-tools.gguf: the
#   calculator is measured on the model trained to call it)
# LIMIT=N questions for modes and budgets (default 200), AGENT_LIMIT=N for Contemplating (default
# 100; 8 agents cost 8 traces a question), TOOL_LIMIT=N for the calculator (default 30), THREADS=N,
# SEED=N (default 1: the same samples on every run; each question's run starts from it).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/ember-nano.gguf}
out=${2:-build/nano-eval}
tools_model=${3:-models/ember-nano-tools.gguf}
limit=${LIMIT:-200}
agent_limit=${AGENT_LIMIT:-100}
tool_limit=${TOOL_LIMIT:-30}
threads=${THREADS:-2}
seed=${SEED:-1}
E=build/release/cli/ember
[ -x "$E" ] || { scripts/install-deps.sh; scripts/llama-cpp.sh libs >/dev/null;
                 cmake --preset release >/dev/null; cmake --build --preset release -j "$(nproc)"; }
export OMP_WAIT_POLICY=passive
mkdir -p "$out"
data=$out/held-out.jsonl
"$E" train --write-data "$data" --held-out --count "$limit" --seed 1
common=(-m "$model" --data "$data" --limit "$limit" -t "$threads" --seed "$seed" -c 16384 --max-tokens 640 --parallel 4)

echo "== modes and think budgets (accuracy vs reasoning tokens)"
rm -f "$out/modes.records.jsonl"
"$E" eval "${common[@]}" --modes instant,thinking --budgets 16,32,64,0 --records "$out/modes.records.jsonl" \
  --json "$out/modes.json" --plot "$out/modes.png" --title "ember-nano: accuracy vs reasoning tokens"
echo "== Thinking, greedy (temperature 0; the rows above sample at the default 0.7)"
"$E" eval "${common[@]}" --mode thinking --temp 0 --json "$out/greedy.json"
# Contemplating is measured on the first AGENT_LIMIT questions: Thinking on the same ones
python3 - "$out/modes.records.jsonl" "$agent_limit" <<'EOF2'
import json, sys
rows = [r for r in map(json.loads, open(sys.argv[1])) if r["label"] == "thinking"][: int(sys.argv[2])]
right = sum(r["correct"] for r in rows)
print(f"thinking on the first {len(rows)}: {right}/{len(rows)} = {100 * right / len(rows):.1f} %, "
      f"{sum(r['reasoning_tokens'] for r in rows) / len(rows):.1f} reasoning tokens")
EOF2
echo "== Contemplating: agents, early stop on and off"
# one question at a time in a 4096-token context: room for 8 agents' traces (about 170 tokens
# each, at most 480); the vote's answer stands (--synthesis never): ember-nano never learned to
# write a synthesis (the stage that tried is in scripts/train-nano.sh)
"$E" eval "${common[@]}" --limit "$agent_limit" -c 4096 --parallel 1 --max-tokens 480 --modes contemplating --agents-list 2,4,8 --early-stop-both \
  --synthesis never \
  --json "$out/agents.json" --plot "$out/agents.png" --title "ember-nano: accuracy vs Contemplating agents"
echo "== the calculator tool"
"$E" eval "${common[@]}" -m "$tools_model" --limit "$tool_limit" --mode thinking --tools calculator --json "$out/tools.json"
