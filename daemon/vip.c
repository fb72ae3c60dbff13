/*
 * Virtual IPs of an IKE SA (see vip.h).
 */
#include "daemon/vip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/fnv.h"
#include "daemon/addr_pool.h"
#include "daemon/config.h"
#include "daemon/engine_ctx.h"
#include "daemon/ikesa.h"
#include "daemon/json.h"
#include "daemon/log.h"
#include "daemon/spi_table.h"
#include "daemon/ts.h"
#include "netlink/kaddr.h"
#include "netlink/link.h"

/* An address xiked put on a device, counted over the IKE SAs holding it (e->vips). */
struct vip_ref {
	struct vip_ref *next; /* same key */
	struct kaddr a;
	int ifindex;
	unsigned count;
	bool owned; /* we added it (not there before): we remove it */
};

static uint64_t vip_key(const struct kaddr *a)
{
	return fnv64(FNV64_OFFSET ^ a->family, a->a, kaddr_len(a->family));
}

static void to_kaddr(const struct cp_prefix *p, struct kaddr *k)
{
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	memcpy(k->a, p->addr, p->family == AF_INET ? 4 : 16);
}

static const char *pstr(const struct cp_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	inet_ntop(p->family, p->addr, a, sizeof(a));
	snprintf(buf, len, "%s", a);
	return buf;
}

static struct vip_state *state(struct ikesa *sa)
{
	if (!sa->vip)
		sa->vip = calloc(1, sizeof(*sa->vip));
	return sa->vip;
}

/* ---- gateway ---- */

static struct addr_pools *pools(struct engine *e)
{
	if (!e->pools)
		e->pools = addr_pools_new();
	return e->pools;
}

/* A lease of family from the conn's pools, in their order; 0 or -errno. */
static int lease(struct ikesa *sa, struct vip_state *v, uint8_t family)
{
	const struct cp_cfg *cp = &sa->conn->cp;
	uint8_t key[1 + CONFIG_ID_MAX];
	key[0] = sa->peer_id_type;
	memcpy(key + 1, sa->peer_id, sa->peer_id_len);
	struct config_id id = { .type = sa->peer_id_type, .len = sa->peer_id_len };
	memcpy(id.data, sa->peer_id, sa->peer_id_len);
	char text[ADDR_POOL_TEXT_MAX];
	config_id_format(&id, text, sizeof(text));
	int rc = -ENOSPC;
	for (size_t i = 0; i < cp->n_pools && v->n < CP_ADDRS_MAX; i++) {
		if (cp->pools[i].family != family)
			continue;
		struct addr_pools *ps = pools(sa->e);
		struct addr_pool *p = ps ? addr_pools_get(ps, &cp->pools[i]) : NULL;
		if (!p)
			return -ENOMEM;
		rc = addr_pool_acquire(p, key, 1u + sa->peer_id_len, text, loop_now(sa->e->env.loop),
				       &v->addrs[v->n]);
		if (rc == 0) {
			v->pools[v->n++] = p;
			return 0;
		}
	}
	return rc;
}

int vip_assign(struct ikesa *sa, const struct cp_info *req, struct cp_info *reply)
{
	const struct cp_cfg *cp = &sa->conn->cp;
	memset(reply, 0, sizeof(*reply));
	reply->type = CFG_REPLY;
	struct vip_state *v = state(sa);
	if (!v)
		return -ENOMEM;
	/*
	 * 3.15.1: a zero-length or a filled address attribute both ask for
	 * one (the value is a wish); the identity's lease wins over a wish.
	 */
	bool want4 = req->want_ip4, want6 = req->want_ip6;
	for (size_t i = 0; i < req->n_addrs; i++)
		*(req->addrs[i].family == AF_INET ? &want4 : &want6) = true;
	v->asked = want4 || want6;
	char a[INET6_ADDRSTRLEN], idt[ADDR_POOL_TEXT_MAX];
	struct config_id id = { .type = sa->peer_id_type, .len = sa->peer_id_len };
	memcpy(id.data, sa->peer_id, sa->peer_id_len);
	config_id_format(&id, idt, sizeof(idt));
	if (v->n == 0) { /* not again on a retransmitted request's second run */
		if (want4)
			lease(sa, v, AF_INET);
		if (want6)
			lease(sa, v, AF_INET6);
	}
	if (v->asked && v->n == 0) {
		v->failed = true;
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: no virtual IP for %s: the conn's pools are %s: "
			"INTERNAL_ADDRESS_FAILURE", ikesa_tag(sa), idt,
			cp->n_pools ? "exhausted" : "none");
		return -ENOSPC;
	}
	for (size_t i = 0; i < v->n; i++) {
		reply->addrs[reply->n_addrs++] = v->addrs[i];
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: virtual IP %s leased to %s", ikesa_tag(sa),
			pstr(&v->addrs[i], a, sizeof(a)), idt);
	}
	/* DNS and split networks: what we have, to a client that asked anything. */
	if (req->want_dns4 || req->want_dns6 || v->asked)
		for (size_t i = 0; i < cp->n_dns; i++)
			reply->dns[reply->n_dns++] = cp->dns[i];
	for (size_t i = 0; i < cp->n_split; i++)
		reply->subnets[reply->n_subnets++] = cp->split[i];
	for (size_t i = 0; i < cp->n_domains; i++)
		memcpy(reply->domains[reply->n_domains++], cp->domains[i], sizeof(cp->domains[i]));
	return 0;
}

