#!/usr/bin/env bash
# Kernel tier of certificate and signature authentication, one boot:
#   1. xiked <-> strongSwan, both directions: RSA-PSS, ECDSA P-256 and
#      Ed25519 certificates, an intermediate CA sent by either side, and
#      asymmetric authentication (PSK one way, certificate the other);
#   2. xiked <-> xiked with raw public keys (RFC 7670);
#   3. negative cases: unknown CA, expired certificate (refused by
#      strongSwan), strongSwan's certificate refused by the initiating
#      xiked, a raw key that is not the pinned one.
# Good cases: the Child SA is installed on both sides, `xikectl status
# --json` shows each side's method and the certificates, ping crosses the
# tunnel, nothing is left after `xikectl down`. Negative cases: no SA on
# either side and the reason in both logs.
#   tests/vm/run tests/vm/scenarios/certs.sh BUILD_DIR
# XIKED_CERTS_CASES=REGEX runs only the cases whose label matches;
# XIKED_VM_OUT=DIR keeps the daemons' logs (in DIR/certs).
#
# Topology (namespaces "ca", "cb", "cs"; inner addresses on lo):
#   ca (xiked A)  xa 192.0.2.1/24 ------------- xb 192.0.2.2     cb (xiked B)
#     10.1.0.1                                       10.2.0.1
#   ca            sa 198.51.100.1/24 ---------- ss 198.51.100.2  cs (strongSwan)
#                                                    10.3.0.1
# Identities: xiked A is a.example, strongSwan and xiked B are b.example
# (tests/fixtures/pki and its make.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
PKI=$(cd "$here/../../fixtures/pki" && pwd)
# swanctl reads credentials from x509/, x509ca/, private/ next to the file it loads.
SS_CONF_DIR=$VM_SS_DIR/swanctl

