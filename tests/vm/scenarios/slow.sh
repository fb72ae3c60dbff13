#!/usr/bin/env bash
# Kernel tier of slow exchanges: an IKE_AUTH that outlives the inbound SPI's
# reservation. XFRM_MSG_ALLOCSPI makes a larval state that the kernel deletes
# after net.core.xfrm_acq_expires (left at its default, 30 s), reporting a
# hard expire for it. Here the initiator's IKE_AUTH answers are dropped with
# nftables for 35 s after the first one; its retransmission after that gets
# through, and the Child SA must still be installed under the SPI the peer
# was given, and carry traffic:
#   1. xiked A initiates to xiked B;
#   2. xiked A initiates to strongSwan.
#   tests/vm/run tests/vm/scenarios/slow.sh BUILD_DIR
# XIKED_VM_OUT=DIR keeps the daemons' logs.
#
# Topology (namespaces; inner addresses on lo; each host's default route
# points at the peer of the case, nothing else is routed by hand):
#   a (xiked A)  xa 192.0.2.1/24 ------------ xb 192.0.2.2/24     b (xiked B)  10.2.0.1
#   10.1.0.1     sa 198.51.100.1/24 --------- ss 198.51.100.2/24  s (strongSwan)  10.3.0.1
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
  # Files only: 9p refuses to create sockets.
  for d in "$XK_DIR" "$VM_SS_DIR"; do
    mkdir -p "$XIKED_VM_OUT/slow/${d##*/}"
    find "$d" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.out' \) \
      -exec cp {} "$XIKED_VM_OUT/slow/${d##*/}/" \; 2>/dev/null || true
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

note "kernel $(uname -r)"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi
modprobe -a nf_tables 2>/dev/null || true

ns_new a b s
ns_link a xa b xb
ns_link a sa s ss
ns_addr a xa 192.0.2.1/24
ns_addr b xb 192.0.2.2/24
ns_addr a sa 198.51.100.1/24
ns_addr s ss 198.51.100.2/24
ns_addr a lo 10.1.0.1/32
ns_addr b lo 10.2.0.1/32
ns_addr s lo 10.3.0.1/32
ns b ip route add default via 192.0.2.1
ns s ip route add default via 198.51.100.1
acq=$(ns a cat /proc/sys/net/core/xfrm_acq_expires)
note "net.core.xfrm_acq_expires in a: $acq s"
check "xfrm_acq_expires is at its default (30 s)" test "$acq" = 30

# Inner addresses take only what came out of a tunnel, so a ping that gets
# through proves the tunnel (the default routes alone would carry it in the clear).
for n in a b s; do
  ns "$n" nft -f - <<'EOF'
table inet tunnel_only {
  chain in {
    type filter hook input priority 0;
    ip daddr 10.0.0.0/8 meta ipsec missing drop
  }
}
EOF
done

