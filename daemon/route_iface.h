/*
 * Route-based VPN (issue 8): the interface a Child SA's traffic is routed
 * through, and the if_id or mark its states and policies carry.
 *
 * A binding is one (if_id or mark, optional device) that Child SAs share:
 * for if_id = N / vti = NAME every Child SA of the conn, for if_id =
 * %unique those of one IKE SA (each IKE SA of a responder conn gets its own
 * if_id from CONFIG_IF_ID_UNIQUE_BASE up, and its own interface from the
 * name template), so many peers can use 0.0.0.0/0 selectors at once: the
 * kernel tells their policies apart by if_id.
 *
 * Lifecycle: attached by child_kernel_install before the states go in (the
 * first Child SA creates or adopts the device, brings it up, sets mtu and
 * addresses; a VTI also gets disable_policy), routes to the remote traffic
 * selectors after the policies; detached when the Child SA leaves the
 * kernel. A rekey's successor attaches before its predecessor detaches
 * (make before break), so the device stays. With the last Child SA, xiked
 * removes the routes and addresses it added, and the device if it created
 * it; an adopted device stays. The %unique if_id is free again then.
 */
#ifndef XIKED_ROUTE_IFACE_H
#define XIKED_ROUTE_IFACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink/link.h"

struct engine;
struct ikesa;
struct child_sa;
struct route_iface;
struct conn_cfg;
struct sockaddr_storage;

/*
 * Binds c to its conn's interface (creating it when needed) and sets
 * c->if_id and c->mark. No-op (0) for conns without if_id/mark. 0 or
 * -errno (logged; nothing left behind).
 */
int route_iface_attach(struct ikesa *sa, struct child_sa *c);
/* Routes to c's remote traffic selectors through its interface (routes = yes). Logged. */
void route_iface_add_routes(struct ikesa *sa, struct child_sa *c);
/*
 * The same for a trap (start = trap, daemon/trap.c): pol is the trap's
 * policy holder, which gets the conn's fixed if_id or mark so that its
 * policies match the Child SA the ACQUIRE brings (that one joins the same
 * binding); its device exists and routes point into it before any
 * traffic, which is what makes the kernel send the ACQUIRE. Never for
 * if_id = %unique (config_route.c refuses it: no IKE SA, no if_id yet).
 * route_iface_detach undoes both.
 */
int route_iface_attach_trap(struct engine *e, const struct conn_cfg *conn,
			    const struct sockaddr_storage *local, const struct sockaddr_storage *remote,
			    const char *tag, struct child_sa *pol);
void route_iface_add_routes_trap(struct engine *e, const struct conn_cfg *conn, const char *tag,
				 struct child_sa *pol);
/* Undoes attach and add_routes for c (idempotent). */
void route_iface_detach(struct engine *e, struct child_sa *c);
/* Device name of c's binding, or NULL (none or no device). */
const char *route_iface_name(const struct child_sa *c);
/*
 * Whether addr is one xiked put on one of its interfaces: reachable only
 * through the tunnel, so never a MOBIKE additional address (RFC 4555 3.4)
 * to reach the IKE SA by.
 */
bool route_iface_has_addr(struct engine *e, const struct sockaddr_storage *addr);
/*
 * Whether ifindex is a device xiked created for a binding, or removed
 * lately (the last ROUTE_IFACE_GONE_MAX): its link, address and route
 * events are xiked's own doing, not a path change (netmon's filter, so
 * MOBIKE does not re-check routes for them). e may be NULL. An adopted
 * device is the administrator's: false.
 */
bool route_iface_owns_ifindex(const struct engine *e, int ifindex);
/* Bindings alive (tests; walks them all, never on a setup path). */
size_t route_iface_count(const struct engine *e);
/* Removes every binding left (engine_free). */
void route_iface_free_all(struct engine *e);

#endif
