#!/usr/bin/env bash
# npm run demo [-- --tpm]: installs what is missing, builds dist/, runs the
# token + mosquitto demo (on SoftHSM2, or the TPM simulator with --tpm), then
# the walk through every AWS IoT connection mode against the local stand-in.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/setup.sh
node bundle/build.mjs
bash test/demo/demo.sh "$@"
npm run -s demo:modes
