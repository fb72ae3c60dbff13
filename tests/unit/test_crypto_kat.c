/*
 * Known-answer tests for crypto/: every vector below is typed in from the
 * standard it cites (and was cross-checked against a second, independent
 * implementation when it was written). Plus behaviour tests where no
 * published vector exists: RFC 6989 peer-value rejection, prf+ limits,
 * SK seal/open round trips with tamper detection.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/dh.h"
#include "crypto/keymat.h"
#include "crypto/prf.h"
#include "crypto/rng.h"
#include "crypto/secret.h"
#include "crypto/sk.h"
#include "daemon/ikev2.h"

/* Decodes hex (whitespace ignored) into out; asserts exactly len octets. */
static void unhex(const char *hex, uint8_t *out, size_t len)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex; hex++) {
		int v = 0;

		if (*hex == ' ' || *hex == '\n')
			continue;
		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else if (*hex >= 'A' && *hex <= 'F')
			v = *hex - 'A' + 10;
		else
			fail_msg("bad hex character '%c'", *hex);
		if (hi < 0) {
			hi = v;
		} else {
			assert_true(n < len);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	assert_int_equal(n, len);
}

static size_t hexlen(const char *hex)
{
	size_t n = 0;

	for (; *hex; hex++)
		if (*hex != ' ' && *hex != '\n')
			n++;
	return n / 2;
}

/* Compares buf[0..len) with the hex string. */
static void assert_hex(const uint8_t *buf, size_t len, const char *hex)
{
	uint8_t *want;

	assert_int_equal(hexlen(hex), len);
	want = malloc(len + 1);
	assert_non_null(want);
	unhex(hex, want, len);
	assert_memory_equal(buf, want, len);
	free(want);
}

/* ---------------------------------------------------------------- HMAC */

struct hmac_kat {
	uint16_t prf;
	const char *key_hex; /* NULL: key_str */
	const char *key_str;
	size_t key_repeat;   /* key_hex is one octet repeated this often, if non-zero */
	const char *data_str;
	uint8_t data_byte;   /* data_str NULL: data_byte repeated data_len times */
	size_t data_len;
	const char *mac;
};

/*
 * RFC 4231 section 4 test cases 1, 2, 3, 6 (HMAC-SHA-256/384/512) and
 * RFC 2202 section 3 test cases 1, 2, 3 (HMAC-SHA-1).
 */
static const struct hmac_kat hmac_kats[] = {
	/* RFC 4231 4.2, test case 1 */
	{ PRF_HMAC_SHA2_256, "0b", NULL, 20, "Hi There", 0, 0,
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ PRF_HMAC_SHA2_384, "0b", NULL, 20, "Hi There", 0, 0,
	  "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
	  "faea9ea9076ede7f4af152e8b2fa9cb6" },
	{ PRF_HMAC_SHA2_512, "0b", NULL, 20, "Hi There", 0, 0,
	  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
	  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854" },
	/* RFC 4231 4.3, test case 2 */
	{ PRF_HMAC_SHA2_256, NULL, "Jefe", 0, "what do ya want for nothing?", 0, 0,
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ PRF_HMAC_SHA2_384, NULL, "Jefe", 0, "what do ya want for nothing?", 0, 0,
	  "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
	  "8e2240ca5e69e2c78b3239ecfab21649" },
	{ PRF_HMAC_SHA2_512, NULL, "Jefe", 0, "what do ya want for nothing?", 0, 0,
	  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
	  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
	/* RFC 4231 4.4, test case 3 */
	{ PRF_HMAC_SHA2_256, "aa", NULL, 20, NULL, 0xdd, 50,
	  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
	/* RFC 4231 4.7, test case 6 (key longer than the block) */
	{ PRF_HMAC_SHA2_256, "aa", NULL, 131,
	  "Test Using Larger Than Block-Size Key - Hash Key First", 0, 0,
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	{ PRF_HMAC_SHA2_384, "aa", NULL, 131,
	  "Test Using Larger Than Block-Size Key - Hash Key First", 0, 0,
	  "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
	  "0c2ef6ab4030fe8296248df163f44952" },
	{ PRF_HMAC_SHA2_512, "aa", NULL, 131,
	  "Test Using Larger Than Block-Size Key - Hash Key First", 0, 0,
	  "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
	  "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598" },
	/* RFC 2202 section 3, test cases 1-3 */
	{ PRF_HMAC_SHA1, "0b", NULL, 20, "Hi There", 0, 0,
	  "b617318655057264e28bc0b6fb378c8ef146be00" },
	{ PRF_HMAC_SHA1, NULL, "Jefe", 0, "what do ya want for nothing?", 0, 0,
	  "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
	{ PRF_HMAC_SHA1, "aa", NULL, 20, NULL, 0xdd, 50,
	  "125d7342b9ac11cd91a39af48aa17b4f63f175d3" },
};

static void test_hmac_kat(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hmac_kats) / sizeof(hmac_kats[0]); i++) {
		const struct hmac_kat *k = &hmac_kats[i];
		uint8_t key[256], data[256], out[PRF_OUT_MAX], split[PRF_OUT_MAX];
		size_t klen, dlen;
		struct iovec one, three[3];

		if (k->key_hex) {
			uint8_t b;

			unhex(k->key_hex, &b, 1);
			klen = k->key_repeat;
			memset(key, b, klen);
		} else {
			klen = strlen(k->key_str);
			memcpy(key, k->key_str, klen);
		}
		if (k->data_str) {
			dlen = strlen(k->data_str);
			memcpy(data, k->data_str, dlen);
		} else {
			dlen = k->data_len;
			memset(data, k->data_byte, dlen);
		}
		one = (struct iovec){ data, dlen };
		assert_int_equal(prf_compute(k->prf, key, klen, &one, 1, out), 0);
		assert_hex(out, prf_out_len(k->prf), k->mac);
		/* The same data split over several parts (one of them empty) gives the same MAC. */
		three[0] = (struct iovec){ data, 3 };
		three[1] = (struct iovec){ data + 3, 0 };
		three[2] = (struct iovec){ data + 3, dlen - 3 };
		assert_int_equal(prf_compute(k->prf, key, klen, three, 3, split), 0);
		assert_memory_equal(out, split, prf_out_len(k->prf));
	}
}

static void test_prf_lengths(void **state)
{
	(void)state;
	assert_int_equal(prf_out_len(PRF_HMAC_SHA1), 20);
	assert_int_equal(prf_out_len(PRF_HMAC_SHA2_256), 32);
	assert_int_equal(prf_out_len(PRF_HMAC_SHA2_384), 48);
	assert_int_equal(prf_out_len(PRF_HMAC_SHA2_512), 64);
	assert_int_equal(prf_key_len(PRF_HMAC_SHA2_384), 48);
	assert_int_equal(prf_out_len(PRF_AES128_XCBC), 0);
	assert_int_equal(prf_out_len(PRF_HMAC_MD5), 0);
	{
		uint8_t out[PRF_OUT_MAX];
		struct iovec v = { out, 1 };

		assert_int_equal(prf_compute(PRF_AES128_XCBC, out, 16, &v, 1, out), -ENOTSUP);
		assert_int_equal(prf_plus(PRF_HMAC_MD5, out, 16, &v, 1, out, 16), -ENOTSUP);
	}
}

/*
 * prf+ (RFC 7296 2.13) built by hand from prf: T1 = prf(K, S | 0x01),
 * Tn = prf(K, Tn-1 | S | n); the output is a prefix of T1 | T2 | ...
 */
static void test_prf_plus_structure(void **state)
{
	static const uint16_t prfs[] = { PRF_HMAC_SHA1, PRF_HMAC_SHA2_256, PRF_HMAC_SHA2_384,
					 PRF_HMAC_SHA2_512 };
	uint8_t key[40], s1[13], s2[29];
	size_t p;

	(void)state;
	for (p = 0; p < sizeof(key); p++)
		key[p] = (uint8_t)(p * 7 + 1);
	memset(s1, 0x5a, sizeof(s1));
	memset(s2, 0xc3, sizeof(s2));
	for (p = 0; p < sizeof(prfs) / sizeof(prfs[0]); p++) {
		uint16_t prf = prfs[p];
		size_t h = prf_out_len(prf), total = h * 5 + 7, i;
		uint8_t *want = malloc(h * 6), *got = malloc(total), t[PRF_OUT_MAX];
		struct iovec seed[2] = { { s1, sizeof(s1) }, { s2, sizeof(s2) } };

		assert_non_null(want);
		assert_non_null(got);
		for (i = 1; i <= 6; i++) {
			uint8_t n = (uint8_t)i;
			struct iovec v[4] = {
				{ t, i == 1 ? 0 : h },
				{ s1, sizeof(s1) },
				{ s2, sizeof(s2) },
				{ &n, 1 },
			};

			assert_int_equal(prf_compute(prf, key, sizeof(key), v, 4, t), 0);
			memcpy(want + (i - 1) * h, t, h);
		}
		assert_int_equal(prf_plus(prf, key, sizeof(key), seed, 2, got, total), 0);
		assert_memory_equal(got, want, total);
		/* Shorter outputs are prefixes. */
		assert_int_equal(prf_plus(prf, key, sizeof(key), seed, 2, got, 5), 0);
		assert_memory_equal(got, want, 5);
		free(want);
		free(got);
	}
}

static void test_prf_plus_limit(void **state)
{
	uint8_t key[32] = { 1 }, seed[8] = { 2 };
	struct iovec s = { seed, sizeof(seed) };
	size_t max = 32 * PRF_PLUS_MAX_ITER;
	uint8_t *out = malloc(max + 1);

	(void)state;
	assert_non_null(out);
	/* Exactly 255 iterations are allowed; one more octet needs a 256th. */
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_256, key, sizeof(key), &s, 1, out, max), 0);
	memset(out, 0xee, max + 1);
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_256, key, sizeof(key), &s, 1, out, max + 1), -EINVAL);
	assert_int_equal(out[0], 0xee); /* untouched */
	assert_int_equal(prf_plus(PRF_HMAC_SHA1, key, 20, &s, 1, out, 20 * 255 + 1), -EINVAL);
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_512, key, sizeof(key), &s, 1, out, 0), 0);
	free(out);
}