# drop_auth_answers on|off: a drops the IKE_AUTH answers it receives: exchange
# type 35 at byte 18 of the IKE header, which follows the 8-byte UDP header on
# port 500 and the 4-byte non-ESP marker too on port 4500 (where MOBIKE moves
# IKE_AUTH, RFC 4555 3.3).
drop_auth_answers() {
  if [ "$1" = on ]; then
    ns a nft -f - <<'EOF'
table inet slow {
  chain in {
    type filter hook input priority 0;
    udp sport 500 @th,208,8 35 counter drop
    udp sport 4500 @th,64,32 0 @th,240,8 35 counter drop
  }
}
EOF
  else
    ns a nft delete table inet slow
  fi
}
dropped() { # dropped: how many IKE_AUTH answers a has dropped so far
  local out n=0 re='counter packets ([0-9]+)'
  out=$(ns a nft list table inet slow) || return 1
  while [[ $out =~ $re ]]; do
    n=$((n + BASH_REMATCH[1]))
    out=${out#*"${BASH_REMATCH[0]}"}
  done
  echo "$n"
}
some_dropped() { [ "$(dropped)" -gt 0 ]; }
ping3() { # ping3 NS SRC DST: 3 echo requests, all answered
  local out
  out=$(ns_ping "$1" -c 3 -W 5 -I "$2" "$3" 2>&1) || { echo "$out"; return 1; }
  echo "${out##*---}"
  [[ $out == *'3 packets received'* ]] || { echo "$out"; return 1; }
}
# larval_reserved_again NAME: xiked NAME logged that an expired SPI reservation was made again
larval_reserved_again() { grep -E 'reservation of SPI [0-9a-f]{8} expired .*(reserved again|adding the SA)' "$XK_DIR/$1.log"; }
states() { count_lines '^src' "$(ip -n "$1" xfrm state)"; echo "$REPLY"; }

# slow_auth LABEL: A's `xikectl up peer` with IKE_AUTH answers dropped for
# 35 s after the first one; then the checks common to both cases.
slow_auth() {
  local label=$1 t0 t1
  drop_auth_answers on
  t0=$EPOCHREALTIME
  check "$label: xikectl up --no-wait (its answers are held back 35 s)" xk_ctl A up peer --no-wait
  if wait_for 120 "the first IKE_AUTH answer to be dropped" some_dropped; then
    ok "$label: the first IKE_AUTH answer was dropped after $(((${EPOCHREALTIME/./} - ${t0/./}) / 1000)) ms"
  else
    fail "$label: the first IKE_AUTH answer was dropped"
  fi
  t1=$EPOCHREALTIME
  sleep 35
  note "$label: $(dropped) IKE_AUTH answers dropped in 35 s; A: $(xk_json A | head -c 300)"
  check "$label: no Child SA installed while the answers are dropped" eval '! xk_child_installed A'
  drop_auth_answers off
  if xk_wait_child A 120; then
    ok "$label: Child SA INSTALLED in A $(((${EPOCHREALTIME/./} - ${t1/./}) / 1000)) ms after its first answer was dropped"
  else
    fail "$label: Child SA INSTALLED in A after the slow IKE_AUTH"
    xk_log_tail A 40
  fi
  check "$label: A's SPI reservation expired and was made again (xiked's log)" larval_reserved_again A
  check "$label: A holds 2 states (nothing larval left over)" test "$(states a)" = 2
}

# ---------------------------------------------------------------- 1. xiked <-> xiked
note "---- 1. xiked A -> xiked B, IKE_AUTH answers dropped for 35 s"
ns a ip route replace default via 192.0.2.2
xk_conf A <<EOF
[conn peer]
local_addr = 192.0.2.1
remote_addr = 192.0.2.2
local_id = a.example
remote_id = b.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = 10.1.0.0/24
remote_ts = 10.2.0.0/24
EOF
xk_conf B <<EOF
[conn peer]
local_addr = 192.0.2.2
remote_addr = 192.0.2.1
local_id = b.example
remote_id = a.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = 10.2.0.0/24
remote_ts = 10.1.0.0/24
EOF
check "xiked B starts" xk_start b B
check "xiked A starts" xk_start a A
slow_auth "xiked-xiked"
check "xiked-xiked: B's Child SA INSTALLED" xk_wait_child B 20
check "xiked-xiked: B holds 2 states" test "$(states b)" = 2
check "xiked-xiked: ping 10.1.0.1 -> 10.2.0.1 through the tunnel" ping3 a 10.1.0.1 10.2.0.1
check "xiked-xiked: A's status counters > 0" xk_counters_positive A
check "xiked-xiked: xiked A exits 0 on SIGTERM" xk_stop A
check "xiked-xiked: xiked B exits 0 on SIGTERM" xk_stop B

# ---------------------------------------------------------------- 2. xiked -> strongSwan
note "---- 2. xiked A -> strongSwan, IKE_AUTH answers dropped for 35 s"
ns a ip route replace default via 198.51.100.2
mkdir -p "$VM_SS_DIR"
cat > "$VM_SS_DIR/slow.conf" <<EOF
connections {
  x {
    version = 2
    local_addrs = 198.51.100.2
    remote_addrs = 198.51.100.1
    proposals = aes256gcm16-prfsha256-x25519
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
}
EOF
check "charon starts in s" charon_start s
check "swanctl loads the connection" charon_load s "$VM_SS_DIR/slow.conf"
xk_conf A <<EOF
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
: > "$XK_DIR/A.log"
check "xiked A starts" xk_start a A
slow_auth "xiked-strongSwan"
ss_child_installed() { swanctl_in s --list-sas | grep -q 'INSTALLED'; }
check "xiked-strongSwan: strongSwan's Child SA INSTALLED" wait_for 20 "strongSwan's Child SA" ss_child_installed
check "xiked-strongSwan: s holds 2 states" test "$(states s)" = 2
check "xiked-strongSwan: ping 10.1.0.1 -> 10.3.0.1 through the tunnel" ping3 a 10.1.0.1 10.3.0.1
check "xiked-strongSwan: A's status counters > 0" xk_counters_positive A
check "xiked-strongSwan: xiked A exits 0 on SIGTERM" xk_stop A
charon_stop s

xk_cleanup
save_logs
finish
