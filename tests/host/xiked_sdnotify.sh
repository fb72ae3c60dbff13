#!/usr/bin/env bash
# xiked's side of systemd's notification protocol (daemon/sdnotify.h),
# against a notify socket of our own (an AF_UNIX datagram listener, as
# systemd's): READY=1 once up, STATUS= with the SA counts as they change,
# WATCHDOG=1 at half of WATCHDOG_USEC and none while the process is
# stopped, RELOADING=1 with MONOTONIC_USEC then READY=1 around a reload,
# STOPPING=1 on SIGTERM. Two xiked on 127.0.0.1 and 127.0.0.2 of one
# namespace bring an IKE SA up (the Child SA fails: no ESP on this kernel).
#   tests/host/xiked_sdnotify.sh BUILD_DIR
set -uo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
. "$(dirname "$0")/netns_pair.sh"
host_test xiked-sdnotify
host_needs python3
netns_one xksd

# The listener: one line per notify field, "MONOTONIC_SECONDS FIELD=VALUE".
python3 - "$tmp/notify" "$tmp/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        d = s.recv(65536).decode()
        for line in d.split("\n"):
            if line:
                f.write("%.3f %s\n" % (time.monotonic(), line))
        f.flush()
PY
echo $! >"$tmp/listener.pid"
wait_sock "$tmp/notify"
now() { python3 -c 'import time; print("%.3f" % time.monotonic())'; }
count() { # count FIELD FROM TO: notifications FIELD between two monotonic times
  awk -v f="$1" -v a="$2" -v b="$3" '$2 == f && $1 >= a && $1 <= b' "$tmp/notify.log" | wc -l
}
waitfor() { # waitfor REGEX [TENTHS]
  for _ in $(seq "${2:-100}"); do grep -qE "$1" "$tmp/notify.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

conf() { # conf NAME LOCAL REMOTE START
  cat > "$tmp/$1.conf" <<CONF
[daemon]
control = $tmp/$1.sock
listen = $2
[conn peer]
local_addr = $2
remote_addr = $3
local_id = $2
remote_id = $3
auth = psk
psk = "a pre-shared key long enough for both"
local_ts = 10.$4.0.0/24
remote_ts = 10.$5.0.0/24
start = $6
CONF
  chmod 600 "$tmp/$1.conf"
}
conf a 127.0.0.1 127.0.0.2 1 2 none
conf b 127.0.0.2 127.0.0.1 2 1 none
xiked_start "$N" b
wait_sock "$tmp/b.sock"

t0=$(now)
ip netns exec "$N" env NOTIFY_SOCKET="$tmp/notify" WATCHDOG_USEC=2000000 \
  "$xiked" -f -c "$tmp/a.conf" >"$tmp/a.log" 2>&1 &
apid=$!
waitfor ' READY=1$' && ok "READY=1" || bad "no READY=1"
[ -S "$tmp/a.sock" ] && ok "the control socket exists when READY=1 is received" || bad "READY before the control socket"
waitfor ' STATUS=0 IKE SAs, 0 Child SAs$' && ok "STATUS=0 IKE SAs, 0 Child SAs" || bad "first STATUS"
grep -q "systemd watchdog: 2000 ms, pinging every 1000 ms" "$tmp/a.log" \
  && ok "watchdog 2 s: a ping every 1 s" || bad "watchdog interval not logged"
sleep 3.2
t1=$(now)
tr=$(awk '$2 == "READY=1" { print $1; exit }' "$tmp/notify.log")
n=$(count WATCHDOG=1 "$t0" "$t1")
# One ping a second since READY=1 (the first one tick after it).
awk -v n="$n" -v a="$tr" -v b="$t1" 'BEGIN { d = b - a; exit !(n >= int(d) - 1 && n <= int(d) + 1) }' \
  && ok "$n WATCHDOG=1 pings in the $(awk -v a="$tr" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s since READY=1" \
  || bad "$n WATCHDOG=1 pings in $(awk -v a="$tr" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"

# An IKE SA: STATUS= follows within one tick.
"$xikectl" -s "$tmp/a.sock" up peer >/dev/null 2>&1
waitfor ' STATUS=1 IKE SA, 0 Child SAs$' 80 && ok "STATUS=1 IKE SA, 0 Child SAs after xikectl up" \
  || { bad "STATUS after up"; tail -n 5 "$tmp/notify.log"; }
n=$(grep -c ' STATUS=' "$tmp/notify.log")
[ "$n" -le 3 ] && ok "STATUS= sent on change only ($n so far)" || bad "$n STATUS= lines"

# Reload: RELOADING=1 with MONOTONIC_USEC, then READY=1.
before=$(grep -c ' READY=1$' "$tmp/notify.log")
"$xikectl" -s "$tmp/a.sock" reload >/dev/null
sleep 0.3
tail_lines=$(tail -n 3 "$tmp/notify.log" | awk '{print $2}' | tr '\n' ' ')
grep -q ' RELOADING=1$' "$tmp/notify.log" && grep -qE ' MONOTONIC_USEC=[0-9]+$' "$tmp/notify.log" \
  && [ "$(grep -c ' READY=1$' "$tmp/notify.log")" -eq $((before + 1)) ] \
  && ok "reload: RELOADING=1, MONOTONIC_USEC=, READY=1" || bad "reload notifications: $tail_lines"
usec=$(sed -n 's/.* MONOTONIC_USEC=\([0-9]*\)$/\1/p' "$tmp/notify.log" | tail -n 1)
[ -n "$usec" ] && awk -v u="$usec" -v t="$(now)" 'BEGIN { d = t * 1e6 - u; exit !(d >= 0 && d < 5e6) }' \
  && ok "MONOTONIC_USEC is CLOCK_MONOTONIC now" || bad "MONOTONIC_USEC $usec"

# A stopped process does not ping.
kill -STOP "$apid"
s0=$(now); sleep 3; s1=$(now)
kill -CONT "$apid"
n=$(count WATCHDOG=1 "$(awk -v a="$s0" 'BEGIN{print a + 0.2}')" "$s1")
[ "$n" -eq 0 ] && ok "no WATCHDOG=1 while SIGSTOPped (3 s)" || bad "$n pings while stopped"
sleep 1.5
n=$(count WATCHDOG=1 "$s1" "$(now)")
[ "$n" -ge 1 ] && ok "pings resume after SIGCONT" || bad "no pings after SIGCONT"

kill "$apid"
wait "$apid"; rc=$?
grep -q ' STOPPING=1$' "$tmp/notify.log" && ok "STOPPING=1 on SIGTERM" || bad "no STOPPING=1"
[ $rc -eq 0 ] && ok "exit status 0" || bad "exit status $rc"

# Without NOTIFY_SOCKET nothing is sent (and nothing breaks).
lines=$(wc -l < "$tmp/notify.log")
ip netns exec "$N" env -u NOTIFY_SOCKET WATCHDOG_USEC=2000000 "$xiked" -f -c "$tmp/a.conf" >"$tmp/a2.log" 2>&1 &
p2=$!
for _ in $(seq 50); do "$xikectl" -s "$tmp/a.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1.5
kill "$p2"; wait "$p2"
[ "$(wc -l < "$tmp/notify.log")" -eq "$lines" ] && ! grep -q watchdog "$tmp/a2.log" \
  && ok "no NOTIFY_SOCKET: no notifications, no watchdog" || bad "notifications without NOTIFY_SOCKET"

host_end xiked_sdnotify "$tmp/a.log" "$tmp/notify.log"
