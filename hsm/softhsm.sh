#!/usr/bin/env bash
# Makes a SoftHSM2 token in a folder of its own, with a key pair generated
# inside the token, for tests, the demo and developers by hand.
#
#   hsm/softhsm.sh token DIR LABEL [KEYLABEL] [KEYTYPE]
#       DIR/softhsm2.conf, a token LABEL whose user PIN is read from DIR/pin
#       (made with a random PIN when missing), and a key pair KEYLABEL
#       (default devkey, id 01) of KEYTYPE (default EC:prime256v1; or rsa:2048).
#   hsm/softhsm.sh pubkey DIR LABEL KEYLABEL OUT.pem
#       the public half of KEYLABEL, for a test CA to certify.
#
# Use the token with SOFTHSM2_CONF=DIR/softhsm2.conf. The PINs of test tokens
# pass through pkcs11-tool's argv: test tooling only.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }

module_path() {
  local candidate
  for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so; do
    [ -e "$candidate" ] && { echo "$candidate"; return; }
  done
  echo "softhsm.sh: libsofthsm2.so not found (apt-get install softhsm2)" >&2
  exit 69
}

make_token() {
  local dir=$1 label=$2 keylabel=${3:-devkey} keytype=${4:-EC:prime256v1}
  mkdir -p "$dir/tokens"
  cat > "$dir/softhsm2.conf" <<CONF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
  export SOFTHSM2_CONF=$dir/softhsm2.conf
  if [ ! -s "$dir/pin" ]; then
    (umask 077; od -An -N4 -tu4 /dev/urandom | tr -d ' \n' > "$dir/pin")
  fi
  local pin so_pin
  pin=$(cat "$dir/pin")
  so_pin=$(od -An -N4 -tu4 /dev/urandom | tr -d ' \n')
  softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$so_pin" >/dev/null
  pkcs11-tool --module "$(module_path)" --token-label "$label" --login --pin "$pin" \
    --keypairgen --key-type "$keytype" --label "$keylabel" --id 01 >/dev/null
  echo "SOFTHSM2_CONF=$dir/softhsm2.conf"
  echo "TRUSTLINK_PKCS11_MODULE=$(module_path)"
  echo "TRUSTLINK_PIN_FILE=$dir/pin"
  echo "TRUSTLINK_KEY=pkcs11:token=$label;object=$keylabel;type=private"
}

export_pubkey() {
  local dir=$1 label=$2 keylabel=$3 out=$4
  export SOFTHSM2_CONF=$dir/softhsm2.conf
  pkcs11-tool --module "$(module_path)" --token-label "$label" --read-object --type pubkey \
    --label "$keylabel" -o "$out.der" >/dev/null
  openssl pkey -pubin -inform DER -in "$out.der" -out "$out"
  rm -f "$out.der"
}

case "${1:-}" in
  token) [ $# -ge 3 ] || usage; make_token "$2" "$3" "${4:-devkey}" "${5:-EC:prime256v1}" ;;
  pubkey) [ $# -eq 5 ] || usage; export_pubkey "$2" "$3" "$4" "$5" ;;
  *) usage ;;
esac
