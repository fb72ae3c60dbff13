/*
 * Runs one cmocka test case by name: XIKED_TEST=NAME (cmocka's pattern: '*' and '?'
 * match, e.g. XIKED_TEST='test_rekey_*') limits every unit test program to the cases whose
 * name matches; XIKED_TEST_SKIP=NAME leaves the matching ones out. Linked into each
 * test_*.c program (tests/unit/meson.build), it sets the filters before main() runs, so
 * no test file has to call anything:
 *   XIKED_TEST=test_rekey_collision meson test -C build rekey --print-errorlogs
 *   XIKED_TEST=test_rekey_collision build/tests/unit/test_rekey
 * Test names are unique across files (tools/code-shape checks), so a name finds one case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

__attribute__((constructor)) static void test_filter_from_env(void)
{
	const char *run = getenv("XIKED_TEST");
	const char *skip = getenv("XIKED_TEST_SKIP");
	if (run != NULL && run[0] != '\0')
		cmocka_set_test_filter(run);
	if (skip != NULL && skip[0] != '\0')
		cmocka_set_skip_filter(skip);
}
