/* SK / SKF payload protection; see sk.h for the layout and the RFCs. */
#include "crypto/sk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>
#include <sodium.h>

#include "crypto/keymat.h"
#include "daemon/ikev2.h"

#define SK_AES_BLOCK 16
#define SK_AEAD_IV_LEN 8   /* RFC 5282 3.1, RFC 7634 2: 64-bit explicit IV */
#define SK_AEAD_SALT_LEN 4
#define SK_AEAD_TAG_LEN 16 /* ENCR_AES_GCM_16; Poly1305 */
#define SK_MAC_MAX 64

enum sk_mode { SK_CBC_HMAC, SK_GCM, SK_CHACHA };

struct sk_cipher {
	enum sk_mode mode;
	gcry_cipher_hd_t cipher;  /* AES-CBC or AES-GCM, keyed once */
	gcry_mac_hd_t mac;        /* CBC: HMAC keyed once, reset per message */
	size_t mac_len;           /* CBC: full HMAC output */
	size_t iv_len, icv_len;
	uint8_t salt[SK_AEAD_SALT_LEN];
	uint8_t chacha_key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
	uint64_t next_iv;         /* AEAD: never repeats under one key (RFC 5282 3.1) */
};

static int sk_aes_algo(uint16_t bits)
{
	switch (bits) {
	case 128:
		return GCRY_CIPHER_AES128;
	case 192:
		return GCRY_CIPHER_AES192;
	case 256:
		return GCRY_CIPHER_AES256;
	default:
		return 0;
	}
}

/* HMAC algorithm and truncated ICV length for an integrity transform (RFC 4868 2.3, RFC 2404). */
static int sk_integ_algo(uint16_t integ, size_t *icv, size_t *full)
{
	switch (integ) {
	case AUTH_HMAC_SHA1_96:
		*icv = 12, *full = 20;
		return GCRY_MAC_HMAC_SHA1;
	case AUTH_HMAC_SHA2_256_128:
		*icv = 16, *full = 32;
		return GCRY_MAC_HMAC_SHA256;
	case AUTH_HMAC_SHA2_384_192:
		*icv = 24, *full = 48;
		return GCRY_MAC_HMAC_SHA384;
	case AUTH_HMAC_SHA2_512_256:
		*icv = 32, *full = 64;
		return GCRY_MAC_HMAC_SHA512;
	default:
		return 0;
	}
}

struct sk_cipher *sk_cipher_new(uint16_t encr, uint16_t keylen_bits, uint16_t integ,
				const struct secret *sk_e, const struct secret *sk_a)
{
	struct ike_suite suite = { .encr = encr, .encr_keylen = keylen_bits };
	size_t elen = suite_encr_key_len(&suite);
	struct sk_cipher *c;

	if (!elen || !sk_e || sk_e->len != elen)
		return NULL;
	if (suite_is_aead(encr) ? (integ != AUTH_NONE || sk_a != NULL)
				: (!sk_a || sk_a->len != suite_integ_key_len(integ) || !sk_a->len))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	switch (encr) {
	case ENCR_AES_CBC: {
		int malgo = sk_integ_algo(integ, &c->icv_len, &c->mac_len);

		c->mode = SK_CBC_HMAC;
		c->iv_len = SK_AES_BLOCK;
		if (!malgo ||
		    gcry_cipher_open(&c->cipher, sk_aes_algo(keylen_bits), GCRY_CIPHER_MODE_CBC, 0) ||
		    gcry_cipher_setkey(c->cipher, sk_e->data, sk_e->len) ||
		    gcry_mac_open(&c->mac, malgo, 0, NULL) ||
		    gcry_mac_setkey(c->mac, sk_a->data, sk_a->len))
			goto fail;
		break;
	}
	case ENCR_AES_GCM_16:
		/* RFC 5282 7.1: key | 4-octet salt. */
		c->mode = SK_GCM;
		c->iv_len = SK_AEAD_IV_LEN;
		c->icv_len = SK_AEAD_TAG_LEN;
		memcpy(c->salt, sk_e->data + elen - SK_AEAD_SALT_LEN, SK_AEAD_SALT_LEN);
		if (gcry_cipher_open(&c->cipher, sk_aes_algo(keylen_bits), GCRY_CIPHER_MODE_GCM, 0) ||
		    gcry_cipher_setkey(c->cipher, sk_e->data, elen - SK_AEAD_SALT_LEN))
			goto fail;
		break;
	case ENCR_CHACHA20_POLY1305:
		/* RFC 7634 2: 32-octet key | 4-octet salt. */
		c->mode = SK_CHACHA;
		c->iv_len = SK_AEAD_IV_LEN;
		c->icv_len = SK_AEAD_TAG_LEN;
		memcpy(c->chacha_key, sk_e->data, sizeof(c->chacha_key));
		memcpy(c->salt, sk_e->data + sizeof(c->chacha_key), SK_AEAD_SALT_LEN);
		break;
	default:
		goto fail;
	}
	return c;
fail:
	sk_cipher_free(c);
	return NULL;
}

