/* netlink/netmon.h: address, link and route monitoring for roaming (RFC 4555, daemon/mobike.h).
 *
 * One rtnetlink socket joined to RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK,
 * RTNLGRP_IPV4_ROUTE and RTNLGRP_IPV6_ROUTE (over libnl-3 / libnl-route-3, never `ip`): its
 * fd goes on the daemon's epoll loop, netmon_dispatch() reads what is pending and says
 * whether anything changed; the daemon debounces (mobike_net_changed) and then asks:
 *   - netmon_route_source(): RTM_GETROUTE to a destination, the source address the
 *     kernel would use (RTA_PREFSRC); -ENETUNREACH/-EHOSTUNREACH without a route;
 *   - netmon_local_addrs(): the global-scope addresses of this host (RTM_GETADDR dump)
 *     outside loopback devices (RTM_GETLINK, IFF_LOOPBACK), announced to MOBIKE peers as
 *     ADDITIONAL_IP4/IP6_ADDRESS.
 * The engine sees these two through struct engine_env (route_source, local_addrs), which
 * the unit tests fake (tests/unit/engine_world.c).
 *
 * Every call returns 0 or -errno (libnl's NLE_* mapped back). Pointer arguments are
 * borrowed for the call.
 */
#ifndef XIKED_NETLINK_NETMON_H
#define XIKED_NETLINK_NETMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct netmon;

/* Open the sockets (non-blocking event socket). 0 or -errno; *out NULL on error. */
int netmon_new(struct netmon **out);
void netmon_free(struct netmon *m); /* NULL-safe */

/* The event socket's fd (readable when events are pending). */
int netmon_fd(const struct netmon *m);
/* Read every pending event; true if an address, link or route was added, changed or removed. */
bool netmon_dispatch(struct netmon *m);

/*
 * Events about device ifindex are dropped when skip(ctx, ifindex) says so
 * (ifindex 0: not known): the daemon passes route_iface_owns_ifindex, so
 * interfaces xiked itself creates and removes (route-based VPNs) do not
 * look like path changes. NULL skip: none dropped.
 */
void netmon_set_skip(struct netmon *m, bool (*skip)(void *ctx, int ifindex), void *ctx);

/* struct engine_env.route_source / local_addrs with ctx = the netmon. */
int netmon_route_source(void *m, const struct sockaddr_storage *dst, struct sockaddr_storage *src);
size_t netmon_local_addrs(void *m, struct sockaddr_storage *out, size_t cap);

/*
 * What the calls above make of the kernel's messages (exposed for
 * tests/fuzz/fuzz_netmon.c; all borrowed):
 *  - netmon_msg_changes: whether an event of this nlmsg_type changes an
 *    address, link or route;
 *  - netmon_route_answer: the RTA_PREFSRC of an RTM_NEWROUTE answer into
 *    *src (h's nlmsg_len checked against the buffer, as nl_recvmsgs does);
 *  - netmon_addr_usable: a global, usable address of an RTM_GETADDR dump
 *    entry (libnl's object) into *out.
 * The last two return true when they wrote.
 * netmon_event_ifindex: the device an event is about (netmon_set_skip), 0 if unknown.
 */
struct nlmsghdr;
struct rtnl_addr;
bool netmon_msg_changes(uint16_t type);
bool netmon_route_answer(struct nlmsghdr *h, struct sockaddr_storage *src);
bool netmon_addr_usable(struct rtnl_addr *a, struct sockaddr_storage *out);
int netmon_event_ifindex(struct nlmsghdr *h);

#endif