save_logs() {
  [ -n "${XIKED_VM_OUT:-}" ] || return 0
  local d
  for d in "$XK_DIR" "$VM_SS_DIR"; do
    mkdir -p "$XIKED_VM_OUT/certs/${d##*/}"
    find "$d" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.out' \) \
      -exec cp {} "$XIKED_VM_OUT/certs/${d##*/}/" \; 2>/dev/null || true
  done
}
on_exit() {
  local rc=$?
  set +e
  xk_cleanup
  save_logs
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT
export XIKED_CHARON_LOG=${XIKED_CHARON_LOG:-2}

wanted() { [ -z "${XIKED_CERTS_CASES:-}" ] || grep -qE -- "$XIKED_CERTS_CASES" <<< "$1"; }
T_CASE=$EPOCHREALTIME
case_begin() { T_CASE=$EPOCHREALTIME; note "---- case $1"; }
case_end() { note "case $1 took $(((${EPOCHREALTIME/./} - ${T_CASE/./}) / 1000)) ms"; }

note "kernel $(uname -r), script started at uptime $(cut -d' ' -f1 /proc/uptime) s"
# Every case uses AES-GCM: warm up only that.
# shellcheck disable=SC2034 # read by vm_kernel_init
VM_XFRM_ALGS=("4 aead rfc4106(gcm(aes)) $(hexkey 36) 128")
if vm_kernel_init; then ok "load IPsec modules, warm up AES-GCM"
else fail "load IPsec modules, warm up AES-GCM"; fi

ns_new ca cb cs
ns_link ca xa cb xb
ns_link ca sa cs ss
ns_addr ca xa 192.0.2.1/24
ns_addr cb xb 192.0.2.2/24
ns_addr ca sa 198.51.100.1/24
ns_addr cs ss 198.51.100.2/24
ns_addr ca lo 10.1.0.1/32
ns_addr cb lo 10.2.0.1/32
ns_addr cs lo 10.3.0.1/32
check "veth ca-cb" ns_ping ca -c 1 -W 5 192.0.2.2
check "veth ca-cs" ns_ping ca -c 1 -W 5 198.51.100.2

PROPOSAL=aes256gcm16-prfsha256-x25519
ESP=aes256gcm16

# xk_peer LOCAL REMOTE LTS RTS: a [conn peer] for xiked; the authentication
# lines follow on stdin (%P stands for the fixture directory).
xk_peer() {
  cat <<EOF
[conn peer]
local_addr = $1
remote_addr = $2
ike = $PROPOSAL
esp = $ESP
local_ts = $3
remote_ts = $4
EOF
  sed "s|%P|$PKI|g"
}

# ping3 NS SRC DST: 3 echo requests through the tunnel, all answered.
ping3() {
  local out
  out=$(ns_ping "$1" -c 3 -W 5 -I "$2" "$3" 2>&1) || { echo "$out"; return 1; }
  grep -q '3 packets received' <<< "$out" || { echo "$out"; return 1; }
}

no_xfrm() { local n; for n in "$@"; do xfrm_empty "$n" || return 1; done; }
nothing_left() { # nothing_left NS...: no xfrm state or policy (waits 30 s)
  wait_for 30 "xfrm states and policies to go in $*" no_xfrm "$@" && return 0
  local n
  for n in "$@"; do
    echo "left in $n:"
    { ip -n "$n" xfrm state; xfrm_policies "$n"; } | sed -E 's/0x[0-9a-f]{16,}/KEY/g'
  done
  return 1
}

xk_no_sa() { xk_json "$1" | jq -e '.ike_sas | length == 0'; }
ss_no_sa() { ! swanctl_in cs --list-sas --raw 2>/dev/null | grep -q 'list-sa event'; }
ss_child_installed() { swanctl_in cs --list-sas | grep -q INSTALLED; }
log_has() { grep -qF -- "$2" "$1"; } # log_has FILE TEXT

# xk_side_is NAME SIDE JQ-TEST: a jq test on .ike_sas[0].SIDE of NAME's
# status (SIDE "" for the whole IKE SA).
xk_side_is() {
  local path=".ike_sas[0]${2:+.$2}"
  xk_json "$1" | jq -e "$path | $3" > /dev/null || { xk_json "$1" | jq -c "$path"; return 1; }
}

# ---------------------------------------------------------------- strongSwan
# ss_creds CERT KEY CA...: strongSwan's own certificate (x509/), key
# (private/) and trusted CAs (x509ca/), from the fixtures; "-" for none.
ss_creds() {
  local cert=$1 key=$2 ca
  shift 2
  rm -rf "$SS_CONF_DIR"
  mkdir -p "$SS_CONF_DIR"/{x509,x509ca,private}
  [ "$cert" = - ] || cp "$PKI/$cert" "$SS_CONF_DIR/x509/"
  [ "$key" = - ] || cp "$PKI/$key" "$SS_CONF_DIR/private/"
  for ca in "$@"; do cp "$PKI/$ca" "$SS_CONF_DIR/x509ca/"; done
}

# ss_conf LOCAL-AUTH-LINES REMOTE-AUTH-LINES [SECRETS]: swanctl.conf for
# connection x (child net) between cs and ca.
ss_conf() {
  cat > "$SS_CONF_DIR/swanctl.conf" <<EOF
connections {
  x {
    version = 2
    local_addrs = 198.51.100.2
    remote_addrs = 198.51.100.1
    proposals = $PROPOSAL
    local {
      id = b.example
$1
    }
    remote {
      id = a.example
$2
    }
    children {
      net {
        local_ts = 10.3.0.0/24
        remote_ts = 10.1.0.0/24
        esp_proposals = $ESP
      }
    }
  }
}
secrets {
${3:-}
}
EOF
  swanctl_in cs --load-all --clear --noprompt --file "$SS_CONF_DIR/swanctl.conf"
}

# ss_case LABEL WHO LOCAL-SIDE-JQ REMOTE-SIDE-JQ: the connection (xiked A's
# configuration in $XK_LINES, strongSwan's loaded) is brought up by WHO
# (xiked or strongswan), checked in status and with ping, and taken down.
ss_case() {
  local label=$1 who=$2 ljq=$3 rjq=$4 out
  xk_peer 198.51.100.1 198.51.100.2 10.1.0.0/24 10.3.0.0/24 <<< "$XK_LINES" | xk_conf A
  check "$label: xiked A starts" xk_start ca A
  if [ "$who" = xiked ]; then
    check "$label: xikectl up" xk_ctl A up peer
  elif out=$(charon_initiate cs net 150 2>&1); then
    ok "$label: swanctl --initiate"
  else
    fail "$label: swanctl --initiate"
    tail -n 15 <<< "$out" | sed 's/^/       | /'
  fi
  if wait_for "${XIKED_CERTS_WAIT:-150}" "A's Child SA" xk_child_installed A &&
     wait_for 30 "strongSwan's Child SA" ss_child_installed; then
    ok "$label: Child SA INSTALLED in xiked and strongSwan"
  else
    fail "$label: Child SA INSTALLED in xiked and strongSwan"
    xk_log_tail A
    tail -n 30 "$(charon_log cs)" | sed 's/^/       | /'
  fi
  note "$label: A: $(xk_json A | jq -c '.ike_sas[] | {local, remote}' 2>&1)"
  check "$label: status shows xiked's side ($ljq)" xk_side_is A local "$ljq"
  check "$label: status shows strongSwan's side ($rjq)" xk_side_is A remote "$rjq"
  check "$label: ping 10.1.0.1 -> 10.3.0.1 through the tunnel" ping3 ca 10.1.0.1 10.3.0.1
  check "$label: the ping went through the Child SA (counters > 0)" xk_counters_positive A
  check "$label: xikectl down" xk_ctl A down peer
  check "$label: nothing left in ca and cs" nothing_left ca cs
  check "$label: xiked A exits 0 on SIGTERM" xk_stop A
}

# ss_fail LABEL WHO XK-REASON SS-REASON: the same, but the SA must not come
# up: neither side keeps one, and each log has its reason.
ss_fail() {
  local label=$1 who=$2 xr=$3 sr=$4 sslog
  sslog=$(charon_log cs)
  local lines_before
  lines_before=$(wc -l < "$sslog")
  xk_peer 198.51.100.1 198.51.100.2 10.1.0.0/24 10.3.0.0/24 <<< "$XK_LINES" | xk_conf A
  check "$label: xiked A starts" xk_start ca A
  if [ "$who" = xiked ]; then
    check "$label: xikectl up fails with AUTHENTICATION_FAILED" \
      xk_up_refused A peer AUTHENTICATION_FAILED
  else
    charon_initiate cs net 150 > /dev/null 2>&1 || true
  fi
  if wait_for 150 "xiked's reason" log_has "$XK_DIR/A.log" "$xr"; then
    ok "$label: xiked logs: $xr"
  else
    fail "$label: xiked logs: $xr"
    xk_log_tail A
  fi
  ss_new_log() { tail -n +"$((lines_before + 1))" "$sslog" | grep -qF -- "$sr"; }
  if wait_for 60 "strongSwan's reason" ss_new_log; then
    ok "$label: strongSwan logs: $sr"
  else
    fail "$label: strongSwan logs: $sr"
    tail -n 20 "$sslog" | sed 's/^/       | /'
  fi
  check "$label: no IKE SA in xiked" wait_for 30 "xiked's SA to go" xk_no_sa A
  check "$label: no IKE SA in strongSwan" wait_for 30 "strongSwan's SA to go" ss_no_sa
  check "$label: nothing in ca and cs" nothing_left ca cs
  check "$label: xiked A exits 0 on SIGTERM" xk_stop A
}

A_ECDSA="auth = pubkey
local_id = a.example
remote_id = b.example
cert = %P/a-ecdsa.crt
key = %P/a-ecdsa.key
cacert = %P/root.crt"

mkdir -p "$VM_SS_DIR"
T_ALL=$EPOCHREALTIME
t=$EPOCHREALTIME
# rsa_pss: strongSwan signs with RSASSA-PSS (its default is PKCS#1 v1.5).
check "charon starts in cs" charon_start cs "  rsa_pss = yes"
note "charon started in $(((${EPOCHREALTIME/./} - ${t/./}) / 1000)) ms"

L="xiked->strongSwan ECDSA P-256 certificates"
if wanted "$L"; then
  case_begin "$L"
  ss_creds b-ecdsa.crt b-ecdsa.key root.crt
  check "$L: swanctl loads" ss_conf "      auth = pubkey
      certs = b-ecdsa.crt" "      auth = pubkey"
  XK_LINES=$A_ECDSA
  ss_case "$L" xiked \
    '.auth == "pubkey" and .signature == "ecdsa-sha256" and .cert_subject == "C=CH, O=xiked test, CN=a.example"' \
    '.auth == "pubkey" and .auth_method == "DIGITAL_SIGNATURE" and .cert_subject == "C=CH, O=xiked test, CN=b.example" and .cert_issuer == "C=CH, O=xiked test, CN=xiked Root CA"'
  case_end "$L"
fi

L="strongSwan->xiked RSA-PSS certificates"
if wanted "$L"; then
  case_begin "$L"
  ss_creds b-rsa.crt b-rsa.key root.crt
  check "$L: swanctl loads" ss_conf "      auth = rsa/pss
      certs = b-rsa.crt" "      auth = pubkey"
  XK_LINES="auth = pubkey
local_id = a.example
remote_id = b.example
cert = %P/a-rsa.crt
key = %P/a-rsa.key
cacert = %P/root.crt"
  ss_case "$L" strongswan '.signature == "rsa-pss-sha256"' \
    '(.signature | startswith("rsa-pss-")) and .cert_subject == "C=CH, O=xiked test, CN=b.example"'
  case_end "$L"
fi

L="xiked->strongSwan Ed25519 certificates"
if wanted "$L"; then
  case_begin "$L"
  ss_creds b-ed25519.crt b-ed25519.key root.crt
  check "$L: swanctl loads" ss_conf "      auth = pubkey
      certs = b-ed25519.crt" "      auth = pubkey"
  XK_LINES="auth = pubkey
local_id = a.example
remote_id = b.example
cert = %P/a-ed25519.crt
key = %P/a-ed25519.key
cacert = %P/root.crt"
  ss_case "$L" xiked '.signature == "ed25519"' '.signature == "ed25519"'
  case_end "$L"
fi

L="strongSwan->xiked intermediate CA sent by strongSwan"
if wanted "$L"; then
  case_begin "$L"
  # strongSwan holds the intermediate; xiked trusts only the root.
  ss_creds b-int.crt b-ecdsa.key root.crt int.crt
  check "$L: swanctl loads" ss_conf "      auth = pubkey
      certs = b-int.crt" "      auth = pubkey"
  XK_LINES=$A_ECDSA
  ss_case "$L" strongswan '.signature == "ecdsa-sha256"' \
    '.cert_issuer == "C=CH, O=xiked test, CN=xiked Intermediate CA"'
  case_end "$L"
fi

L="xiked->strongSwan intermediate CA sent by xiked"
if wanted "$L"; then
  case_begin "$L"
  ss_creds b-ecdsa.crt b-ecdsa.key root.crt
  check "$L: swanctl loads" ss_conf "      auth = pubkey
      certs = b-ecdsa.crt" "      auth = pubkey"
  XK_LINES="auth = pubkey
local_id = a.example
remote_id = b.example
cert = %P/a-int-chain.pem
key = %P/a-ecdsa.key
cacert = %P/root.crt"
  ss_case "$L" xiked '.cert_issuer == "C=CH, O=xiked test, CN=xiked Intermediate CA"' \
    '.cert_issuer == "C=CH, O=xiked test, CN=xiked Root CA"'
  case_end "$L"
fi

L="xiked->strongSwan asymmetric: PSK from xiked, certificate from strongSwan"
if wanted "$L"; then
  case_begin "$L"
  ss_creds b-ecdsa.crt b-ecdsa.key
  check "$L: swanctl loads" ss_conf "      auth = pubkey
      certs = b-ecdsa.crt" "      auth = psk" "  ike-x {
    id-1 = a.example
    id-2 = b.example
    secret = \"$XK_PSK\"
  }"
  XK_LINES="local_auth = psk
remote_auth = pubkey
psk = \"$XK_PSK\"
local_id = a.example
remote_id = b.example
cacert = %P/root.crt"
  ss_case "$L" xiked '.auth == "psk"' '.auth == "pubkey" and .signature == "ecdsa-sha256"'
  case_end "$L"
fi

L="strongSwan->xiked asymmetric: certificate from xiked, PSK from strongSwan"
if wanted "$L"; then
  case_begin "$L"
  ss_creds - - root.crt
  check "$L: swanctl loads" ss_conf "      auth = psk" "      auth = pubkey" "  ike-x {
    id-1 = a.example
    id-2 = b.example
    secret = \"$XK_PSK\"
  }"
  XK_LINES="local_auth = pubkey
