/*
 * Address pools and leases (see addr_pool.h). Addresses are offsets from
 * the pool's prefix; a lease sits in two chained hash tables of its pool,
 * by identity and by offset, and while offline on the pool's list of
 * offline leases, oldest first.
 */
#include "daemon/addr_pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/fnv.h"

/* An intrusive chained hash table; grows at load 1. */
struct hnode {
	struct hnode *next;
	uint64_t h;
};

struct htab {
	struct hnode **b;
	size_t mask; /* buckets - 1 */
	size_t n;
};

static int htab_init(struct htab *t)
{
	t->b = calloc(16, sizeof(*t->b));
	t->mask = 15;
	t->n = 0;
	return t->b ? 0 : -ENOMEM;
}

static void htab_grow(struct htab *t)
{
	size_t nb = (t->mask + 1) * 2;
	struct hnode **b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* stays correct, only slower */
	for (size_t i = 0; i <= t->mask; i++)
		for (struct hnode *n = t->b[i], *next; n; n = next) {
			next = n->next;
			n->next = b[n->h & (nb - 1)];
			b[n->h & (nb - 1)] = n;
		}
	free(t->b);
	t->b = b;
	t->mask = nb - 1;
}

static void htab_add(struct htab *t, struct hnode *n, uint64_t h)
{
	n->h = h;
	n->next = t->b[h & t->mask];
	t->b[h & t->mask] = n;
	if (++t->n > t->mask + 1)
		htab_grow(t);
}

static void htab_del(struct htab *t, struct hnode *n)
{
	for (struct hnode **pp = &t->b[n->h & t->mask]; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			t->n--;
			return;
		}
}

#define container_of(p, T, m) ((T *)(void *)((char *)(p) - offsetof(T, m)))

struct lease {
	struct hnode by_id, by_off;
	struct lease *prev_off, *next_off; /* the pool's offline list, while offline */
	struct lease *all_next;            /* every lease of the pool, for status and free */
	uint64_t off;
	unsigned holders; /* IKE SAs holding it: online when > 0 */
	uint64_t since_ms;
	uint16_t id_len;
	uint8_t id[ADDR_POOL_ID_MAX];
	char text[ADDR_POOL_TEXT_MAX];
};

struct addr_pool {
	struct hnode node; /* in addr_pools.by_prefix */
	struct addr_pool *next; /* creation order */
	struct cp_prefix prefix;
	uint64_t first, size; /* offsets first .. first + size - 1 are handed out */
	uint64_t next_unused; /* offsets below first + this were leased once */
	struct htab by_id, by_off;
	struct lease *off_head, *off_tail; /* offline, oldest first */
	struct lease *all;
	size_t online, offline;
	bool marked;
};

struct addr_pools {
	struct htab by_prefix;
	struct addr_pool *first, **tail;
};

static uint64_t prefix_hash(const struct cp_prefix *p)
{
	uint8_t head[2] = { p->family, p->plen };
	return fnv64(fnv64(FNV64_OFFSET, head, 2), p->addr, p->family == AF_INET ? 4 : 16);
}

static bool prefix_eq(const struct cp_prefix *a, const struct cp_prefix *b)
{
	return a->family == b->family && a->plen == b->plen &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

struct addr_pools *addr_pools_new(void)
{
	struct addr_pools *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	if (htab_init(&ps->by_prefix) < 0) {
		free(ps);
		return NULL;
	}
	ps->tail = &ps->first;
	return ps;
}

static void pool_free(struct addr_pool *p)
{
	for (struct lease *l = p->all, *n; l; l = n) {
		n = l->all_next;
		free(l);
	}
	free(p->by_id.b);
	free(p->by_off.b);
	free(p);
}

void addr_pools_free(struct addr_pools *ps)
{
	if (!ps)
		return;
	for (struct addr_pool *p = ps->first, *n; p; p = n) {
		n = p->next;
		pool_free(p);
	}
	free(ps->by_prefix.b);
	free(ps);
}

int addr_pool_parse(const char *text, struct cp_prefix *out, char *why, size_t whylen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	memset(out, 0, sizeof(*out));
	if (!slash || (size_t)(slash - text) >= INET6_ADDRSTRLEN) {
		snprintf(why, whylen, "pool '%s': needs ADDRESS/PREFIXLEN", text);
		return -1;
	}
	memcpy(buf, text, (size_t)(slash - text));
	buf[slash - text] = '\0';
	char *end;
	unsigned long plen = strtoul(slash + 1, &end, 10);
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
	} else {
		snprintf(why, whylen, "pool '%s': '%s' is no IPv4 or IPv6 address", text, buf);
		return -1;
	}
	unsigned bits = out->family == AF_INET ? 32 : 128;
	/* IPv6 below /64 would be 2^64 addresses and more: nothing needs that many. */
	unsigned minp = out->family == AF_INET ? 8 : 64;
	if (!slash[1] || *end || plen < minp || plen > bits - 1) {
		snprintf(why, whylen, "pool '%s': prefix length '%s', needs %u..%u", text, slash + 1,
			 minp, bits - 1);
		return -1;
	}
	out->plen = (uint8_t)plen;
	for (unsigned i = (unsigned)plen; i < bits; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8))) {
			snprintf(why, whylen, "pool '%s': host bits set, needs the network address",
				 text);
			return -1;
		}
	return 0;
}

