/* IKEv2 key derivation and PSK AUTH (RFC 7296 2.14, 2.15, 2.17, 2.18); see keymat.h. */
#include "crypto/keymat.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include <sodium.h>

#include "crypto/prf.h"
#include "daemon/ikev2.h"

/* RFC 5282 7.1 and RFC 7634 2: AEAD keying material ends with a 4-octet salt. */
#define AEAD_SALT_LEN 4

bool suite_is_aead(uint16_t encr)
{
	return encr == ENCR_AES_GCM_16 || encr == ENCR_CHACHA20_POLY1305;
}

size_t suite_encr_key_len(const struct ike_suite *s)
{
	switch (s->encr) {
	case ENCR_AES_CBC:
	case ENCR_AES_GCM_16:
		if (s->encr_keylen != 128 && s->encr_keylen != 192 && s->encr_keylen != 256)
			return 0;
		return s->encr_keylen / 8 + (s->encr == ENCR_AES_GCM_16 ? AEAD_SALT_LEN : 0);
	case ENCR_CHACHA20_POLY1305:
		/* RFC 7634 2: fixed 256-bit key; the Key Length attribute is not sent. */
		if (s->encr_keylen != 0 && s->encr_keylen != 256)
			return 0;
		return 32 + AEAD_SALT_LEN;
	default:
		return 0;
	}
}

size_t suite_integ_key_len(uint16_t integ)
{
	switch (integ) {
	case AUTH_HMAC_SHA1_96:
		return 20; /* RFC 2404 */
	case AUTH_HMAC_SHA2_256_128:
		return 32; /* RFC 4868 2.1.1 */
	case AUTH_HMAC_SHA2_384_192:
		return 48;
	case AUTH_HMAC_SHA2_512_256:
		return 64;
	default:
		return 0;
	}
}

void ike_keys_free(struct ike_keys *k)
{
	if (!k)
		return;
	secret_free(k->sk_d);
	secret_free(k->sk_ai);
	secret_free(k->sk_ar);
	secret_free(k->sk_ei);
	secret_free(k->sk_er);
	secret_free(k->sk_pi);
	secret_free(k->sk_pr);
	memset(k, 0, sizeof(*k));
}

static struct secret *keymat_take(const uint8_t *km, size_t *off, size_t len)
{
	struct secret *s = secret_dup(km + *off, len);

	*off += len;
	return s;
}

int keymat_derive_ike(const struct ike_suite *s, const struct secret *dh_shared,
		      const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
		      const uint8_t spi_i[8], const uint8_t spi_r[8],
		      const struct secret *old_sk_d, uint16_t old_prf,
		      struct ike_keys *out, struct secret **skeyseed_out)
{
	size_t plen = prf_out_len(s->prf), klen = prf_key_len(s->prf);
	size_t elen = suite_encr_key_len(s), alen = 0, total, off = 0;
	struct secret *skeyseed = NULL, *nonces = NULL, *km = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (skeyseed_out)
		*skeyseed_out = NULL;
	if (!plen || !elen)
		return -ENOTSUP;
	if (!suite_is_aead(s->encr)) {
		alen = suite_integ_key_len(s->integ);
		if (!alen)
			return -ENOTSUP;
	} else if (s->integ != AUTH_NONE) {
		return -ENOTSUP;
	}
	if (old_sk_d && !prf_out_len(old_prf))
		return -ENOTSUP;

	nonces = secret_new(nilen + nrlen); /* Ni | Nr: the HMAC key for SKEYSEED */
	if (!nonces)
		return -ENOMEM;
	memcpy(nonces->data, ni, nilen);
	memcpy(nonces->data + nilen, nr, nrlen);
	skeyseed = secret_new(old_sk_d ? prf_out_len(old_prf) : plen);
	if (!skeyseed) {
		rc = -ENOMEM;
		goto out;
	}
	if (!old_sk_d) {
		/* RFC 7296 2.14: SKEYSEED = prf(Ni | Nr, g^ir). */
		struct iovec v = { dh_shared->data, dh_shared->len };

		rc = prf_compute(s->prf, nonces->data, nonces->len, &v, 1, skeyseed->data);
	} else {
		/* RFC 7296 2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), old PRF. */
		struct iovec v[3] = {
			{ dh_shared->data, dh_shared->len },
			{ (void *)ni, nilen },
			{ (void *)nr, nrlen },
		};

		rc = prf_compute(old_prf, old_sk_d->data, old_sk_d->len, v, 3, skeyseed->data);
	}
	if (rc)
		goto out;

