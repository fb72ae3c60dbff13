#!/usr/bin/env bash
# Host tier, issue 13.8: two xiked in network namespaces over veth with
# [daemon] keylog = FILE on the initiator. tcpdump captures the veth; then
# ikedump --keys FILE CAPTURE must open every protected message of both IKE
# SAs (the first and the one an IKE rekey made) and show IKE_AUTH's payloads
# decrypted; the initiator started before the responder retransmits its
# IKE_SA_INIT request, which ikedump marks "(retransmission)". Also: the key
# file is 0600 and the log warns about it and holds no key; a daemon whose
# stderr is a journald stream (JOURNAL_STREAM) writes <N> priorities, and
# through it: xikectl log, a reload applying a changed log = and keeping the
# run-time levels when log = did not change, the keylog warning on reload.
#   tests/host/xiked_keylog.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: $0 BUILD_DIR}
. "$(dirname "$0")/netns_pair.sh"
host_test xiked-keylog
host_needs tcpdump
netns_pair xkl
# Algorithms ikedump decrypts with the key file.
pair_conf a "log = info, enc=debug
retransmit_timeout = 1s
keylog = $tmp/keys/a.keys" aes128-sha256-prfsha256-ecp256
pair_conf b "log = info, enc=debug
retransmit_timeout = 1s" aes128-sha256-prfsha256-ecp256
mkdir -m 700 "$tmp/keys"

ip netns exec "$A" tcpdump -Z root --immediate-mode -i "$veth_a" -U -w "$tmp/cap.pcap" udp 2>"$tmp/tcpdump.err" &
echo $! > "$tmp/tcpdump.pid"
for _ in $(seq 50); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.1; done

# a first: its IKE_SA_INIT request finds no one and goes again after 1 s.
xiked_start "$A" a
sleep 0.5
xiked_start "$B" b

established() {
  "$xikectl" -s "$tmp/a.sock" status --json 2>/dev/null | grep -q '"state":"ESTABLISHED"'
}
up=no
for _ in $(seq 100); do established && { up=yes; break; }; sleep 0.1; done
[ $up = yes ] && ok "IKE SA established" || bad "IKE SA established"
spis() { "$xikectl" -s "$tmp/a.sock" status --json | grep -o '"spi_i":"[0-9a-f]*"' | head -n 1; }
# Two IKE rekeys: the second one's exchanges run on the IKE SA the first made.
for n in 1 2; do
  before=$(spis)
  "$xikectl" -s "$tmp/a.sock" rekey peer --ike >/dev/null
  rekeyed=no
  for _ in $(seq 50); do
    now=$(spis)
    [ -n "$now" ] && [ "$now" != "$before" ] && [ "$(grep -c . "$tmp/keys/a.keys")" -ge $((2 * n + 2)) ] &&
      { rekeyed=yes; break; }
    sleep 0.1
  done
  [ $rekeyed = yes ] && ok "IKE SA rekeyed ($before -> $now)" || bad "IKE rekey $n"
  sleep 0.3 # the Delete of the old IKE SA and its answer
done

# SIGTERM: each side sends a Delete on the new IKE SA, captured too.
kill -TERM "$(cat "$tmp/a.pid")" "$(cat "$tmp/b.pid")"
for who in a b; do
  wait "$(cat "$tmp/$who.pid")"; rc=$?; rm -f "$tmp/$who.pid"
  [ $rc -eq 0 ] && ok "xiked $who exits 0" || bad "xiked $who exit $rc"
done
sleep 0.2
kill -INT "$(cat "$tmp/tcpdump.pid")"; wait "$(cat "$tmp/tcpdump.pid")" 2>/dev/null
rm -f "$tmp/tcpdump.pid"

keys=$tmp/keys/a.keys
[ "$(stat -c %a "$keys")" = 600 ] && ok "key file mode 0600" || bad "key file mode $(stat -c %a "$keys")"
[ "$(grep -vc '^#' "$keys")" -eq 3 ] && ok "key file: 3 IKE SAs (the first and two rekeys)" ||
  bad "key file lines: $(cat "$keys")"
grep -q 'WARN.*keylog = .*debugging only\|keylog = .*THE KEYS' "$tmp/a.log" && ok "loud warning at start" ||
  bad "keylog warning"
leak=no
while read -r _ _ _ ei er ai ar _; do
  for k in "$ei" "$er" "$ai" "$ar"; do grep -qi "$k" "$tmp/a.log" "$tmp/b.log" && leak=yes; done
done < <(grep -v '^#' "$keys")
[ $leak = no ] && ok "no key in either log" || bad "a key appears in a log"
[ ! -e "$tmp/keys/b.keys" ] && ok "no key file without keylog =" || bad "b wrote keys"

"$ikedump" --keys "$keys" "$tmp/cap.pcap" > "$tmp/dump.txt" 2>"$tmp/dump.err"; rc=$?
echo "    capture: $(grep -c '^#' "$tmp/dump.txt") frames; $(tail -n 1 "$tmp/tcpdump.err")"
[ $rc -eq 0 ] && ok "ikedump --keys exits 0" || bad "ikedump exit $rc: $(cat "$tmp/dump.err")"
python3 - "$ikedump" "$keys" "$tmp/cap.pcap" <<'PY' && ok "ikedump --json: every protected message opened, IKE_AUTH decrypted" || bad "ikedump decryption"
import json, subprocess, sys
ikedump, keys, pcap = sys.argv[1:4]
out = json.loads(subprocess.run([ikedump, "--json", "--keys", keys, pcap], capture_output=True,
                                text=True).stdout)
