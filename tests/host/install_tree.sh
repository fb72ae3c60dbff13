#!/usr/bin/env bash
# `meson install` into a temporary DESTDIR: every file lands where it
# belongs (prefix, bindir, sbindir, mandir, sysconfdir as this build was
# configured) with its mode, and nothing else is installed. The installed
# example configuration is doc/xiked.conf.example, readable by root only,
# and loads in the daemon's parser (conf_check); the installed daemon's
# default -c is that file; the installed tools run.
#   tests/host/install_tree.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "${1:?usage: install_tree.sh BUILD_DIR SOURCE_DIR}" && pwd)
src=$(cd "${2:?usage: install_tree.sh BUILD_DIR SOURCE_DIR}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# The directories this build installs into (absolute, as meson resolves them).
eval "$(meson introspect "$build" --buildoptions | python3 -c '
import json, os, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
for k in ("prefix", "bindir", "sbindir", "mandir", "sysconfdir"):
    print("%s=%s" % (k, os.path.join(o["prefix"], o[k])))
print("unitdir=%s" % o["systemdunitdir"])
')"
# The systemd unit goes where systemd's pkg-config file says, unless -Dsystemdunitdir= says.
[ -n "$unitdir" ] || unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo no)
echo "prefix $prefix: bindir $bindir, sbindir $sbindir, mandir $mandir, sysconfdir $sysconfdir"

if ! meson install -C "$build" --no-rebuild --destdir "$dest" >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"; bad "meson install --destdir"; exit 1
fi
ok "meson install --destdir $dest"

# Every installed file: path and mode. A new installed file (the systemd
# unit, another page) is added here.
expected=(
  "$sbindir/xiked 755"
  "$bindir/xikectl 755"
  "$bindir/ikedump 755"
  "$mandir/man8/xiked.8 644"
  "$mandir/man8/xikectl.8 644"
  "$mandir/man5/xiked.conf.5 644"
  "$mandir/man1/ikedump.1 644"
  "$sysconfdir/xiked/xiked.conf 600"
)
[ "$unitdir" = no ] || expected+=("$unitdir/xiked.service 644")
for e in "${expected[@]}"; do
  path=${e% *} mode=${e##* }
  if [ ! -f "$dest$path" ]; then bad "$path: not installed"; continue; fi
  got=$(stat -c %a "$dest$path")
  if [ "$got" = "$mode" ]; then ok "$path mode $mode"; else bad "$path: mode $got, want $mode"; fi
done
# Nothing else: no daemon in bindir, no test program, no stray file.
while IFS= read -r f; do
  f=${f#"$dest"} known=0
  for e in "${expected[@]}"; do [ "${e% *}" = "$f" ] && known=1; done
  [ $known = 1 ] || bad "$f: installed but not expected"
done < <(find "$dest" -type f -o -type l)
[ ! -e "$dest$bindir/xiked" ] || bad "xiked also in $bindir"

# The example configuration: the documented one, and the daemon accepts it.
conf=$dest$sysconfdir/xiked/xiked.conf
if cmp -s "$conf" "$src/doc/xiked.conf.example"; then ok "xiked.conf is doc/xiked.conf.example"
else bad "xiked.conf differs from doc/xiked.conf.example"; fi
if out=$("$build/tests/host/conf_check" "$conf" 2>&1); then ok "xiked.conf loads: $out"
else bad "xiked.conf does not load: $out"; fi
# The daemon reads it without -c: its default path is the installed one.
if grep -qaF "$sysconfdir/xiked/xiked.conf" "$dest$sbindir/xiked"; then
  ok "xiked's default configuration is $sysconfdir/xiked/xiked.conf"
else bad "xiked does not name $sysconfdir/xiked/xiked.conf as its default"; fi
# The unit starts the installed daemon on the installed configuration.
if [ "$unitdir" != no ]; then
  unit=$dest$unitdir/xiked.service
  if grep -qx "ExecStart=$sbindir/xiked -f -c $sysconfdir/xiked/xiked.conf" "$unit" &&
     grep -qx "ExecReload=$bindir/xikectl -s /run/xiked/xiked.sock reload" "$unit"; then
    ok "xiked.service runs $sbindir/xiked on $sysconfdir/xiked/xiked.conf"
  else bad "xiked.service's Exec lines do not name the installed files"; fi
fi
# The installed tools run.
for t in "$bindir/xikectl" "$bindir/ikedump"; do
  if "$dest$t" --help >/dev/null 2>&1; then ok "$t --help"; else bad "$t --help failed"; fi
done
exit $fail