	/* {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
	total = klen + 2 * alen + 2 * elen + 2 * klen;
	km = secret_new(total);
	if (!km) {
		rc = -ENOMEM;
		goto out;
	}
	{
		struct iovec seed[3] = {
			{ nonces->data, nonces->len },
			{ (void *)spi_i, IKE_SPI_LEN },
			{ (void *)spi_r, IKE_SPI_LEN },
		};

		rc = prf_plus(s->prf, skeyseed->data, skeyseed->len, seed, 3, km->data, km->len);
		if (rc)
			goto out;
	}
	out->sk_d = keymat_take(km->data, &off, klen);
	if (alen) {
		out->sk_ai = keymat_take(km->data, &off, alen);
		out->sk_ar = keymat_take(km->data, &off, alen);
	}
	out->sk_ei = keymat_take(km->data, &off, elen);
	out->sk_er = keymat_take(km->data, &off, elen);
	out->sk_pi = keymat_take(km->data, &off, klen);
	out->sk_pr = keymat_take(km->data, &off, klen);
	if (!out->sk_d || !out->sk_ei || !out->sk_er || !out->sk_pi || !out->sk_pr ||
	    (alen && (!out->sk_ai || !out->sk_ar))) {
		rc = -ENOMEM;
		goto out;
	}
	if (skeyseed_out) {
		*skeyseed_out = skeyseed;
		skeyseed = NULL;
	}
out:
	if (rc)
		ike_keys_free(out);
	secret_free(km);
	secret_free(nonces);
	secret_free(skeyseed);
	return rc;
}

int keymat_derive_child(uint16_t prf, const struct secret *sk_d,
			const struct secret *dh_shared_or_NULL,
			const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
			size_t len, struct secret **out)
{
	struct iovec seed[3];
	size_t n = 0;
	struct secret *km;
	int rc;

	*out = NULL;
	if (!prf_out_len(prf))
		return -ENOTSUP;
	if (len > prf_out_len(prf) * PRF_PLUS_MAX_ITER)
		return -EINVAL;
	/* RFC 7296 2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr). */
	if (dh_shared_or_NULL)
		seed[n++] = (struct iovec){ dh_shared_or_NULL->data, dh_shared_or_NULL->len };
	seed[n++] = (struct iovec){ (void *)ni, nilen };
	seed[n++] = (struct iovec){ (void *)nr, nrlen };
	km = secret_new(len);
	if (!km)
		return -ENOMEM;
	rc = prf_plus(prf, sk_d->data, sk_d->len, seed, n, km->data, len);
	if (rc) {
		secret_free(km);
		return rc;
	}
	*out = km;
	return 0;
}

/* RFC 8784 3: SK_x = prf+(PPK, SK_x'), as long as SK_x'. */
int keymat_ppk_mix(uint16_t prf, const struct secret *ppk, const struct secret *key,
		   struct secret **out)
{
	*out = NULL;
	if (!prf_out_len(prf))
		return -ENOTSUP;
	if (!ppk || !key || !ppk->len || key->len > prf_out_len(prf) * PRF_PLUS_MAX_ITER)
		return -EINVAL;
	struct secret *k = secret_new(key->len);
	if (!k)
		return -ENOMEM;
	struct iovec seed = {key->data, key->len};
	int rc = prf_plus(prf, ppk->data, ppk->len, &seed, 1, k->data, k->len);
	if (rc) {
		secret_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

size_t keymat_auth_octets_len(uint16_t prf, size_t msglen, size_t noncelen)
{
	size_t plen = prf_out_len(prf);

	if (!plen || msglen > SIZE_MAX - noncelen - plen)
		return 0;
	return msglen + noncelen + plen;
}

int keymat_auth_octets(uint16_t prf, const uint8_t *msg, size_t msglen,
		       const uint8_t *nonce, size_t noncelen, const struct secret *sk_p,
		       const uint8_t *id_body, size_t idlen,
		       uint8_t *out, size_t cap, size_t *out_len)
{
	size_t need = keymat_auth_octets_len(prf, msglen, noncelen);
	struct iovec id = { (void *)id_body, idlen };
	int rc;

	if (!need)
		return -ENOTSUP;
	if (cap < need)
		return -ENOSPC;
	/* RFC 7296 2.15: RealMessage | Nonce(peer) | prf(SK_p, IDx'). */
	memcpy(out, msg, msglen);
	memcpy(out + msglen, nonce, noncelen);
	rc = prf_compute(prf, sk_p->data, sk_p->len, &id, 1, out + msglen + noncelen);
	if (rc)
		return rc;
	*out_len = need;
	return 0;
}

int keymat_psk_auth(uint16_t prf, const uint8_t *psk, size_t psklen,
		    const uint8_t *msg, size_t msglen, const uint8_t *nonce, size_t noncelen,
		    const struct secret *sk_p, const uint8_t *id_body, size_t idlen,
		    uint8_t *out)
{
	/* RFC 7296 2.15: the 17 ASCII characters, no terminating NUL. */
	static const char keypad[] = "Key Pad for IKEv2";
	uint8_t key[PRF_OUT_MAX], macid[PRF_OUT_MAX];
	size_t plen = prf_out_len(prf);
	struct iovec v;
	int rc;

	if (!plen)
		return -ENOTSUP;
	v = (struct iovec){ (void *)keypad, sizeof(keypad) - 1 };
	rc = prf_compute(prf, psk, psklen, &v, 1, key);
	if (rc)
		goto out;
	/* prf(SK_p, IDx') computed apart so the signed octets need no copy of the message. */
	v = (struct iovec){ (void *)id_body, idlen };
	rc = prf_compute(prf, sk_p->data, sk_p->len, &v, 1, macid);
	if (rc)
		goto out;
	{
		struct iovec octets[3] = {
			{ (void *)msg, msglen },
			{ (void *)nonce, noncelen },
			{ macid, plen },
		};

		rc = prf_compute(prf, key, plen, octets, 3, out);
	}
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(macid, sizeof(macid));
	return rc;
}
