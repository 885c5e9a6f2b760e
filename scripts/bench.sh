#!/usr/bin/env bash
# npm run bench [-- --quick]: installs what is missing, builds, then runs the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prerequisites.sh >/dev/null
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build:tests
exec node --expose-gc out/bench/run.js "$@"
