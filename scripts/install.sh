#!/usr/bin/env bash
# Installs what kvpack needs on a fresh Debian 12 + Node 20 machine; only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive ONNXRUNTIME_NODE_INSTALL=skip ORT_DISABLE_TELEMETRY=1 TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

system_packages=(chromium redis-server libvulkan1 libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)
missing=()
for package in "${system_packages[@]}"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# pnpm 10 pinned: plain `npm i -g pnpm` gives 12.x, which needs Node 22 and breaks here.
if [[ "$(pnpm --version 2>/dev/null || true)" != "10.34.8" ]]; then npm i -g pnpm@10.34.8; fi

if [ "${CI:-}" = "true" ]; then pnpm install --frozen-lockfile; else pnpm install; fi
