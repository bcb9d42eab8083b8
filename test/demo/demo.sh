#!/usr/bin/env bash
# The demo: a device key born in a SoftHSM2 token, a throwaway CA that
# certifies it, a local mosquitto that requires client certificates, and
# trustlink publishing and subscribing through it. Everything lives in a
# temporary folder and is removed at the end; every process started here is
# stopped by PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TRUSTLINK="$ROOT/dist/trustlink"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trustlink-demo.XXXXXX")
BROKER_PID=''
SUBSCRIBER_PID=''

cleanup() {
  for pid in $SUBSCRIBER_PID $BROKER_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

step "1. A SoftHSM2 token with an EC P-256 key generated inside it"
"$ROOT/hsm/softhsm.sh" token "$WORK/hsm" demo devkey | tee "$WORK/token.env"
export SOFTHSM2_CONF="$WORK/hsm/softhsm2.conf"
KEY='pkcs11:token=demo;object=devkey;type=private'
MODULE=$(sed -n 's/^TRUSTLINK_PKCS11_MODULE=//p' "$WORK/token.env")

step "2. A throwaway CA certifies the token's public key (the private key stays in the token)"
"$ROOT/hsm/pki.sh" ca "$WORK/pki"
"$ROOT/hsm/pki.sh" server "$WORK/pki" broker
"$ROOT/hsm/softhsm.sh" pubkey "$WORK/hsm" demo devkey "$WORK/devkey.pub.pem"
"$ROOT/hsm/pki.sh" certify "$WORK/pki" "$WORK/devkey.pub.pem" demo-thing "$WORK/device.pem"
openssl x509 -in "$WORK/device.pem" -noout -subject -issuer -enddate

step "3. mosquitto on loopback, requiring client certificates"
PORT=$(free_port)
cat > "$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
cafile $WORK/pki/ca.pem
certfile $WORK/pki/broker.pem
keyfile $WORK/pki/broker.key
require_certificate true
use_identity_as_username true
allow_anonymous false
user $(id -un)
CONF
mosquitto -c "$WORK/mosquitto.conf" 2>"$WORK/mosquitto.log" &
BROKER_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
echo "mosquitto (pid $BROKER_PID) listening on 127.0.0.1:$PORT"

# The connection settings, as a device would keep them in /etc/trustlink/config.json.
cat > "$WORK/config.json" <<JSON
{
  "endpoint": "localhost",
  "port": $PORT,
  "caFile": "$WORK/pki/ca.pem",
  "certFile": "$WORK/device.pem",
  "key": "$KEY",
  "pkcs11Module": "$MODULE",
  "pinFile": "$WORK/hsm/pin",
  "thingName": "demo-thing"
}
JSON
echo "config: $(cat "$WORK/config.json")"

step "4. trustlink subscribe (waits for 3 messages), then trustlink publish (3 messages, QoS 1)"
"$TRUSTLINK" --config "$WORK/config.json" subscribe --client-id demo-subscriber --topic 'demo/#' --count 3 >"$WORK/received.txt" 2>"$WORK/subscriber.log" &
SUBSCRIBER_PID=$!
for _ in $(seq 100); do grep -q '"subscribed"' "$WORK/subscriber.log" 2>/dev/null && break; sleep 0.1; done
"$TRUSTLINK" --config "$WORK/config.json" publish --client-id demo-publisher --topic demo/hello --message 'hello from the token, message {n}' --count 3
wait "$SUBSCRIBER_PID"
SUBSCRIBER_PID=''
echo "the subscriber printed:"
sed 's/^/  /' "$WORK/received.txt"

step "5. The same over MQTT 3.1.1"
"$TRUSTLINK" --config "$WORK/config.json" publish --mqtt 3.1.1 --client-id demo-publisher --topic demo/hello --message 'MQTT 3.1.1 works too'

step "6. A wrong PIN is tried once and reported, never retried"
echo 000000 > "$WORK/wrong-pin"
"$TRUSTLINK" --config "$WORK/config.json" publish --pin-file "$WORK/wrong-pin" --topic demo/hello --message x || echo "(exit status $?)"

step "Done: everything ran on loopback; the demo folder and its processes are removed now."
