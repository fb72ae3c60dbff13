#!/usr/bin/env bash
# Renders every manual page in doc/ as man(1) does on an 80-column terminal
# (MANWIDTH=80) with groff's warnings on, and fails on any warning (a table
# wider than the line, an unknown macro, a bad escape...). Also fails when a
# page refers to one of xiked's own pages, NAME(N), that doc/ does not have.
#   tests/host/man_check.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: man_check.sh SOURCE_DIR}
command -v man >/dev/null || { echo "man_check: needs man (man-db; tools/setup installs it)" >&2; exit 1; }
fail=0 n=0
for page in "$src"/doc/*.[1-8]; do
  n=$((n + 1))
  warn=$(MANWIDTH=80 MAN_KEEP_FORMATTING=0 man --warnings -l "$page" 2>&1 >/dev/null) || {
    echo "FAIL $(basename "$page"): man exited non-zero: $warn"; fail=1; continue; }
  if [ -n "$warn" ]; then
    echo "FAIL $(basename "$page"): warnings at 80 columns:"; echo "$warn" | sed 's/^/  /'; fail=1
  else
    echo "ok   $(basename "$page"): no warnings at 80 columns"
  fi
done
[ "$n" -ge 4 ] || { echo "FAIL: only $n pages in $src/doc"; fail=1; }
# References to xiked's own pages: in the pages (.BR name (N)), the README
# and the example configuration (name(N)).
refs=$( { grep -ho '^\.BR* [a-z][a-z.\\-]* ([1-8])' "$src"/doc/*.[1-8] | sed 's/^\.BR* //; s/\\-/-/g; s/ //'
          grep -hoE '\b[a-z][a-z.-]*\([1-8]\)' "$src/README.md" "$src/doc/xiked.conf.example"; } |
        grep -E '^(xike|ikedump)' | sort -u)
for r in $refs; do
  name=${r%(*} sec=${r#*(}; sec=${sec%)}
  if [ -f "$src/doc/$name.$sec" ]; then echo "ok   reference $r: doc/$name.$sec"
  else echo "FAIL reference $r: no doc/$name.$sec"; fail=1; fi
done
exit $fail
