/* struct secret: the project's one wiping secret-buffer type (crypto/secret.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/rng.h"
#include "crypto/secret.h"
#include "crypto/secret_arena.h"

static void test_new_is_zeroed(void **state)
{
	struct secret *s = secret_new(100), *e = secret_new(0);

	(void)state;
	assert_non_null(s);
	assert_int_equal(s->len, 100);
	assert_true(sodium_is_zero(s->data, s->len));
	/* Zero-length secrets exist and behave. */
	assert_non_null(e);
	assert_int_equal(e->len, 0);
	secret_free(s);
	secret_free(e);
	/* Sizes that cannot be allocated fail cleanly. */
	assert_null(secret_new(SIZE_MAX));
	assert_null(secret_new(SIZE_MAX - 8));
}

static void test_dup_copies(void **state)
{
	uint8_t src[33];
	struct secret *s;

	(void)state;
	memset(src, 0x5c, sizeof(src));
	s = secret_dup(src, sizeof(src));
	assert_non_null(s);
	assert_int_equal(s->len, 33);
	assert_memory_equal(s->data, src, 33);
	/* A copy, not a view. */
	src[0] = 0;
	assert_int_equal(s->data[0], 0x5c);
	secret_free(s);
	s = secret_dup(NULL, 0);
	assert_non_null(s);
	assert_int_equal(s->len, 0);
	secret_free(s);
}

static void test_cat(void **state)
{
	struct secret *a = secret_dup("abc", 3), *b = secret_dup("defgh", 5), *e = secret_new(0);
	struct secret *ab, *ea, *ee;

	(void)state;
	ab = secret_cat(a, b);
	ea = secret_cat(e, a);
	ee = secret_cat(e, e);
	assert_int_equal(ab->len, 8);
	assert_memory_equal(ab->data, "abcdefgh", 8);
	assert_int_equal(ea->len, 3);
	assert_memory_equal(ea->data, "abc", 3);
	assert_int_equal(ee->len, 0);
	/* Inputs untouched. */
	assert_memory_equal(a->data, "abc", 3);
	assert_memory_equal(b->data, "defgh", 5);
	secret_free(a);
	secret_free(b);
	secret_free(e);
	secret_free(ab);
	secret_free(ea);
	secret_free(ee);
}

static void test_eq_ct(void **state)
{
	struct secret *a = secret_dup("0123456789", 10), *b = secret_dup("0123456789", 10);
	struct secret *c = secret_dup("0123456788", 10), *d = secret_dup("012345678", 9);
	struct secret *e1 = secret_new(0), *e2 = secret_new(0);

	(void)state;
	assert_true(secret_eq_ct(a, b));
	assert_true(secret_eq_ct(a, a));
	assert_false(secret_eq_ct(a, c));
	assert_false(secret_eq_ct(a, d)); /* prefix, different length */
	assert_false(secret_eq_ct(d, a));
	assert_true(secret_eq_ct(e1, e2));
	assert_false(secret_eq_ct(e1, a));
	assert_false(secret_eq_ct(a, NULL));
	assert_false(secret_eq_ct(NULL, a));
	assert_true(secret_eq_ct(NULL, NULL));
	/* A difference in the first octet is seen as well as in the last. */
	c->data[9] = '9';
	c->data[0] = 'x';
	assert_false(secret_eq_ct(a, c));
	secret_free(a);
	secret_free(b);
	secret_free(c);
	secret_free(d);
	secret_free(e1);
	secret_free(e2);
}

static void test_free_null_and_wipe(void **state)
{
	uint8_t buf[64];

	(void)state;
	secret_free(NULL);
	memset(buf, 0xa5, sizeof(buf));
	crypto_wipe(buf + 8, 40);
	assert_int_equal(buf[7], 0xa5);
	assert_true(sodium_is_zero(buf + 8, 40));
	assert_int_equal(buf[48], 0xa5);
	crypto_wipe(NULL, 0);
	crypto_wipe(buf, 0);
	assert_int_equal(buf[0], 0xa5);
}

/* data lives inside the same allocation: freeing the struct frees the key bytes too. */
static void test_layout(void **state)
{
	struct secret *s = secret_new(16);

	(void)state;
	assert_ptr_equal(s->data, (uint8_t *)(s + 1));
	secret_free(s);
}

static int setup(void **state)
{
	(void)state;
	return crypto_init() == 0 ? 0 : -1;
}


/*
 * Keys stay out of core dumps (issue 12.8): the mapping holding a secret's
 * data carries the kernel's "dd" flag (MADV_DONTDUMP) in /proc/self/smaps.
 * Small and large secrets, and a chunk reused from the free list.
 */
static bool smaps_dontdump(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, dd = false, found = false;
	uintptr_t a = (uintptr_t)p;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			found = true;
			dd = strstr(line, " dd") != NULL;
			break;
		}
	}
	fclose(f);
	assert_true(found);
	return dd;
}

static void test_not_in_core_dumps(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip(); /* ASan builds keep secrets on the plain heap (secret_arena.h) */
#endif
	struct secret *small = secret_new(32), *big = secret_new(10000);
	assert_non_null(small);
	assert_non_null(big);
	assert_true(smaps_dontdump(small->data));
	assert_true(smaps_dontdump(big->data));
	assert_true(secret_arena_mapped() >= 10000);
	secret_free(small);
	struct secret *again = secret_new(20); /* the same size class: reused, zeroed */
	assert_non_null(again);
	for (size_t i = 0; i < again->len; i++)
		assert_int_equal(again->data[i], 0);
	assert_true(smaps_dontdump(again->data));
	secret_free(again);
	secret_free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_is_zeroed),
		cmocka_unit_test(test_dup_copies),
		cmocka_unit_test(test_cat),
		cmocka_unit_test(test_eq_ct),
		cmocka_unit_test(test_free_null_and_wipe),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_not_in_core_dumps),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
