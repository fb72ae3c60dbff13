/* netlink/kernel_fake.c: recording fake of struct kernel_ops (see kernel_fake.h). */
#include "netlink/kernel_fake.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crypto/fnv.h"

#define NIL 0u /* chain terminator: slot links are index + 1 */

struct sa_slot {
	bool used, larval;
	uint32_t next; /* hash chain (used) or free list (unused), index + 1 */
	struct kernel_sa sa; /* pointers refreshed by sa_view() */
	struct ksel sel;
	bool has_sel;
	char enc_alg[KERNEL_FAKE_ALG_MAX], integ_alg[KERNEL_FAKE_ALG_MAX];
	uint8_t enc_key[KERNEL_FAKE_KEY_MAX], integ_key[KERNEL_FAKE_KEY_MAX];
	struct kernel_sa_stats stats;
	struct kernel_fake_sa view;
};

struct pol_slot {
	bool used;
	uint32_t next;
	struct kernel_policy p; /* sel stored normalized */
};

/* A table of slots with a chained hash index; slots never move except on growth. */
struct table {
	void *slots;
	size_t slot_size, cap, count;
	uint32_t free_head;
	uint32_t *buckets; /* index + 1 */
	size_t nbuckets;
};

enum ev_type { EV_EXPIRE, EV_ACQUIRE, EV_MAPPING };

struct fake_event {
	enum ev_type type;
	uint32_t spi, reqid;
	uint8_t proto;
	bool hard;
	struct kaddr a, b;
	uint16_t pa, pb;
	struct ksel sel;
};

struct kernel_fake {
	struct kernel_events cb;
	struct table sas, pols;
	size_t larval;
	uint32_t next_spi;
	unsigned calls[KFAKE_OP_COUNT];
	struct {
		int err;
		unsigned times;
	} fail[KFAKE_OP_COUNT];
	bool last_injected;
	struct kernel_fake_call *log;
	size_t log_len, log_cap;
	struct fake_event *ev;
	size_t ev_head, ev_len, ev_cap;
	int efd;
};

/* --- hashing and normalization --- */

static uint32_t sa_hash(const struct kaddr *dst, uint32_t spi, uint8_t proto)
{
	uint32_t h = FNV32_OFFSET;

	h = fnv32(h, &dst->family, 1);
	h = fnv32(h, dst->a, kaddr_len(dst->family));
	h = fnv32(h, &spi, sizeof(spi));
	return fnv32(h, &proto, 1);
}

static void mask_addr(struct kaddr *a, unsigned plen)
{
	size_t len = kaddr_len(a->family);

	for (size_t i = 0; i < sizeof(a->a); i++) {
		unsigned bits = plen > i * 8 ? plen - (unsigned)i * 8 : 0;

		if (i >= len)
			a->a[i] = 0;
		else if (bits < 8)
			a->a[i] &= (uint8_t)(0xff00u >> bits);
	}
}

/* The same normalization the netlink backend applies (xfrm_sel_from_ksel), so the fake
 * matches add and delete the way the kernel does. */
static struct ksel sel_norm(const struct ksel *s)
{
	struct ksel n;

	memset(&n, 0, sizeof(n));
	n.src.family = s->src.family;
	n.dst.family = s->dst.family;
	memcpy(n.src.a, s->src.a, sizeof(n.src.a));
	memcpy(n.dst.a, s->dst.a, sizeof(n.dst.a));
	mask_addr(&n.src, s->src_plen);
	mask_addr(&n.dst, s->dst_plen);
	n.src_plen = s->src_plen;
	n.dst_plen = s->dst_plen;
	n.proto = s->proto;
	n.sport_mask = s->sport_mask;
	n.sport = s->sport & s->sport_mask;
	n.dport_mask = s->dport_mask;
	n.dport = s->dport & s->dport_mask;
	return n;
}

static bool sel_eq(const struct ksel *x, const struct ksel *y)
{
	return kaddr_eq(&x->src, &y->src) && kaddr_eq(&x->dst, &y->dst) && x->src_plen == y->src_plen &&
	       x->dst_plen == y->dst_plen && x->proto == y->proto && x->sport == y->sport &&
	       x->sport_mask == y->sport_mask && x->dport == y->dport && x->dport_mask == y->dport_mask;
}

static uint32_t pol_hash(const struct ksel *n, enum kdir dir, uint32_t mark, uint32_t mask, uint32_t if_id)
{
	uint32_t h = FNV32_OFFSET;
	uint32_t d = (uint32_t)dir;

	h = fnv32(h, &n->src.family, 1);
	h = fnv32(h, n->src.a, sizeof(n->src.a));
	h = fnv32(h, &n->dst.family, 1);
	h = fnv32(h, n->dst.a, sizeof(n->dst.a));
	h = fnv32(h, &n->src_plen, 1);
	h = fnv32(h, &n->dst_plen, 1);
	h = fnv32(h, &n->proto, 1);
	h = fnv32(h, &n->sport, 2);
	h = fnv32(h, &n->dport, 2);
	h = fnv32(h, &d, 4);
	h = fnv32(h, &mark, 4);
	h = fnv32(h, &mask, 4);
	return fnv32(h, &if_id, 4);
}

