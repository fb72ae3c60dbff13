/*
 * Address pools (daemon/addr_pool.c): parsing, allocation order, the same
 * identity getting its address back, sharing between IKE SAs (a
 * reauthentication), exhaustion and the offline lease reused, IPv4 /31 and
 * IPv6 pools, and a reload keeping or dropping a pool.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/addr_pool.h"

static struct cp_prefix P(const char *text)
{
	struct cp_prefix p;
	char why[128];
	assert_int_equal(addr_pool_parse(text, &p, why, sizeof(why)), 0);
	return p;
}

static const char *A(const struct cp_prefix *p)
{
	static char b[64];
	addr_prefix_format(p, b, sizeof(b));
	return b;
}

static int acq(struct addr_pool *p, const char *id, struct cp_prefix *out)
{
	return addr_pool_acquire(p, (const uint8_t *)id, strlen(id), id, 0, out);
}

static void test_addr_pool_parse(void **state)
{
	(void)state;
	struct cp_prefix p;
	char why[128];
	assert_int_equal(addr_pool_parse("10.3.0.0/24", &p, why, sizeof(why)), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.plen, 24);
	assert_string_equal(A(&p), "10.3.0.0/24");
	assert_int_equal(addr_pool_parse("fd00:3::/112", &p, why, sizeof(why)), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(addr_pool_parse("10.3.0.1/24", &p, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "host bits"));
	assert_int_equal(addr_pool_parse("10.3.0.0", &p, why, sizeof(why)), -1);
	assert_int_equal(addr_pool_parse("10.3.0.0/32", &p, why, sizeof(why)), -1);
	assert_string_equal(why, "pool '10.3.0.0/32': prefix length '32', needs 8..31");
	assert_int_equal(addr_pool_parse("fd00::/48", &p, why, sizeof(why)), -1);
	assert_int_equal(addr_pool_parse("nonsense/24", &p, why, sizeof(why)), -1);
	assert_int_equal(addr_pool_parse("10.0.0.0/2x", &p, why, sizeof(why)), -1);
}

static void test_addr_pool_lease_and_return(void **state)
{
	(void)state;
	struct addr_pools *ps = addr_pools_new();
	struct cp_prefix pre = P("10.3.0.0/30"), a, b, c;
	struct addr_pool *p = addr_pools_get(ps, &pre);
	assert_ptr_equal(addr_pools_get(ps, &pre), p); /* the same prefix is the same pool */
	assert_int_equal(addr_pool_size(p), 2);        /* .1 and .2: no network, no broadcast */
	assert_int_equal(acq(p, "alice", &a), 0);
	assert_string_equal(A(&a), "10.3.0.1/32");
	assert_int_equal(acq(p, "bob", &b), 0);
	assert_string_equal(A(&b), "10.3.0.2/32");
	/* exhausted: every address online */
	assert_int_equal(acq(p, "carol", &c), -ENOSPC);
	/* alice's reauthentication holds it twice, then once */
	assert_int_equal(acq(p, "alice", &c), 0);
	assert_string_equal(A(&c), "10.3.0.1/32");
	assert_int_equal(addr_pool_online(p), 2);
	assert_int_equal(addr_pool_release(ps, p, &a, 1), 0);
	assert_int_equal(addr_pool_offline(p), 0);
	assert_int_equal(addr_pool_release(ps, p, &a, 2), 0);
	assert_int_equal(addr_pool_offline(p), 1);
	assert_int_equal(addr_pool_release(ps, p, &a, 3), -ENOENT);
	/* offline, alice comes back to the same address */
	assert_int_equal(acq(p, "alice", &c), 0);
	assert_string_equal(A(&c), "10.3.0.1/32");
	/* bob offline, carol takes his address (the pool has nothing else) */
	assert_int_equal(addr_pool_release(ps, p, &b, 4), 0);
	assert_int_equal(acq(p, "carol", &c), 0);
	assert_string_equal(A(&c), "10.3.0.2/32");
	/* and bob gets nothing now */
	assert_int_equal(acq(p, "bob", &b), -ENOSPC);
	addr_pools_free(ps);
}

