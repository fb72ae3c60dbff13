/*
 * One IKE SA per peer identity (conn unique =, daemon/unique.h),
 * INITIAL_CONTACT (RFC 7296 2.4) and the IKE SA a peer's rekey replaced
 * but never deleted (timers.h), in the two-engine world. The initiator a
 * has several conns to b with the same identities, so b sees several IKE
 * SAs of one peer identity, as from one client that reauthenticates or
 * from several clients sharing a certificate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/spi_table.h"
#include "daemon/task_reauth.h"
#include "daemon/timers.h"
#include "tests/unit/engine_world.h"

#define PSK "correct horse battery staple"
#define SUITE "ike = aes256gcm16-prfsha256-x25519\nesp = aes256gcm16\n"

/* a: conns b0..b<n-1> to b, each for its own 10.1.i.0/24; b: one conn for all of them. */
static void world_unique(size_t n, const char *unique_b)
{
	size_t cap = n * 320 + 256, len = 0;
	char *a = malloc(cap), b[1024];
	len += (size_t)snprintf(a + len, cap - len, "[daemon]\nlog = error\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(a + len, cap - len,
			"[conn b%zu]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\n"
			"local_id = a.example\nremote_id = b.example\nauth = psk\npsk = \"" PSK "\"\n"
			SUITE "local_ts = 10.1.%zu.0/24\nremote_ts = 10.2.0.0/24\n", i, i);
	snprintf(b, sizeof(b), "[daemon]\nlog = error\n[conn a]\nlocal_addr = 192.0.2.2\n"
		 "remote_addr = %%any\nlocal_id = b.example\nremote_id = a.example\nauth = psk\n"
		 "psk = \"" PSK "\"\n" SUITE "local_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/16\n%s",
		 unique_b);
	world_new_text(a, b, 42);
	free(a);
}

static size_t count(int side)
{
	return engine_ike_sa_count(W->s[side].e);
}

