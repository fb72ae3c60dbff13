/* rtnetlink implementation of the link seam over libnl-route-3 (see link.h). */
#include "netlink/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/fib_rules.h>
#include <linux/if_addr.h>

#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/rule.h>
#include <netlink/route/link.h>
#include <netlink/route/link/ip6vti.h>
#include <netlink/route/link/ipvti.h>
#include <netlink/route/link/xfrmi.h>
#include <netlink/route/route.h>

#include "netlink/nlerr.h"

/* A request is answered at once by the kernel; never wait longer than this for an ack. */
#define LINK_ACK_TIMEOUT_S 2

void link_read(struct rtnl_link *link, int *ifindex_out, bool *ours_out)
{
	*ifindex_out = rtnl_link_get_ifindex(link);
	if (ours_out) {
		const char *alias = rtnl_link_get_ifalias(link);
		*ours_out = alias && strcmp(alias, LINK_ALIAS) == 0;
	}
}

static int lk_find(void *l, const char *name, int *ifindex_out, bool *ours_out)
{
	struct rtnl_link *link = NULL;
	int rc = rtnl_link_get_kernel(l, 0, name, &link);
	if (rc < 0)
		return rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV ? -ENODEV : nlerr_errno(rc);
	link_read(link, ifindex_out, ours_out);
	rtnl_link_put(link);
	return 0;
}

static int lk_create(void *l, const struct link_spec *s, int *ifindex_out)
{
	struct rtnl_link *link = NULL;
	int rc;
	if (s->kind == LINK_XFRMI) {
		link = rtnl_link_xfrmi_alloc();
		if (!link)
			return -ENOMEM;
		rtnl_link_xfrmi_set_if_id(link, s->if_id);
		if (s->phys_ifindex > 0)
			rtnl_link_xfrmi_set_link(link, (uint32_t)s->phys_ifindex);
	} else if (s->local.family == AF_INET) {
		uint32_t a, b;
		link = rtnl_link_ipvti_alloc();
		if (!link)
			return -ENOMEM;
		memcpy(&a, s->local.a, 4);
		memcpy(&b, s->remote.a, 4);
		/* ip_vti reads the keys as __be32 (IFLA_VTI_IKEY) and marks with their host value. */
		rtnl_link_ipvti_set_ikey(link, htonl(s->key));
		rtnl_link_ipvti_set_okey(link, htonl(s->key));
		rtnl_link_ipvti_set_local(link, a);
		rtnl_link_ipvti_set_remote(link, b);
	} else if (s->local.family == AF_INET6) {
		struct in6_addr a, b;
		link = rtnl_link_ip6vti_alloc();
		if (!link)
			return -ENOMEM;
		memcpy(&a, s->local.a, 16);
		memcpy(&b, s->remote.a, 16);
		rtnl_link_ip6vti_set_ikey(link, htonl(s->key));
		rtnl_link_ip6vti_set_okey(link, htonl(s->key));
		rtnl_link_ip6vti_set_local(link, &a);
		rtnl_link_ip6vti_set_remote(link, &b);
	} else {
		return -EAFNOSUPPORT;
	}
	rtnl_link_set_name(link, s->name);
	rc = nlerr_errno(rtnl_link_add(l, link, NLM_F_CREATE | NLM_F_EXCL));
	rtnl_link_put(link);
	if (rc != 0)
		return rc;
	return lk_find(l, s->name, ifindex_out, NULL);
}

static int lk_set_up(void *l, int ifindex, uint32_t mtu, bool mark_ours)
{
	struct rtnl_link *old = NULL, *chg = NULL;
	int rc = rtnl_link_get_kernel(l, ifindex, NULL, &old);
	if (rc < 0)
		return nlerr_errno(rc);
	chg = rtnl_link_alloc();
	if (!chg) {
		rtnl_link_put(old);
		return -ENOMEM;
	}
	rtnl_link_set_flags(chg, IFF_UP);
	if (mtu)
		rtnl_link_set_mtu(chg, mtu);
	if (mark_ours)
		rtnl_link_set_ifalias(chg, LINK_ALIAS);
	rc = nlerr_errno(rtnl_link_change(l, old, chg, 0));
	rtnl_link_put(chg);
	rtnl_link_put(old);
	return rc;
}

