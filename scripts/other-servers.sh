#!/usr/bin/env bash
# Installs the SFTP servers other than OpenSSH's that the tests in test/integration/otherServers.test.ts
# run against (their fixtures are test/support/proftpd.ts and test/support/dropbear.ts):
#   - proftpd-core + proftpd-mod-crypto: ProFTPD with mod_sftp;
#   - dropbear-bin: Dropbear's binaries only (not the `dropbear` package, which adds a system service);
#   - openssh-sftp-server: /usr/lib/sftp-server, the SFTP subsystem Dropbear runs.
# The fixtures start their own servers on 127.0.0.1; no system service is wanted. Debian starts daemons
# on install, so the install runs under a policy-rc.d that forbids it, and a system proftpd that runs
# anyway is stopped and disabled.
# As root it installs them; otherwise it says what to install and stops. Quick when all is there.
set -euo pipefail

want_packages=(proftpd-core proftpd-mod-crypto dropbear-bin openssh-sftp-server)
want_files=(/usr/sbin/proftpd /usr/lib/proftpd/mod_sftp.so /usr/sbin/dropbear /usr/lib/sftp-server)

missing=()
installed_proftpd=
for i in "${!want_packages[@]}"; do
  [ -e "${want_files[$i]}" ] || missing+=("${want_packages[$i]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "other-servers: missing Debian packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "  or run this script as root (it keeps the install from starting a proftpd service)" >&2
    exit 1
  fi
  echo "other-servers: installing ${missing[*]}"
  case " ${missing[*]} " in *" proftpd-core "*) installed_proftpd=1 ;; esac
  policy=/usr/sbin/policy-rc.d
  added_policy=
  if [ ! -e "$policy" ]; then
    # "exit 101": invoke-rc.d starts no service while packages are installed.
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
  fi
  remove_policy() {
    if [ -n "$added_policy" ]; then
      rm -f "$policy"
    fi
  }
  trap remove_policy EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  remove_policy
  trap - EXIT
fi

# Debian's proftpd-core enables a system service on port 21. Should the install have started it anyway
# (no policy-rc.d honoured), stop it and keep it from starting at boot: our fixtures run their own
# instances. A proftpd that was there before this script ran is left alone.
if [ -n "$installed_proftpd" ]; then
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now proftpd >/dev/null 2>&1 || true
  elif [ -f /run/proftpd.pid ] && kill -0 "$(cat /run/proftpd.pid)" 2>/dev/null; then
    echo "other-servers: stopping the proftpd service the install started (pid $(cat /run/proftpd.pid))"
    invoke-rc.d --force proftpd stop >/dev/null 2>&1 || kill "$(cat /run/proftpd.pid)" || true
  fi
  if command -v update-rc.d >/dev/null 2>&1 && [ -e /etc/init.d/proftpd ]; then
    update-rc.d proftpd disable >/dev/null 2>&1 || true
  fi
fi

echo "other-servers: ready ($(/usr/sbin/proftpd -v 2>&1 | head -1), $(/usr/sbin/dropbear -V 2>&1 | head -1))"
