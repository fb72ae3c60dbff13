/*
 * Nonce comparison for the collision rules (RFC 7296 2.8.1, 2.8.2): octet
 * by octet, and a nonce that is a prefix of the other is the lower one.
 */
#ifndef XIKED_NONCE_H
#define XIKED_NONCE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int nonce_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

#endif
