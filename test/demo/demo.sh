#!/usr/bin/env bash
# The demo: a device key born in a SoftHSM2 token (or, with --tpm, in a TPM
# 2.0 simulator), a CSR signed inside the token, a throwaway CA that
# certifies it, a local mosquitto that requires client certificates, and
# trustlink publishing and subscribing through it. Everything lives in a
# temporary folder and is removed at the end; every process started here is
# stopped by PID.
#
#   test/demo/demo.sh [--tpm]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TRUSTLINK="$ROOT/dist/trustlink"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/trustlink-demo.XXXXXX")
BROKER_PID=''
SUBSCRIBER_PID=''

TOKEN_KIND=softhsm
case "${1:-}" in
  '') ;;
  --tpm) TOKEN_KIND=tpm ;;
  *) echo "usage: $0 [--tpm]" >&2; exit 64 ;;
esac

cleanup() {
  for pid in $SUBSCRIBER_PID $BROKER_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$TOKEN_KIND" = tpm ] && "$ROOT/hsm/tpm.sh" stop "$WORK/tpm" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# swtpm needs PORT and PORT+1: ask for a port whose neighbour is free too.
free_port_pair() {
  node -e '
    const net = require("net");
    const listen = (port) => new Promise((ok, fail) => { const s = net.createServer().once("error", fail).listen(port, "127.0.0.1", () => ok(s)); });
    (async () => {
      for (let i = 0; i < 50; i++) {
        const first = await listen(0);
        const port = first.address().port;
        const second = await listen(port + 1).catch(() => null);
        first.close(); second?.close();
        if (second) return console.log(port);
      }
      process.exit(1);
    })();'
}

# Throwaway PINs: softhsm2-util and tpm2_ptool take them only in argv, so this is demo tooling only.
random_pin() { od -An -N4 -tu4 /dev/urandom | tr -d ' \n'; }

if [ "$TOKEN_KIND" = tpm ]; then
  step "1. A TPM 2.0 simulator (swtpm + tpm2-abrmd + tpm2-pkcs11) with a token"
  TPM_PORT=$(free_port_pair)
  "$ROOT/hsm/tpm.sh" start "$WORK/tpm" "$TPM_PORT" | tee "$WORK/token.env"
  set -a; . "$WORK/tpm/env"; set +a
  (umask 077; random_pin > "$WORK/pin")
  "$ROOT/hsm/tpm.sh" token "$WORK/tpm" demo "$(cat "$WORK/pin")" "$(random_pin)"
  MODULE=$TRUSTLINK_PKCS11_MODULE
else
  step "1. A SoftHSM2 token"
  mkdir -p "$WORK/hsm/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK/hsm/tokens" > "$WORK/hsm/softhsm2.conf"
  export SOFTHSM2_CONF="$WORK/hsm/softhsm2.conf"
  (umask 077; random_pin > "$WORK/pin")
  softhsm2-util --init-token --free --label demo --pin "$(cat "$WORK/pin")" --so-pin "$(random_pin)"
  MODULE=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -1)
fi
export TRUSTLINK_PKCS11_MODULE=$MODULE TRUSTLINK_PIN_FILE=$WORK/pin
KEY='pkcs11:token=demo;object=devkey;type=private'
CERT='pkcs11:token=demo;object=devkey;type=cert'

step "2. An EC P-256 key generated inside the token, and a CSR signed inside it"
"$TRUSTLINK" hsm keygen --token demo --label devkey --type ec-p256
"$TRUSTLINK" hsm csr --key "$KEY" --subject 'CN=demo-thing,O=trustlink demo' --out "$WORK/device.csr"
openssl req -in "$WORK/device.csr" -noout -verify -subject

step "3. A throwaway CA signs the CSR; the certificate goes into the token beside its key"
"$ROOT/hsm/pki.sh" ca "$WORK/pki"
"$ROOT/hsm/pki.sh" server "$WORK/pki" broker
"$ROOT/hsm/pki.sh" sign "$WORK/pki" "$WORK/device.csr" "$WORK/device.pem"
"$TRUSTLINK" hsm import-cert --token demo --label devkey --cert "$WORK/device.pem"
"$TRUSTLINK" hsm list --token demo

step "4. mosquitto on loopback, requiring client certificates"
PORT=$(free_port)
"$ROOT/hsm/broker.sh" conf "$WORK/pki" "$PORT" > "$WORK/mosquitto.conf"
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
  "certFile": "$CERT",
  "key": "$KEY",
  "pkcs11Module": "$MODULE",
  "pinFile": "$WORK/pin",
  "thingName": "demo-thing"
}
JSON
echo "config: $(cat "$WORK/config.json")"

step "5. trustlink subscribe (waits for 3 messages), then trustlink publish (3 messages, QoS 1)"
"$TRUSTLINK" --config "$WORK/config.json" subscribe --client-id demo-subscriber --topic 'demo/#' --count 3 >"$WORK/received.txt" 2>"$WORK/subscriber.log" &
SUBSCRIBER_PID=$!
for _ in $(seq 100); do grep -q '"subscribed"' "$WORK/subscriber.log" 2>/dev/null && break; sleep 0.1; done
"$TRUSTLINK" --config "$WORK/config.json" publish --client-id demo-publisher --topic demo/hello --message 'hello from the token, message {n}' --count 3
wait "$SUBSCRIBER_PID"
SUBSCRIBER_PID=''
echo "the subscriber printed:"
sed 's/^/  /' "$WORK/received.txt"

step "6. The same over MQTT 3.1.1"
"$TRUSTLINK" --config "$WORK/config.json" publish --mqtt 3.1.1 --client-id demo-publisher --topic demo/hello --message 'MQTT 3.1.1 works too'

step "7. A wrong PIN is tried once and reported, never retried"
(umask 077; echo 000000 > "$WORK/wrong-pin")
"$TRUSTLINK" --config "$WORK/config.json" publish --pin-file "$WORK/wrong-pin" --topic demo/hello --message x || echo "(exit status $?)"

step "Token demo done: its folder and processes are removed when this script exits."
