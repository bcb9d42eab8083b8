#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmarks need and is missing:
# Debian packages (test/debian-packages.txt) and the npm dependencies.
# Does nothing when everything is there already.
set -euo pipefail
cd "$(dirname "$0")/.."

missing_packages() {
  local package
  grep -v '^\s*#' test/debian-packages.txt | while read -r package; do
    [ -n "$package" ] || continue
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || echo "$package"
  done
}

install_debian_packages() {
  local missing
  missing=$(missing_packages | tr '\n' ' ')
  [ -n "${missing// /}" ] || return 0
  echo "setup: installing Debian packages: $missing" >&2
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
bash bundle/arm64-env.sh >/dev/null
