#!/usr/bin/env bash
# Run the Socket.io tutorial server (benchmark peer).
# Usage: bash bench/peers/socketio/run.sh [PORT]   (default PORT 3000; works from any cwd)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
export PORT="${1:-${PORT:-3000}}"
exec node server.js