/* ------------------------------------------------------------- DH: ECP */

struct ecp_kat {
	uint16_t group;
	const char *i, *gix, *giy, *r, *grx, *gry, *girx;
};

/* RFC 5903 section 8.1 (256-bit), 8.2 (384-bit), 8.3 (521-bit). */
static const struct ecp_kat ecp_kats[] = {
	{ DH_ECP_256,
	  "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
	  "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
	  "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
	  "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
	  "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
	  "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
	  "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE" },
	{ DH_ECP_384,
	  "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655"
	  "E35B538041E649EE3FAEF896783AB194",
	  "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6"
	  "DE3AC808ACB4BDB4C88732AEE95F41AA",
	  "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38E"
	  "EB9FCFF3C2C947DAE69B4C634573A81C",
	  "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942"
	  "E0308312916B8ED2960E4BD55A7448FC",
	  "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D"
	  "0D1AC43A0336DEF96FDA41D0774A3571",
	  "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FF"
	  "F83FA40142209DFF5EAAD96DB9E6386C",
	  "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4"
	  "D603135569B9E9D09CF5D4A270F59746" },
	{ DH_ECP_521,
	  "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A0"
	  "95AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D"
	  "4A52",
	  "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBE"
	  "E1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176C"
	  "ED3E",
	  "017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10A"
	  "D8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F"
	  "9582",
	  "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E"
	  "9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB15168"
	  "5EB9",
	  "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A21"
	  "9B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9"
	  "460F",
	  "015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87"
	  "220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0F"
	  "C56A",
	  "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04"
	  "D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3"
	  "DDEA" },
};

/* Builds the RFC 5903 KE payload value x | y from the two hex strings. */
static void ecp_public(const char *x, const char *y, uint8_t *out, size_t flen)
{
	unhex(x, out, flen);
	unhex(y, out + flen, flen);
}

static void test_ecp_kat(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(ecp_kats) / sizeof(ecp_kats[0]); k++) {
		const struct ecp_kat *v = &ecp_kats[k];
		size_t flen = hexlen(v->i), plen = dh_public_len(v->group);
		uint8_t priv[66], gi[132], gr[132], pub[132];
		struct dh *a, *b;
		struct secret *s1 = NULL, *s2 = NULL;

		assert_true(dh_supported(v->group));
		assert_int_equal(plen, 2 * flen);
		assert_int_equal(dh_shared_len(v->group), flen);
		ecp_public(v->gix, v->giy, gi, flen);
		ecp_public(v->grx, v->gry, gr, flen);

		unhex(v->i, priv, flen);
		a = dh_new_from_private(v->group, priv, flen);
		unhex(v->r, priv, flen);
		b = dh_new_from_private(v->group, priv, flen);
		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(dh_group(a), v->group);
		assert_int_equal(dh_public(a, pub, plen), 0);
		assert_memory_equal(pub, gi, plen);
		assert_int_equal(dh_public(b, pub, plen), 0);
		assert_memory_equal(pub, gr, plen);
		assert_int_equal(dh_public(a, pub, plen - 1), -EINVAL);

		assert_int_equal(dh_shared(a, gr, plen, &s1), 0);
		assert_int_equal(dh_shared(b, gi, plen, &s2), 0);
		assert_int_equal(s1->len, flen);
		assert_hex(s1->data, s1->len, v->girx);
		assert_true(secret_eq_ct(s1, s2));
		secret_free(s1);
		secret_free(s2);
		dh_free(a);
		dh_free(b);
	}
}

