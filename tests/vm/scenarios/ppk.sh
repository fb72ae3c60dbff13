#!/usr/bin/env bash
# Kernel tier of post-quantum preshared keys (RFC 8784) against Debian 12's
# strongSwan 5.9.8, one boot:
#   1. xiked initiates, both sides hold the PPK (ppk_required = yes): xiked's
#      status says ppk, charon logs that it used the PPK, pings cross (the
#      Child SA keys come from the mixed SK_d on both sides), then a Child SA
#      rekey and an IKE SA rekey (keys from the mixed SK_d again) and pings;
#   2. strongSwan initiates, both hold the PPK;
#   3. xiked initiates (ppk_required = no) and strongSwan has no PPK for its
#      PPK_ID: charon checks xiked's NO_PPK_AUTH, the IKE SA has no PPK;
#   4. strongSwan initiates with a PPK_ID xiked has no PPK for: xiked checks
#      strongSwan's NO_PPK_AUTH;
#   5. xiked requires a PPK (ppk_required = yes) and strongSwan has none:
#      AUTHENTICATION_FAILED, nothing installed.
#   tests/vm/run tests/vm/scenarios/ppk.sh BUILD_DIR
# XIKED_VM_OUT=DIR keeps the daemons' logs.
#
# Topology (namespaces; inner addresses on lo; no route or address made for
# the tunnel: xiked and charon install their own routes):
#   a (xiked) va 198.51.100.1/24 ---- vs 198.51.100.2/24 s (charon 5.9.8)
#     10.1.0.1                                                     10.3.0.1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
save_logs() {
  [ -n "${XIKED_VM_OUT:-}" ] || return 0
  local d
  for d in "$XK_DIR" "$VM_SS_DIR"; do
    mkdir -p "$XIKED_VM_OUT/ppk/${d##*/}"
    find "$d" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.out' \) \
      -exec cp {} "$XIKED_VM_OUT/ppk/${d##*/}/" \; 2>/dev/null || true
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

note "kernel $(uname -r)"
VM_XFRM_ALGS=("4 aead rfc4106(gcm(aes)) $(hexkey 36) 128")
if vm_kernel_init; then ok "load IPsec modules, warm up AES-GCM"
else fail "load IPsec modules, warm up AES-GCM"; fi

ns_new a s
ns_link a va s vs
ns_addr a va 198.51.100.1/24
ns_addr s vs 198.51.100.2/24
ns_addr a lo 10.1.0.1/32
ns_addr s lo 10.3.0.1/32
check "veth a-s" ns_ping a -c 1 -W 5 198.51.100.2

PPK=0x5d8a1f0c7e3b96a2d4c1f8e07b3a5c9d1e2f3a4b5c6d7e8f90a1b2c3d4e5f607
PPK_ID=pqpsk@example.org

# xk_ppk_conf [KEY=VALUE...]: xiked's [conn peer] to s, plus KEY = VALUE lines.
xk_ppk_conf() {
  cat <<EOF
[conn peer]
local_addr = 198.51.100.1
remote_addr = 198.51.100.2
local_id = a.example
remote_id = s.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = 10.1.0.0/24
remote_ts = 10.3.0.0/24
EOF
  local kv
  for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
}

# ss_ppk_conf CONN-LINES PPK-SECRET-ID: charon's connection x (CONN-LINES
# inside it, e.g. ppk_id and ppk_required) and, if PPK-SECRET-ID is not
# empty, the PPK as a secret of that PPK_ID.
ss_ppk_conf() {
  cat <<EOF
connections {
  x {
    version = 2
    local_addrs = 198.51.100.2
    remote_addrs = 198.51.100.1
    proposals = aes256gcm16-prfsha256-x25519
$1
    local {
      auth = psk
      id = s.example
    }
    remote {
      auth = psk
      id = a.example
    }
    children {
      net {
        local_ts = 10.3.0.0/24
        remote_ts = 10.1.0.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-x {
    id-1 = a.example
    id-2 = s.example
    secret = "$XK_PSK"
  }
EOF
  [ -z "$2" ] || printf '  ppk-x {\n    id = %s\n    secret = %s\n  }\n' "$2" "$PPK"
  echo "}"
}

ppk_of() { local j; j=$(xk_json A) && [[ $j =~ \"ppk\":(true|false) ]] && echo "${BASH_REMATCH[1]}"; }
ss_log_has() { grep -qF -- "$1" "$(charon_log s)"; }
ss_up() { swanctl_in s --list-sas --ike x | grep -q INSTALLED; }
pings() { ns_ping a -c 3 -W 5 -I 10.1.0.1 10.3.0.1; }
case_begin() { T_CASE=$EPOCHREALTIME; note "---- case $1"; }
case_end() { note "case $1 took $(((${EPOCHREALTIME/./} - ${T_CASE/./}) / 1000)) ms"; }

check "charon runs in s" charon_start s

# run_case LABEL WHO XIKED-KEYS CONN-LINES SECRET-ID WANT-PPK CHARON-LOG-LINE
#   WHO: xiked or strongswan initiates; WANT-PPK: true/false in xiked's status.
run_case() {
  local label=$1 who=$2 keys=$3 lines=$4 sid=$5 want=$6 line=$7 out
  case_begin "$label"
  : > "$(charon_log s)"
  ss_ppk_conf "$lines" "$sid" > "$VM_SS_DIR/ppk.conf"
  check "$label: swanctl loads the connection" charon_load s "$VM_SS_DIR/ppk.conf"
  # shellcheck disable=SC2086 # keys: words KEY=VALUE
  xk_ppk_conf $keys | xk_conf A
  check "$label: xiked A starts" xk_start a A
  if [ "$who" = xiked ]; then
    check "$label: xikectl up" xk_ctl A up peer --timeout 120
  else
    out=$(charon_initiate s net 150 2>&1) || { fail "$label: swanctl --initiate" "$(tail -n 5 <<< "$out")"; }
  fi
  if xk_wait_child A 60 && wait_for 30 "strongSwan's Child SA" ss_up; then
    ok "$label: Child SA INSTALLED on both sides"
  else
    fail "$label: Child SA INSTALLED on both sides"
    xk_log_tail A
    tail -n 30 "$(charon_log s)" | sed 's/^/       | /'
  fi
  check "$label: xiked's status says ppk: $want" test "$(ppk_of)" = "$want"
  check "$label: charon logs '$line'" ss_log_has "$line"
  check "$label: pings 10.1.0.1 -> 10.3.0.1 cross the tunnel" pings
}
end_case() {
  check "$1: xiked A exits 0 on SIGTERM" xk_stop A
  swanctl_in s --terminate --ike x --timeout 20 > /dev/null 2>&1 || true
  check "$1: nothing left in a and s" wait_for 20 "a and s to be empty" \
    eval 'xfrm_empty a && xfrm_empty s'
  case_end "$1"
}

L="1. xiked initiates, PPK on both sides (required)"
run_case "$L" xiked "ppk_id=\"$PPK_ID\" ppk=$PPK ppk_required=yes" \
  "    ppk_id = $PPK_ID"$'\n'"    ppk_required = yes" "$PPK_ID" true "using PPK for PPK_ID '$PPK_ID'"
first_spi_in() { local j; j=$(xk_json A) && [[ $j =~ \"spi_in\":\"([0-9a-f]+)\" ]] && echo "${BASH_REMATCH[1]}"; }
spi_moved() { [ "$(first_spi_in)" != "$spi" ]; }
no_state_a() { [ -z "$(ip -n a xfrm state)" ]; }
spi=$(first_spi_in)
check "$L: xikectl rekey (Child SA)" xk_ctl A rekey peer
check "$L: xikectl rekey --ike" xk_ctl A rekey peer --ike
check "$L: a new Child SA" wait_for 60 "a new inbound SPI" spi_moved
check "$L: strongSwan's Child SA after both rekeys" wait_for 60 "strongSwan's Child SA" ss_up
check "$L: pings cross after both rekeys" pings
check "$L: still ppk after the IKE SA rekey" test "$(ppk_of)" = true
end_case "$L"

L="2. strongSwan initiates, PPK on both sides (required)"
run_case "$L" strongswan "ppk_id=\"$PPK_ID\" ppk=$PPK ppk_required=yes" \
  "    ppk_id = $PPK_ID"$'\n'"    ppk_required = yes" "$PPK_ID" true "using PPK for PPK_ID '$PPK_ID'"
end_case "$L"

L="3. xiked initiates, strongSwan has no PPK for its PPK_ID"
run_case "$L" xiked "ppk_id=\"$PPK_ID\" ppk=$PPK ppk_required=no" "" other@example.org false \
  "no PPK for '$PPK_ID' found, ignored because PPK is not required"
end_case "$L"

L="4. strongSwan initiates with a PPK_ID xiked has no PPK for"
run_case "$L" strongswan "ppk_id=\"other@example.org\" ppk=$PPK ppk_required=no" \
  "    ppk_id = $PPK_ID" "$PPK_ID" false "established"
check "$L: xiked checked strongSwan's NO_PPK_AUTH" \
  grep -q "checking its NO_PPK_AUTH instead" "$XK_DIR/A.log"
end_case "$L"

L="5. xiked requires a PPK strongSwan does not have"
case_begin "$L"
ss_ppk_conf "" "" > "$VM_SS_DIR/ppk.conf"
check "$L: swanctl loads the connection" charon_load s "$VM_SS_DIR/ppk.conf"
xk_ppk_conf "ppk_id=\"$PPK_ID\"" "ppk=$PPK" ppk_required=yes | xk_conf A
check "$L: xiked A starts" xk_start a A
if charon_initiate s net 150 > /dev/null 2>&1; then
  fail "$L: swanctl --initiate fails"
else
  ok "$L: swanctl --initiate fails"
fi
check "$L: xiked logs why" grep -q "ppk_required = yes, but the peer did not send USE_PPK" \
  "$XK_DIR/A.log"
check "$L: charon got AUTHENTICATION_FAILED" ss_log_has "AUTHENTICATION_FAILED"
check "$L: no state in a" no_state_a
end_case "$L"

charon_stop s
finish
