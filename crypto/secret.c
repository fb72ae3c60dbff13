/* The secret-buffer type; see secret.h. */
#include "crypto/secret.h"

#include <stddef.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/secret_arena.h"

/*
 * Header and data share one allocation: one allocation per key, and the
 * data pointer can never dangle apart from its length. The allocation
 * comes from the arena that core dumps leave out (secret_arena.h); its
 * size is kept beside the header, since len is public.
 */
struct secret_block {
	size_t alloc;
	struct secret s;
};

struct secret *secret_new(size_t len)
{
	struct secret_block *b;

	if (len > SIZE_MAX - sizeof(*b))
		return NULL;
	b = secret_arena_alloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	b->alloc = sizeof(*b) + len;
	b->s.len = len;
	b->s.data = (uint8_t *)(b + 1);
	return &b->s;
}

struct secret *secret_dup(const void *p, size_t len)
{
	struct secret *s = secret_new(len);

	if (s && len)
		memcpy(s->data, p, len);
	return s;
}

struct secret *secret_cat(const struct secret *a, const struct secret *b)
{
	struct secret *s;

	if (a->len > SIZE_MAX - b->len)
		return NULL;
	s = secret_new(a->len + b->len);
	if (!s)
		return NULL;
	if (a->len)
		memcpy(s->data, a->data, a->len);
	if (b->len)
		memcpy(s->data + a->len, b->data, b->len);
	return s;
}

void secret_free(struct secret *s)
{
	if (!s)
		return;
	struct secret_block *b = (struct secret_block *)((uint8_t *)s - offsetof(struct secret_block, s));
	size_t alloc = b->alloc;
	sodium_memzero(b, alloc);
	secret_arena_free(b, alloc);
}

bool secret_eq_ct(const struct secret *a, const struct secret *b)
{
	if (!a || !b)
		return a == b;
	if (a->len != b->len)
		return false;
	if (a->len == 0)
		return true;
	return sodium_memcmp(a->data, b->data, a->len) == 0;
}

void crypto_wipe(void *p, size_t len)
{
	if (p && len)
		sodium_memzero(p, len);
}
