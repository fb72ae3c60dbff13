#!/usr/bin/env bash
# tests/fixtures/pki/make.sh still makes the committed test PKI, and only
# where it is told: run into a temporary directory, it makes the same files
# as are committed (names, each certificate's subject, issuer and
# extensions' names, each key's type), and the committed files are left
# byte for byte as they were; pointed at the committed directory it
# refuses.
#   tests/host/pki_make.sh SOURCE_DIR
set -euo pipefail
src=$(cd "${1:?usage: pki_make.sh SOURCE_DIR}" && pwd)
pki_dir=$src/tests/fixtures/pki
for t in openssl pki; do
  command -v $t >/dev/null || { echo "pki_make: needs $t (tools/setup installs it)"; exit 77; }
done
export OPENSSL_CONF=/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# The committed files' checksums, before.
(cd "$pki_dir" && sha256sum -- * > "$tmp/before")

if "$pki_dir/make.sh" "$pki_dir" >"$tmp/refuse.log" 2>&1; then bad "make.sh wrote into $pki_dir"
else ok "make.sh refuses $pki_dir: $(head -n 1 "$tmp/refuse.log")"; fi

if ! "$pki_dir/make.sh" "$tmp/out" >"$tmp/make.log" 2>&1; then
  cat "$tmp/make.log"; bad "make.sh $tmp/out failed"; exit 1
fi
ok "$(tail -n 1 "$tmp/make.log")"

committed=$(cd "$pki_dir" && ls | grep -v '^make\.sh$')
made=$(cd "$tmp/out" && ls)
if [ "$committed" = "$made" ]; then ok "the same $(echo "$made" | wc -l) files as committed"
else bad "files differ: $(diff <(echo "$committed") <(echo "$made") | grep '^[<>]' | tr '\n' ' ')"; fi

# What a certificate says, without its keys, serial or dates.
describe_crt() {
  openssl x509 -in "$1" -noout -subject -issuer -ext basicConstraints,keyUsage,subjectAltName 2>/dev/null |
    sed 's/keyid:.*//'
  openssl x509 -in "$1" -noout -text | sed -n 's/^ *Signature Algorithm: //p' | head -n 1
  openssl x509 -in "$1" -noout -text | sed -n 's/^ *Public Key Algorithm: //p'
  openssl x509 -in "$1" -noout -text | grep -c 'critical' || true
}
# What a key is: its PEM blocks (PKCS#8, PKCS#1, SEC1, with EC PARAMETERS), size and curve.
describe_key() {
  grep -- '-----BEGIN' "$1"
  openssl pkey -in "$1" -noout -text 2>/dev/null | grep -E '^(Private-Key|ED25519|ASN1 OID|NIST CURVE)'
}
for f in $made; do
  [ -f "$pki_dir/$f" ] || continue
  case $f in
    *.crt) a=$(describe_crt "$pki_dir/$f"); b=$(describe_crt "$tmp/out/$f") ;;
    *.key) a=$(describe_key "$pki_dir/$f"); b=$(describe_key "$tmp/out/$f") ;;
    *.pub|*.pub1) a=$(grep -- '-----BEGIN' "$pki_dir/$f"); b=$(grep -- '-----BEGIN' "$tmp/out/$f") ;;
    *.pem) # a chain: each certificate's subject and issuer, in order
      a=$(openssl crl2pkcs7 -nocrl -certfile "$pki_dir/$f" | openssl pkcs7 -print_certs -noout)
      b=$(openssl crl2pkcs7 -nocrl -certfile "$tmp/out/$f" | openssl pkcs7 -print_certs -noout) ;;
    *) continue ;;
  esac
  if [ "$a" = "$b" ]; then ok "$f: as committed"; else bad "$f: differs from the committed one:"$'\n'"$a"$'\n'"---"$'\n'"$b"; fi
done

if (cd "$pki_dir" && sha256sum -c --quiet "$tmp/before"); then ok "committed fixtures unchanged"
else bad "committed fixtures changed"; fi
exit $fail