/* RFC 6989 2.3: a point not on the curve, or coordinates >= p, must be refused. */
static void test_ecp_invalid_peer(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(ecp_kats) / sizeof(ecp_kats[0]); k++) {
		const struct ecp_kat *v = &ecp_kats[k];
		size_t flen = hexlen(v->i), plen = 2 * flen;
		uint8_t priv[66], gr[133], bad[133];
		struct dh *a;
		struct secret *s = (struct secret *)1;

		unhex(v->i, priv, flen);
		a = dh_new_from_private(v->group, priv, flen);
		assert_non_null(a);
		ecp_public(v->grx, v->gry, gr, flen);

		/* y off by one: off the curve. */
		memcpy(bad, gr, plen);
		bad[plen - 1] ^= 1;
		assert_int_equal(dh_shared(a, bad, plen, &s), -EINVAL);
		assert_null(s);
		/* x off by one. */
		memcpy(bad, gr, plen);
		bad[flen - 1] ^= 1;
		assert_int_equal(dh_shared(a, bad, plen, &s), -EINVAL);
		/* (0, 0): not on a curve with b != 0 (and the encoding of infinity elsewhere). */
		memset(bad, 0, plen);
		assert_int_equal(dh_shared(a, bad, plen, &s), -EINVAL);
		/* Coordinates of all-ones: above the field prime. */
		memset(bad, 0xff, plen);
		assert_int_equal(dh_shared(a, bad, plen, &s), -EINVAL);
		/* Wrong lengths: one short, one long, SEC1 0x04-prefixed form. */
		assert_int_equal(dh_shared(a, gr, plen - 1, &s), -EINVAL);
		bad[0] = 0x04;
		memcpy(bad + 1, gr, plen);
		assert_int_equal(dh_shared(a, bad, plen + 1, &s), -EINVAL);
		/* And the good value still works. */
		assert_int_equal(dh_shared(a, gr, plen, &s), 0);
		assert_hex(s->data, s->len, v->girx);
		secret_free(s);
		dh_free(a);
	}
	/* Private scalars outside [1, n-1] are refused. */
	{
		uint8_t z[32] = { 0 }, ff[32];

		memset(ff, 0xff, sizeof(ff));
		assert_null(dh_new_from_private(DH_ECP_256, z, sizeof(z)));
		assert_null(dh_new_from_private(DH_ECP_256, ff, sizeof(ff)));
		assert_null(dh_new_from_private(DH_ECP_256, ff, 31));
	}
}

/* ------------------------------------------------------ DH: X25519/X448 */

struct xdh_kat {
	uint16_t group;
	size_t len;
	const char *a, *apub, *b, *bpub, *k;
};

/* RFC 7748 section 6.1 (X25519) and 6.2 (X448). */
static const struct xdh_kat xdh_kats[] = {
	{ DH_CURVE25519, 32,
	  "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	  "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	  "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
	  "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742" },
	{ DH_CURVE448, 56,
	  "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28d"
	  "d9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
	  "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c"
	  "22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0",
	  "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d"
	  "6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
	  "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b430"
	  "27d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
	  "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282b"
	  "b60c0b56fd2464c335543936521c24403085d59a449a5037514a879d" },
};

static void test_xdh_kat(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(xdh_kats) / sizeof(xdh_kats[0]); k++) {
		const struct xdh_kat *v = &xdh_kats[k];
		uint8_t priv[56], pub[56], apub[56], bpub[56];
		struct dh *a, *b;
		struct secret *s1 = NULL, *s2 = NULL;

		assert_int_equal(dh_public_len(v->group), v->len);
		assert_int_equal(dh_shared_len(v->group), v->len);
		unhex(v->a, priv, v->len);
		a = dh_new_from_private(v->group, priv, v->len);
		unhex(v->b, priv, v->len);
		b = dh_new_from_private(v->group, priv, v->len);
		assert_non_null(a);
		assert_non_null(b);
		unhex(v->apub, apub, v->len);
		unhex(v->bpub, bpub, v->len);
		assert_int_equal(dh_public(a, pub, v->len), 0);
		assert_memory_equal(pub, apub, v->len);
		assert_int_equal(dh_public(b, pub, v->len), 0);
		assert_memory_equal(pub, bpub, v->len);
		assert_int_equal(dh_shared(a, bpub, v->len, &s1), 0);
		assert_int_equal(dh_shared(b, apub, v->len, &s2), 0);
		assert_hex(s1->data, s1->len, v->k);
		assert_true(secret_eq_ct(s1, s2));
		secret_free(s1);
		secret_free(s2);

		/* Wrong private length refused. */
		assert_null(dh_new_from_private(v->group, priv, v->len - 1));
		dh_free(a);
		dh_free(b);
	}
}

/*
 * RFC 7748 section 6: the all-zero output of a low-order peer point must
 * be refused. u = 0 (order 1) and u = 1 (order 4 on Curve25519, 2 on
 * Curve448's twist side) both give it; so does a wrong length.
 */
static void test_xdh_low_order(void **state)
{
	static const uint16_t groups[] = { DH_CURVE25519, DH_CURVE448 };
	size_t g;

	(void)state;
	for (g = 0; g < 2; g++) {
		size_t len = dh_public_len(groups[g]);
		uint8_t peer[57];
		struct dh *a = dh_new(groups[g], rng_system());
		struct secret *s = (struct secret *)1;

		assert_non_null(a);
		memset(peer, 0, sizeof(peer));
		assert_int_equal(dh_shared(a, peer, len, &s), -EINVAL);
		assert_null(s);
		peer[0] = 1;
		assert_int_equal(dh_shared(a, peer, len, &s), -EINVAL);
		assert_int_equal(dh_shared(a, peer, len + 1, &s), -EINVAL);
		assert_int_equal(dh_shared(a, peer, len - 1, &s), -EINVAL);
		dh_free(a);
	}
	/*
	 * A point of order 8 on Curve25519 (the first entry of the
	 * libsodium/cr.yp.to blacklist, u = 0xe0eb7a7c...): also all-zero.
	 */
	{
		uint8_t p8[32];
		struct dh *a = dh_new(DH_CURVE25519, rng_system());
		struct secret *s = NULL;

		unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", p8, 32);
		assert_int_equal(dh_shared(a, p8, 32, &s), -EINVAL);
		dh_free(a);
	}
}

/* ------------------------------------------------------------ DH: MODP */

static const uint16_t modp_groups[] = { DH_MODP_2048, DH_MODP_3072, DH_MODP_4096,
					DH_MODP_6144, DH_MODP_8192 };

