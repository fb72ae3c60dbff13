/* daemon/text.c: the one escaping function for terminals and logs (issue 12.6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/text.h"

static void check(const char *in, size_t len, size_t outlen, const char *want)
{
	char out[256];
	assert_true(outlen <= sizeof(out));
	assert_ptr_equal(text_escape(in, len, out, outlen), out);
	assert_string_equal(out, want);
}

static void test_controls_escaped(void **state)
{
	(void)state;
	/* A peer ID meant to recolour the terminal. */
	check("b\x1b[31mRED", 9, 256, "b\\x1b[31mRED");
	check("a\nb\rc\td\x7f", 8, 256, "a\\x0ab\\x0dc\\x09d\\x7f");
	check("a\\b", 3, 256, "a\\\\b");
	/* C1 control U+009B (CSI) as two octets */
	check("x\xc2\x9b" "1m", 5, 256, "x\\xc2\\x9b1m");
	/* bidi override U+202E */
	check("ab\xe2\x80\xae" "cd", 7, 256, "ab\\xe2\\x80\\xaecd");
	/* a NUL inside a counted string */
	check("a\0b", 3, 256, "a\\x00b");
}

static void test_utf8_kept(void **state)
{
	(void)state;
	check("caf\xc3\xa9.example", 13, 256, "caf\xc3\xa9.example");
	check("\xe6\x97\xa5\xe6\x9c\xac", 6, 256, "\xe6\x97\xa5\xe6\x9c\xac");
	check("\xf0\x9f\x94\x91", 4, 256, "\xf0\x9f\x94\x91");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	check("a\xff" "b", 3, 256, "a\\xffb");
	check("\xc0\xaf", 2, 256, "\\xc0\\xaf");            /* overlong '/' */
	check("\xed\xa0\x80", 3, 256, "\\xed\\xa0\\x80");   /* surrogate */
	check("\xc3", 1, 256, "\\xc3");                     /* truncated sequence */
	check("\xe2\x82", 2, 256, "\\xe2\\x82");
}

static void test_truncation(void **state)
{
	(void)state;
	check("abcdefghij", 10, 8, "abcd...");
	check("abc", 3, 4, "abc");
	/* an escape is never cut */
	check("ab\x1b" "cdef", 7, 9, "ab...");
	/* a UTF-8 sequence is never cut */
	check("a\xc3\xa9\xc3\xa9\xc3\xa9", 7, 7, "a\xc3\xa9...");
	check("x", 1, 1, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls_escaped),
		cmocka_unit_test(test_utf8_kept),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