bool vip_failed(const struct ikesa *sa)
{
	return sa->vip && sa->vip->failed;
}

/* ---- laptop ---- */

bool vip_request(const struct ikesa *sa, struct cp_info *req)
{
	const struct cp_cfg *cp = &sa->conn->cp;
	memset(req, 0, sizeof(*req));
	if (!cp->vip4 && !cp->vip6)
		return false;
	req->type = CFG_REQUEST;
	req->want_ip4 = req->want_dns4 = cp->vip4;
	req->want_ip6 = req->want_dns6 = cp->vip6;
	req->want_domain = true;
	return true;
}

/*
 * Put a on device ifindex, or (0) on the device toward the peer; counted
 * in e->vips. 0 or -errno.
 */
static int put_addr(struct ikesa *sa, const struct cp_prefix *p, int ifindex, int *ifindex_out)
{
	struct engine *e = sa->e;
	const struct link *l = &e->env.link;
	char a[INET6_ADDRSTRLEN];
	struct kaddr k;
	to_kaddr(p, &k);
	if (!e->vips && !(e->vips = spi_table_new()))
		return -ENOMEM;
	uint64_t key = vip_key(&k);
	for (struct vip_ref *r = spi_table_get(e->vips, key); r; r = r->next)
		if (kaddr_eq(&r->a, &k)) {
			r->count++;
			*ifindex_out = r->ifindex;
			return 0;
		}
	if (!l->ops || !l->ops->get_path || !l->ops->addr_add) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: virtual IP %s: no link access, not put on a device",
			ikesa_tag(sa), pstr(p, a, sizeof(a)));
		return -EOPNOTSUPP;
	}
	struct kaddr dst, src;
	kaddr_from_sockaddr(&sa->remote, &dst);
	kaddr_from_sockaddr(&sa->local, &src);
	struct link_path path = { .ifindex = ifindex };
	int rc = ifindex > 0 ? 0 : l->ops->get_path(l->l, &dst, &src, &path);
	if (rc == 0 && path.ifindex <= 0)
		rc = -ENODEV;
	struct link_prefix lp = { .addr = k, .plen = p->family == AF_INET ? 32 : 128 };
	bool owned = true;
	if (rc == 0) {
		rc = l->ops->addr_add(l->l, path.ifindex, &lp);
		if (rc == -EEXIST) {
			owned = false; /* someone put it there: left there */
			rc = 0;
		}
	}
	if (rc != 0) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: virtual IP %s: cannot put it on %s: %s",
			ikesa_tag(sa), pstr(p, a, sizeof(a)),
			ifindex > 0 ? "the tunnel interface" : "the device toward the gateway",
			strerror(-rc));
		return rc;
	}
	struct vip_ref *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->a = k;
	r->ifindex = path.ifindex;
	r->count = 1;
	r->owned = owned;
	r->next = spi_table_del(e->vips, key);
	spi_table_add(e->vips, key, r);
	*ifindex_out = path.ifindex;
	log_msg(LOG_IKE, LOG_LVL_INFO, "%s: virtual IP %s/%u put on ifindex %d%s", ikesa_tag(sa),
		pstr(p, a, sizeof(a)), lp.plen, path.ifindex, owned ? "" : " (was there already)");
	return 0;
}

