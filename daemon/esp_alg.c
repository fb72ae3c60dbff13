/* IANA ESP transforms -> XFRM algorithm names (see esp_alg.h). */
#include "daemon/esp_alg.h"

#include "daemon/ikev2.h"

bool esp_alg_is_aead(uint16_t encr)
{
	return encr == ENCR_AES_GCM_8 || encr == ENCR_AES_GCM_12 || encr == ENCR_AES_GCM_16 ||
	       encr == ENCR_CHACHA20_POLY1305;
}

static bool aes_keylen_ok(uint16_t keylen)
{
	return keylen == 128 || keylen == 192 || keylen == 256;
}

bool esp_alg_encr_ok(uint16_t encr, uint16_t keylen)
{
	switch (encr) {
	case ENCR_AES_GCM_8:
	case ENCR_AES_GCM_12:
	case ENCR_AES_GCM_16:
	case ENCR_AES_CBC:
	case ENCR_AES_CTR:
		return aes_keylen_ok(keylen);
	case ENCR_CHACHA20_POLY1305:
		/* RFC 7634 2: no Key Length attribute (256 bits implied). */
		return keylen == 0 || keylen == 256;
	default:
		return false;
	}
}

bool esp_alg_integ_ok(uint16_t integ)
{
	struct esp_suite s = {.encr = ENCR_AES_CBC, .encr_keylen = 128, .integ = integ};
	struct esp_xfrm x;
	return integ != AUTH_NONE && esp_alg_xfrm(&s, &x);
}

bool esp_alg_xfrm(const struct esp_suite *s, struct esp_xfrm *out)
{
	*out = (struct esp_xfrm){0};
	if (!esp_alg_encr_ok(s->encr, s->encr_keylen))
		return false;
	switch (s->encr) {
	case ENCR_AES_GCM_8:
	case ENCR_AES_GCM_12:
	case ENCR_AES_GCM_16:
		/* RFC 4106 8.1: key | 4-octet salt. */
		out->enc_name = "rfc4106(gcm(aes))";
		out->enc_key_len = s->encr_keylen / 8 + 4;
		out->icv_bits = s->encr == ENCR_AES_GCM_8 ? 64 : s->encr == ENCR_AES_GCM_12 ? 96 : 128;
		break;
	case ENCR_CHACHA20_POLY1305:
		/* RFC 7634 2: 256-bit key | 4-octet salt. */
		out->enc_name = "rfc7539esp(chacha20,poly1305)";
		out->enc_key_len = 36;
		out->icv_bits = 128;
		break;
	case ENCR_AES_CBC:
		out->enc_name = "cbc(aes)";
		out->enc_key_len = s->encr_keylen / 8;
		break;
	case ENCR_AES_CTR:
		/* RFC 3686 5.1: key | 4-octet nonce. */
		out->enc_name = "rfc3686(ctr(aes))";
		out->enc_key_len = s->encr_keylen / 8 + 4;
		break;
	default:
		return false;
	}
	if (esp_alg_is_aead(s->encr))
		return s->integ == AUTH_NONE;
	switch (s->integ) {
	case AUTH_HMAC_SHA1_96:
		out->integ_name = "hmac(sha1)";
		out->integ_key_len = 20;
		out->integ_trunc_bits = 96;
		break;
	case AUTH_HMAC_SHA2_256_128:
		out->integ_name = "hmac(sha256)";
		out->integ_key_len = 32;
		out->integ_trunc_bits = 128;
		break;
	case AUTH_HMAC_SHA2_384_192:
		out->integ_name = "hmac(sha384)";
		out->integ_key_len = 48;
		out->integ_trunc_bits = 192;
		break;
	case AUTH_HMAC_SHA2_512_256:
		out->integ_name = "hmac(sha512)";
		out->integ_key_len = 64;
		out->integ_trunc_bits = 256;
		break;
	default:
		return false; /* RFC 4303 3.2: ESP without integrity is not offered */
	}
	return true;
}
