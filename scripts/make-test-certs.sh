#!/usr/bin/env bash
# Creates a throwaway CA, a server certificate for 127.0.0.1/localhost and a
# client certificate, for trying TLS and mutual TLS locally (openssl).
# Usage: scripts/make-test-certs.sh DIR   -> DIR/{ca,server,client}.{pem,key}
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
days=30
openssl req -x509 -newkey rsa:2048 -nodes -days "$days" -subj "/CN=imunpack test CA" \
  -keyout ca.key -out ca.pem 2>/dev/null
issue() {  # name, subject, extensions
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
issue server "/CN=localhost" "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
issue client "/CN=imunpack client" "extendedKeyUsage=clientAuth"
chmod 600 ./*.key
echo "wrote $dir/ca.pem, server.{pem,key}, client.{pem,key}"
