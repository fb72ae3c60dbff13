/* Randomness seam and library start-up; see rng.h. */
#include "crypto/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>
#include <sodium.h>

#include "crypto/secret.h"

/* Oldest libgcrypt with gcry_ecc_mul_point (X448) and the HMAC/GCM API we use. */
#define CRYPTO_GCRYPT_MIN "1.9.0"

int crypto_init(void)
{
	static int state = 1; /* 1: not yet run; otherwise the first result */

	if (state != 1)
		return state;
	/*
	 * The preferred RNG type must be set before gcry_check_version()
	 * (libgcrypt manual, "Controlling the library"): the system RNG means
	 * getrandom(2) directly, no userspace pool to seed or to fork-share.
	 */
	gcry_control(GCRYCTL_SET_PREFERRED_RNG_TYPE, GCRY_RNG_TYPE_SYSTEM);
	if (!gcry_check_version(CRYPTO_GCRYPT_MIN)) {
		state = -ENOTSUP;
		return state;
	}
	/* Secrets live in struct secret (plain memory, wiped); no gcrypt secmem pool. */
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	if (sodium_init() < 0) {
		state = -ENOTSUP;
		return state;
	}
	state = 0;
	return state;
}

static void rng_system_fill(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

const struct rng *rng_system(void)
{
	static const struct rng sys = { .fill = rng_system_fill, .ctx = NULL };

	return &sys;
}

/* Deterministic test RNG: ChaCha20 (64-bit nonce, 64-bit block counter) keystream. */
struct rng_fixed {
	struct rng rng;
	uint8_t key[crypto_stream_chacha20_KEYBYTES];
	uint64_t block;                      /* next keystream block number */
	uint8_t buf[64];                     /* current keystream block */
	size_t used;                         /* octets of buf already handed out */
};

static void rng_fixed_refill(struct rng_fixed *f)
{
	static const uint8_t zero[64];
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];

	crypto_stream_chacha20_xor_ic(f->buf, zero, sizeof(f->buf), nonce, f->block, f->key);
	f->block++;
	f->used = 0;
}

static void rng_fixed_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct rng_fixed *f = ctx;

	while (len) {
		size_t n;

		if (f->used == sizeof(f->buf))
			rng_fixed_refill(f);
		n = sizeof(f->buf) - f->used;
		if (n > len)
			n = len;
		memcpy(buf, f->buf + f->used, n);
		f->used += n;
		buf += n;
		len -= n;
	}
}

struct rng *rng_fixed_new(uint64_t seed)
{
	struct rng_fixed *f = calloc(1, sizeof(*f));
	uint8_t s[8];
	int i;

	if (!f)
		return NULL;
	for (i = 0; i < 8; i++)
		s[i] = (uint8_t)(seed >> (56 - 8 * i));
	/* Key = SHA-256(seed, big-endian): distinct seeds give unrelated streams. */
	crypto_hash_sha256(f->key, s, sizeof(s));
	f->used = sizeof(f->buf);
	f->rng.fill = rng_fixed_fill;
	f->rng.ctx = f;
	return &f->rng;
}

void rng_fixed_free(struct rng *r)
{
	struct rng_fixed *f;

	if (!r)
		return;
	f = r->ctx;
	sodium_memzero(f, sizeof(*f));
	free(f);
}

void rng_fill(const struct rng *r, void *buf, size_t len)
{
	if (len)
		r->fill(r->ctx, buf, len);
}