remote_auth = psk
psk = \"$XK_PSK\"
local_id = a.example
remote_id = b.example
cert = %P/a-ecdsa.crt
key = %P/a-ecdsa.key"
  ss_case "$L" strongswan '.auth == "pubkey" and .signature == "ecdsa-sha256"' '.auth == "psk"'
  case_end "$L"
fi

L="strongSwan->xiked refused: unknown CA"
if wanted "$L"; then
  case_begin "$L"
  ss_creds b-ecdsa.crt b-ecdsa.key root.crt
  check "$L: swanctl loads" ss_conf "      auth = pubkey
      certs = b-ecdsa.crt" "      auth = pubkey"
  XK_LINES=${A_ECDSA/root.crt/other.crt}
  ss_fail "$L" strongswan \
    "not authenticated: unknown CA: no trusted CA certificate 'C=CH, O=xiked test, CN=xiked Root CA'" \
    "N(AUTH_FAILED)"
  case_end "$L"
fi

L="xiked->strongSwan refused: xiked's certificate expired"
if wanted "$L"; then
  case_begin "$L"
  ss_creds b-ecdsa.crt b-ecdsa.key root.crt
  check "$L: swanctl loads" ss_conf "      auth = pubkey
      certs = b-ecdsa.crt" "      auth = pubkey"
  XK_LINES=${A_ECDSA/a-ecdsa.crt/a-expired.crt}
  ss_fail "$L" xiked "IKE_AUTH failed: peer answered AUTHENTICATION_FAILED" \
    "certificate invalid"
  case_end "$L"
