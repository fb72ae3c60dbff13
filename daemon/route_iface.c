/* Interfaces, if_ids and routes of route-based Child SAs (see route_iface.h). */
#include "daemon/route_iface.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/fnv.h"
#include "daemon/endpoint.h"
#include "daemon/engine_ctx.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/vip.h"
#include "daemon/spi_table.h"
#include "daemon/ts.h"

struct route_ref {
	struct link_prefix p;
	unsigned refs;
	bool ours; /* added by us: deleted with the last reference */
};

struct route_iface {
	struct route_iface *next, *prev; /* every binding (free_all) */
	struct route_iface *hnext;       /* same by_key hash */
	char conn_name[CONFIG_NAME_MAX + 1];
	bool unique;           /* if_id from the %unique pool */
	uint32_t if_id, mark;
	char name[LINK_NAME_MAX]; /* "" = no device */
	int ifindex;
	bool created;          /* we created the device: we delete it */
	unsigned refs;         /* Child SAs bound */
	struct link_prefix addrs[CONFIG_ADDRESSES_MAX];
	size_t n_addrs;        /* addresses we added (removed from an adopted device) */
	struct route_ref *routes;
	size_t n_routes, cap_routes;
};

/*
 * A %unique hub has one binding per spoke, so nothing done per setup may
 * walk them all (design.md rule 13): bindings are found through hash tables.
 */
#define ROUTE_IFACE_GONE_MAX 1024

struct addr_ref {
	struct addr_ref *next; /* same hash */
	struct kaddr a;
	unsigned refs;         /* bindings that added it */
};

struct route_ifaces {
	struct route_iface *all;
	struct spi_table *by_unique;  /* %unique if_id -> binding */
	struct spi_table *by_key;     /* name_key() -> chain (hnext) of the other bindings */
	struct spi_table *by_ifindex; /* device ifindex -> binding (route_iface_owns_ifindex) */
	struct spi_table *addrs;      /* addr_key() -> chain of struct addr_ref */
	/*
	 * Devices we removed lately: their RTM_DELLINK (and the routes and
	 * addresses going with them) reach netmon after the binding is gone,
	 * and are ours too. A ring bounds it (a hub's spokes come and go);
	 * the kernel hands out ifindexes cyclically, so an old one is not
	 * soon reused.
	 */
	struct spi_table *gone;       /* ifindex -> (void *)1 */
	int gone_ring[ROUTE_IFACE_GONE_MAX];
	size_t gone_next;
};

/* Non-%unique bindings are shared by device name, or without one by (if_id, mark); FNV-1a,
 * mixed further by spi_table. */
static uint64_t name_key(const char *name, uint32_t if_id, uint32_t mark)
{
	uint64_t h = FNV64_OFFSET;
	if (name[0])
		return fnv64(h, name, strlen(name));
	h = fnv64(h, "\0", 1);
	h = fnv64(h, &if_id, sizeof(if_id));
	return fnv64(h, &mark, sizeof(mark));
}

static uint64_t addr_key(const struct kaddr *a)
{
	return fnv64(fnv64(FNV64_OFFSET, &a->family, 1), a->a, a->family == AF_INET ? 4 : 16);
}

static struct route_ifaces *ix(struct engine *e)
{
	struct route_ifaces *x = e->ifaces;
	if (x)
		return x;
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->by_unique = spi_table_new();
	x->by_key = spi_table_new();
	x->by_ifindex = spi_table_new();
	x->addrs = spi_table_new();
	x->gone = spi_table_new();
	if (!x->by_unique || !x->by_key || !x->by_ifindex || !x->addrs || !x->gone) {
		spi_table_free(x->gone);
		spi_table_free(x->by_unique);
		spi_table_free(x->by_key);
		spi_table_free(x->by_ifindex);
		spi_table_free(x->addrs);
		free(x);
		return NULL;
	}
	return e->ifaces = x;
}

