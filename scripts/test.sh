#!/usr/bin/env bash
# Runs every test of ember on a fresh Debian 12 machine: installs the Debian packages, builds
# the pinned llama.cpp into its cache (once per machine), then builds and tests ember twice:
# a release build, and a debug build with AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh            both builds
#   scripts/test.sh release    one preset (release | asan)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/llama-cpp.sh libs >/dev/null

presets=("$@")
((${#presets[@]})) || presets=(release asan)
jobs=$(nproc)
for preset in "${presets[@]}"; do
  echo "== $preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: test"
  ctest --preset "$preset" -j "$jobs"
done
