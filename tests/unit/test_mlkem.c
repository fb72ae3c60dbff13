/*
 * ML-KEM (crypto/mlkem.c) against the Wycheproof vectors
 * (tests/fixtures/wycheproof: key generation from seeds, encapsulation with
 * a given m, decapsulation with implicit rejection, malformed seeds, keys
 * and ciphertexts), plus behaviour tests: round trips with random keys, the
 * rejection secret J(z || c) for a tampered ciphertext, refused lengths and
 * decapsulation keys. With a libgcrypt that has ML-KEM (gcry_kem_*,
 * XIKED_HAVE_GCRY_MLKEM from meson) ours is cross-checked against it.
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
#include <gcrypt.h>

#include "crypto/mlkem.h"
#include "crypto/rng.h"
#include "crypto/secret.h"
#include "daemon/ikev2.h"
#include "tests/unit/wycheproof.h"

static const uint16_t mlkem_ids[] = { DH_MLKEM512, DH_MLKEM768, DH_MLKEM1024 };

static uint16_t param_id(const struct json_value *g)
{
	const char *ps = json_get_str(g, "parameterSet");

	assert_non_null(ps);
	if (strcmp(ps, "ML-KEM-512") == 0)
		return DH_MLKEM512;
	if (strcmp(ps, "ML-KEM-768") == 0)
		return DH_MLKEM768;
	if (strcmp(ps, "ML-KEM-1024") == 0)
		return DH_MLKEM1024;
	fail_msg("parameterSet %s", ps);
	return 0;
}

static bool say(const struct json_value *t, const char *what)
{
	printf("  tcId %lld (%s): %s\n", (long long)wp_tcid(t), wp_result(t), what);
	return false;
}

static bool same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/*
 * mlkem_test_schema: seed d || z, optional ek, ciphertext c, K. Invalid
 * vectors have a seed or a ciphertext of the wrong length: refused by
 * keygen or decaps. Valid ones: ek as given, K from decaps (for modified
 * ciphertexts the implicit-rejection K).
 */
static bool check_kem(const struct json_value *g, const struct json_value *t,
		      struct wp_tally *tally, void *ctx)
{
	uint16_t id = param_id(g);
	size_t seed_len, ek_len, c_len, k_len;
	uint8_t *seed = wp_hex(t, "seed", &seed_len), *ek = wp_hex(t, "ek", &ek_len);
	uint8_t *c = wp_hex(t, "c", &c_len), *k = wp_hex(t, "K", &k_len);
	uint8_t our_ek[MLKEM_EK_MAX];
	struct secret *dk = NULL, *ss = NULL;
	bool valid = strcmp(wp_result(t), "valid") == 0, ok = false;
	int rc;

	(void)tally;
	(void)ctx;
	rc = mlkem_keygen_seed(id, seed, seed_len, our_ek, mlkem_ek_len(id), &dk);
	if (rc) {
		ok = valid ? say(t, "keygen refused the seed") : true;
		goto out;
	}
	if (ek_len && !same(our_ek, mlkem_ek_len(id), ek, ek_len)) {
		ok = say(t, "ek differs");
		goto out;
	}
	rc = mlkem_decaps(id, dk, c, c_len, &ss);
	if (rc)
		ok = valid ? say(t, "decaps refused") : true;
	else if (!valid)
		ok = say(t, "decaps accepted an invalid ciphertext");
	else
		ok = same(ss->data, ss->len, k, k_len) || say(t, "K differs");
out:
	secret_free(dk);
	secret_free(ss);
	free(seed);
	free(ek);
	free(c);
	free(k);
	return ok;
}

/* mlkem_encaps_test_schema: ek, m, c, K; invalid: ek of the wrong length or failing 7.2. */
static bool check_encaps(const struct json_value *g, const struct json_value *t,
			 struct wp_tally *tally, void *ctx)
{
	uint16_t id = param_id(g);
	size_t ek_len, m_len, c_len, k_len;
	uint8_t *ek = wp_hex(t, "ek", &ek_len), *m = wp_hex(t, "m", &m_len);
	uint8_t *c = wp_hex(t, "c", &c_len), *k = wp_hex(t, "K", &k_len);
	uint8_t ct[MLKEM_CT_MAX];
	struct secret *ss = NULL;
	bool valid = strcmp(wp_result(t), "valid") == 0, ok;
	int rc;

