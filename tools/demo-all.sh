#!/usr/bin/env bash
# Every part of tools/demo, one after the other, in one kernel (one VM boot):
# the site-to-site tunnel, then the roaming laptop and the route-based VPN
# when their scripts are present. Each part removes the namespaces it made
# (tests/vm/lib.sh), so the next starts clean.
#   tools/demo-all.sh BUILD_DIR
set -uo pipefail
build=$(readlink -f "${1:?usage: $0 BUILD_DIR}")
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for part in tunnel roaming route; do
  script=$here/demo-$part.sh
  [ -f "$script" ] || continue
  printf '\n\033[1m######## demo: %s\033[0m\n' "$part"
  bash "$script" "$build" || { rc=1; echo "demo: part '$part' failed"; }
done
exit $rc
