/* netlink/netmon.c: address, link and route monitoring over rtnetlink (see netmon.h). */
#include "netlink/netmon.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "netlink/link.h"

struct netmon {
	struct nl_sock *ev;  /* joined to the groups, non-blocking */
	struct nl_sock *req; /* RTM_GETROUTE, RTM_GETADDR */
	bool changed;        /* set by the event callback during netmon_dispatch */
	bool (*skip)(void *ctx, int ifindex); /* netmon_set_skip */
	void *skip_ctx;
};

bool netmon_msg_changes(uint16_t type)
{
	switch (type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
	case RTM_NEWLINK:
	case RTM_DELLINK:
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return true;
	default:
		return false;
	}
}

/* The device an event is about, or 0 (unknown, e.g. a multipath route: not skipped). */
int netmon_event_ifindex(struct nlmsghdr *h)
{
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return nlmsg_valid_hdr(h, sizeof(struct ifinfomsg)) ?
		       ((struct ifinfomsg *)nlmsg_data(h))->ifi_index : 0;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return nlmsg_valid_hdr(h, sizeof(struct ifaddrmsg)) ?
		       (int)((struct ifaddrmsg *)nlmsg_data(h))->ifa_index : 0;
	default: {
		if (!nlmsg_valid_hdr(h, sizeof(struct rtmsg)))
			return 0;
		struct nlattr *oif = nlmsg_find_attr(h, sizeof(struct rtmsg), RTA_OIF);
		return oif && nla_len(oif) >= 4 ? (int)nla_get_u32(oif) : 0;
	}
	}
}

/* A route xiked put in its own table (netlink/link.h, LINK_RTPROT_XIKED): no path change. */
static bool own_route(struct nlmsghdr *h)
{
	return (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE) &&
	       nlmsg_valid_hdr(h, sizeof(struct rtmsg)) &&
	       ((struct rtmsg *)nlmsg_data(h))->rtm_protocol == LINK_RTPROT_XIKED;
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct netmon *m = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	if (netmon_msg_changes(h->nlmsg_type) && !own_route(h) &&
	    (!m->skip || !m->skip(m->skip_ctx, netmon_event_ifindex(h))))
		m->changed = true;
	return NL_OK;
}

void netmon_set_skip(struct netmon *m, bool (*skip)(void *ctx, int ifindex), void *ctx)
{
	m->skip = skip;
	m->skip_ctx = ctx;
}

int netmon_new(struct netmon **out)
{
	*out = NULL;
	struct netmon *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ev = nl_socket_alloc();
	m->req = nl_socket_alloc();
	int err = -ENOMEM;
	if (!m->ev || !m->req)
		goto fail;
	nl_socket_disable_seq_check(m->ev);
	/* A GETROUTE answer is one message: an ACK after it would be read by the next request. */
	nl_socket_disable_auto_ack(m->req);
	nl_socket_modify_cb(m->ev, NL_CB_VALID, NL_CB_CUSTOM, on_event, m);
	err = -ECONNREFUSED;
	if (nl_connect(m->ev, NETLINK_ROUTE) < 0 || nl_connect(m->req, NETLINK_ROUTE) < 0)
		goto fail;
	if (nl_socket_add_memberships(m->ev, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK,
				      RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, 0) < 0 ||
	    nl_socket_set_nonblocking(m->ev) < 0) {
		err = -EIO;
		goto fail;
	}
	*out = m;
	return 0;
fail:
	netmon_free(m);
	return err;
}

void netmon_free(struct netmon *m)
{
	if (!m)
		return;
	nl_socket_free(m->ev);
	nl_socket_free(m->req);
	free(m);
}

int netmon_fd(const struct netmon *m)
{
	return nl_socket_get_fd(m->ev);
}

bool netmon_dispatch(struct netmon *m)
{
	m->changed = false;
	/* Until the socket is empty (-NLE_AGAIN); an overrun (-NLE_NOMEM) lost events: say changed. */
	for (int i = 0; i < 64; i++) {
		int rc = nl_recvmsgs_default(m->ev);
		if (rc == -NLE_AGAIN)
			break;
		if (rc < 0) {
			m->changed = true;
			if (rc != -NLE_NOMEM && rc != -NLE_DUMP_INTR)
				break;
		}
	}
	return m->changed;
}

/* ---- RTM_GETROUTE ---- */

struct route_answer {
	struct sockaddr_storage *src;
	int err;  /* -errno from an NLMSG_ERROR */
	bool got;
};

static void set_addr(struct sockaddr_storage *ss, int family, const void *a)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
	}
}

