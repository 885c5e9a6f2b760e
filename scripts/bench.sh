#!/usr/bin/env bash
# npm run bench [-- --quick] [-- --only=...] [-- --profile]: installs what is missing, builds, then runs
# the benchmark (bench/run.ts says what each option does).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh >/dev/null
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build:tests
# The in-editor tier installs the packaged extension, as a user gets it.
npm run --silent package:vsix >/dev/null
# --experimental-websocket: Node 20's WebSocket, for the CDP client of --profile.
exec node --expose-gc --experimental-websocket out/bench/run.js "$@"
