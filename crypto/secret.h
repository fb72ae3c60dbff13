/*
 * The one secret-buffer type of xiked (design.md rule 5).
 *
 * Every key, shared secret, SKEYSEED and PSK copy lives in a struct secret
 * once it leaves a primitive. secret_free() always wipes. Buffers come from
 * the secret arena (secret_arena.h: one allocation holding header and data,
 * in mappings a core dump leaves out), not sodium_malloc: guarded
 * allocations cost pages each and xiked keeps tens of thousands of SAs,
 * each holding several keys.
 */
#ifndef XIKED_CRYPTO_SECRET_H
#define XIKED_CRYPTO_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct secret {
	size_t len;
	uint8_t *data; /* len octets, owned by the secret; points inside the same allocation */
};

/* A new secret of len zero octets (len may be 0). NULL on allocation failure. Caller owns it. */
struct secret *secret_new(size_t len);

/* A new secret holding a copy of p[0..len) (borrows p). NULL on allocation failure. */
struct secret *secret_dup(const void *p, size_t len);

/* A new secret a | b (borrows both; either may be empty, neither NULL). NULL on allocation failure. */
struct secret *secret_cat(const struct secret *a, const struct secret *b);

/* Wipes and frees s. NULL-safe. */
void secret_free(struct secret *s);

/*
 * Constant-time comparison of the contents: true when both have the same
 * length and the same octets. Lengths are not secret; contents are compared
 * without data-dependent branches. NULL equals only NULL.
 */
bool secret_eq_ct(const struct secret *a, const struct secret *b);

/* Wipes p[0..len) in a way the compiler cannot elide (stack temporaries). */
void crypto_wipe(void *p, size_t len);

#endif
