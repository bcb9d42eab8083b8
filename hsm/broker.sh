#!/usr/bin/env bash
# A local mosquitto that requires client certificates from the test PKI of
# hsm/pki.sh (DIR/ca.pem, and DIR/broker.pem + DIR/broker.key from
# `hsm/pki.sh server DIR broker`), for the quick start and the demo.
#
#   hsm/broker.sh conf DIR [PORT]   prints the mosquitto config (127.0.0.1:PORT, default 8883)
#   hsm/broker.sh run DIR [PORT]    writes it to DIR/mosquitto.conf and runs mosquitto
#                                   in the foreground; Ctrl-C (or SIGTERM) stops it
set -euo pipefail

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }

conf() {
  local dir=$1 port=$2 file
  [ -d "$dir" ] && dir=$(cd "$dir" && pwd)
  for file in ca.pem broker.pem broker.key; do
    [ -r "$dir/$file" ] || { echo "broker.sh: $dir/$file is missing (hsm/pki.sh ca $1 && hsm/pki.sh server $1 broker)" >&2; exit 66; }
  done
  # The device's certificate CN becomes its MQTT username; nobody gets in without one.
  # mosquitto started as root would drop to the mosquitto user, who may not reach DIR.
  cat <<CONF
listener $port 127.0.0.1
cafile $dir/ca.pem
certfile $dir/broker.pem
keyfile $dir/broker.key
require_certificate true
use_identity_as_username true
allow_anonymous false
user $(id -un)
CONF
}

[ $# -ge 2 ] || usage
case "$1" in
  conf) conf "$2" "${3:-8883}" ;;
  run)
    conf "$2" "${3:-8883}" > "$2/mosquitto.conf"
    echo "broker.sh: mosquitto on 127.0.0.1:${3:-8883}, client certificates from $2/ca.pem required" >&2
    exec mosquitto -c "$2/mosquitto.conf" ;;
  *) usage ;;
esac