static void addr_ref_add(struct route_ifaces *x, const struct kaddr *a)
{
	uint64_t k = addr_key(a);
	struct addr_ref *head = spi_table_get(x->addrs, k);
	for (struct addr_ref *r = head; r; r = r->next)
		if (kaddr_eq(&r->a, a)) {
			r->refs++;
			return;
		}
	struct addr_ref *r = calloc(1, sizeof(*r));
	if (!r)
		return; /* only MOBIKE's address filter misses it */
	r->a = *a;
	r->refs = 1;
	r->next = head;
	spi_table_del(x->addrs, k);
	if (spi_table_add(x->addrs, k, r) != 0) {
		if (head)
			spi_table_add(x->addrs, k, head); /* the slot was just freed */
		free(r);
	}
}

static void addr_ref_del(struct route_ifaces *x, const struct kaddr *a)
{
	uint64_t k = addr_key(a);
	struct addr_ref *head = spi_table_get(x->addrs, k), **pp = &head;
	while (*pp && !kaddr_eq(&(*pp)->a, a))
		pp = &(*pp)->next;
	struct addr_ref *r = *pp;
	if (!r || --r->refs)
		return;
	*pp = r->next;
	free(r);
	spi_table_del(x->addrs, k);
	if (head)
		spi_table_add(x->addrs, k, head); /* the slot was just freed */
}

/* Puts b into the index (its if_id and name are final). 0 or -ENOMEM. */
static int index_add(struct route_ifaces *x, struct route_iface *b)
{
	int rc;
	if (b->unique) {
		rc = spi_table_add(x->by_unique, b->if_id, b);
	} else {
		uint64_t k = name_key(b->name, b->if_id, b->mark);
		b->hnext = spi_table_del(x->by_key, k);
		rc = spi_table_add(x->by_key, k, b);
		if (rc != 0 && b->hnext)
			spi_table_add(x->by_key, k, b->hnext);
	}
	if (rc != 0)
		return rc;
	b->next = x->all;
	if (x->all)
		x->all->prev = b;
	x->all = b;
	return 0;
}

static void index_del(struct route_ifaces *x, struct route_iface *b)
{
	if (b->unique) {
		if (spi_table_get(x->by_unique, b->if_id) == b)
			spi_table_del(x->by_unique, b->if_id);
	} else {
		uint64_t k = name_key(b->name, b->if_id, b->mark);
		struct route_iface *head = spi_table_get(x->by_key, k), **pp = &head;
		while (*pp && *pp != b)
			pp = &(*pp)->hnext;
		if (*pp) {
			*pp = b->hnext;
			spi_table_del(x->by_key, k);
			if (head)
				spi_table_add(x->by_key, k, head); /* the slot was just freed */
		}
	}
	if (b->ifindex > 0 && spi_table_get(x->by_ifindex, (uint64_t)b->ifindex) == b)
		spi_table_del(x->by_ifindex, (uint64_t)b->ifindex);
	for (size_t i = 0; i < b->n_addrs; i++)
		addr_ref_del(x, &b->addrs[i].addr);
	if (b->prev)
		b->prev->next = b->next;
	else if (x->all == b)
		x->all = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->next = b->prev = NULL;
}

static void remember_gone(struct route_ifaces *x, int ifindex)
{
	int *slot = &x->gone_ring[x->gone_next];
	x->gone_next = (x->gone_next + 1) % ROUTE_IFACE_GONE_MAX;
	if (*slot > 0)
		spi_table_del(x->gone, (uint64_t)*slot);
	*slot = 0;
	if (spi_table_get(x->gone, (uint64_t)ifindex) ||
	    spi_table_add(x->gone, (uint64_t)ifindex, (void *)1) == 0)
		*slot = ifindex;
}

static struct link *lk(struct engine *e)
{
	return &e->env.link;
}

static const char *strerr(int rc)
{
	return strerror(rc < 0 ? -rc : rc);
}

static bool unique_in_use(struct engine *e, uint32_t id)
{
	return spi_table_get(e->ifaces->by_unique, id) != NULL;
}