fi

L="xiked->strongSwan refused by xiked: strongSwan's CA unknown"
if wanted "$L"; then
  case_begin "$L"
  ss_creds b-ecdsa.crt b-ecdsa.key root.crt
  check "$L: swanctl loads" ss_conf "      auth = pubkey
      certs = b-ecdsa.crt" "      auth = pubkey"
  XK_LINES=${A_ECDSA/root.crt/other.crt}
  ss_fail "$L" xiked "peer 'b.example' not authenticated: unknown CA" \
    "N(AUTH_FAILED)"
  case_end "$L"
fi
charon_stop cs
check "nothing left in cs after charon stops" xfrm_empty cs

# ---------------------------------------------------------------- xiked <-> xiked
L="xiked<->xiked raw public keys"
if wanted "$L"; then
  case_begin "$L"
  xk_peer 192.0.2.1 192.0.2.2 10.1.0.0/24 10.2.0.0/24 <<'EOF' | xk_conf A
auth = pubkey
local_id = a.example
remote_id = b.example
key = %P/a-ecdsa.key
remote_pubkey = %P/b-ed25519.pub
EOF
  xk_peer 192.0.2.2 192.0.2.1 10.2.0.0/24 10.1.0.0/24 <<'EOF' | xk_conf B
auth = pubkey
local_id = b.example
remote_id = a.example
key = %P/b-ed25519.key
remote_pubkey = %P/a-ecdsa.pub
EOF
  check "$L: xiked B starts" xk_start cb B
  check "$L: xiked A starts" xk_start ca A
  check "$L: xikectl up" xk_ctl A up peer
  if wait_for 120 "A's Child SA" xk_child_installed A &&
     wait_for 20 "B's Child SA" xk_child_installed B; then
    ok "$L: Child SA INSTALLED on both sides"
  else
    fail "$L: Child SA INSTALLED on both sides"
    xk_log_tail A; xk_log_tail B
  fi
  check "$L: A's status: raw keys, ecdsa-sha256 / ed25519" \
    xk_side_is A "" '(.local.raw_key and .local.signature == "ecdsa-sha256" and .remote.raw_key and .remote.signature == "ed25519")'
  check "$L: ping 10.1.0.1 -> 10.2.0.1 through the tunnel" ping3 ca 10.1.0.1 10.2.0.1
  check "$L: the ping went through the Child SA (counters > 0)" xk_counters_positive A
  check "$L: xikectl down" xk_ctl A down peer
  check "$L: nothing left in ca and cb" nothing_left ca cb
  check "$L: xiked A exits 0" xk_stop A
  check "$L: xiked B exits 0" xk_stop B
  case_end "$L"
