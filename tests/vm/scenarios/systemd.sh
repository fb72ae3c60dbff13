#!/usr/bin/env bash
# vm-init: systemd
# Issue 13.2: xiked as systemd runs it.  Needs Debian's systemd as PID 1
# (tests/vm/run with XIKED_VM_INIT=systemd; tools/test gives this script a
# boot of its own, see the "vm-init:" line above):
#   XIKED_VM_INIT=systemd tests/vm/run tests/vm/scenarios/systemd.sh BUILD_DIR
# As an administrator would: `meson install` of the build (prefix and unit
# directory as configured; /usr/local and systemd's unit directory get a
# tmpfs overlay, the rest of the root is the host's, read-only; or, with
# XIKED_DESTDIR, the tree of a `meson install --destdir` on the host copied
# into place), the
# installed example configuration edited, then systemctl and journalctl:
#   1. start: active only once xiked said READY=1 (PID 1 logs each
#      notification at debug level), STATUS= in StatusText, the hardening in
#      force (CapEff/CapBnd, NoNewPrivs, seccomp of the main process);
#   2. a trap conn: a ping from this host makes the kernel's ACQUIRE, xiked
#      (confined) negotiates with a second xiked in a namespace, installs
#      states, policies and its route, and the ping crosses; StatusText
#      counts the SAs;
#   3. keylog = under ProtectSystem=strict: an error in the journal at
#      priority err naming ReadWritePaths=; into the drop-in's
#      ReadWritePaths= (by the reload of 4) the keys are written (after 5);
#   4. reload: xikectl reload through ExecReload, RELOADING=1 then READY=1;
#      a bad file: systemctl reload fails, journalctl -u xiked -p err shows
#      the error (and no info line), the daemon and its SA stay;
#   5. the watchdog (WatchdogSec=6s in a drop-in): SIGSTOP the daemon,
#      systemd aborts it and starts a new one (NRestarts, MainPID);
#   6. stop: STOPPING=1, exit status 0, no state, policy or route left.
# shellcheck disable=SC2016 # checks run as eval '...', expanded there
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
if [ "$(cat /proc/1/comm)" != systemd ]; then
  echo "systemd.sh needs systemd as PID 1: XIKED_VM_INIT=systemd tests/vm/run $0 BUILD_DIR" >&2
  exit 2