void addr_prefix_format(const struct cp_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(p->family == AF_INET ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->plen);
}

struct addr_pool *addr_pools_find(const struct addr_pools *ps, const struct cp_prefix *prefix)
{
	uint64_t h = prefix_hash(prefix);
	for (struct hnode *n = ps->by_prefix.b[h & ps->by_prefix.mask]; n; n = n->next) {
		struct addr_pool *p = container_of(n, struct addr_pool, node);
		if (n->h == h && prefix_eq(&p->prefix, prefix))
			return p;
	}
	return NULL;
}

struct addr_pool *addr_pools_get(struct addr_pools *ps, const struct cp_prefix *prefix)
{
	struct addr_pool *p = addr_pools_find(ps, prefix);
	if (p) {
		p->marked = true;
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (htab_init(&p->by_id) < 0 || htab_init(&p->by_off) < 0) {
		pool_free(p);
		return NULL;
	}
	p->prefix = *prefix;
	unsigned host = (p->prefix.family == AF_INET ? 32u : 128u) - prefix->plen;
	/*
	 * Offset 0 is the network address; IPv4 also keeps back the broadcast
	 * address, except in a /31 (RFC 3021) where both are hosts. IPv6 pools
	 * are capped at 2^32 addresses.
	 */
	uint64_t span = host >= 32 ? (1ull << 32) : (1ull << host);
	if (p->prefix.family == AF_INET && host <= 1) {
		p->first = 0;
		p->size = span;
	} else {
		p->first = 1;
		p->size = span - (p->prefix.family == AF_INET ? 2 : 1);
	}
	p->marked = true;
	htab_add(&ps->by_prefix, &p->node, prefix_hash(prefix));
	*ps->tail = p;
	ps->tail = &p->next;
	return p;
}

void addr_pools_mark(struct addr_pools *ps)
{
	for (struct addr_pool *p = ps->first; p; p = p->next)
		p->marked = false;
}

static void pool_unlink(struct addr_pools *ps, struct addr_pool *p)
{
	htab_del(&ps->by_prefix, &p->node);
	for (struct addr_pool **pp = &ps->first; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			if (ps->tail == &p->next)
				ps->tail = pp;
			break;
		}
}

size_t addr_pools_sweep(struct addr_pools *ps)
{
	size_t freed = 0;
	for (struct addr_pool *p = ps->first, *n; p; p = n) {
		n = p->next;
		if (!p->marked && p->online == 0) {
			pool_unlink(ps, p);
			pool_free(p);
			freed++;
		}
	}
	return freed;
}

static uint64_t id_hash(const uint8_t *id, size_t len)
{
	return fnv64(FNV64_OFFSET, id, len);
}

static uint64_t off_hash(uint64_t off)
{
	return fnv64(FNV64_OFFSET, &off, sizeof(off));
}

static struct lease *find_id(const struct addr_pool *p, const uint8_t *id, size_t len)
{
	uint64_t h = id_hash(id, len);
	for (struct hnode *n = p->by_id.b[h & p->by_id.mask]; n; n = n->next) {
		struct lease *l = container_of(n, struct lease, by_id);
		if (n->h == h && l->id_len == len && memcmp(l->id, id, len) == 0)
			return l;
	}
	return NULL;
}

static struct lease *find_off(const struct addr_pool *p, uint64_t off)
{
	uint64_t h = off_hash(off);
	for (struct hnode *n = p->by_off.b[h & p->by_off.mask]; n; n = n->next) {
		struct lease *l = container_of(n, struct lease, by_off);
		if (n->h == h && l->off == off)
			return l;
	}
	return NULL;
}

static void offline_unlink(struct addr_pool *p, struct lease *l)
{
	if (l->prev_off)
		l->prev_off->next_off = l->next_off;
	else
		p->off_head = l->next_off;
	if (l->next_off)
		l->next_off->prev_off = l->prev_off;
	else
		p->off_tail = l->prev_off;
	l->prev_off = l->next_off = NULL;
	p->offline--;
}

static void offline_append(struct addr_pool *p, struct lease *l)
{
	l->next_off = NULL;
	l->prev_off = p->off_tail;
	if (p->off_tail)
		p->off_tail->next_off = l;
	else
		p->off_head = l;
	p->off_tail = l;
	p->offline++;
}

/* The address at offset off of the prefix (big-endian addition into the host bits). */
static void off_addr(const struct addr_pool *p, uint64_t off, struct cp_prefix *out)
{
	size_t n = p->prefix.family == AF_INET ? 4 : 16;
	memset(out, 0, sizeof(*out));
	out->family = p->prefix.family;
	out->plen = (uint8_t)(n * 8);
	memcpy(out->addr, p->prefix.addr, n);
	unsigned carry = 0;
	for (size_t i = n; i-- > 0;) {
		unsigned s = out->addr[i] + (unsigned)(off & 0xff) + carry;
		out->addr[i] = (uint8_t)s;
		carry = s >> 8;
		off >>= 8;
	}
}

/* addr's offset in p, or UINT64_MAX when outside it. */
static uint64_t addr_off(const struct addr_pool *p, const struct cp_prefix *a)
{
	if (a->family != p->prefix.family)
		return UINT64_MAX;
	size_t n = p->prefix.family == AF_INET ? 4 : 16;
	for (unsigned i = 0; i < p->prefix.plen; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));
		if ((a->addr[i / 8] & m) != (p->prefix.addr[i / 8] & m))
			return UINT64_MAX;
	}
	/* host bits beyond 64 are zero in any offset we hand out */
	uint64_t off = 0;
	for (size_t i = n >= 8 ? n - 8 : 0; i < n; i++)
		off = off << 8 | a->addr[i];
	unsigned host = (unsigned)(n * 8) - p->prefix.plen;
	if (host < 64)
		off &= (1ull << host) - 1;
	return off;
}

