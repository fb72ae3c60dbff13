#!/usr/bin/env bash
# The roaming laptop shown by tools/demo (after demo-tunnel.sh), run where the
# kernel has ESP (inside the VM that tools/demo boots):
#
#   [ns l] laptop 10.1.0.1 -- wifi 192.168.10.2 --\
#                          -- lte  100.64.0.2 (NAT) -- [ns r] router -- 203.0.113.2 xiked gateway -- 10.2.0.1 [ns g]
#
# One IKE SA with MOBIKE (RFC 4555) while wifi's address goes and comes back and
# wifi's link goes down and up: each move, how long it took, the pings lost
# (20 a second through the tunnel) and the SPIs, which never change. It is the
# xiked part of tests/vm/scenarios/roaming.sh.
#   tools/demo-roaming.sh BUILD_DIR
set -uo pipefail
build=$(readlink -f "${1:?usage: $0 BUILD_DIR}")
here=$(cd "$(dirname "$0")/.." && pwd)
XIKED_ROAMING_DEMO=1 exec bash "$here/tests/vm/scenarios/roaming.sh" "$build"
