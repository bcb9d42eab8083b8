#!/usr/bin/env bash
# Prepares this x86-64 Debian 12 machine to build and run the aarch64 artifact:
# the cross compiler, qemu user-mode emulation, the arm64 C/C++/OpenSSL
# runtime (multiarch), an official arm64 Node 22 (bundle/official-node.sh,
# from the npm registry, headers included) and Debian's arm64 SoftHSM2
# module (unpacked, since it cannot be co-installed with the x86-64 one).
# Idempotent: does nothing that is done already. Prints KEY=VALUE lines.
#
# Debian packages: qemu-user-static crossbuild-essential-arm64
#                  libc6:arm64 libstdc++6:arm64 libssl3:arm64
#                  libsofthsm2:arm64 (downloaded and unpacked, not installed)
# Never installs Debian's nodejs:arm64: it would replace the host's Node.
set -euo pipefail
cd "$(dirname "$0")/.."

cache=${TRUSTLINK_ARM64_CACHE:-$PWD/.tmp/arm64}
sudo=''
[ "$(id -u)" -eq 0 ] || sudo='sudo'

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_debian_packages() {
  local wanted=(qemu-user-static crossbuild-essential-arm64 libc6:arm64 libstdc++6:arm64 libssl3:arm64) missing=() package
  dpkg --print-foreign-architectures | grep -qx arm64 || { $sudo dpkg --add-architecture arm64; $sudo apt-get update; }
  for package in "${wanted[@]}"; do installed "$package" || missing+=("$package"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "arm64-env: installing ${missing[*]}" >&2
  $sudo apt-get update >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

unpack_softhsm() {
  [ -f "$cache/softhsm/usr/lib/softhsm/libsofthsm2.so" ] && return 0
  echo "arm64-env: unpacking libsofthsm2:arm64" >&2
  rm -rf "$cache/softhsm" "$cache/deb"
  mkdir -p "$cache/deb"
  # apt-get download writes as the _apt user when it can; a fresh folder it may write to.
  chmod 777 "$cache/deb"
  (cd "$cache/deb" && apt-get download libsofthsm2:arm64 >&2)
  dpkg -x "$cache"/deb/libsofthsm2_*_arm64.deb "$cache/softhsm"
  rm -rf "$cache/deb"
}

install_debian_packages
mkdir -p "$cache"
node_dir=$(TRUSTLINK_NODE_CACHE=$cache bash bundle/official-node.sh 22 arm64)
unpack_softhsm
echo "ARM64_NODE=$node_dir/bin/node"
echo "ARM64_NODE_DIR=$node_dir"
echo "ARM64_SOFTHSM_MODULE=$cache/softhsm/usr/lib/softhsm/libsofthsm2.so"
echo "ARM64_QEMU=$(command -v qemu-aarch64-static)"