static int lk_disable_policy(void *l, const char *name, uint8_t family)
{
	(void)l;
	char path[128];
	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/disable_policy",
		 family == AF_INET6 ? "ipv6" : "ipv4", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = write(fd, "1\n", 2) == 2 ? 0 : -errno;
	close(fd);
	return rc;
}

static struct nl_addr *to_nladdr(const struct link_prefix *p)
{
	struct nl_addr *a = nl_addr_build(p->addr.family, p->addr.a, kaddr_len(p->addr.family));
	if (a)
		nl_addr_set_prefixlen(a, p->plen);
	return a;
}

static int addr_op(void *l, int ifindex, const struct link_prefix *p, bool add)
{
	struct rtnl_addr *ra = rtnl_addr_alloc();
	struct nl_addr *a = to_nladdr(p);
	int rc = -ENOMEM;
	if (!ra || !a)
		goto out;
	rtnl_addr_set_ifindex(ra, ifindex);
	rtnl_addr_set_family(ra, p->addr.family);
	rtnl_addr_set_local(ra, a);
	rtnl_addr_set_prefixlen(ra, p->plen);
	rc = nlerr_errno(add ? rtnl_addr_add(l, ra, NLM_F_CREATE | NLM_F_EXCL) : rtnl_addr_delete(l, ra, 0));
out:
	nl_addr_put(a);
	rtnl_addr_put(ra);
	return rc;
}

static int lk_addr_add(void *l, int ifindex, const struct link_prefix *p)
{
	return addr_op(l, ifindex, p, true);
}

static int lk_addr_del(void *l, int ifindex, const struct link_prefix *p)
{
	return addr_op(l, ifindex, p, false);
}

static int route_op(void *l, int ifindex, const struct link_prefix *p, bool add)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *a = to_nladdr(p);
	int rc = -ENOMEM;
	if (!r || !nh || !a) {
		rtnl_route_nh_free(nh);
		goto out;
	}
	rtnl_route_set_family(r, p->addr.family);
	rtnl_route_set_dst(r, a);
	rtnl_route_set_table(r, RT_TABLE_MAIN);
	rtnl_route_set_scope(r, RT_SCOPE_LINK);
	rtnl_route_set_protocol(r, RTPROT_STATIC);
	rtnl_route_set_type(r, RTN_UNICAST);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(r, nh); /* r owns nh from here */
	rc = nlerr_errno(add ? rtnl_route_add(l, r, NLM_F_CREATE | NLM_F_EXCL) : rtnl_route_delete(l, r, 0));
out:
	nl_addr_put(a);
	rtnl_route_put(r);
	return rc;
}

static int lk_route_add(void *l, int ifindex, const struct link_prefix *dst)
{
	return route_op(l, ifindex, dst, true);
}

static int lk_route_del(void *l, int ifindex, const struct link_prefix *dst)
{
	return route_op(l, ifindex, dst, false);
}

static int lk_del(void *l, int ifindex)
{
	struct rtnl_link *link = rtnl_link_alloc();
	if (!link)
		return -ENOMEM;
	rtnl_link_set_ifindex(link, ifindex);
	int rc = nlerr_errno(rtnl_link_delete(l, link));
	rtnl_link_put(link);
	return rc;
}

/* ---- policy-based routes: xiked's table, its rule, the route to a peer ---- */

struct path_answer {
	struct link_path *out;
	int err;   /* -errno from an NLMSG_ERROR */
	bool got, done;
};