static void drop_addr(struct engine *e, const struct cp_prefix *p)
{
	struct kaddr k;
	to_kaddr(p, &k);
	uint64_t key = vip_key(&k);
	struct vip_ref *head = e->vips ? spi_table_get(e->vips, key) : NULL;
	for (struct vip_ref **pp = &head, *r; (r = *pp); pp = &r->next) {
		if (!kaddr_eq(&r->a, &k))
			continue;
		if (--r->count > 0)
			return;
		*pp = r->next;
		spi_table_del(e->vips, key);
		if (head)
			spi_table_add(e->vips, key, head);
		const struct link *l = &e->env.link;
		if (r->owned && l->ops && l->ops->addr_del) {
			struct link_prefix lp = { .addr = k, .plen = p->family == AF_INET ? 32 : 128 };
			char a[INET6_ADDRSTRLEN];
			int rc = l->ops->addr_del(l->l, r->ifindex, &lp);
			if (rc == -ENODEV || rc == -EADDRNOTAVAIL)
				rc = 0; /* went with its interface (route_iface.c removes what it made) */
			log_msg(LOG_IKE, rc ? LOG_LVL_WARN : LOG_LVL_INFO, "virtual IP %s removed from "
				"ifindex %d%s%s", pstr(p, a, sizeof(a)), r->ifindex, rc ? ": " : "",
				rc ? strerror(-rc) : "");
		}
		free(r);
		return;
	}
}

static bool route_based(const struct ikesa *sa)
{
	return sa->conn->route.interface[0] || sa->conn->route.vti[0];
}

void vip_on_iface(struct ikesa *sa, int ifindex)
{
	struct vip_state *v = sa->vip;
	if (!v || ifindex <= 0 || !route_based(sa))
		return;
	for (size_t i = 0; i < v->n; i++)
		if (!v->pools[i] && v->ifindex[i] == 0 &&
		    put_addr(sa, &v->addrs[i], ifindex, &v->ifindex[i]) != 0)
			v->ifindex[i] = -1;
}

int vip_accept(struct ikesa *sa, const struct cp_info *reply)
{
	struct vip_state *v = state(sa);
	if (!v)
		return -1;
	v->got = *reply;
	char a[INET6_ADDRSTRLEN];
	const struct cp_cfg *cp = &sa->conn->cp;
	for (size_t i = 0; i < reply->n_addrs && v->n < CP_ADDRS_MAX; i++) {
		const struct cp_prefix *p = &reply->addrs[i];
		if ((p->family == AF_INET && !cp->vip4) || (p->family == AF_INET6 && !cp->vip6))
			continue; /* not asked for */
		struct cp_prefix host = *p;
		host.plen = p->family == AF_INET ? 32 : 128;
		v->addrs[v->n] = host;
		v->ifindex[v->n] = 0;
		/* route-based: on the tunnel interface once the Child SA has it (vip_on_iface) */
		if (!route_based(sa) && put_addr(sa, &host, 0, &v->ifindex[v->n]) != 0)
			v->ifindex[v->n] = -1;
		v->n++;
	}
	if (v->n == 0) {
		log_msg(LOG_IKE, LOG_LVL_WARN, "%s: the gateway gave no virtual IP (vip = asked for one)",
			ikesa_tag(sa));
		return -1;
	}
	/* DNS: no resolver integration yet; said plainly in the log (doc/xiked.conf.5). */
	for (size_t i = 0; i < reply->n_dns; i++)
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: DNS server %s from the gateway (not configured on "
			"this host: xiked hands DNS to no resolver yet)", ikesa_tag(sa),
			pstr(&reply->dns[i], a, sizeof(a)));
	for (size_t i = 0; i < reply->n_domains; i++)
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: DNS domain %s from the gateway", ikesa_tag(sa),
			reply->domains[i]);
	for (size_t i = 0; i < reply->n_subnets; i++)
		log_msg(LOG_IKE, LOG_LVL_INFO, "%s: split network %s/%u from the gateway", ikesa_tag(sa),
			pstr(&reply->subnets[i], a, sizeof(a)), reply->subnets[i].plen);
	return 0;
}