/* Every group: two generated key pairs agree; publics have the prime's length. */
static void test_dh_agreement(void **state)
{
	static const uint16_t groups[] = { DH_MODP_2048, DH_MODP_3072, DH_MODP_4096,
					   DH_MODP_6144, DH_MODP_8192, DH_ECP_256, DH_ECP_384,
					   DH_ECP_521, DH_CURVE25519, DH_CURVE448 };
	size_t g;

	(void)state;
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		size_t len = dh_public_len(groups[g]);
		uint8_t *pa = malloc(len), *pb = malloc(len);
		struct dh *a = dh_new(groups[g], rng_system());
		struct dh *b = dh_new(groups[g], rng_system());
		struct secret *s1 = NULL, *s2 = NULL;

		assert_non_null(a);
		assert_non_null(b);
		assert_int_equal(dh_public(a, pa, len), 0);
		assert_int_equal(dh_public(b, pb, len), 0);
		assert_memory_not_equal(pa, pb, len);
		assert_int_equal(dh_shared(a, pb, len, &s1), 0);
		assert_int_equal(dh_shared(b, pa, len, &s2), 0);
		assert_int_equal(s1->len, dh_shared_len(groups[g]));
		assert_true(secret_eq_ct(s1, s2));
		assert_false(sodium_is_zero(s1->data, s1->len));
		secret_free(s1);
		secret_free(s2);
		dh_free(a);
		dh_free(b);
		free(pa);
		free(pb);
	}
	assert_false(dh_supported(DH_MODP_1024));
	assert_false(dh_supported(DH_NONE));
	assert_null(dh_new(DH_MODP_1536, rng_system()));
	assert_int_equal(dh_public_len(DH_MODP_2048), 256);
	assert_int_equal(dh_public_len(DH_MODP_3072), 384);
	assert_int_equal(dh_public_len(DH_MODP_4096), 512);
	assert_int_equal(dh_public_len(DH_MODP_6144), 768);
	assert_int_equal(dh_public_len(DH_MODP_8192), 1024);
	assert_int_equal(dh_public_len(DH_ECP_521), 132);
	dh_free(NULL);
}

/* A fixed RNG gives the same key pair twice; different seeds differ. */
static void test_dh_deterministic(void **state)
{
	size_t g;

	(void)state;
	for (g = 0; g < sizeof(modp_groups) / sizeof(modp_groups[0]); g += 4) {
		uint16_t grp = modp_groups[g];
		size_t len = dh_public_len(grp);
		uint8_t *p1 = malloc(len), *p2 = malloc(len), *p3 = malloc(len);
		struct rng *r1 = rng_fixed_new(7), *r2 = rng_fixed_new(7), *r3 = rng_fixed_new(8);
		struct dh *a = dh_new(grp, r1), *b = dh_new(grp, r2), *c = dh_new(grp, r3);

		assert_int_equal(dh_public(a, p1, len), 0);
		assert_int_equal(dh_public(b, p2, len), 0);
		assert_int_equal(dh_public(c, p3, len), 0);
		assert_memory_equal(p1, p2, len);
		assert_memory_not_equal(p1, p3, len);
		dh_free(a);
		dh_free(b);
		dh_free(c);
		rng_fixed_free(r1);
		rng_fixed_free(r2);
		rng_fixed_free(r3);
		free(p1);
		free(p2);
		free(p3);
	}
}

