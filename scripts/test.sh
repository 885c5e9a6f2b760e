#!/usr/bin/env bash
# npm test: every tier this machine can run, installing what it needs first.
#   static   type check, lint, format check
#   unit     pure logic under node:test, no sockets
#   integration   the core against a real OpenSSH sshd started on 127.0.0.1
#   vscode   a real VS Code (code-server) in Chromium: a suite in the extension host and a UI story
# Nothing is skipped silently: a tier that cannot run fails the command.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/prerequisites.sh
bash scripts/other-servers.sh # ProFTPD and Dropbear: the server matrix of the integration tier
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
summary=()
total_pass=0
total_fail=0

# Runs one tier, shows its output, and reads its counts from the runner's closing lines.
tier() {
  local name=$1
  shift
  echo
  echo "=== $name"
  local status=0
  "$@" 2>&1 | tee "$logs/$name.log" || status=$?
  local pass fail
  # node:test ends with "# pass N" / "# fail N"; our other runners end with "<tier>: N passed, N failed".
  read -r pass fail < <(awk '
    /^# pass [0-9]+$/ { p += $3 }
    /^# fail [0-9]+$/ { f += $3 }
    /^[a-z]+: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
    END { print p + 0, f + 0 }' "$logs/$name.log")
  if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1
  fi
  if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
    echo "$name ran no test" >&2
    fail=1
  fi
  summary+=("$(printf '%-12s %4d passed, %d failed' "$name" "$pass" "$fail")")
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
}

static_checks() {
  npm run --silent check-types && npm run --silent lint && npm run --silent format:check
  echo "static: 3 passed, 0 failed"
}

npm run --silent build:tests
tier static static_checks
tier unit node --test --test-timeout=60000 out/test/unit/
# One file at a time, whatever the machine: several tests measure time or load the server on purpose.
tier integration node --test --test-concurrency=1 --test-timeout=180000 out/test/integration/
# The transfer paths again as the .vsix runs them: ssh2 without its native addon, so that AES-GCM goes
# through Node's crypto and the extension's own packet sealing and reused receive buffer are used.
tier no-addon env NODE_OPTIONS="--require $PWD/out/test/support/withoutNativeAddon.js" \
  node --test --test-concurrency=1 --test-timeout=180000 \
  out/test/integration/{sealedTransfers,readWrite,striping,faults,diskFull,hostileServer,sudo}.test.js
npm run --silent package:vsix >/dev/null
tier vscode node out/test/vscode/runCodeServer.js

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "total: $total_pass passed, $total_fail failed"
# The reliability tests count what they did (faults injected, hostile replies, load): shown here too.
grep -hE '^# (fault|hostile|fuzz|load) (summary|outcomes):' "$logs/integration.log" "$logs/no-addon.log" | sed 's/^# //' || true
[ "$total_fail" -eq 0 ]
