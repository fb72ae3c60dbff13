/* The secret-buffer type; see secret.h. */
#include "crypto/secret.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/*
 * Header and data share one allocation: one malloc per key, and the data
 * pointer can never dangle apart from its length.
 */
struct secret *secret_new(size_t len)
{
	struct secret *s;

	if (len > SIZE_MAX - sizeof(*s))
		return NULL;
	s = calloc(1, sizeof(*s) + len);
	if (!s)
		return NULL;
	s->len = len;
	s->data = (uint8_t *)(s + 1);
	return s;
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
	sodium_memzero(s->data, s->len);
	s->len = 0;
	free(s);
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
