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
# are stopped by xk_cleanup: call it before finish and from an EXIT trap that
# then hands over to lib.sh's vm_on_exit (see scenarios/tunnel.sh).

XK_DIR=${XIKED_XK_DIR:-/tmp/xiked-xk}
XK_DAEMONS=()
# shellcheck disable=SC2034 # used by the scenarios
XK_PSK="correct horse battery staple"

xk_init() { # xk_init BUILD_DIR: take private copies of the binaries
  local b=$1
  case $b in /*) ;; *) b=$PWD/$b ;; esac
  if [ ! -x "$b/daemon/xiked" ] || [ ! -x "$b/tools/xikectl" ]; then
    echo "build first: $b/daemon/xiked, $b/tools/xikectl missing" >&2
    return 2
  fi
  # Copies, so a rebuild on the host during the run cannot swap them.
  mkdir -p "$XK_DIR/bin"
  cp "$b/daemon/xiked" "$b/tools/xikectl" "$XK_DIR/bin/"
  XIKED=$XK_DIR/bin/xiked
  XIKECTL=$XK_DIR/bin/xikectl
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

# xk_up_refused NAME CONN TEXT: xikectl up waits for the outcome (xikectl(8))
# and must fail, naming TEXT (the peer's notify or our reason) in its output.
xk_up_refused() {
  local out rc=0
  out=$(xk_ctl "$1" up "$2" 2>&1) || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "xikectl up $2 exited 0: $out" >&2
    return 1
  fi
  grep -qF -- "$3" <<< "$out" || { echo "xikectl up $2 (exit $rc) does not name '$3': $out" >&2; return 1; }
}

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

xk_running() { [ -f "$XK_DIR/$1.pid" ] && ! pid_gone "$(cat "$XK_DIR/$1.pid")"; }

# xk_wait_child NAME SECS: wait until NAME has a Child SA INSTALLED; gives up
# early if NAME is not running.
xk_wait_child() {
  local end=$((${EPOCHREALTIME/./} + $2 * 1000000))
  until xk_child_installed "$1" 2>/dev/null; do
    xk_running "$1" || { echo "xiked $1 is not running" >&2; return 1; }
    if [ "${EPOCHREALTIME/./}" -ge "$end" ]; then
      echo "timed out after $2 s waiting for a Child SA in $1" >&2
      return 1
    fi
    sleep 0.2
  done
}

# The status response is one line of JSON (doc/xiked.conf.5, CONTROL
# PROTOCOL); its member names are unique enough to be picked with a regular
# expression.  Bash's own [[ =~ ]] does it: every fork costs a lot under TCG.

# json_field KEY JSON: the values of member KEY in JSON, in the array
# JSON_VALUES (strings without their quotes).
json_field() {
  local j=$2 re="\"$1\":(\"([^\"]*)\"|([0-9]+))"
  JSON_VALUES=()
  while [[ $j =~ $re ]]; do
    JSON_VALUES+=("${BASH_REMATCH[2]}${BASH_REMATCH[3]}")
    j=${j#*"${BASH_REMATCH[0]}"}
  done
}

# xk_child_installed NAME: NAME reports at least one Child SA INSTALLED.
xk_child_installed() { local j; j=$(xk_json "$1") && [[ $j == *'"state":"INSTALLED"'* ]]; }

# xk_counters_positive NAME: NAME has Child SAs and every one of their
# bytes/packets counters (in and out) is > 0.
xk_counters_positive() {
  local j k v n=0 bad=0
  j=$(xk_json "$1") || return 1
  for k in bytes_in bytes_out packets_in packets_out; do
    json_field $k "$j"
    echo "$k: ${JSON_VALUES[*]:-none}"
    for v in "${JSON_VALUES[@]}"; do
      n=$((n + 1))
      [ "$v" -gt 0 ] || bad=1
    done
  done
  [ "$n" -ge 4 ] && [ "$bad" -eq 0 ]
}

# xk_summary NAME: the negotiated proposals and the peer's port, one line.
xk_summary() {
  local j out
  j=$(xk_json "$1") || return 1
  json_field ike_proposal "$j"
  out="ike ${JSON_VALUES[*]}"
  json_field esp_proposal "$j"
  out+=" esp ${JSON_VALUES[*]}"
  json_field port "$j" # local, then remote
  echo "$out remote port ${JSON_VALUES[1]:-?}"
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

# rules_of NS: NS's IPv4 and IPv6 rules (into a variable first: `| grep -q` under
# pipefail would fail on SIGPIPE).
rules_of() { ip -n "$1" rule show; ip -n "$1" -6 rule show; }
# routes_of NS: table 220 of both families ("FIB table does not exist" is an empty table).
routes_of() {
  ip -n "$1" route show table 220 2>/dev/null || true
  ip -n "$1" -6 route show table 220 2>/dev/null || true
}

# routes_empty NS: no route in table 220 (IPv4, IPv6) and no rule of xiked's (proto 150) in NS.
routes_empty() {
  local t r
  t=$(routes_of "$1")
  r=$(rules_of "$1")
  [ -z "$t" ] && [[ $r != *'proto 150'* ]]
}

# routes_show NS: table 220 and the rules of NS, for the log.
routes_show() {
  local t r
  t=$(routes_of "$1")
  r=$(rules_of "$1")
  echo "ip route show table 220 ($1):"
  [ -z "$t" ] || sed 's/^/  /' <<< "$t"
  echo "ip rule ($1):"
  grep -E 'lookup 220' <<< "$r" | sed 's/^/  /' || true
}

# route_expect NS REGEX...: table 220 of NS has a route matching each extended REGEX
# (IPv4 or IPv6), and a 'lookup 220' rule of xiked's; prints both.
route_expect() {
  local n=$1 re t r
  shift
  routes_show "$n"
  t=$(routes_of "$n")
  r=$(rules_of "$n")
  for re in "$@"; do grep -qE -- "$re" <<< "$t" || { echo "no route matching: $re"; return 1; }; done
  grep -qE '^220:.*lookup 220.*proto 150' <<< "$r"
}

# xfrm_expect NS STATES OUT IN FWD MODE REGEX...: NS holds STATES states, all
# in MODE (tunnel|transport), each extended REGEX (algorithm lines) matching
# STATES lines, and OUT/IN/FWD policies of each direction; prints what it
# found, and the tables when that is not what was expected.  A count given
# as '-' is not checked.
xfrm_expect() {
  local n=$1 states=$2 out=$3 in=$4 fwd=$5 mode=$6 s p got want i=0
  shift 6
  s=$(ip -n "$n" xfrm state)
  p=$(xfrm_policies "$n")
  count_lines '^src' "$s"; got="states=$REPLY"
  count_lines "mode $mode" "$s"; got+=" mode=$REPLY"
  want="states=$states mode=$states"
  for re in "$@"; do
    i=$((i + 1))
    count_lines "$re" "$s"; got+=" alg$i=$REPLY"
    want+=" alg$i=$states"
  done
  count_lines 'dir out' "$p"; got+=" out=$REPLY"
  count_lines 'dir in' "$p"; got+=" in=$REPLY"
  count_lines 'dir fwd' "$p"
  if [ "$fwd" = - ]; then got+=" fwd=-"; else got+=" fwd=$REPLY"; fi
  want+=" out=$out in=$in fwd=$fwd"
  echo "expected $want"
  echo "found    $got"
  [ "$got" = "$want" ] || { sed -E 's/0x[0-9a-f]{16,}/KEY/g' <<< "$s"; echo "$p"; return 1; }
}

# count_lines REGEX TEXT: REPLY = the number of lines of TEXT matching the
# extended REGEX (no fork: bash's [[ =~ ]]).
count_lines() {
  local line
  REPLY=0
  while IFS= read -r line; do
    if [[ $line =~ $1 ]]; then REPLY=$((REPLY + 1)); fi
  done <<< "$2"
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
