#!/usr/bin/env bash
# Kernel tier of "first tunnel": xiked's Child SAs carry traffic on a kernel
# with ESP.  One boot, every case inside it:
#   1. xiked <-> xiked over IPv4 for four IKE/ESP proposal pairs;
#   2. xiked -> strongSwan and strongSwan -> xiked for the same four, and
#      transport mode both ways;
#   3. xiked <-> xiked over IPv6 outer addresses (IPv4 and IPv6 inside);
#   4. `xikectl status --json` counts bytes and packets read from the kernel.
# Each case: the SA comes up, `ip xfrm state` holds 2 states with the
# negotiated algorithms and `ip xfrm policy` out/in/fwd policies per
# selector pair, ping crosses the tunnel, the counters are > 0, and after
# `xikectl down`, SIGTERM, or a Delete from strongSwan nothing is left.
#   tests/vm/run tests/vm/scenarios/tunnel.sh BUILD_DIR
# XIKED_TUNNEL_CASES=REGEX runs only the cases whose label matches (grep -E),
# for quicker runs while debugging; XIKED_VM_OUT=DIR keeps the daemons' logs.
#
# No route is added by hand: xiked's routes (table 220) and charon's steer the tunnels.
# Topology (namespaces; inner addresses on lo):
#   a (xiked A)  xa 192.0.2.1/24 2001:db8::1/64 --- xb 192.0.2.2 2001:db8::2  b (xiked B)
#     10.1.0.1 fd01::1                                  10.2.0.1 fd02::1
#   a            sa 198.51.100.1/24 ----------------- ss 198.51.100.2        s (strongSwan)
#                                                       10.3.0.1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
# lib.sh's EXIT trap cleans namespaces and charons; stop our daemons first,
# and keep the logs when the host shares a directory (XIKED_VM_OUT).
save_logs() {
  [ -n "${XIKED_VM_OUT:-}" ] || return 0
  mkdir -p "$XIKED_VM_OUT/tunnel"
  local d
  # Files only: 9p refuses to create sockets.
  for d in "$XK_DIR" "$VM_SS_DIR"; do
    mkdir -p "$XIKED_VM_OUT/tunnel/${d##*/}"
    find "$d" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.out' \) \
      -exec cp {} "$XIKED_VM_OUT/tunnel/${d##*/}/" \; 2>/dev/null || true
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

T_CASE=$EPOCHREALTIME
wanted() { [ -z "${XIKED_TUNNEL_CASES:-}" ] || grep -qE -- "$XIKED_TUNNEL_CASES" <<< "$1"; }
case_begin() { T_CASE=$EPOCHREALTIME; note "---- case $1"; }
case_end() { note "case $1 took $(((${EPOCHREALTIME/./} - ${T_CASE/./}) / 1000)) ms"; }

note "kernel $(uname -r), script started at uptime $(cut -d' ' -f1 /proc/uptime) s"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi

# ---------------------------------------------------------------- topology
ns_new a b s
ns_link a xa b xb
ns_link a sa s ss
ns_addr a xa 192.0.2.1/24 2001:db8::1/64
ns_addr b xb 192.0.2.2/24 2001:db8::2/64
ns_addr a sa 198.51.100.1/24
ns_addr s ss 198.51.100.2/24
ns_addr a lo 10.1.0.1/32 fd01::1/128
ns_addr b lo 10.2.0.1/32 fd02::1/128
ns_addr s lo 10.3.0.1/32
check "veth a-b IPv4" ns_ping a -c 1 -W 5 192.0.2.2
check "veth a-b IPv6 (nodad)" ns_ping a -6 -c 1 -W 5 2001:db8::2
check "veth a-s IPv4" ns_ping a -c 1 -W 5 198.51.100.2

# Proposal pairs: IKE proposal, ESP proposal (the same keywords for xiked and
# strongSwan).
PROPOSALS=(
  "aes256gcm16-prfsha256-x25519 aes256gcm16"
  "aes128-sha256-ecp256 aes128-sha256"
  "aes256-sha384-modp3072 aes256-sha384"
  "chacha20poly1305-prfsha256-x25519 chacha20poly1305"
)

# alg_res ESP: the xfrm algorithm regexes of an ESP proposal, one per line.
alg_res() { xfrm_alg_re "$1"; [ -z "$(xfrm_auth_re "$1")" ] || xfrm_auth_re "$1"; }

# ping_all NS SRC DST [SRC DST...]: 3 echo requests per pair, all answered.
ping_all() {
  local n=$1 out
  shift
  while [ $# -ge 2 ]; do
    out=$(ns_ping "$n" -c 3 -W 5 -I "$1" "$2" 2>&1) || { echo "$out"; return 1; }
    echo "${out##*---}"
    [[ $out == *'3 packets received'* ]] || { echo "$out"; return 1; }
    shift 2
  done
}

# gone_everywhere NS...: no xfrm state or policy left in any of them (waits 30 s).
# Table 220 and the rules too: xiked's routes go with its Child SAs (and charon's with its).
all_empty() { local n; for n in "$@"; do xfrm_empty "$n" && routes_empty "$n" || return 1; done; }
gone_everywhere() {
  local n
  wait_for 30 "xfrm states and policies to go in $*" all_empty "$@" && return 0
  for n in "$@"; do
    echo "left in $n:"
    { ip -n "$n" xfrm state; xfrm_policies "$n"; } | sed -E 's/0x[0-9a-f]{16,}/KEY/g'
    routes_show "$n"
  done
  return 1
}

xk_conn() { # xk_conn LOCAL REMOTE LID RID IKE ESP LTS RTS MODE: a [conn peer] section
  cat <<EOF
[conn peer]
local_addr = $1
remote_addr = $2
local_id = $3
remote_id = $4
auth = psk
psk = "$XK_PSK"
ike = $5
esp = $6
local_ts = $7
remote_ts = $8
mode = $9
EOF
}

# ---------------------------------------------------------------- xiked <-> xiked
# case_xx LABEL IKE ESP FAMILY TEARDOWN: A initiates to B over FAMILY (4: IPv4
# inside; 6: IPv4 and IPv6 selectors inside); TEARDOWN is "down" (xikectl
# down on A) or "term" (SIGTERM to A while the SAs are up).
case_xx() {
  local label=$1 ike=$2 esp=$3 fam=$4 teardown=$5 la lb ts_a ts_b pairs=1 n res
  wanted "$label" || return 0
  case_begin "$label"
  if [ "$fam" = 4 ]; then
    la=192.0.2.1 lb=192.0.2.2 ts_a=10.1.0.0/24 ts_b=10.2.0.0/24
  else
    la=2001:db8::1 lb=2001:db8::2 ts_a="10.1.0.0/24, fd01::/64" ts_b="10.2.0.0/24, fd02::/64"
    pairs=2
  fi
  xk_conn "$la" "$lb" a.example b.example "$ike" "$esp" "$ts_a" "$ts_b" tunnel | xk_conf A
  xk_conn "$lb" "$la" b.example a.example "$ike" "$esp" "$ts_b" "$ts_a" tunnel | xk_conf B
  check "$label: xiked B starts" xk_start b B
  check "$label: xiked A starts" xk_start a A
  check "$label: xikectl up" xk_ctl A up peer
  if xk_wait_child A 120 && xk_wait_child B 20; then
    ok "$label: Child SA INSTALLED on both sides"
  else
    fail "$label: Child SA INSTALLED on both sides"
    xk_log_tail A; xk_log_tail B
  fi
  note "$label: A: $(xk_summary A 2>&1)"
  mapfile -t res <<< "$(alg_res "$esp")"
  for n in a b; do
    check "$label: xfrm in $n: 2 $esp states, $pairs out/in/fwd policies" \
      xfrm_expect $n 2 $pairs $pairs $pairs tunnel "${res[@]}"
  done
  if [ "$fam" = 4 ]; then
    check "$label: xiked's routes: a 10.2.0.0/24 via 192.0.2.2 src 10.1.0.1 (table 220)" \
      route_expect a '^10\.2\.0\.0/24 via 192\.0\.2\.2 dev xa proto 150 src 10\.1\.0\.1'
    check "$label: xiked's routes: b 10.1.0.0/24 via 192.0.2.1 src 10.2.0.1 (table 220)" \
      route_expect b '^10\.1\.0\.0/24 via 192\.0\.2\.1 dev xb proto 150 src 10\.2\.0\.1'
    check "$label: ping 10.1.0.1 -> 10.2.0.1 through the tunnel" ping_all a 10.1.0.1 10.2.0.1
  else
    # Inner IPv4 over outer IPv6: a device route (no IPv4 next hop); IPv6 via the peer.
    check "$label: xiked's routes: a 10.2.0.0/24 dev xa, fd02::/64 via 2001:db8::2 (table 220)" \
      route_expect a '^10\.2\.0\.0/24 dev xa proto 150 scope link src 10\.1\.0\.1' \
      '^fd02::/64 via 2001:db8::2 dev xa proto 150 src fd01::1'
    check "$label: ping 10.1.0.1 -> 10.2.0.1 and fd01::1 -> fd02::1 over IPv6" \
      ping_all a 10.1.0.1 10.2.0.1 fd01::1 fd02::1
  fi
  check "$label: A's status counters > 0" xk_counters_positive A
  check "$label: B's status counters > 0" xk_counters_positive B
  if [ "$teardown" = down ]; then
    check "$label: xikectl down" xk_ctl A down peer
    check "$label: nothing left in a and b after xikectl down" gone_everywhere a b
    check "$label: xiked A exits 0 on SIGTERM" xk_stop A
  else
    check "$label: xiked A exits 0 on SIGTERM with the SAs up" xk_stop A
    check "$label: nothing left in a and b after SIGTERM" gone_everywhere a b
  fi
  check "$label: xiked B exits 0 on SIGTERM" xk_stop B
  case_end "$label"
}

# ---------------------------------------------------------------- strongSwan
ss_conn() { # ss_conn IKE ESP MODE LTS RTS: swanctl.conf for s, connection x, child net
  cat <<EOF
connections {
  x {
    version = 2
    local_addrs = 198.51.100.2
    remote_addrs = 198.51.100.1
    proposals = $1
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
        local_ts = $4
        remote_ts = $5
        esp_proposals = $2
        mode = $3
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
}

ss_child_installed() { swanctl_in s --list-sas | grep -q 'INSTALLED'; }
ss_sa_listed() { swanctl_in s --list-sas | grep -qE '^x: #'; }
ss_no_sa() { # charon in s lists no IKE SA of connection x (waits 10 s)
  wait_for 10 "strongSwan's IKE SA to go" eval '! ss_sa_listed' || { swanctl_in s --list-sas; return 1; }
}

# case_ss LABEL IKE ESP MODE WHO TEARDOWN: xiked in a and strongSwan in s;
# WHO initiates ("xiked" or "strongswan"); TEARDOWN is "down" (xikectl down),
# "term" (SIGTERM to xiked) or "peer" (swanctl --terminate).
case_ss() {
  local label=$1 ike=$2 esp=$3 mode=$4 who=$5 teardown=$6 ts_a ts_s fwd res out
  wanted "$label" || return 0
  case_begin "$label"
  if [ "$mode" = tunnel ]; then
    ts_a=10.1.0.0/24 ts_s=10.3.0.0/24 fwd=1
  else
    ts_a=%dynamic ts_s=%dynamic fwd=0
  fi
  # strongSwan spells xiked's %dynamic "dynamic".
  ss_conn "$ike" "$esp" "$mode" "${ts_s#%}" "${ts_a#%}" > "$VM_SS_DIR/x.conf"
  check "$label: swanctl loads the connection" charon_load s "$VM_SS_DIR/x.conf"
  xk_conn 198.51.100.1 198.51.100.2 a.example s.example "$ike" "$esp" "$ts_a" "$ts_s" "$mode" |
    xk_conf A
  check "$label: xiked A starts" xk_start a A
  if [ "$who" = xiked ]; then
    check "$label: xikectl up" xk_ctl A up peer
  else
    if out=$(charon_initiate s net 120 2>&1); then
      ok "$label: swanctl --initiate"
    else
      fail "$label: swanctl --initiate"
      tail -n 15 <<< "$out" | sed 's/^/       | /'
    fi
  fi
  if xk_wait_child A 120 && wait_for 20 "strongSwan's Child SA" ss_child_installed; then
    ok "$label: Child SA INSTALLED in xiked and strongSwan"
  else
    fail "$label: Child SA INSTALLED in xiked and strongSwan"
    xk_log_tail A
    tail -n 30 "$(charon_log s)" | sed 's/^/       | /'
  fi
  note "$label: A: $(xk_summary A 2>&1)"
  mapfile -t res <<< "$(alg_res "$esp")"
  check "$label: xfrm in a (xiked): 2 $esp $mode states, out/in$([ $fwd = 1 ] && echo /fwd) policies" \
    xfrm_expect a 2 1 1 $fwd "$mode" "${res[@]}"
  # strongSwan's own choice of fwd policies in transport mode is not ours to check.
  check "$label: xfrm in s (strongSwan): 2 $esp $mode states" \
    xfrm_expect s 2 1 1 "$([ $fwd = 1 ] && echo 1 || echo -)" "$mode" "${res[@]}"
  if [ "$mode" = tunnel ]; then
    check "$label: xiked's route in a: 10.3.0.0/24 via 198.51.100.2 src 10.1.0.1 (table 220)" \
      route_expect a '^10\.3\.0\.0/24 via 198\.51\.100\.2 dev sa proto 150 src 10\.1\.0\.1'
    note "$label: $(routes_show s | tr '\n' ' ')"
    if [ "$who" = xiked ]; then
      check "$label: ping 10.1.0.1 -> 10.3.0.1 through the tunnel" ping_all a 10.1.0.1 10.3.0.1
    else
      check "$label: ping 10.3.0.1 -> 10.1.0.1 through the tunnel" ping_all s 10.3.0.1 10.1.0.1
    fi
  elif [ "$who" = xiked ]; then
    check "$label: ping 198.51.100.1 -> 198.51.100.2 in transport mode" \
      ping_all a 198.51.100.1 198.51.100.2
  else
    check "$label: ping 198.51.100.2 -> 198.51.100.1 in transport mode" \
      ping_all s 198.51.100.2 198.51.100.1
  fi
  check "$label: A's status counters > 0" xk_counters_positive A
  case $teardown in
    down)
      check "$label: xikectl down" xk_ctl A down peer
      check "$label: nothing left in a and s after xikectl down" gone_everywhere a s
      check "$label: xiked A exits 0 on SIGTERM" xk_stop A
      ;;
    term)
      check "$label: xiked A exits 0 on SIGTERM with the SAs up" xk_stop A
      check "$label: nothing left in a and s after SIGTERM" gone_everywhere a s
      ;;
    peer)
      check "$label: swanctl --terminate" swanctl_in s --terminate --ike x --timeout 30
      check "$label: nothing left in a and s after strongSwan's Delete" gone_everywhere a s
      check "$label: xiked A exits 0 on SIGTERM" xk_stop A
      ;;
  esac
  check "$label: strongSwan holds no IKE SA afterwards" ss_no_sa
  case_end "$label"
}

# ---------------------------------------------------------------- run
T_ALL=$EPOCHREALTIME
i=0
for p in "${PROPOSALS[@]}"; do
  read -r ike esp <<< "$p"
  td=$([ $((i % 2)) -eq 0 ] && echo down || echo term)
  case_xx "xiked-xiked $ike/$esp" "$ike" "$esp" 4 "$td"
  i=$((i + 1))
done
case_xx "xiked-xiked IPv6 outer aes256gcm16-prfsha256-x25519/aes256gcm16" \
  aes256gcm16-prfsha256-x25519 aes256gcm16 6 down

mkdir -p "$VM_SS_DIR"
t=$EPOCHREALTIME
check "charon starts in s" charon_start s
note "charon started in $(((${EPOCHREALTIME/./} - ${t/./}) / 1000)) ms"
i=0
for p in "${PROPOSALS[@]}"; do
  read -r ike esp <<< "$p"
  case_ss "xiked->strongSwan $ike/$esp" "$ike" "$esp" tunnel xiked \
    "$([ $((i % 2)) -eq 0 ] && echo down || echo term)"
  case_ss "strongSwan->xiked $ike/$esp" "$ike" "$esp" tunnel strongswan \
    "$([ $((i % 2)) -eq 0 ] && echo peer || echo term)"
  i=$((i + 1))
done
case_ss "xiked->strongSwan transport aes256gcm16-prfsha256-x25519/aes256gcm16" \
  aes256gcm16-prfsha256-x25519 aes256gcm16 transport xiked down
case_ss "strongSwan->xiked transport aes128-sha256-ecp256/aes128-sha256" \
  aes128-sha256-ecp256 aes128-sha256 transport strongswan term
charon_stop s
check "nothing left in s after charon stops" xfrm_empty s

note "all cases took $(((${EPOCHREALTIME/./} - ${T_ALL/./}) / 1000)) ms"
xk_cleanup
save_logs
finish
