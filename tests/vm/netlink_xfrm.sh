#!/usr/bin/env bash
# Kernel test of xiked's netlink backend (netlink/xfrm.c) on a kernel with ESP:
#   - the host probe (tests/host/xfrm_probe.c) with --expect-esp;
#   - SAs installed through kernel_ops (tests/host/xfrm_cli.c): AES-GCM 128 and 256,
#     ChaCha20-Poly1305, AES-CBC + HMAC-SHA-256, tunnel and transport, IPv4 and IPv6,
#     with UDP encapsulation, mark, if_id, ESN; each checked in `ip xfrm state`, queried
#     and deleted; policies with templates, marks and if_ids checked in `ip xfrm policy`;
#   - traffic between two namespaces through SAs and policies installed only by the
#     backend (GCM tunnel, ChaCha20 transport over IPv6, CBC+HMAC tunnel in UDP on 4500),
#     with query_sa counting the packets;
#   - soft and hard expire events from lifetimes;
#   - flush_stale removes only entries with a reqid in the xiked range, leaving another
#     daemon's states and policies (added with ip) alone.
# Run: XIKED_BUILD=build tests/vm/run tests/vm/netlink_xfrm.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/lib.sh"
vm_require

build=${XIKED_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
cli=$build/tests/host/xfrm_cli
probe=$build/tests/host/xfrm_probe
if [ ! -x "$cli" ] || [ ! -x "$probe" ]; then echo "build first: $cli, $probe missing" >&2; exit 2; fi

note "kernel $(uname -r)"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi

R0=0x78690000 # XIKED_REQID_BASE
r() { printf '%d' $((R0 + $1)); } # reqid as ip prints it (decimal)
key() { hexkey "$1"; }             # 0x5a5a...: fixed test keys

probe_out=/tmp/xiked-probe.out
if "$probe" --expect-esp > "$probe_out" 2>&1; then ok "host probe with ESP present: $(tail -n 1 "$probe_out")"
else fail "host probe with ESP present" "$(tail -n 1 "$probe_out")"; grep -v '^ok' "$probe_out" | sed 's/^/       | /'; fi

# ------------------------------------------------------------ states, one by one
ns_new feat
cli() { ns feat "$cli" "$@"; }
state_has() { # state_has SPI REGEX...: every regex matches the state's block in ip output
  local blk re
  blk=$(ns feat ip xfrm state | awk -v spi="spi $1 " 'BEGIN{RS="\nsrc "} index($0, spi)')
  [ -n "$blk" ] || { echo "no state with spi $1"; return 1; }
  for re in "${@:2}"; do
    grep -Eq -- "$re" <<< "$blk" || { echo "missing /$re/ in:"; echo "$blk"; return 1; }
  done
}
gone() { ! ns feat ip xfrm state | grep -q "spi $1 "; }

check "add GCM-128 tunnel, encap, mark, if_id" \
  cli add-sa src=192.0.2.1 dst=192.0.2.2 spi=0xc0000001 reqid=$R0 \
      aead='rfc4106(gcm(aes))' key="$(key 20)" icv=128 encap=4500:4501 mark=0x10/0xff if_id=5 replay=64
check "  ip shows it" state_has 0xc0000001 "proto esp spi 0xc0000001 reqid $(r 0) mode tunnel" \
  "aead rfc4106\(gcm\(aes\)\) $(key 20) 128" "encap type espinudp sport 4500 dport 4501" \
  "mark 0x10/0xff" "if_id 0x5" "af-unspec" "replay_window 64" "bitmap-length 2"
check "  query_sa" cli query-sa dst=192.0.2.2 spi=0xc0000001 mark=0x10/0xff
check "  query_sa with another mark fails" bash -c "! '$cli' query-sa dst=192.0.2.2 spi=0xc0000001 mark=0x20/0xff"
check "  add again is refused (EEXIST)" bash -c "ip netns exec feat '$cli' add-sa src=192.0.2.1 dst=192.0.2.2 \
  spi=0xc0000001 reqid=$R0 aead='rfc4106(gcm(aes))' key=$(key 20) mark=0x10/0xff | grep -q 'error: -17'"
check "  del_sa" cli del-sa dst=192.0.2.2 spi=0xc0000001 mark=0x10/0xff
check "  gone" gone 0xc0000001

check "add GCM-256 IPv6 tunnel, ESN, window 128" \
  cli add-sa src=2001:db8::1 dst=2001:db8::2 spi=0xc0000002 reqid=$R0 \
      aead='rfc4106(gcm(aes))' key="$(key 36)" icv=128 esn replay=128 in
check "  ip shows it" state_has 0xc0000002 "src 2001:db8::1 dst 2001:db8::2|2001:db8::1 dst 2001:db8::2" \
  "aead rfc4106\(gcm\(aes\)\) $(key 36) 128" "esn" "replay_window 128"
check "  del_sa" cli del-sa dst=2001:db8::2 spi=0xc0000002
check "  gone" gone 0xc0000002

check "add ChaCha20-Poly1305 transport with selector" \
  cli add-sa src=192.0.2.1 dst=192.0.2.2 spi=0xc0000003 reqid=$((R0 + 3)) mode=transport \
      aead='rfc7539esp(chacha20,poly1305)' key="$(key 36)" icv=128 sel=192.0.2.1/32:192.0.2.2/32:17:53
check "  ip shows it" state_has 0xc0000003 "mode transport" \
  "aead rfc7539esp\(chacha20,poly1305\) $(key 36) 128" "sel src 192.0.2.1/32 dst 192.0.2.2/32 proto udp( sport 0)? dport 53"
check "  del_sa" cli del-sa dst=192.0.2.2 spi=0xc0000003

check "add AES-CBC + HMAC-SHA-256 transport, lifetimes" \
  cli add-sa src=192.0.2.1 dst=192.0.2.2 spi=0xc0000004 reqid=$((R0 + 4)) mode=transport \
      enc='cbc(aes)' key="$(key 16)" auth='hmac(sha256)' akey="$(key 32)" trunc=128 \
      soft_bytes=1000000 hard_bytes=2000000 soft_add=3000 hard_add=3600
check "  ip shows it" state_has 0xc0000004 "enc cbc\(aes\) $(key 16)" \
  "auth-trunc hmac\(sha256\) $(key 32) 128" "sel src 192.0.2.1/32 dst 192.0.2.2/32"
check "  lifetimes" bash -c "ip netns exec feat ip -s xfrm state | grep -A14 'spi 0xc0000004' |
  grep -q 'add: soft 3000(sec), hard 3600(sec)'"
check "  del_sa" cli del-sa dst=192.0.2.2 spi=0xc0000004

spi=$(cli get-spi src=192.0.2.2 dst=192.0.2.1 reqid=$((R0 + 5)) || true)
check "get_spi gives an SPI in 0xc0000000-0xcfffffff" bash -c "[[ '$spi' =~ ^0xc[0-9a-f]{7}$ ]]"
check "update_sa fills the larval state" \
  cli update-sa src=192.0.2.2 dst=192.0.2.1 spi="$spi" reqid=$((R0 + 5)) in \
      aead='rfc4106(gcm(aes))' key="$(key 36)" icv=128
check "  ip shows it keyed" state_has "$spi" "aead rfc4106\(gcm\(aes\)\) $(key 36) 128" "reqid $(r 5)"
check "  del_sa" cli del-sa dst=192.0.2.1 spi="$spi"
check "bad key length refused by the kernel (EINVAL)" bash -c "ip netns exec feat '$cli' add-sa src=192.0.2.1 \
  dst=192.0.2.2 spi=0xc0000009 aead='rfc4106(gcm(aes))' key=$(key 7) | grep -q 'error: -22'"

# ------------------------------------------------------------ policies
pol_has() { # pol_has SEL-REGEX REGEX...: a policy block matching both
  local blk re
  blk=$(ns feat ip xfrm policy | awk -v s="$1" 'BEGIN{RS="\nsrc "} $0 ~ s')
  [ -n "$blk" ] || { echo "no policy /$1/"; ns feat ip xfrm policy; return 1; }
  for re in "${@:2}"; do
    grep -Eq -- "$re" <<< "$blk" || { echo "missing /$re/ in:"; echo "$blk"; return 1; }
  done
}
check "add_policy out, tunnel template, mark, if_id" \
  cli add-policy sel=10.1.0.0/16:10.2.0.0/16 dir=out reqid=$R0 tmpl=192.0.2.1:192.0.2.2 mark=0x10/0xff if_id=5
check "  ip shows it" pol_has "10.1.0.0/16 dst 10.2.0.0/16" "dir out priority [0-9]+" "mark 0x10/0xff" \
  "tmpl src 192.0.2.1 dst 192.0.2.2" "proto esp reqid $(r 0) mode tunnel" "if_id 0x5"
check "add_policy in and fwd (IPv6, tcp/443)" bash -c "
  ip netns exec feat '$cli' add-policy 'sel=[2001:db8:2::]/48:[2001:db8:1::]/48:6:443' dir=in reqid=$R0 \
     'tmpl=[2001:db8::2]:[2001:db8::1]' &&
  ip netns exec feat '$cli' add-policy 'sel=[2001:db8:2::]/48:[2001:db8:1::]/48:6:443' dir=fwd reqid=$R0 \
     'tmpl=[2001:db8::2]:[2001:db8::1]'"
check "  ip shows them" pol_has "2001:db8:2::/48 dst 2001:db8:1::/48 proto tcp dport 443" "dir (in|fwd)"
prio_net=$(ns feat ip xfrm policy | awk '/10.1.0.0\/16/{f=1} f && /priority/{print $4; exit}')
prio_port=$(ns feat ip xfrm policy | awk '/dport 443/{f=1} f && /priority/{print $4; exit}')
check "narrower selector has the lower priority number" test "$prio_port" -lt "$prio_net"
check "del_policy with mark and if_id" cli del-policy sel=10.1.0.0/16:10.2.0.0/16 dir=out mark=0x10/0xff if_id=5
check "del_policy without the mark is ENOENT" bash -c "ip netns exec feat '$cli' del-policy \
  sel=10.1.0.0/16:10.2.0.0/16 dir=out | grep -q 'error: -2 '"

# ------------------------------------------------------------ traffic
ns_new a b
ns_link a va b vb
ns_addr a va 192.0.2.1/24 2001:db8::1/64
ns_addr b vb 192.0.2.2/24 2001:db8::2/64
ns_addr a lo 10.1.0.1/32
ns_addr b lo 10.2.0.1/32
# No xiked runs in this script: it drives the netlink backend (xfrm_cli) by
# hand, states and policies included, so the routes the daemon would add to
# its table 220 (daemon/child_route.c) are added here with them.
ns a ip route add 10.2.0.1/32 via 192.0.2.2 src 10.1.0.1
ns b ip route add 10.1.0.1/32 via 192.0.2.1 src 10.2.0.1

# pair SIDE OTHER: install both SAs and the policies of one tunnel in namespace SIDE
# (SPI 0xc1000001 carries a->b, 0xc1000002 b->a), with the extra SA args in "${sa_args[@]}".
tunnel_side() {
  local me=$1 la=$2 ra=$3 lnet=$4 rnet=$5 out_spi=$6 in_spi=$7 reqid=$8
  shift 8
  ns "$me" "$cli" add-sa src="$ra" dst="$la" spi="$in_spi" reqid="$reqid" in "$@" &&
    ns "$me" "$cli" add-sa src="$la" dst="$ra" spi="$out_spi" reqid="$reqid" "$@" &&
    ns "$me" "$cli" add-policy sel="$lnet:$rnet" dir=out reqid="$reqid" tmpl="$la:$ra" &&
    ns "$me" "$cli" add-policy sel="$rnet:$lnet" dir=in reqid="$reqid" tmpl="$ra:$la" &&
    ns "$me" "$cli" add-policy sel="$rnet:$lnet" dir=fwd reqid="$reqid" tmpl="$ra:$la"
}
packets() { # packets NS DST SPI: packets counted by query_sa
  ns "$1" "$cli" query-sa dst="$2" spi="$3" | sed -nE 's/.*packets=([0-9]+).*/\1/p'
}
at_least() { [ "${1:-0}" -ge "$2" ]; }

gcm=(aead='rfc4106(gcm(aes))' key="$(key 36)" icv=128)
check "GCM-256 tunnel installed in a" tunnel_side a 192.0.2.1 192.0.2.2 10.1.0.1/32 10.2.0.1/32 \
  0xc1000001 0xc1000002 $((R0 + 10)) "${gcm[@]}"
check "GCM-256 tunnel installed in b" tunnel_side b 192.0.2.2 192.0.2.1 10.2.0.1/32 10.1.0.1/32 \
  0xc1000002 0xc1000001 $((R0 + 10)) "${gcm[@]}"
check "ping 10.1.0.1 -> 10.2.0.1 through the GCM tunnel" ns_ping a -c 3 -W 5 -I 10.1.0.1 10.2.0.1
check "  query_sa counts >= 3 packets on a's outbound SA" at_least "$(packets a 192.0.2.2 0xc1000001)" 3
check "  query_sa counts >= 3 packets on a's inbound SA" at_least "$(packets a 192.0.2.1 0xc1000002)" 3
check "  b decrypted them" at_least "$(packets b 192.0.2.2 0xc1000001)" 3

chacha=(mode=transport aead='rfc7539esp(chacha20,poly1305)' key="$(key 36)" icv=128)
transport_side() { # like tunnel_side, transport mode, host-to-host IPv6 ICMP only
  local me=$1 la=$2 ra=$3 out_spi=$4 in_spi=$5 reqid=$6
  shift 6
  ns "$me" "$cli" add-sa src="$ra" dst="$la" spi="$in_spi" reqid="$reqid" in "$@" &&
    ns "$me" "$cli" add-sa src="$la" dst="$ra" spi="$out_spi" reqid="$reqid" "$@" &&
    ns "$me" "$cli" add-policy "sel=[$la]/128:[$ra]/128:58" dir=out reqid="$reqid" mode=transport &&
    ns "$me" "$cli" add-policy "sel=[$ra]/128:[$la]/128:58" dir=in reqid="$reqid" mode=transport
}
check "ChaCha20 transport (IPv6 ICMP) installed in a" transport_side a 2001:db8::1 2001:db8::2 \
  0xc2000001 0xc2000002 $((R0 + 11)) "${chacha[@]}"
check "ChaCha20 transport (IPv6 ICMP) installed in b" transport_side b 2001:db8::2 2001:db8::1 \
  0xc2000002 0xc2000001 $((R0 + 11)) "${chacha[@]}"
check "ping6 2001:db8::1 -> ::2 in ChaCha20 transport" ns_ping a -6 -c 3 -W 5 2001:db8::2
check "  query_sa counts the echo requests" at_least "$(packets b 2001:db8::2 0xc2000001)" 3

# UDP encapsulation (RFC 3948) needs a UDP socket with UDP_ENCAP_ESPINUDP on the receiving
# side: a small python holder in each namespace plays the IKE daemon's NAT-T socket.
holders=()
encap_holder() {
  ns "$1" python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 100, 2)  # UDP_ENCAP, UDP_ENCAP_ESPINUDP
s.bind(("0.0.0.0", 4500))
time.sleep(120)' &
  holders+=($!)
}
encap_holder a
encap_holder b
cbc=(enc='cbc(aes)' key="$(key 32)" auth='hmac(sha256)' akey="$(key 32)" trunc=128 encap=4500:4500)
ns a ip addr add 10.1.0.2/32 dev lo
ns b ip addr add 10.2.0.2/32 dev lo
ns a ip route add 10.2.0.2/32 via 192.0.2.2 src 10.1.0.2
ns b ip route add 10.1.0.2/32 via 192.0.2.1 src 10.2.0.2
check "CBC+HMAC tunnel in UDP/4500 installed in a" tunnel_side a 192.0.2.1 192.0.2.2 10.1.0.2/32 10.2.0.2/32 \
  0xc3000001 0xc3000002 $((R0 + 12)) "${cbc[@]}"