bool netmon_route_answer(struct nlmsghdr *h, struct sockaddr_storage *src)
{
	struct nlattr *tb[RTA_MAX + 1];
	struct rtmsg rtm;
	if (h->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(h, sizeof(rtm)))
		return false;
	memcpy(&rtm, nlmsg_data(h), sizeof(rtm));
	if (nlmsg_parse(h, sizeof(rtm), tb, RTA_MAX, NULL) < 0 || !tb[RTA_PREFSRC])
		return false;
	size_t want = rtm.rtm_family == AF_INET ? 4 : rtm.rtm_family == AF_INET6 ? 16 : 0;
	if (!want || (size_t)nla_len(tb[RTA_PREFSRC]) != want)
		return false;
	set_addr(src, rtm.rtm_family, nla_data(tb[RTA_PREFSRC]));
	return true;
}

static int on_route(struct nl_msg *msg, void *arg)
{
	struct route_answer *r = arg;
	if (!netmon_route_answer(nlmsg_hdr(msg), r->src))
		return NL_SKIP;
	r->got = true;
	return NL_OK;
}

static int on_route_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	struct route_answer *r = arg;
	r->err = e->error < 0 ? e->error : -e->error;
	return NL_STOP;
}

int netmon_route_source(void *ctx, const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	struct netmon *m = ctx;
	struct rtmsg rtm = {.rtm_family = (unsigned char)dst->ss_family};
	const void *a;
	size_t len;
	if (dst->ss_family == AF_INET) {
		a = &((const struct sockaddr_in *)dst)->sin_addr;
		len = 4;
	} else if (dst->ss_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)dst)->sin6_addr;
		len = 16;
	} else {
		return -EAFNOSUPPORT;
	}
	rtm.rtm_dst_len = (unsigned char)(len * 8);
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
	if (!msg)
		return -ENOMEM;
	int err = -EMSGSIZE;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 || nla_put(msg, RTA_DST, (int)len, a) < 0)
		goto out;
	struct route_answer r = {.src = src};
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	err = -ENOMEM;
	if (!cb)
		goto out;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_route, &r);
	nl_cb_err(cb, NL_CB_CUSTOM, on_route_err, &r);
	err = -EIO;
	if (nl_send_auto(m->req, msg) >= 0) {
		int rc = nl_recvmsgs(m->req, cb);
		err = r.got ? 0 : r.err ? r.err : rc < 0 ? -EIO : -ENETUNREACH;
	}
	nl_cb_put(cb);
out:
	nlmsg_free(msg);
	return err;
}

/* ---- RTM_GETADDR ---- */

struct addr_walk {
	struct sockaddr_storage *out;
	size_t n, cap;
	struct nl_cache *links; /* NULL: the devices' flags are not known */
};

/*
 * Whether device ifindex is a loopback device (IFF_LOOPBACK): a global
 * address kept there (a gateway's LAN address on lo, inside its traffic
 * selectors) is no endpoint a peer can reach outside the tunnel.
 */
static bool on_loopback(struct nl_cache *links, int ifindex)
{
	struct rtnl_link *l = links ? rtnl_link_get(links, ifindex) : NULL;
	bool lo = l && (rtnl_link_get_flags(l) & IFF_LOOPBACK);
	if (l)
		rtnl_link_put(l);
	return lo;
}

bool netmon_addr_usable(struct rtnl_addr *a, struct sockaddr_storage *out)
{
	struct nl_addr *local = rtnl_addr_get_local(a);
	int family = rtnl_addr_get_family(a);
	/* Global addresses only: host and link scope cannot reach a peer elsewhere. */
	if (!local || rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE ||
	    (rtnl_addr_get_flags(a) & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED)))
		return false;
	if ((family == AF_INET && nl_addr_get_len(local) == 4) ||
	    (family == AF_INET6 && nl_addr_get_len(local) == 16)) {
		set_addr(out, family, nl_addr_get_binary_addr(local));
		return true;
	}
	return false;
}

static void on_addr(struct nl_object *obj, void *arg)
{
	struct addr_walk *w = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	if (w->n < w->cap && !on_loopback(w->links, rtnl_addr_get_ifindex(a)) &&
	    netmon_addr_usable(a, &w->out[w->n]))
		w->n++;
}

size_t netmon_local_addrs(void *ctx, struct sockaddr_storage *out, size_t cap)
{
	struct netmon *m = ctx;
	struct nl_cache *cache = NULL;
	if (rtnl_addr_alloc_cache(m->req, &cache) < 0)
		return 0;
	struct addr_walk w = {.out = out, .cap = cap};
	if (rtnl_link_alloc_cache(m->req, AF_UNSPEC, &w.links) < 0)
		w.links = NULL; /* then addresses on lo are not told apart */
	nl_cache_foreach(cache, on_addr, &w);
	nl_cache_free(cache);
	if (w.links)
		nl_cache_free(w.links);
	return w.n;
}