fi

L="xiked<->xiked refused: raw key not the pinned one"
if wanted "$L"; then
  case_begin "$L"
  xk_peer 192.0.2.1 192.0.2.2 10.1.0.0/24 10.2.0.0/24 <<'EOF' | xk_conf A
auth = pubkey
local_id = a.example
remote_id = b.example
key = %P/a-ecdsa.key
remote_pubkey = %P/b-ed25519.pub
EOF
  xk_peer 192.0.2.2 192.0.2.1 10.2.0.0/24 10.1.0.0/24 <<'EOF' | xk_conf B
auth = pubkey
local_id = b.example
remote_id = a.example
key = %P/b-ed25519.key
remote_pubkey = %P/a-ed25519.pub
EOF
  check "$L: xiked B starts" xk_start cb B
  check "$L: xiked A starts" xk_start ca A
  check "$L: xikectl up fails with AUTHENTICATION_FAILED" \
    xk_up_refused A peer AUTHENTICATION_FAILED
  check "$L: B logs why" wait_for 60 "B's reason" log_has "$XK_DIR/B.log" \
    "peer 'a.example' not authenticated: its raw public key is not the configured remote_pubkey"
  check "$L: A logs the refusal" wait_for 30 "A's reason" log_has "$XK_DIR/A.log" \
    "IKE_AUTH failed: peer answered AUTHENTICATION_FAILED"
  check "$L: no IKE SA in A" wait_for 30 "A's SA to go" xk_no_sa A
  check "$L: no IKE SA in B" xk_no_sa B
  check "$L: nothing left in ca and cb" nothing_left ca cb
  check "$L: xiked A exits 0" xk_stop A
  check "$L: xiked B exits 0" xk_stop B
  case_end "$L"
fi

note "all cases took $(((${EPOCHREALTIME/./} - ${T_ALL/./}) / 1000)) ms"
xk_cleanup
save_logs
finish
