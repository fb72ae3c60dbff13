#!/usr/bin/env bash
# Kernel tier of IKE fragmentation (RFC 7383): the path between A and B has
# an MTU of 400 and a router that drops every IP fragment (as many NATs and
# firewalls do), and IKE_AUTH carries 8 + 8 traffic selectors, so it only
# gets through as IKE fragments.
#   1. xiked A -> xiked B, fragment_size = 400 on both: the Child SA comes
#      up, ping crosses it, both sides sent and reassembled SKF fragments,
#      and the router dropped no IP fragment;
#   2. the same with fragmentation = no on A: IKE_AUTH goes out as IP
#      fragments, the router drops them, no Child SA (the test bites);
#   3. xiked A -> strongSwan (charon fragment_size = 400, fragmentation =
#      yes): up, ping, fragments both ways;
#   4. strongSwan -> xiked A: the same with charon initiating.
#   tests/vm/run tests/vm/scenarios/frag.sh BUILD_DIR
#
# Topology (namespaces; inner addresses on lo; every veth MTU 400):
#   a (xiked A)  veth_a 192.0.2.1/24 -- veth_ra 192.0.2.254  r  veth_rb 198.51.100.254 -- veth_b 198.51.100.2/24  b
#     10.1.0.1                          (drops IP fragments)                                     10.2.0.1
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
export XIKED_CHARON_LOG=${XIKED_CHARON_LOG:-2}

note "kernel $(uname -r)"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi
modprobe -a nf_tables 2>/dev/null || true

# ---------------------------------------------------------------- topology
ns_new a r b
ns_link a veth_a r veth_ra
ns_link r veth_rb b veth_b
for x in "a veth_a" "r veth_ra" "r veth_rb" "b veth_b"; do
  set -- $x
  ns "$1" ip link set "$2" mtu 400
done
ns_addr a veth_a 192.0.2.1/24
ns_addr r veth_ra 192.0.2.254/24
ns_addr r veth_rb 198.51.100.254/24
ns_addr b veth_b 198.51.100.2/24
ns_addr a lo 10.1.0.1/32
ns_addr b lo 10.2.0.1/32
# Each host's default route through the router, as any host on a routed network has;
# the routes into the tunnel are xiked's (table 220).
ns a ip route add default via 192.0.2.254
ns b ip route add default via 198.51.100.254
ns r sysctl -qw net.ipv4.ip_forward=1
# Before any defragmentation (priority -500 < conntrack's -400): drop and count IP fragments.
ns r nft -f - <<'EOF'
table ip xkfrag {
  counter ipfrags {
  }
  chain pre {
    type filter hook prerouting priority -500;
    ip frag-off & 0x3fff != 0 counter name "ipfrags" drop
  }
}
EOF
check "router forwards a -> b" ns_ping a -c 1 -W 5 198.51.100.2
ipfrags() { ns r nft list counter ip xkfrag ipfrags | sed -nE 's/.*packets ([0-9]+).*/\1/p'; }

TS_A=$(printf '10.1.%d.0/24, ' 0 1 2 3 4 5 6 7); TS_A=${TS_A%, }
TS_B=$(printf '10.2.%d.0/24, ' 0 1 2 3 4 5 6 7); TS_B=${TS_B%, }

conf_a() { # conf_a [EXTRA LINE]
  xk_conf A <<EOF
[conn peer]
fragment_size = 400
local_addr = 192.0.2.1
remote_addr = 198.51.100.2
local_id = a.example
remote_id = b.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = $TS_A
remote_ts = $TS_B
${1:-}
EOF
}

ping3() {
  local out
  out=$(ns_ping a -c 3 -W 5 -I 10.1.0.1 10.2.0.1 2>&1) || { echo "$out"; return 1; }
  [[ $out == *'3 packets received'* ]] || { echo "$out"; return 1; }
}

