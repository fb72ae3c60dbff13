/* Routes of policy-based Child SAs in xiked's own table (see child_route.h). */
#include "daemon/child_route.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/fnv.h"
#include "daemon/engine_ctx.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/spi_table.h"
#include "netlink/link.h"

/* Prefixes one traffic-selector range splits into at most (an IPv4 range needs up to 62). */
#define RANGE_PREFIXES_MAX 64
/* Routes one Child SA holds at most (its throw for the peer included). */
#define CHILD_ROUTES_MAX 128

/* One route in xiked's table, shared by the Child SAs and traps that need its prefix. */
struct croute {
	struct croute *hnext;      /* same hash */
	struct croute *next, *prev; /* every route (free_all) */
	struct link_table_route r; /* as installed */
	struct kaddr peer;         /* whose path r follows */
	unsigned refs;
	bool installed;            /* we added it: we remove it */
};

/* What one Child SA (or trap) holds. */
struct child_routes {
	size_t n;
	struct croute *e[];
};

struct croutes {
	struct spi_table *by_prefix; /* prefix_key() -> chain (hnext) */
	struct croute *all;
	size_t n;
	uint32_t table, prio;        /* [daemon] at the first use; 0 table: off */
	unsigned fam_routes[2];      /* installed routes per family (IPv4, IPv6) */
	bool rule[2];                /* our rule of that family exists */
};

static const char *strerr(int rc)
{
	return strerror(rc < 0 ? -rc : rc);
}

static int fam_ix(uint8_t family)
{
	return family == AF_INET6 ? 1 : 0;
}

static struct link *lk(struct engine *e)
{
	return &e->env.link;
}

static bool have_ops(struct engine *e)
{
	struct link *l = lk(e);
	return l->ops && l->ops->troute_add && l->ops->get_path;
}

static struct croutes *state(struct engine *e)
{
	if (e->croutes)
		return e->croutes;
	struct croutes *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	if (!(x->by_prefix = spi_table_new())) {
		free(x);
		return NULL;
	}
	x->table = e->cfg->cfg->d.route_table;
	x->prio = e->cfg->cfg->d.route_rule_priority;
	return e->croutes = x;
}

/* FNV-1a over (family, address, length), mixed further by spi_table. */
static uint64_t prefix_key(const struct link_prefix *p)
{
	uint8_t head[2] = {p->addr.family, p->plen};
	return fnv64(fnv64(FNV64_OFFSET, head, sizeof(head)), p->addr.a, kaddr_len(p->addr.family));
}

static bool prefix_eq(const struct link_prefix *a, const struct link_prefix *b)
{
	return a->plen == b->plen && kaddr_eq(&a->addr, &b->addr);
}

static struct croute *find(struct croutes *x, const struct link_prefix *p)
{
	for (struct croute *r = spi_table_get(x->by_prefix, prefix_key(p)); r; r = r->hnext)
		if (prefix_eq(&r->r.dst, p))
			return r;
	return NULL;
}

static const char *prefix_str(const struct link_prefix *p, char *buf, size_t len)
{
	char a[KADDR_STRLEN];
	kaddr_to_string(&p->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->plen);
	return buf;
}

/* ---- address arithmetic on n-byte big-endian addresses ---- */

static bool bit_set(const uint8_t *a, unsigned i)
{
	return a[i / 8] & (0x80 >> (i % 8));
}

/* Whether every bit from plen on is zero. */
static bool aligned(const uint8_t *a, size_t n, unsigned plen)
{
	for (unsigned i = plen; i < n * 8; i++)
		if (bit_set(a, i))
			return false;
	return true;
}