check "CBC+HMAC tunnel in UDP/4500 installed in b" tunnel_side b 192.0.2.2 192.0.2.1 10.2.0.2/32 10.1.0.2/32 \
  0xc3000002 0xc3000001 $((R0 + 12)) "${cbc[@]}"
sleep 1 # the holders bind
check "ping 10.1.0.2 -> 10.2.0.2 through ESP-in-UDP" ns_ping a -c 3 -W 5 -I 10.1.0.2 10.2.0.2
check "  b decrypted them" at_least "$(packets b 192.0.2.2 0xc3000001)" 3

# XFRM_MSG_MAPPING: b's inbound SA now expects a's packets from port 4501; they still come
# from 4500, so the kernel reports the NAT mapping change (RFC 3948 NAT-T keepalive path).
ns b "$cli" del-sa dst=192.0.2.2 spi=0xc3000001
check "b's inbound encap SA re-added expecting source port 4501" \
  ns b "$cli" add-sa src=192.0.2.1 dst=192.0.2.2 spi=0xc3000001 reqid=$((R0 + 12)) in \
  "${cbc[@]/encap=4500:4500/encap=4501:4500}"
ns b "$cli" watch 30 1 > /tmp/xiked-mapping.out 2>&1 &
watch_pid=$!
wait_for 10 "the watcher" grep -q watching /tmp/xiked-mapping.out || true
ns_ping a -c 2 -W 5 -I 10.1.0.2 10.2.0.2 > /dev/null 2>&1 || true
check "MAPPING event: 192.0.2.1:4501 -> 192.0.2.1:4500" wait_for 20 "the mapping event" \
  grep -q 'mapping spi=0xc3000001 192.0.2.1:4501 -> 192.0.2.1:4500' /tmp/xiked-mapping.out