/* RFC 3526 section 3: the 2048-bit MODP prime. */
static const char modp2048_p[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
	"3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";

/* RFC 6989 2.1: MODP peer values must satisfy 1 < y < p-1. */
static void test_modp_invalid_peer(void **state)
{
	uint8_t p[257], v[257];
	struct dh *a = dh_new(DH_MODP_2048, rng_system());
	struct secret *s = (struct secret *)1;
	size_t g;

	(void)state;
	assert_non_null(a);
	unhex(modp2048_p, p, 256);

	memset(v, 0, 256); /* 0 */
	assert_int_equal(dh_shared(a, v, 256, &s), -EINVAL);
	assert_null(s);
	v[255] = 1; /* 1 */
	assert_int_equal(dh_shared(a, v, 256, &s), -EINVAL);
	memcpy(v, p, 256); /* p - 1 */
	v[255] -= 1;
	assert_int_equal(dh_shared(a, v, 256, &s), -EINVAL);
	memcpy(v, p, 256); /* p */
	assert_int_equal(dh_shared(a, v, 256, &s), -EINVAL);
	memset(v, 0xff, 256); /* 2^2048 - 1 > p */
	assert_int_equal(dh_shared(a, v, 256, &s), -EINVAL);
	/* Too long (a valid value with a leading zero) and too short. */
	memset(v, 0, 257);
	v[256] = 2;
	assert_int_equal(dh_shared(a, v, 257, &s), -EINVAL);
	assert_int_equal(dh_shared(a, v + 2, 255, &s), -EINVAL);
	/* Boundary values just inside: 2 and p - 2 are accepted. */
	assert_int_equal(dh_shared(a, v + 1, 256, &s), 0);
	assert_int_equal(s->len, 256);
	secret_free(s);
	memcpy(v, p, 256);
	v[255] -= 2;
	assert_int_equal(dh_shared(a, v, 256, &s), 0);
	secret_free(s);
	dh_free(a);

	/* Every other group: 0, 1, all-ones and a wrong length are refused. */
	for (g = 1; g < sizeof(modp_groups) / sizeof(modp_groups[0]); g++) {
		size_t len = dh_public_len(modp_groups[g]);
		uint8_t *w = calloc(1, len + 1);

		a = dh_new(modp_groups[g], rng_system());
		assert_non_null(a);
		assert_int_equal(dh_shared(a, w, len, &s), -EINVAL);
		w[len - 1] = 1;
		assert_int_equal(dh_shared(a, w, len, &s), -EINVAL);
		memset(w, 0xff, len);
		assert_int_equal(dh_shared(a, w, len, &s), -EINVAL);
		assert_int_equal(dh_shared(a, w, len + 1, &s), -EINVAL);
		dh_free(a);
		free(w);
	}
}

/* ------------------------------------------------------------ SK: KATs */

/*
 * RFC 4868 section 2.7.2 (AUTH256-3, AUTH384-3, AUTH512-3) and RFC 2202
 * test case 3 truncated to 96 bits (RFC 2404): key 0xaa..., data 50 x 0xdd.
 * Laid out as an SK message: 18 octets "header", 16 octets IV, 16 octets
 * ciphertext = the 50 data octets, then the truncated ICV. sk_open must
 * accept the ICV (whatever the decrypted padding) and reject any flip.
 */
static void test_integ_kat(void **state)
{
	static const struct {
		uint16_t integ;
		size_t klen;
		const char *icv;
	} v[] = {
		{ AUTH_HMAC_SHA1_96, 20, "125d7342b9ac11cd91a39af4" },
		{ AUTH_HMAC_SHA2_256_128, 32, "cdcb1220d1ecccea91e53aba3092f962" },
		{ AUTH_HMAC_SHA2_384_192, 48, "809f439be00274321d4a538652164b53554a508184a0c316" },
		{ AUTH_HMAC_SHA2_512_256, 64,
		  "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t buf[50 + 32], out[80], ekey[16] = { 0 };
		size_t icvlen = hexlen(v[i].icv), n, bit;
		struct secret *ke = secret_dup(ekey, 16), *ka = secret_new(v[i].klen);
		struct sk_cipher *c;
		int rc;

		memset(ka->data, 0xaa, ka->len);
		c = sk_cipher_new(ENCR_AES_CBC, 128, v[i].integ, ke, ka);
		assert_non_null(c);
		assert_int_equal(sk_icv_len(c), icvlen);
		assert_int_equal(sk_iv_len(c), 16);
		memset(buf, 0xdd, 50);
		unhex(v[i].icv, buf + 50, icvlen);
		rc = sk_open(c, buf, 18, 32 + icvlen, out, &n);
		assert_true(rc == 0 || rc == -EINVAL);
		for (bit = 0; bit < (50 + icvlen) * 8; bit += 7) {
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(sk_open(c, buf, 18, 32 + icvlen, out, &n), -EBADMSG);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		sk_cipher_free(c);
		secret_free(ke);
		secret_free(ka);
	}
}

/*
 * AES-GCM: McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)",
 * test cases 4 (AES-128), 10 (AES-192) and 16 (AES-256), which are also
 * NIST SP 800-38D examples. Mapped onto RFC 5282: salt = the first 4 IV
 * octets (cafebabe), explicit IV = the other 8, AAD = the 20-octet A. The
 * plaintext's last octet (0x39 = 57) reads as the pad length: 2 octets of
 * "payload" remain.
 */
static void test_gcm_kat(void **state)
{
	static const char P[] =
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
	static const char A[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
	static const struct {
		uint16_t bits;
		const char *key, *ct, *tag;
	} v[] = {
		{ 128, "feffe9928665731c6d6a8f9467308308",
		  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		  "5bc94fbc3221a5db94fae95ae7121a47" },
		{ 192, "feffe9928665731c6d6a8f9467308308feffe9928665731c",
		  "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
		  "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710",
		  "2519498e80f1478f37ba55bd6d27618c" },
		{ 256, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
		  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		  "76fc6ece0f4e1768cddf8853bb2d551b" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		size_t kl = v[i].bits / 8, n;
		uint8_t key[36], buf[20 + 8 + 60 + 16], out[104];
		struct secret *ke;
		struct sk_cipher *c;

		unhex(v[i].key, key, kl);
		unhex("cafebabe", key + kl, 4);
		ke = secret_dup(key, kl + 4);
		c = sk_cipher_new(ENCR_AES_GCM_16, v[i].bits, AUTH_NONE, ke, NULL);
		assert_non_null(c);
		assert_int_equal(sk_iv_len(c), 8);
		assert_int_equal(sk_icv_len(c), 16);
		unhex(A, buf, 20);
		unhex("facedbaddecaf888", buf + 20, 8);
		unhex(v[i].ct, buf + 28, 60);
		unhex(v[i].tag, buf + 88, 16);
		assert_int_equal(sk_open(c, buf, 20, 84, out, &n), 0);
		assert_int_equal(n, 2);
		assert_hex(out, 60, P);
		/* A flipped AAD bit is caught. */
		buf[3] ^= 0x10;
		assert_int_equal(sk_open(c, buf, 20, 84, out, &n), -EBADMSG);
		sk_cipher_free(c);
		secret_free(ke);
	}
}

/*
 * ChaCha20-Poly1305: RFC 8439 section 2.8.2. Mapped onto RFC 7634: salt =
 * the 32-bit constant 07000000, IV = 4041424344454647, AAD = the 12-octet
 * AAD. The plaintext's last octet '.' (46) reads as the pad length.
 */
static void test_chacha_kat(void **state)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
				 "only one tip for the future, sunscreen would be it.";
	static const char ct[] =
		"d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
		"3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
		"92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
		"3ff4def08e4b7a9de576d26586cec64b6116";
	uint8_t key[36], buf[12 + 8 + 114 + 16], out[160];
	struct secret *ke;
	struct sk_cipher *c;
	size_t i, n;

	(void)state;
	assert_int_equal(sizeof(pt) - 1, 114);
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	unhex("07000000", key + 32, 4);
	ke = secret_dup(key, 36);
	assert_null(sk_cipher_new(ENCR_CHACHA20_POLY1305, 128, AUTH_NONE, ke, NULL));
	assert_null(sk_cipher_new(ENCR_CHACHA20_POLY1305, 0, AUTH_HMAC_SHA2_256_128, ke, NULL));
	c = sk_cipher_new(ENCR_CHACHA20_POLY1305, 0, AUTH_NONE, ke, NULL);
	assert_non_null(c);
	unhex("50515253c0c1c2c3c4c5c6c7", buf, 12);
	unhex("4041424344454647", buf + 12, 8);
	unhex(ct, buf + 20, 114);
	unhex("1ae10b594f09e26a7e902ecbd0600691", buf + 134, 16);
	assert_int_equal(sk_open(c, buf, 12, 138, out, &n), 0);
	assert_int_equal(n, 114 - 1 - 46);
	assert_memory_equal(out, pt, 114);
	buf[140] ^= 0x80; /* tag */
	assert_int_equal(sk_open(c, buf, 12, 138, out, &n), -EBADMSG);
	sk_cipher_free(c);
	secret_free(ke);
}

/* ------------------------------------------------- SK: seal/open, tamper */

struct sk_alg {
	uint16_t encr, bits, integ;
};

static const struct sk_alg sk_algs[] = {
	{ ENCR_AES_GCM_16, 128, AUTH_NONE },
	{ ENCR_AES_GCM_16, 192, AUTH_NONE },
	{ ENCR_AES_GCM_16, 256, AUTH_NONE },
	{ ENCR_CHACHA20_POLY1305, 0, AUTH_NONE },
	{ ENCR_AES_CBC, 128, AUTH_HMAC_SHA1_96 },
	{ ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128 },
	{ ENCR_AES_CBC, 192, AUTH_HMAC_SHA2_384_192 },
	{ ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_256_128 },
	{ ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_384_192 },
	{ ENCR_AES_CBC, 256, AUTH_HMAC_SHA2_512_256 },
};

static void sk_keys(const struct sk_alg *a, const struct rng *r, struct secret **ke, struct secret **ka)
{
	struct ike_suite s = { .encr = a->encr, .encr_keylen = a->bits };

	*ke = secret_new(suite_encr_key_len(&s));
	assert_non_null(*ke);
	assert_true((*ke)->len > 0);
	rng_fill(r, (*ke)->data, (*ke)->len);
	*ka = NULL;
	if (!suite_is_aead(a->encr)) {
		*ka = secret_new(suite_integ_key_len(a->integ));
		rng_fill(r, (*ka)->data, (*ka)->len);
	}
}

static void test_sk_roundtrip(void **state)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 31, 200 };
	static const size_t offs[] = { 32, 36 }; /* SK (4-octet) and SKF (8-octet) headers */
	struct rng *r = rng_fixed_new(42);
	size_t a;

	(void)state;
	for (a = 0; a < sizeof(sk_algs) / sizeof(sk_algs[0]); a++) {
		struct secret *ke, *ka;
		struct sk_cipher *c;
		size_t l, o;

		sk_keys(&sk_algs[a], r, &ke, &ka);
		c = sk_cipher_new(sk_algs[a].encr, sk_algs[a].bits, sk_algs[a].integ, ke, ka);
		assert_non_null(c);
		for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			for (o = 0; o < 2; o++) {
				size_t inner_len = lens[l], off = offs[o];
				size_t body = sk_sealed_len(c, inner_len), total = off + body, n, i;
				uint8_t inner[200], *buf = malloc(total), *out = malloc(body);

				assert_non_null(buf);
				assert_non_null(out);
				rng_fill(r, inner, inner_len);
				rng_fill(r, buf, off);
				if (sk_algs[a].encr == ENCR_AES_CBC)
					assert_int_equal((body - 16 - sk_icv_len(c)) % 16, 0);
				else
					assert_int_equal(body, 8 + inner_len + 1 + 16);
				assert_int_equal(sk_seal(c, buf, off, inner, inner_len, r), 0);
				assert_int_equal(sk_open(c, buf, off, body, out, &n), 0);
				assert_int_equal(n, inner_len);
				if (n)
					assert_memory_equal(out, inner, n);
				/* Any single flipped bit, in the header or the body: -EBADMSG. */
				for (i = 0; i < total * 8; i++) {
					if (inner_len != 200 && i % 5)
						continue; /* all bits for the long message, a sample otherwise */
					buf[i / 8] ^= (uint8_t)(1u << (i % 8));
					assert_int_equal(sk_open(c, buf, off, body, out, &n), -EBADMSG);
					buf[i / 8] ^= (uint8_t)(1u << (i % 8));
				}
				/* Truncated: one octet short is refused (ICV or length). */
				assert_true(sk_open(c, buf, off, body - 1, out, &n) < 0);
				assert_int_equal(sk_open(c, buf, off, sk_iv_len(c) + sk_icv_len(c), out, &n),
						 -EINVAL);
				free(buf);
				free(out);
			}
		}
		sk_cipher_free(c);
		secret_free(ke);
		secret_free(ka);
	}
	rng_fixed_free(r);
}

/* AEAD IVs never repeat under one key; CBC IVs come from the RNG. */
static void test_sk_iv(void **state)
{
	size_t a;

	(void)state;
	for (a = 0; a < sizeof(sk_algs) / sizeof(sk_algs[0]); a++) {
		struct secret *ke, *ka;
		struct sk_cipher *c;
		uint8_t b1[128], b2[128], inner[4] = { 1, 2, 3, 4 };
		size_t ivl;

		sk_keys(&sk_algs[a], rng_system(), &ke, &ka);
		c = sk_cipher_new(sk_algs[a].encr, sk_algs[a].bits, sk_algs[a].integ, ke, ka);
		ivl = sk_iv_len(c);
		memset(b1, 0, sizeof(b1));
		memset(b2, 0, sizeof(b2));
		assert_true(sk_sealed_len(c, 4) <= sizeof(b1) - 4);
		assert_int_equal(sk_seal(c, b1, 4, inner, 4, rng_system()), 0);
		assert_int_equal(sk_seal(c, b2, 4, inner, 4, rng_system()), 0);
		assert_memory_not_equal(b1 + 4, b2 + 4, ivl);
		assert_memory_not_equal(b1 + 4 + ivl, b2 + 4 + ivl, sk_sealed_len(c, 4) - ivl);
		sk_cipher_free(c);
		secret_free(ke);
		secret_free(ka);
	}
}

/* Bad padding under a valid tag: -EINVAL (RFC 7296 3.14: pad length < body). */
static void test_sk_bad_padding(void **state)
{
	uint8_t key[36], nonce[12], buf[4 + 8 + 3 + 16], out[32];
	uint8_t pt[3] = { 0xaa, 0xbb, 0x05 }; /* pad length 5 > 2 octets before it */
	struct secret *ke;
	struct sk_cipher *c;
	size_t n;

	(void)state;
	randombytes_buf(key, sizeof(key));
	ke = secret_dup(key, sizeof(key));
	c = sk_cipher_new(ENCR_CHACHA20_POLY1305, 0, AUTH_NONE, ke, NULL);
	assert_non_null(c);
	memset(buf, 0x11, 4);
	memset(buf + 4, 0x22, 8);
	memcpy(nonce, key + 32, 4);
	memcpy(nonce + 4, buf + 4, 8);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf + 12, buf + 15, NULL, pt, 3, buf, 4,
							   NULL, nonce, key);
	assert_int_equal(sk_open(c, buf, 4, sizeof(buf) - 4, out, &n), -EINVAL);
	/* Pad length 2 (exactly the octets before it) is fine: empty inner chain. */
	pt[2] = 2;
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf + 12, buf + 15, NULL, pt, 3, buf, 4,
							   NULL, nonce, key);
	assert_int_equal(sk_open(c, buf, 4, sizeof(buf) - 4, out, &n), 0);
	assert_int_equal(n, 0);
	sk_cipher_free(c);
	secret_free(ke);
	sodium_memzero(key, sizeof(key));
}

