#!/usr/bin/env bash
# Virtual IPs through configuration payloads (issue 15.1, 15.2; RFC 7296
# 2.19, 3.15) against Debian's strongSwan, both ways:
#  1. strongSwan road warrior (vips = 0.0.0.0) against an xiked gateway G
#     with pool = 10.3.0.0/24, dns, split and dns_domain: the client gets
#     10.3.0.1, G's Child SA is narrowed to it, ping crosses, G's status
#     shows the lease, and the lease goes offline when the client leaves.
#  2. xiked laptop L (vip = %config4) against a strongSwan gateway with
#     pools: L puts the address on its uplink as a /32, its routes in table
#     220 take it as source, ping crosses without -I, status shows the
#     address and DNS, and `xikectl down` removes address, routes and XFRM.
#  3. the same laptop route-based (if_id, interface): the address goes on
#     its XFRM interface and the route through it takes it as source.
# Nothing is configured by hand beyond the namespaces, their uplink
# addresses and the gateways' LAN address on lo.
#   tests/vm/run tests/vm/all.sh BUILD_DIR tests/vm/scenarios/vip.sh
#
#   c (charon, rw.example) e1 192.0.2.2 ---- g0 192.0.2.1  g (xiked G), lo 10.9.0.1
#   l (xiked L, laptop.example) e1 192.0.2.11 ---- s0 192.0.2.12  s (charon), lo 10.8.0.1
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

# has PATTERN CMD...: CMD's output matches the extended regular expression
# PATTERN (read whole first: `CMD | grep -q` under pipefail fails when grep
# quits early and CMD gets SIGPIPE).
has() {
  local re=$1 out
  shift
  out=$("$@" 2>&1) || true
  grep -Eq -- "$re" <<< "$out"
}
lacks() { ! has "$@"; }

VM_XFRM_ALGS=("4 aead rfc4106(gcm(aes)) $(hexkey 36) 128")
if vm_kernel_init; then ok "load IPsec modules, warm up AES-GCM"
else fail "load IPsec modules, warm up AES-GCM"; fi

ns_new g c l s
ns_link g g0 c e1
ns_link s s0 l e1
ns_addr g g0 192.0.2.1/24
ns_addr c e1 192.0.2.2/24
ns_addr s s0 192.0.2.12/24
ns_addr l e1 192.0.2.11/24
ns_addr g lo 10.9.0.1/32
ns_addr s lo 10.8.0.1/32
mkdir -p "$VM_SS_DIR"