void vip_release(struct ikesa *sa)
{
	struct vip_state *v = sa->vip;
	if (!v)
		return;
	uint64_t now = loop_now(sa->e->env.loop);
	char a[INET6_ADDRSTRLEN];
	for (size_t i = 0; i < v->n; i++) {
		if (v->pools[i]) {
			addr_pool_release(sa->e->pools, v->pools[i], &v->addrs[i], now);
			log_msg(LOG_IKE, LOG_LVL_DEBUG, "%s: virtual IP %s released", ikesa_tag(sa),
				pstr(&v->addrs[i], a, sizeof(a)));
		} else if (v->ifindex[i] > 0) {
			drop_addr(sa->e, &v->addrs[i]);
		}
	}
	free(v);
	sa->vip = NULL;
}

/* ---- selectors ---- */

static size_t with_dynamic(const struct ts_cfg_list *l, const struct sockaddr_storage *addr,
			   const struct cp_prefix *sub, size_t n_sub, struct ike_ts *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n && n < cap; i++) {
		const struct ts_cfg *c = &l->ts[i];
		if (!c->dynamic) {
			struct ts_cfg_list one = { .ts = (struct ts_cfg *)c, .n = 1 };
			n += ts_from_cfg(&one, addr, &out[n], cap - n);
			continue;
		}
		for (size_t k = 0; k < n_sub && n < cap; k++)
			ts_from_prefix(&out[n++], sub[k].family, sub[k].addr, sub[k].plen, c->ip_proto,
				       c->start_port, c->end_port);
	}
	return n;
}

size_t vip_ts_local(const struct ikesa *sa, const struct ts_cfg_list *l, struct ike_ts *out,
		    size_t cap)
{
	const struct cp_cfg *cp = &sa->conn->cp;
	if (!cp->vip4 && !cp->vip6)
		return ts_from_cfg(l, &sa->local, out, cap);
	if (sa->vip && sa->vip->n)
		return with_dynamic(l, &sa->local, sa->vip->addrs, sa->vip->n, out, cap);
	/* Not given yet: ask for any, the gateway narrows to what it leases (2.9). */
	struct cp_prefix any[2] = { { 0 } };
	size_t n = 0;
	if (cp->vip4)
		any[n++] = (struct cp_prefix){ .family = AF_INET, .plen = 0 };
	if (cp->vip6)
		any[n++] = (struct cp_prefix){ .family = AF_INET6, .plen = 0 };
	return with_dynamic(l, &sa->local, any, n, out, cap);
}

size_t vip_ts_remote(const struct ikesa *sa, const struct ts_cfg_list *l, struct ike_ts *out,
		     size_t cap)
{
	if (!sa->vip || !sa->vip->n || !sa->vip->pools[0])
		return ts_from_cfg(l, &sa->remote, out, cap);
	return with_dynamic(l, &sa->remote, sa->vip->addrs, sa->vip->n, out, cap);
}

bool vip_is_ours(const struct engine *e, const struct sockaddr_storage *a)
{
	if (!e->vips)
		return false;
	struct kaddr k;
	kaddr_from_sockaddr(a, &k);
	for (struct vip_ref *r = spi_table_get(e->vips, vip_key(&k)); r; r = r->next)
		if (kaddr_eq(&r->a, &k))
			return true;
	return false;
}

/* ---- status ---- */

static void prefix_array(struct json_writer *w, const char *key, const struct cp_prefix *p,
			 size_t n, bool with_plen)
{
	char b[INET6_ADDRSTRLEN + 8];
	json_key(w, key);
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++) {
		if (with_plen)
			addr_prefix_format(&p[i], b, sizeof(b));
		else
			pstr(&p[i], b, sizeof(b));
		json_str(w, b);
	}
	json_arr_end(w);
}

static void domain_array(struct json_writer *w, const char (*d)[CP_DOMAIN_LEN + 1], size_t n)
{
	json_key(w, "dns_domains");
	json_arr_begin(w);
	for (size_t i = 0; i < n; i++)
		json_str(w, d[i]);
	json_arr_end(w);
}

