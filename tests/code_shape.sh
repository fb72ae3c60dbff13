#!/usr/bin/env bash
# tools/code-shape (issue 14's measurements) on a small tree whose numbers are
# known, then on the repository itself, so the script does not rot unnoticed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shape=$top/tools/code-shape
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$t/out"; exit 1; }

# daemon/a <-> daemon/b is a cycle; task_x.c joins daemon/task (no header of
# its own), whose header includes a.h, and a.c includes task.h: three modules,
# six files. daemon/c only includes (no cycle). f_long has 101 body lines + 2.
mkdir -p "$t/daemon" "$t/crypto"
printf '#include "daemon/b.h"\n' >"$t/daemon/a.h"
printf '#include "daemon/a.h"\n#include "daemon/task.h"\n' >"$t/daemon/a.c"
printf '#include "crypto/k.h"\n' >"$t/daemon/b.h"
printf '#include "daemon/a.h"\n' >"$t/daemon/b.c"
printf '#include "daemon/a.h"\n' >"$t/daemon/task.h"
printf '#include "daemon/task.h"\nint task_x(void)\n{\n\treturn 0;\n}\n' >"$t/daemon/task_x.c"
printf '#include "daemon/a.h"\n' >"$t/daemon/c.c"
printf 'int k(void);\n' >"$t/crypto/k.h"
{
  printf '#include "crypto/k.h"\nstatic int f_long(int x)\n{\n'
  for i in $(seq 101); do printf '\tx += %d;\n' "$i"; done
  printf '}\n\nint f_short(void)\n{\n\treturn f_long(1);\n}\n'
} >"$t/crypto/k.c"

"$shape" --root "$t" >"$t/out" || fail "exit status $? on the small tree"
grep -qx 'largest include cycle: 3 modules (6 files: 3 .c, 3 .h)' "$t/out" || fail "cycle size"
grep -qx '  modules: daemon/a daemon/b daemon/task' "$t/out" || fail "cycle modules"
grep -qx 'functions: 3; over 100 lines: 1' "$t/out" || fail "function count"
grep -Eqx ' +103 crypto/k.c:2 f_long' "$t/out" || fail "long function row"
grep -Eqx ' +110 crypto/k.c' "$t/out" || fail "longest file row"

# b.c no longer includes a.h: the cycle is a <-> task; then task.h no longer
# includes a.h: no cycle.
printf '\n' >"$t/daemon/b.c"
"$shape" --root "$t" >"$t/out" || fail "exit status $? with the smaller cycle"
grep -qx 'largest include cycle: 2 modules (4 files: 2 .c, 2 .h)' "$t/out" || fail "smaller cycle"
printf '\n' >"$t/daemon/task.h"
"$shape" --root "$t" >"$t/out" || fail "exit status $? without the cycle"
grep -qx 'largest include cycle: 0 modules (no cycle)' "$t/out" || fail "no cycle"

# A private header p_int.h is module p's inside: p.c and p_x.c include it,
# it includes p.h: one module, no cycle.
printf 'int p(void);\n' >"$t/daemon/p.h"
printf '#include "daemon/p.h"\n' >"$t/daemon/p_int.h"
printf '#include "daemon/p_int.h"\n' >"$t/daemon/p.c"
printf '#include "daemon/p_int.h"\n' >"$t/daemon/p_x.c"
"$shape" --root "$t" >"$t/out" || fail "exit status $? with a private header"
grep -qx 'largest include cycle: 0 modules (no cycle)' "$t/out" || fail "private header in a cycle"

# Test names: unique passes, a name in two files fails (exit 1) and is named.
mkdir -p "$t/tests/unit"
printf 'cmocka_unit_test(test_a_one),\ncmocka_unit_test_setup(test_a_two, s),\n' >"$t/tests/unit/test_a.c"
printf 'cmocka_unit_test(test_b_one),\n' >"$t/tests/unit/test_b.c"
"$shape" --root "$t" >"$t/out" || fail "exit status $? with unique test names"
grep -qx 'cmocka tests: 3 in 2 files; names used twice: 0' "$t/out" || fail "unique test names"
printf 'cmocka_unit_test(test_b_one),\ncmocka_unit_test(test_a_two),\n' >"$t/tests/unit/test_b.c"
if "$shape" --root "$t" >"$t/out"; then fail "exit status 0 with a duplicate test name"; fi
grep -qx 'cmocka tests: 4 in 2 files; names used twice: 1' "$t/out" || fail "duplicate count"
grep -qx '  duplicate test name test_a_two: tests/unit/test_a.c:2 tests/unit/test_b.c:2' "$t/out" ||
  fail "duplicate row"

# The repository itself (exit status 1 if two test cases share a name): the script parses it and finds functions.
"$shape" --root "$top" >"$t/out" || fail "exit status $? on the repository"
grep -Eq '^functions: [1-9][0-9]*; over 100 lines: [0-9]+$' "$t/out" || fail "repository functions"
cat "$t/out"
echo "code_shape: ok"