	(void)tally;
	(void)ctx;
	assert_int_equal(m_len, MLKEM_MSG_LEN);
	/* The 7.2 check on its own must agree with the encapsulation's. */
	if ((mlkem_check_ek(id, ek, ek_len) == 0) != valid) {
		ok = say(t, "mlkem_check_ek disagrees");
		goto out;
	}
	rc = mlkem_encaps_m(id, ek, ek_len, m, ct, mlkem_ct_len(id), &ss);
	if (rc)
		ok = valid ? say(t, "encaps refused") : (rc == -EINVAL || say(t, "not -EINVAL"));
	else if (!valid)
		ok = say(t, "encaps accepted an invalid ek");
	else
		ok = (same(ct, mlkem_ct_len(id), c, c_len) || say(t, "c differs")) &&
		     (same(ss->data, ss->len, k, k_len) || say(t, "K differs"));
out:
	secret_free(ss);
	free(ek);
	free(m);
	free(c);
	free(k);
	return ok;
}

/* mlkem_keygen_seed_test_schema: seed, ek and the expanded dk. */
static bool check_keygen(const struct json_value *g, const struct json_value *t,
			 struct wp_tally *tally, void *ctx)
{
	uint16_t id = param_id(g);
	size_t seed_len, ek_len, dk_len;
	uint8_t *seed = wp_hex(t, "seed", &seed_len), *ek = wp_hex(t, "ek", &ek_len);
	uint8_t *dkw = wp_hex(t, "dk", &dk_len);
	uint8_t our_ek[MLKEM_EK_MAX];
	struct secret *dk = NULL;
	bool ok;

	(void)tally;
	(void)ctx;
	if (mlkem_keygen_seed(id, seed, seed_len, our_ek, mlkem_ek_len(id), &dk))
		ok = say(t, "keygen refused");
	else
		ok = (same(our_ek, mlkem_ek_len(id), ek, ek_len) || say(t, "ek differs")) &&
		     (same(dk->data, dk->len, dkw, dk_len) || say(t, "dk differs"));
	secret_free(dk);
	free(seed);
	free(ek);
	free(dkw);
	return ok;
}

/* mlkem_semi_expanded_decaps_test_schema: decaps with a given expanded dk (7.3 checks). */
static bool check_dk_decaps(const struct json_value *g, const struct json_value *t,
			    struct wp_tally *tally, void *ctx)
{
	uint16_t id = param_id(g);
	size_t dk_len, c_len, k_len;
	uint8_t *dkw = wp_hex(t, "dk", &dk_len), *c = wp_hex(t, "c", &c_len);
	uint8_t *k = wp_hex(t, "K", &k_len);
	struct secret *dk = secret_dup(dkw, dk_len), *ss = NULL;
	bool valid = strcmp(wp_result(t), "valid") == 0, ok;
	int rc;

	(void)tally;
	(void)ctx;
	assert_non_null(dk);
	rc = mlkem_decaps(id, dk, c, c_len, &ss);
	if (rc)
		ok = valid ? say(t, "decaps refused") : true;
	else if (!valid)
		ok = say(t, "decaps accepted an invalid dk or ciphertext");
	else
		ok = same(ss->data, ss->len, k, k_len) || say(t, "K differs");
	secret_free(dk);
	secret_free(ss);
	free(dkw);
	free(c);
	free(k);
	return ok;
}

static void test_mlkem_wycheproof_512(void **state)
{
	(void)state;
	wp_run("mlkem_512_test.json", check_kem, NULL);
	wp_run("mlkem_512_encaps_test.json", check_encaps, NULL);
}

static void test_mlkem_wycheproof_768(void **state)
{
	(void)state;
	wp_run("mlkem_768_test.json", check_kem, NULL);
	wp_run("mlkem_768_encaps_test.json", check_encaps, NULL);
	wp_run("mlkem_768_keygen_seed_test.json", check_keygen, NULL);
	wp_run("mlkem_768_semi_expanded_decaps_test.json", check_dk_decaps, NULL);
}

static void test_mlkem_wycheproof_1024(void **state)
{
	(void)state;
	wp_run("mlkem_1024_test.json", check_kem, NULL);
	wp_run("mlkem_1024_encaps_test.json", check_encaps, NULL);
}

/* Random key pairs: both sides agree; sizes as FIPS 203 Table 3. */
static void test_mlkem_round_trip(void **state)
{
	static const size_t sizes[][3] = { { 800, 1632, 768 }, { 1184, 2400, 1088 },
					   { 1568, 3168, 1568 } };
	struct rng *rng = rng_fixed_new(9203);

	(void)state;
	assert_non_null(rng);
	for (size_t i = 0; i < 3; i++) {
		uint16_t id = mlkem_ids[i];
		uint8_t ek[MLKEM_EK_MAX], ct[MLKEM_CT_MAX];

		assert_int_equal(mlkem_ek_len(id), sizes[i][0]);
		assert_int_equal(mlkem_dk_len(id), sizes[i][1]);
		assert_int_equal(mlkem_ct_len(id), sizes[i][2]);
		for (int n = 0; n < 20; n++) {
			struct secret *dk, *k1, *k2;

			assert_int_equal(mlkem_keygen(id, rng, ek, mlkem_ek_len(id), &dk), 0);
			assert_int_equal(mlkem_encaps(id, ek, mlkem_ek_len(id), rng, ct,
						      mlkem_ct_len(id), &k1), 0);
			assert_int_equal(mlkem_decaps(id, dk, ct, mlkem_ct_len(id), &k2), 0);
			assert_true(secret_eq_ct(k1, k2));
			secret_free(dk);
			secret_free(k1);
			secret_free(k2);
		}
	}
	rng_fixed_free(rng);
}

