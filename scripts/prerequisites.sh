#!/usr/bin/env bash
# Installs what the demo and the tests need beyond npm dependencies:
#   - Debian packages: OpenSSH (the server under test and the reference client), Chromium (drives
#     VS Code), libkrb5-dev and ripgrep (code-server's native build and its search binary),
#     inotify-tools (the test server's inotifywait, for the fast watch mode), fish, tcsh and zsh
#     (login shells of test accounts: remote commands must work whatever the account's shell is), sudo
#     (files opened as root: test accounts with sudoers rules), git (the test server's git, for Source
#     Control over SSH);
#   - code-server (a real VS Code) into .cache/code-server, outside the project's node_modules.
# As root it installs them; otherwise it says what to install and stops.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
code_server_dir="$root_dir/.cache/code-server"

want_packages=(openssh-server openssh-client chromium libkrb5-dev ripgrep inotify-tools fish tcsh zsh sudo git)
want_commands=(/usr/sbin/sshd /usr/bin/sftp /usr/bin/chromium /usr/bin/krb5-config /usr/bin/rg /usr/bin/inotifywait /usr/bin/fish /usr/bin/tcsh /usr/bin/zsh /usr/sbin/visudo /usr/bin/git)

missing=()
for i in "${!want_packages[@]}"; do
  [ -x "${want_commands[$i]}" ] || missing+=("${want_packages[$i]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "prerequisites: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "prerequisites: missing Debian packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x "$code_server_dir/node_modules/.bin/code-server" ]; then
  echo "prerequisites: installing code-server $CODE_SERVER_VERSION into .cache/code-server (about a minute)"
  mkdir -p "$code_server_dir"
  # code-server's ripgrep dependency downloads a binary from GitHub on install; the registry is all
  # we can reach, so its cache is seeded with Debian's rg.
  rg_cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$rg_cache"
  tar -czf "$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C /usr/bin rg
  [ -f "$code_server_dir/package.json" ] || echo '{ "private": true }' >"$code_server_dir/package.json"
  # npm_config_yes: the machine's npmrc says yes=false, which breaks node-pty's `npx node-gyp`.
  (cd "$code_server_dir" && npm_config_yes=true npm install --no-audit --no-fund --unsafe-perm \
    --foreground-scripts=false "code-server@$CODE_SERVER_VERSION" >install.log 2>&1) || {
    echo "prerequisites: code-server failed to install; see $code_server_dir/install.log" >&2
    tail -20 "$code_server_dir/install.log" >&2
    exit 1
  }
fi
echo "prerequisites: ready (OpenSSH $(/usr/sbin/sshd -V 2>&1 | head -1 | cut -d, -f1), code-server $CODE_SERVER_VERSION, $(/usr/bin/chromium --version 2>/dev/null | head -1))"