/* The next free %unique if_id, wrapping in [BASE, UINT32_MAX]; 0 if all are taken. */
static uint32_t alloc_unique(struct engine *e)
{
	for (uint32_t tries = 0; tries < 1u << 20; tries++) {
		uint32_t id = e->next_unique_if_id;
		e->next_unique_if_id = id == UINT32_MAX ? CONFIG_IF_ID_UNIQUE_BASE : id + 1;
		if (!unique_in_use(e, id))
			return id;
	}
	return 0;
}

static void release(struct engine *e, struct route_iface *b)
{
	struct link *l = lk(e);
	if (b->ifindex > 0 && l->ops) {
		for (size_t i = 0; i < b->n_routes; i++)
			if (b->routes[i].ours && !b->created)
				l->ops->route_del(l->l, b->ifindex, &b->routes[i].p);
		if (b->created) {
			int rc = l->ops->del(l->l, b->ifindex);
			if (rc != 0)
				log_msg(LOG_KNL, LOG_LVL_ERROR, "interface %s: removing failed: %s", b->name,
					strerr(rc));
			else
				log_msg(LOG_KNL, LOG_LVL_INFO, "interface %s removed", b->name);
			remember_gone(e->ifaces, b->ifindex);
		} else {
			for (size_t i = 0; i < b->n_addrs; i++)
				l->ops->addr_del(l->l, b->ifindex, &b->addrs[i]);
			log_msg(LOG_KNL, LOG_LVL_INFO, "interface %s released (adopted, it stays)", b->name);
		}
	}
	index_del(e->ifaces, b);
	free(b->routes);
	free(b);
}

/* Who binds: an IKE SA's Child SA, or a trap (sa NULL; never %unique). */
struct bctx {
	struct engine *e;
	const struct conn_cfg *conn;
	const struct sockaddr_storage *local, *remote;
	const char *tag;
	struct ikesa *sa;
};

/* Create or adopt b's device, bring it up, mtu, addresses. 0 or -errno (logged). */
static int setup_device(const struct bctx *x, struct route_iface *b)
{
	struct engine *e = x->e;
	struct link *l = lk(e);
	const struct route_cfg *r = &x->conn->route;
	const char *tag = x->tag;
	int rc;
	if (!l->ops) {
		log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: interface %s: no link management here", tag, b->name);
		return -EOPNOTSUPP;
	}
	bool ours = false;
	if (l->ops->find(l->l, b->name, &b->ifindex, &ours) == 0) {
		/* Made by an xiked (its alias) that died before removing it: ours again. */
		b->created = ours;
		log_msg(LOG_KNL, LOG_LVL_INFO, ours ? "%s: taking over interface %s, left by an "
			"earlier xiked" : "%s: adopting the existing interface %s", tag, b->name);
	} else {
		struct link_spec s = {.kind = r->vti[0] ? LINK_VTI : LINK_XFRMI, .if_id = b->if_id,
				      .key = b->mark};
		strcpy(s.name, b->name);
		if (r->interface_link[0] &&
		    (rc = l->ops->find(l->l, r->interface_link, &s.phys_ifindex, NULL)) != 0) {
			log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: interface_link %s: %s", tag,
				r->interface_link, strerr(rc));
			return rc;
		}
		kaddr_from_sockaddr(x->local, &s.local);
		kaddr_from_sockaddr(x->remote, &s.remote);
		if ((rc = l->ops->create(l->l, &s, &b->ifindex)) != 0) {
			log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: creating %s interface %s failed: %s%s", tag,
				s.kind == LINK_VTI ? "VTI" : "XFRM", b->name, strerr(rc),
				rc == -EOPNOTSUPP ? " (kernel without xfrm_interface / ip_vti?)" : "");
			b->ifindex = 0;
			return rc;
		}
		b->created = true;
		if (s.kind == LINK_VTI)
			log_msg(LOG_KNL, LOG_LVL_INFO, "%s: VTI interface %s created (key %u)", tag,
				b->name, b->mark);
		else
			log_msg(LOG_KNL, LOG_LVL_INFO, "%s: XFRM interface %s created (if_id %u)", tag,
				b->name, b->if_id);
	}
	if (r->vti[0]) {
		/*
		 * Packets leaving a VTI were encrypted by the SA its okey picks;
		 * without disable_policy the kernel checks the decapsulated
		 * packets against the policies once more and drops them.
		 */
		l->ops->disable_policy(l->l, b->name, AF_INET);
		l->ops->disable_policy(l->l, b->name, AF_INET6);
	}
	/* Link events on it are ours, not a path change (route_iface_owns_ifindex). */
	if (!spi_table_get(e->ifaces->by_ifindex, (uint64_t)b->ifindex) &&
	    (rc = spi_table_add(e->ifaces->by_ifindex, (uint64_t)b->ifindex, b)) != 0)
		return rc;
	if ((rc = l->ops->set_up(l->l, b->ifindex, r->mtu, b->created)) != 0) {
		log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: interface %s: up/mtu failed: %s", tag, b->name,
			strerr(rc));
		return rc;
	}
	for (size_t i = 0; i < r->n_addresses; i++) {
		struct link_prefix p = {.plen = r->addresses[i].plen};
		kaddr_from_sockaddr(&r->addresses[i].addr, &p.addr);
		rc = l->ops->addr_add(l->l, b->ifindex, &p);
		if (rc == 0) {
			b->addrs[b->n_addrs++] = p;
			addr_ref_add(e->ifaces, &p.addr);
		} else if (rc != -EEXIST)
			log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: interface %s: address %u failed: %s", tag,
				b->name, (unsigned)i + 1, strerr(rc));
	}
	return 0;
}