# stat_pos NAME KEY: the status counter KEY of daemon NAME is > 0.
stat_pos() {
  local j v
  j=$(xk_json "$1") || return 1
  [[ $j =~ \"$2\":([0-9]+) ]] || { echo "no $2 in status"; return 1; }
  v=${BASH_REMATCH[1]}
  echo "$1 $2 = $v"
  [ "$v" -gt 0 ]
}
no_ipfrags() { local n; n=$(ipfrags); echo "IP fragments dropped by r: $n"; [ "$n" -eq 0 ]; }
all_empty() { local n; for n in "$@"; do xfrm_empty "$n" || return 1; done; }

# ---------------------------------------------------------------- xiked <-> xiked
note "---- xiked A -> xiked B, IKE_AUTH above the path MTU"
conf_a
xk_conf B <<EOF
[conn peer]
fragment_size = 400
local_addr = 198.51.100.2
remote_addr = %any
local_id = b.example
remote_id = a.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = $TS_B
remote_ts = $TS_A
EOF
xk_start b B
xk_start a A
xk_ctl A up peer > /dev/null || true
check "xiked: Child SA up with IKE fragments" xk_wait_child A 60
check "xiked: B has the Child SA" xk_wait_child B 30
check "xiked: ping 10.1.0.1 -> 10.2.0.1" ping3
check "xiked: A sent fragments" stat_pos A frag_tx
check "xiked: A reassembled B's fragmented IKE_AUTH response" stat_pos A frag_reassembled
check "xiked: B reassembled A's fragmented IKE_AUTH request" stat_pos B frag_reassembled
check "xiked: no IP fragment was needed" no_ipfrags
xk_ctl A down peer > /dev/null || true
xk_cleanup
check "xiked: nothing left in a and b" wait_for 30 "xfrm to empty" all_empty a b

note "---- the same with fragmentation = no on A"
conf_a "fragmentation = no"
xk_start b B
xk_start a A
xk_ctl A up peer > /dev/null || true
sleep 12
not_up() { ! xk_child_installed A; }
check "no fragmentation: no Child SA after 12 s" not_up
check "no fragmentation: the router dropped IP fragments" \
  bash -c '[ "$(ip netns exec r nft list counter ip xkfrag ipfrags | sed -nE "s/.*packets ([0-9]+).*/\1/p")" -gt 0 ]'
xk_cleanup
check "no fragmentation: nothing left in a and b" wait_for 30 "xfrm to empty" all_empty a b

# ---------------------------------------------------------------- xiked -> strongSwan
note "---- xiked A -> strongSwan, IKE_AUTH above the path MTU"
ns r nft reset counter ip xkfrag ipfrags > /dev/null
mkdir -p "$VM_SS_DIR"
cat > "$VM_SS_DIR/x.conf" <<EOF
connections {
  x {
    version = 2
    local_addrs = 198.51.100.2
    remote_addrs = %any
    fragmentation = yes
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = b.example
    }
    remote {
      auth = psk
      id = a.example
    }
    children {
      net {
        local_ts = $TS_B
        remote_ts = $TS_A
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-x {
    id-1 = a.example
    id-2 = b.example
    secret = "$XK_PSK"
  }
}
EOF
check "charon starts in b" charon_start b "  fragment_size = 400"
check "swanctl loads the connection" charon_load b "$VM_SS_DIR/x.conf"
conf_a
xk_start a A
xk_ctl A up peer > /dev/null || true
ss_child_installed() { swanctl_in b --list-sas | grep -q 'INSTALLED'; }
check "strongSwan: Child SA up with IKE fragments" xk_wait_child A 90
check "strongSwan: charon has the Child SA" wait_for 30 "strongSwan's Child SA" ss_child_installed
check "strongSwan: ping 10.1.0.1 -> 10.2.0.1" ping3
check "strongSwan: A sent fragments" stat_pos A frag_tx
check "strongSwan: A reassembled charon's fragmented response" stat_pos A frag_reassembled
check "strongSwan: no IP fragment was needed" no_ipfrags
xk_ctl A down peer > /dev/null || true
xk_cleanup
charon_stop b
check "strongSwan: nothing left in a and b" wait_for 30 "xfrm to empty" all_empty a b

# ---------------------------------------------------------------- strongSwan -> xiked
note "---- strongSwan -> xiked A, IKE_AUTH above the path MTU"
ns r nft reset counter ip xkfrag ipfrags > /dev/null
sed -i 's/remote_addrs = %any/remote_addrs = 192.0.2.1/' "$VM_SS_DIR/x.conf"
check "charon starts in b" charon_start b "  fragment_size = 400"
check "swanctl loads the connection" charon_load b "$VM_SS_DIR/x.conf"
conf_a
xk_start a A
check "strongSwan initiates: swanctl --initiate" charon_initiate b net 120
check "strongSwan initiates: A has the Child SA" xk_wait_child A 30
check "strongSwan initiates: ping 10.1.0.1 -> 10.2.0.1" ping3
check "strongSwan initiates: A reassembled charon's fragmented request" stat_pos A frag_reassembled
check "strongSwan initiates: A answered in fragments" stat_pos A frag_tx
check "strongSwan initiates: no IP fragment was needed" no_ipfrags
xk_cleanup
charon_stop b
check "strongSwan initiates: nothing left in a and b" wait_for 30 "xfrm to empty" all_empty a b
finish