/* a with every bit from plen on set. */
static void last_of(const uint8_t *a, size_t n, unsigned plen, uint8_t *out)
{
	memcpy(out, a, n);
	for (unsigned i = plen; i < n * 8; i++)
		out[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

/* memcmp for n address bytes (a loop: GCC's -Wstringop-overread misjudges the inlined bounds). */
static int cmp(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

/* a + 1; false when it wraps. */
static bool incr(uint8_t *a, size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (++a[i] != 0)
			return true;
	return false;
}

/* Whether the first plen bits of a and b agree. */
static bool same_prefix(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	for (unsigned i = 0; i < plen; i++)
		if (bit_set(a, i) != bit_set(b, i))
			return false;
	return true;
}

/* The fewest prefixes covering [start, end] exactly; how many (at most cap). */
static size_t range_prefixes(uint8_t family, const uint8_t *start, const uint8_t *end,
			     struct link_prefix *out, size_t cap)
{
	size_t n = kaddr_len(family), k = 0;
	uint8_t cur[16], last[16];
	if (n == 0 || n > sizeof(cur) || cmp(start, end, n) > 0)
		return 0;
	memcpy(cur, start, n);
	while (k < cap) {
		unsigned plen = 0;
		/* The shortest prefix at cur that stays within end. */
		for (; plen < n * 8; plen++) {
			last_of(cur, n, plen, last);
			if (aligned(cur, n, plen) && cmp(last, end, n) <= 0)
				break;
		}
		last_of(cur, n, plen, last);
		out[k] = (struct link_prefix){.addr.family = family, .plen = (uint8_t)plen};
		memcpy(out[k].addr.a, cur, n);
		k++;
		if (cmp(last, end, n) >= 0)
			break;
		memcpy(cur, last, n);
		if (!incr(cur, n))
			break;
	}
	return k;
}

/* ---- the rule ---- */

static void rule_need(struct engine *e, struct croutes *x, uint8_t family)
{
	int f = fam_ix(family);
	struct link *l = lk(e);
	if (x->fam_routes[f]++ || x->rule[f] || !l->ops->rule_add)
		return;
	int rc = l->ops->rule_add(l->l, family, x->prio, x->table);
	if (rc != 0 && rc != -EEXIST) {
		log_msg(LOG_KNL, LOG_LVL_ERROR, "ip rule priority %u lookup %u (%s) failed: %s",
			x->prio, x->table, family == AF_INET6 ? "IPv6" : "IPv4", strerr(rc));
		return;
	}
	/* -EEXIST: the same rule, ours by its protocol; removed with the last route all the same. */
	x->rule[f] = true;
	log_msg(LOG_KNL, LOG_LVL_DEBUG, "ip rule priority %u lookup %u (%s) added", x->prio, x->table,
		family == AF_INET6 ? "IPv6" : "IPv4");
}

static void rule_release(struct engine *e, struct croutes *x, uint8_t family)
{
	int f = fam_ix(family);
	struct link *l = lk(e);
	if (x->fam_routes[f] == 0 || --x->fam_routes[f] || !x->rule[f])
		return;
	x->rule[f] = false;
	int rc = l->ops->rule_del ? l->ops->rule_del(l->l, family, x->prio, x->table) : 0;
	if (rc != 0 && rc != -ENOENT)
		log_msg(LOG_KNL, LOG_LVL_WARN, "removing ip rule priority %u lookup %u failed: %s",
			x->prio, x->table, strerr(rc));
}

/* ---- routes ---- */

static void log_route(const char *tag, const char *what, const struct link_table_route *r)
{
	char d[64], g[KADDR_STRLEN], s[KADDR_STRLEN];
	prefix_str(&r->dst, d, sizeof(d));
	if (r->throw_) {
		log_msg(LOG_KNL, LOG_LVL_INFO, "%s: %s throw %s (table %u: the peer stays on the "
			"main table's path)", tag, what, d, r->table);
		return;
	}
	log_msg(LOG_KNL, LOG_LVL_INFO, "%s: %s %s%s%s dev %d%s%s (table %u)", tag, what, d,
		r->gw.family ? " via " : "", r->gw.family ? kaddr_to_string(&r->gw, g, sizeof(g)) : "",
		r->ifindex, r->src.family ? " src " : "",
		r->src.family ? kaddr_to_string(&r->src, s, sizeof(s)) : "", r->table);
}

static bool same_path(const struct link_table_route *a, const struct link_table_route *b)
{
	return a->throw_ == b->throw_ && a->ifindex == b->ifindex && kaddr_eq(&a->gw, &b->gw) &&
	       kaddr_eq(&a->src, &b->src);
}

static void unlink_route(struct croutes *x, struct croute *r)
{
	uint64_t k = prefix_key(&r->r.dst);
	struct croute *head = spi_table_get(x->by_prefix, k);
	if (head == r) {
		spi_table_del(x->by_prefix, k);
		if (r->hnext)
			spi_table_add(x->by_prefix, k, r->hnext); /* the slot was just freed */
	} else {
		for (struct croute *p = head; p; p = p->hnext)
			if (p->hnext == r) {
				p->hnext = r->hnext;
				break;
			}
	}
	if (r->prev)
		r->prev->next = r->next;
	else
		x->all = r->next;
	if (r->next)
		r->next->prev = r->prev;
	x->n--;
}

static void put_route(struct engine *e, struct croutes *x, struct croute *r)
{
	if (--r->refs)
		return;
	if (r->installed) {
		struct link *l = lk(e);
		int rc = l->ops->troute_del(l->l, &r->r);
		/* Gone already: the kernel drops routes through a device that went down. */
		if (rc != 0 && rc != -ESRCH && rc != -ENOENT) {
			char d[64];
			log_msg(LOG_KNL, LOG_LVL_WARN, "removing the route to %s from table %u failed: %s",
				prefix_str(&r->r.dst, d, sizeof(d)), r->r.table, strerr(rc));
		}
		rule_release(e, x, r->r.dst.addr.family);
	}
	unlink_route(x, r);
	free(r);
}

/*
 * A reference to the route for want (its prefix): the existing one as it
 * is when it follows the same peer and !force, else with want's path
 * (replaced in place when it differs). NULL when memory runs out.
 */
static struct croute *get_route(struct engine *e, struct croutes *x, const struct link_table_route *want,
				const struct kaddr *peer, const char *tag)
{
	struct link *l = lk(e);
	struct croute *r = find(x, &want->dst);
	if (r) {
		r->refs++;
		if (!r->installed || same_path(&r->r, want))
			r->peer = *peer;
		if (!r->installed || same_path(&r->r, want) || r->r.throw_ != want->throw_)
			return r;
		int rc = l->ops->troute_add(l->l, want, true);
		if (rc != 0) {
			char d[64];
			log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: moving the route to %s failed: %s", tag,
				prefix_str(&want->dst, d, sizeof(d)), strerr(rc));
			return r;
		}
		r->r = *want;
		r->peer = *peer;
		log_route(tag, "route moved:", want);
		return r;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return NULL;
	r->r = *want;
	r->peer = *peer;
	r->refs = 1;
	uint64_t k = prefix_key(&want->dst);
	r->hnext = spi_table_del(x->by_prefix, k);
	if (spi_table_add(x->by_prefix, k, r) != 0) {
		if (r->hnext)
			spi_table_add(x->by_prefix, k, r->hnext);
		free(r);
		return NULL;
	}
	r->next = x->all;
	if (x->all)
		x->all->prev = r;
	x->all = r;
	x->n++;
	int rc = l->ops->troute_add(l->l, want, false);
	if (rc == 0) {
		r->installed = true;
		rule_need(e, x, want->dst.addr.family);
		log_route(tag, want->throw_ ? "added" : "route", want);
	} else {
		/* -EEXIST: another program's route of the same prefix in our table; left alone. */
		char d[64];
		log_msg(LOG_KNL, LOG_LVL_ERROR, "%s: route to %s in table %u failed: %s", tag,
			prefix_str(&want->dst, d, sizeof(d)), x->table, strerr(rc));
	}
	return r;
}

static bool applies(struct engine *e, const struct conn_cfg *conn, const struct child_sa *c,
		    const struct sockaddr_storage *remote)
{
	return c->mode == CONFIG_MODE_TUNNEL && !c->if_id && !c->mark && conn && conn->route.routes &&
	       e->cfg->cfg->d.route_table && have_ops(e) &&
	       (remote->ss_family == AF_INET || remote->ss_family == AF_INET6);
}

/* The path to the peer and the source per family, resolved when first needed. */
struct resolve {
	struct engine *e;
	struct kaddr peer, local;
	const char *tag;
	const struct child_sa *c;
	bool path_done, path_ok;
	struct link_path path;
	bool src_done[2];
	struct kaddr src[2];
};

static bool path_of(struct resolve *v)
{
	if (v->path_done)
		return v->path_ok;
	struct link *l = lk(v->e);
	v->path_done = true;
	int rc = l->ops->get_path(l->l, &v->peer, &v->local, &v->path);
	if (rc != 0 && v->local.family) /* our address may have gone: the route alone */
		rc = l->ops->get_path(l->l, &v->peer, NULL, &v->path);
	char p[KADDR_STRLEN];
	if (rc != 0 || v->path.ifindex <= 0) {
		log_msg(LOG_KNL, LOG_LVL_WARN, "%s: no route to the peer %s (%s): no routes for the "
			"Child SA's remote traffic selectors", v->tag,
			kaddr_to_string(&v->peer, p, sizeof(p)), rc ? strerr(rc) : "no device");
		return false;
	}
	/* An on-link peer is its own next hop (the routes then read "via PEER"). */
	if (!v->path.gw.family)
		v->path.gw = v->peer;
	return v->path_ok = true;
}

static const struct kaddr *src_of(struct resolve *v, uint8_t family)
{
	int f = fam_ix(family);
	struct link *l = lk(v->e);
	if (!v->src_done[f]) {
		v->src_done[f] = true;
		uint8_t type = family == AF_INET6 ? TS_IPV6_ADDR_RANGE : TS_IPV4_ADDR_RANGE;
		for (size_t i = 0; i < v->c->n_local_ts && !v->src[f].family; i++) {
			const struct ike_ts *t = &v->c->local_ts[i];
			if (t->type != type || !l->ops->local_addr_in ||
			    l->ops->local_addr_in(l->l, family, t->start, t->end, &v->src[f]) != 0)
				v->src[f] = (struct kaddr){0};
		}
	}
	return &v->src[f];
}

static void hold(struct child_routes *list, struct croute *r)
{
	if (r)
		list->e[list->n++] = r;
}

/*
 * c's routes for the peer at remote; force: resolve the path even where
 * the routes exist for this peer (the IKE SA moved). The new references
 * are taken before the caller drops any old ones (make before break).
 */
static struct child_routes *build(struct engine *e, const struct sockaddr_storage *local,
				  const struct sockaddr_storage *remote, const char *tag,
				  const struct child_sa *c, bool force)
{
	struct croutes *x = state(e);
	if (!x || !x->table)
		return NULL;
	struct resolve v = {.e = e, .tag = tag, .c = c};
	kaddr_from_sockaddr(remote, &v.peer);
	kaddr_from_sockaddr(local, &v.local);
	size_t pn = kaddr_len(v.peer.family);
	struct link_prefix *pf = malloc(CHILD_ROUTES_MAX * sizeof(*pf));
	struct child_routes *list = malloc(sizeof(*list) + (CHILD_ROUTES_MAX + 1) * sizeof(list->e[0]));
	if (!pf || !list) {
		free(pf);
		free(list);
		return NULL;
	}
	list->n = 0;
	size_t n = 0;
	bool covers_peer = false;
	for (size_t i = 0; i < c->n_remote_ts && n < CHILD_ROUTES_MAX; i++) {
		const struct ike_ts *t = &c->remote_ts[i];
		uint8_t family = t->type == TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET;
		size_t k = range_prefixes(family, t->start, t->end, pf + n,
					  CHILD_ROUTES_MAX - n < RANGE_PREFIXES_MAX ? CHILD_ROUTES_MAX - n
										    : RANGE_PREFIXES_MAX);
		for (size_t j = n; j < n + k; j++) {
			if (family != v.peer.family || !same_prefix(pf[j].addr.a, v.peer.a, pf[j].plen))
				continue;
			if (pf[j].plen == pn * 8)
				pf[j].plen = 0xff; /* exactly the peer: the main table's route is the one */
			else
				covers_peer = true;
		}
		n += k;
	}
	/* The exception first: the RTM_GETROUTE to the peer must not see our own routes. */
	if (covers_peer) {
		struct link_table_route th = {.table = x->table, .throw_ = true,
					      .dst = {.addr = v.peer, .plen = (uint8_t)(pn * 8)}};
		hold(list, get_route(e, x, &th, &v.peer, tag));
	}
	for (size_t j = 0; j < n; j++) {
		if (pf[j].plen == 0xff)
			continue;
		struct croute *old = find(x, &pf[j]);
		bool dup = false;
		for (size_t i = 0; i < list->n && !dup; i++)
			dup = old && list->e[i] == old;
		if (dup)
			continue; /* two selectors of one Child SA with a prefix in common */
		if (old && !force && kaddr_eq(&old->peer, &v.peer)) {
			old->refs++; /* a rekey's successor: nothing to ask the kernel */
			hold(list, old);
			continue;
		}
		if (!path_of(&v))
			break;
		uint8_t family = pf[j].addr.family;
		struct link_table_route want = {.table = x->table, .dst = pf[j], .ifindex = v.path.ifindex};
		if (v.path.gw.family == family)
			want.gw = v.path.gw; /* else the inner family differs from the outer: dev only */
		want.src = *src_of(&v, family);
		hold(list, get_route(e, x, &want, &v.peer, tag));
	}
	free(pf);
	return list;
}

static void release(struct engine *e, struct child_routes *list)
{
	struct croutes *x = e->croutes;
	if (!list)
		return;
	for (size_t i = 0; x && i < list->n; i++)
		put_route(e, x, list->e[i]);
	free(list);
}

void child_route_add(struct engine *e, const struct conn_cfg *conn,
		     const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
		     const char *tag, struct child_sa *c)
{
	if (c->troutes || !applies(e, conn, c, remote))
		return;
	c->troutes = build(e, local, remote, tag, c, false);
}

void child_route_move(struct engine *e, const struct conn_cfg *conn,
		      const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
		      const char *tag, struct child_sa *c)
{
	/* Installed Child SAs only (one under negotiation gets its routes at install); one
	 * that found no path at install gets them now. */
	if (!(c->troutes || c->installed_in || c->installed_out) || !applies(e, conn, c, remote))
		return;
	struct child_routes *old = c->troutes;
	c->troutes = build(e, local, remote, tag, c, true);
	release(e, old);
}

void child_route_del(struct engine *e, struct child_sa *c)
{
	struct child_routes *list = c->troutes;
	c->troutes = NULL;
	release(e, list);
}

size_t child_route_count(const struct engine *e)
{
	return e->croutes ? e->croutes->n : 0;
}

void child_route_start(struct engine *e)
{
	struct link *l = lk(e);
	if (!l->ops || !l->ops->flush)
		return;
	int rc = l->ops->flush(l->l);
	if (rc > 0)
		log_msg(LOG_KNL, LOG_LVL_INFO, "removed %d stale routes and rules (protocol %d) a "
			"previous xiked left", rc, LINK_RTPROT_XIKED);
	else if (rc < 0)
		log_msg(LOG_KNL, LOG_LVL_WARN, "removing stale routes and rules failed: %s", strerr(rc));
}

void child_route_free_all(struct engine *e)
{
	struct croutes *x = e->croutes;
	if (!x)
		return;
	/* Holders that never let go (none after engine_free's SA and trap removal). */
	while (x->all) {
		x->all->refs = 1;
		put_route(e, x, x->all);
	}
	spi_table_free(x->by_prefix);
	free(x);
	e->croutes = NULL;
}
