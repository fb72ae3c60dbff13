/* The recording fake of the link seam (see link_fake.h). */
#include "netlink/link_fake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct link_fake {
	struct link_fake_dev devs[LINK_FAKE_DEV_MAX];
	int next_ifindex;
	unsigned calls[LFAKE_OP_COUNT];
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