int addr_pool_acquire(struct addr_pool *p, const uint8_t *id, size_t id_len, const char *text,
		      uint64_t now_ms, struct cp_prefix *out)
{
	if (!p || id_len == 0 || id_len > ADDR_POOL_ID_MAX)
		return -EINVAL;
	struct lease *l = find_id(p, id, id_len);
	if (l) {
		if (l->holders == 0) {
			offline_unlink(p, l);
			p->online++;
			l->since_ms = now_ms;
		}
		l->holders++;
		off_addr(p, l->off, out);
		return 0;
	}
	if (p->next_unused < p->size) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		l->off = p->first + p->next_unused++;
		htab_add(&p->by_off, &l->by_off, off_hash(l->off));
		l->all_next = p->all;
		p->all = l;
	} else if (p->off_head) {
		/* the identity that went offline longest ago loses its address */
		l = p->off_head;
		offline_unlink(p, l);
		htab_del(&p->by_id, &l->by_id);
	} else {
		return -ENOSPC;
	}
	memcpy(l->id, id, id_len);
	l->id_len = (uint16_t)id_len;
	snprintf(l->text, sizeof(l->text), "%s", text ? text : "");
	htab_add(&p->by_id, &l->by_id, id_hash(id, id_len));
	l->holders = 1;
	l->since_ms = now_ms;
	p->online++;
	off_addr(p, l->off, out);
	return 0;
}

int addr_pool_release(struct addr_pools *ps, struct addr_pool *p, const struct cp_prefix *addr,
		      uint64_t now_ms)
{
	uint64_t off = addr_off(p, addr);
	struct lease *l = off == UINT64_MAX ? NULL : find_off(p, off);
	if (!l || l->holders == 0)
		return -ENOENT;
	if (--l->holders == 0) {
		p->online--;
		l->since_ms = now_ms;
		offline_append(p, l);
		/* a pool the configuration dropped goes with its last online lease */
		if (!p->marked && p->online == 0 && ps) {
			pool_unlink(ps, p);
			pool_free(p);
		}
	}
	return 0;
}

const struct cp_prefix *addr_pool_prefix(const struct addr_pool *p)
{
	return &p->prefix;
}

uint64_t addr_pool_size(const struct addr_pool *p)
{
	return p->size;
}

size_t addr_pool_online(const struct addr_pool *p)
{
	return p->online;
}

size_t addr_pool_offline(const struct addr_pool *p)
{
	return p->offline;
}

void addr_pools_each(const struct addr_pools *ps, void (*fn)(struct addr_pool *p, void *ctx),
		     void *ctx)
{
	for (struct addr_pool *p = ps->first, *n; p; p = n) {
		n = p->next;
		fn(p, ctx);
	}
}

void addr_pool_each_lease(const struct addr_pool *p,
			  void (*fn)(const struct addr_lease_info *l, void *ctx), void *ctx)
{
	for (const struct lease *l = p->all; l; l = l->all_next) {
		if (l->id_len == 0)
			continue;
		struct addr_lease_info i = { .identity = l->text,
					     .online = l->holders > 0,
					     .holders = l->holders,
					     .since_ms = l->since_ms };
		off_addr(p, l->off, &i.addr);
		fn(&i, ctx);
	}
}
