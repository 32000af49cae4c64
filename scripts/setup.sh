#!/usr/bin/env bash
# Installs everything Chorus needs, from nothing, on Debian 12 with Node >= 20.19:
#   npm run setup        system packages, npm packages, the mediasoup worker, the web client
#   npm run setup:test   the same, plus what the tests need (Chromium, sox, opus-tools, PostgreSQL)
# Each step is skipped when already done, so running it again costs seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-runtime}
case "$mode" in runtime|test) ;; *) echo "usage: $0 [runtime|test]" >&2; exit 2;; esac
step() { printf '\n== %s\n' "$*"; }
started=$(date +%s)

step "system packages"
bash scripts/install-system-deps.sh "$([ "$mode" = test ] && echo all || echo runtime)"

step "npm packages"
stamp=node_modules/.chorus-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "npm packages: up to date"
else
  # mediasoup's own postinstall would download a prebuilt worker or build one
  # with pip and meson downloads; scripts/mediasoup-worker.mjs does both jobs
  # (and the offline build) instead, so its postinstall is told to skip.
  MEDIASOUP_WORKER_BIN=skip npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi

step "mediasoup worker"
node scripts/mediasoup-worker.mjs

step "web client"
npm run --silent build:web

echo
echo "setup done in $(( $(date +%s) - started )) s"
