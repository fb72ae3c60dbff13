/* The recording fake of the link seam (see link_fake.h). */
#include "netlink/link_fake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fake_troute {
	struct link_table_route r;
	bool ours; /* protocol LINK_RTPROT_XIKED */
};

struct fake_rule {
	uint8_t family;
	uint32_t prio, table;
	bool ours;
};

struct fake_path {
	struct kaddr dst;
	struct link_path p;
};

#define FAKE_PATHS 16
#define FAKE_HOST_ADDRS 16
#define FAKE_RULES 8

struct link_fake {
	struct link_fake_dev devs[LINK_FAKE_DEV_MAX];
	int next_ifindex;
	unsigned calls[LFAKE_OP_COUNT];
	struct fake_troute troutes[LINK_FAKE_TROUTE_MAX];
	size_t n_troutes;
	struct fake_rule rules[FAKE_RULES];
	size_t n_rules;
	struct fake_path paths[FAKE_PATHS];
	size_t n_paths;
	bool unreachable;
	struct kaddr host[FAKE_HOST_ADDRS];
	size_t n_host;
};

static struct link_fake_dev *by_index(struct link_fake *f, int ifindex)
{
	for (size_t i = 0; i < LINK_FAKE_DEV_MAX; i++)
		if (f->devs[i].used && f->devs[i].ifindex == ifindex)
			return &f->devs[i];
	return NULL;
}

static struct link_fake_dev *by_name(struct link_fake *f, const char *name)
{
	for (size_t i = 0; i < LINK_FAKE_DEV_MAX; i++)
		if (f->devs[i].used && strcmp(f->devs[i].spec.name, name) == 0)
			return &f->devs[i];
	return NULL;
}

static struct link_fake_dev *new_dev(struct link_fake *f, const char *name)
{
	if (strlen(name) >= LINK_NAME_MAX)
		return NULL;
	for (size_t i = 0; i < LINK_FAKE_DEV_MAX; i++)
		if (!f->devs[i].used) {
			struct link_fake_dev *d = &f->devs[i];
			*d = (struct link_fake_dev){.used = true, .ifindex = f->next_ifindex++, .mtu = 1500};
			strcpy(d->spec.name, name);
			return d;
		}
	return NULL;
}

static bool prefix_eq(const struct link_prefix *a, const struct link_prefix *b)
{
	return a->plen == b->plen && kaddr_eq(&a->addr, &b->addr);
}

static int list_add(struct link_prefix *list, size_t *n, const struct link_prefix *p)
{
	for (size_t i = 0; i < *n; i++)
		if (prefix_eq(&list[i], p))
			return -EEXIST;
	if (*n >= LINK_FAKE_PREFIX_MAX)
		return -ENOSPC;
	list[(*n)++] = *p;
	return 0;
}

static int list_del(struct link_prefix *list, size_t *n, const struct link_prefix *p)
{
	for (size_t i = 0; i < *n; i++)
		if (prefix_eq(&list[i], p)) {
			list[i] = list[--*n];
			return 0;
		}
	return -ESRCH;
}

static int lf_find(void *l, const char *name, int *ifindex_out, bool *ours_out)
{
	struct link_fake_dev *d = by_name(l, name);
	if (!d)
		return -ENODEV;
	*ifindex_out = d->ifindex;
	if (ours_out)
		*ours_out = d->ours;
	return 0;
}

static int lf_create(void *l, const struct link_spec *s, int *ifindex_out)
{
	struct link_fake *f = l;
	f->calls[LFAKE_CREATE]++;
	if (by_name(f, s->name))
		return -EEXIST;
	if (s->kind == LINK_XFRMI && s->if_id == 0)
		return -EINVAL;
	struct link_fake_dev *d = new_dev(f, s->name);
	if (!d)
		return -ENOSPC;
	d->spec = *s;
	*ifindex_out = d->ifindex;
	return 0;
}

static int lf_set_up(void *l, int ifindex, uint32_t mtu, bool mark_ours)
{
	struct link_fake *f = l;
	f->calls[LFAKE_SET_UP]++;
	struct link_fake_dev *d = by_index(f, ifindex);
	if (!d)
		return -ENODEV;
	d->up = true;
	d->ours |= mark_ours;
	if (mtu)
		d->mtu = mtu;
	return 0;
}