/* --- tables --- */

static void *slot_at(const struct table *t, uint32_t idx)
{
	return (uint8_t *)t->slots + (size_t)idx * t->slot_size;
}

/* Each slot type starts with bool used; uint32_t next. */
struct slot_head {
	bool used;
	uint32_t next;
};

static struct slot_head *head_at(const struct table *t, uint32_t idx)
{
	return slot_at(t, idx);
}

/* Grow the slot array without leaving an unwiped copy behind (no realloc). */
static int table_grow(struct table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 16;
	void *p = calloc(cap, t->slot_size);

	if (p == NULL)
		return -ENOMEM;
	if (t->slots != NULL) {
		memcpy(p, t->slots, t->cap * t->slot_size);
		explicit_bzero(t->slots, t->cap * t->slot_size);
		free(t->slots);
	}
	t->slots = p;
	/* New slots join the free list. */
	for (size_t i = cap; i-- > t->cap;) {
		head_at(t, (uint32_t)i)->next = t->free_head;
		t->free_head = (uint32_t)i + 1;
	}
	t->cap = cap;
	return 0;
}

static int table_rehash(struct table *t, size_t nbuckets, uint32_t (*hash)(const void *slot))
{
	uint32_t *b = calloc(nbuckets, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct slot_head *h = head_at(t, (uint32_t)i);

		if (!h->used)
			continue;
		uint32_t bi = hash(h) & (uint32_t)(nbuckets - 1);

		h->next = b[bi];
		b[bi] = (uint32_t)i + 1;
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nbuckets;
	return 0;
}

/* Take a free slot (zeroed) and link it under hash h. */
static int table_insert(struct table *t, uint32_t h, uint32_t (*hash)(const void *slot), void **out)
{
	uint32_t idx;
	struct slot_head *sh;
	int err;

	if (t->free_head == NIL && (err = table_grow(t)) != 0)
		return err;
	if (t->count + 1 > t->nbuckets && (err = table_rehash(t, t->nbuckets ? t->nbuckets * 2 : 64, hash)) != 0)
		return err;
	idx = t->free_head - 1;
	sh = head_at(t, idx);
	t->free_head = sh->next;
	memset(sh, 0, t->slot_size);
	sh->used = true;
	sh->next = t->buckets[h & (t->nbuckets - 1)];
	t->buckets[h & (t->nbuckets - 1)] = idx + 1;
	t->count++;
	*out = sh;
	return 0;
}

/* Unlink slot idx (hashed under h), wipe it, put it on the free list. */
static void table_remove(struct table *t, uint32_t idx, uint32_t h)
{
	uint32_t *link = &t->buckets[h & (t->nbuckets - 1)];
	struct slot_head *sh = head_at(t, idx);

	while (*link != NIL && *link != idx + 1)
		link = &head_at(t, *link - 1)->next;
	if (*link == idx + 1)
		*link = sh->next;
	explicit_bzero(sh, t->slot_size);
	sh->next = t->free_head;
	t->free_head = idx + 1;
	t->count--;
}

static void table_free(struct table *t)
{
	if (t->slots != NULL) {
		explicit_bzero(t->slots, t->cap * t->slot_size);
		free(t->slots);
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static uint32_t sa_slot_hash(const void *slot)
{
	const struct sa_slot *s = slot;

	return sa_hash(&s->sa.dst, s->sa.spi, s->sa.proto);
}

static uint32_t pol_slot_hash(const void *slot)
{
	const struct pol_slot *s = slot;

	return pol_hash(&s->p.sel, s->p.dir, s->p.mark, s->p.mark_mask, s->p.if_id);
}

/* XFRM's state lookup: (dst, spi, proto), then the mark rule of xfrm_state_lookup:
 * (requested mark & state's mask) == state's value, the requested mark being v & m. */
static struct sa_slot *sa_lookup(const struct kernel_fake *f, const struct kaddr *dst, uint32_t spi, uint8_t proto,
				 uint32_t mark, uint32_t mark_mask, uint32_t *idx_out)
{
	const struct table *t = &f->sas;
	uint32_t want = mark & mark_mask;

	if (t->nbuckets == 0)
		return NULL;
	for (uint32_t l = t->buckets[sa_hash(dst, spi, proto) & (t->nbuckets - 1)]; l != NIL;) {
		struct sa_slot *s = slot_at(t, l - 1);

		if (s->sa.spi == spi && s->sa.proto == proto && kaddr_eq(&s->sa.dst, dst) &&
		    (want & s->sa.mark_mask) == s->sa.mark) {
			if (idx_out != NULL)
				*idx_out = l - 1;
			return s;
		}
		l = s->next;
	}
	return NULL;
}

/* By (dst, spi, proto) alone, whatever the mark: the state's identity. */
static struct sa_slot *sa_find_key(const struct kernel_fake *f, const struct kaddr *dst, uint32_t spi, uint8_t proto,
				   uint32_t *idx_out)
{
	const struct table *t = &f->sas;

	if (t->nbuckets == 0)
		return NULL;
	for (uint32_t l = t->buckets[sa_hash(dst, spi, proto) & (t->nbuckets - 1)]; l != NIL;) {
		struct sa_slot *s = slot_at(t, l - 1);

		if (s->sa.spi == spi && s->sa.proto == proto && kaddr_eq(&s->sa.dst, dst)) {
			if (idx_out != NULL)
				*idx_out = l - 1;
			return s;
		}
		l = s->next;
	}
	return NULL;
}

static void sa_remove(struct kernel_fake *f, uint32_t idx)
{
	struct sa_slot *s = slot_at(&f->sas, idx);

	if (s->larval)
		f->larval--;
	table_remove(&f->sas, idx, sa_slot_hash(s));
}

static const struct kernel_fake_sa *sa_view(struct sa_slot *s)
{
	s->view.sa = s->sa;
	s->view.sa.enc_alg = s->enc_alg[0] != '\0' ? s->enc_alg : NULL;
	s->view.sa.integ_alg = s->integ_alg[0] != '\0' ? s->integ_alg : NULL;
	s->view.sa.enc_key = s->enc_key;
	s->view.sa.integ_key = s->integ_key;
	s->view.sa.sel = s->has_sel ? &s->sel : NULL;
	s->view.larval = s->larval;
	s->view.stats = s->stats;
	return &s->view;
}

static struct pol_slot *pol_lookup(const struct kernel_fake *f, const struct ksel *sel, enum kdir dir, uint32_t mark,
				   uint32_t mark_mask, uint32_t if_id, uint32_t *idx_out)
{
	const struct table *t = &f->pols;
	struct ksel n = sel_norm(sel);

	if (t->nbuckets == 0)
		return NULL;
	for (uint32_t l = t->buckets[pol_hash(&n, dir, mark, mark_mask, if_id) & (t->nbuckets - 1)]; l != NIL;) {
		struct pol_slot *s = slot_at(t, l - 1);

		if (s->p.dir == dir && s->p.mark == mark && s->p.mark_mask == mark_mask && s->p.if_id == if_id &&
		    sel_eq(&s->p.sel, &n)) {
			if (idx_out != NULL)
				*idx_out = l - 1;
			return s;
		}
		l = s->next;
	}
	return NULL;
}

/* --- call bookkeeping --- */

static void log_call(struct kernel_fake *f, const struct kernel_fake_call *c)
{
	if (f->log_len == f->log_cap) {
		size_t cap = f->log_cap ? f->log_cap * 2 : 64;
		void *p = reallocarray(f->log, cap, sizeof(*f->log));

		if (p == NULL)
			return; /* the log is best effort; counts stay exact */
		f->log = p;
		f->log_cap = cap;
	}
	f->log[f->log_len++] = *c;
}

/* Count the call; if a failure is armed for op, consume it and return its errno. */
static int begin(struct kernel_fake *f, enum kernel_fake_op op)
{
	f->calls[op]++;
	f->last_injected = false;
	if (f->fail[op].times > 0) {
		f->fail[op].times--;
		f->last_injected = true;
		return f->fail[op].err;
	}
	return 0;
}

static int finish(struct kernel_fake *f, struct kernel_fake_call *c, int result)
{
	c->result = result;
	log_call(f, c);
	return result;
}

static bool family_ok(uint8_t family)
{
	return family == AF_INET || family == AF_INET6;
}

/* --- kernel_ops --- */

static int fk_get_spi(void *k, const struct kaddr *src, const struct kaddr *dst, uint8_t proto, uint32_t reqid,
		      uint32_t want, uint32_t *spi_out)
{
	struct kernel_fake *f = k;
	struct kernel_fake_call c = { .op = KFAKE_GET_SPI, .dst = *dst, .proto = proto, .reqid = reqid, .inbound = true };
	struct sa_slot *s;
	uint32_t spi;
	int err = begin(f, KFAKE_GET_SPI);

	if (err != 0)
		return finish(f, &c, err);
	if (!family_ok(dst->family) || src->family != dst->family || (proto != IPPROTO_ESP && proto != IPPROTO_AH))
		return finish(f, &c, -EINVAL);
	if (want != 0) {
		/* xfrm_alloc_spi with min == max: that SPI or -ENOENT. */
		if (sa_find_key(f, dst, want, proto, NULL) != NULL)
			return finish(f, &c, -ENOENT);
		spi = want;
	} else {
		do
			spi = htonl(f->next_spi++);
		while (sa_find_key(f, dst, spi, proto, NULL) != NULL);
	}
	err = table_insert(&f->sas, sa_hash(dst, spi, proto), sa_slot_hash, (void **)&s);
	if (err != 0)
		return finish(f, &c, err);
	s->larval = true;
	s->sa.src = *src;
	s->sa.dst = *dst;
	s->sa.spi = spi;
	s->sa.proto = proto;
	s->sa.reqid = reqid;
	s->sa.inbound = true;
	f->larval++;
	*spi_out = spi;
	c.spi = spi;
	return finish(f, &c, 0);
}

static int sa_check(const struct kernel_sa *sa)
{
	if (!family_ok(sa->dst.family) || sa->src.family != sa->dst.family)
		return -EINVAL;
	if (sa->proto != IPPROTO_ESP && sa->proto != IPPROTO_AH)
		return -EINVAL;
	if (sa->enc_key_len > KERNEL_FAKE_KEY_MAX || sa->integ_key_len > KERNEL_FAKE_KEY_MAX)
		return -EINVAL;
	if ((sa->enc_alg != NULL && strlen(sa->enc_alg) >= KERNEL_FAKE_ALG_MAX) ||
	    (sa->integ_alg != NULL && strlen(sa->integ_alg) >= KERNEL_FAKE_ALG_MAX))
		return -EINVAL;
	if (sa->enc_alg == NULL && sa->integ_alg == NULL)
		return -EINVAL;
	if (sa->icv_bits != 0 && sa->integ_alg != NULL)
		return -EINVAL;
	return 0;
}

/* Copy sa (and what it points to) into slot s, keys included. */
static void sa_store(struct sa_slot *s, const struct kernel_sa *sa)
{
	explicit_bzero(s->enc_key, sizeof(s->enc_key));
	explicit_bzero(s->integ_key, sizeof(s->integ_key));
	s->sa = *sa;
	s->sa.enc_alg = s->sa.integ_alg = NULL;
	s->sa.enc_key = s->sa.integ_key = NULL;
	s->sa.sel = NULL;
	memset(s->enc_alg, 0, sizeof(s->enc_alg));
	memset(s->integ_alg, 0, sizeof(s->integ_alg));
	if (sa->enc_alg != NULL)
		memcpy(s->enc_alg, sa->enc_alg, strlen(sa->enc_alg));
	if (sa->integ_alg != NULL)
		memcpy(s->integ_alg, sa->integ_alg, strlen(sa->integ_alg));
	if (sa->enc_key_len != 0)
		memcpy(s->enc_key, sa->enc_key, sa->enc_key_len);
	if (sa->integ_key_len != 0)
		memcpy(s->integ_key, sa->integ_key, sa->integ_key_len);
	s->has_sel = sa->sel != NULL;
	if (s->has_sel)
		s->sel = *sa->sel;
}

static void sa_call(struct kernel_fake_call *c, enum kernel_fake_op op, const struct kernel_sa *sa)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->dst = sa->dst;
	c->spi = sa->spi;
	c->proto = sa->proto;
	c->reqid = sa->reqid;
	c->inbound = sa->inbound;
}

static int fk_add_sa(void *k, const struct kernel_sa *sa)
{
	struct kernel_fake *f = k;
	struct kernel_fake_call c;
	struct sa_slot *s;
	int err = begin(f, KFAKE_ADD_SA);

	sa_call(&c, KFAKE_ADD_SA, sa);
	if (err != 0)
		return finish(f, &c, err);
	if ((err = sa_check(sa)) != 0)
		return finish(f, &c, err);
	if (sa_find_key(f, &sa->dst, sa->spi, sa->proto, NULL) != NULL)
		return finish(f, &c, -EEXIST);
	err = table_insert(&f->sas, sa_hash(&sa->dst, sa->spi, sa->proto), sa_slot_hash, (void **)&s);
	if (err != 0)
		return finish(f, &c, err);
	sa_store(s, sa);
	return finish(f, &c, 0);
}

/* XFRM_MSG_UPDSA: a larval state is replaced whole; a valid one only takes the new encap
 * and lifetimes (xfrm_state_update), keeping its keys. */
static int fk_update_sa(void *k, const struct kernel_sa *sa)
{
	struct kernel_fake *f = k;
	struct kernel_fake_call c;
	struct sa_slot *s;
	int err = begin(f, KFAKE_UPDATE_SA);

	sa_call(&c, KFAKE_UPDATE_SA, sa);
	if (err != 0)
		return finish(f, &c, err);
	if ((err = sa_check(sa)) != 0)
		return finish(f, &c, err);
	s = sa_lookup(f, &sa->dst, sa->spi, sa->proto, sa->mark, sa->mark_mask, NULL);
	if (s == NULL)
		return finish(f, &c, -ESRCH);
	if (s->larval) {
		s->larval = false;
		f->larval--;
		sa_store(s, sa);
	} else {
		s->sa.encap = sa->encap;
		s->sa.encap_sport = sa->encap_sport;
		s->sa.encap_dport = sa->encap_dport;
		s->sa.soft_bytes = sa->soft_bytes;
		s->sa.hard_bytes = sa->hard_bytes;
		s->sa.soft_packets = sa->soft_packets;
		s->sa.hard_packets = sa->hard_packets;
		s->sa.soft_add_s = sa->soft_add_s;
		s->sa.hard_add_s = sa->hard_add_s;
		s->sa.soft_use_s = sa->soft_use_s;
		s->sa.hard_use_s = sa->hard_use_s;
	}
	return finish(f, &c, 0);
}

static int fk_del_sa(void *k, const struct kaddr *dst, uint32_t spi, uint8_t proto, uint32_t mark,
		     uint32_t mark_mask)
{
	struct kernel_fake *f = k;
	struct kernel_fake_call c = { .op = KFAKE_DEL_SA, .dst = *dst, .spi = spi, .proto = proto };
	struct sa_slot *s;
	uint32_t idx;
	int err = begin(f, KFAKE_DEL_SA);

	if (err != 0)
		return finish(f, &c, err);
	s = sa_lookup(f, dst, spi, proto, mark, mark_mask, &idx);
	if (s == NULL)
		return finish(f, &c, -ESRCH);
	c.reqid = s->sa.reqid;
	c.inbound = s->sa.inbound;
	sa_remove(f, idx);
	return finish(f, &c, 0);
}

static int fk_query_sa(void *k, const struct kaddr *dst, uint32_t spi, uint8_t proto, uint32_t mark,
		       uint32_t mark_mask, struct kernel_sa_stats *out)
{
	struct kernel_fake *f = k;
	struct kernel_fake_call c = { .op = KFAKE_QUERY_SA, .dst = *dst, .spi = spi, .proto = proto };
	struct sa_slot *s;
	int err = begin(f, KFAKE_QUERY_SA);

	memset(out, 0, sizeof(*out));
	if (err != 0)
		return finish(f, &c, err);
	s = sa_lookup(f, dst, spi, proto, mark, mark_mask, NULL);
	if (s == NULL)
		return finish(f, &c, -ESRCH);
	c.reqid = s->sa.reqid;
	c.inbound = s->sa.inbound;
	*out = s->stats;
	out->src = s->sa.src;
	return finish(f, &c, 0);
}

static int pol_check(const struct kernel_policy *p)
{
	const struct ksel *s = &p->sel;
	uint8_t fam = s->src.family != 0 ? s->src.family : s->dst.family;

	if (!family_ok(fam) || (s->src.family != 0 && s->src.family != fam) ||
	    (s->dst.family != 0 && s->dst.family != fam))
		return -EINVAL;
	if (s->src_plen > kaddr_len(fam) * 8 || s->dst_plen > kaddr_len(fam) * 8)
		return -EINVAL;
	if (p->dir != KDIR_IN && p->dir != KDIR_OUT && p->dir != KDIR_FWD)
		return -EINVAL;
	if (p->has_tmpl && p->tmpl_proto != IPPROTO_ESP && p->tmpl_proto != IPPROTO_AH)
		return -EINVAL;
	if (p->has_tmpl && p->tmpl_mode == KMODE_TUNNEL && !family_ok(p->tmpl_dst.family))
		return -EINVAL;
	return 0;
}

static int fk_add_policy(void *k, const struct kernel_policy *p)
{
	struct kernel_fake *f = k;
	struct kernel_fake_call c = { .op = KFAKE_ADD_POLICY, .dst = p->sel.dst, .reqid = p->reqid, .dir = p->dir };
	struct pol_slot *s;
	struct ksel n;
	int err = begin(f, KFAKE_ADD_POLICY);

	if (err != 0)
		return finish(f, &c, err);
	if ((err = pol_check(p)) != 0)
		return finish(f, &c, err);
	if (pol_lookup(f, &p->sel, p->dir, p->mark, p->mark_mask, p->if_id, NULL) != NULL)
		return finish(f, &c, -EEXIST);
	n = sel_norm(&p->sel);
	err = table_insert(&f->pols, pol_hash(&n, p->dir, p->mark, p->mark_mask, p->if_id), pol_slot_hash,
			   (void **)&s);
	if (err != 0)
		return finish(f, &c, err);
	s->p = *p;
	s->p.sel = n;
	return finish(f, &c, 0);
}

static int fk_del_policy(void *k, const struct ksel *sel, enum kdir dir, uint32_t mark, uint32_t mark_mask,
			 uint32_t if_id)
{
	struct kernel_fake *f = k;
	struct kernel_fake_call c = { .op = KFAKE_DEL_POLICY, .dst = sel->dst, .dir = dir };
	struct pol_slot *s;
	uint32_t idx;
	int err = begin(f, KFAKE_DEL_POLICY);

	if (err != 0)
		return finish(f, &c, err);
	s = pol_lookup(f, sel, dir, mark, mark_mask, if_id, &idx);
	if (s == NULL)
		return finish(f, &c, -ENOENT);
	c.reqid = s->p.reqid;
	table_remove(&f->pols, idx, pol_slot_hash(s));
	return finish(f, &c, 0);
}

static int migrate_check(const struct kernel_migrate *m)
{
	if (m->dir != KDIR_IN && m->dir != KDIR_OUT && m->dir != KDIR_FWD)
		return -EINVAL;
	if (!family_ok(m->old_src.family) || m->old_dst.family != m->old_src.family ||
	    !family_ok(m->new_src.family) || m->new_dst.family != m->new_src.family)
		return -EINVAL;
	return 0;
}

static int fk_migrate(void *k, const struct kernel_migrate *m)
{
	struct kernel_fake *f = k;
	struct kernel_fake_call c = { .op = KFAKE_MIGRATE, .dst = m->new_dst, .proto = m->proto, .reqid = m->reqid,
				      .dir = m->dir };
	struct pol_slot *pol = NULL;
	struct sa_slot *st = NULL;
	uint32_t st_idx = 0;
	struct ksel n;
	int err = begin(f, KFAKE_MIGRATE);

	if (err != 0)
		return finish(f, &c, err);
	if ((err = migrate_check(m)) != 0)
		return finish(f, &c, err);
	/* Stage 1 (xfrm_migrate_policy_find): selector, dir and if_id; marks are not compared. */
	n = sel_norm(&m->sel);
	for (size_t i = 0; i < f->pols.cap && pol == NULL; i++) {
		struct pol_slot *p = slot_at(&f->pols, (uint32_t)i);

		if (p->used && p->p.dir == m->dir && p->p.if_id == m->if_id && sel_eq(&p->p.sel, &n))
			pol = p;
	}
	if (pol == NULL)
		return finish(f, &c, -ENOENT);
	/* Stage 3's template match (migrate_tmpl_match), checked first: the kernel undoes the
	 * state moves when no template matches, so the end result is the same. */
	if (!pol->p.has_tmpl || pol->p.tmpl_proto != m->proto || pol->p.tmpl_mode != m->mode ||
	    (m->reqid != 0 && pol->p.reqid != m->reqid) ||
	    (m->mode == KMODE_TUNNEL &&
	     (!kaddr_eq(&pol->p.tmpl_src, &m->old_src) || !kaddr_eq(&pol->p.tmpl_dst, &m->old_dst))))
		return finish(f, &c, -ENODATA);
	/* Stage 2 (xfrm_migrate_state_find): the first state of the old addresses. */
	for (size_t i = 0; i < f->sas.cap && st == NULL; i++) {
		struct sa_slot *s = slot_at(&f->sas, (uint32_t)i);

		if (s->used && !s->larval && s->sa.proto == m->proto && s->sa.mode == m->mode &&
		    (m->reqid == 0 || s->sa.reqid == m->reqid) && kaddr_eq(&s->sa.dst, &m->old_dst) &&
		    kaddr_eq(&s->sa.src, &m->old_src)) {
			st = s;
			st_idx = (uint32_t)i;
		}
	}
	if (st != NULL) {
		struct sa_slot tmp = *st;
		struct sa_slot *ns;
		uint32_t next;

		if (!kaddr_eq(&m->new_dst, &m->old_dst) && sa_find_key(f, &m->new_dst, st->sa.spi, st->sa.proto, NULL))
			return finish(f, &c, -EEXIST);
		c.spi = st->sa.spi;
		c.inbound = st->sa.inbound;
		table_remove(&f->sas, st_idx, sa_slot_hash(st));
		err = table_insert(&f->sas, sa_hash(&m->new_dst, tmp.sa.spi, tmp.sa.proto), sa_slot_hash,
				   (void **)&ns);
		if (err != 0) {
			explicit_bzero(&tmp, sizeof(tmp));
			return finish(f, &c, err);
		}
		next = ns->next;
		*ns = tmp;
		ns->used = true;
		ns->next = next;
		ns->sa.src = m->new_src;
		ns->sa.dst = m->new_dst;
		/* xfrm_state_clone: the clone keeps the add time only, its counters start at zero. */
		ns->stats.bytes = ns->stats.packets = ns->stats.use_time = 0;
		if (m->encap) {
			ns->sa.encap = true;
			ns->sa.encap_sport = m->encap_sport;
			ns->sa.encap_dport = m->encap_dport;
		}
		explicit_bzero(&tmp, sizeof(tmp));
	}
	if (m->mode == KMODE_TUNNEL) {
		pol->p.tmpl_src = m->new_src;
		pol->p.tmpl_dst = m->new_dst;
	}
	return finish(f, &c, 0);
}

static bool reqid_ours(uint32_t reqid)
{
	return reqid >= XIKED_REQID_BASE && reqid <= XIKED_REQID_MAX;
}

static int fk_flush_stale(void *k)
{
	struct kernel_fake *f = k;
	struct kernel_fake_call c = { .op = KFAKE_FLUSH_STALE };
	int err = begin(f, KFAKE_FLUSH_STALE);

	if (err != 0)
		return finish(f, &c, err);
	for (size_t i = 0; i < f->pols.cap; i++) {
		struct pol_slot *s = slot_at(&f->pols, (uint32_t)i);

		if (s->used && s->p.has_tmpl && reqid_ours(s->p.reqid))
			table_remove(&f->pols, (uint32_t)i, pol_slot_hash(s));
	}
	for (size_t i = 0; i < f->sas.cap; i++) {
		struct sa_slot *s = slot_at(&f->sas, (uint32_t)i);

		if (s->used && reqid_ours(s->sa.reqid))
			sa_remove(f, (uint32_t)i);
	}
	return finish(f, &c, 0);
}

static int fk_event_fd(void *k)
{
	struct kernel_fake *f = k;

	return f->efd;
}

static void fk_event_dispatch(void *k)
{
	struct kernel_fake *f = k;
	uint64_t v;
	size_t n;

	/* Clear readiness first: events injected by the callbacks re-arm it. */
	if (read(f->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing was signalled; still deliver anything queued. */
	}
	n = f->ev_len - f->ev_head;
	for (size_t i = 0; i < n; i++) {
		/* Copy out: a callback may inject and grow the queue. */
		struct fake_event e = f->ev[f->ev_head++];
		const struct kernel_events *cb = &f->cb;

		switch (e.type) {
		case EV_EXPIRE:
			if (cb->expire != NULL)
				cb->expire(cb->ctx, e.spi, e.proto, &e.a, e.hard);
			break;
		case EV_ACQUIRE:
			if (cb->acquire != NULL)
				cb->acquire(cb->ctx, &e.sel, e.reqid);
			break;
		case EV_MAPPING:
			if (cb->mapping != NULL)
				cb->mapping(cb->ctx, e.spi, &e.a, e.pa, &e.b, e.pb);
			break;
		}
	}
	if (f->ev_head == f->ev_len)
		f->ev_head = f->ev_len = 0;
}

static const char *fk_last_extack(void *k)
{
	struct kernel_fake *f = k;

	return f->last_injected ? "injected failure" : NULL;
}

static void fk_free(void *k)
{
	struct kernel_fake *f = k;

	if (f == NULL)
		return;
	table_free(&f->sas);
	table_free(&f->pols);
	free(f->log);
	free(f->ev);
	if (f->efd >= 0)
		close(f->efd);
	free(f);
}

static const struct kernel_ops fake_ops = {
	.get_spi = fk_get_spi,
	.add_sa = fk_add_sa,
	.update_sa = fk_update_sa,
	.del_sa = fk_del_sa,
	.query_sa = fk_query_sa,
	.add_policy = fk_add_policy,
	.del_policy = fk_del_policy,
	.flush_stale = fk_flush_stale,
	.event_fd = fk_event_fd,
	.event_dispatch = fk_event_dispatch,
	.free = fk_free,
	.last_extack = fk_last_extack,
	.migrate = fk_migrate,
};

struct kernel_fake *kernel_fake_new(const struct kernel_events *ev, struct kernel *out)
{
	struct kernel_fake *f = calloc(1, sizeof(*f));

	memset(out, 0, sizeof(*out));
	if (f == NULL)
		return NULL;
	f->sas.slot_size = sizeof(struct sa_slot);
	f->pols.slot_size = sizeof(struct pol_slot);
	f->next_spi = KERNEL_FAKE_SPI_FIRST;
	if (ev != NULL)
		f->cb = *ev;
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0) {
		free(f);
		return NULL;
	}
	out->ops = &fake_ops;
	out->k = f;
	return f;
}

/* --- inspection --- */

size_t kernel_fake_sa_count(const struct kernel_fake *f)
{
	return f->sas.count;
}

size_t kernel_fake_larval_count(const struct kernel_fake *f)
{
	return f->larval;
}

size_t kernel_fake_policy_count(const struct kernel_fake *f)
{
	return f->pols.count;
}

const struct kernel_fake_sa *kernel_fake_find_sa(const struct kernel_fake *f, const struct kaddr *dst, uint32_t spi,
						 uint8_t proto)
{
	struct sa_slot *s = sa_find_key(f, dst, spi, proto, NULL);

	return s != NULL ? sa_view(s) : NULL;
}

const struct kernel_policy *kernel_fake_find_policy(const struct kernel_fake *f, const struct ksel *sel,
						    enum kdir dir, uint32_t mark, uint32_t mark_mask, uint32_t if_id)
{
	struct pol_slot *s = pol_lookup(f, sel, dir, mark, mark_mask, if_id, NULL);

	return s != NULL ? &s->p : NULL;
}

void kernel_fake_foreach_sa(const struct kernel_fake *f, void (*fn)(void *arg, const struct kernel_fake_sa *s),
			    void *arg)
{
	for (size_t i = 0; i < f->sas.cap; i++) {
		struct sa_slot *s = slot_at(&f->sas, (uint32_t)i);

		if (s->used)
			fn(arg, sa_view(s));
	}
}

void kernel_fake_foreach_policy(const struct kernel_fake *f, void (*fn)(void *arg, const struct kernel_policy *p),
				void *arg)
{
	for (size_t i = 0; i < f->pols.cap; i++) {
		const struct pol_slot *s = slot_at(&f->pols, (uint32_t)i);

		if (s->used)
			fn(arg, &s->p);
	}
}

int kernel_fake_set_stats(struct kernel_fake *f, const struct kaddr *dst, uint32_t spi, uint8_t proto,
			  const struct kernel_sa_stats *stats)
{
	struct sa_slot *s = sa_find_key(f, dst, spi, proto, NULL);

	if (s == NULL)
		return -ESRCH;
	s->stats = *stats;
	return 0;
}

void kernel_fake_fail(struct kernel_fake *f, enum kernel_fake_op op, int err, unsigned times)
{
	if ((unsigned)op >= KFAKE_OP_COUNT)
		return;
	f->fail[op].err = err > 0 ? -err : err;
	f->fail[op].times = times;
}

unsigned kernel_fake_calls(const struct kernel_fake *f, enum kernel_fake_op op)
{
	return (unsigned)op < KFAKE_OP_COUNT ? f->calls[op] : 0;
}

size_t kernel_fake_log_len(const struct kernel_fake *f)
{
	return f->log_len;
}

const struct kernel_fake_call *kernel_fake_log_at(const struct kernel_fake *f, size_t i)
{
	return i < f->log_len ? &f->log[i] : NULL;
}

void kernel_fake_log_clear(struct kernel_fake *f)
{
	f->log_len = 0;
}

static int ev_push(struct kernel_fake *f, const struct fake_event *e)
{
	uint64_t one = 1;

	if (f->ev_len == f->ev_cap) {
		size_t cap = f->ev_cap ? f->ev_cap * 2 : 16;
		void *p = reallocarray(f->ev, cap, sizeof(*f->ev));

		if (p == NULL)
			return -ENOMEM;
		f->ev = p;
		f->ev_cap = cap;
	}
	f->ev[f->ev_len++] = *e;
	if (write(f->efd, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

int kernel_fake_inject_expire(struct kernel_fake *f, uint32_t spi, uint8_t proto, const struct kaddr *dst, bool hard)
{
	struct fake_event e = { .type = EV_EXPIRE, .spi = spi, .proto = proto, .a = *dst, .hard = hard };

	uint32_t idx;

	/* The kernel deletes a state before it reports its hard expire. */
	if (hard && sa_find_key(f, dst, spi, proto, &idx) != NULL)
		sa_remove(f, idx);
	return ev_push(f, &e);
}

size_t kernel_fake_expire_larval(struct kernel_fake *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->sas.cap; i++) {
		struct sa_slot *s = slot_at(&f->sas, (uint32_t)i);

		if (s->used && s->larval) {
			struct fake_event e = {
				.type = EV_EXPIRE, .spi = s->sa.spi, .proto = s->sa.proto, .a = s->sa.dst, .hard = true
			};

			/* xfrm_timer_handler: __xfrm_state_delete, then km_state_expired(x, 1). */
			sa_remove(f, (uint32_t)i);
			if (ev_push(f, &e) == 0)
				n++;
		}
	}
	return n;
}

int kernel_fake_inject_acquire(struct kernel_fake *f, const struct ksel *sel, uint32_t reqid)
{
	struct fake_event e = { .type = EV_ACQUIRE, .sel = *sel, .reqid = reqid };

	return ev_push(f, &e);
}

int kernel_fake_inject_mapping(struct kernel_fake *f, uint32_t spi, const struct kaddr *old_addr, uint16_t old_port,
			       const struct kaddr *new_addr, uint16_t new_port)
{
	struct fake_event e = {
		.type = EV_MAPPING, .spi = spi, .a = *old_addr, .pa = old_port, .b = *new_addr, .pb = new_port
	};

	return ev_push(f, &e);
}

size_t kernel_fake_pending_events(const struct kernel_fake *f)
{
	return f->ev_len - f->ev_head;
}

bool kernel_fake_holds_bytes(const struct kernel_fake *f, const uint8_t *pat, size_t len)
{
	if (len == 0 || f->sas.slots == NULL)
		return false;
	return memmem(f->sas.slots, f->sas.cap * f->sas.slot_size, pat, len) != NULL;
}
