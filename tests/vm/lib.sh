# shellcheck shell=bash
# tests/vm/lib.sh: helpers for kernel scenarios run by tests/vm/run.
# Source it from a bash script that runs inside the VM as root:
#
#   #!/usr/bin/env bash
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"
#   vm_kernel_init
#   ns_new a b; ns_link a va b vb; ns_addr a va 192.0.2.1/24 2001:db8::1/64 ...
#   check "name" some command ...
#   finish
#
# Reporting: ok, fail, check, finish (the last line printed is always
# "N passed, N failed"; an EXIT trap prints it too if the script dies early
# and counts that as a failure).  Names of created namespaces and charons are
# remembered so vm_cleanup (called by finish and at exit) can remove them,
# which lets several scenarios share one boot.

VM_T0=$EPOCHREALTIME
VM_PASSED=0
VM_FAILED=0
VM_FINISHED=""
VM_NETNS=()
VM_CHARONS=()
VM_SS_DIR=${XIKED_SS_DIR:-/tmp/xiked-ss}

# ---------------------------------------------------------------- reporting

vm_elapsed() { # seconds since lib.sh was sourced, one decimal
  local us=$((${EPOCHREALTIME/./} - ${VM_T0/./}))
  printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10))
}

note() { printf '# [%ss] %s\n' "$(vm_elapsed)" "$*"; }

ok() { VM_PASSED=$((VM_PASSED + 1)); printf 'ok   - %s\n' "$1"; }

fail() { # fail NAME [WHY]
  VM_FAILED=$((VM_FAILED + 1))
  printf 'FAIL - %s%s\n' "$1" "${2:+: $2}"
}

# check NAME CMD...: ok if CMD succeeds, else fail and show the end of its
# output.  CMD runs in this shell (a helper's bookkeeping survives), with
# errexit off as in any condition.
check() {
  local name=$1 out=/tmp/xiked-check.$$ rc=0
  shift
  "$@" > "$out" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    ok "$name"
  else
    fail "$name" "exit status $rc"
    tail -n 20 "$out" | sed 's/^/       | /'
  fi
  rm -f "$out"
  return 0
}

finish() { # print the summary, clean up; status 0 only if nothing failed
  VM_FINISHED=1
  vm_cleanup
  printf '%d passed, %d failed\n' "$VM_PASSED" "$VM_FAILED"
  [ "$VM_FAILED" -eq 0 ] && [ "$VM_PASSED" -gt 0 ]
}

vm_on_exit() {
  local rc=$?
  [ -z "$VM_FINISHED" ] || return 0
  fail "script ended before finish" "status $rc"
  finish || true
  exit $((rc == 0 ? 1 : rc))
}
trap vm_on_exit EXIT

# wait_for SECS WHAT CMD...: poll CMD every 0.2 s until it succeeds; on
# timeout print WHAT and return 1.
wait_for() {
  local secs=$1 what=$2 end
  shift 2
  end=$((${EPOCHREALTIME/./} + secs * 1000000))
  until "$@" > /dev/null 2>&1; do
    if [ "${EPOCHREALTIME/./}" -ge "$end" ]; then
      echo "timed out after ${secs}s waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

vm_require() { # refuse to run outside the VM: these scripts change the kernel
  if [ "${XIKED_VM:-}" != 1 ] || [ "$(id -u)" -ne 0 ]; then
    echo "run this inside the VM: tests/vm/run $0" >&2
    exit 2
  fi
}

# ---------------------------------------------------------------- kernel

hexkey() { # hexkey BYTES: a fixed test key in ip-xfrm syntax
  local s=0x i
  for ((i = 0; i < $1; i++)); do s+=5a; done
  echo "$s"
}

# xfrm_probe [-n NS] FAMILY ALG-ARGS...: add an ESP tunnel SA with the given
# algorithm arguments (e.g. aead 'rfc4106(gcm(aes))' KEY 128) in namespace NS
# (default: the current one), then delete it.  The add makes the kernel
# instantiate and self-test the algorithm.  Status: that of the add (ip's
# error on stderr).
xfrm_probe() {
  local ip=(ip) fam src dst spi=0x7e570001 rc=0
  if [ "$1" = -n ]; then ip=(ip -n "$2"); shift 2; fi
  fam=$1
  shift
  case $fam in
    4) src=192.0.2.201 dst=192.0.2.202 ;;
    6) src=2001:db8::201 dst=2001:db8::202 ;;
    *) echo "xfrm_probe: family 4 or 6" >&2; return 2 ;;
  esac
  "${ip[@]}" xfrm state add src $src dst $dst proto esp spi $spi mode tunnel "$@" || rc=$?
  [ "$rc" -ne 0 ] || "${ip[@]}" xfrm state delete src $src dst $dst proto esp spi $spi
  return "$rc"
}

