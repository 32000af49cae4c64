#!/usr/bin/env bash
# Installs the Debian packages Chorus needs, once. Idempotent: packages already
# present are skipped, so a second run costs a few dpkg queries.
#
#   worker build : compilers + the system libraries the mediasoup worker links
#                  (scripts/mediasoup-worker.mjs builds against them, offline)
#   run time     : the same shared libraries (the worker is linked dynamically)
#   tests        : chromium (end-to-end), sox (fake microphone tones),
#                  opus-tools (pre-encoded Opus for Node peers), postgresql,
#                  prometheus (evaluates every dashboard query against a real server),
#                  redis-server (cluster tests start their own Redis on a free port)
#
# Usage: scripts/install-system-deps.sh [runtime|all]   (default: all)
set -euo pipefail

mode=${1:-all}
build_pkgs=(build-essential python3 pkg-config ninja-build libuv1-dev libssl-dev libsrtp2-dev
  libabsl-dev libflatbuffers-dev flatbuffers-compiler libusrsctp-dev)
test_pkgs=(chromium fonts-liberation sox opus-tools postgresql prometheus redis-server)

missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# meson >= 1.1 is required by the worker; bookworm ships 1.0.1, bookworm-backports 1.7.
meson_ok() {
  command -v meson >/dev/null 2>&1 || return 1
  local v; v=$(meson --version)
  [ "$(printf '%s\n1.1.0\n' "$v" | sort -V | head -n1)" = "1.1.0" ]
}

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

pkgs=("${build_pkgs[@]}")
[ "$mode" = all ] && pkgs+=("${test_pkgs[@]}")
need=($(missing "${pkgs[@]}"))
need_meson=0
meson_ok || need_meson=1

if [ ${#need[@]} -eq 0 ] && [ $need_meson -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [ ${#need[@]} -gt 0 ]; then
  echo "system packages: installing ${need[*]}"
  sudo_ apt-get update -qq
  sudo_ apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if [ $need_meson -eq 1 ]; then
  # A private sources list for backports: the system's apt configuration stays untouched.
  . /etc/os-release
  state=$(mktemp -d)
  echo "deb http://deb.debian.org/debian ${VERSION_CODENAME}-backports main" >"$state/sources.list"
  mkdir -p "$state/lists/partial"
  opts=(-o Dir::Etc::sourcelist="$state/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$state/lists")
  echo "system packages: installing meson from ${VERSION_CODENAME}-backports"
  sudo_ apt-get "${opts[@]}" update -qq
  sudo_ apt-get "${opts[@]}" install -y -qq --no-install-recommends -t "${VERSION_CODENAME}-backports" meson
  rm -rf "$state"
fi
meson_ok || { echo "meson >= 1.1.0 is required to build the mediasoup worker" >&2; exit 1; }
