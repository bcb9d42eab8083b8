#!/usr/bin/env bash
# Fetches an official Node.js build from the npm registry (the node-linux-<arch>
# package: bin/node and the headers in include/node, which node-gyp takes as
# --nodedir, so an addon builds for it offline) and prints its folder.
# Idempotent: a build fetched before is used as it is.
#
#   bundle/official-node.sh MAJOR|VERSION [x64|arm64]
#
# A major (20, 22, 24) means the exact build pinned below, the one CI tests
# with (docs/node-versions.md); bump the pins here. The folder is
# $TRUSTLINK_NODE_CACHE/<version>-<arch>, by default .tmp/node/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A PINNED=([20]=20.20.2 [22]=22.23.5 [24]=24.22.3)
wanted=${1:?usage: bundle/official-node.sh MAJOR|VERSION [x64|arm64]}
arch=${2:-x64}
version=${PINNED[$wanted]:-$wanted}
case "$arch" in x64 | arm64) ;; *) echo "official-node: no official Linux build for '$arch' is fetched (x64, arm64)" >&2; exit 64 ;; esac
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "official-node: '$wanted' is neither a pinned major (${!PINNED[*]}) nor an exact version" >&2; exit 64; }

cache=${TRUSTLINK_NODE_CACHE:-$PWD/.tmp/node}
dir=$cache/$version-$arch
if [ ! -x "$dir/bin/node" ] || [ ! -f "$dir/include/node/node_api.h" ]; then
  echo "official-node: unpacking node-linux-$arch@$version" >&2
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/.unpack.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  # npm pack checks the tarball against the registry's integrity hash.
  (cd "$work" && npm pack --silent "node-linux-$arch@$version" >/dev/null && tar -xzf ./*.tgz)
  rm -rf "$dir"
  mv "$work/package" "$dir"
fi
echo "$dir"