# The algorithm sets a scenario is likely to need; each entry is a
# family followed by ip-xfrm algorithm arguments.
VM_XFRM_ALGS=(
  "4 aead rfc4106(gcm(aes)) $(hexkey 36) 128"
  "4 aead rfc4106(gcm(aes)) $(hexkey 20) 128"
  "4 aead rfc7539esp(chacha20,poly1305) $(hexkey 36) 128"
  "4 enc cbc(aes) $(hexkey 32) auth-trunc hmac(sha256) $(hexkey 32) 128"
  "4 enc cbc(aes) $(hexkey 16) auth-trunc hmac(sha1) $(hexkey 20) 96"
  "4 enc cbc(aes) $(hexkey 32) auth-trunc hmac(sha384) $(hexkey 48) 192"
  "4 enc cbc(aes) $(hexkey 32) auth-trunc hmac(sha512) $(hexkey 64) 256"
  "6 aead rfc4106(gcm(aes)) $(hexkey 36) 128"
)

# vm_kernel_init: load the IPsec modules and exercise every algorithm of
# VM_XFRM_ALGS once, so the slow first-use crypto self-tests (seconds each
# under TCG) happen here and not in the middle of an IKE exchange.
vm_kernel_init() {
  local a t
  modprobe -a esp4 esp6 xfrm_user xfrm_interface ip_vti ip6_vti veth dummy
  for a in "${VM_XFRM_ALGS[@]}"; do
    t=$EPOCHREALTIME
    # shellcheck disable=SC2086 # each entry is a word list
    xfrm_probe $a || { echo "vm_kernel_init: cannot use: $a" >&2; return 1; }
    note "kernel algorithm ready in $(((${EPOCHREALTIME/./} - ${t/./}) / 1000)) ms: ${a#* }" |
      sed -E 's/0x(5a)+/KEY/g'
  done
}

# ---------------------------------------------------------------- namespaces

ns() { local n=$1; shift; ip netns exec "$n" "$@"; } # ns NAME CMD...

# ns_ping NS PING-ARGS...: ping from NS (iputils if installed, else busybox's,
# which takes -c, -W, -w, -I ADDR|IFACE and -6 too)
ns_ping() {
  local n=$1
  shift
  if command -v ping > /dev/null; then ns "$n" ping "$@"; else ns "$n" busybox ping "$@"; fi
}

ns_new() { # ns_new NAME...: namespaces with lo up
  local n
  for n in "$@"; do
    ip netns add "$n"
    VM_NETNS+=("$n")
    ip -n "$n" link set lo up
  done
}

ns_link() { # ns_link NS1 IF1 NS2 IF2: veth pair between two namespaces, up
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
}

ns_addr() { # ns_addr NS IF ADDR/PFX...: IPv6 ones with nodad (usable at once)
  local n=$1 dev=$2 a
  shift 2
  for a in "$@"; do
    case $a in
      *:*) ip -n "$n" addr add "$a" dev "$dev" nodad ;;
      *) ip -n "$n" addr add "$a" dev "$dev" ;;
    esac
  done
}

# ---------------------------------------------------------------- strongSwan
# Each charon gets $VM_SS_DIR/NS/ holding strongswan.conf, charon.log (file
# log), charon.out (stdout/stderr), charon.pid and the vici socket
# charon.vici, and its own tmpfs /run (its pid file lives there).

charon_dir() { echo "$VM_SS_DIR/$1"; }
charon_log() { echo "$VM_SS_DIR/$1/charon.log"; }

# A charon runs from the host root, or from a peer root (tools/peer-roots)
# when VM_ROOT[NS] names one: charon_root NS ROOT-NAME before charon_start.
declare -A VM_ROOT=()
charon_root() { VM_ROOT[$1]=$(peer_root "$2"); }