static int on_path(struct nl_msg *msg, void *arg)
{
	struct path_answer *r = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[RTA_MAX + 1];
	struct rtmsg rtm;
	if (h->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(h, sizeof(rtm)))
		return NL_SKIP;
	memcpy(&rtm, nlmsg_data(h), sizeof(rtm));
	if (nlmsg_parse(h, sizeof(rtm), tb, RTA_MAX, NULL) < 0)
		return NL_SKIP;
	size_t want = kaddr_len(rtm.rtm_family);
	*r->out = (struct link_path){0};
	if (tb[RTA_GATEWAY] && want && (size_t)nla_len(tb[RTA_GATEWAY]) == want) {
		r->out->gw.family = rtm.rtm_family;
		memcpy(r->out->gw.a, nla_data(tb[RTA_GATEWAY]), want);
	}
	if (tb[RTA_OIF] && nla_len(tb[RTA_OIF]) >= 4)
		r->out->ifindex = (int)nla_get_u32(tb[RTA_OIF]);
	r->got = true;
	return NL_OK;
}

static int on_path_ack(struct nl_msg *msg, void *arg)
{
	(void)msg;
	((struct path_answer *)arg)->done = true;
	return NL_STOP;
}

static int on_path_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	struct path_answer *r = arg;
	r->err = e->error < 0 ? e->error : -e->error;
	r->done = true;
	return NL_STOP;
}

static int lk_get_path(void *l, const struct kaddr *dst, const struct kaddr *src, struct link_path *out)
{
	size_t len = kaddr_len(dst->family);
	if (!len)
		return -EAFNOSUPPORT;
	struct rtmsg rtm = {.rtm_family = dst->family, .rtm_dst_len = (unsigned char)(len * 8)};
	bool with_src = src && src->family == dst->family;
	if (with_src)
		rtm.rtm_src_len = (unsigned char)(len * 8);
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
	if (!msg)
		return -ENOMEM;
	int err = -EMSGSIZE;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, RTA_DST, (int)len, dst->a) < 0 ||
	    (with_src && nla_put(msg, RTA_SRC, (int)len, src->a) < 0))
		goto out;
	struct path_answer r = {.out = out};
	/* nl_socket_get_cb() takes a reference: put it back, or the socket's cb leaks. */
	struct nl_cb *scb = nl_socket_get_cb(l);
	struct nl_cb *cb = scb ? nl_cb_clone(scb) : NULL;
	nl_cb_put(scb);
	err = -ENOMEM;
	if (!cb)
		goto out;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_path, &r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_path_ack, &r);
	nl_cb_err(cb, NL_CB_CUSTOM, on_path_err, &r);
	err = -EIO;
	if (nl_send_auto(l, msg) >= 0) {
		/* The answer, then the ACK that the socket's auto-ack asked for (bounded: a
		 * receive times out after LINK_ACK_TIMEOUT_S). */
		for (int i = 0; i < 8 && !r.done; i++)
			if (nl_recvmsgs(l, cb) < 0)
				break;
		err = r.err ? r.err : r.got ? 0 : -ENETUNREACH;
	}
	nl_cb_put(cb);
out:
	nlmsg_free(msg);
	return err;
}

struct addr_find {
	uint8_t family;
	const uint8_t *start, *end;
	struct kaddr *out;
	bool found;
};

static void on_local_addr(struct nl_object *obj, void *arg)
{
	struct addr_find *f = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(a);
	size_t n = kaddr_len(f->family);
	if (f->found || !local || rtnl_addr_get_family(a) != f->family ||
	    nl_addr_get_len(local) != n || rtnl_addr_get_scope(a) == RT_SCOPE_HOST ||
	    (rtnl_addr_get_flags(a) & (IFA_F_TENTATIVE | IFA_F_DADFAILED)))
		return;
	const uint8_t *b = nl_addr_get_binary_addr(local);
	if (memcmp(b, f->start, n) < 0 || memcmp(b, f->end, n) > 0)
		return;
	*f->out = (struct kaddr){.family = f->family};
	memcpy(f->out->a, b, n);
	f->found = true;
}

