#!/usr/bin/env bash
# Kernel tier of dead peer detection (RFC 7296 2.4). xiked A has three
# connections, each watched with dpd = 2s and a short retransmission
# schedule (1 s, then 1.5 s: the probe is given up 2.5 s after it left), so
# a dead peer is found within 2 x dpd (the inbound SA's byte counters are
# polled every dpd) + 2.5 s:
#   c: to xiked B, dpd_action = clear     (10.1.0.0/24 === 10.2.0.0/24)
#   t: to xiked B, dpd_action = trap      (10.1.1.0/24 === 10.2.1.0/24)
#   r: to strongSwan, dpd_action = restart (10.1.2.0/24 === 10.3.0.0/24)
# Cases:
#   1. INITIAL_CONTACT: A dies (SIGKILL) and comes back; its new IKE_AUTHs
#      make xiked B and strongSwan drop the stale IKE SAs and Child SAs;
#   2. busy tunnels send no liveness checks, idle ones do;
#   3. B and charon are killed (SIGKILL) at once: within the bound, c is
#      cleared (nothing left in the kernel), t is left with its trap
#      policies, r is found dead and tried again while charon is down;
#   4. B comes back: the next packet for t brings it up again (c stays down);
#      charon comes back: r returns by itself.
#   tests/vm/run tests/vm/scenarios/dpd.sh BUILD_DIR
# XIKED_VM_OUT=DIR keeps the daemons' logs.
#
# Topology (namespaces; inner addresses on lo):
#   a (xiked A)  xa 192.0.2.1/24 ------------ xb 192.0.2.2/24     b (xiked B)  10.2.0.1 10.2.1.1
#   10.1.0.1     sa 198.51.100.1/24 --------- ss 198.51.100.2/24  s (strongSwan)  10.3.0.1
#   10.1.1.1 10.1.2.1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
PING_DIR=/tmp/xiked-dpd
mkdir -p "$PING_DIR"
save_logs() {
  [ -n "${XIKED_VM_OUT:-}" ] || return 0
  local d
  # Files only: 9p refuses to create sockets.
  for d in "$XK_DIR" "$VM_SS_DIR" "$PING_DIR"; do
    mkdir -p "$XIKED_VM_OUT/dpd/${d##*/}"
    find "$d" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.out' -o -name '*.txt' \) \
      -exec cp {} "$XIKED_VM_OUT/dpd/${d##*/}/" \; 2>/dev/null || true
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
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi
T0=${EPOCHREALTIME/./}

ns_new a b s
ns_link a xa b xb
ns_link a sa s ss
ns_addr a xa 192.0.2.1/24
ns_addr b xb 192.0.2.2/24
ns_addr a sa 198.51.100.1/24
ns_addr s ss 198.51.100.2/24
ns_addr a lo 10.1.0.1/32 10.1.1.1/32 10.1.2.1/32
ns_addr b lo 10.2.0.1/32 10.2.1.1/32
ns_addr s lo 10.3.0.1/32
modprobe -a nf_tables 2>/dev/null || true
# Inner addresses take only what came out of a tunnel, so a ping that gets
# through proves the tunnel (the routes alone would carry it in the clear).
tunnel_only() {
  local n
  for n in "$@"; do
    ns "$n" nft -f - <<'EOF'
table inet tunnel_only {
  chain in {
    type filter hook input priority 0;
    ip daddr 10.0.0.0/8 meta ipsec missing drop
  }
}
EOF
  done
}
tunnel_only a b s
check "without a tunnel, nothing gets through" eval '! ns_ping a -c 1 -W 1 -I 10.1.0.1 10.2.0.1'
# hold NS on|off: NS answers no IKE (as if its daemon were not running yet)
hold() {
  if [ "$2" = on ]; then
    ns "$1" nft -f - <<'EOF'
table inet hold {
  chain in {
    type filter hook input priority 0;
    udp dport { 500, 4500 } drop
  }
}
EOF
  else
    ns "$1" nft delete table inet hold
  fi
}

DPD_S=2
# two dpd polls + the probe's retransmission schedule (1 + 1.5 s) + 3 s for
# TCG and the test's own polling
DEAD_BOUND_MS=$((2 * DPD_S * 1000 + 2500 + 3000))

# conn NAME LOCAL REMOTE ID LOCAL_TS REMOTE_TS ACTION: one of A's connections
conn() {
  cat <<EOF
[conn $1]
local_addr = $2
remote_addr = $3
local_id = $4
remote_id = ${8:-b.example}
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = $5
remote_ts = $6
dpd = ${DPD_S}s
dpd_action = $7
EOF
}
{
  conn c 192.0.2.1 192.0.2.2 a.example 10.1.0.0/24 10.2.0.0/24 clear
  conn t 192.0.2.1 192.0.2.2 t.example 10.1.1.0/24 10.2.1.0/24 trap
  conn r 198.51.100.1 198.51.100.2 a.example 10.1.2.0/24 10.3.0.0/24 restart s.example
} | xk_conf A
sed -i 's/^\[daemon\]$/[daemon]\nretransmit_timeout = 1s\nretransmit_base = 1.5\nretransmit_tries = 1/' \
  "$XK_DIR/A.conf"

# B answers c and t (told apart by A's identity) and never probes.
bconn() {
  cat <<EOF
[conn $1]
local_addr = 192.0.2.2
remote_addr = %any
local_id = b.example
remote_id = $2
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = $3
remote_ts = $4
dpd = 0
EOF
}
{
  bconn c a.example 10.2.0.0/24 10.1.0.0/24
  bconn t t.example 10.2.1.0/24 10.1.1.0/24
} | xk_conf B

mkdir -p "$VM_SS_DIR"
cat > "$VM_SS_DIR/dpd.conf" <<EOF
connections {
  r {
    version = 2
    local_addrs = 198.51.100.2
    remote_addrs = %any
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
      r {
        local_ts = 10.3.0.0/24
        remote_ts = 10.1.2.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-r {
    id-1 = a.example
    id-2 = s.example
    secret = "$XK_PSK"
  }
}
EOF

ping3() { # ping3 FROM TO
  local out
  out=$(ns_ping a -c 3 -W 5 -I "$1" "$2" 2>&1) || { echo "$out"; return 1; }
  [[ $out == *'3 packets received'* ]] || { echo "$out"; return 1; }
}
ping1() { ns_ping a -c 1 -W 1 -I "$1" "$2"; }
stat_of() { # stat_of NAME COUNTER: xiked NAME's counter
  local j
  j=$(xk_json "$1") && json_field "$2" "$j" && echo "${JSON_VALUES[0]:-0}"
}
# conn_sas JSON CONN: how many IKE SAs of CONN a status response lists
conn_sas() {
  local j=$1 n=0 re="\"name\":\"$2\",\"state\":\"[A-Z]+\",\"role\""
  while [[ $j =~ $re ]]; do n=$((n + 1)); j=${j#*"${BASH_REMATCH[0]}"}; done
  echo "$n"
}
ike_sas() { local j; j=$(xk_json "$1") || return 1; conn_sas "$j" "$2"; } # ike_sas NAME CONN
child_up() { local j; j=$(xk_json A) && [[ $j == *"\"name\":\"$1\",\"state\":\"INSTALLED\""* ]]; }
wait_child() { wait_for "$2" "A's Child SA $1" child_up "$1"; } # wait_child CONN SECS
ss_ike_sas() { swanctl_in s --list-sas 2>/dev/null | grep -c 'ESTABLISHED, IKEv2' || true; }
ms_since() { echo $(((${EPOCHREALTIME/./} - ${1/./}) / 1000)); }
uptime_s() { local u _; read -r u _ < /proc/uptime; echo "$u"; } # the daemons' log clock
# kill9 NAME NS: SIGKILL xiked NAME; its kernel state is flushed as a reboot would.
kill9() {
  local pid
  pid=$(cat "$XK_DIR/$1.pid")
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$XK_DIR/$1.pid"
  ip -n "$2" xfrm state flush
  ip -n "$2" xfrm policy flush
}
charon_kill9() {
  local d pid
  d=$(charon_dir s)
  pid=$(cat "$d/charon.pid")
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$d/charon.pid"
  ip -n s xfrm state flush
  ip -n s xfrm policy flush
}
up_all() { local c; for c in "$@"; do xk_ctl A up "$c" > /dev/null || true; done; }

# ---------------------------------------------------------------- setup
note "---- tunnels c and r up"
xk_start b B
check "charon starts in s" charon_start s
check "swanctl loads the connection" charon_load s "$VM_SS_DIR/dpd.conf"
xk_start a A
up_all c r
check "c: Child SA up" wait_child c 60
check "r: Child SA up with strongSwan" wait_child r 120

# ---------------------------------------------------------------- 1. INITIAL_CONTACT
note "---- 1. INITIAL_CONTACT: A killed and restarted"
T1=$EPOCHREALTIME
kill9 A a
xk_start a A
up_all c r
check "c: new Child SA up" wait_child c 60
check "r: new Child SA up" wait_child r 60
b_stale_gone() {
  local n s
  n=$(ike_sas B c)
  s=$(ip -n b xfrm state | grep -c '^src')
  echo "B: $n IKE SA(s), $s ESP states"
  [ "$n" -eq 1 ] && [ "$s" -eq 2 ]
}
check "INITIAL_CONTACT: xiked B dropped the stale IKE SA and Child SA" \
  wait_for 10 "B to have one IKE SA" b_stale_gone
ss_stale_gone() {
  local n s
  n=$(ss_ike_sas)
  s=$(ip -n s xfrm state | grep -c '^src')
  echo "strongSwan: $n IKE SA(s), $s ESP states"
  [ "$n" -eq 1 ] && [ "$s" -eq 2 ]
}
check "INITIAL_CONTACT: strongSwan dropped the stale IKE SA and Child SA" \
  wait_for 10 "charon to have one IKE SA" ss_stale_gone

# ---------------------------------------------------------------- 2. busy / idle
note "---- 2. no liveness checks while traffic flows"
T2=$EPOCHREALTIME
json_field packets_in "$(xk_json A)"
pk0=("${JSON_VALUES[@]}")
ns_ping a -i 0.25 -w 7 -I 10.1.0.1 10.2.0.1 > "$PING_DIR/busy-c.txt" 2>&1 &
pc=$!
ns_ping a -i 0.25 -w 7 -I 10.1.2.1 10.3.0.1 > "$PING_DIR/busy-r.txt" 2>&1 &
pr=$!
# Both tunnels carry the pings (starting a process under TCG takes a while):
# the inbound counters move from here on.
replied() {
  local j i
  j=$(xk_json A) || return 1
  json_field packets_in "$j"
  [ "${#JSON_VALUES[@]}" -eq "${#pk0[@]}" ] || return 1
  for i in "${!pk0[@]}"; do [ "${JSON_VALUES[$i]}" -ge $((pk0[i] + 2)) ] || return 1; done
}
wait_for 10 "replies through c and r" replied || true
p0=$(stat_of A dpd_probes)
u0=$(uptime_s)
sleep 4 # two dpd periods
p1=$(stat_of A dpd_probes)
u1=$(uptime_s)
wait "$pc" "$pr" 2>/dev/null || true
busy_ok() {
  tail -n 2 "$PING_DIR/busy-c.txt" "$PING_DIR/busy-r.txt"
  grep -q ' 0% packet loss' "$PING_DIR/busy-c.txt" && grep -q ' 0% packet loss' "$PING_DIR/busy-r.txt"
}
check "busy: 7 s of traffic through c and r, none lost" busy_ok
note "A's dpd_probes during 4 s of traffic (dpd = ${DPD_S}s, log time $u0-$u1): $p0 -> $p1"
check "busy: no DPD probe" test "$p1" -eq "$p0"
# Idle: the last poll that saw traffic is at most one dpd after it ended,
# so both conns probe within 2 x dpd.
sleep $((2 * DPD_S + 1))
p2=$(stat_of A dpd_probes)
note "A's dpd_probes $((2 * DPD_S + 1)) s after the traffic stopped: $p1 -> $p2"
check "idle: DPD probes on both conns, answered" test "$p2" -ge $((p1 + 2))

# ---------------------------------------------------------------- 3. peers killed
note "---- 3. xiked B and strongSwan killed"
xk_ctl A up t > /dev/null || true
check "t: Child SA up" wait_child t 60
check "t: ping" ping3 10.1.1.1 10.2.1.1
T3=$EPOCHREALTIME
dead0=$(stat_of A peers_dead)
kill9 B b
charon_kill9
t_kill=$EPOCHREALTIME
# One poll of A's kernel and status; the first time each conn reaches its
# end is recorded (ms after the kill).
c_ms="" t_ms="" r_ms=""
watch_dead() {
  local pol st j ms
  pol=$(xfrm_policies a)
  st=$(ip -n a xfrm state)
  j=$(xk_json A) || return 1
  ms=$(ms_since "$t_kill")
  # c: no SA, no policy
  if [ -z "$c_ms" ] && [[ $pol != *'10.2.0.0/24'* ]] && [ "$(conn_sas "$j" c)" -eq 0 ]; then
    c_ms=$ms
  fi
  # t: no SA, no state to B, its three policies back (as trap policies)
  if [ -z "$t_ms" ] && [ "$(conn_sas "$j" t)" -eq 0 ] && [[ $st != *'dst 192.0.2.2'* ]]; then
    count_lines 'dir (out|in|fwd)' "$(grep -A1 -E '^src 10\.[12]\.1\.0/24' <<< "$pol")"
    [ "$REPLY" -ne 3 ] || t_ms=$ms
  fi
  # r: its states gone and a restart under way
  if [ -z "$r_ms" ] && [[ $st != *'198.51.100.2'* ]] &&
      grep -q 'r: dpd_action = restart: initiating again' "$XK_DIR/A.log"; then
    r_ms=$ms
  fi
  [ -n "$c_ms" ] && [ -n "$t_ms" ] && [ -n "$r_ms" ]
}
check "A finds all three peers dead" wait_for 30 "c cleared, t trapped, r dead" watch_dead
note "dead peer handled after: c (clear) ${c_ms:-?} ms, t (trap) ${t_ms:-?} ms, r (restart) ${r_ms:-?} ms; bound $DEAD_BOUND_MS ms"
in_bound() { [ -n "$1" ] && [ "$1" -lt "$DEAD_BOUND_MS" ]; }
check "clear: c found dead within dpd + retransmissions" in_bound "$c_ms"
check "trap: t found dead within dpd + retransmissions" in_bound "$t_ms"
check "restart: r found dead within dpd + retransmissions" in_bound "$r_ms"
only_trap_left() { # A's kernel: no state, and only t's three (trap) policies
  xfrm_expect a 0 1 1 1 tunnel && [[ $(xfrm_policies a) == *'src 10.1.1.0/24 dst 10.2.1.0/24'* ]]
}
check "clear and trap: A's kernel holds only t's trap policies" only_trap_left
dead_count() { local n; n=$(stat_of A peers_dead); echo "peers_dead $dead0 -> $n"; [ "$n" -eq $((dead0 + 3)) ]; }
check "A counts three dead peers" dead_count
# The first new IKE_SA_INIT of r goes unanswered too: A must try again.
retried() { grep -q 'r: dpd_action = restart: initiating again (the peer is still unreachable)' "$XK_DIR/A.log"; }
check "restart: an unanswered restart is tried again" wait_for 15 "a second restart" retried

# ---------------------------------------------------------------- 4. peers back
note "---- 4. xiked B and strongSwan back"
T4=$EPOCHREALTIME
xk_start b B
t_back=$EPOCHREALTIME
check "trap: the next packets for t bring it up again" wait_for 30 "a ping reply through t" ping1 10.1.1.1 10.2.1.1
note "t: first reply $(ms_since "$t_back") ms after B came back"
check "trap: ping through t's new tunnel" ping3 10.1.1.1 10.2.1.1
c_down() { [ "$(ike_sas A c)" -eq 0 ] && [ "$(ike_sas B c)" -eq 0 ]; }
check "clear: c stays down" c_down
# charon comes back with its connection loaded before it answers anything
# (in between it would refuse with NO_PROPOSAL_CHOSEN, which ends a restart).
hold s on
check "restart: charon back in s" charon_start s
check "restart: swanctl loads the connection again" charon_load s "$VM_SS_DIR/dpd.conf"
hold s off
t_back=$EPOCHREALTIME
check "restart: r returns by itself" wait_child r 60
note "r: back $(ms_since "$t_back") ms after charon"
check "restart: ping through r's new tunnel" ping3 10.1.2.1 10.3.0.1
T5=$EPOCHREALTIME
xk_cleanup
charon_stop s
all_empty() { local n; for n in "$@"; do xfrm_empty "$n" || return 1; done; }
check "nothing left in a, b and s" wait_for 20 "xfrm to empty" all_empty a b s
note "timing: setup $((($(ms_since "$T0") - $(ms_since "$T1")) / 1000)) s (after warm-up)," \
  "INITIAL_CONTACT $((($(ms_since "$T1") - $(ms_since "$T2")) / 1000)) s," \
  "busy/idle $((($(ms_since "$T2") - $(ms_since "$T3")) / 1000)) s," \
  "kill $((($(ms_since "$T3") - $(ms_since "$T4")) / 1000)) s," \
  "back $((($(ms_since "$T4") - $(ms_since "$T5")) / 1000)) s;" \
  "scenario after warm-up $(((${EPOCHREALTIME/./} - T0) / 1000000)) s"
finish
