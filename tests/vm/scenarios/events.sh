#!/usr/bin/env bash
# Kernel tier of "xikectl says what happened" (issue 13.6): two xiked with a
# kernel that has ESP; `xikectl monitor` on both sides records the events of
# a full tunnel's life, checked line by line as JSON:
#   1. `xikectl up` waits and exits 0 once the IKE SA and Child SA are up
#      (ping crosses the tunnel): ike-up, child-up on both sides;
#   2. `xikectl rekey`: child-rekey (new SPIs, the old ones named);
#   3. `xikectl rekey --ike`: ike-rekey (the new IKE SA named);
#   4. `xikectl down` waits until the IKE SA is gone: child-down, ike-down;
#   5. up again, then B is killed: A's DPD finds it dead: dpd-dead,
#      child-down, ike-down with reason dead-peer.
#   tests/vm/run tests/vm/all.sh BUILD_DIR tests/vm/scenarios/events.sh
# XIKED_VM_OUT=DIR keeps the daemons' logs and the event streams.
#
# Topology (namespaces; inner addresses on lo):
#   a (xiked A)  xa 192.0.2.1/24 ------------ xb 192.0.2.2/24  b (xiked B)
#   10.1.0.1                                                   10.2.0.1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
MON=()
save_logs() {
  [ -n "${XIKED_VM_OUT:-}" ] || return 0
  mkdir -p "$XIKED_VM_OUT/events"
  find "$XK_DIR" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.events' \) \
    -exec cp {} "$XIKED_VM_OUT/events/" \; 2>/dev/null || true
}
on_exit() {
  local rc=$?
  set +e
  for p in "${MON[@]}"; do kill "$p" 2>/dev/null; done
  xk_cleanup
  save_logs
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT

note "kernel $(uname -r)"
if vm_kernel_init; then ok "load IPsec modules, warm up kernel algorithms"
else fail "load IPsec modules, warm up kernel algorithms"; fi

ns_new a b
ns_link a xa b xb
ns_addr a xa 192.0.2.1/24
ns_addr b xb 192.0.2.2/24
ns_addr a lo 10.1.0.1/32
ns_addr b lo 10.2.0.1/32

side() { # side LOCAL REMOTE LID RID LTS RTS
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
dpd = 2s
EOF
}
side 192.0.2.1 192.0.2.2 a.example b.example 10.1.0.0/24 10.2.0.0/24 | xk_conf A
# A gives a silent peer up quickly: 1 s, then 1.5 s.
sed -i 's/^\[daemon\]$/[daemon]\nretransmit_timeout = 1s\nretransmit_base = 1.5\nretransmit_tries = 1/' \
  "$XK_DIR/A.conf"
side 192.0.2.2 %any b.example a.example 10.2.0.0/24 10.1.0.0/24 | xk_conf B
rm -f "$XK_DIR"/*.events "$XK_DIR"/*.log
xk_start b B
xk_start a A
for s in A B; do
  "$XIKECTL" -s "$XK_DIR/$s.sock" monitor > "$XK_DIR/$s.events" 2>"$XK_DIR/$s.monerr" &
  MON+=($!)
done
sleep 0.5

# events_have FILE N: FILE holds at least N lines
events_have() { [ "$(wc -l < "$1")" -ge "$2" ]; }
up_out=$(xk_ctl A up peer 2>&1) && up_rc=0 || up_rc=$?
if [ $up_rc -eq 0 ] && [[ $up_out =~ ^peer:\ up,\ IKE\ SA\ \#[0-9]+\ [0-9a-f]{16}_i\ [0-9a-f]{16}_r,\ 1\ Child\ SA$ ]]; then
  ok "xikectl up waits and says: $up_out"
else
  fail "xikectl up" "exit $up_rc: $up_out"
fi
check "ping 10.1.0.1 -> 10.2.0.1 through the tunnel" ns_ping a -c 2 -W 3 -I 10.1.0.1 10.2.0.1
xk_ctl A rekey peer
wait_for 20 "child-rekey on A" grep -q '"event":"child-rekey"' "$XK_DIR/A.events" \
  && ok "child-rekey event on A" || fail "child-rekey event on A"
xk_ctl A rekey peer --ike
wait_for 20 "ike-rekey on A" grep -q '"event":"ike-rekey"' "$XK_DIR/A.events" \
  && ok "ike-rekey event on A" || fail "ike-rekey event on A"
check "ping after the rekeys" ns_ping a -c 2 -W 3 -I 10.1.0.1 10.2.0.1
down_out=$(xk_ctl A down peer 2>&1) && down_rc=0 || down_rc=$?
[ $down_rc -eq 0 ] && [ "$down_out" = "peer: no IKE SA left" ] \
  && ok "xikectl down waits: $down_out" || fail "xikectl down" "exit $down_rc: $down_out"
check "nothing left in A's kernel after down" xfrm_empty a
up_out=$(xk_ctl A up peer 2>&1) && ok "up again: $up_out" || fail "up again" "$up_out"
xk_ctl A status >/dev/null
# B dies: A's dead peer detection (dpd 2 s, then 1 + 1.5 s of retransmissions).
kill -KILL "$(cat "$XK_DIR/B.pid")"
wait_for 30 "dpd-dead on A" grep -q '"event":"dpd-dead"' "$XK_DIR/A.events" \
  && ok "dpd-dead event on A" || fail "dpd-dead event on A"
wait_for 10 "the last ike-down on A" bash -c "[ \"\$(grep -c '\"event\":\"ike-down\"' '$XK_DIR/A.events')\" -ge 2 ]"
sleep 0.5
for p in "${MON[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
MON=()

check "A's and B's event streams: JSON, members, the lifecycle in order" \
  python3 - "$XK_DIR/A.events" "$XK_DIR/B.events" <<'PY'
import json, re, sys
def load(p):
    evs = [json.loads(l) for l in open(p, encoding="ascii")]
    for e in evs:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["time"]), e
        assert e["conn"] == "peer" and isinstance(e["ike_id"], int), e
    return evs
a, b = load(sys.argv[1]), load(sys.argv[2])
names = [e["event"] for e in a]
print("A:", " ".join(names))
print("B:", " ".join(e["event"] for e in b))
assert names == ["ike-up", "child-up", "child-rekey", "ike-rekey", "child-down", "ike-down",
                 "ike-up", "child-up", "dpd-dead", "child-down", "ike-down"], names
up, cu, cr, ir, cd, idn = a[:6]
assert up["initiator"] is True and up["remote_id"] == "b.example", up
assert re.match(r"^[0-9a-f]{8}$", cu["spi_in"]) and cu["child"] == "peer", cu
assert cr["old_spi_in"] == cu["spi_in"] and cr["spi_in"] != cu["spi_in"], (cu, cr)
assert cr["old_spi_out"] == cu["spi_out"] and cr["reqid"] == cu["reqid"], (cu, cr)
assert ir["ike_id"] == up["ike_id"] and ir["new_spi_i"] != up["spi_i"], ir
assert cd["spi_in"] == cr["spi_in"] and cd["reason"].startswith("IKE SA down: deleted"), cd
assert idn["ike_id"] == ir["new_ike_id"] and idn["reason"] == "deleted: down requested", idn
dd, cd2, id2 = a[8:]
assert dd["reason"].startswith("dead-peer: no response after"), dd
assert id2["reason"] == dd["reason"] and cd2["reason"] == "IKE SA down: " + dd["reason"], (cd2, id2)
bn = [e["event"] for e in b]
assert bn[:6] == ["ike-up", "child-up", "child-rekey", "ike-rekey", "child-down", "ike-down"], bn
assert b[0]["initiator"] is False and b[5]["reason"] == "deleted: by the peer", b[5]
PY
sed 's/^/    /' "$XK_DIR/A.events"
check "status on A: the dead peer as the last error" bash -c \
  "'$XIKECTL' -s '$XK_DIR/A.sock' status | grep -q '^last error of peer: .* dpd-dead: dead-peer: no response after'"
check "nothing left in A's kernel" xfrm_empty a
xk_cleanup
finish