void vip_status_sa(const struct ikesa *sa, struct json_writer *w)
{
	const struct vip_state *v = sa->vip;
	if (!v || !v->n)
		return;
	prefix_array(w, "virtual_ips", v->addrs, v->n, false);
	if (v->pools[0])
		return;
	prefix_array(w, "dns", v->got.dns, v->got.n_dns, false);
	domain_array(w, v->got.domains, v->got.n_domains);
	prefix_array(w, "split", v->got.subnets, v->got.n_subnets, true);
}

static void lease_json(const struct addr_lease_info *l, void *ctx)
{
	struct json_writer *w = ctx;
	char b[INET6_ADDRSTRLEN];
	json_obj_begin(w);
	json_kv_str(w, "address", pstr(&l->addr, b, sizeof(b)));
	json_kv_str(w, "identity", l->identity);
	json_kv_bool(w, "online", l->online);
	json_obj_end(w);
}

static void pool_json(struct json_writer *w, struct addr_pool *p)
{
	char b[INET6_ADDRSTRLEN + 8];
	json_obj_begin(w);
	addr_prefix_format(addr_pool_prefix(p), b, sizeof(b));
	json_kv_str(w, "pool", b);
	json_kv_uint(w, "size", addr_pool_size(p));
	json_kv_uint(w, "online", addr_pool_online(p));
	json_kv_uint(w, "offline", addr_pool_offline(p));
	json_key(w, "leases");
	json_arr_begin(w);
	addr_pool_each_lease(p, lease_json, w);
	json_arr_end(w);
	json_obj_end(w);
}

static void each_pool_json(struct addr_pool *p, void *ctx)
{
	pool_json(ctx, p);
}

void vip_status_pools(struct engine *e, const struct conn_cfg *conn, struct json_writer *w)
{
	json_key(w, "pools");
	json_arr_begin(w);
	if (e->pools && !conn) {
		addr_pools_each(e->pools, each_pool_json, w);
	} else if (e->pools) {
		for (size_t i = 0; i < conn->cp.n_pools; i++) {
			struct addr_pool *p = addr_pools_find(e->pools, &conn->cp.pools[i]);
			if (p)
				pool_json(w, p);
		}
	}
	json_arr_end(w);
}

void vip_conn_json(const struct conn_cfg *c, struct json_writer *w)
{
	const struct cp_cfg *cp = &c->cp;
	if (cp->n_pools)
		prefix_array(w, "pools", cp->pools, cp->n_pools, true);
	if (cp->n_dns)
		prefix_array(w, "dns", cp->dns, cp->n_dns, false);
	if (cp->n_split)
		prefix_array(w, "split", cp->split, cp->n_split, true);
	if (cp->n_domains)
		domain_array(w, cp->domains, cp->n_domains);
	if (cp->vip4 || cp->vip6)
		json_kv_str(w, "vip", cp->vip4 && cp->vip6 ? "%config" : cp->vip4 ? "%config4"
										       : "%config6");
}

void vip_reload(struct engine *e)
{
	if (!e->pools)
		return;
	const struct xiked_config *cfg = e->cfg->cfg;
	addr_pools_mark(e->pools);
	for (size_t i = 0; i < cfg->n_conns; i++)
		for (size_t k = 0; k < cfg->conns[i].cp.n_pools; k++)
			addr_pools_get(e->pools, &cfg->conns[i].cp.pools[k]);
	size_t n = addr_pools_sweep(e->pools);
	if (n)
		log_msg(LOG_CFG, LOG_LVL_INFO, "reload: %zu address pools no longer configured and "
			"without online leases removed", n);
}

static void free_ref(uint64_t key, void *val, void *ctx)
{
	(void)key;
	struct engine *e = ctx;
	const struct link *l = &e->env.link;
	for (struct vip_ref *r = val, *n; r; r = n) {
		n = r->next;
		if (r->owned && l->ops && l->ops->addr_del) {
			struct link_prefix lp = { .addr = r->a, .plen = r->a.family == AF_INET ? 32 : 128 };
			l->ops->addr_del(l->l, r->ifindex, &lp);
		}
		free(r);
	}
}

void vip_free_all(struct engine *e)
{
	if (e->vips) {
		spi_table_each(e->vips, free_ref, e);
		spi_table_free(e->vips);
		e->vips = NULL;
	}
	addr_pools_free(e->pools);
	e->pools = NULL;
}
