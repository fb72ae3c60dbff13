# shellcheck shell=bash
# tests/vm/xiked.sh: helpers for running xiked in the VM's namespaces.
# Source it after lib.sh from a scenario (tests/vm/scenarios/*.sh):
#
#   . "$here/../lib.sh"; . "$here/../xiked.sh"
#   xk_init BUILD_DIR
#   xk_conf a <<EOF ... EOF         # [conn]/[child] sections; [daemon] is added
#   xk_start NS a                   # xiked -f -d in NS, waits for its control socket
#   xk_ctl a up peer; xk_stop a     # SIGTERM, status = xiked's exit status
#
# Each daemon NAME has $XK_DIR/NAME.{conf,log,sock,pid}.  Daemons started here
# are stopped by xk_cleanup, which runs before lib.sh's vm_cleanup at exit.

XK_DIR=${XIKED_XK_DIR:-/tmp/xiked-xk}
XK_DAEMONS=()
# shellcheck disable=SC2034 # used by the scenarios
XK_PSK="correct horse battery staple"

xk_init() { # xk_init BUILD_DIR: find the binaries
  local b=$1
  case $b in /*) ;; *) b=$PWD/$b ;; esac
  XIKED=$b/daemon/xiked
  XIKECTL=$b/tools/xikectl
  if [ ! -x "$XIKED" ] || [ ! -x "$XIKECTL" ]; then
    echo "build first: $XIKED, $XIKECTL missing" >&2
    return 2
  fi
  mkdir -p "$XK_DIR"
}

# xk_conf NAME: write NAME's configuration: a [daemon] section (control
# socket, debug log) followed by stdin.
xk_conf() {
  local f=$XK_DIR/$1.conf
  {
    printf '[daemon]\ncontrol = %s\nlog = debug\n' "$XK_DIR/$1.sock"
    cat
  } > "$f"
  chmod 600 "$f"
}

# xk_start NS NAME: start xiked with NAME's configuration in NS (log in
# $XK_DIR/NAME.log, appended to); returns once the control socket answers.
xk_start() {
  local n=$1 name=$2 pid
  rm -f "$XK_DIR/$name.sock"
  echo "=== xiked started $(date +%T)" >> "$XK_DIR/$name.log"
  ip netns exec "$n" "$XIKED" -f -d -c "$XK_DIR/$name.conf" >> "$XK_DIR/$name.log" 2>&1 &
  pid=$!
  echo "$pid" > "$XK_DIR/$name.pid"
  XK_DAEMONS+=("$name")
  wait_for 20 "xiked $name's control socket" xk_ctl "$name" status || {
    tail -n 20 "$XK_DIR/$name.log" >&2
    return 1
  }
}

xk_ctl() { local name=$1; shift; "$XIKECTL" -s "$XK_DIR/$name.sock" "$@"; }

xk_json() { xk_ctl "$1" status --json; } # xk_json NAME: the status response

# xk_stop NAME: SIGTERM, wait (20 s, then SIGKILL); status: xiked's exit
# status (0 expected), 0 if it was not running.
xk_stop() {
  local name=$1 pid rc=0
  [ -f "$XK_DIR/$name.pid" ] || return 0
  pid=$(cat "$XK_DIR/$name.pid")
  rm -f "$XK_DIR/$name.pid"
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_for 20 "xiked $name to exit" pid_gone "$pid"; then
    kill -KILL "$pid" 2>/dev/null
    rc=137
  fi
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

xk_cleanup() {
  local name
  for name in "${XK_DAEMONS[@]}"; do xk_stop "$name" || true; done
  XK_DAEMONS=()
}

# xk_child_installed NAME: NAME reports at least one Child SA INSTALLED.
xk_child_installed() {
  xk_json "$1" | jq -e '[.ike_sas[].child_sas[] | select(.state == "INSTALLED")] | length >= 1'
}

# xk_counters NAME: the four counters of NAME's Child SAs, "bi bo pi po".
xk_counters() {
  xk_json "$1" | jq -r '[.ike_sas[].child_sas[]] |
    "\(map(.bytes_in) | add) \(map(.bytes_out) | add) \(map(.packets_in) | add) \(map(.packets_out) | add)"'
}

# xk_counters_positive NAME: every counter of NAME's Child SAs is > 0.
xk_counters_positive() {
  local c
  c=$(xk_counters "$1") || return 1
  echo "bytes_in bytes_out packets_in packets_out: $c"
  xk_json "$1" | jq -e '[.ike_sas[].child_sas[]] | length >= 1 and
    all(.bytes_in > 0 and .bytes_out > 0 and .packets_in > 0 and .packets_out > 0)'
}

# xk_log_tail NAME [N]: the end of NAME's log, indented (for failures).
xk_log_tail() { tail -n "${2:-30}" "$XK_DIR/$1.log" | sed 's/^/       | /'; }

# ---------------------------------------------------------------- kernel state

# xfrm_policies NS: NS's policies, without the per-socket ones (strongSwan
# exempts its IKE sockets with them; they live and die with the socket).
xfrm_policies() {
  ip -n "$1" xfrm policy | awk '
    function flush() { if (blk != "" && blk !~ /\tsocket (in|out) /) printf "%s", blk; blk = "" }
    /^src/ { flush() }
    { blk = blk $0 "\n" }
    END { flush() }'
}

# xfrm_empty NS: no state and no policy (socket policies aside) in NS.
xfrm_empty() {
  [ -z "$(ip -n "$1" xfrm state)" ] && [ -z "$(xfrm_policies "$1")" ]
}

# xfrm_expect NS STATES OUT IN FWD MODE REGEX...: NS holds STATES states, all
# in MODE (tunnel|transport), each extended REGEX (algorithm lines) matching
# STATES lines, and OUT/IN/FWD policies of each direction; prints what it
# found, and the tables when that is not what was expected.  A count given
# as '-' is not checked.
xfrm_expect() {
  local n=$1 states=$2 out=$3 in=$4 fwd=$5 mode=$6 s p got want re i=0
  shift 6
  s=$(ip -n "$n" xfrm state)
  p=$(xfrm_policies "$n")
  got="states=$(grep -c '^src' <<< "$s") mode=$(grep -c "mode $mode" <<< "$s")"
  want="states=$states mode=$states"
  for re in "$@"; do
    i=$((i + 1))
    got+=" alg$i=$(grep -cE "$re" <<< "$s")"
    want+=" alg$i=$states"
  done
  got+=" out=$(grep -c 'dir out' <<< "$p") in=$(grep -c 'dir in' <<< "$p")"
  got+=" fwd=$(grep -c 'dir fwd' <<< "$p")"
  want+=" out=$out in=$in fwd=$fwd"
  [ "$fwd" != - ] || got=$(sed -E 's/fwd=[0-9]+/fwd=-/' <<< "$got")
  echo "expected $want"
  echo "found    $got"
  [ "$got" = "$want" ] || { sed -E 's/0x[0-9a-f]{16,}/KEY/g' <<< "$s"; echo "$p"; return 1; }
}

# The xfrm algorithm line of an ESP proposal (as `ip xfrm state` prints it,
# key lengths in hex digits included).
xfrm_alg_re() {
  case $1 in
    aes128gcm16) echo 'aead rfc4106\(gcm\(aes\)\) 0x[0-9a-f]{40} 128' ;;
    aes256gcm16) echo 'aead rfc4106\(gcm\(aes\)\) 0x[0-9a-f]{72} 128' ;;
    chacha20poly1305) echo 'aead rfc7539esp\(chacha20,poly1305\) 0x[0-9a-f]{72} 128' ;;
    aes128-sha256) echo 'enc cbc\(aes\) 0x[0-9a-f]{32}$' ;;
    aes256-sha384) echo 'enc cbc\(aes\) 0x[0-9a-f]{64}$' ;;
    *) echo "xfrm_alg_re: unknown $1" >&2; return 1 ;;
  esac
}

# xfrm_auth_re ESP: the auth-trunc line for non-AEAD proposals, or empty.
xfrm_auth_re() {
  case $1 in
    aes128-sha256) echo 'auth-trunc hmac\(sha256\) 0x[0-9a-f]{64} 128' ;;
    aes256-sha384) echo 'auth-trunc hmac\(sha384\) 0x[0-9a-f]{96} 192' ;;
    *) echo '' ;;
  esac
}
