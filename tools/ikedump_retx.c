/* Retransmission detection for ikedump; see ikedump_retx.h. */
#include "tools/ikedump_retx.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/fnv.h"

struct retx_entry {
	uint64_t hash;
	size_t len;
	struct retx_entry *next;
	uint8_t data[]; /* the message */
};

struct retx_set {
	struct retx_entry **bucket;
	size_t n_buckets, n, mem;
};

/* FNV-1a, 64 bits: spreads over the buckets; equality is checked on the octets. */
static uint64_t retx_hash(const uint8_t *p, size_t len)
{
	return fnv64(FNV64_OFFSET, p, len);
}

struct retx_set *retx_new(void)
{
	struct retx_set *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->n_buckets = 1024;
	s->bucket = calloc(s->n_buckets, sizeof(*s->bucket));
	if (!s->bucket) {
		free(s);
		return NULL;
	}
	return s;
}

void retx_free(struct retx_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_buckets; i++) {
		while (s->bucket[i]) {
			struct retx_entry *n = s->bucket[i]->next;

			free(s->bucket[i]);
			s->bucket[i] = n;
		}
	}
	free(s->bucket);
	free(s);
}

/* Doubles the table when it holds two entries per bucket on average. */
static void retx_grow(struct retx_set *s)
{
	size_t nb = s->n_buckets * 2;
	struct retx_entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->n_buckets; i++) {
		while (s->bucket[i]) {
			struct retx_entry *e = s->bucket[i];

			s->bucket[i] = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(s->bucket);
	s->bucket = b;
	s->n_buckets = nb;
}

bool retx_seen(struct retx_set *s, const uint8_t *msg, size_t len)
{
	uint64_t h = retx_hash(msg, len);
	struct retx_entry *e;

	for (e = s->bucket[h & (s->n_buckets - 1)]; e; e = e->next)
		if (e->hash == h && e->len == len && memcmp(e->data, msg, len) == 0)
			return true;
	if (s->mem + len > RETX_MEM_MAX)
		return false;
	e = malloc(sizeof(*e) + len);
	if (!e)
		return false;
	e->hash = h;
	e->len = len;
	memcpy(e->data, msg, len);
	e->next = s->bucket[h & (s->n_buckets - 1)];
	s->bucket[h & (s->n_buckets - 1)] = e;
	s->mem += len;
	if (++s->n > 2 * s->n_buckets)
		retx_grow(s);
	return false;
}
