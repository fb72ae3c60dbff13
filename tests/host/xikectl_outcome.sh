#!/usr/bin/env bash
# Host tier: xikectl says what happened (issue 13.6). Two xiked in network
# namespaces on this machine's kernel (XFRM without ESP): up waits for the
# outcome and exits 1 with the peer's NO_PROPOSAL_CHOSEN, with the
# AUTHENTICATION_FAILED of a wrong PSK, and with the Child SA's failure
# (the responder's kernel has no ESP: its reason is in the responder's
# status and events); status shows each conn's last error; list-conns the
# configured conns; monitor streams the lifecycle (up, rekey, down) as
# JSON lines, checked member by member.
#   tests/host/xikectl_outcome.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: $0 BUILD_DIR}
. "$(dirname "$0")/netns_pair.sh"
host_test xikectl-outcome
host_needs python3
netns_pair xko

conn() { # conn NAME REMOTE PSK IKE
  cat <<CONF
[conn $1]
local_addr = 192.0.2.1
remote_addr = $2
local_id = a.example
remote_id = b.example
auth = psk
psk = "$3"
ike = $4
esp = aes128-sha256
local_ts = 10.1.0.0/24
remote_ts = 10.2.0.0/24
CONF
}
good="correct horse battery staple"
{
  printf '[daemon]\ncontrol = %s/a.sock\nretransmit_tries = 1\nretransmit_timeout = 1s\n' "$tmp"
  conn peer 192.0.2.2 "$good" aes256gcm16-prfsha256-x25519
  conn noprop 192.0.2.2 "$good" aes128-sha256-modp3072
  conn badpsk 192.0.2.2 "not the right one" aes256gcm16-prfsha256-x25519
  conn nobody 192.0.2.9 "$good" aes256gcm16-prfsha256-x25519
} > "$tmp/a.conf"
cat > "$tmp/b.conf" <<CONF
[daemon]
control = $tmp/b.sock
[conn peer]
local_addr = 192.0.2.2
local_id = b.example
remote_id = a.example
auth = psk
psk = "$good"
ike = aes256gcm16-prfsha256-x25519
esp = aes128-sha256
local_ts = 10.2.0.0/24
remote_ts = 10.1.0.0/24
CONF
chmod 600 "$tmp/a.conf" "$tmp/b.conf"

pair_start
wait_sock "$tmp/a.sock"
ctl() { "$xikectl" -s "$tmp/$1.sock" "${@:2}"; }
"$xikectl" -s "$tmp/a.sock" monitor > "$tmp/a.events" 2>"$tmp/a.monerr" & echo $! > "$tmp/mon-a.pid"
"$xikectl" -s "$tmp/b.sock" monitor > "$tmp/b.events" 2>"$tmp/b.monerr" & echo $! > "$tmp/mon-b.pid"
sleep 0.3

# expect NAME RC PATTERN CMD...: exit status RC and PATTERN (grep -E) in stdout+stderr
expect() {
  local name=$1 want=$2 pat=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq "$want" ] && grep -Eq -- "$pat" <<<"$out"; then
    ok "$name: exit $rc, '$(head -n 1 <<<"$out")'"
  else
    bad "$name: exit $rc (want $want), output: $out"
  fi
}
expect "up noprop: the peer's NO_PROPOSAL_CHOSEN" 1 \
  '^xikectl: noprop: NO_PROPOSAL_CHOSEN: the peer refused IKE_SA_INIT \(ike-failed\)$' ctl a up noprop
expect "up badpsk: AUTHENTICATION_FAILED" 1 \
  '^xikectl: badpsk: AUTHENTICATION_FAILED: .*\((auth|ike)-failed\)$' ctl a up badpsk
expect "up peer: the Child SA fails (the responder's kernel has no ESP)" 1 \
  '^xikectl: peer: NO_PROPOSAL_CHOSEN: the peer refused the Child SA \(child-failed\)$' ctl a up peer
expect "the responder's status: the kernel's reason as peer's last error" 0 \
  'last error of peer: 20[0-9-]+T[0-9:.]+Z child-failed: kernel: EPROTONOSUPPORT installing the inbound SA: the kernel has no ESP support' \
  ctl b status
expect "up nobody --timeout 2: no outcome in time" 1 \
  "^xikectl: up 'nobody': no outcome within 2 s \(still connecting; see xikectl status\)$" \
  ctl a up nobody --timeout 2
sleep 1.5 # its retransmissions end (1 s, then 1.8 s): ike-failed with the timeout
expect "up peer again: already up" 1 "already up or connecting" ctl a up peer
expect "up --no-wait: answered at once" 0 '^$' ctl a down nobody --no-wait
expect "status peer: its IKE SA and last error only" 0 \
  '^peer: ESTABLISHED' ctl a status peer
