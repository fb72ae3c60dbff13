/* Memory for secrets, kept out of core dumps; see secret_arena.h. */
#include "crypto/secret_arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECRET_ARENA_PLAIN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SECRET_ARENA_PLAIN 1
#endif

#ifndef SECRET_ARENA_PLAIN
/* Size classes 32, 64, ..., 4096 octets; larger secrets get a mapping of their own. */
#define CLASS_MIN_SHIFT 5
#define CLASS_MAX_SHIFT 12
#define NCLASSES (CLASS_MAX_SHIFT - CLASS_MIN_SHIFT + 1)
/* Chunks are cut from regions of this size, never returned (reused through the free lists). */
#define REGION_SIZE (256u * 1024u)

struct free_chunk {
	struct free_chunk *next;
};

static struct {
	pthread_mutex_t lock;
	struct free_chunk *free[NCLASSES];
	uint8_t *cur; /* the region being cut */
	size_t cur_left;
	size_t mapped; /* octets mapped, for secret_arena_mapped() */
} A = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int class_of(size_t n)
{
	int c = 0;
	while (((size_t)1 << (c + CLASS_MIN_SHIFT)) < n)
		c++;
	return c;
}

/* A private anonymous mapping left out of core dumps (MADV_DONTDUMP, Linux 3.4). */
static void *map_dontdump(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, len, MADV_DONTDUMP); /* best effort: an old kernel still gets zeroed keys */
	A.mapped += len;
	return p;
}

static size_t big_len(size_t n)
{
	size_t page = 4096;
	return (n + page - 1) / page * page;
}

#endif

void *secret_arena_alloc(size_t n)
{
#ifdef SECRET_ARENA_PLAIN
	/* Under ASan, plain heap memory: its checks see use-after-free of keys. */
	return calloc(1, n ? n : 1);
#else
	if (n == 0)
		n = 1;
	if (n > ((size_t)1 << CLASS_MAX_SHIFT)) {
		if (n > SIZE_MAX - 4096)
			return NULL;
		pthread_mutex_lock(&A.lock);
		void *p = map_dontdump(big_len(n));
		pthread_mutex_unlock(&A.lock);
		return p; /* fresh anonymous pages are zero */
	}
	int c = class_of(n);
	size_t sz = (size_t)1 << (c + CLASS_MIN_SHIFT);
	void *p = NULL;
	pthread_mutex_lock(&A.lock);
	if (A.free[c]) {
		struct free_chunk *f = A.free[c];
		A.free[c] = f->next;
		p = f;
	} else {
		if (A.cur_left < sz) {
			/* The rest of the old region is abandoned (less than one chunk of this class). */
			A.cur = map_dontdump(REGION_SIZE);
			A.cur_left = A.cur ? REGION_SIZE : 0;
		}
		if (A.cur) {
			p = A.cur;
			A.cur += sz;
			A.cur_left -= sz;
		}
	}
	pthread_mutex_unlock(&A.lock);
	if (p)
		memset(p, 0, sz);
	return p;
#endif
}

void secret_arena_free(void *p, size_t n)
{
	if (!p)
		return;
#ifdef SECRET_ARENA_PLAIN
	(void)n;
	free(p);
#else
	if (n == 0)
		n = 1;
	pthread_mutex_lock(&A.lock);
	if (n > ((size_t)1 << CLASS_MAX_SHIFT)) {
		size_t len = big_len(n);
		munmap(p, len);
		A.mapped -= len;
	} else {
		struct free_chunk *f = p;
		int c = class_of(n);
		f->next = A.free[c];
		A.free[c] = f;
	}
	pthread_mutex_unlock(&A.lock);
#endif
}

size_t secret_arena_mapped(void)
{
#ifdef SECRET_ARENA_PLAIN
	return 0;
#else
	pthread_mutex_lock(&A.lock);
	size_t m = A.mapped;
	pthread_mutex_unlock(&A.lock);
	return m;
#endif
}
