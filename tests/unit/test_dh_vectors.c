/*
 * crypto/dh.c against the Wycheproof X25519 and ECDH vectors
 * (tests/fixtures/wycheproof): valid vectors give the expected secret;
 * invalid peer values (off-curve points, invalid encodings) and low-order
 * X25519 points are refused (RFC 6989 2.3, RFC 7748 6.1, SP 800-56A 5.6.2.3.4).
 * "acceptable" vectors either give the expected secret or are refused;
 * the refused ones are counted in the report line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/dh.h"
#include "crypto/rng.h"
#include "crypto/secret.h"
#include "daemon/ikev2.h"
#include "tests/unit/wycheproof.h"

static bool say(const struct json_value *t, const char *what)
{
	printf("  tcId %lld (%s): %s\n", (long long)wp_tcid(t), wp_result(t), what);
	return false;
}

/*
 * The outcome of one vector: *shared (NULL when dh_shared refused) against
 * the vector's result and expected secret.
 */
static bool judge(const struct json_value *t, struct wp_tally *tally, int rc,
		  const struct secret *shared)
{
	const char *r = wp_result(t);
	size_t want_len;
	uint8_t *want = wp_hex(t, "shared", &want_len);
	bool ok;

	if (rc != 0 && rc != -EINVAL)
		ok = say(t, "dh_shared failed other than -EINVAL");
	else if (strcmp(r, "invalid") == 0)
		ok = rc != 0 || say(t, "invalid peer value accepted");
	else if (rc != 0 && strcmp(r, "acceptable") == 0) {
		tally->refused_acceptable++;
		ok = true;
	} else if (rc != 0)
		ok = say(t, "valid peer value refused");
	else
		ok = (shared->len == want_len && memcmp(shared->data, want, want_len) == 0) ||
		     say(t, "shared secret differs");
	free(want);
	return ok;
}

static bool check_x25519(const struct json_value *g, const struct json_value *t,
			 struct wp_tally *tally, void *ctx)
{
	size_t priv_len, pub_len;
	uint8_t *priv = wp_hex(t, "private", &priv_len), *pub = wp_hex(t, "public", &pub_len);
	struct dh *dh = dh_new_from_private(DH_CURVE25519, priv, priv_len);
	struct secret *s = NULL;
	bool ok;
	int rc;

	(void)g;
	(void)ctx;
	assert_non_null(dh);
	rc = dh_shared(dh, pub, pub_len, &s);
	ok = judge(t, tally, rc, s);
	/* A low-order point gives the all-zero secret: always refused (RFC 7748 6.1). */
	if (wp_flag(t, "LowOrderPublic") && rc == 0)
		ok = say(t, "low-order public value accepted");
	secret_free(s);
	dh_free(dh);
	free(priv);
	free(pub);
	return ok;
}

/* Big-endian private scalar (possibly with a DER sign octet or short) to len octets. */
static bool fit_scalar(const uint8_t *in, size_t in_len, uint8_t *out, size_t len)
{
	while (in_len > 0 && in[0] == 0) {
		in++;
		in_len--;
	}
	if (in_len > len)
		return false;
	memset(out, 0, len - in_len);
	memcpy(out + len - in_len, in, in_len);
	return true;
}

struct ecp_ctx {
	uint16_t group;
	size_t field, order; /* octets */
};

/*
 * IKEv2's KE payload carries x | y without SEC 1's 0x04 (RFC 5903 7): an
 * uncompressed point is passed without its prefix; any other encoding
 * (compressed points, bad prefixes) has no IKEv2 form and is passed as it
 * is, so the length check must refuse it.
 */
static bool check_ecdh(const struct json_value *g, const struct json_value *t,
		       struct wp_tally *tally, void *ctxp)
{
	const struct ecp_ctx *ctx = ctxp;
	size_t priv_len, pub_len;
	uint8_t *priv = wp_hex(t, "private", &priv_len), *pub = wp_hex(t, "public", &pub_len);
	uint8_t scalar[66];
	const uint8_t *peer = pub;
	size_t peer_len = pub_len;
	struct secret *s = NULL;
	struct dh *dh;
	bool ok;
	int rc;

	(void)g;
	assert_true(fit_scalar(priv, priv_len, scalar, ctx->order));
	dh = dh_new_from_private(ctx->group, scalar, ctx->order);
	assert_non_null(dh);
	if (pub_len == 1 + 2 * ctx->field && pub[0] == 0x04) {
		peer = pub + 1;
		peer_len = pub_len - 1;
	}
	rc = dh_shared(dh, peer, peer_len, &s);
	ok = judge(t, tally, rc, s);
	secret_free(s);
	dh_free(dh);
	free(priv);
	free(pub);
	return ok;
}

static void test_dh_wycheproof_x25519(void **state)
{
	(void)state;
	wp_run("x25519_test.json", check_x25519, NULL);
}

static void test_dh_wycheproof_ecdh(void **state)
{
	struct ecp_ctx p256 = { DH_ECP_256, 32, 32 }, p384 = { DH_ECP_384, 48, 48 },
		       p521 = { DH_ECP_521, 66, 66 };

	(void)state;
	wp_run("ecdh_secp256r1_ecpoint_test.json", check_ecdh, &p256);
	wp_run("ecdh_secp384r1_ecpoint_test.json", check_ecdh, &p384);
	wp_run("ecdh_secp521r1_ecpoint_test.json", check_ecdh, &p521);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dh_wycheproof_x25519),
		cmocka_unit_test(test_dh_wycheproof_ecdh),
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
