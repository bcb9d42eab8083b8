#!/usr/bin/env bash
# npm run demo [-- --tpm]: installs what the demo runs and is missing (SoftHSM2,
# OpenSC, openssl, mosquitto, node-gyp's compiler, npm ci; with --tpm also the
# TPM 2.0 simulator stack: test/debian-packages.txt), builds dist/, runs the
# token + mosquitto demo (on SoftHSM2, or the TPM simulator with --tpm), then
# the walk through every AWS IoT connection mode against the local stand-in.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = --tpm ]; then bash test/setup.sh demo-tpm; else bash test/setup.sh demo; fi
node bundle/build.mjs
bash test/demo/demo.sh "$@"
npm run -s demo:modes
