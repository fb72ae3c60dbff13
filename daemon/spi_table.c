/* Chained hash table keyed by 64-bit SPIs (see spi_table.h). */
#include "daemon/spi_table.h"

#include <errno.h>
#include <stdlib.h>

struct entry {
	struct entry *next;
	uint64_t key;
	void *val;
};

struct spi_table {
	struct entry **b;
	size_t mask; /* buckets - 1 */
	size_t count;
};

/* splitmix64 finaliser: spreads derived (non-random) keys over the buckets. */
static size_t mix(uint64_t k)
{
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebULL;
	k ^= k >> 31;
	return (size_t)k;
}

struct spi_table *spi_table_new(void)
{
	struct spi_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->mask = 63;
	t->b = calloc(t->mask + 1, sizeof(*t->b));
	if (!t->b) {
		free(t);
		return NULL;
	}
	return t;
}

void spi_table_free(struct spi_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct entry *e = t->b[i];
		while (e) {
			struct entry *n = e->next;
			free(e);
			e = n;
		}
	}
	free(t->b);
	free(t);
}

static void grow(struct spi_table *t)
{
	size_t nmask = t->mask * 2 + 1;
	struct entry **nb = calloc(nmask + 1, sizeof(*nb));
	if (!nb)
		return; /* keep the old size: still correct, only slower */
	for (size_t i = 0; i <= t->mask; i++) {
		struct entry *e = t->b[i];
		while (e) {
			struct entry *n = e->next;
			size_t h = mix(e->key) & nmask;
			e->next = nb[h];
			nb[h] = e;
			e = n;
		}
	}
	free(t->b);
	t->b = nb;
	t->mask = nmask;
}

int spi_table_add(struct spi_table *t, uint64_t key, void *val)
{
	if (spi_table_get(t, key))
		return -EEXIST;
	struct entry *e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (t->count >= t->mask + 1)
		grow(t);
	size_t h = mix(key) & t->mask;
	e->key = key;
	e->val = val;
	e->next = t->b[h];
	t->b[h] = e;
	t->count++;
	return 0;
}

void *spi_table_get(const struct spi_table *t, uint64_t key)
{
	for (struct entry *e = t->b[mix(key) & t->mask]; e; e = e->next)
		if (e->key == key)
			return e->val;
	return NULL;
}

void *spi_table_del(struct spi_table *t, uint64_t key)
{
	struct entry **pp = &t->b[mix(key) & t->mask];
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->key == key) {
			struct entry *e = *pp;
			void *v = e->val;
			*pp = e->next;
			free(e);
			t->count--;
			return v;
		}
	}
	return NULL;
}

size_t spi_table_count(const struct spi_table *t)
{
	return t->count;
}

void spi_table_each(const struct spi_table *t, void (*fn)(uint64_t key, void *val, void *ctx),
		    void *ctx)
{
	for (size_t i = 0; i <= t->mask; i++)
		for (struct entry *e = t->b[i]; e; e = e->next)
			fn(e->key, e->val, ctx);
}
