#!/usr/bin/env bash
# Kernel tier of colliding selectors (issue 12.1): a road-warrior gateway
# (xiked G, remote_id = %any, PSK, fixed remote_ts) and two real strongSwan
# clients with different identities that both ask for the same inner
# network. The first gets its tunnel; the second's Child SA is refused with
# TS_UNACCEPTABLE and one log line naming the first; the first tunnel keeps
# its policies and its traffic. No route is added by hand: xiked and
# charon install their own (table 220).
#   tests/vm/run tests/vm/scenarios/collide.sh BUILD_DIR
#
# Topology (namespaces; a bridge in g; inner addresses on lo):
#   c1 (charon, c1.example) e1 192.0.2.2 --+
#        10.1.0.1                            br0 192.0.2.1  g (xiked G)
#   c2 (charon, c2.example) e2 192.0.2.3 --+                10.9.0.1
#        10.1.0.1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
on_exit() {
  local rc=$?
  set +e
  xk_cleanup
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT

VM_XFRM_ALGS=("4 aead rfc4106(gcm(aes)) $(hexkey 36) 128")
if vm_kernel_init; then ok "load IPsec modules, warm up AES-GCM"
else fail "load IPsec modules, warm up AES-GCM"; fi

modprobe bridge 2>/dev/null || true
ns_new g c1 c2
ip -n g link add br0 type bridge
ip -n g link set br0 up
ns_link g p1 c1 e1
ns_link g p2 c2 e2
ip -n g link set p1 master br0
ip -n g link set p2 master br0
ns_addr g br0 192.0.2.1/24
ns_addr c1 e1 192.0.2.2/24
ns_addr c2 e2 192.0.2.3/24
ns_addr g lo 10.9.0.1/32
ns_addr c1 lo 10.1.0.1/32
ns_addr c2 lo 10.1.0.1/32
check "bridge: c1 reaches g" ns_ping c1 -c 1 -W 5 192.0.2.1
check "bridge: c2 reaches g" ns_ping c2 -c 1 -W 5 192.0.2.1

xk_conf G <<EOF
[conn rw]
local_addr = 192.0.2.1
remote_addr = %any
local_id = gw.example
remote_id = %any
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = 10.9.0.0/24
remote_ts = 10.1.0.0/24
EOF

# client NS ID ADDR: a strongSwan client asking for 10.1.0.0/24 === 10.9.0.0/24.
client() {
  cat > "$VM_SS_DIR/$1.conf" <<EOF
connections {
  gw {
    version = 2
    local_addrs = $3
    remote_addrs = 192.0.2.1
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = $2
    }
    remote {
      auth = psk
      id = gw.example
    }
    children {
      net {
        local_ts = 10.1.0.0/24
        remote_ts = 10.9.0.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-$1 {
    id-1 = $2
    id-2 = gw.example
    secret = "$XK_PSK"
  }
}
EOF
}
mkdir -p "$VM_SS_DIR"
client c1 c1.example 192.0.2.2
client c2 c2.example 192.0.2.3

# policies_of NS REQID: how many of NS's policies carry REQID
policies_of() { xfrm_policies "$1" | grep -c "reqid $2 " || true; }
g_reqid() { xfrm_policies g | awk '/reqid [1-9]/ { for (i = 1; i <= NF; i++) if ($i == "reqid") { print $(i + 1); exit } }'; }

check "xiked G starts" xk_start g G
check "charon starts in c1" charon_start c1
check "charon starts in c2" charon_start c2
check "c1: swanctl loads" charon_load c1 "$VM_SS_DIR/c1.conf"
check "c2: swanctl loads" charon_load c2 "$VM_SS_DIR/c2.conf"
check "c1 initiates: its tunnel comes up" charon_initiate c1 net 180
check "G has c1's Child SA" xk_wait_child G 30
check "c1 pings G's LAN through the tunnel (the first packet waits for the cipher)" \
  ns_ping c1 -c 1 -W 20 -I 10.1.0.1 10.9.0.1
reqid=$(g_reqid)
note "G's policies (reqid $reqid):"
xfrm_policies g | grep -E '^src|reqid' | sed 's/^/# /'
n_before=$(policies_of g "$reqid")
check "G holds 3 policies for c1's tunnel" test "$n_before" = 3

# The second identity asks for the same selectors.
if charon_initiate c2 net 180 > "$VM_SS_DIR/c2.initiate" 2>&1; then
  fail "c2's Child SA is refused" "swanctl --initiate succeeded"
else
  ok "c2's Child SA is refused"
fi
sed 's/^/# c2: /' "$VM_SS_DIR/c2.initiate" | tail -n 5
check "c2 was told TS_UNACCEPTABLE" grep -q "TS_UNACCEPTABLE" "$(charon_log c2)"
check "G's log names the holder: conn 'rw', peer 'c1.example'" \
  grep -q "refused: its traffic selectors (10.9.0.0/24 === 10.1.0.0/24) are held by conn 'rw' (Child SA rw, peer 'c1.example'" \
  "$XK_DIR/G.log"
grep "refused: its traffic selectors" "$XK_DIR/G.log" | tail -n 1 | sed 's/^/# G: /'
check "G still holds c1's 3 policies, no other" \
  test "$(policies_of g "$reqid")/$(xfrm_policies g | grep -c '^src')" = 3/3
check "G: 2 states (c1's tunnel only)" test "$(ip -n g xfrm state | grep -c '^src')" = 2
check "c1 still pings G's LAN through the tunnel" ns_ping c1 -c 3 -W 5 -I 10.1.0.1 10.9.0.1
check "the ping went through ESP (c1's outbound counter grew)" \
  eval 'ip -n c1 -s xfrm state | grep -q "[1-9][0-9]*(bytes)"'

charon_stop c2
charon_stop c1
xk_cleanup
check "G: nothing left" wait_for 30 "G's xfrm to empty" \
  eval 'test -z "$(ip -n g xfrm state)" && test -z "$(xfrm_policies g)"'
finish
