#!/usr/bin/env bash
# npm run demo: installs what is missing, packages the extension, then starts the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent package:vsix >/dev/null
npm run --silent build:tests
exec node out/scripts/demo.js
