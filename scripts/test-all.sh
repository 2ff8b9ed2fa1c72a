#!/usr/bin/env bash
# Runs every test of the monorepo: installs what is missing, builds, starts Redis, runs the
# vitest suites and the browser end-to-end suites, then prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 ORT_DISABLE_TELEMETRY=1 ONNXRUNTIME_NODE_INSTALL=skip

RUN_DIR=$(mktemp -d); chmod 700 "$RUN_DIR"
export XDG_RUNTIME_DIR="$RUN_DIR"
export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
export CHROMIUM_PATH=/usr/bin/chromium
REDIS_PORT=${KVPACK_REDIS_PORT:-16379}
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$RUN_DIR" >"$RUN_DIR/redis.log" 2>&1 &
REDIS_PID=$!
cleanup() { kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; rm -rf "$RUN_DIR"; }
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

find packages apps tools -maxdepth 2 \( -name .vitest-result.json -o -name .e2e-result.json \) -delete 2>/dev/null || true
status=0
pnpm turbo run build || status=$?
if [ "$status" = 0 ]; then
  pnpm turbo run test --concurrency=2 --continue || status=$?
fi
node scripts/test-summary.mjs || status=$?
exit "$status"