/* A new identity gets a never-used address before an offline lease is taken. */
static void test_addr_pool_offline_kept(void **state)
{
	(void)state;
	struct addr_pools *ps = addr_pools_new();
	struct cp_prefix pre = P("10.3.0.0/24"), a, b;
	struct addr_pool *p = addr_pools_get(ps, &pre);
	assert_int_equal(addr_pool_size(p), 254);
	assert_int_equal(acq(p, "alice", &a), 0);
	assert_int_equal(addr_pool_release(ps, p, &a, 1), 0);
	assert_int_equal(acq(p, "bob", &b), 0);
	assert_string_equal(A(&b), "10.3.0.2/32");
	/* 252 more fill the pool; the next takes alice's */
	char id[16];
	for (int i = 0; i < 252; i++) {
		snprintf(id, sizeof(id), "u%d", i);
		assert_int_equal(acq(p, id, &b), 0);
	}
	assert_string_equal(A(&b), "10.3.0.254/32");
	assert_int_equal(acq(p, "eve", &b), 0);
	assert_string_equal(A(&b), "10.3.0.1/32");
	assert_int_equal(acq(p, "alice", &a), -ENOSPC);
	addr_pools_free(ps);
}

static void test_addr_pool_ipv6_and_31(void **state)
{
	(void)state;
	struct addr_pools *ps = addr_pools_new();
	struct cp_prefix p6 = P("fd00:3::/64"), p31 = P("10.9.0.0/31"), a;
	struct addr_pool *p = addr_pools_get(ps, &p6);
	assert_int_equal(addr_pool_size(p), (1ull << 32) - 1); /* capped */
	assert_int_equal(acq(p, "alice", &a), 0);
	assert_string_equal(A(&a), "fd00:3::1/128");
	for (int i = 0; i < 300; i++) {
		char id[16];
		snprintf(id, sizeof(id), "u%d", i);
		assert_int_equal(acq(p, id, &a), 0);
	}
	assert_string_equal(A(&a), "fd00:3::12d/128");
	assert_int_equal(addr_pool_release(ps, p, &a, 0), 0);
	/* RFC 3021: both addresses of a /31 are hosts */
	struct addr_pool *q = addr_pools_get(ps, &p31);
	assert_int_equal(addr_pool_size(q), 2);
	assert_int_equal(acq(q, "x", &a), 0);
	assert_string_equal(A(&a), "10.9.0.0/32");
	/* an address of another pool is not released here */
	assert_int_equal(addr_pool_release(ps, q, &(struct cp_prefix){ AF_INET, 32, { 10, 3 } }, 0),
			 -ENOENT);
	addr_pools_free(ps);
}

/* A reload that keeps the pool keeps its leases; one that drops it frees it once its leases go. */
static void test_addr_pool_reload(void **state)
{
	(void)state;
	struct addr_pools *ps = addr_pools_new();
	struct cp_prefix k = P("10.3.0.0/24"), d = P("10.4.0.0/24"), a, b;
	struct addr_pool *pk = addr_pools_get(ps, &k), *pd = addr_pools_get(ps, &d);
	assert_int_equal(acq(pk, "alice", &a), 0);
	assert_int_equal(addr_pool_release(ps, pk, &a, 0), 0); /* alice offline */
	assert_int_equal(acq(pd, "bob", &b), 0);               /* bob online */
	addr_pools_mark(ps);
	assert_ptr_equal(addr_pools_get(ps, &k), pk);
	assert_int_equal(addr_pools_sweep(ps), 0); /* pd still has bob */
	assert_ptr_equal(addr_pools_find(ps, &d), pd);
	assert_int_equal(acq(pk, "alice", &a), 0);
	assert_string_equal(A(&a), "10.3.0.1/32");
	assert_int_equal(addr_pool_release(ps, pd, &b, 0), 0); /* the last lease: pd goes */
	assert_null(addr_pools_find(ps, &d));
	addr_pools_mark(ps);
	assert_int_equal(addr_pools_sweep(ps), 0); /* pk: alice online */
	addr_pools_free(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_pool_parse),
		cmocka_unit_test(test_addr_pool_lease_and_return),
		cmocka_unit_test(test_addr_pool_offline_kept),
		cmocka_unit_test(test_addr_pool_ipv6_and_31),
		cmocka_unit_test(test_addr_pool_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
