#!/usr/bin/env bash
# tools/rfc-map --check (doc/design.md's map from RFC sections to files) on a
# small tree whose faults are known, then on the repository itself.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
map=$top/tools/rfc-map
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$t/out"; exit 1; }

mkdir -p "$t/daemon" "$t/doc"
printf '/* RFC 7296 2.8.1: simultaneous rekeys. */\n' >"$t/daemon/rekey.c"
printf '/* RFC 7296 3.5: IDi. */\n' >"$t/daemon/id.c"
cat >"$t/doc/design.md" <<'MD'
# t
## RFC sections to files
| RFC | Sections | What | Files |
|---|---|---|---|
| 7296 | 2.8 | Rekeying | `daemon/rekey.c` |
| 7296 | 3.5 | IDs | `daemon/id.c` |
## Next
| 7296 | 9.9 | not in the map's table | `daemon/gone.c` |
MD
"$map" --check --root "$t" >"$t/out" || fail "exit status $? on a good map (2.8 covers 2.8.1)"
grep -qx 'rfc-map: 2 rows, 2 file references, 0 problems' "$t/out" || fail "good map summary"

# The file moved: named but gone.
mv "$t/daemon/id.c" "$t/daemon/ident.c"
if "$map" --check --root "$t" >"$t/out"; then fail "exit 0 with a missing file"; fi
grep -q 'daemon/id.c does not exist' "$t/out" || fail "missing file not named"
grep -q 'RFC 7296 3.5 is cited by daemon/ident.c but has no row' "$t/out" && fail "ident.c is covered by 3.5"
mv "$t/daemon/ident.c" "$t/daemon/id.c"

# The citation moved out of the named file, and to a section with no row.
printf '/* RFC 7296 2.9: narrowing. */\n' >"$t/daemon/rekey.c"
if "$map" --check --root "$t" >"$t/out"; then fail "exit 0 with a stale row"; fi
grep -q 'daemon/rekey.c does not mention RFC 7296 section 2.8' "$t/out" || fail "stale section"
grep -q 'RFC 7296 2.9 is cited by daemon/rekey.c but has no row' "$t/out" || fail "uncovered section"
printf '/* RFC 4555 3.5: moved. */\n' >"$t/daemon/rekey.c"
if "$map" --check --root "$t" >"$t/out"; then fail "exit 0 with a file citing another RFC"; fi
grep -q 'daemon/rekey.c does not cite RFC 7296' "$t/out" || fail "RFC not cited"

"$map" --check --root "$top" >"$t/out" || fail "exit status $? on the repository"
cat "$t/out"
echo "rfc_map: ok"