static int lk_local_addr_in(void *l, uint8_t family, const uint8_t *start, const uint8_t *end,
			    struct kaddr *out)
{
	struct nl_cache *cache = NULL;
	if (!kaddr_len(family))
		return -EAFNOSUPPORT;
	int rc = rtnl_addr_alloc_cache(l, &cache);
	if (rc < 0)
		return nlerr_errno(rc);
	struct addr_find f = {family, start, end, out, false};
	nl_cache_foreach(cache, on_local_addr, &f);
	nl_cache_free(cache);
	return f.found ? 0 : -ENOENT;
}

static struct nl_addr *kaddr_nl(const struct kaddr *k)
{
	return nl_addr_build(k->family, k->a, kaddr_len(k->family));
}

static int troute_op(void *l, const struct link_table_route *t, bool add, bool replace)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct nl_addr *dst = to_nladdr(&t->dst), *src = NULL;
	int rc = -ENOMEM;
	if (!r || !dst)
		goto out;
	rtnl_route_set_family(r, t->dst.addr.family);
	rtnl_route_set_dst(r, dst);
	rtnl_route_set_table(r, t->table);
	rtnl_route_set_protocol(r, LINK_RTPROT_XIKED);
	rtnl_route_set_type(r, t->throw_ ? RTN_THROW : RTN_UNICAST);
	if (!add) {
		/* RT_SCOPE_NOWHERE: any scope; no next hop: the one route of this key. */
		rtnl_route_set_scope(r, RT_SCOPE_NOWHERE);
		rc = nlerr_errno(rtnl_route_delete(l, r, 0));
		goto out;
	}
	if (!t->throw_) {
		struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
		struct nl_addr *gw = t->gw.family ? kaddr_nl(&t->gw) : NULL;
		if (!nh || (t->gw.family && !gw)) {
			rtnl_route_nh_free(nh);
			nl_addr_put(gw);
			goto out;
		}
		rtnl_route_nh_set_ifindex(nh, t->ifindex);
		if (gw)
			rtnl_route_nh_set_gateway(nh, gw);
		nl_addr_put(gw);
		rtnl_route_add_nexthop(r, nh); /* r owns nh from here */
		if (t->src.family) {
			if (!(src = kaddr_nl(&t->src)))
				goto out;
			rtnl_route_set_pref_src(r, src);
		}
		rtnl_route_set_scope(r, t->gw.family ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	} else {
		rtnl_route_set_scope(r, RT_SCOPE_UNIVERSE);
	}
	rc = nlerr_errno(rtnl_route_add(l, r, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL)));
out:
	nl_addr_put(src);
	nl_addr_put(dst);
	rtnl_route_put(r);
	return rc;
}

static int lk_troute_add(void *l, const struct link_table_route *r, bool replace)
{
	return troute_op(l, r, true, replace);
}

static int lk_troute_del(void *l, const struct link_table_route *r)
{
	return troute_op(l, r, false, false);
}

static int rule_op(void *l, uint8_t family, uint32_t prio, uint32_t table, bool add)
{
	struct rtnl_rule *r = rtnl_rule_alloc();
	if (!r)
		return -ENOMEM;
	rtnl_rule_set_family(r, family);
	rtnl_rule_set_prio(r, prio);
	rtnl_rule_set_table(r, table);
	rtnl_rule_set_action(r, FR_ACT_TO_TBL);
	rtnl_rule_set_protocol(r, LINK_RTPROT_XIKED);
	int rc = nlerr_errno(add ? rtnl_rule_add(l, r, NLM_F_CREATE | NLM_F_EXCL) : rtnl_rule_delete(l, r, 0));
	rtnl_rule_put(r);
	return rc;
}

static int lk_rule_add(void *l, uint8_t family, uint32_t prio, uint32_t table)
{
	return rule_op(l, family, prio, table, true);
}

static int lk_rule_del(void *l, uint8_t family, uint32_t prio, uint32_t table)
{
	return rule_op(l, family, prio, table, false);
}

struct flush_walk {
	struct nl_sock *sk;
	int n, err;
};

