#!/usr/bin/env bash
# Installs what is missing for one use of the repo, and does nothing when
# everything is there already. Says what it needs and what it installs.
#
#   bash test/setup.sh            the tests and benchmarks: every Debian package of
#                                 test/debian-packages.txt, npm ci, and the arm64 cross
#                                 toolchain (bundle/arm64-env.sh)
#   bash test/setup.sh demo       npm run demo: the "demo" part of the list and npm ci
#   bash test/setup.sh demo-tpm   npm run demo -- --tpm: the "demo" and "tpm" parts and npm ci
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-all}" in
  all) parts='demo tpm tests' ;;
  demo) parts='demo' ;;
  demo-tpm) parts='demo tpm' ;;
  *) echo "usage: $0 [demo|demo-tpm]" >&2; exit 64 ;;
esac

# The packages of the named parts ("## NAME" lines start a part).
listed_packages() {
  awk -v parts=" $parts " '
    /^## / { part = $2; next }
    /^[[:space:]]*(#|$)/ { next }
    index(parts, " " part " ") { print $1 }' test/debian-packages.txt
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_debian_packages() {
  local wanted missing='' package
  wanted=$(listed_packages | tr '\n' ' ')
  echo "setup ($parts): Debian packages $wanted" >&2
  for package in $wanted; do installed "$package" || missing+="$package "; done
  [ -n "$missing" ] || return 0
  echo "setup: installing the missing ones: $missing" >&2
  local sudo=''
  [ "$(id -u)" -eq 0 ] || sudo='sudo'
  $sudo apt-get update
  # shellcheck disable=SC2086 # the list is meant to split into words
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing
}

install_npm_packages() {
  # npm ci records the installed tree here; older than the lock file means stale.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup: npm ci" >&2
    npm ci
  fi
}

install_debian_packages
install_npm_packages

# The aarch64 build and its emulated tests (test/integration/image/arm64.test.ts).
if [ "${1:-all}" = all ]; then
  echo "setup: the arm64 cross toolchain, qemu and arm64 Node (bundle/arm64-env.sh)" >&2
  bash bundle/arm64-env.sh >/dev/null
fi