wait "$watch_pid" 2>/dev/null || true
sed 's/^/  | /' /tmp/xiked-mapping.out
kill "${holders[@]}" 2>/dev/null || true

# ------------------------------------------------------------ expire events
ns feat "$cli" watch 30 2 > /tmp/xiked-watch.out 2>&1 &
watch_pid=$!
wait_for 10 "the watcher" grep -q watching /tmp/xiked-watch.out || true
check "SA with soft 1 s / hard 3 s add lifetimes" \
  cli add-sa src=192.0.2.1 dst=192.0.2.2 spi=0xc4000001 reqid=$((R0 + 20)) "${gcm[@]}" soft_add=1 hard_add=3
check "soft and hard EXPIRE events reported" wait_for 25 "expire events" \
  bash -c "grep -q 'expire soft spi=0xc4000001 proto=50 dst=192.0.2.2' /tmp/xiked-watch.out &&
           grep -q 'expire hard spi=0xc4000001' /tmp/xiked-watch.out"
wait "$watch_pid" 2>/dev/null || true
sed 's/^/  | /' /tmp/xiked-watch.out
check "  the kernel removed the hard-expired SA" gone 0xc4000001

# ------------------------------------------------------------ flush_stale
ns_new fl
fcli() { ns fl "$cli" "$@"; }
count() { ns fl ip xfrm "$1" | grep -c '^src' || true; }
fcli add-sa src=192.0.2.1 dst=192.0.2.2 spi=0xc5000001 reqid=$R0 "${gcm[@]}"
fcli add-sa src=192.0.2.2 dst=192.0.2.1 spi=0xc5000002 reqid=$((R0 + 0xffff)) "${gcm[@]}" mark=7/0xff
fcli get-spi src=192.0.2.2 dst=192.0.2.1 reqid=$((R0 + 1)) > /dev/null
fcli add-policy sel=10.1.0.0/16:10.2.0.0/16 dir=out reqid=$R0 tmpl=192.0.2.1:192.0.2.2
fcli add-policy sel=10.2.0.0/16:10.1.0.0/16 dir=in reqid=$((R0 + 0xffff)) tmpl=192.0.2.2:192.0.2.1 mark=3/3 if_id=9
# Another daemon's entries: reqids just outside the range, and 1.
ns fl ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0xd0000001 reqid 1 mode tunnel \
  aead 'rfc4106(gcm(aes))' "$(key 20)" 128
