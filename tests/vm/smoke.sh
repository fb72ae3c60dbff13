#!/usr/bin/env bash
# Proves the VM harness: the kernel has what xiked needs (ESP with GCM,
# CBC+HMAC and ChaCha20-Poly1305, xfrm interfaces, VTI) and strongSwan can
# build a tunnel between two namespaces.  Run: tests/vm/run tests/vm/smoke.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/lib.sh"
vm_require

note "kernel $(uname -r), script started at uptime $(cut -d' ' -f1 /proc/uptime) s"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi

# --- kernel features, in a namespace of their own
ns_new feat
probe() { xfrm_probe -n feat "$@"; }
check "ESP state, AES-GCM (rfc4106)" probe 4 aead 'rfc4106(gcm(aes))' "$(hexkey 36)" 128
check "ESP state, AES-CBC + HMAC-SHA256" \
  probe 4 enc 'cbc(aes)' "$(hexkey 32)" auth-trunc 'hmac(sha256)' "$(hexkey 32)" 128
check "ESP state, ChaCha20-Poly1305 (rfc7539esp)" \
  probe 4 aead 'rfc7539esp(chacha20,poly1305)' "$(hexkey 36)" 128
check "ESP state over IPv6, AES-GCM" probe 6 aead 'rfc4106(gcm(aes))' "$(hexkey 36)" 128
xfrmi() {
  ns feat ip link add xfrm0 type xfrm if_id 5 &&
    ns feat ip -d link show xfrm0 | grep -q 'if_id 0x5'
}
check "xfrm interface (if_id 5)" xfrmi
check "vti interface" ns feat ip link add vti0 type vti local 192.0.2.1 remote 192.0.2.2 key 5

# --- two hosts over veth; inner addresses on lo
ns_new a b
ns_link a va b vb
ns_addr a va 192.0.2.1/24 2001:db8::1/64
ns_addr b vb 192.0.2.2/24 2001:db8::2/64
ns_addr a lo 10.1.0.1/32
ns_addr b lo 10.2.0.1/32
check "veth IPv4" ns_ping a -c 1 -W 5 192.0.2.2
check "veth IPv6 (nodad)" ns_ping a -6 -c 1 -W 5 2001:db8::2

# swanctl_conf LOCAL REMOTE LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS
swanctl_conf() {
  cat <<EOF
connections {
  smoke {
    version = 2
    local_addrs = $1
    remote_addrs = $2
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = $3
    }
    remote {
      auth = psk
      id = $4
    }
    children {
      net {
        local_ts = $5
        remote_ts = $6
        esp_proposals = aes256gcm16
        mode = tunnel
      }
    }
  }
}
secrets {
  ike-smoke {
    id-1 = a.example
    id-2 = b.example
    secret = "correct horse battery staple"
  }
}
EOF
}
mkdir -p "$VM_SS_DIR"
swanctl_conf 192.0.2.1 192.0.2.2 a.example b.example 10.1.0.1/32 10.2.0.1/32 > "$VM_SS_DIR/a.conf"
swanctl_conf 192.0.2.2 192.0.2.1 b.example a.example 10.2.0.1/32 10.1.0.1/32 > "$VM_SS_DIR/b.conf"

check "charon starts in a" charon_start a
check "charon starts in b" charon_start b
check "swanctl loads a's config" charon_load a "$VM_SS_DIR/a.conf"
check "swanctl loads b's config" charon_load b "$VM_SS_DIR/b.conf"
note "initiating"
t=$EPOCHREALTIME
check "IKE SA and Child SA established" charon_initiate a net
note "initiate took $(((${EPOCHREALTIME/./} - ${t/./}) / 1000)) ms"

check "ping 10.1.0.1 -> 10.2.0.1 through the tunnel" ns_ping a -c 3 -W 5 -I 10.1.0.1 10.2.0.1

sa_count() { ns "$1" ip xfrm state | grep -c '^src' || true; }
note "xfrm states: a has $(sa_count a), b has $(sa_count b)"
check "two ESP SAs in a" test "$(sa_count a)" -eq 2
check "two ESP SAs in b" test "$(sa_count b)" -eq 2
# Each SA of a carried the 3 echo requests or the 3 replies.
min_packets() {
  ns "$1" ip -s xfrm state | grep -oE '[0-9]+\(packets\)' | sed 's/(.*//' | sort -n | head -n 1
}
check "each SA in a counted >= 3 packets" test "$(min_packets a)" -ge 3
ns a ip -s xfrm state | sed -E 's/0x[0-9a-f]{16,}/KEY/g; s/^/  | /' | head -n 40

charon_stop a
charon_stop b
check "SAs removed when charon stops" test "$(sa_count a)$(sa_count b)" = 00
note "done"
finish
