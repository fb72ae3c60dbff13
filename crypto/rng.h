/*
 * Randomness seam (design.md rule 11: randomness is injectable for
 * deterministic tests) and library start-up.
 *
 * Production code takes randomness from rng_system() (libsodium's
 * randombytes_buf, i.e. getrandom(2)). Tests may use rng_fixed_new(): a
 * ChaCha20 keystream from a seed, reproducible and therefore never to be
 * used for real keys, nonces or IVs.
 */
#ifndef XIKED_CRYPTO_RNG_H
#define XIKED_CRYPTO_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	/* Fills buf[0..len) with random octets; never fails (aborts on a broken system RNG). */
	void (*fill)(void *ctx, uint8_t *buf, size_t len);
	void *ctx;
};

/*
 * Initialises libgcrypt and libsodium. Call once at start-up, before any
 * other crypto/ function, in the daemon and in every test program.
 * libgcrypt is told to use the system RNG (GCRYCTL_SET_PREFERRED_RNG_TYPE
 * must precede gcry_check_version), not to use secure memory (secrets are
 * our struct secret), and that initialisation is finished.
 * Returns 0, or -ENOTSUP when the libraries are too old or fail to start.
 * Idempotent: later calls return the first result.
 */
int crypto_init(void);

/* The system RNG (static; never freed). */
const struct rng *rng_system(void);

/*
 * A deterministic RNG: the ChaCha20 keystream under a key derived from
 * seed. For tests only. Caller owns the result (rng_fixed_free). NULL on
 * allocation failure.
 */
struct rng *rng_fixed_new(uint64_t seed);

/* Wipes and frees a fixed RNG. NULL-safe. Never pass rng_system()'s result. */
void rng_fixed_free(struct rng *r);

/* Convenience: r->fill(r->ctx, buf, len). */
void rng_fill(const struct rng *r, void *buf, size_t len);

#endif
