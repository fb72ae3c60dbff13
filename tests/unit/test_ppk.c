/*
 * RFC 8784 post-quantum preshared keys between two engines: USE_PPK in
 * IKE_SA_INIT, PPK_IDENTITY and NO_PPK_AUTH in IKE_AUTH, the key mixing,
 * ppk_required on either side, and the configuration keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keymat.h"
#include "crypto/rng.h"
#include "crypto/secret.h"
#include "daemon/config.h"
#include "daemon/config_diff.h"
#include "daemon/engine.h"
#include "daemon/ikesa.h"
#include "daemon/ikev2.h"
#include "tests/unit/engine_world.h"

#define PPK_LINES(id, key, req) \
	"ppk_id = \"" id "\"\nppk = \"" key "\"\nppk_required = " req "\n"

/* RFC 8784 3 with HMAC-SHA2-256: prf+(PPK, K) = T1 | T2..., T1 = prf(PPK, K | 0x01). */
static void test_ppk_mix_vector(void **st)
{
	(void)st;
	static const char ppk_text[] = "a post-quantum preshared key of 32";
	uint8_t k32[32], k48[48];
	for (size_t i = 0; i < sizeof(k48); i++)
		k48[i] = (uint8_t)i;
	memcpy(k32, k48, sizeof(k32));
	/* Computed with Python's hmac module, independently of crypto/prf.c. */
	static const uint8_t want32[32] = {
		0xf4, 0xe6, 0xfe, 0x88, 0xe9, 0xb6, 0xd2, 0x3d, 0x0f, 0xf9, 0xc9, 0x52, 0x93, 0x9e,
		0x3a, 0xdd, 0xff, 0x2b, 0xf8, 0x19, 0xd3, 0xcb, 0x05, 0x18, 0x49, 0x73, 0x8c, 0xf1,
		0xc1, 0xcd, 0x2a, 0xc5};
	static const uint8_t want48[48] = {
		0xd4, 0xe5, 0x47, 0x8f, 0x4e, 0x27, 0x06, 0x57, 0x65, 0xc6, 0xdd, 0x1d, 0x7a, 0x27,
		0x9e, 0xfb, 0x6b, 0x11, 0x7a, 0x63, 0xa3, 0x06, 0xfd, 0x9e, 0xf7, 0x6e, 0xde, 0x06,
		0xbc, 0xe2, 0x1d, 0xba, 0x1b, 0x5e, 0x27, 0xed, 0xe3, 0x2a, 0x89, 0x1c, 0x94, 0x3d,
		0xf6, 0x71, 0x61, 0x4e, 0x45, 0xfb};
	struct secret *ppk = secret_dup(ppk_text, strlen(ppk_text));
	struct secret *a = secret_dup(k32, sizeof(k32)), *b = secret_dup(k48, sizeof(k48));
	struct secret *out = NULL;
	assert_int_equal(keymat_ppk_mix(PRF_HMAC_SHA2_256, ppk, a, &out), 0);
	assert_int_equal(out->len, 32);
	assert_memory_equal(out->data, want32, 32);
	secret_free(out);
	/* As long as the key it replaces: two prf+ blocks for 48 octets. */
	assert_int_equal(keymat_ppk_mix(PRF_HMAC_SHA2_256, ppk, b, &out), 0);
	assert_int_equal(out->len, 48);
	assert_memory_equal(out->data, want48, 48);
	secret_free(out);
	assert_int_equal(keymat_ppk_mix(9999, ppk, a, &out), -ENOTSUP);
	assert_null(out);
	secret_free(ppk);
	secret_free(a);
	secret_free(b);
}

static void world_with(const char *extra_a, const char *extra_b)
{
	struct params p = DEFAULTS;
	p.extra_a = extra_a;
	p.extra_b = extra_b;
	world_new(&p);
}

/* SK_d of both sides after a plain establish() with the default seed: the unmixed keys. */
static void plain_sk_d(struct secret **a, struct secret **b)
{
	world_with(NULL, NULL);
	establish();
	*a = secret_dup(sa_of(0)->keys.sk_d->data, sa_of(0)->keys.sk_d->len);
	*b = secret_dup(sa_of(1)->keys.sk_d->data, sa_of(1)->keys.sk_d->len);
	assert_true(secret_eq_ct(*a, *b));
	world_free();
}

