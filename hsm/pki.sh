#!/usr/bin/env bash
# A throwaway test PKI made with openssl: a CA, server certificates for
# loopback brokers, and CA-signed device certificates from CSRs.
# Never use these keys for anything but tests and the demo.
#
#   hsm/pki.sh ca DIR                     DIR/ca.pem, DIR/ca.key
#   hsm/pki.sh server DIR NAME [SAN,...]  DIR/NAME.pem, DIR/NAME.key (SAN localhost, 127.0.0.1, ::1, and more)
#   hsm/pki.sh sign DIR CSR OUT [DAYS]    OUT: the CSR's key certified by DIR's CA
#   hsm/pki.sh certify DIR PUB.pem CN OUT [DAYS]  OUT: a public key certified as CN, no CSR
#   hsm/pki.sh revoke DIR CERT            marks CERT revoked in DIR's CA database
#   hsm/pki.sh crl DIR OUT                OUT: the CA's CRL (PEM), listing every revoked certificate
set -euo pipefail

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 64; }

# openssl ca keeps revocations in a database; made on first use, under DIR/db.
ca_config() {
  local dir=$1 db=$1/db
  if [ ! -f "$db/ca.cnf" ]; then
    mkdir -p "$db"
    : > "$db/index.txt"
    printf 'unique_subject = no\n' > "$db/index.txt.attr"
    cat > "$db/ca.cnf" <<EOF
[ca]
default_ca = test
[test]
database = $db/index.txt
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_crl_days = 30
EOF
  fi
  echo "$db/ca.cnf"
}

revoke_cert() {
  local dir=$1 cert=$2 config
  config=$(ca_config "$dir")
  openssl ca -config "$config" -revoke "$cert" 2>/dev/null
}

make_crl() {
  local dir=$1 out=$2 config
  config=$(ca_config "$dir")
  openssl ca -config "$config" -gencrl -out "$out.tmp" 2>/dev/null
  mv "$out.tmp" "$out"
}

make_ca() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 30 \
    -subj "/O=trustlink test/CN=trustlink test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
}

make_server() {
  local dir=$1 name=$2 extra_san=${3:+,$3}
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=localhost" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/$name.pem" -days 30 \
    -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1%s\nextendedKeyUsage=serverAuth\n' "$extra_san") \
    2>/dev/null
  rm -f "$dir/$name.csr"
  # Test brokers may drop privileges to another user; the key is a throwaway.
  chmod 644 "$dir/$name.key"
}

sign_csr() {
  local dir=$1 csr=$2 out=$3 days=${4:-30}
  openssl req -in "$csr" -noout -verify 2>/dev/null || { echo "pki.sh: $csr does not verify" >&2; exit 65; }
  openssl x509 -req -in "$csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$out.tmp" -days "$days" \
    -extfile <(printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n') 2>/dev/null
  mv "$out.tmp" "$out"
}

certify_pubkey() {
  local dir=$1 pub=$2 cn=$3 out=$4 days=${5:-30}
  openssl x509 -new -force_pubkey "$pub" -subj "/CN=$cn" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -days "$days" -out "$out.tmp" \
    -extfile <(printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n') 2>/dev/null
  mv "$out.tmp" "$out"
}

case "${1:-}" in
  ca) [ $# -eq 2 ] || usage; make_ca "$2" ;;
  server) [ $# -ge 3 ] || usage; make_server "$2" "$3" "${4:-}" ;;
  sign) [ $# -ge 4 ] || usage; sign_csr "$2" "$3" "$4" "${5:-30}" ;;
  certify) [ $# -ge 5 ] || usage; certify_pubkey "$2" "$3" "$4" "$5" "${6:-30}" ;;
  revoke) [ $# -eq 3 ] || usage; revoke_cert "$2" "$3" ;;
  crl) [ $# -eq 3 ] || usage; make_crl "$2" "$3" ;;
  *) usage ;;
esac