/* A changed ciphertext decapsulates to J(z || c) (FIPS 203 6.3), never to K. */
static void test_mlkem_implicit_rejection(void **state)
{
	struct rng *rng = rng_fixed_new(77);

	(void)state;
	assert_non_null(rng);
	for (size_t i = 0; i < 3; i++) {
		uint16_t id = mlkem_ids[i];
		size_t ct_len = mlkem_ct_len(id), dk_len = mlkem_dk_len(id);
		uint8_t ek[MLKEM_EK_MAX], ct[MLKEM_CT_MAX], want[MLKEM_SS_LEN];
		struct secret *dk, *k, *bad;
		gcry_md_hd_t h;

		assert_int_equal(mlkem_keygen(id, rng, ek, mlkem_ek_len(id), &dk), 0);
		assert_int_equal(mlkem_encaps(id, ek, mlkem_ek_len(id), rng, ct, ct_len, &k), 0);
		/* Every position class: first octet, inside c1, the last octet of c2. */
		for (size_t pos = 0; pos < ct_len; pos += ct_len / 7 + 1) {
			size_t at = pos + 1 >= ct_len ? ct_len - 1 : pos;

			ct[at] ^= 0x01;
			assert_int_equal(mlkem_decaps(id, dk, ct, ct_len, &bad), 0);
			assert_false(secret_eq_ct(k, bad));
			assert_int_equal(gcry_md_open(&h, GCRY_MD_SHAKE256, 0), 0);
			gcry_md_write(h, dk->data + dk_len - 32, 32); /* z */
			gcry_md_write(h, ct, ct_len);
			assert_int_equal(gcry_md_extract(h, GCRY_MD_SHAKE256, want, sizeof(want)), 0);
			gcry_md_close(h);
			assert_memory_equal(bad->data, want, sizeof(want));
			secret_free(bad);
			ct[at] ^= 0x01;
		}
		assert_int_equal(mlkem_decaps(id, dk, ct, ct_len, &bad), 0);
		assert_true(secret_eq_ct(k, bad));
		secret_free(bad);
		secret_free(k);
		secret_free(dk);
	}
	rng_fixed_free(rng);
}

/* Lengths, unknown IDs, an ek with a coefficient >= q, a dk whose H(ek) does not match. */
static void test_mlkem_refusals(void **state)
{
	struct rng *rng = rng_fixed_new(5);
	uint8_t ek[MLKEM_EK_MAX + 1], ct[MLKEM_CT_MAX + 1], seed[MLKEM_SEED_LEN + 1] = { 0 };
	uint16_t id = DH_MLKEM768;
	size_t ek_len = mlkem_ek_len(id), ct_len = mlkem_ct_len(id);
	struct secret *dk, *k = (struct secret *)1, *bad;

	(void)state;
	assert_false(mlkem_supported(DH_CURVE25519));
	assert_int_equal(mlkem_ek_len(34), 0);
	assert_int_equal(mlkem_keygen(DH_CURVE25519, rng, ek, ek_len, &dk), -EINVAL);
	assert_null(dk);
	assert_int_equal(mlkem_keygen_seed(id, seed, MLKEM_SEED_LEN + 1, ek, ek_len, &dk), -EINVAL);
	assert_int_equal(mlkem_keygen_seed(id, seed, MLKEM_SEED_LEN, ek, ek_len - 1, &dk), -EINVAL);
	assert_int_equal(mlkem_keygen(id, rng, ek, ek_len, &dk), 0);
	assert_int_equal(mlkem_encaps(id, ek, ek_len + 1, rng, ct, ct_len, &k), -EINVAL);
	assert_null(k);
	assert_int_equal(mlkem_encaps(id, ek, ek_len - 1, rng, ct, ct_len, &k), -EINVAL);
	assert_int_equal(mlkem_encaps(id, ek, ek_len, rng, ct, ct_len + 1, &k), -EINVAL);
	assert_int_equal(mlkem_encaps(DH_MLKEM512, ek, ek_len, rng, ct, ct_len, &k), -EINVAL);
	assert_int_equal(mlkem_encaps(id, ek, ek_len, rng, ct, ct_len, &k), 0);
	assert_int_equal(mlkem_decaps(id, dk, ct, ct_len - 1, &bad), -EINVAL);
	assert_null(bad);
	assert_int_equal(mlkem_decaps(id, dk, ct, ct_len + 1, &bad), -EINVAL);
	assert_int_equal(mlkem_decaps(DH_MLKEM1024, dk, ct, mlkem_ct_len(DH_MLKEM1024), &bad),
			 -EINVAL);
	/* The last coefficient of t-hat set to q (0xd01 in 12 bits): 7.2 refuses the key. */
	{
		uint8_t e2[MLKEM_EK_MAX];
		size_t last = 384 * 3 - 2; /* octets holding the last coefficient's 12 bits */

		memcpy(e2, ek, ek_len);
		e2[last] = (uint8_t)((e2[last] & 0x0f) | 0x10); /* low 4 bits of 0xd01 are 1 */
		e2[last + 1] = 0xd0;
		assert_int_equal(mlkem_check_ek(id, e2, ek_len), -EINVAL);
		e2[last + 1] = 0xd0 - 1; /* 0xcf1 = 3313 < q: accepted */
		assert_int_equal(mlkem_check_ek(id, e2, ek_len), 0);
	}
	/* 7.3 hash check: one octet of the embedded ek changed. */
	dk->data[384 * 3 + 5] ^= 0x80;
	assert_int_equal(mlkem_decaps(id, dk, ct, ct_len, &bad), -EINVAL);
	dk->data[384 * 3 + 5] ^= 0x80;
	assert_int_equal(mlkem_decaps(id, dk, ct, ct_len, &bad), 0);
	assert_true(secret_eq_ct(k, bad));
	secret_free(bad);
	secret_free(k);
	secret_free(dk);
	rng_fixed_free(rng);
}

