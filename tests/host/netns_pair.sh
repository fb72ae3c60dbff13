# The common frame of the host tests that run xiked in network namespaces,
# sourced after the test has set `build` (the build directory):
#   . "$(dirname "$0")/netns_pair.sh"
#   host_test NAME      root or skip (77); $tmp, a directory of the test's
#                       own (/tmp/NAME.XXXXXX); ok/bad and their counts; the
#                       EXIT trap: every process of $tmp/*.pid and of the
#                       namespaces made here killed, the namespaces deleted,
#                       $tmp removed (KEEP=1 keeps it)
#   host_tmp NAME       host_test without the root check (for tests that
#                       check what needs no root first)
#   host_needs CMD...   skip (77) unless every command is there
#   netns_pair TAG      namespaces $A and $B joined by a veth ($veth_a,
#                       $veth_b): 192.0.2.1/24 in A, 192.0.2.2/24 in B
#   netns_one TAG       one namespace $N, 127.0.0.2 on its lo
#   pair_conf WHO DAEMON_LINES [IKE]  $tmp/WHO.conf (mode 600) of the pair's
#                       conn peer: a initiates from 192.0.2.1 (a.example,
#                       10.1.0.0/24), b answers on 192.0.2.2 (b.example,
#                       10.2.0.0/24) with remote_addr %any; psk, ike IKE
#                       (default aes256gcm16-prfsha256-x25519), esp
#                       aes128-sha256; DAEMON_LINES go into [daemon]
#   xiked_start NS WHO  xiked -f -c $tmp/WHO.conf in NS, its output in
#                       $tmp/WHO.log, its pid in $tmp/WHO.pid
#   pair_start          b in $B, once its control socket is there a in $A
#   xiked_stop WHO...   SIGTERM to each; each must exit 0 (ok/bad)
#   wait_sock PATH      up to 5 s for a socket to appear
#   host_end NAME [LOG...]  the summary line (and on failure the logs'
#                       last 40 lines); its status is the test's
xiked=$build/daemon/xiked
xikectl=$build/tools/xikectl
ikedump=$build/tools/ikedump
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }
host_netns=()

host_cleanup() {
  local p n
  for p in "$tmp"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  for n in "${host_netns[@]}"; do
    # A stopped daemon (kill -STOP in a test) must go too.
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -CONT "$p"; kill "$p"; done 2>/dev/null
  done
  sleep 0.3
  for n in "${host_netns[@]}"; do ip netns del "$n" 2>/dev/null; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}

host_tmp() {
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  trap host_cleanup EXIT
}

host_test() {
  [ "$(id -u)" -eq 0 ] || { echo "skip: needs root"; exit 77; }
  host_tmp "$1"
}

host_needs() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null || { echo "skip: needs $c"; exit 77; }; done
}

netns_pair() {
  A=$1-a-$$ B=$1-b-$$ veth_a=$1-a$$ veth_b=$1-b$$
  host_netns+=("$A" "$B")
  ip netns add "$A" && ip netns add "$B" || { echo "cannot create namespaces"; exit 1; }
  ip link add "$veth_a" netns "$A" type veth peer name "$veth_b" netns "$B"
  ip -n "$A" link set lo up; ip -n "$B" link set lo up
  ip -n "$A" addr add 192.0.2.1/24 dev "$veth_a"; ip -n "$A" link set "$veth_a" up
  ip -n "$B" addr add 192.0.2.2/24 dev "$veth_b"; ip -n "$B" link set "$veth_b" up
}

netns_one() {
  N=$1-$$
  host_netns+=("$N")
  ip netns add "$N" || { echo "cannot create a namespace"; exit 1; }
  ip -n "$N" link set lo up
  ip -n "$N" addr add 127.0.0.2/8 dev lo 2>/dev/null
}

pair_conf() {
  local me=1 peer=2 remote=192.0.2.2 peer_id=b start=initiate
  if [ "$1" = b ]; then me=2 peer=1 remote=%any peer_id=a start=none; fi
  cat >"$tmp/$1.conf" <<CONF
[daemon]
control = $tmp/$1.sock
$2
[conn peer]
local_addr = 192.0.2.$me
remote_addr = $remote
local_id = $1.example
remote_id = $peer_id.example
auth = psk
psk = "correct horse battery staple"
ike = ${3:-aes256gcm16-prfsha256-x25519}
esp = aes128-sha256
local_ts = 10.$me.0.0/24
remote_ts = 10.$peer.0.0/24
start = $start
CONF
  chmod 600 "$tmp/$1.conf"
}

xiked_start() {
  ip netns exec "$1" "$xiked" -f -c "$tmp/$2.conf" >"$tmp/$2.log" 2>&1 &
  echo $! >"$tmp/$2.pid"
}

pair_start() {
  xiked_start "$B" b
  wait_sock "$tmp/b.sock"
  xiked_start "$A" a
}

xiked_stop() {
  local who rc
  for who in "$@"; do kill -TERM "$(cat "$tmp/$who.pid")"; done
  for who in "$@"; do
    wait "$(cat "$tmp/$who.pid")"; rc=$?
    rm -f "$tmp/$who.pid"
    [ $rc -eq 0 ] && ok "xiked $who exits 0 on SIGTERM" || bad "xiked $who exit status $rc"
  done
}

wait_sock() {
  for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
  return 1
}

host_end() {
  local log
  if [ "$failed" -ne 0 ]; then
    for log in "${@:2}"; do echo "--- $log"; tail -n 40 "$log"; done
  fi
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