static int lf_disable_policy(void *l, const char *name, uint8_t family)
{
	(void)family;
	struct link_fake *f = l;
	f->calls[LFAKE_DISABLE_POLICY]++;
	struct link_fake_dev *d = by_name(f, name);
	if (!d)
		return -ENOENT;
	d->policy_disabled = true;
	return 0;
}

static int lf_addr_add(void *l, int ifindex, const struct link_prefix *p)
{
	struct link_fake *f = l;
	f->calls[LFAKE_ADDR_ADD]++;
	struct link_fake_dev *d = by_index(f, ifindex);
	return d ? list_add(d->addrs, &d->n_addrs, p) : -ENODEV;
}

static int lf_addr_del(void *l, int ifindex, const struct link_prefix *p)
{
	struct link_fake *f = l;
	f->calls[LFAKE_ADDR_DEL]++;
	struct link_fake_dev *d = by_index(f, ifindex);
	return d ? list_del(d->addrs, &d->n_addrs, p) : -ENODEV;
}

static int lf_route_add(void *l, int ifindex, const struct link_prefix *p)
{
	struct link_fake *f = l;
	f->calls[LFAKE_ROUTE_ADD]++;
	struct link_fake_dev *d = by_index(f, ifindex);
	return d ? list_add(d->routes, &d->n_routes, p) : -ENODEV;
}

static int lf_route_del(void *l, int ifindex, const struct link_prefix *p)
{
	struct link_fake *f = l;
	f->calls[LFAKE_ROUTE_DEL]++;
	struct link_fake_dev *d = by_index(f, ifindex);
	return d ? list_del(d->routes, &d->n_routes, p) : -ENODEV;
}

static int lf_del(void *l, int ifindex)
{
	struct link_fake *f = l;
	f->calls[LFAKE_DEL]++;
	struct link_fake_dev *d = by_index(f, ifindex);
	if (!d)
		return -ENODEV;
	d->used = false;
	return 0;
}

static int lf_get_path(void *l, const struct kaddr *dst, const struct kaddr *src, struct link_path *out)
{
	(void)src;
	struct link_fake *f = l;
	f->calls[LFAKE_GET_PATH]++;
	if (f->unreachable)
		return -ENETUNREACH;
	/* Policy routing as the kernel does it: a route of xiked's table covering dst
	 * answers first (the longest), unless it is a throw. */
	const struct fake_troute *best = NULL;
	for (size_t i = 0; i < f->n_troutes; i++) {
		const struct fake_troute *t = &f->troutes[i];
		if (t->r.dst.addr.family != dst->family || (best && best->r.dst.plen >= t->r.dst.plen))
			continue;
		unsigned b = 0;
		while (b < t->r.dst.plen && !((t->r.dst.addr.a[b / 8] ^ dst->a[b / 8]) & (0x80 >> (b % 8))))
			b++;
		if (b == t->r.dst.plen)
			best = t;
	}
	if (best && !best->r.throw_) {
		*out = (struct link_path){.gw = best->r.gw, .ifindex = best->r.ifindex};
		return 0;
	}
	for (size_t i = 0; i < f->n_paths; i++)
		if (kaddr_eq(&f->paths[i].dst, dst)) {
			*out = f->paths[i].p;
			return 0;
		}
	*out = (struct link_path){.ifindex = LINK_FAKE_DEFAULT_IFINDEX};
	return 0;
}

static int lf_local_addr_in(void *l, uint8_t family, const uint8_t *start, const uint8_t *end,
			    struct kaddr *out)
{
	struct link_fake *f = l;
	size_t n = kaddr_len(family);
	for (size_t i = 0; i < f->n_host; i++) {
		const struct kaddr *a = &f->host[i];
		if (a->family == family && memcmp(a->a, start, n) >= 0 && memcmp(a->a, end, n) <= 0) {
			*out = *a;
			return 0;
		}
	}
	return -ENOENT;
}

static struct fake_troute *troute_find(struct link_fake *f, uint32_t table, const struct link_prefix *p)
{
	for (size_t i = 0; i < f->n_troutes; i++)
		if (f->troutes[i].r.table == table && prefix_eq(&f->troutes[i].r.dst, p))
			return &f->troutes[i];
	return NULL;
}