static void test_sk_cipher_new_checks(void **state)
{
	struct secret *k16 = secret_new(16), *k20 = secret_new(20), *k32 = secret_new(32);
	struct secret *k36 = secret_new(36);

	(void)state;
	/* Key lengths must match the suite exactly. */
	assert_null(sk_cipher_new(ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, k16, k20));
	assert_null(sk_cipher_new(ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, k32, k32));
	assert_null(sk_cipher_new(ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, k16, NULL));
	assert_null(sk_cipher_new(ENCR_AES_CBC, 100, AUTH_HMAC_SHA2_256_128, k16, k32));
	assert_null(sk_cipher_new(ENCR_AES_CBC, 128, AUTH_NONE, k16, k32));
	assert_null(sk_cipher_new(ENCR_AES_GCM_16, 128, AUTH_NONE, k16, NULL)); /* salt missing */
	assert_null(sk_cipher_new(ENCR_AES_GCM_16, 128, AUTH_HMAC_SHA1_96, k20, k20));
	assert_null(sk_cipher_new(ENCR_3DES, 192, AUTH_HMAC_SHA1_96, k16, k20));
	assert_null(sk_cipher_new(ENCR_AES_GCM_8, 128, AUTH_NONE, k20, NULL));
	{
		struct sk_cipher *c = sk_cipher_new(ENCR_AES_CBC, 128, AUTH_HMAC_SHA2_256_128, k16, k32);

		assert_non_null(c);
		sk_cipher_free(c);
		c = sk_cipher_new(ENCR_CHACHA20_POLY1305, 256, AUTH_NONE, k36, NULL);
		assert_non_null(c);
		sk_cipher_free(c);
	}
	sk_cipher_free(NULL);
	secret_free(k16);
	secret_free(k20);
	secret_free(k32);
	secret_free(k36);
}

/* -------------------------------------------------------------- keymat */

