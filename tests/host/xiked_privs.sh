#!/usr/bin/env bash
# Least privilege without systemd (daemon/privs.h): a running xiked holds
# only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (effective, permitted,
# bounding; nothing inheritable or ambient), and with [daemon] user = it
# runs as that user keeping them. It still works with just those: trap
# policies installed after the drop, an IKE SA with a peer, a reload that
# re-reads the configuration and the key file.
#   tests/host/xiked_privs.sh BUILD_DIR
set -uo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
. "$(dirname "$0")/netns_pair.sh"
host_test xiked-privs
chmod 755 "$tmp" # user = nobody reads its configuration below
netns_one xkpv
nobody_uid=$(id -u nobody) nobody_gid=$(id -g nobody)

# CAP_NET_BIND_SERVICE is bit 10, CAP_NET_ADMIN bit 12.
want_caps=0000000000001400
field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
caps_ok() { # caps_ok PID LABEL
  local eff prm bnd inh amb
  eff=$(field "$1" CapEff) prm=$(field "$1" CapPrm) bnd=$(field "$1" CapBnd)
  inh=$(field "$1" CapInh) amb=$(field "$1" CapAmb)
  if [ "$eff" = $want_caps ] && [ "$prm" = $want_caps ] && [ "$bnd" = $want_caps ] &&
     [ "$inh" = 0000000000000000 ] && [ "$amb" = 0000000000000000 ]; then
    ok "$2: CapEff=CapPrm=CapBnd=$eff (NET_ADMIN, NET_BIND_SERVICE), CapInh=CapAmb=0"
  else
    bad "$2: CapEff $eff CapPrm $prm CapBnd $bnd CapInh $inh CapAmb $amb"
  fi
}
conf() { # conf NAME LOCAL REMOTE LTS RTS START [USER]
  cat > "$tmp/$1.conf" <<CONF
[daemon]
control = $tmp/$1.sock
listen = $2
${7:+user = $7}
[conn peer]
local_addr = $2
remote_addr = $3
local_id = $2
remote_id = $3
auth = psk
psk_file = $1.psk
local_ts = 10.$4.0.0/24
remote_ts = 10.$5.0.0/24
start = $6
CONF
  printf 'a pre-shared key long enough for both\n' > "$tmp/$1.psk"
  chmod 600 "$tmp/$1.conf" "$tmp/$1.psk"
}

# Root, no user =: the responder.
conf b 127.0.0.2 127.0.0.1 2 1 none
xiked_start "$N" b
bpid=$(cat "$tmp/b.pid")
wait_sock "$tmp/b.sock" || bad "b did not start"
sleep 0.2
caps_ok "$bpid" "root xiked"
[ "$(field "$bpid" Uid | head -c 1)" = 0 ] && ok "root xiked stays uid 0" || bad "uid of b"
grep -q "keeping only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE" "$tmp/b.log" && ok "logged" || bad "no log line"

# user = nobody: the initiator, trap policies installed after the drop.
conf a 127.0.0.1 127.0.0.2 1 2 trap nobody
chown nobody "$tmp/a.conf" "$tmp/a.psk"
out=$("$xiked" -t -c "$tmp/a.conf" 2>&1) && ok "-t accepts user = nobody" || bad "-t: $out"
xiked_start "$N" a
apid=$(cat "$tmp/a.pid")
wait_sock "$tmp/a.sock" || bad "a did not start"
sleep 0.3
caps_ok "$apid" "user = nobody"
uids=$(field "$apid" Uid; awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$apid/status")
gids=$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' "/proc/$apid/status")
[ "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "/proc/$apid/status")" = "$nobody_uid$nobody_uid$nobody_uid$nobody_uid" ] &&
  [ "$gids" = "$nobody_gid $nobody_gid $nobody_gid $nobody_gid" ] \
  && ok "Uid and Gid (real, effective, saved, fs) are nobody's: $nobody_uid/$nobody_gid" \
  || bad "Uid $(awk '$1 == "Uid:"' "/proc/$apid/status") Gid $gids"
n=$(ip -n "$N" xfrm policy | grep -c 'dir out')
[ "$n" -ge 1 ] && ok "trap policies installed as nobody ($n out)" || bad "no trap policy"

# An IKE SA between them (XFRM netlink works; the Child SA fails: no ESP here).
"$xikectl" -s "$tmp/a.sock" up peer >/dev/null 2>&1
up=no
for _ in $(seq 100); do
  "$xikectl" -s "$tmp/a.sock" status --json 2>/dev/null | grep -q '"state":"ESTABLISHED"' && { up=yes; break; }
  sleep 0.1
done
[ $up = yes ] && ok "IKE SA established by the unprivileged initiator" || bad "no IKE SA"
grep -qi "Operation not permitted\|permission denied" "$tmp/a.log" "$tmp/b.log" \
  && bad "EPERM in the logs: $(grep -hi 'not permitted\|permission denied' "$tmp/a.log" "$tmp/b.log" | head -n 2)" \
  || ok "no EPERM/EACCES in either log"

# Reload as nobody: re-reads the configuration and the key file.
cat >> "$tmp/a.conf" <<'EOF2'
[conn second]
remote_addr = 127.0.0.3
auth = psk
psk_file = a.psk
EOF2
out=$("$xikectl" -s "$tmp/a.sock" reload 2>&1) && grep -q second <<<"$out" \
  && ok "xikectl reload as nobody: $(tr '\n' ' ' <<<"$out")" || bad "reload as nobody: $out"
kill "$apid"; wait "$apid"; rc=$?; rm -f "$tmp/a.pid"
[ $rc -eq 0 ] && ok "SIGTERM: exit 0 as nobody" || bad "exit $rc"
n=$(ip -n "$N" xfrm policy | grep -c 'dir ')
[ "$n" -eq 0 ] && ok "its policies removed at exit" || bad "$n policies left"

# Daemon mode with user =: the parent exits 0, the daemon runs as nobody.
out=$(ip netns exec "$N" "$xiked" -c "$tmp/a.conf" 2>&1); rc=$?
pid=$(ip netns pids "$N" | grep -vx "$bpid" | head -n 1)
[ $rc -eq 0 ] && [ -n "$pid" ] && [ "$(field "$pid" Uid)" = "$nobody_uid" ] \
  && ok "daemonized with user = nobody (pid $pid)" || bad "daemon with user (rc $rc, pid '$pid'): $out"
[ -n "$pid" ] && { caps_ok "$pid" "daemonized, user = nobody"; kill "$pid"; }

# An unknown user: -t and the start both fail and say so.
sed -i 's/^user = nobody$/user = xiked-no-such-user/' "$tmp/a.conf"
out=$("$xiked" -t -c "$tmp/a.conf" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "user = xiked-no-such-user: no such user" <<<"$out" \
  && ok "-t: unknown user reported" || bad "-t unknown user (rc $rc): $out"
sleep 0.3
out=$(ip netns exec "$N" "$xiked" -c "$tmp/a.conf" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "xiked-no-such-user: no such user" <<<"$out" \
  && ok "daemon start with an unknown user: exit $rc, '$out'" || bad "unknown user start (rc $rc): $out"

kill "$bpid"; wait "$bpid"; rm -f "$tmp/b.pid"
host_end xiked_privs "$tmp/a.log" "$tmp/b.log"
