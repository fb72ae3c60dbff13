/* IKEv2 PRFs and prf+ (RFC 7296 2.13) over libgcrypt HMAC; see prf.h. */
#include "crypto/prf.h"

#include <errno.h>
#include <string.h>

#include <gcrypt.h>

#include "crypto/secret.h"
#include "daemon/ikev2.h"

static int prf_mac_algo(uint16_t prf, size_t *outlen)
{
	switch (prf) {
	case PRF_HMAC_SHA1:
		*outlen = 20;
		return GCRY_MAC_HMAC_SHA1;
	case PRF_HMAC_SHA2_256:
		*outlen = 32;
		return GCRY_MAC_HMAC_SHA256;
	case PRF_HMAC_SHA2_384:
		*outlen = 48;
		return GCRY_MAC_HMAC_SHA384;
	case PRF_HMAC_SHA2_512:
		*outlen = 64;
		return GCRY_MAC_HMAC_SHA512;
	default:
		*outlen = 0;
		return 0;
	}
}

size_t prf_out_len(uint16_t prf)
{
	size_t n;

	prf_mac_algo(prf, &n);
	return n;
}

size_t prf_key_len(uint16_t prf)
{
	/* RFC 4868 2.1.2 / RFC 7296 2.14: HMAC PRFs prefer keys of the output length. */
	return prf_out_len(prf);
}

/* Opens an HMAC handle keyed with key; 0 or -errno. */
static int prf_open(uint16_t prf, const uint8_t *key, size_t klen, gcry_mac_hd_t *h, size_t *outlen)
{
	int algo = prf_mac_algo(prf, outlen);
	static const uint8_t empty[1];

	if (!algo)
		return -ENOTSUP;
	if (gcry_mac_open(h, algo, 0, NULL))
		return -EIO;
	/* HMAC accepts an empty key (RFC 2104 2: zero-padded to the block). */
	if (gcry_mac_setkey(*h, klen ? key : empty, klen)) {
		gcry_mac_close(*h);
		return -EIO;
	}
	return 0;
}

static int prf_write_parts(gcry_mac_hd_t h, const struct iovec *parts, size_t nparts)
{
	size_t i;

	for (i = 0; i < nparts; i++)
		if (parts[i].iov_len && gcry_mac_write(h, parts[i].iov_base, parts[i].iov_len))
			return -EIO;
	return 0;
}

static int prf_read(gcry_mac_hd_t h, uint8_t *out, size_t outlen)
{
	size_t n = outlen;

	if (gcry_mac_read(h, out, &n) || n != outlen)
		return -EIO;
	return 0;
}

int prf_compute(uint16_t prf, const uint8_t *key, size_t klen,
		const struct iovec *parts, size_t nparts, uint8_t *out)
{
	gcry_mac_hd_t h;
	size_t outlen;
	int rc = prf_open(prf, key, klen, &h, &outlen);

	if (rc)
		return rc;
	rc = prf_write_parts(h, parts, nparts);
	if (!rc)
		rc = prf_read(h, out, outlen);
	gcry_mac_close(h); /* libgcrypt wipes the keyed context */
	return rc;
}

int prf_plus(uint16_t prf, const uint8_t *key, size_t klen,
	     const struct iovec *seed, size_t nseed, uint8_t *out, size_t outlen)
{
	uint8_t t[PRF_OUT_MAX];
	size_t hlen = prf_out_len(prf), done = 0;
	gcry_mac_hd_t h;
	unsigned iter;
	int rc;

	if (!hlen)
		return -ENOTSUP;
	/* RFC 7296 2.13: the octet counter must not wrap past 255. */
	if (outlen > hlen * PRF_PLUS_MAX_ITER)
		return -EINVAL;
	rc = prf_open(prf, key, klen, &h, &hlen);
	if (rc)
		return rc;
	/* T1 = prf(K, S | 0x01); Tn = prf(K, Tn-1 | S | n). One keyed handle, reset per block. */
	for (iter = 1; done < outlen; iter++) {
		uint8_t n = (uint8_t)iter;
		size_t take;

		if (iter > 1 && (gcry_mac_reset(h) || gcry_mac_write(h, t, hlen))) {
			rc = -EIO;
			break;
		}
		rc = prf_write_parts(h, seed, nseed);
		if (!rc && gcry_mac_write(h, &n, 1))
			rc = -EIO;
		if (!rc)
			rc = prf_read(h, t, hlen);
		if (rc)
			break;
		take = outlen - done < hlen ? outlen - done : hlen;
		memcpy(out + done, t, take);
		done += take;
	}
	gcry_mac_close(h);
	crypto_wipe(t, sizeof(t));
	if (rc)
		crypto_wipe(out, outlen);
	return rc;
}
