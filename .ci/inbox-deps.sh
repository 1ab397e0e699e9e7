#!/usr/bin/env bash
# Install what the inbox-quality tests need (tests/test_inbox.py, markers `inbox` and
# `browser`): SpamAssassin, headless Chromium with fonts, openssl (test keys and certificates), and the node tools in tools/
# (html-validate, caniemail) from tools/package-lock.json. Safe to run again: it installs
# only what is missing. Needs Debian (apt) and Node >= 20.19 with npm.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

missing=()
for pkg in spamassassin spamc chromium fonts-dejavu-core fonts-liberation openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "inbox-deps: installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# caniemail 1.x declares node >= 20.19; 2.x needs node 22 (tools/package.json pins ^1).
if ! command -v node >/dev/null 2>&1 || ! node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major > 20 || (major === 20 && minor >= 19) ? 0 : 1);'; then
  echo "inbox-deps: Node >= 20.19 with npm is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

(cd tools && npm ci --no-audit --no-fund)
echo "inbox-deps: ready (spamassassin $(spamassassin --version | head -1 | awk '{print $3}'), $(chromium --version 2>/dev/null | head -1))"