ike = [o for o in out if o["kind"] == "ike"]
prot = [o for o in ike if o["exchange"] != "IKE_SA_INIT"]
ok = True
for o in prot:
    if o.get("decryption") != "opened":
        print("  frame", o["frame"], o["exchange"], o.get("decryption"), o.get("decryption_error"))
        ok = False
auth = [o for o in prot if o["exchange"] == "IKE_AUTH" and not o["response"]]
inner = [p["type"] for p in auth[0]["inner"]] if auth and "inner" in auth[0] else []
print("  IKE_AUTH request inner payloads:", " ".join(inner))
ok = ok and inner[:1] == ["IDi"] and "AUTH" in inner and "TSi" in inner
sas = {(o["ispi"], o["rspi"]) for o in prot}
print(f"  {len(prot)} protected messages over {len(sas)} IKE SAs:",
      ", ".join(sorted({o['exchange'] for o in prot})))
# The first two IKE SAs carry a rekey each; the third at least the Delete sent on exit.
ok = ok and len(sas) == 3 and sum(o["exchange"] == "CREATE_CHILD_SA" for o in prot) == 4
retx = [o for o in ike if o["retransmission"]]
print(f"  {len(retx)} retransmissions marked:", ", ".join(f"#{o['frame']} {o['exchange']}" for o in retx))
ok = ok and any(o["exchange"] == "IKE_SA_INIT" and not o["response"] for o in retx)
sys.exit(0 if ok else 1)
PY
grep -A8 "IKE_AUTH initiator request" "$tmp/dump.txt" | head -n 12 | sed 's/^/    /'
grep -q "IKE_SA_INIT initiator request.*(retransmission)" "$tmp/dump.txt" &&
  ok "text output marks the retransmitted IKE_SA_INIT request" || bad "(retransmission) in text"

# Under journald: stderr a stream JOURNAL_STREAM names -> <N> priorities, no time.
# The same daemon checks reload and xikectl log: a changed log = applies, an
# unchanged one keeps the run-time levels; keylog = warns at start and reload.
jconf() { printf '[daemon]\ncontrol = %s/j.sock\nport = 0\nnatt_port = 0\nlog = %s\nkeylog = %s/keys/j.keys\n' \
  "$tmp" "$1" "$tmp" > "$tmp/j.conf"; chmod 600 "$tmp/j.conf"; }
jconf "error, dmn=info"
: > "$tmp/j.err"
ip netns exec "$A" env JOURNAL_STREAM="$(stat -c %d:%i "$tmp/j.err")" \
  "$xiked" -f -c "$tmp/j.conf" 2>>"$tmp/j.err" & echo $! > "$tmp/j.pid"
wait_sock "$tmp/j.sock"
lv=$("$xikectl" -s "$tmp/j.sock" log)
[ "$lv" = "dmn=info, net=error, enc=error, ike=error, chd=error, knl=error, cfg=error, ctl=error" ] &&
  ok "xikectl log shows the levels of log = error, dmn=info" || bad "xikectl log: $lv"
jconf "error, dmn=info, cfg=info"
"$xikectl" -s "$tmp/j.sock" reload >/dev/null
grep -q '^<6>\[CFG\] configuration reloaded' "$tmp/j.err" &&
  ok "a reload applies a changed log = (cfg=info)" || bad "reload of log ="
"$xikectl" -s "$tmp/j.sock" log ctl debug >/dev/null
"$xikectl" -s "$tmp/j.sock" reload >/dev/null
lv=$("$xikectl" -s "$tmp/j.sock" log)
[ "$lv" = "dmn=info, net=error, enc=error, ike=error, chd=error, knl=error, cfg=info, ctl=debug" ] &&
  ok "a reload with log = unchanged keeps xikectl log's ctl=debug" || bad "levels after reload: $lv"
kill -TERM "$(cat "$tmp/j.pid")"; wait "$(cat "$tmp/j.pid")"; rm -f "$tmp/j.pid"
grep -q '^<6>\[DMN\] xiked started' "$tmp/j.err" && ! grep -qv '^<[3467]>\[' "$tmp/j.err" &&
  ok "journald stream: every line '<N>[GROUP] ...'" || bad "journald lines: $(head -n 3 "$tmp/j.err")"
n=$(grep -c '^<4>\[DMN\] keylog = .*debugging only' "$tmp/j.err")
[ "$n" -eq 3 ] && ok "keylog warning at start and on each of 2 reloads" || bad "keylog warnings: $n"
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z \[DMN\] xiked started' "$tmp/a.log" &&
  ok "-f to a file: ISO 8601 UTC timestamps with milliseconds" || bad "timestamps: $(head -n 1 "$tmp/a.log")"

host_end xiked_keylog "$tmp/a.log" "$tmp/b.log"
