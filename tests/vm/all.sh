#!/usr/bin/env bash
# Runs several kernel-tier scripts in one VM boot (boots and the kernel's
# crypto warm-up are the dear part under TCG): each script runs as its own
# process with BUILD_DIR as its argument (and XIKED_BUILD set for those that
# read it), its status is recorded, and a summary closes the run.
#   tests/vm/run tests/vm/all.sh BUILD_DIR SCRIPT...
set -uo pipefail
build=${1:?usage: $0 BUILD_DIR SCRIPT...}
shift
export XIKED_BUILD=$build
passed=0 failed=0 failures=()
skipped=()
for s in "$@"; do
  echo "=== vm: $s"
  # A script that needs systemd as PID 1 ("# vm-init: systemd") gets a boot
  # of its own (XIKED_VM_INIT=systemd, as tools/test runs it).
  if grep -qx '# vm-init: systemd' "$s" && [ "$(cat /proc/1/comm)" != systemd ]; then
    skipped+=("$s"); echo "--- vm: $s: skipped (needs XIKED_VM_INIT=systemd)"; continue
  fi
  t0=${EPOCHREALTIME/./}
  # Each script gets its own daemon and charon directories: logs there are
  # appended to, and one script must not count another's lines.
  name=$(basename "$s" .sh)
  XIKED_XK_DIR=/tmp/xiked-xk-$name XIKED_SS_DIR=/tmp/xiked-ss-$name bash "$s" "$build"
  rc=$?
  secs=$(((${EPOCHREALTIME/./} - t0) / 1000000))
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1)); echo "--- vm: $s: ok ($secs s)"
  else
    failed=$((failed + 1)); failures+=("$s"); echo "--- vm: $s: FAILED, status $rc ($secs s)"
  fi
  # Whatever a script left behind must not disturb the next one.
  for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do ip netns del "$n" 2>/dev/null; done
  ip xfrm state flush 2>/dev/null; ip xfrm policy flush 2>/dev/null
done
[ ${#failures[@]} -eq 0 ] || echo "vm: failed: ${failures[*]}"
echo "vm scripts: $passed passed, $failed failed${skipped[*]:+, ${#skipped[@]} skipped (${skipped[*]})}"
[ $failed -eq 0 ]