static int lf_troute_add(void *l, const struct link_table_route *r, bool replace)
{
	struct link_fake *f = l;
	f->calls[replace ? LFAKE_TROUTE_REPLACE : LFAKE_TROUTE_ADD]++;
	/* The kernel: a gateway route needs a device, the source must be ours. */
	if (!r->throw_ && r->ifindex <= 0)
		return -ENODEV;
	if (!r->throw_ && r->src.family) {
		size_t i = 0;
		while (i < f->n_host && !kaddr_eq(&f->host[i], &r->src))
			i++;
		if (i == f->n_host)
			return -EINVAL;
	}
	struct fake_troute *t = troute_find(f, r->table, &r->dst);
	if (t && !replace)
		return -EEXIST;
	if (!t) {
		if (f->n_troutes == LINK_FAKE_TROUTE_MAX)
			return -ENOSPC;
		t = &f->troutes[f->n_troutes++];
	}
	*t = (struct fake_troute){.r = *r, .ours = true};
	return 0;
}

static int lf_troute_del(void *l, const struct link_table_route *r)
{
	struct link_fake *f = l;
	f->calls[LFAKE_TROUTE_DEL]++;
	struct fake_troute *t = troute_find(f, r->table, &r->dst);
	if (!t || t->r.throw_ != r->throw_)
		return -ESRCH;
	*t = f->troutes[--f->n_troutes];
	return 0;
}

static int lf_rule_add(void *l, uint8_t family, uint32_t prio, uint32_t table)
{
	struct link_fake *f = l;
	f->calls[LFAKE_RULE_ADD]++;
	if (link_fake_has_rule(f, family, prio, table))
		return -EEXIST;
	if (f->n_rules == FAKE_RULES)
		return -ENOSPC;
	f->rules[f->n_rules++] = (struct fake_rule){family, prio, table, true};
	return 0;
}

static int lf_rule_del(void *l, uint8_t family, uint32_t prio, uint32_t table)
{
	struct link_fake *f = l;
	f->calls[LFAKE_RULE_DEL]++;
	for (size_t i = 0; i < f->n_rules; i++)
		if (f->rules[i].family == family && f->rules[i].prio == prio &&
		    f->rules[i].table == table && f->rules[i].ours) {
			f->rules[i] = f->rules[--f->n_rules];
			return 0;
		}
	return -ENOENT;
}

static int lf_flush(void *l)
{
	struct link_fake *f = l;
	int n = 0;
	f->calls[LFAKE_FLUSH]++;
	for (size_t i = 0; i < f->n_troutes;)
		if (f->troutes[i].ours) {
			f->troutes[i] = f->troutes[--f->n_troutes];
			n++;
		} else {
			i++;
		}
	for (size_t i = 0; i < f->n_rules;)
		if (f->rules[i].ours) {
			f->rules[i] = f->rules[--f->n_rules];
			n++;
		} else {
			i++;
		}
	return n;
}

static void lf_free(void *l)
{
	free(l);
}

static const struct link_ops fake_ops = {
	.find = lf_find,
	.create = lf_create,
	.set_up = lf_set_up,
	.disable_policy = lf_disable_policy,
	.addr_add = lf_addr_add,
	.addr_del = lf_addr_del,
	.route_add = lf_route_add,
	.route_del = lf_route_del,
	.del = lf_del,
	.get_path = lf_get_path,
	.local_addr_in = lf_local_addr_in,
	.troute_add = lf_troute_add,
	.troute_del = lf_troute_del,
	.rule_add = lf_rule_add,
	.rule_del = lf_rule_del,
	.flush = lf_flush,
	.free = lf_free,
};

struct link_fake *link_fake_new(struct link *out)
{
	struct link_fake *f = calloc(1, sizeof(*f));
	*out = (struct link){0};
	if (!f)
		return NULL;
	f->next_ifindex = 10;
	out->ops = &fake_ops;
	out->l = f;
	return f;
}

int link_fake_add_existing(struct link_fake *f, const char *name, bool ours)
{
	struct link_fake_dev *d = new_dev(f, name);
	if (!d)
		return -ENOSPC;
	d->ours = ours;
	return d->ifindex;
}

