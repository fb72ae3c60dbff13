/* netlink/link.h: the link seam for route-based VPNs (design.md rule 11).
 *
 * The engine creates, configures and removes XFRM interfaces (xfrmi, IFLA_XFRM_IF_ID) and
 * VTI interfaces (ip_vti / ip6_vti, keyed by ikey/okey = the SAs' mark), their addresses and
 * the routes through them, through struct link_ops only; also the routes of policy-based
 * Child SAs in xiked's own table and its rule (daemon/child_route.h). Two implementations:
 *   - netlink/link.c: rtnetlink over libnl-route-3 (never `ip`); disable_policy through
 *     /proc/sys/net/ipv{4,6}/conf/NAME/disable_policy;
 *   - netlink/link_fake.c: a recording fake for unit tests.
 *
 * Every operation returns 0 or -errno (libnl's NLE_* codes mapped back at the boundary).
 * Ownership: every pointer argument is borrowed for the duration of the call only.
 * The seam does not track ownership: the caller (daemon/route_iface.c) remembers what it
 * created and removes only that.
 */
#ifndef XIKED_NETLINK_LINK_H
#define XIKED_NETLINK_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "netlink/kaddr.h"

/* IFNAMSIZ with its NUL. */
#define LINK_NAME_MAX 16
/* IFLA_IFALIAS of the devices xiked creates: a restarted xiked recognises (and removes,
 * when done) what a crashed one left, and adopts only devices it did not create. */
#define LINK_ALIAS "xiked"

enum link_kind {
	LINK_XFRMI, /* "xfrm": xfrm_interface, SAs and policies carry XFRMA_IF_ID */
	LINK_VTI,   /* "vti" (IPv4 outer) or "vti6" (IPv6 outer): SAs and policies carry a mark */
};

/* What to create. */
struct link_spec {
	char name[LINK_NAME_MAX];
	enum link_kind kind;
	uint32_t if_id;          /* LINK_XFRMI: IFLA_XFRM_IF_ID (non-zero) */
	int phys_ifindex;        /* LINK_XFRMI: IFLA_XFRM_LINK, 0 = none */
	uint32_t key;            /* LINK_VTI: ikey = okey (host order; the SAs' mark) */
	struct kaddr local, remote; /* LINK_VTI: tunnel endpoints; their family picks vti/vti6 */
};

/* An address or route prefix. */
struct link_prefix {
	struct kaddr addr;
	uint8_t plen;
};

/*
 * rtm_protocol of the routes and FRA_PROTOCOL of the rules in xiked's own
 * routing table (daemon/child_route.h): a restarted xiked removes what a
 * killed one left by this value. 150 is in none of the kernel's RTPROT_*
 * nor iproute2's rt_protos (`ip route` shows "proto 150").
 */
#define LINK_RTPROT_XIKED 150

/* The kernel's route to a destination (RTM_GETROUTE): next hop and device. */
struct link_path {
	struct kaddr gw;   /* family 0: on-link (no gateway) */
	int ifindex;       /* output device, 0 = none given */
};

/* A route in xiked's table (protocol LINK_RTPROT_XIKED). */
struct link_table_route {
	uint32_t table;
	struct link_prefix dst;
	bool throw_;       /* RTN_THROW: lookup goes on with the next rule (an exception) */
	struct kaddr gw;   /* unicast: next hop, family 0 = none (on-link or other family) */
	int ifindex;       /* unicast: output device */
	struct kaddr src;  /* unicast: preferred source (RTA_PREFSRC), family 0 = none */
};

struct link_ops {
	/* ifindex of an existing device by name, and whether its alias is LINK_ALIAS (made by
	 * an xiked); -ENODEV if none. ours_out may be NULL. */
	int (*find)(void *l, const char *name, int *ifindex_out, bool *ours_out);
	/* RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL; -EEXIST if the name is taken. */
	int (*create)(void *l, const struct link_spec *s, int *ifindex_out);
	/* Bring the device up, with mtu if non-zero; mark_ours sets its alias to LINK_ALIAS. */
	int (*set_up)(void *l, int ifindex, uint32_t mtu, bool mark_ours);
	/* disable_policy = 1 on the device for family (AF_INET / AF_INET6): what a VTI needs so
	 * that decapsulated packets are not checked against the policies again. */
	int (*disable_policy)(void *l, const char *name, uint8_t family);
	int (*addr_add)(void *l, int ifindex, const struct link_prefix *p);
	int (*addr_del)(void *l, int ifindex, const struct link_prefix *p);
	/* Main table, scope link, through ifindex; -EEXIST if the same route exists. */
	int (*route_add)(void *l, int ifindex, const struct link_prefix *dst);
	int (*route_del)(void *l, int ifindex, const struct link_prefix *dst);
	/* RTM_DELLINK; its addresses and routes go with it. */
	int (*del)(void *l, int ifindex);
	/*
	 * Policy-based routes (daemon/child_route.h). get_path: RTM_GETROUTE to
	 * dst (from src when its family is set): -ENETUNREACH/-EHOSTUNREACH
	 * without a route. local_addr_in: an address of this host (any device,
	 * any scope but host) within [start, end] of family into *out; -ENOENT
	 * if none. troute_add: replace picks NLM_F_REPLACE (the route's path
	 * changes in place), else NLM_F_EXCL (-EEXIST). rule_add/rule_del: the
	 * rule "priority prio lookup table" of family with LINK_RTPROT_XIKED.
	 * flush: removes every route (any table) and rule of LINK_RTPROT_XIKED;
	 * how many, or -errno.
	 */
	int (*get_path)(void *l, const struct kaddr *dst, const struct kaddr *src, struct link_path *out);
	int (*local_addr_in)(void *l, uint8_t family, const uint8_t *start, const uint8_t *end,
			     struct kaddr *out);
	int (*troute_add)(void *l, const struct link_table_route *r, bool replace);
	int (*troute_del)(void *l, const struct link_table_route *r);
	int (*rule_add)(void *l, uint8_t family, uint32_t prio, uint32_t table);
	int (*rule_del)(void *l, uint8_t family, uint32_t prio, uint32_t table);
	int (*flush)(void *l);
	void (*free)(void *l); /* NULL-safe */
};

struct link {
	const struct link_ops *ops; /* NULL: no link management available */
	void *l;
};

/* netlink/link.c: open an rtnetlink socket. 0 or -errno; on error *out stays zeroed. */
int link_netlink_new(struct link *out);

/*
 * What link.c takes from the kernel's RTM_NEWLINK answer (libnl's object,
 * borrowed): the ifindex, and whether the alias says xiked made it
 * (ours_out may be NULL). Exposed for tests/fuzz/fuzz_netmon.c.
 */
struct rtnl_link;
void link_read(struct rtnl_link *link, int *ifindex_out, bool *ours_out);

/* Free whichever implementation is behind lk (NULL-safe, safe on a zeroed struct). */
void link_free(struct link *lk);

/* "xfrm-%d" with n -> "xfrm-7" into out (LINK_NAME_MAX); a name without %d is copied.
 * -ENAMETOOLONG when the result does not fit, -EINVAL for other % sequences. */
int link_name_format(const char *tmpl, uint32_t n, char *out);

#endif