static void flush_route(struct nl_object *obj, void *arg)
{
	struct flush_walk *w = arg;
	struct rtnl_route *r = (struct rtnl_route *)obj;
	if (rtnl_route_get_protocol(r) != LINK_RTPROT_XIKED)
		return;
	int rc = rtnl_route_delete(w->sk, r, 0);
	if (rc < 0)
		w->err = nlerr_errno(rc);
	else
		w->n++;
}

static void flush_rule(struct nl_object *obj, void *arg)
{
	struct flush_walk *w = arg;
	struct rtnl_rule *r = (struct rtnl_rule *)obj;
	uint8_t proto = 0;
	if (rtnl_rule_get_protocol(r, &proto) < 0 || proto != LINK_RTPROT_XIKED)
		return;
	int rc = rtnl_rule_delete(w->sk, r, 0);
	if (rc < 0)
		w->err = nlerr_errno(rc);
	else
		w->n++;
}

static int lk_flush(void *l)
{
	struct flush_walk w = {.sk = l};
	struct nl_cache *cache = NULL;
	/* Every table (RTM_GETROUTE dumps them all), both families. */
	int rc = rtnl_route_alloc_cache(l, AF_UNSPEC, 0, &cache);
	if (rc < 0)
		return nlerr_errno(rc);
	nl_cache_foreach(cache, flush_route, &w);
	nl_cache_free(cache);
	cache = NULL;
	rc = rtnl_rule_alloc_cache(l, AF_UNSPEC, &cache);
	if (rc < 0)
		return nlerr_errno(rc);
	nl_cache_foreach(cache, flush_rule, &w);
	nl_cache_free(cache);
	return w.err ? w.err : w.n;
}

static void lk_free(void *l)
{
	if (l)
		nl_socket_free(l);
}

static const struct link_ops netlink_link_ops = {
	.find = lk_find,
	.create = lk_create,
	.set_up = lk_set_up,
	.disable_policy = lk_disable_policy,
	.addr_add = lk_addr_add,
	.addr_del = lk_addr_del,
	.route_add = lk_route_add,
	.route_del = lk_route_del,
	.del = lk_del,
	.get_path = lk_get_path,
	.local_addr_in = lk_local_addr_in,
	.troute_add = lk_troute_add,
	.troute_del = lk_troute_del,
	.rule_add = lk_rule_add,
	.rule_del = lk_rule_del,
	.flush = lk_flush,
	.free = lk_free,
};

int link_netlink_new(struct link *out)
{
	*out = (struct link){0};
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	int rc = nlerr_errno(nl_connect(sk, NETLINK_ROUTE));
	if (rc != 0) {
		nl_socket_free(sk);
		return rc;
	}
	/* Requests are synchronous (short, answered at once); bound the wait all the same so a
	 * lost ack cannot stall the daemon's one thread. */
	struct timeval tv = {.tv_sec = LINK_ACK_TIMEOUT_S};
	setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	out->ops = &netlink_link_ops;
	out->l = sk;
	return 0;
}

void link_free(struct link *lk)
{
	if (lk && lk->ops && lk->ops->free)
		lk->ops->free(lk->l);
	if (lk)
		*lk = (struct link){0};
}

int link_name_format(const char *tmpl, uint32_t n, char *out)
{
	char buf[64];
	size_t o = 0;
	bool used = false;
	for (const char *p = tmpl; *p; p++) {
		if (*p == '%') {
			if (p[1] != 'd' || used)
				return -EINVAL;
			int k = snprintf(buf + o, sizeof(buf) - o, "%u", n);
			if (k < 0 || (size_t)k >= sizeof(buf) - o)
				return -ENAMETOOLONG;
			o += (size_t)k;
			used = true;
			p++;
			continue;
		}
		if (o + 1 >= sizeof(buf))
			return -ENAMETOOLONG;
		buf[o++] = *p;
	}
	buf[o] = 0;
	if (o == 0)
		return -EINVAL;
	if (o >= LINK_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(out, buf, o + 1);
	return 0;
}