static void test_ppk_both_sides(void **st)
{
	(void)st;
	struct secret *plain_a, *plain_b;
	plain_sk_d(&plain_a, &plain_b);
	world_with(PPK_LINES("pqpsk@example.org", "0123456789abcdef0123456789abcdef", "yes"),
		   PPK_LINES("pqpsk@example.org", "0123456789abcdef0123456789abcdef", "yes"));
	establish();
	assert_tunnel();
	for (int i = 0; i < 2; i++)
		assert_true(sa_of(i)->ext & EXT_PPK_USED);
	/* SK_d = prf+(PPK, SK_d'): the same seed gives the same SK_d' as the plain world. */
	struct secret *ppk = sa_of(0)->conn->ppk, *want = NULL;
	assert_int_equal(keymat_ppk_mix(sa_of(0)->suite.prf, ppk, plain_a, &want), 0);
	assert_true(secret_eq_ct(sa_of(0)->keys.sk_d, want));
	assert_true(secret_eq_ct(sa_of(1)->keys.sk_d, want));
	assert_false(secret_eq_ct(sa_of(0)->keys.sk_d, plain_a));
	secret_free(want);
	secret_free(plain_a);
	secret_free(plain_b);
	world_free();
}

/* The same PPK_ID, another key: AUTH does not verify, and there is no falling back. */
static void test_ppk_wrong_key(void **st)
{
	(void)st;
	world_with(PPK_LINES("pqpsk@example.org", "0123456789abcdef0123456789abcdef", "no"),
		   PPK_LINES("pqpsk@example.org", "fedcba9876543210fedcba9876543210", "no"));
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	/* <-- { HDR, SK { N(AUTHENTICATION_FAILED) } } */
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	step(0, IKE_AUTH, true);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(W->s[0].e->stats.ike_failed, 1);
	assert_nothing_left();
	world_free();
}

/* A responder with no PPK at all does not answer USE_PPK: plain IKE SA. */
static void test_ppk_responder_without(void **st)
{
	(void)st;
	world_with(PPK_LINES("pqpsk@example.org", "0123456789abcdef0123456789abcdef", "no"), NULL);
	establish();
	assert_tunnel();
	assert_false(sa_of(0)->ext & (EXT_PPK | EXT_PPK_USED));
	assert_false(sa_of(1)->ext & (EXT_PPK | EXT_PPK_USED));
	world_free();
}

/*
 * The responder has a PPK, but for another PPK_ID: it checks the
 * initiator's NO_PPK_AUTH, answers without PPK_IDENTITY, and both go on
 * with the unmixed keys.
 */
static void test_ppk_no_ppk_auth(void **st)
{
	(void)st;
	struct secret *plain_a, *plain_b;
	plain_sk_d(&plain_a, &plain_b);
	world_with(PPK_LINES("mine", "0123456789abcdef0123456789abcdef", "no"),
		   PPK_LINES("other", "0123456789abcdef0123456789abcdef", "no"));
	establish();
	assert_tunnel();
	for (int i = 0; i < 2; i++) {
		assert_true(sa_of(i)->ext & EXT_PPK);
		assert_false(sa_of(i)->ext & EXT_PPK_USED);
	}
	assert_true(secret_eq_ct(sa_of(0)->keys.sk_d, plain_a));
	assert_true(secret_eq_ct(sa_of(1)->keys.sk_d, plain_b));
	secret_free(plain_a);
	secret_free(plain_b);
	world_free();
}

/* ppk_required at the initiator, a responder without USE_PPK: no IKE_AUTH is sent. */
static void test_ppk_required_initiator(void **st)
{
	(void)st;
	world_with(PPK_LINES("pqpsk@example.org", "0123456789abcdef0123456789abcdef", "yes"), NULL);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	assert_int_equal(W->nq, 0);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	world_free();
}

static void required_r_fails(const char *extra_a, const char *extra_b)
{
	world_with(extra_a, extra_b);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	assert_int_equal(W->s[1].e->stats.ike_failed, 1);
	step(0, IKE_AUTH, true);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_nothing_left();
	world_free();
}

/* ppk_required at the responder: a peer without PPK, or naming another PPK_ID, fails. */
static void test_ppk_required_responder(void **st)
{
	(void)st;
	required_r_fails(NULL, PPK_LINES("pqpsk@example.org", "0123456789abcdef0123456789abcdef",
					 "yes"));
	required_r_fails(PPK_LINES("mine", "0123456789abcdef0123456789abcdef", "no"),
			 PPK_LINES("other", "0123456789abcdef0123456789abcdef", "yes"));
}

/* The initiator's PPK_ID is unknown and it sent no NO_PPK_AUTH (ppk_required = yes there). */
static void test_ppk_unknown_id_required_initiator(void **st)
{
	(void)st;
	required_r_fails(PPK_LINES("mine", "0123456789abcdef0123456789abcdef", "yes"),
			 PPK_LINES("other", "0123456789abcdef0123456789abcdef", "no"));
}

