# Shared by the bench scripts: builds ember (release) and llama.cpp's tools from the same pinned
# source; default_model generates the ~0.5B-parameter random-weight muse-glimmer model (q8_0).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/install-deps.sh
llama_dir=$(scripts/llama-cpp.sh tools)
llama_bin=$llama_dir/build/bin
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" >/dev/null
ember=$root/build/release/cli/ember
threads=${THREADS:-$(nproc)}

# Sets $model: $BENCH_MODEL, or the generated 0.5B model.
default_model() {
  model=${BENCH_MODEL:-$root/build/release/bench-models/glimmer-0.5b-q8_0.gguf}
  if [ ! -f "$model" ]; then
    mkdir -p "$(dirname "$model")"
    "$root/build/release/testmodel/ember-genmodel" --arch muse-glimmer --out "$model" --n-embd 1024 \
      --n-layer 24 --n-head 16 --n-head-kv 4 --n-ff 4096 --n-vocab 32000 --type q8_0 >/dev/null
  fi
  cat "$model" > /dev/null   # warm the page cache: the first read of a fresh file is slow
}

# Waits until the server on 127.0.0.1:PORT answers /health (TRIES × 0.2 s, default 600);
# returns 1 when it never does.
wait_up() {
  for _ in $(seq 1 "${2:-600}"); do curl -sf "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

ratio() { python3 -c "print(f'{$1 / $2:.3f}')"; }
least() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }
best() { python3 -c "import sys; print(max(float(x) for x in sys.argv[1:]))" "$@"; }