#ifdef XIKED_HAVE_GCRY_MLKEM
/* libgcrypt's ML-KEM (gcry_kem_*) and ours agree both ways round. */
static void test_mlkem_gcry_cross(void **state)
{
	static const int algos[] = { GCRY_KEM_MLKEM512, GCRY_KEM_MLKEM768, GCRY_KEM_MLKEM1024 };
	struct rng *rng = rng_fixed_new(1203);

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		uint16_t id = mlkem_ids[i];
		size_t ek_len = mlkem_ek_len(id), dk_len = mlkem_dk_len(id), ct_len = mlkem_ct_len(id);
		uint8_t ek[MLKEM_EK_MAX], dkb[MLKEM_DK_MAX], ct[MLKEM_CT_MAX], ss[MLKEM_SS_LEN];

		for (int n = 0; n < 10; n++) {
			struct secret *dk, *k;

			/* libgcrypt's key pair, our encapsulation, libgcrypt's decapsulation. */
			assert_int_equal(gcry_kem_keypair(algos[i], ek, ek_len, dkb, dk_len), 0);
			assert_int_equal(mlkem_encaps(id, ek, ek_len, rng, ct, ct_len, &k), 0);
			assert_int_equal(gcry_kem_decap(algos[i], dkb, dk_len, ct, ct_len, ss,
							sizeof(ss), NULL, 0), 0);
			assert_memory_equal(k->data, ss, sizeof(ss));
			secret_free(k);
			/* Ours decapsulates with libgcrypt's dk too (same FIPS 203 layout). */
			dk = secret_dup(dkb, dk_len);
			assert_int_equal(mlkem_decaps(id, dk, ct, ct_len, &k), 0);
			assert_memory_equal(k->data, ss, sizeof(ss));
			secret_free(k);
			secret_free(dk);
			/* Our key pair, libgcrypt's encapsulation, our decapsulation. */
			assert_int_equal(mlkem_keygen(id, rng, ek, ek_len, &dk), 0);
			assert_int_equal(gcry_kem_encap(algos[i], ek, ek_len, ct, ct_len, ss,
							sizeof(ss), NULL, 0), 0);
			assert_int_equal(mlkem_decaps(id, dk, ct, ct_len, &k), 0);
			assert_memory_equal(k->data, ss, sizeof(ss));
			secret_free(k);
			secret_free(dk);
		}
	}
	rng_fixed_free(rng);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mlkem_wycheproof_512),
		cmocka_unit_test(test_mlkem_wycheproof_768),
		cmocka_unit_test(test_mlkem_wycheproof_1024),
		cmocka_unit_test(test_mlkem_round_trip),
		cmocka_unit_test(test_mlkem_implicit_rejection),
		cmocka_unit_test(test_mlkem_refusals),
#ifdef XIKED_HAVE_GCRY_MLKEM
		cmocka_unit_test(test_mlkem_gcry_cross),
#endif
	};

	if (crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
