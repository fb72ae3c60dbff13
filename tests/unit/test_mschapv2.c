/*
 * MS-CHAPv2 (RFC 2759 9.2) and MPPE master keys (RFC 3079 3.5.3) against
 * the RFCs' worked examples, and the password's UTF-8 to UTF-16 rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "crypto/mschapv2.h"
#include "crypto/rng.h"

/* RFC 2759 9.2: User "User", password "clientPass". */
static const uint8_t auth_challenge[16] = {0x5B, 0x5D, 0x7C, 0x7D, 0x7B, 0x3F, 0x2F, 0x3E,
					   0x3C, 0x2C, 0x60, 0x21, 0x32, 0x26, 0x26, 0x28};
static const uint8_t peer_challenge[16] = {0x21, 0x40, 0x23, 0x24, 0x25, 0x5E, 0x26, 0x2A,
					   0x28, 0x29, 0x5F, 0x2B, 0x3A, 0x33, 0x7C, 0x7E};
static const uint8_t password_hash[16] = {0x44, 0xEB, 0xBA, 0x8D, 0x53, 0x12, 0xB8, 0xD6,
					  0x11, 0x47, 0x44, 0x11, 0xF5, 0x69, 0x89, 0xAE};
static const uint8_t nt_response[24] = {0x82, 0x30, 0x9E, 0xCD, 0x8D, 0x70, 0x8B, 0x5E,
					0xA0, 0x8F, 0xAA, 0x39, 0x81, 0xCD, 0x83, 0x54,
					0x42, 0x33, 0x11, 0x4A, 0x3D, 0x85, 0xD6, 0xDF};

static void test_mschapv2_rfc2759(void **st)
{
	(void)st;
	uint8_t hash[16], resp[24];
	char ar[MSCHAPV2_AUTH_RESPONSE_LEN];
	assert_int_equal(mschapv2_password_hash((const uint8_t *)"clientPass", 10, hash), 0);
	assert_memory_equal(hash, password_hash, 16);
	assert_int_equal(mschapv2_nt_response(auth_challenge, peer_challenge,
					      (const uint8_t *)"User", 4, hash, resp), 0);
	assert_memory_equal(resp, nt_response, 24);
	assert_int_equal(mschapv2_authenticator_response(hash, resp, peer_challenge,
							 auth_challenge, (const uint8_t *)"User", 4,
							 ar), 0);
	assert_memory_equal(ar, "S=407A5589115FD0D6209F510FE9C04566932CDA56", 42);
	assert_true(mschapv2_equal_ct(resp, nt_response, 24));
	resp[23] ^= 1;
	assert_false(mschapv2_equal_ct(resp, nt_response, 24));
}

/* RFC 3079 3.5.3: the 128-bit start keys of the same exchange. */
static void test_mschapv2_rfc3079(void **st)
{
	(void)st;
	static const uint8_t send128[16] = {0x8B, 0x7C, 0xDC, 0x14, 0x9B, 0x99, 0x3A, 0x1B,
					    0xA1, 0x18, 0xCB, 0x15, 0x3F, 0x56, 0xDC, 0xCB};
	uint8_t s_send[16], s_recv[16], c_send[16], c_recv[16];
	assert_int_equal(mschapv2_master_keys(password_hash, nt_response, true, s_send, s_recv), 0);
	assert_int_equal(mschapv2_master_keys(password_hash, nt_response, false, c_send, c_recv), 0);
	assert_memory_equal(s_send, send128, 16);
	/* What one side sends with, the other receives with. */
	assert_memory_equal(s_send, c_recv, 16);
	assert_memory_equal(s_recv, c_send, 16);
	assert_memory_not_equal(s_send, s_recv, 16);
}

static void test_mschapv2_password_text(void **st)
{
	(void)st;
	uint8_t a[16], b[16];
	/* "é" (U+00E9) is one UTF-16 unit; U+1F600 is a surrogate pair. */
	assert_int_equal(mschapv2_password_hash((const uint8_t *)"caf\xc3\xa9", 5, a), 0);
	assert_int_equal(mschapv2_password_hash((const uint8_t *)"\xf0\x9f\x98\x80", 4, b), 0);
	assert_memory_not_equal(a, b, 16);
	static const char *const bad[] = {
		"\xc3",             /* truncated */
		"\xc0\xaf",         /* overlong '/' */
		"\xed\xa0\x80",     /* a surrogate */
		"\xf4\x90\x80\x80", /* past U+10FFFF */
		"\xff",
		"a\x80",            /* stray continuation */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mschapv2_password_hash((const uint8_t *)bad[i], strlen(bad[i]), a),
				 -EINVAL);
	assert_int_equal(mschapv2_password_hash((const uint8_t *)"", 0, a), -EINVAL);
	char long_pw[MSCHAPV2_PASSWORD_MAX + 2];
	memset(long_pw, 'x', sizeof(long_pw));
	assert_int_equal(mschapv2_password_hash((const uint8_t *)long_pw, MSCHAPV2_PASSWORD_MAX, a),
			 0);
	assert_int_equal(mschapv2_password_hash((const uint8_t *)long_pw,
						MSCHAPV2_PASSWORD_MAX + 1, a), -EINVAL);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mschapv2_rfc2759),
		cmocka_unit_test(test_mschapv2_rfc3079),
		cmocka_unit_test(test_mschapv2_password_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