static void test_suite_lengths(void **state)
{
	struct ike_suite s = { .encr = ENCR_AES_GCM_16, .encr_keylen = 256 };

	(void)state;
	assert_int_equal(suite_encr_key_len(&s), 36);
	s.encr_keylen = 128;
	assert_int_equal(suite_encr_key_len(&s), 20);
	s.encr_keylen = 0;
	assert_int_equal(suite_encr_key_len(&s), 0);
	s.encr = ENCR_CHACHA20_POLY1305;
	assert_int_equal(suite_encr_key_len(&s), 36);
	s.encr = ENCR_AES_CBC;
	s.encr_keylen = 192;
	assert_int_equal(suite_encr_key_len(&s), 24);
	assert_int_equal(suite_integ_key_len(AUTH_HMAC_SHA1_96), 20);
	assert_int_equal(suite_integ_key_len(AUTH_HMAC_SHA2_256_128), 32);
	assert_int_equal(suite_integ_key_len(AUTH_HMAC_SHA2_384_192), 48);
	assert_int_equal(suite_integ_key_len(AUTH_HMAC_SHA2_512_256), 64);
	assert_int_equal(suite_integ_key_len(AUTH_NONE), 0);
	assert_true(suite_is_aead(ENCR_AES_GCM_16));
	assert_true(suite_is_aead(ENCR_CHACHA20_POLY1305));
	assert_false(suite_is_aead(ENCR_AES_CBC));
}

/* The IKE key schedule re-done by hand with prf/prf+ (RFC 7296 2.14, 2.18). */
static void check_ike_keys(const struct ike_suite *s, bool rekey)
{
	uint8_t g[64], ni[32], nr[24], spii[8], spir[8], oldd[48];
	uint8_t seed[PRF_OUT_MAX], km[512];
	struct secret *dh, *old = NULL, *skeyseed = NULL;
	struct ike_keys k;
	size_t pl = prf_out_len(s->prf), el = suite_encr_key_len(s),
	       al = suite_is_aead(s->encr) ? 0 : suite_integ_key_len(s->integ);
	size_t off = 0;
	struct iovec v[3];

	randombytes_buf(g, sizeof(g));
	randombytes_buf(ni, sizeof(ni));
	randombytes_buf(nr, sizeof(nr));
	randombytes_buf(spii, 8);
	randombytes_buf(spir, 8);
	randombytes_buf(oldd, sizeof(oldd));
	dh = secret_dup(g, sizeof(g));
	if (rekey)
		old = secret_dup(oldd, sizeof(oldd)); /* old SA's SK_d under an SHA-384 PRF */

	assert_int_equal(keymat_derive_ike(s, dh, ni, sizeof(ni), nr, sizeof(nr), spii, spir, old,
					   rekey ? PRF_HMAC_SHA2_384 : 0, &k, &skeyseed),
			 0);
	if (!rekey) {
		uint8_t nn[56];

		memcpy(nn, ni, 32);
		memcpy(nn + 32, nr, 24);
		v[0] = (struct iovec){ g, sizeof(g) };
		assert_int_equal(prf_compute(s->prf, nn, sizeof(nn), v, 1, seed), 0);
		assert_int_equal(skeyseed->len, pl);
	} else {
		v[0] = (struct iovec){ g, sizeof(g) };
		v[1] = (struct iovec){ ni, sizeof(ni) };
		v[2] = (struct iovec){ nr, sizeof(nr) };
		assert_int_equal(prf_compute(PRF_HMAC_SHA2_384, oldd, sizeof(oldd), v, 3, seed), 0);
		assert_int_equal(skeyseed->len, 48);
	}
	assert_memory_equal(skeyseed->data, seed, skeyseed->len);
	{
		struct iovec sd[4] = { { ni, sizeof(ni) }, { nr, sizeof(nr) }, { spii, 8 }, { spir, 8 } };

		assert_int_equal(prf_plus(s->prf, seed, skeyseed->len, sd, 4, km, 3 * pl + 2 * al + 2 * el),
				 0);
	}
#define EXPECT_KEY(member, want_len)                                    \
	do {                                                            \
		assert_non_null(k.member);                              \
		assert_int_equal(k.member->len, (want_len));            \
		assert_memory_equal(k.member->data, km + off, (want_len)); \
		off += (want_len);                                      \
	} while (0)
	EXPECT_KEY(sk_d, pl);
	if (al) {
		EXPECT_KEY(sk_ai, al);
		EXPECT_KEY(sk_ar, al);
	} else {
		assert_null(k.sk_ai);
		assert_null(k.sk_ar);
	}
	EXPECT_KEY(sk_ei, el);
	EXPECT_KEY(sk_er, el);
	EXPECT_KEY(sk_pi, pl);
	EXPECT_KEY(sk_pr, pl);
#undef EXPECT_KEY
	ike_keys_free(&k);
	assert_null(k.sk_d);
	ike_keys_free(&k); /* twice is harmless */
	secret_free(skeyseed);
	secret_free(dh);
	secret_free(old);
}

static void test_keymat_ike(void **state)
{
	static const struct ike_suite suites[] = {
		{ ENCR_AES_GCM_16, 256, PRF_HMAC_SHA2_256, AUTH_NONE, DH_CURVE25519 },
		{ ENCR_CHACHA20_POLY1305, 0, PRF_HMAC_SHA2_512, AUTH_NONE, DH_CURVE25519 },
		{ ENCR_AES_CBC, 128, PRF_HMAC_SHA2_256, AUTH_HMAC_SHA2_256_128, DH_ECP_256 },
		{ ENCR_AES_CBC, 256, PRF_HMAC_SHA1, AUTH_HMAC_SHA1_96, DH_MODP_2048 },
		{ ENCR_AES_CBC, 192, PRF_HMAC_SHA2_384, AUTH_HMAC_SHA2_512_256, DH_ECP_384 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		check_ike_keys(&suites[i], false);
		check_ike_keys(&suites[i], true);
	}
}

static void test_keymat_ike_unsupported(void **state)
{
	struct ike_suite s = { ENCR_AES_CBC, 128, PRF_HMAC_SHA2_256, AUTH_NONE, DH_ECP_256 };
	struct secret *dh = secret_new(32), *seed = (struct secret *)1;
	uint8_t n[16] = { 0 }, spi[8] = { 0 };
	struct ike_keys k;

	(void)state;
	assert_int_equal(keymat_derive_ike(&s, dh, n, 16, n, 16, spi, spi, NULL, 0, &k, &seed),
			 -ENOTSUP);
	assert_null(k.sk_d);
	assert_null(seed);
	s.integ = AUTH_HMAC_SHA2_256_128;
	s.prf = PRF_AES128_XCBC;
	assert_int_equal(keymat_derive_ike(&s, dh, n, 16, n, 16, spi, spi, NULL, 0, &k, NULL),
			 -ENOTSUP);
	s.prf = PRF_HMAC_SHA2_256;
	s.encr = ENCR_AES_GCM_16; /* AEAD with an integrity transform */
	assert_int_equal(keymat_derive_ike(&s, dh, n, 16, n, 16, spi, spi, NULL, 0, &k, NULL),
			 -ENOTSUP);
	secret_free(dh);
}

static void test_keymat_child(void **state)
{
	uint8_t d[32], g[32], ni[16], nr[20], want[200];
	struct secret *skd, *dh, *km = NULL;
	struct iovec v[3];

	(void)state;
	randombytes_buf(d, sizeof(d));
	randombytes_buf(g, sizeof(g));
	randombytes_buf(ni, sizeof(ni));
	randombytes_buf(nr, sizeof(nr));
	skd = secret_dup(d, sizeof(d));
	dh = secret_dup(g, sizeof(g));

	/* KEYMAT = prf+(SK_d, Ni | Nr) */
	v[0] = (struct iovec){ ni, sizeof(ni) };
	v[1] = (struct iovec){ nr, sizeof(nr) };
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_256, d, sizeof(d), v, 2, want, 200), 0);
	assert_int_equal(keymat_derive_child(PRF_HMAC_SHA2_256, skd, NULL, ni, sizeof(ni), nr,
					     sizeof(nr), 200, &km), 0);
	assert_int_equal(km->len, 200);
	assert_memory_equal(km->data, want, 200);
	secret_free(km);

	/* KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr) */
	v[0] = (struct iovec){ g, sizeof(g) };
	v[1] = (struct iovec){ ni, sizeof(ni) };
	v[2] = (struct iovec){ nr, sizeof(nr) };
	assert_int_equal(prf_plus(PRF_HMAC_SHA2_256, d, sizeof(d), v, 3, want, 72), 0);
	assert_int_equal(keymat_derive_child(PRF_HMAC_SHA2_256, skd, dh, ni, sizeof(ni), nr,
					     sizeof(nr), 72, &km), 0);
	assert_memory_equal(km->data, want, 72);
	secret_free(km);

	assert_int_equal(keymat_derive_child(PRF_HMAC_SHA2_256, skd, dh, ni, sizeof(ni), nr,
					     sizeof(nr), 32 * 255 + 1, &km), -EINVAL);
	assert_null(km);
	secret_free(skd);
	secret_free(dh);
}

