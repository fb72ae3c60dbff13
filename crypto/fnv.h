/* crypto/fnv.h: FNV-1a, the one hash behind xiked's hash-table keys (SPI tables, policy and
 * route indexes, DoS records, the fake kernel's tables). Not cryptographic: keys an attacker
 * may choose are mixed further by spi_table (daemon/spi_table.h) or counted per source (dos.c).
 * Header only and dependency free, so every layer (crypto, netlink, daemon) may use it. */
#ifndef XIKED_CRYPTO_FNV_H
#define XIKED_CRYPTO_FNV_H

#include <stddef.h>
#include <stdint.h>

/* The FNV offset bases and primes (draft-eastlake-fnv). */
#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL
#define FNV32_OFFSET 2166136261u
#define FNV32_PRIME 16777619u

/* h continued over n bytes of p (start with FNV64_OFFSET); p is borrowed. */
static inline uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV64_PRIME;
	return h;
}

/* The 32-bit variant (start with FNV32_OFFSET). */
static inline uint32_t fnv32(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV32_PRIME;
	return h;
}

#endif