ns fl ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0xd0000002 reqid $((R0 - 1)) mode tunnel \
  aead 'rfc4106(gcm(aes))' "$(key 20)" 128
ns fl ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0xd0000003 reqid $((R0 + 0x10000)) mode tunnel \
  aead 'rfc4106(gcm(aes))' "$(key 20)" 128
ns fl ip xfrm policy add src 10.5.0.0/16 dst 10.6.0.0/16 dir out tmpl src 192.0.2.1 dst 192.0.2.2 \
  proto esp reqid 1 mode tunnel
ns fl ip xfrm policy add src 10.7.0.0/16 dst 10.8.0.0/16 dir in # bypass, no template
note "before flush: $(count state) states, $(count policy) policies"
check "6 states and 4 policies before flush_stale" test "$(count state):$(count policy)" = 6:4
check "flush_stale" fcli flush-stale
note "after flush: $(count state) states, $(count policy) policies"
check "  the other daemon's 3 states remain" test "$(count state)" -eq 3
check "  the other daemon's 2 policies remain" test "$(count policy)" -eq 2
ours_left() { # entries whose reqid is in the xiked range, states and policy templates
  ns fl ip xfrm "$1" | grep -oE 'reqid [0-9]+' |
    awk -v lo=$((R0)) -v hi=$((R0 + 0xffff)) '$2 >= lo && $2 <= hi' | wc -l
}
check "  none of ours remain" test "$(ours_left state):$(ours_left policy)" = 0:0
check "  theirs are the right ones" bash -c "ip netns exec fl ip xfrm state | grep -q 'spi 0xd0000001' &&
  ip netns exec fl ip xfrm state | grep -q 'spi 0xd0000003' && ip netns exec fl ip xfrm policy | grep -q '10.5.0.0/16'"
check "flush_stale with nothing of ours is a no-op" fcli flush-stale
ns fl ip xfrm state | sed -E 's/0x5a(5a)+/KEY/g; s/^/  | /'

note "done"
finish
