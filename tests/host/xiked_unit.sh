#!/usr/bin/env bash
# The systemd unit as built (daemon/xiked.service.in): systemd-analyze
# verify says nothing about it (its Exec paths pointed at this build, man
# pages not looked up), it is Type=notify with a watchdog and the sandbox
# doc/xiked.8 describes, its RuntimeDirectory holds xiked's default control
# socket, and verify does catch a broken copy (so this test can fail).
#   tests/host/xiked_unit.sh BUILD_DIR
set -uo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
unit=$build/daemon/xiked.service
command -v systemd-analyze >/dev/null || { echo "skip: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d /tmp/xiked-unit.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $1"; }
bad() { failed=$((failed + 1)); echo "FAIL - $1"; }

sbin=$(sed -n 's|^ExecStart=\(.*\)/xiked .*|\1|p' "$unit")
bin=$(sed -n 's|^ExecReload=\(.*\)/xikectl .*|\1|p' "$unit")
sed -e "s|$sbin/xiked|$build/daemon/xiked|g" -e "s|$bin/xikectl|$build/tools/xikectl|g" \
  "$unit" > "$tmp/xiked.service"
out=$(systemd-analyze verify --man=no "$tmp/xiked.service" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify: clean" \
  || bad "systemd-analyze verify (rc $rc): $out"

want() { grep -qx "$1" "$unit" && ok "$1" || bad "missing: $1"; }
want "Type=notify"
want "ExecStart=$sbin/xiked -f -c .*/xiked/xiked.conf"
want "ExecReload=$bin/xikectl -s /run/xiked/xiked.sock reload"
want "WatchdogSec=[0-9]*s"
want "Restart=on-failure"
want "RuntimeDirectory=xiked"
want "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE"
want "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE"
want "NoNewPrivileges=yes"
want "ProtectSystem=strict"
want "ProtectHome=yes"
want "PrivateTmp=yes"
want "RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX"
want "SystemCallFilter=@system-service"
want "MemoryDenyWriteExecute=yes"
# The control socket xiked uses by default lies in the RuntimeDirectory.
grep -q '#define CONFIG_CONTROL_DEFAULT "/run/xiked/xiked.sock"' "$src/daemon/config.h" \
  && ok "default control socket /run/xiked/xiked.sock is in RuntimeDirectory=xiked" \
  || bad "control socket default moved: update RuntimeDirectory and ExecReload"
# /proc/sys must stay writable: route-based conns set disable_policy.
grep -q '^ProtectKernelTunables' "$unit" && bad "ProtectKernelTunables breaks disable_policy" \
  || ok "no ProtectKernelTunables (disable_policy sysctls)"
score=$(systemd-analyze security --offline=yes --no-pager "$tmp/xiked.service" 2>/dev/null |
  sed -n 's/.*Overall exposure level for xiked.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s < 3.0) }' \
  && ok "systemd-analyze security: exposure $score (< 3.0)" || bad "exposure '$score'"

# The check can fail: a misspelt key is reported.
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$tmp/xiked.service" > "$tmp/broken.service"
out=$(systemd-analyze verify --man=no "$tmp/broken.service" 2>&1)
grep -q "Unknown key 'NoNewPrivilege'" <<<"$out" && ok "verify reports a misspelt key" \
  || bad "verify missed a misspelt key: $out"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
