#!/usr/bin/env bash
# Kernel tier of `xikectl reload` and SIGHUP (doc/xiked.conf.5, RELOAD):
# xiked A <-> xiked B, a tunnel carrying pings every 20 ms, and A's file
# edited under it:
#   1. a start = trap conn added: `xikectl reload` says so, and its trap
#      policies are in the kernel (`ip xfrm policy`) at once, with its
#      route in xiked's table 220;
#   2. a broken file: the error (file:line), nothing changes;
#   3. the same file again, by SIGHUP: "no changes" in the log;
#   4. the trap conn removed (--json): its policies and route are gone;
#   throughout, the running tunnel (unchanged in the file) loses no ping
#   and keeps its SPIs; then
#   5. the tunnel's conn removed: A deletes its IKE SA with a Delete, B's
#      SA and both kernels' states, policies and table 220 routes are gone.
# No route is added by hand: xiked routes the remote selectors (table 220).
#   tests/vm/run tests/vm/scenarios/reload.sh BUILD_DIR
#
# Topology (namespaces; inner addresses on lo):
#   a (xiked A)  xa 192.0.2.1/24 ---------------- xb 192.0.2.2/24   b (xiked B)
#     10.1.0.1                                       10.2.0.1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
OUT=/tmp/xiked-reload
mkdir -p "$OUT"
P_PID=""
on_exit() {
  local rc=$?
  set +e
  [ -z "$P_PID" ] || kill "$P_PID" 2>/dev/null
  xk_cleanup
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT

VM_XFRM_ALGS=("4 aead rfc4106(gcm(aes)) $(hexkey 36) 128")
if vm_kernel_init; then ok "load IPsec modules, warm up AES-GCM"
else fail "load IPsec modules, warm up AES-GCM"; fi

ns_new a b
ns_link a xa b xb
ns_addr a xa 192.0.2.1/24
ns_addr b xb 192.0.2.2/24
ns_addr a lo 10.1.0.1/32
ns_addr b lo 10.2.0.1/32
check "veth a-b" ns_ping a -c 1 -W 5 192.0.2.2

# conn NAME LOCAL REMOTE LID RID LTS RTS [KEY=VALUE...]: a [conn NAME] section.
conn() {
  cat <<EOF
[conn $1]
local_addr = $2
remote_addr = $3
local_id = $4
remote_id = $5
auth = psk
psk = "$XK_PSK"
ike = aes256gcm16-prfsha256-x25519
esp = aes256gcm16
local_ts = $6
remote_ts = $7
EOF
  shift 7
  local kv
  for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
}
peer_a() { conn peer 192.0.2.1 192.0.2.2 a.example b.example 10.1.0.0/24 10.2.0.0/24; }
lab_a() { conn lab 192.0.2.1 192.0.2.2 a.example b.example 10.1.1.0/24 10.2.1.0/24 start=trap; }
other_a() { conn other 192.0.2.1 192.0.2.9 a.example c.example 10.1.9.0/24 10.2.9.0/24; }

# out_policy NS PREFIX: NS has an outbound policy to PREFIX with a reqid.
out_policy() {
  xfrm_policies "$1" | awk -v p="$2" '
    /^src/ { hit = ($4 == p); d = 0 } hit && /dir out/ { d = 1 } hit && d && /reqid [1-9]/ { f = 1 }
    END { exit !f }'
}
route220() { ip -n "$1" route show table 220 | grep -q "^$2 "; } # route220 NS PREFIX
spis() { local j; j=$(xk_json A) || return 1; json_field spi_in "$j"; echo "${JSON_VALUES[*]}"; }
reload_says() { # reload_says TEXT ARGS...: xikectl reload ARGS prints a line TEXT
  xk_ctl A reload "${@:2}" > "$OUT/reload.out" 2>&1
  local rc=$?
  sed 's/^/# reload: /' "$OUT/reload.out"
  [ "$rc" -eq 0 ] && grep -qF -- "$1" "$OUT/reload.out"
}

peer_a | xk_conf A
conn peer 192.0.2.2 %any b.example a.example 10.2.0.0/24 10.1.0.0/24 | xk_conf B
check "xiked B starts" xk_start b B
check "xiked A starts" xk_start a A
check "xikectl up peer" xk_ctl A up peer
check "the tunnel is up" xk_wait_child A 90
check "ping crosses the tunnel (the first packet waits for the cipher)" \
  ns_ping a -c 1 -W 20 -I 10.1.0.1 10.2.0.1
before=$(spis)

# Pings every 20 ms through every reload below.
# shellcheck disable=SC2046 # "busybox ping" is two words
ip netns exec a $(command -v ping > /dev/null && echo ping || echo busybox ping) \
  -i 0.02 -w 40 -I 10.1.0.1 10.2.0.1 > "$OUT/ping.txt" 2>&1 &
P_PID=$!
sleep 2

# 1. A start = trap conn added.
{ peer_a; lab_a; } | xk_conf A
check "1. xikectl reload: 'added lab: trap policies installed'" \
  reload_says "added lab: trap policies installed"
check "1. the unchanged tunnel is not in the output" eval '! grep -q peer "$OUT/reload.out"'
check "1. ip xfrm policy: the trap's out policy to 10.2.1.0/24" out_policy a 10.2.1.0/24
check "1. ip route show table 220: 10.2.1.0/24" route220 a 10.2.1.0/24
xfrm_policies a | grep -E '^src|reqid' | sed 's/^/# /'
check "1. 6 policies in a (the tunnel's 3, the trap's 3), still 2 states" \
  test "$(xfrm_policies a | grep -c '^src')/$(ip -n a xfrm state | grep -c '^src')" = 6/2

# 2. A broken file: the error, and nothing changes.
cp "$XK_DIR/A.conf" "$OUT/good.conf"
printf '[conn broken]\nremote_addr = 192.0.2.7\nstart = sometimes\n' >> "$XK_DIR/A.conf"
if xk_ctl A reload > "$OUT/reload.out" 2>&1; then
  fail "2. a broken file: xikectl reload fails"
else
  ok "2. a broken file: xikectl reload fails"
fi
sed 's/^/# /' "$OUT/reload.out"
check "2. it names file and line" grep -qE 'A\.conf:[0-9]+: ' "$OUT/reload.out"
check "2. the trap is still there" out_policy a 10.2.1.0/24
cp "$OUT/good.conf" "$XK_DIR/A.conf"

# 3. The same file by SIGHUP: logged, nothing changes.
kill -HUP "$(cat "$XK_DIR/A.pid")"
check "3. SIGHUP: 'reload: no changes' in the log" wait_for 10 "the log line" \
  grep -q 'reload: no changes (2 connections)' "$XK_DIR/A.log"
check "3. the trap is still there" out_policy a 10.2.1.0/24

# 4. The trap conn removed; the JSON form.
peer_a | xk_conf A
check "4. xikectl reload --json: lab removed, its trap" \
  reload_says '"removed":[{"name":"lab","ike_sas_deleted":0,"traps_installed":0,"traps_removed":1}]' --json
check "4. ip xfrm policy: no policy to 10.2.1.0/24" eval '! out_policy a 10.2.1.0/24'
check "4. table 220: no route to 10.2.1.0/24, the tunnel's stays" \
  eval '! route220 a 10.2.1.0/24 && route220 a 10.2.0.0/24'
check "4. 3 policies in a, 2 states" \
  test "$(xfrm_policies a | grep -c '^src')/$(ip -n a xfrm state | grep -c '^src')" = 3/2

sleep 2
kill -INT "$P_PID" 2>/dev/null || true
wait "$P_PID" || true
P_PID=""
# Lost: requests without a reply among all but the last (in flight when ping stops).
read -r sent lost <<< "$(awk '
  /packets transmitted/ { sent = $1 }
  /seq=[0-9]+ / { match($0, /seq=[0-9]+/); got[substr($0, RSTART + 4, RLENGTH - 4) + 0] = 1 }
  END { lost = 0; for (i = 0; i < sent - 1; i++) if (!(i in got)) lost++; print sent + 0, lost }' \
  "$OUT/ping.txt")"
note "pings through the reloads: $(grep -h 'packets transmitted' "$OUT/ping.txt")"
check "no ping lost through four reloads ($sent sent, $lost lost)" \
  test "$sent" -gt 50 -a "$lost" -eq 0
check "the tunnel kept its SPIs ($before)" test "$(spis)" = "$before"

# 5. The tunnel's conn removed: Delete to B, everything gone.
other_a | xk_conf A
check "5. xikectl reload: 'removed peer: 1 IKE SA deleted'" \
  reload_says "removed peer: 1 IKE SA deleted"
check "5. B: the peer's Delete removed its IKE SA" wait_for 30 "B's SA to go" \
  grep -q 'peer deletes the IKE SA' "$XK_DIR/B.log"
check "5. nothing left in a and b" wait_for 20 "a and b to be empty" \
  eval 'xfrm_empty a && xfrm_empty b'
check "5. table 220 empty in a and b" \
  test -z "$(ip -n a route show table 220)$(ip -n b route show table 220)"
check "xiked A exits 0 on SIGTERM" xk_stop A
check "xiked B exits 0 on SIGTERM" xk_stop B
xk_cleanup
finish