# charon_start NS [EXTRA]: write NS's strongswan.conf and start charon in NS;
# EXTRA is added inside the charon section, one "key = value" per line.
# Returns once the vici socket is there.  XIKED_CHARON_LOG sets the log
# level of the ike/cfg/knl/net subsystems (default 1).
charon_start() {
  local n=$1 extra=${2:-} d lvl=${XIKED_CHARON_LOG:-1} root=${VM_ROOT[$1]:-}
  d=$(charon_dir "$n")
  mkdir -p "$d"
  rm -f "$d/charon.vici"
  # One key per line: "a = 1 b = 2" on one line is read as one value.
  # charon installs its own routes into the tunnels (table 220, its default).
  cat > "$d/strongswan.conf" <<EOF
charon {
  load = random nonce openssl pem pkcs1 x509 pubkey kdf hmac sha2 kernel-netlink socket-default vici
  filelog {
    main {
      path = $d/charon.log
      time_format = %H:%M:%S
      default = 1
      ike = $lvl
      cfg = $lvl
      knl = $lvl
      net = $lvl
      flush_line = yes
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
  plugins {
    vici {
      socket = unix://$d/charon.vici
    }
  }
$extra
}
swanctl {
  load = random pem pkcs1 x509 pubkey openssl
  socket = unix://$d/charon.vici
}
EOF
  if [ -n "$root" ]; then
    in_root "$n" "$root" /usr/bin/env STRONGSWAN_CONF="$d/strongswan.conf" /usr/lib/ipsec/charon \
      > "$d/charon.out" 2>&1 &
  else
    ip netns exec "$n" sh -c 'mount -t tmpfs t /run && exec "$@"' charon \
      env STRONGSWAN_CONF="$d/strongswan.conf" /usr/lib/ipsec/charon \
      > "$d/charon.out" 2>&1 &
  fi
  echo $! > "$d/charon.pid"
  VM_CHARONS+=("$n")
  wait_for 60 "charon's vici socket in $n" test -S "$d/charon.vici" || {
    tail -n 20 "$d/charon.out" "$d/charon.log" >&2 2>/dev/null
    return 1
  }
}

swanctl_in() { # swanctl_in NS SWANCTL-ARGS...: swanctl against NS's charon
  local n=$1 d root=${VM_ROOT[$1]:-}
  shift
  d=$(charon_dir "$n")
  if [ -n "$root" ]; then # the peer root's own swanctl, of its charon's version
    in_root "$n" "$root" /usr/bin/env STRONGSWAN_CONF="$d/strongswan.conf" \
      swanctl "$@" --uri "unix://$d/charon.vici"
  else
    STRONGSWAN_CONF="$d/strongswan.conf" swanctl "$@" --uri "unix://$d/charon.vici"
  fi
}

charon_load() { swanctl_in "$1" --load-all --file "$2"; } # charon_load NS FILE

# charon_initiate NS CHILD [SECS]: initiate CHILD (and its IKE SA), waiting up
# to SECS (default 180: IKE_AUTH takes tens of seconds under TCG).
charon_initiate() {
  swanctl_in "$1" --initiate --child "$2" --timeout "${3:-180}"
}

charon_stop() { # charon_stop NS: stop NS's charon (it removes its SAs)
  local d pid
  d=$(charon_dir "$1")
  [ -f "$d/charon.pid" ] || return 0
  pid=$(cat "$d/charon.pid")
  rm -f "$d/charon.pid"
  kill "$pid" 2>/dev/null || return 0
  wait_for 20 "charon in $1 to stop" pid_gone "$pid" || kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

pid_gone() { # pid_gone PID: no such process, or only an unreaped zombie
  local st
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0
  [ "$st" = Z ]
}

# ---------------------------------------------------------------- peer roots
# Debian roots of other IKE implementations (tools/peer-roots builds them on
# the host; the VM sees them read-only through its 9p host root).  A daemon
# runs from one with chroot in a network namespace; what the chroot needs is
# in tests/vm/README.

VM_PEER_CACHE=${XIKED_PEER_CACHE:-/var/cache/xiked/peers}

# peer_root NAME: the root's directory (status 1, and why, if it is missing).
peer_root() {
  local r=$VM_PEER_CACHE/$1
  if [ ! -f "$r/.xiked-recipe" ]; then
    echo "peer root $r missing (tools/peer-roots $1 builds it)" >&2
    return 1
  fi
  echo "$r"
}

# peer_version NAME PACKAGE: PACKAGE's Debian version in root NAME.
peer_version() { awk -v p="$2" '$1 == p { print $2 }' "$VM_PEER_CACHE/$1/.xiked-packages"; }

# in_root NS ROOT CMD...: CMD chrooted into ROOT (a directory) in namespace
# NS.  `ip netns exec` gives the command its own mount namespace (a slave of
# the VM's), so the mounts below are private to it and vanish with it: the
# VM's /dev, a proc of the namespace (its /proc/net is NS's), /sys, the VM's
# /tmp at the same path (configuration, logs, sockets: one path inside and
# outside the root) and an empty /run.
in_root() {
  local n=$1 r=$2
  shift 2
  # shellcheck disable=SC2016 # expanded by the inner shell
  ip netns exec "$n" sh -c '
    r=$1; shift
    mount --rbind /dev "$r/dev" && mount -t proc proc "$r/proc" &&
      mount --rbind /sys "$r/sys" && mount --rbind /tmp "$r/tmp" &&
      mount -t tmpfs -o mode=755 run "$r/run" || exit 125
    exec chroot "$r" "$@"' in_root "$r" "$@"
}

# ---------------------------------------------------------------- libreswan
# Each pluto gets $VM_LS_DIR/NS/ holding ipsec.conf (written by the
# scenario), ipsec.secrets, its NSS database nss/, the control socket under
# run/, pluto.log and pluto.out, pluto.pid.  Every path is passed on the
# command line (--config, --rundir, --nssdir, --secretsfile, --ctlsocket):
# nothing of the root's read-only /etc is used.

VM_LS_DIR=${XIKED_LS_DIR:-/tmp/xiked-ls}
VM_PLUTOS=()
declare -A VM_LS_ROOT=()

pluto_dir() { echo "$VM_LS_DIR/$1"; }

# pluto_init NS ROOT-NAME [CA-CERT [NICK CERT KEY]]: NS's directory and NSS
# database, trusting CA-CERT (PEM) if given, holding our certificate and key
# (PEM) as NICK if given: through a PKCS#12 file, NSS takes keys no other
# way.  One chroot for all of it (each costs seconds under TCG); the files
# go through NS's directory since the root sees only the VM's /tmp.
pluto_init() {
  local n=$1 d root
  root=$(peer_root "$2") || return 1
  VM_LS_ROOT[$n]=$root
  d=$(pluto_dir "$n")
  rm -rf "$d"
  mkdir -p "$d/nss" "$d/run"
  : > "$d/ipsec.secrets"
  chmod 600 "$d/ipsec.secrets"
  [ -z "${3:-}" ] || cp "$3" "$d/ca.crt"
  [ -z "${4:-}" ] || { cp "$5" "$d/$4.crt" && cp "$6" "$d/$4.key"; } || return 1
  # shellcheck disable=SC2016 # expanded by the inner shell
  pluto_in "$n" sh -euc '
    d=$1 nick=$2
    certutil -N -d "sql:$d/nss" --empty-password
    [ ! -f "$d/ca.crt" ] || certutil -A -d "sql:$d/nss" -n ca -t CT,, -a -i "$d/ca.crt"
    if [ -n "$nick" ]; then
      openssl pkcs12 -export -in "$d/$nick.crt" -inkey "$d/$nick.key" -name "$nick" \
        -passout pass:xiked -out "$d/$nick.p12"
      pk12util -i "$d/$nick.p12" -d "sql:$d/nss" -W xiked
    fi' pluto_init "$d" "${4:-}"
}

pluto_in() { local n=$1; shift; in_root "$n" "${VM_LS_ROOT[$n]}" "$@"; } # pluto_in NS CMD...

# pluto_start NS: start pluto in NS with $VM_LS_DIR/NS/ipsec.conf; returns
# once its control socket answers.  pluto listens on the addresses NS has
# when it starts (whack --listen rescans).
pluto_start() {
  local n=$1 d
  d=$(pluto_dir "$n")
  rm -f "$d/run/pluto.ctl"
  pluto_in "$n" /usr/libexec/ipsec/pluto --nofork --stderrlog --config "$d/ipsec.conf" \
    --rundir "$d/run" --dumpdir "$d/run" --nssdir "$d/nss" --secretsfile "$d/ipsec.secrets" \
    --ipsecdir "$d" --logfile "$d/pluto.log" > "$d/pluto.out" 2>&1 &
  echo $! > "$d/pluto.pid"
  VM_PLUTOS+=("$n")
  wait_for 60 "pluto's control socket in $n" whack_in "$n" --status || {
    tail -n 20 "$d/pluto.out" "$d/pluto.log" >&2 2>/dev/null
    return 1
  }
}

whack_in() { # whack_in NS WHACK-ARGS...: whack against NS's pluto
  pluto_in "$1" /usr/libexec/ipsec/whack --ctlsocket "$(pluto_dir "$1")/run/pluto.ctl" "${@:2}"
}

# pluto_add NS CONN...: load CONNs of NS's ipsec.conf into pluto.
pluto_add() {
  local d
  d=$(pluto_dir "$1")
  pluto_in "$1" /usr/libexec/ipsec/addconn --config "$d/ipsec.conf" \
    --ctlsocket "$d/run/pluto.ctl" "${@:2}"
}

pluto_stop() { # pluto_stop NS: stop NS's pluto (it removes its SAs)
  local d pid
  d=$(pluto_dir "$1")
  [ -f "$d/pluto.pid" ] || return 0
  pid=$(cat "$d/pluto.pid")
  rm -f "$d/pluto.pid"
  whack_in "$1" --shutdown > /dev/null 2>&1 || kill "$pid" 2>/dev/null || return 0
  wait_for 20 "pluto in $1 to stop" pid_gone "$pid" || kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

vm_cleanup() { # stop the daemons and delete the namespaces this script made
  local n
  for n in "${VM_CHARONS[@]}"; do charon_stop "$n"; done
  for n in "${VM_PLUTOS[@]}"; do pluto_stop "$n"; done
  VM_PLUTOS=()
  for n in "${VM_NETNS[@]}"; do ip netns delete "$n" 2>/dev/null || true; done
  VM_CHARONS=()
  VM_NETNS=()
}
