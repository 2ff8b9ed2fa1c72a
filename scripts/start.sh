#!/usr/bin/env bash
# The main job: installs what is missing, builds, then serves the OpenAI-compatible server and the
# web playground on the embedded default model (stories260K). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 ORT_DISABLE_TELEMETRY=1
pnpm turbo run build

SERVER_PORT=${KVPACK_SERVER_PORT:-8080}
PLAYGROUND_PORT=${KVPACK_PLAYGROUND_PORT:-5173}
node apps/server/dist/main.js --host 127.0.0.1 --port "$SERVER_PORT" &
SERVER_PID=$!
(cd apps/playground && exec node ./node_modules/vite/bin/vite.js preview --host 127.0.0.1 --port "$PLAYGROUND_PORT" --strictPort) &
PLAYGROUND_PID=$!
stop() { kill "$SERVER_PID" "$PLAYGROUND_PID" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM
echo "kvpack server:     http://127.0.0.1:$SERVER_PORT/v1/models"
echo "kvpack playground: http://127.0.0.1:$PLAYGROUND_PORT/"
wait -n "$SERVER_PID" "$PLAYGROUND_PID"