void sk_cipher_free(struct sk_cipher *c)
{
	if (!c)
		return;
	if (c->cipher)
		gcry_cipher_close(c->cipher);
	if (c->mac)
		gcry_mac_close(c->mac);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

size_t sk_iv_len(const struct sk_cipher *c)
{
	return c->iv_len;
}

size_t sk_icv_len(const struct sk_cipher *c)
{
	return c->icv_len;
}

/* Octets of the encrypted part: inner | padding | pad length. */
static size_t sk_ct_len(const struct sk_cipher *c, size_t inner_len)
{
	if (c->mode == SK_CBC_HMAC)
		return (inner_len + 1 + SK_AES_BLOCK - 1) / SK_AES_BLOCK * SK_AES_BLOCK;
	return inner_len + 1;
}

size_t sk_sealed_len(const struct sk_cipher *c, size_t inner_len)
{
	return c->iv_len + sk_ct_len(c, inner_len) + c->icv_len;
}

/* Full HMAC over buf[0..len) into mac (c->mac_len octets). */
static int sk_hmac(struct sk_cipher *c, const uint8_t *buf, size_t len, uint8_t *mac)
{
	size_t n = c->mac_len;

	if (gcry_mac_reset(c->mac) || gcry_mac_write(c->mac, buf, len) ||
	    gcry_mac_read(c->mac, mac, &n) || n != c->mac_len)
		return -EIO;
	return 0;
}

static void sk_nonce(const struct sk_cipher *c, const uint8_t *iv, uint8_t nonce[12])
{
	memcpy(nonce, c->salt, SK_AEAD_SALT_LEN);
	memcpy(nonce + SK_AEAD_SALT_LEN, iv, SK_AEAD_IV_LEN);
}

int sk_seal(struct sk_cipher *c, uint8_t *buf, size_t body_off,
	    const uint8_t *inner, size_t inner_len, const struct rng *rng)
{
	size_t ctlen = sk_ct_len(c, inner_len);
	uint8_t *iv = buf + body_off, *ct = iv + c->iv_len, *icv = ct + ctlen;
	uint8_t nonce[12], mac[SK_MAC_MAX];
	size_t padlen = ctlen - inner_len - 1;
	int rc = 0, i;

	/* RFC 7296 3.14: payloads | Padding (any value; zeros here) | Pad Length. */
	memcpy(ct, inner, inner_len);
	memset(ct + inner_len, 0, padlen);
	ct[ctlen - 1] = (uint8_t)padlen;

	switch (c->mode) {
	case SK_CBC_HMAC:
		/* RFC 7296 3.14: the IV must be unpredictable; MAC covers header through ciphertext. */
		rng_fill(rng, iv, c->iv_len);
		if (gcry_cipher_setiv(c->cipher, iv, c->iv_len) ||
		    gcry_cipher_encrypt(c->cipher, ct, ctlen, NULL, 0) ||
		    sk_hmac(c, buf, body_off + c->iv_len + ctlen, mac)) {
			rc = -EIO;
			break;
		}
		memcpy(icv, mac, c->icv_len);
		break;
	case SK_GCM:
	case SK_CHACHA:
		if (c->next_iv == UINT64_MAX) {
			rc = -EOVERFLOW;
			break;
		}
		for (i = 0; i < SK_AEAD_IV_LEN; i++)
			iv[i] = (uint8_t)(c->next_iv >> (56 - 8 * i));
		c->next_iv++;
		sk_nonce(c, iv, nonce);
		if (c->mode == SK_GCM) {
			if (gcry_cipher_setiv(c->cipher, nonce, sizeof(nonce)) ||
			    gcry_cipher_authenticate(c->cipher, buf, body_off) ||
			    gcry_cipher_encrypt(c->cipher, ct, ctlen, NULL, 0) ||
			    gcry_cipher_gettag(c->cipher, icv, c->icv_len))
				rc = -EIO;
		} else {
			if (crypto_aead_chacha20poly1305_ietf_encrypt_detached(
				    ct, icv, NULL, ct, ctlen, buf, body_off, NULL, nonce, c->chacha_key))
				rc = -EIO;
		}
		break;
	}
	sodium_memzero(mac, sizeof(mac));
	if (rc)
		sodium_memzero(iv, sk_sealed_len(c, inner_len));
	return rc;
}

int sk_open(struct sk_cipher *c, const uint8_t *buf, size_t body_off, size_t body_len,
	    uint8_t *out, size_t *out_len)
{
	const uint8_t *iv = buf + body_off, *ct = iv + c->iv_len, *icv;
	uint8_t nonce[12], mac[SK_MAC_MAX];
	size_t ctlen, padlen;
	int rc = 0;

	*out_len = 0;
	if (body_len < c->iv_len + c->icv_len + 1)
		return -EINVAL;
	ctlen = body_len - c->iv_len - c->icv_len;
	icv = ct + ctlen;
	if (c->mode == SK_CBC_HMAC && ctlen % SK_AES_BLOCK)
		return -EINVAL;

	switch (c->mode) {
	case SK_CBC_HMAC:
		/* Encrypt-then-MAC: check the ICV (constant time) before touching the ciphertext. */
		if (sk_hmac(c, buf, body_off + c->iv_len + ctlen, mac)) {
			rc = -EIO;
			break;
		}
		if (sodium_memcmp(mac, icv, c->icv_len) != 0) {
			rc = -EBADMSG;
			break;
		}
		if (gcry_cipher_setiv(c->cipher, iv, c->iv_len) ||
		    gcry_cipher_decrypt(c->cipher, out, ctlen, ct, ctlen))
			rc = -EIO;
		break;
	case SK_GCM:
		sk_nonce(c, iv, nonce);
		if (gcry_cipher_setiv(c->cipher, nonce, sizeof(nonce)) ||
		    gcry_cipher_authenticate(c->cipher, buf, body_off) ||
		    gcry_cipher_decrypt(c->cipher, out, ctlen, ct, ctlen)) {
			rc = -EIO;
			break;
		}
		/* Constant-time tag check; the plaintext is wiped below unless it passes. */
		if (gcry_cipher_checktag(c->cipher, icv, c->icv_len))
			rc = -EBADMSG;
		break;
	case SK_CHACHA:
		sk_nonce(c, iv, nonce);
		/* libsodium verifies the tag before decrypting. */
		if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
			    out, NULL, ct, ctlen, icv, buf, body_off, nonce, c->chacha_key))
			rc = -EBADMSG;
		break;
	}
	sodium_memzero(mac, sizeof(mac));
	if (rc) {
		sodium_memzero(out, ctlen);
		return rc;
	}
	/* RFC 7296 3.14: Pad Length counts the padding octets before it. */
	padlen = out[ctlen - 1];
	if (padlen + 1 > ctlen) {
		sodium_memzero(out, ctlen);
		return -EINVAL;
	}
	*out_len = ctlen - 1 - padlen;
	return 0;
}