/* engine_up of a's conn b<i>, IKE_SA_INIT and the IKE_AUTH request stepped. */
static void up_to_auth(size_t i)
{
	char name[32], err[128];
	snprintf(name, sizeof(name), "b%zu", i);
	assert_int_equal(engine_up(W->s[0].e, name, err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	/* IKE_AUTH { IDi, IDr, AUTH, SAi2, TSi, TSr [, N(INITIAL_CONTACT)] } --> */
	step(1, IKE_AUTH, false);
}

static void up(size_t i)
{
	up_to_auth(i);
	step(0, IKE_AUTH, true);
	assert_int_equal(W->nq, 0);
}

static void grab_all(uint64_t k, void *v, void *ctx)
{
	(void)k;
	struct ikesa ***p = ctx;
	*(*p)++ = v;
}

/* a crashes: all its SAs go without a word to b. */
static void crash_a(void)
{
	size_t n = count(0);
	struct ikesa **all = calloc(n + 1, sizeof(*all)), **p = all;
	spi_table_each(W->s[0].e->by_spi, grab_all, &p);
	for (size_t i = 0; i < n; i++)
		engine_destroy_sa(W->s[0].e, all[i]);
	free(all);
	assert_int_equal(count(0), 0);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
}

/* unique = replace (default): the identity's older IKE SA goes, with a Delete. */
static void test_replace(void **st)
{
	(void)st;
	world_unique(2, "");
	up(0);
	uint64_t old = sa_of(1)->local_spi_key;
	/* a's second IKE SA carries no INITIAL_CONTACT: a holds one between the identities */
	up(1);
	assert_int_equal(count(1), 2);
	/*
	 * From the same address and without INITIAL_CONTACT it may be the
	 * peer's reauthentication: the peer has REAUTH_OUT_WAIT_MS to delete
	 * the old one itself, then b does.
	 */
	advance(REAUTH_OUT_WAIT_MS - 1);
	assert_int_equal(W->nq, 0);
	advance(1);
	/* <-- INFORMATIONAL { D(IKE) } on the old IKE SA */
	step(0, INFORMATIONAL, false);
	step(1, INFORMATIONAL, true);
	assert_null(engine_find(W->s[1].e, old));
	assert_int_equal(count(1), 1);
	assert_int_equal(count(0), 1);
	assert_tunnel();
	world_free();
}

/* unique = keep: the new IKE SA is refused with AUTHENTICATION_FAILED, as strongSwan's. */
static void test_keep(void **st)
{
	(void)st;
	world_unique(2, "unique = keep\n");
	up(0);
	uint64_t first = sa_of(1)->local_spi_key;
	up_to_auth(1);
	/* <-- IKE_AUTH { N(AUTHENTICATION_FAILED) } */
	assert_int_equal(count(1), 1);
	step(0, IKE_AUTH, true);
	assert_int_equal(W->nq, 0);
	assert_int_equal(count(0), 1);
	assert_non_null(engine_find(W->s[1].e, first));
	assert_tunnel();
	/* a restarts: INITIAL_CONTACT drops the old IKE SA even so */
	crash_a();
	up(0);
	assert_null(engine_find(W->s[1].e, first));
	assert_tunnel();
	world_free();
}

/* unique = never: several IKE SAs of the identity stay, and INITIAL_CONTACT is ignored. */
static void test_never(void **st)
{
	(void)st;
	world_unique(2, "unique = never\n");
	up(0);
	up(1);
	advance(60000);
	assert_int_equal(W->nq, 0);
	assert_int_equal(count(1), 2);
	crash_a();
	up(0); /* with INITIAL_CONTACT */
	assert_int_equal(count(1), 3);
	world_free();
}

/* INITIAL_CONTACT drops every IKE SA of the identity, not the first 64. */
static void test_initial_contact_all(void **st)
{
	(void)st;
	const size_t n = 130;
	world_unique(n, "");
	for (size_t i = 0; i < n; i++)
		up(i);
	/* each replaced the one before, whose peer has 10 s to delete it: all still there */
	assert_int_equal(count(1), n);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2 * n);
	crash_a();
	up(0);
	assert_int_equal(count(1), 1);
	assert_tunnel();
	advance(60000);
	assert_int_equal(W->nq, 0);
	assert_int_equal(count(1), 1);
	world_free();
}

/* RFC 7296 2.8: the peer rekeyed the IKE SA and never deletes the old one: b does. */
static void test_rekeyed_never_deleted(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	uint64_t old_a = sa_of(0)->local_spi_key, old_b = sa_of(1)->local_spi_key;
	char err[128];
	assert_int_equal(engine_rekey(W->s[0].e, "b", true, err, sizeof(err)), 0);
	/* CREATE_CHILD_SA { SA, Ni, KEi } -->, <-- { SA, Nr, KEr } */
	step(1, CREATE_CHILD_SA, false);
	step(0, CREATE_CHILD_SA, true);
	/* a's INFORMATIONAL { D } on the old IKE SA is lost, and a forgets the old SA */
	drop(INFORMATIONAL, false);
	engine_destroy_sa(W->s[0].e, engine_find(W->s[0].e, old_a));
	assert_int_equal(count(1), 2);
	advance(IKE_REPLACED_WAIT_MS - 1);
	assert_int_equal(W->nq, 0);
	assert_non_null(engine_find(W->s[1].e, old_b));
	/* b sends the Delete itself; unanswered, it goes after the retransmissions */
	uint64_t ms = IKE_REPLACED_WAIT_MS - 1;
	while (engine_find(W->s[1].e, old_b) && ms < 400000) {
		while (W->nq)
			pop(0, false);
		advance(1000);
		ms += 1000;
	}
	print_message("the replaced IKE SA went %.0f s after the rekey\n", ms / 1000.0);
	assert_null(engine_find(W->s[1].e, old_b));
	assert_true(ms < 400000);
	assert_int_equal(count(1), 1);
	assert_int_equal(sa_of(1)->state, IKESA_ESTABLISHED);
	assert_tunnel();
	world_free();
}

static void test_unique_config(void **st)
{
	(void)st;
	struct xiked_config *c = NULL;
	char err[256];
	const char *base = "[conn x]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"0123456789abcdef\"\n";
	const char *vals[] = {"", "unique = replace\n", "unique = keep\n", "unique = never\n"};
	const enum config_unique want[] = {CONFIG_UNIQUE_REPLACE, CONFIG_UNIQUE_REPLACE,
					   CONFIG_UNIQUE_KEEP, CONFIG_UNIQUE_NEVER};
	for (size_t i = 0; i < 4; i++) {
		char text[512];
		snprintf(text, sizeof(text), "%s%s", base, vals[i]);
		assert_int_equal(config_parse(text, strlen(text), "t.conf", &c, err, sizeof(err)), 0);
		assert_int_equal(c->conns[0].unique, want[i]);
		config_free(c);
	}
	char text[512];
	snprintf(text, sizeof(text), "%sunique = yes\n", base);
	assert_int_not_equal(config_parse(text, strlen(text), "t.conf", &c, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "t.conf:5"));
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unique_config),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_keep),
		cmocka_unit_test(test_never),
		cmocka_unit_test(test_initial_contact_all),
		cmocka_unit_test(test_rekeyed_never_deleted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
