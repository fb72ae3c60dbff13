/*
 * Memory for secrets (crypto/secret.h) that a core dump leaves out: chunks
 * of power-of-two size classes cut from anonymous mappings marked
 * MADV_DONTDUMP, reused through per-class free lists (one page per key, as
 * sodium_malloc costs, would not fit tens of thousands of SAs). The caller
 * wipes before freeing (secret_free does). Thread-safe. Under
 * AddressSanitizer the plain heap is used instead, so that its checks see
 * misuse of key buffers.
 */
#ifndef XIKED_CRYPTO_SECRET_ARENA_H
#define XIKED_CRYPTO_SECRET_ARENA_H

#include <stddef.h>

/* n zeroed octets (n may be 0), NULL when memory is exhausted. */
void *secret_arena_alloc(size_t n);
/* Returns p (from secret_arena_alloc(n), the same n) to the arena. NULL-safe. */
void secret_arena_free(void *p, size_t n);
/* Octets mapped for secrets so far (for tests and status). */
size_t secret_arena_mapped(void);

#endif