/*
 * The binding sa's new Child SA joins, or NULL (a new one). name: the
 * device name the conn asks for ("" = none). Conns naming the same device
 * share one binding (so it is created once and removed with the last
 * Child SA of any of them); -EEXIST in *err when they disagree on its
 * if_id or mark.
 */
static struct route_iface *find_binding(const struct bctx *x, const char *name, int *err)
{
	const struct route_cfg *r = &x->conn->route;
	struct ikesa *sa = x->sa;
	*err = 0;
	if (r->if_id_unique && sa) {
		/* One per IKE SA: whatever its other Child SAs (or, after an IKE
		 * rekey, the ones it took over) are bound to. */
		for (struct child_sa *y = sa->children; y; y = y->next)
			if (y->iface && y->iface->unique)
				return y->iface;
		/* A reauthentication's new IKE SA keeps the old one's (task_reauth.h). */
		struct ikesa *o = sa->reauth_of ? engine_find(sa->e, sa->reauth_of) : NULL;
		for (struct child_sa *y = o ? o->children : NULL; y; y = y->next)
			if (y->iface && y->iface->unique)
				return y->iface;
		return NULL;
	}
	uint64_t k = name_key(name, r->if_id, r->mark);
	for (struct route_iface *b = spi_table_get(x->e->ifaces->by_key, k); b; b = b->hnext) {
		if (name[0] && strcmp(b->name, name) == 0) {
			if (b->if_id == r->if_id && b->mark == r->mark)
				return b;
			log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: interface %s is in use by conn %s with "
				"if_id %u mark %u", x->tag, name, b->conn_name, b->if_id, b->mark);
			*err = -EEXIST;
			return NULL;
		}
		if (!name[0] && !b->name[0] && b->if_id == r->if_id && b->mark == r->mark)
			return b;
	}
	return NULL;
}