if ctl a status peer | grep -q 'noprop'; then bad "status peer shows other conns"; else ok "status peer shows peer only"; fi
expect "status: each conn's last error" 0 'last error of noprop: .* ike-failed: NO_PROPOSAL_CHOSEN' ctl a status
expect "status: badpsk's" 0 'last error of badpsk: .*AUTHENTICATION_FAILED' ctl a status
expect "list-conns: the configured conns" 0 \
  '^noprop: configured, start none' ctl a list-conns
expect "list-conns peer: established, its selectors" 0 \
  '^    remote 10\.2\.0\.0/24$' ctl a list-conns peer
expect "list-conns --json" 0 '"name":"badpsk","state":"configured"' ctl a list-conns --json
expect "list-conns of an unknown conn" 1 "no connection named 'zzz'" ctl a list-conns zzz
expect "status of an unknown conn" 1 "no connection named 'zzz'" ctl a status zzz

# The lifecycle: an IKE rekey, then down (waits for the Delete's answer).
expect "rekey --ike" 0 '^$' ctl a rekey peer --ike
sleep 1
expect "down peer: waits until the IKE SA is gone" 0 '^peer: no IKE SA left$' ctl a down peer
expect "down of an unknown conn" 1 "no connection named 'zzz'" ctl a down zzz
sleep 0.3
for m in mon-a mon-b; do kill "$(cat "$tmp/$m.pid")"; wait "$(cat "$tmp/$m.pid")" 2>/dev/null; rm -f "$tmp/$m.pid"; done

# The event lines: each one JSON with the documented members; the sequence of each side.
python3 - "$tmp/a.events" "$tmp/b.events" <<'PY' && ok "monitor: JSON lines, schema and sequence of both sides" || bad "monitor stream"
import json, re, sys
def load(p):
    evs = []
    for n, line in enumerate(open(p, encoding="ascii"), 1):
        e = json.loads(line)
        for k in ("event", "time", "conn", "initiator"):
            assert k in e, (p, n, k, line)
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e["time"]), e["time"]
        evs.append(e)
    return evs
a, b = load(sys.argv[1]), load(sys.argv[2])
seq = [(e["conn"], e["event"]) for e in a]
print("a:", " ".join("%s/%s" % s for s in seq))
print("b:", " ".join("%s/%s" % (e["conn"], e["event"]) for e in b))
want = [("noprop", "ike-failed"), ("badpsk", "auth-failed"), ("badpsk", "ike-failed"),
        ("peer", "ike-up"), ("peer", "child-failed"), ("nobody", "ike-failed"),
        ("peer", "ike-rekey"), ("peer", "ike-down")]
assert seq == want, seq
f = a[0]
assert f["reason"] == "NO_PROPOSAL_CHOSEN: the peer refused IKE_SA_INIT" and f["initiator"] is True
assert f["local"] == "192.0.2.1" and f["remote"] == "192.0.2.2", f
assert re.match(r"^[0-9a-f]{16}$", f["spi_i"]) and isinstance(f["ike_id"], int), f
up = a[3]
assert up["remote_id"] == "b.example" and re.match(r"^[0-9a-f]{16}$", up["spi_r"]), up
cf = a[4]
assert cf["child"] == "peer" and cf["reason"].startswith("NO_PROPOSAL_CHOSEN"), cf
assert a[5]["reason"].startswith("timeout: no response after"), a[5]
rk = a[6]
assert rk["ike_id"] == up["ike_id"] and rk["new_ike_id"] != rk["ike_id"], rk
assert rk["new_spi_i"] != rk["spi_i"], rk
dn = a[7]
assert dn["ike_id"] == rk["new_ike_id"] and dn["reason"] == "deleted: down requested", dn
bs = [(e["conn"], e["event"]) for e in b]
assert ("peer", "auth-failed") in bs and ("peer", "ike-failed") in bs, bs
bk = [e for e in b if e["event"] == "child-failed"]
assert bk and bk[0]["reason"].startswith("kernel: EPROTONOSUPPORT"), bk
assert bk[0]["initiator"] is False and bk[0]["child"] == "peer", bk
assert bs[-2:] == [("peer", "ike-rekey"), ("peer", "ike-down")], bs
assert b[-1]["reason"] == "deleted: by the peer", b[-1]
PY
echo "--- a's events"; sed 's/^/    /' "$tmp/a.events"

xiked_stop a b
host_end xikectl_outcome "$tmp/a.log" "$tmp/b.log" "$tmp/b.events"
