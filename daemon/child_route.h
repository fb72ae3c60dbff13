/*
 * Routes for policy-based Child SAs (issue 11), as strongSwan's table 220
 * and libreswan do: the kernel's XFRM policies decide what enters a tunnel,
 * but a packet must first be routed somewhere, and the gateway's own
 * packets need a source address inside the local traffic selectors to
 * match the policy at all. Without a route the remote subnet is
 * "Network is unreachable", or the packet leaves in clear from the outer
 * address.
 *
 * For every remote traffic-selector prefix of an installed tunnel-mode
 * Child SA without if_id or mark (route-based conns: route_iface.h), and
 * of a trap's policies (start = trap: the route makes the first packet
 * meet the policy, so the kernel sends the ACQUIRE), xiked adds a route
 * to [daemon] route_table (default 220):
 *
 *   DST via NEXTHOP dev DEV [src ADDR] proto 150 table 220
 *
 * NEXTHOP and DEV are what the kernel's route to the peer gives
 * (RTM_GETROUTE); an on-link peer is its own next hop. A route to an
 * inner prefix of the other family than the outer addresses has no
 * gateway (dev only: the policy takes the packet before any neighbour
 * lookup). ADDR is an address of this host inside the local selectors of
 * the prefix's family, when there is one. One rule per family,
 * "priority route_rule_priority lookup route_table", exists while the
 * table holds routes of that family.
 *
 * A remote selector covering the peer's own address (0.0.0.0/0, ::/0, or
 * any prefix holding it) would route the IKE and ESP packets to the peer
 * (and the RTM_GETROUTE that finds the next hop) into xiked's table: a
 * "throw" route for the peer's address sits next to it, so lookups for
 * the peer fall through to the main table as if xiked's table were not
 * there. A selector that is exactly the peer's address gets no route
 * (the main table's route to the peer is the one).
 *
 * Routes are shared: one per prefix, counted by the Child SAs (and traps)
 * that need it, found through a hash of the prefix. A rekey's successor
 * joins before its predecessor leaves, so a rekey neither removes nor
 * re-adds anything (nor asks the kernel: same prefixes, same peer). With
 * the last holder the route goes. When MOBIKE or a NATed peer moves the
 * IKE SA (child_kernel migrate and refresh), child_route_move resolves
 * the path again and replaces the routes in place (NLM_F_REPLACE), and
 * the throw follows the peer's new address.
 *
 * Routes and rules carry rtm_protocol LINK_RTPROT_XIKED (150): at start
 * xiked removes every route and rule with it that a killed xiked left
 * (child_route_start), as flush_stale does for XFRM states. netmon ignores
 * route events carrying it (they are no path change for MOBIKE).
 */
#ifndef XIKED_CHILD_ROUTE_H
#define XIKED_CHILD_ROUTE_H

#include <stddef.h>
#include <sys/socket.h>

struct engine;
struct conn_cfg;
struct child_sa;

/* Removes what a killed xiked left (routes and rules of LINK_RTPROT_XIKED). Logged. */
void child_route_start(struct engine *e);
/*
 * Routes to c's remote selectors for the peer at remote (local: our
 * address, may be AF_UNSPEC), when c is a policy-based tunnel and conn
 * has routes = yes. Failures are logged: the Child SA stays without
 * them. Idempotent (a second call for c does nothing).
 */
void child_route_add(struct engine *e, const struct conn_cfg *conn,
		     const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
		     const char *tag, struct child_sa *c);
/* The IKE SA of c moved: the routes follow (new next hop, device, source, peer). */
void child_route_move(struct engine *e, const struct conn_cfg *conn,
		      const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
		      const char *tag, struct child_sa *c);
/* c no longer needs its routes (idempotent). */
void child_route_del(struct engine *e, struct child_sa *c);
/* Routes xiked keeps now (tests). */
size_t child_route_count(const struct engine *e);
/* Removes every route and rule left (engine_free). */
void child_route_free_all(struct engine *e);

#endif
