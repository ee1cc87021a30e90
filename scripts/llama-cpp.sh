#!/usr/bin/env bash
# Obtains llama.cpp at the pinned commit and builds what ember needs into a versioned cache
# outside the repository, reused by every later build and CI run on this machine.
#
#   scripts/llama-cpp.sh dir            print the cache directory (src/ and build/ inside)
#   scripts/llama-cpp.sh libs           build ggml, llama and mtmd (what libember links)
#   scripts/llama-cpp.sh server         also build llama-server (the prompt parity test's
#                                       reference: its /apply-template runs the official templates)
#   scripts/llama-cpp.sh tools          also build llama-bench, llama-batched-bench,
#                                       llama-server and llama-mtmd-cli (benchmarks)
#
# Source, in this order: $LLAMA_CPP_SOURCE_DIR; the git bundle inside the npm package
# node-llama-cpp@3.22.1 (integrity and commit verified); a clone of $LLAMA_CPP_GIT_URL at the
# pinned commit. GGML_* variables in the environment (e.g. GGML_CUDA=ON) are passed to CMake
# and select a separate cache entry.
set -euo pipefail

readonly COMMIT=de3ff815ea7d559ee917f063901b8986f038abc6
readonly NPM_PACKAGE=node-llama-cpp@3.22.1
readonly NPM_INTEGRITY='sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw=='

ggml_opts=()
while IFS='=' read -r name value; do
  [[ $name == GGML_* ]] && ggml_opts+=("-D$name=$value")
done < <(env | sort)
opts_key=$(printf '%s\n' "${ggml_opts[@]+"${ggml_opts[@]}"}" "src=${LLAMA_CPP_SOURCE_DIR:-pinned}" | sha256sum | cut -c1-10)
cache_root=${EMBER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ember}
dir="$cache_root/llama.cpp/${COMMIT:0:12}-$opts_key"

log() { echo "llama-cpp: $*" >&2; }

fetch_source() {
  local src="$dir/src"
  [ -f "$src/.ember-ok" ] && return 0
  rm -rf "$src"
  mkdir -p "$dir"
  if [ -n "${LLAMA_CPP_SOURCE_DIR:-}" ]; then
    [ -f "$LLAMA_CPP_SOURCE_DIR/include/llama.h" ] ||
      { log "LLAMA_CPP_SOURCE_DIR=$LLAMA_CPP_SOURCE_DIR has no include/llama.h"; exit 1; }
    ln -s "$(cd "$LLAMA_CPP_SOURCE_DIR" && pwd)" "$src"
  elif command -v npm >/dev/null 2>&1 && fetch_from_npm "$src"; then
    :
  elif [ -n "${LLAMA_CPP_GIT_URL:-}" ]; then
    log "cloning $LLAMA_CPP_GIT_URL"
    git clone -q "$LLAMA_CPP_GIT_URL" "$src"
    git -C "$src" checkout -q "$COMMIT"
  else
    log "cannot obtain llama.cpp: set LLAMA_CPP_SOURCE_DIR, allow npm, or set LLAMA_CPP_GIT_URL"
    exit 1
  fi
  touch "$src/.ember-ok"
}

fetch_from_npm() {
  local src=$1 tmp status=0
  tmp=$(mktemp -d)
  fetch_bundle "$src" "$tmp" || status=$?
  rm -rf "$tmp"
  return "$status"
}

fetch_bundle() {
  local src=$1 tmp=$2
  log "fetching $NPM_PACKAGE"
  (cd "$tmp" && npm pack --silent "$NPM_PACKAGE" >/dev/null 2>&1) || { log "npm pack failed"; return 1; }
  local tgz=("$tmp"/node-llama-cpp-*.tgz)
  local got="sha512-$(openssl dgst -sha512 -binary "${tgz[0]}" | base64 -w0)"
  if [ "$got" != "$NPM_INTEGRITY" ]; then
    log "integrity mismatch for $NPM_PACKAGE: $got"; return 1
  fi
  tar -xzf "${tgz[0]}" -C "$tmp" package/llama/gitRelease.bundle
  git clone -q "$tmp/package/llama/gitRelease.bundle" "$src" 2>/dev/null
  local head
  head=$(git -C "$src" rev-parse HEAD)
  if [ "$head" != "$COMMIT" ]; then
    log "bundle is at $head, expected $COMMIT"; rm -rf "$src"; return 1
  fi
}

configure() {
  [ -f "$dir/build/build.ninja" ] && return 0
  log "configuring in $dir/build"
  cmake -S "$dir/src" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_CURL=OFF -DGGML_NATIVE=ON "${ggml_opts[@]+"${ggml_opts[@]}"}" >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log" >&2; exit 1; }
}

build() {
  mkdir -p "$dir"
  # One build at a time per cache entry (tests and benchmarks may ask at once).
  exec 9>"$dir/.lock"
  flock 9
  fetch_source
  configure
  log "bringing $* up to date (building them the first time takes several minutes)"
  cmake --build "$dir/build" --target "$@" -j "$(nproc)" >"$dir/build.log" 2>&1 ||
    { tail -40 "$dir/build.log" >&2; exit 1; }
  flock -u 9
}

case "${1:-}" in
  dir) echo "$dir" ;;
  libs) build ggml llama mtmd; echo "$dir" ;;
  server) build ggml llama mtmd llama-server; echo "$dir" ;;
  tools) build ggml llama mtmd llama-bench llama-batched-bench llama-server llama-mtmd-cli; echo "$dir" ;;
  *) echo "usage: $0 dir|libs|server|tools" >&2; exit 2 ;;
esac