/* A Child SA made later and an IKE SA rekey run on the mixed SK_d. */
static void test_ppk_rekey(void **st)
{
	(void)st;
	world_with(PPK_LINES("pqpsk@example.org", "0123456789abcdef0123456789abcdef", "no"),
		   PPK_LINES("pqpsk@example.org", "0123456789abcdef0123456789abcdef", "no"));
	establish();
	char err[128];
	struct secret *before = secret_dup(sa_of(0)->keys.sk_d->data, sa_of(0)->keys.sk_d->len);
	assert_int_equal(engine_rekey(W->s[0].e, "b", false, err, sizeof(err)), 0);
	settle();
	assert_int_equal(engine_rekey(W->s[1].e, "a", true, err, sizeof(err)), 0);
	settle();
	assert_tunnel();
	assert_false(secret_eq_ct(sa_of(0)->keys.sk_d, before));
	secret_free(before);
	assert_true(sa_of(0)->ext & EXT_PPK_USED);
	assert_true(secret_eq_ct(sa_of(0)->keys.sk_d, sa_of(1)->keys.sk_d));
	world_free();
}

static void config_error(const char *lines, const char *want)
{
	char text[1024], err[256];
	snprintf(text, sizeof(text),
		 "[conn x]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"k\"\n%s", lines);
	struct xiked_config *c = NULL;
	assert_int_not_equal(config_parse(text, strlen(text), "t.conf", &c, err, sizeof(err)), 0);
	if (!strstr(err, want))
		fail_msg("'%s' not in '%s'", want, err);
}

static void test_ppk_config(void **st)
{
	(void)st;
	config_error("ppk = \"k\"\n", "ppk needs ppk_id =");
	config_error("ppk_id = \"i\"\n", "ppk_id needs ppk = or ppk_file =");
	config_error("ppk_required = yes\n", "ppk_required = yes needs ppk_id");
	config_error("ppk_id = \"i\"\nppk = \"k\"\nppk_required = maybe\n", "not yes or no");
	config_error("ppk_id = \"i\"\nppk = \"k\"\nppk_file = k.ppk\n", "ppk and ppk_file both");
	config_error("ppk_id = \"i\"\nppk = bare\n", "ppk: a quoted string or 0x<hex>");
	config_error("ppk_id = 0xzz\nppk = \"k\"\n", "ppk_id: bad hex");
	const char *ok = "[conn x]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"k\"\n"
			 "ppk_id = 0x01020304\nppk = 0xaabbccdd\nppk_required = yes\n";
	struct xiked_config *c = NULL;
	char err[256];
	assert_int_equal(config_parse(ok, strlen(ok), "t.conf", &c, err, sizeof(err)), 0);
	assert_true(c->any_ppk);
	assert_int_equal(c->conns[0].ppk_id_len, 4);
	assert_int_equal(c->conns[0].ppk->len, 4);
	assert_true(c->conns[0].ppk_required);
	config_free(c);
}

/* A reload sees a changed PPK, PPK_ID or ppk_required as an auth change (xikectl reload). */
static void test_ppk_reload_diff(void **st)
{
	(void)st;
	const char *base = "[conn x]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"k\"\n";
	static const char *const variants[] = {
		"ppk_id = \"i\"\nppk = \"k1\"\n", "ppk_id = \"i\"\nppk = \"k2\"\n",
		"ppk_id = \"j\"\nppk = \"k1\"\n",
		"ppk_id = \"i\"\nppk = \"k1\"\nppk_required = yes\n", "",
	};
	struct xiked_config *c[5];
	char text[512], err[256];
	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "%s%s", base, variants[i]);
		c[i] = NULL;
		assert_int_equal(config_parse(text, strlen(text), "t.conf", &c[i], err, sizeof(err)),
				 0);
	}
	assert_int_equal(config_diff_conns(&c[0]->conns[0], &c[0]->conns[0]) & CONFIG_CHG_AUTH, 0);
	for (int i = 1; i < 5; i++)
		assert_int_equal(config_diff_conns(&c[0]->conns[0], &c[i]->conns[0]) &
					 CONFIG_CHG_AUTH, CONFIG_CHG_AUTH);
	for (int i = 0; i < 5; i++)
		config_free(c[i]);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ppk_mix_vector),
		cmocka_unit_test(test_ppk_both_sides),
		cmocka_unit_test(test_ppk_wrong_key),
		cmocka_unit_test(test_ppk_responder_without),
		cmocka_unit_test(test_ppk_no_ppk_auth),
		cmocka_unit_test(test_ppk_required_initiator),
		cmocka_unit_test(test_ppk_required_responder),
		cmocka_unit_test(test_ppk_unknown_id_required_initiator),
		cmocka_unit_test(test_ppk_rekey),
		cmocka_unit_test(test_ppk_config),
		cmocka_unit_test(test_ppk_reload_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
