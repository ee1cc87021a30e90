#!/usr/bin/env bash
# Installs the Debian 12 packages ember needs to build, test and benchmark.
# Idempotent: installs only what is missing, so repeated runs cost a dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libcmocka-dev                   # unit tests
  libjansson-dev                  # JSON
  libedit-dev                     # ember run line editing
  libcurl4-openssl-dev            # web_fetch, remote backends, pull
  libmicrohttpd-dev               # ember serve
  libsqlite3-dev                  # server store
  libpq-dev postgresql            # server store on PostgreSQL (--db postgresql://…); its tests
  libgmp-dev libmpfr-dev          # calculator tool
  libpng-dev                      # crops, drawn boxes
  libplplot-dev plplot-driver-cairo  # ember eval's plots (PNG through cairo)
  bubblewrap python3              # python tool sandbox
  clang libclang-rt-14-dev        # fuzz targets (libFuzzer)
)

missing=()
# npm pack fetches the pinned llama.cpp bundle; keep a Node.js that is already there.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# src/pull: SHA-256 (and git blob SHA-1) of downloaded models come from nettle.
pull_packages=(nettle-dev)
pull_missing=()
for p in "${pull_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || pull_missing+=("$p")
done
if ((${#pull_missing[@]})); then
  echo "install-deps: installing ${pull_missing[*]}" >&2
  pull_sudo=()
  [ "$(id -u)" -eq 0 ] || pull_sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${pull_sudo[@]}" apt-get install -y -q --no-install-recommends "${pull_missing[@]}" ||
    { "${pull_sudo[@]}" apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive "${pull_sudo[@]}" apt-get install -y -q --no-install-recommends "${pull_missing[@]}"; }
fi

# npm packages (package.json and package-lock.json at the repository root, pinned): the web
# app's libraries and its bundler (esbuild, run by the CMake build), the official `openai`
# client that drives ember serve's tests, and playwright-core that drives Chromium in the web
# app's tests. Idempotent: npm ci runs only when node_modules is missing a package or is older
# than the lock file; without it the web app is not built and the Node tests are skipped.
serve_root="$(cd "$(dirname "$0")/.." && pwd)"
if command -v npm >/dev/null 2>&1 && [ -f "$serve_root/package-lock.json" ]; then
  stale=0
  for pkg in openai esbuild playwright-core marked dompurify highlight.js katex; do
    [ -f "$serve_root/node_modules/$pkg/package.json" ] || stale=1
  done
  [ "$serve_root/package-lock.json" -nt "$serve_root/node_modules/.package-lock.json" ] && stale=1
  if ((stale)); then
    (cd "$serve_root" && npm ci --no-audit --no-fund --loglevel=error) ||
      echo "install-deps: npm ci failed; the web app will not be built and the Node tests will be skipped" >&2
  fi
fi

# Installs the Debian packages named that are missing (apt-get update only if the first try fails).
install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "install-deps: installing ${missing[*]}" >&2
  local as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { "${as_root[@]}" apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; }
}

# The web app's browser tests: Debian's Chromium, driven headless by playwright-core.
install_missing chromium

# src/vision: image decoders (libpng is above): JPEG, WebP (with libwebpdemux), GIF.
vision_packages=(libjpeg-dev libwebp-dev libgif-dev)
vision_missing=()
for p in "${vision_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || vision_missing+=("$p")
done
if ((${#vision_missing[@]})); then
  echo "install-deps: installing ${vision_missing[*]}" >&2
  vision_sudo=()
  [ "$(id -u)" -eq 0 ] || vision_sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${vision_sudo[@]}" apt-get install -y -q --no-install-recommends "${vision_missing[@]}" ||
    { "${vision_sudo[@]}" apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive "${vision_sudo[@]}" apt-get install -y -q --no-install-recommends "${vision_missing[@]}"; }
fi
