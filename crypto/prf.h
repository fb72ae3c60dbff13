/*
 * IKEv2 pseudo-random functions (RFC 7296 2.13, transform type 2) over
 * libgcrypt's HMAC: PRF_HMAC_SHA1 (RFC 2104), PRF_HMAC_SHA2_256/384/512
 * (RFC 4868). Other PRF ids are unsupported (lengths 0, -ENOTSUP).
 */
#ifndef XIKED_CRYPTO_PRF_H
#define XIKED_CRYPTO_PRF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Largest PRF output of any supported PRF, octets (HMAC-SHA2-512). */
#define PRF_OUT_MAX 64

/* RFC 7296 2.13: prf+ may iterate at most 255 times. */
#define PRF_PLUS_MAX_ITER 255

/*
 * Preferred key length, octets (RFC 7296 2.14: SK_d, SK_pi, SK_pr take this
 * length; for HMAC it equals the output length, RFC 4868 2.1.2). 0 if
 * unsupported.
 */
size_t prf_key_len(uint16_t prf);

/* Output length, octets. 0 if unsupported. */
size_t prf_out_len(uint16_t prf);

/*
 * out = prf(key, parts[0] | parts[1] | ... ). Borrows everything; out has
 * prf_out_len(prf) octets. Returns 0, -ENOTSUP (prf), -EIO (library error).
 */
int prf_compute(uint16_t prf, const uint8_t *key, size_t klen,
		const struct iovec *parts, size_t nparts, uint8_t *out);

/*
 * RFC 7296 2.13: out[0..outlen) = first outlen octets of T1 | T2 | ...
 * where T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n) and S is the
 * concatenation of seed[0..nseed). Returns 0, -ENOTSUP, -EIO, or -EINVAL
 * when outlen needs more than 255 iterations (out is then untouched).
 */
int prf_plus(uint16_t prf, const uint8_t *key, size_t klen,
	     const struct iovec *seed, size_t nseed, uint8_t *out, size_t outlen);

#endif