static int attach(const struct bctx *x, struct child_sa *c)
{
	const struct route_cfg *r = &x->conn->route;
	struct engine *e = x->e;
	if (c->iface || (!r->if_id && !r->if_id_unique && !r->mark))
		return 0;
	if (r->if_id_unique && !x->sa)
		return -EINVAL; /* config_route.c refuses start = trap with %unique */
	/* The device name: for %unique it follows the if_id, known once allocated. */
	const char *tmpl = r->vti[0] ? r->vti : r->interface;
	char name[LINK_NAME_MAX] = "";
	int rc = 0;
	if (!ix(e))
		return -ENOMEM;
	if (tmpl[0] && !r->if_id_unique && (rc = link_name_format(tmpl, r->if_id, name)) != 0) {
		log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: interface name %s with if_id %u: %s",
			x->tag, tmpl, r->if_id, strerr(rc));
		return rc;
	}
	struct route_iface *b = find_binding(x, name, &rc);
	if (rc != 0)
		return rc;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		strcpy(b->conn_name, x->conn->name);
		b->mark = r->mark;
		b->if_id = r->if_id;
		if (r->if_id_unique) {
			b->unique = true;
			b->if_id = alloc_unique(e);
			if (!b->if_id) {
				free(b);
				log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: no free if_id", x->tag);
				return -ENOSPC;
			}
			if (tmpl[0] && (rc = link_name_format(tmpl, b->if_id, name)) != 0)
				log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: interface name %s with if_id %u: %s",
					x->tag, tmpl, b->if_id, strerr(rc));
		}
		strcpy(b->name, name);
		if (rc == 0 && (rc = index_add(e->ifaces, b)) != 0) {
			free(b);
			return rc;
		}
		if (rc == 0 && b->name[0])
			rc = setup_device(x, b);
		if (rc != 0) {
			release(e, b);
			return rc;
		}
	}
	b->refs++;
	c->iface = b;
	c->if_id = b->if_id;
	c->mark = b->mark;
	return 0;
}

int route_iface_attach(struct ikesa *sa, struct child_sa *c)
{
	struct bctx x = {sa->e, sa->conn, &sa->local, &sa->remote, ikesa_tag(sa), sa};
	int rc = attach(&x, c);
	/* a laptop's virtual IPs live on the tunnel interface (vip.h), before its routes */
	if (rc == 0 && c->iface)
		vip_on_iface(sa, c->iface->ifindex);
	return rc;
}

int route_iface_attach_trap(struct engine *e, const struct conn_cfg *conn,
			    const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
			    const char *tag, struct child_sa *pol)
{
	struct bctx x = {e, conn, local, remote, tag, NULL};
	return attach(&x, pol);
}

/* A traffic selector that is one prefix: its length, or -1 (a range: no route). */
static int ts_plen(const struct ike_ts *t, size_t n)
{
	int plen = 0;
	size_t i = 0;
	for (; i < n && t->start[i] == t->end[i]; i++)
		plen += 8;
	if (i == n)
		return plen;
	uint8_t diff = (uint8_t)(t->start[i] ^ t->end[i]);
	int bits = 0;
	while (bits < 8 && !(diff & (0x80 >> bits)))
		bits++;
	uint8_t host = (uint8_t)(0xff >> bits);
	if ((t->start[i] & host) != 0 || (t->end[i] & host) != host)
		return -1;
	for (size_t j = i + 1; j < n; j++)
		if (t->start[j] != 0 || t->end[j] != 0xff)
			return -1;
	return plen + bits;
}

static void add_routes(struct engine *e, const struct conn_cfg *conn, const char *tag,
		       struct child_sa *c)
{
	struct route_iface *b = c->iface;
	struct link *l = lk(e);
	if (!b || c->routed || !conn->route.routes || b->ifindex <= 0 || !l->ops)
		return;
	c->routed = true;
	for (size_t i = 0; i < c->n_remote_ts; i++) {
		const struct ike_ts *t = &c->remote_ts[i];
		size_t n = t->type == TS_IPV6_ADDR_RANGE ? 16 : 4;
		char txt[96];
		ts_to_string(t, txt, sizeof(txt));
		int plen = ts_plen(t, n);
		if (plen <= 0) {
			/* A default route through the tunnel would also take the IKE
			 * traffic: left to the administrator (or a routing daemon). */
			log_msg(LOG_KNL, LOG_LVL_INFO, "%s: no route for %s via %s (%s)", tag,
				txt, b->name, plen == 0 ? "a default route is left to the administrator"
							: "not a prefix");
			continue;
		}
		struct link_prefix p = {.plen = (uint8_t)plen};
		p.addr.family = n == 16 ? AF_INET6 : AF_INET;
		memcpy(p.addr.a, t->start, n);
		size_t k = 0;
		while (k < b->n_routes && !(b->routes[k].p.plen == p.plen &&
					     kaddr_eq(&b->routes[k].p.addr, &p.addr)))
			k++;
		if (k == b->n_routes) {
			if (b->n_routes == b->cap_routes) {
				size_t cap = b->cap_routes ? b->cap_routes * 2 : 4;
				struct route_ref *nr = realloc(b->routes, cap * sizeof(*nr));
				if (!nr)
					continue;
				b->routes = nr;
				b->cap_routes = cap;
			}
			int rc = l->ops->route_add(l->l, b->ifindex, &p);
			if (rc != 0 && rc != -EEXIST) {
				log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: route %s via %s failed: %s",
					tag, txt, b->name, strerr(rc));
				continue;
			}
			b->routes[b->n_routes++] = (struct route_ref){.p = p, .ours = rc == 0};
			if (rc == 0)
				log_msg(LOG_KNL, LOG_LVL_INFO, "%s: route %s via %s", tag, txt,
					b->name);
		}
		b->routes[k].refs++;
	}
}