fi
build=${1:-build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
xk_init "$build"
on_exit() {
  local rc=$?
  set +e
  systemctl stop xiked 2>/dev/null
  xk_cleanup
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT

note "kernel $(uname -r), systemd $(systemctl --version | awk 'NR == 1 { print $2 }'), script started at uptime $(cut -d' ' -f1 /proc/uptime) s"
modprobe -a esp4 xfrm_user veth
if xfrm_probe 4 aead 'rfc4106(gcm(aes))' "$(hexkey 36)" 128; then ok "kernel: ESP with AES-GCM"
else fail "kernel: ESP with AES-GCM"; fi

# ---------------------------------------------------------------- install
# The build's directories, as meson resolved them (read from its JSON with
# bash: Python's start-up costs seconds over 9p under TCG).
opts=$(< "$build/meson-info/intro-buildoptions.json")
opt() { local re="\"name\": \"$1\", \"value\": \"([^\"]*)\""; REPLY=""; if [[ $opts =~ $re ]]; then REPLY=${BASH_REMATCH[1]}; fi; }
opt prefix; prefix=$REPLY
bindir="" sbindir="" sysconfdir=""
for d in bindir sbindir sysconfdir; do
  opt "$d"
  case $REPLY in /*) printf -v "$d" %s "$REPLY" ;; *) printf -v "$d" %s "$prefix/$REPLY" ;; esac
done
opt systemdunitdir; unitdir=$REPLY
[ -n "$unitdir" ] || unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
unitdir=$(readlink -f "$unitdir")
note "prefix $prefix, unit directory $unitdir"
# overlay DIR: DIR writable, its files still there (the upper layer on tmpfs).
overlay() {
  local d=/run/xk-overlay/${1//\//_}
  mkdir -p "$d"/upper "$d"/work
  mount -t overlay overlay -o "lowerdir=$1,upperdir=$d/upper,workdir=$d/work" "$1"
}
install_xiked() {
  overlay "$prefix" && overlay "$unitdir" || return 1
  if [ -n "${XIKED_DESTDIR:-}" ]; then
    # Installed on the host already (meson's Python is slow over 9p under
    # TCG): the tree is copied into place as a package manager would.
    local f
    (cd "$XIKED_DESTDIR" && find . -type f -o -type l) | while read -r f; do
      f=${f#.}
      mkdir -p "$(dirname "$f")" && cp -P --preserve=mode "$XIKED_DESTDIR$f" "$f" || return 1
      echo "installed $f"
    done
  else
    # meson writes its install log into the (read-only) build directory.
    unshare -m sh -c 'mount -t tmpfs logs "$1/meson-logs" && meson install -C "$1" --no-rebuild' \
      sh "$build" | tail -n 5
  fi
  [ -x "$sbindir/xiked" ] && [ -f "$unitdir/xiked.service" ] && [ -f "$sysconfdir/xiked/xiked.conf" ]
}
check "meson install${XIKED_DESTDIR:+ --destdir $XIKED_DESTDIR} (prefix $prefix, unit in $unitdir)" install_xiked
check "the installed xiked is the build's" cmp "$sbindir/xiked" "$build/daemon/xiked"
unit_execs() { systemctl cat xiked | tee /dev/stderr | grep -qx "ExecStart=$sbindir/xiked -f -c $sysconfdir/xiked/xiked.conf"; }
# A watchdog short enough for the test (the unit says 30 s), and the
# directory of the key file (section 3) writable.  Not loaded before: no
# daemon-reload needed (each costs many seconds over 9p under TCG).
keydir=/var/lib/xiked-keys
mkdir -p /run/systemd/system/xiked.service.d "$keydir" /var/lib/xiked-ro
cat > /run/systemd/system/xiked.service.d/test.conf <<EOF
[Service]
WatchdogSec=6s
ReadWritePaths=$keydir
EOF
check "systemd reads the installed unit (ExecStart=$sbindir/xiked)" unit_execs
note "installed"

# ---------------------------------------------------------------- topology
# This host (xiked under systemd) 192.0.2.1 --- 192.0.2.2 namespace b (xiked B)
#   10.1.0.1 on lo                                 10.2.0.1 on lo
ns_new b
ip link add xa type veth peer name xb netns b
ip link set xa up
ip -n b link set xb up
ip addr add 192.0.2.1/24 dev xa
ip -n b addr add 192.0.2.2/24 dev xb
ip addr add 10.1.0.1/32 dev lo
ip -n b addr add 10.2.0.1/32 dev lo
# iputils' ping if the host has it, else busybox's (-c, -W, -I ADDR as well).
ping() { if type -P ping > /dev/null; then command ping "$@"; else busybox ping "$@"; fi; }
check "veth to b" ping -c 1 -W 5 192.0.2.2

conn() { # conn LOCAL REMOTE LID RID LTS RTS START
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
start = $7
EOF
}
xk_conf b <<EOF
$(conn 192.0.2.2 192.0.2.1 b.example a.example 10.2.0.1/32 10.1.0.1/32 none)
EOF
check "xiked B started in b" xk_start b b

# The installed example, edited as an administrator would: the example's
# comments kept, the conn added.
conf=$sysconfdir/xiked/xiked.conf
grep '^#' "$conf" > /run/xk-example-comments || true
write_conf() { # write_conf KEYLOG-DIR
  {
    cat /run/xk-example-comments
    printf '[daemon]\nlog = info\nkeylog = %s/keys\n' "$1"
    conn 192.0.2.1 192.0.2.2 a.example b.example 10.1.0.1/32 10.2.0.1/32 trap
  } > "$conf"
}
check "the installed configuration is 0600" test "$(stat -c %a "$conf")" = 600
write_conf /var/lib/xiked-ro

# ---------------------------------------------------------------- 1. start
# PID 1 at debug level logs every notification it gets ("Got notification
# message from PID ..., READY=1"): the proof of what xiked sent.
systemctl log-level debug
pid1_notes() { # the notifications PID 1 got from xiked since the cursor
  journalctl -q --no-pager -o cat _PID=1 --after-cursor="$CURSOR" | grep 'xiked.service: Got notification message' || true
}
cursor() { CURSOR=$(journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p'); }
cursor
T0=$EPOCHREALTIME
check "systemctl start xiked" systemctl start xiked
note "systemctl start took $(((${EPOCHREALTIME/./} - ${T0/./}) / 1000)) ms"
unit_state() { local p v=""; for p in "$@"; do v+="$(systemctl show -P "$p" xiked) "; done; echo "$v"; }
check "active (Type=notify)" test "$(unit_state ActiveState SubState Type)" = "active running notify "
ready_first() { # READY=1 came in, and before systemd called the unit started
  journalctl -q --no-pager -o cat _PID=1 --after-cursor="$CURSOR" |
    grep -E 'xiked.service: Got notification message.*READY=1|Started xiked.service' | head -n 2 | tee /dev/stderr |
    { read -r a; read -r b; [[ $a == *READY=1* ]] && [[ $b == *Started* ]]; }
}
check "READY=1 before 'Started xiked.service'" ready_first
status_text() { systemctl show -P StatusText xiked; }
check "STATUS= in StatusText: $(status_text)" eval '[[ "$(status_text)" == *"IKE SA"* ]]'
check "systemctl status shows the status" eval 'systemctl status --no-pager xiked | grep -q "Status: \"0 IKE SAs"'
MAINPID=$(systemctl show -P MainPID xiked)
caps() { grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "/proc/$MAINPID/status" | tr -s '\t' ' '; }
note "main process $MAINPID: $(caps | tr '\n' ' ')"
check "confined: only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE, no new privileges, seccomp" \
  eval '[ "$(caps | tr "\n" " ")" = "CapPrm: 0000000000001400 CapEff: 0000000000001400 CapBnd: 0000000000001400 CapAmb: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 " ]'
check "xikectl status through /run/xiked/xiked.sock" "$bindir/xikectl" status
journalctl -q --no-pager -u xiked -o cat | tail -n 12 | sed 's/^/       | /'

# ---------------------------------------------------------------- 2. trap
note "2. trap"
trap_policy() { ip xfrm policy | grep -q 'dir out'; }
check "trap policy installed by the confined xiked" trap_policy
ping_through() { ping -c 1 -W 2 -I 10.1.0.1 10.2.0.1; }
tunnel_up() { wait_for 60 "a ping through the tunnel" ping_through; }
check "a ping to 10.2.0.1 makes the ACQUIRE, the IKE SA and the Child SA, and crosses" tunnel_up
states2() { [ "$(ip xfrm state | grep -c '^src')" -eq 2 ]; }
check "two ESP states" states2
route220() { ip route show table 220 | tee /dev/stderr | grep -q '10.2.0.1'; }
check "xiked's route in table 220" route220
check "ping: 3 of 3 through the tunnel" eval 'ping -c 3 -W 5 -I 10.1.0.1 10.2.0.1 | grep -qE "3 (packets )?received"'
status_counts() { wait_for 15 "StatusText with 1 IKE SA" eval '[[ "$(status_text)" == "1 IKE SA, 1 Child SA" ]]' || { status_text; "$bindir/xikectl" status; false; }; }
check "StatusText counts the SAs" status_counts

# ---------------------------------------------------------------- 3. keylog
note "3. keylog"
rofs_error() {
  journalctl -q --no-pager -u xiked -p err -o cat | tee /dev/stderr |
    grep -q "keylog = /var/lib/xiked-ro/keys: Read-only file system.*ReadWritePaths="
}
check "keylog under ProtectSystem=strict: an err line naming ReadWritePaths=" rofs_error
check "no key file written" test ! -e /var/lib/xiked-ro/keys

# ---------------------------------------------------------------- 4. reload
note "4. reload"
# The reload also moves keylog = into ReadWritePaths= (written from the next IKE SA on).
write_conf "$keydir"
cursor
check "systemctl reload xiked" systemctl reload xiked
reload_notes() { pid1_notes | tee /dev/stderr | grep -E 'RELOADING=1|READY=1' | head -n 2 |
  { read -r a; read -r b; [[ $a == *RELOADING=1* ]] && [[ $b == *READY=1* ]]; }; }
check "RELOADING=1, then READY=1" reload_notes
check "the reload went through xikectl reload (ExecReload)" eval \
  'journalctl -q --no-pager -u xiked -o cat --after-cursor="$CURSOR" | grep -qi "reload"'
check "same main process after the reload" test "$(systemctl show -P MainPID xiked)" = "$MAINPID"
cp "$conf" /run/xk-good.conf
echo "bogus_key = 1" >> "$conf"
cursor
check "a bad file: systemctl reload fails" eval '! systemctl reload xiked'
bad_line=$(grep -c '' "$conf")
err_line() {
  journalctl -q --no-pager -u xiked -p err -o cat --after-cursor="$CURSOR" | tee /dev/stderr |
    grep -q "$conf:$bad_line"
}
check "journalctl -u xiked -p err: $conf:$bad_line" err_line
prio_err() { # the line's PRIORITY field is 3 (err), and -p err leaves info lines out
  journalctl -q --no-pager -u xiked -o verbose --after-cursor="$CURSOR" -g "$conf:$bad_line" |
    grep -q 'PRIORITY=3' &&
    ! journalctl -q --no-pager -u xiked -p err -o verbose | grep -qE 'PRIORITY=[4-7]'
}
check "its priority is err; -p err shows nothing less" prio_err
check "still active, same process, the SA kept" eval \
  '[ "$(systemctl is-active xiked)" = active ] && [ "$(systemctl show -P MainPID xiked)" = "$MAINPID" ] && ping_through'
cp /run/xk-good.conf "$conf"

# ---------------------------------------------------------------- 5. watchdog
note "5. watchdog"
cursor
check "WatchdogSec=6s in force" test "$(systemctl show -P WatchdogUSec xiked)" = 6s
watchdog_pings() { pid1_notes | grep -q 'WATCHDOG=1'; }
check "WATCHDOG=1 pings" wait_for 10 "a WATCHDOG=1" watchdog_pings
restarts=$(systemctl show -P NRestarts xiked)
kill -STOP "$MAINPID"
note "SIGSTOP to $MAINPID, NRestarts $restarts"
new_main() {
  local p
  p=$(systemctl show -P MainPID xiked)
  [ "$p" != 0 ] && [ "$p" != "$MAINPID" ] && [ "$(systemctl is-active xiked)" = active ]
}
check "the watchdog restarts xiked: a new main process, active" wait_for 60 "a new xiked" new_main
check "NRestarts rose" test "$(systemctl show -P NRestarts xiked)" -gt "$restarts"
check "systemd said: watchdog timeout" eval \
  'journalctl -q --no-pager -o cat _PID=1 --after-cursor="$CURSOR" | grep -q "xiked.service: Watchdog timeout"'
check "the old process is gone" pid_gone "$MAINPID"
MAINPID=$(systemctl show -P MainPID xiked)
check "the tunnel again with the new daemon" wait_for 60 "a ping through the tunnel" ping_through
keys_written() { [ -s "$keydir/keys" ] && grep -q '^# conn peer' "$keydir/keys"; }
check "keylog in ReadWritePaths=$keydir: the new IKE SA's keys written" keys_written
check "key file mode 0600" test "$(stat -c %a "$keydir/keys")" = 600

# ---------------------------------------------------------------- 6. stop
note "6. stop"
cursor
check "systemctl stop xiked" systemctl stop xiked
check "STOPPING=1" eval 'pid1_notes | grep -q STOPPING=1'
check "exit status 0, result success" test "$(unit_state ExecMainStatus Result)" = "0 success "
nothing_left() {
  [ -z "$(ip xfrm state)" ] && [ -z "$(ip xfrm policy)" ] && [ -z "$(ip route show table 220 2>/dev/null)" ]
}
check "no xfrm state, policy or route left" wait_for 10 "an empty kernel" nothing_left
ip xfrm state; ip xfrm policy
systemctl log-level info
finish
