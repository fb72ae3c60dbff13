#!/usr/bin/env bash
# Host tier: xiked's command line and start-up (issue 13.4/13.5): --help,
# --version, -t reporting every configuration error, a daemon start that
# fails (port 500 taken) exiting non-zero with the reason, a daemon start
# that succeeds exiting 0 only once the control socket answers, and a
# relative -c path that still reloads after the daemon's chdir("/").
#   tests/host/xiked_startup.sh BUILD_DIR VERSION
set -uo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR VERSION}" && pwd)
version=${2:?usage: $0 BUILD_DIR VERSION}
. "$(dirname "$0")/netns_pair.sh"
host_tmp xiked-startup

# ---- command line (no root needed)
out=$("$xiked" --help 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q '^usage: xiked' <<<"$out" && grep -q -- '--test' <<<"$out" \
  && ok "--help: usage on stdout, exit 0" || bad "--help (rc $rc): $out"
out=$("$xiked" --version 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$out" = "xiked $version" ] && ok "--version: '$out'" \
  || bad "--version (rc $rc): '$out', want 'xiked $version'"
"$xiked" --no-such-option >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "unknown option: exit 2" || bad "unknown option: exit $rc"

# ---- -t: every error, FILE:LINE: message each, exit non-zero
cat > "$tmp/bad.conf" <<'EOF'
[daemon]
port = 99999
log = info
[conn a]
remote_addr = 192.0.2.300
auth = psk
psk = "a secret that is long enough"
[conn b]
auth = psk
psk = "another secret, long enough"
no_such_key = 1
EOF
chmod 600 "$tmp/bad.conf"
out=$("$xiked" -t -c "$tmp/bad.conf" 2>&1); rc=$?
lines=$(grep -c "^$tmp/bad.conf:[0-9]*: " <<<"$out")
[ $rc -ne 0 ] && ok "-t on a bad file: exit $rc" || bad "-t on a bad file: exit 0"
[ "$lines" -eq 3 ] && ok "-t reports all three errors" || bad "-t reports $lines errors, want 3"
grep -q "^$tmp/bad.conf:2: port:" <<<"$out" && grep -q "^$tmp/bad.conf:5: remote_addr:" <<<"$out" &&
  grep -q "^$tmp/bad.conf:11: unknown key 'no_such_key'" <<<"$out" \
  && ok "-t: each error with its line (2, 5, 11)" || bad "-t lines"
sed 's/^/    /' <<<"$out"
# Credentials are part of the check: a missing psk_file is an error.
cat > "$tmp/cred.conf" <<'EOF'
[conn c]
remote_addr = 192.0.2.9
auth = psk
psk_file = missing.psk
EOF
out=$("$xiked" -t -c "$tmp/cred.conf" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "^$tmp/cred.conf:4: .*missing.psk" <<<"$out" \
  && ok "-t: an unreadable psk_file is an error" || bad "-t psk_file (rc $rc): $out"

# ---- daemon mode (needs root: namespaces, port 500)
[ "$(id -u)" -eq 0 ] || { echo "skip: daemon cases need root"; host_end xiked_startup; exit; }
netns_one xks
cat > "$tmp/good.conf" <<EOF
[daemon]
control = $tmp/good.sock
[conn a]
remote_addr = 127.0.0.2
local_ts = 10.1.0.0/24
remote_ts = 10.2.0.0/24
auth = psk
psk_file = good.psk
EOF
printf 'a pre-shared key long enough\n' > "$tmp/good.psk"
chmod 600 "$tmp/good.conf" "$tmp/good.psk"
out=$("$xiked" -t -c "$tmp/good.conf" 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q 'configuration OK' <<<"$out" && ok "-t on a good file: OK, exit 0" \
  || bad "-t on a good file (rc $rc): $out"

# Port 500 taken (by a foreground xiked): the daemonizing one must fail loudly.
sed "s|good.sock|holder.sock|" "$tmp/good.conf" > "$tmp/holder.conf"
chmod 600 "$tmp/holder.conf"
xiked_start "$N" holder
holder=$(cat "$tmp/holder.pid")
wait_sock "$tmp/holder.sock"
t0=$(date +%s%N)
out=$(ip netns exec "$N" "$xiked" -c "$tmp/good.conf" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "daemon start on a taken port 500: exit $rc" || bad "taken port: exit 0"
grep -q "cannot open the IKE sockets (ports 500/4500): Address already in use" <<<"$out" \
  && ok "the reason is on stderr: $(head -n 1 <<<"$out")" || bad "taken port message: '$out'"
[ ! -e "$tmp/good.sock" ] && ok "no control socket left behind" || bad "control socket left"
kill "$holder"; wait "$holder"; rm -f "$tmp/holder.pid"

# A relative -c: the daemon exits 0 only when ready; reload works after chdir /.
out=$(cd "$tmp" && ip netns exec "$N" "$xiked" -c good.conf 2>&1); rc=$?
[ $rc -eq 0 ] && ok "daemon start with -c good.conf (relative): exit 0" \
  || bad "daemon start (rc $rc): $out"
[ -S "$tmp/good.sock" ] && "$xikectl" -s "$tmp/good.sock" status >/dev/null 2>&1 \
  && ok "the control socket answers as soon as the parent has exited" \
  || bad "control socket not ready when the parent exited"
pid=$(ip netns pids "$N" | head -n 1)
[ -n "$pid" ] && [ "$(readlink "/proc/$pid/cwd")" = / ] && [ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] \
  && ok "the daemon (pid $pid) runs in / as a session leader" || bad "daemon cwd/session ($pid)"
cat >> "$tmp/good.conf" <<EOF
[conn b]
remote_addr = 127.0.0.3
auth = psk
psk_file = good.psk
EOF
out=$("$xikectl" -s "$tmp/good.sock" reload 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "b" <<<"$out" && ok "xikectl reload re-reads the relative path: $(tr '\n' ' ' <<<"$out")" \
  || bad "reload after chdir (rc $rc): $out"
"$xikectl" -s "$tmp/good.sock" status --json 2>/dev/null | grep -q . || bad "status after reload"
if [ -n "$pid" ]; then
  kill "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && bad "daemon still running after SIGTERM" || ok "SIGTERM ends the daemon"
fi

host_end xiked_startup