# ---- 1. strongSwan road warrior, xiked gateway
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
remote_ts = %dynamic
pool = 10.3.0.0/24
dns = 10.9.0.53
split = 10.9.0.0/24
dns_domain = corp.example
EOF
cat > "$VM_SS_DIR/c.conf" <<EOF
connections {
  gw {
    version = 2
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    vips = 0.0.0.0
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = rw.example
    }
    remote {
      auth = psk
      id = gw.example
    }
    children {
      net {
        remote_ts = 10.9.0.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-gw {
    id-1 = rw.example
    id-2 = gw.example
    secret = "$XK_PSK"
  }
}
EOF
check "xiked G starts" xk_start g G
check "charon starts in c" charon_start c
check "c: swanctl loads" charon_load c "$VM_SS_DIR/c.conf"
check "c initiates asking for a virtual IP" charon_initiate c net 180
check "G has the Child SA" xk_wait_child G 30
check "c was given 10.3.0.1 (charon put it on e1)" \
  has "inet 10\.3\.0\.1/32" ip -n c addr show dev e1
check "G's Child SA is narrowed to the lease (policy to 10.3.0.1/32)" \
  has "src 10\.9\.0\.0/24 dst 10\.3\.0\.1/32" xfrm_policies g
check "G routes the lease into the tunnel (table 220)" \
  has "^10\.3\.0\.1 via 192\.0\.2\.2 dev g0 proto 150 src 10\.9\.0\.1" ip -n g route show table 220
check "c pings G's LAN from its virtual IP" ns_ping c -c 2 -W 20 10.9.0.1
check "the ping went through ESP (G's inbound counter grew)" \
  has "[1-9][0-9]*\(bytes\)" ip -n g -s xfrm state
xk_ctl G status > "$VM_SS_DIR/G.status" 2>&1 || true
sed 's/^/# G: /' "$VM_SS_DIR/G.status"
check "G's status shows the virtual IP" grep -q "^  virtual IP 10.3.0.1$" "$VM_SS_DIR/G.status"
check "G's status shows the pool" \
  grep -q "^pool 10.3.0.0/24: 1 online, 0 offline of 254 addresses" "$VM_SS_DIR/G.status"
check "G's status shows the online lease of rw.example" \
  grep -q "^  10.3.0.1 online  'rw.example'$" "$VM_SS_DIR/G.status"
check "charon parsed the CFG_REPLY: address, DNS, split subnet, DNS domain" \
  grep -q "CPRP(ADDR DNS SUBNET DOMAIN)" "$(charon_log c)"
grep -E "DNS|10\.9\.0\.53|corp\.example|INTERNAL" "$(charon_log c)" | tail -n 4 | sed 's/^/# c: /' || true
charon_stop c
check "G: the IKE SA goes with the client (nothing left in XFRM)" \
  wait_for 30 "G's xfrm to empty" xfrm_empty g
check "G: the lease is offline, kept for rw.example" \
  has "^pool 10\.3\.0\.0/24: 0 online, 1 offline" xk_ctl G status
check "G: no route left" routes_empty g

# ---- 2. xiked laptop, strongSwan gateway
cat > "$VM_SS_DIR/s.conf" <<EOF
connections {
  rw {
    version = 2
    local_addrs = 192.0.2.12
    pools = rwpool
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = sgw.example
    }
    remote {
      auth = psk
      id = laptop.example
    }
    children {
      net {
        local_ts = 10.8.0.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
pools {
  rwpool {
    addrs = 10.4.0.0/24
    dns = 10.8.0.53
  }
}
secrets {
  ike-rw {
    id-1 = laptop.example
    id-2 = sgw.example
    secret = "$XK_PSK"
  }
}
EOF
xk_conf L <<EOF
[conn gw]
remote_addr = 192.0.2.12
local_id = laptop.example
remote_id = sgw.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
vip = %config4
remote_ts = 10.8.0.0/24

[conn gwr]
remote_addr = 192.0.2.12
local_id = laptop.example
remote_id = sgw.example
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
vip = %config4
remote_ts = 10.8.0.0/24
if_id = 7
interface = xfrm-vip
EOF
check "charon starts in s" charon_start s
check "s: swanctl loads (with the pool)" charon_load s "$VM_SS_DIR/s.conf"
check "xiked L starts" xk_start l L
check "L: xikectl up waits and succeeds" xk_ctl L up gw
addrs=$(ip -n l -4 addr show dev e1)
while IFS= read -r line; do echo "# l: $line"; done <<< "$addrs"
check "L put its virtual IP on e1 as a /32" grep -q "inet 10.4.0.1/32 scope global e1" <<< "$addrs"
routes_show l
check "L's route to the gateway's LAN has the virtual IP as source" \
  has "^10\.8\.0\.0/24 via 192\.0\.2\.12 dev e1 proto 150 src 10\.4\.0\.1" ip -n l route show table 220
check "L's policies carry the virtual IP" \
  has "src 10\.4\.0\.1/32 dst 10\.8\.0\.0/24" xfrm_policies l
check "L pings the gateway's LAN (source chosen by the route)" ns_ping l -c 2 -W 20 10.8.0.1
xk_ctl L status > "$VM_SS_DIR/L.status" 2>&1 || true
sed 's/^/# L: /' "$VM_SS_DIR/L.status"
check "L's status shows the virtual IP" grep -q "^  virtual IP 10.4.0.1$" "$VM_SS_DIR/L.status"
check "L's status shows the DNS server" grep -q "^  DNS 10.8.0.53$" "$VM_SS_DIR/L.status"
check "L: xikectl down" xk_ctl L down gw
check "L: the virtual IP is gone from e1" \
  lacks "10\.4\.0\.1" ip -n l addr show dev e1
check "L: no route, no rule left" routes_empty l
check "L: no XFRM state or policy left" xfrm_empty l
check "s: the gateway's SA is gone too" wait_for 30 "s's xfrm to empty" xfrm_empty s

# ---- 3. the same laptop route-based: the virtual IP on its XFRM interface
check "L: xikectl up gwr (if_id 7, interface xfrm-vip)" xk_ctl L up gwr
ip -n l -4 addr show | sed 's/^/# l: /'
check "L put the virtual IP on xfrm-vip" has "inet 10\.4\.0\.1/32" ip -n l addr show dev xfrm-vip
check "L did not put it on e1" lacks "10\.4\.0\.1" ip -n l addr show dev e1
ip -n l route get 10.8.0.1 | sed 's/^/# l: /'
check "L's route to the gateway's LAN goes through xfrm-vip from the virtual IP" \
  has "dev xfrm-vip src 10\.4\.0\.1" ip -n l route get 10.8.0.1
check "L pings the gateway's LAN through xfrm-vip" ns_ping l -c 2 -W 20 10.8.0.1
check "L: xikectl down gwr" xk_ctl L down gwr
check "L: xfrm-vip is gone (xiked made it)" lacks "xfrm-vip" ip -n l link show
check "L: the virtual IP is gone" lacks "10\.4\.0\.1" ip -n l addr
check "L: no XFRM state or policy left (route-based)" xfrm_empty l

charon_stop s
xk_cleanup
finish
