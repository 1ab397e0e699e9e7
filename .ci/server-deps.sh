#!/usr/bin/env bash
# Install the servers that the tests start themselves (tests/support: PostgreSQL, Dovecot IMAP
# and POP3) and openssl for their certificates. Nothing is started here and no system config
# is used: each test run makes its own throwaway servers in temp folders. Safe to run again:
# it installs only what is missing. Needs Debian (apt).
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for pkg in postgresql dovecot-imapd dovecot-pop3d openssl; do
  installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "server-deps: installing ${missing[*]}"
  # The tests never use a system cluster: ask postgresql-common not to make one (this file
  # is read when the package creates its first cluster; ours is kept over the package's).
  if ! installed postgresql-common; then
    $SUDO mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  # Nor start system services (postgres on 5432, dovecot on 143/993...): a policy-rc.d that
  # says "no", unless one exists already (Docker images ship one).
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# What the fixtures run: fail here, loudly, rather than in the middle of the tests.
initdb=$(ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$initdb" ] || [ ! -x "$(dirname "$initdb")/postgres" ]; then
  echo "server-deps: no PostgreSQL server under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
for prog in /usr/sbin/dovecot /usr/lib/dovecot/imap /usr/lib/dovecot/pop3 /usr/bin/openssl; do
  if [ ! -x "$prog" ]; then
    echo "server-deps: $prog is missing" >&2
    exit 1
  fi
done
if ! id postgres >/dev/null 2>&1 || ! id dovecot >/dev/null 2>&1 || ! id dovenull >/dev/null 2>&1; then
  echo "server-deps: the postgres, dovecot and dovenull system users are required" >&2
  exit 1
fi
echo "server-deps: ready ($("$(dirname "$initdb")/postgres" --version), dovecot $(/usr/sbin/dovecot --version | awk '{print $1}'))"