/* RFC 7296 2.15: AUTH = prf(prf(PSK, "Key Pad for IKEv2"), msg | Nonce | prf(SK_p, IDx')). */
static void test_keymat_psk_auth(void **state)
{
	static const char psk[] = "correct horse battery staple";
	uint8_t msg[300], nonce[32], skp[32], id[4 + 11], pad[32], macid[32], want[32], got[32];
	uint8_t octets[400];
	struct secret *sp;
	struct iovec v[3];
	size_t olen = 0;

	(void)state;
	randombytes_buf(msg, sizeof(msg));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(skp, sizeof(skp));
	id[0] = ID_FQDN;
	id[1] = id[2] = id[3] = 0;
	memcpy(id + 4, "moon.strong", 11);
	sp = secret_dup(skp, sizeof(skp));

	v[0] = (struct iovec){ (void *)"Key Pad for IKEv2", 17 };
	assert_int_equal(prf_compute(PRF_HMAC_SHA2_256, (const uint8_t *)psk, strlen(psk), v, 1, pad), 0);
	v[0] = (struct iovec){ id, sizeof(id) };
	assert_int_equal(prf_compute(PRF_HMAC_SHA2_256, skp, sizeof(skp), v, 1, macid), 0);
	v[0] = (struct iovec){ msg, sizeof(msg) };
	v[1] = (struct iovec){ nonce, sizeof(nonce) };
	v[2] = (struct iovec){ macid, sizeof(macid) };
	assert_int_equal(prf_compute(PRF_HMAC_SHA2_256, pad, sizeof(pad), v, 3, want), 0);

	assert_int_equal(keymat_psk_auth(PRF_HMAC_SHA2_256, (const uint8_t *)psk, strlen(psk), msg,
					 sizeof(msg), nonce, sizeof(nonce), sp, id, sizeof(id), got), 0);
	assert_memory_equal(got, want, 32);

	/* The signed octets for signature methods. */
	assert_int_equal(keymat_auth_octets_len(PRF_HMAC_SHA2_256, 300, 32), 364);
	assert_int_equal(keymat_auth_octets(PRF_HMAC_SHA2_256, msg, sizeof(msg), nonce, sizeof(nonce),
					    sp, id, sizeof(id), octets, 363, &olen), -ENOSPC);
	assert_int_equal(keymat_auth_octets(PRF_HMAC_SHA2_256, msg, sizeof(msg), nonce, sizeof(nonce),
					    sp, id, sizeof(id), octets, sizeof(octets), &olen), 0);
	assert_int_equal(olen, 364);
	assert_memory_equal(octets, msg, 300);
	assert_memory_equal(octets + 300, nonce, 32);
	assert_memory_equal(octets + 332, macid, 32);
	secret_free(sp);
}

/* ----------------------------------------------------------------- rng */

static void test_rng_fixed(void **state)
{
	struct rng *a = rng_fixed_new(1), *b = rng_fixed_new(1), *c = rng_fixed_new(2);
	uint8_t x[200], y[200], z[200];

	(void)state;
	/* The stream does not depend on how it is cut into calls. */
	rng_fill(a, x, 200);
	rng_fill(b, y, 3);
	rng_fill(b, y + 3, 61);
	rng_fill(b, y + 64, 1);
	rng_fill(b, y + 65, 135);
	rng_fill(c, z, 200);
	assert_memory_equal(x, y, 200);
	assert_memory_not_equal(x, z, 200);
	rng_fill(a, x, 64);
	assert_memory_not_equal(x, y, 64); /* it moves on */
	rng_fixed_free(a);
	rng_fixed_free(b);
	rng_fixed_free(c);
	rng_fixed_free(NULL);
	/* The system RNG answers and is not constant. */
	rng_fill(rng_system(), x, 32);
	rng_fill(rng_system(), y, 32);
	assert_memory_not_equal(x, y, 32);
}

static int setup(void **state)
{
	(void)state;
	return crypto_init() == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_kat),
		cmocka_unit_test(test_prf_lengths),
		cmocka_unit_test(test_prf_plus_structure),
		cmocka_unit_test(test_prf_plus_limit),
		cmocka_unit_test(test_ecp_kat),
		cmocka_unit_test(test_ecp_invalid_peer),
		cmocka_unit_test(test_xdh_kat),
		cmocka_unit_test(test_xdh_low_order),
		cmocka_unit_test(test_dh_agreement),
		cmocka_unit_test(test_dh_deterministic),
		cmocka_unit_test(test_modp_invalid_peer),
		cmocka_unit_test(test_integ_kat),
		cmocka_unit_test(test_gcm_kat),
		cmocka_unit_test(test_chacha_kat),
		cmocka_unit_test(test_sk_roundtrip),
		cmocka_unit_test(test_sk_iv),
		cmocka_unit_test(test_sk_bad_padding),
		cmocka_unit_test(test_sk_cipher_new_checks),
		cmocka_unit_test(test_suite_lengths),
		cmocka_unit_test(test_keymat_ike),
		cmocka_unit_test(test_keymat_ike_unsupported),
		cmocka_unit_test(test_keymat_child),
		cmocka_unit_test(test_keymat_psk_auth),
		cmocka_unit_test(test_rng_fixed),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