const struct link_fake_dev *link_fake_find(const struct link_fake *f, const char *name)
{
	return by_name((struct link_fake *)f, name);
}

size_t link_fake_dev_count(const struct link_fake *f)
{
	size_t n = 0;
	for (size_t i = 0; i < LINK_FAKE_DEV_MAX; i++)
		n += f->devs[i].used;
	return n;
}

unsigned link_fake_calls(const struct link_fake *f, enum link_fake_op op)
{
	return op < LFAKE_OP_COUNT ? f->calls[op] : 0;
}

bool link_fake_has_route(const struct link_fake_dev *d, const char *prefix_text)
{
	char buf[64];
	struct link_prefix p = {0};
	const char *slash = strchr(prefix_text, '/');
	if (!d || !slash || (size_t)(slash - prefix_text) >= sizeof(buf))
		return false;
	memcpy(buf, prefix_text, (size_t)(slash - prefix_text));
	buf[slash - prefix_text] = 0;
	if (kaddr_from_string(buf, &p.addr) != 0)
		return false;
	p.plen = (uint8_t)atoi(slash + 1);
	for (size_t i = 0; i < d->n_routes; i++)
		if (prefix_eq(&d->routes[i], &p))
			return true;
	return false;
}

static struct kaddr text_addr(const char *t)
{
	struct kaddr a = {0};
	if (t && *t && kaddr_from_string(t, &a) != 0)
		a = (struct kaddr){0};
	return a;
}

void link_fake_set_path(struct link_fake *f, const char *dst, const char *gw, int ifindex)
{
	struct kaddr d = text_addr(dst);
	size_t i = 0;
	while (i < f->n_paths && !kaddr_eq(&f->paths[i].dst, &d))
		i++;
	if (i == f->n_paths) {
		if (f->n_paths == FAKE_PATHS)
			return;
		f->n_paths++;
	}
	f->paths[i] = (struct fake_path){.dst = d, .p = {.gw = text_addr(gw), .ifindex = ifindex}};
}

void link_fake_set_unreachable(struct link_fake *f, bool on)
{
	f->unreachable = on;
}

void link_fake_add_host_addr(struct link_fake *f, const char *addr)
{
	if (f->n_host < FAKE_HOST_ADDRS)
		f->host[f->n_host++] = text_addr(addr);
}

void link_fake_plant_troute(struct link_fake *f, const struct link_table_route *r, bool ours)
{
	if (f->n_troutes < LINK_FAKE_TROUTE_MAX)
		f->troutes[f->n_troutes++] = (struct fake_troute){.r = *r, .ours = ours};
}

void link_fake_plant_rule(struct link_fake *f, uint8_t family, uint32_t prio, uint32_t table, bool ours)
{
	if (f->n_rules < FAKE_RULES)
		f->rules[f->n_rules++] = (struct fake_rule){family, prio, table, ours};
}

size_t link_fake_troute_count(const struct link_fake *f, uint32_t table)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n_troutes; i++)
		n += f->troutes[i].r.table == table;
	return n;
}

size_t link_fake_rule_count(const struct link_fake *f)
{
	return f->n_rules;
}

static bool parse_prefix(const char *text, struct link_prefix *p)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	if (!slash || (size_t)(slash - text) >= sizeof(buf))
		return false;
	memcpy(buf, text, (size_t)(slash - text));
	buf[slash - text] = 0;
	*p = (struct link_prefix){0};
	if (kaddr_from_string(buf, &p->addr) != 0)
		return false;
	p->plen = (uint8_t)atoi(slash + 1);
	return true;
}

const struct link_table_route *link_fake_troute(const struct link_fake *f, uint32_t table,
						const char *prefix_text)
{
	struct link_prefix p;
	if (!parse_prefix(prefix_text, &p))
		return NULL;
	const struct fake_troute *t = troute_find((struct link_fake *)f, table, &p);
	return t ? &t->r : NULL;
}

bool link_fake_has_rule(const struct link_fake *f, uint8_t family, uint32_t prio, uint32_t table)
{
	for (size_t i = 0; i < f->n_rules; i++)
		if (f->rules[i].family == family && f->rules[i].prio == prio && f->rules[i].table == table)
			return true;
	return false;
}