void route_iface_add_routes(struct ikesa *sa, struct child_sa *c)
{
	add_routes(sa->e, sa->conn, ikesa_tag(sa), c);
}

void route_iface_add_routes_trap(struct engine *e, const struct conn_cfg *conn, const char *tag,
				 struct child_sa *pol)
{
	add_routes(e, conn, tag, pol);
}

void route_iface_detach(struct engine *e, struct child_sa *c)
{
	struct route_iface *b = c->iface;
	if (!b)
		return;
	c->iface = NULL;
	if (c->routed) {
		c->routed = false;
		struct link *l = lk(e);
		for (size_t i = 0; i < c->n_remote_ts; i++) {
			const struct ike_ts *t = &c->remote_ts[i];
			size_t n = t->type == TS_IPV6_ADDR_RANGE ? 16 : 4;
			int plen = ts_plen(t, n);
			for (size_t k = 0; plen > 0 && k < b->n_routes; k++) {
				struct route_ref *rr = &b->routes[k];
				if (rr->p.plen != plen || memcmp(rr->p.addr.a, t->start, n) != 0 ||
				    rr->p.addr.family != (n == 16 ? AF_INET6 : AF_INET))
					continue;
				if (--rr->refs == 0) {
					/* Last user of the route: it goes now unless the device does. */
					if (rr->ours && b->refs > 1 && l->ops)
						l->ops->route_del(l->l, b->ifindex, &rr->p);
					if (b->refs > 1)
						b->routes[k] = b->routes[--b->n_routes];
				}
				break;
			}
		}
	}
	if (--b->refs == 0)
		release(e, b);
}

const char *route_iface_name(const struct child_sa *c)
{
	return c->iface && c->iface->name[0] ? c->iface->name : NULL;
}

bool route_iface_has_addr(struct engine *e, const struct sockaddr_storage *addr)
{
	if (!e->ifaces)
		return false;
	struct kaddr k;
	kaddr_from_sockaddr(addr, &k);
	for (struct addr_ref *r = spi_table_get(e->ifaces->addrs, addr_key(&k)); r; r = r->next)
		if (kaddr_eq(&r->a, &k))
			return true;
	return false;
}

bool route_iface_owns_ifindex(const struct engine *e, int ifindex)
{
	if (!e || !e->ifaces || ifindex <= 0)
		return false;
	const struct route_iface *b = spi_table_get(e->ifaces->by_ifindex, (uint64_t)ifindex);
	if (b)
		return b->created;
	return spi_table_get(e->ifaces->gone, (uint64_t)ifindex) != NULL;
}

size_t route_iface_count(const struct engine *e)
{
	size_t n = 0;
	for (const struct route_iface *b = e->ifaces ? e->ifaces->all : NULL; b; b = b->next)
		n++;
	return n;
}

void route_iface_free_all(struct engine *e)
{
	struct route_ifaces *x = e->ifaces;
	if (!x)
		return;
	while (x->all)
		release(e, x->all);
	spi_table_free(x->by_unique);
	spi_table_free(x->by_key);
	spi_table_free(x->by_ifindex);
	spi_table_free(x->addrs);
	spi_table_free(x->gone);
	free(x);
	e->ifaces = NULL;
}
