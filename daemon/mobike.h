/*
 * MOBIKE (RFC 4555): an IKE SA and its Child SAs move to new addresses
 * without being set up again. daemon/task_mobike.c holds the tasks:
 *   - IKE_AUTH: N(MOBIKE_SUPPORTED) both ways (3.1), our other addresses;
 *   - UPDATE_SA_ADDRESSES from the original initiator when its path changes
 *     (3.5), with NAT detection (3.8), COOKIE2 (3.6) and NO_NATS_ALLOWED
 *     (3.9);
 *   - the responder's side of it, which moves the IKE SA to where the
 *     request came from and migrates the Child SAs (XFRM_MSG_MIGRATE), at
 *     once or after a return routability check (3.5, mobike_check = yes);
 *   - ADDITIONAL_IP4/IP6_ADDRESS and NO_ADDITIONAL_ADDRESSES (3.4, 3.6),
 *     kept as the peer's address list and tried when the path to its
 *     current one fails.
 */
#ifndef XIKED_MOBIKE_H
#define XIKED_MOBIKE_H

#include <stdbool.h>
#include <stddef.h>

struct engine;
struct ikesa;
struct ike_msg;
struct task;

/* MOBIKE state of one IKE SA (ikesa.mobike, owned; NULL until needed). */
struct mobike;
void mobike_free(struct mobike *m); /* NULL-safe */

/*
 * The addresses, routes or links of this host changed (netlink/netmon.h,
 * after its debounce): every established MOBIKE IKE SA we initiated looks
 * up its path to the peer again (a route lookup) and, when the source
 * address changed or the route is gone, moves: its Child SAs follow at
 * once and an UPDATE_SA_ADDRESSES tells the peer (RFC 4555 3.5). Without
 * a route to the peer's address, its other addresses are tried.
 */
void mobike_roam(struct engine *e);
/*
 * An address, link or route event (netlink/netmon.h): mobike_roam runs
 * MOBIKE_DEBOUNCE_MS after the first event of a burst, once for the lot
 * (an interface going down brings address, route and link events).
 */
void mobike_net_changed(struct engine *e);
/*
 * Our request on sa is still unanswered after a retransmit (task
 * manager): a MOBIKE initiator tries the next path (another local
 * address, or another address of the peer) and says so with a new
 * UPDATE_SA_ADDRESSES. true when it moved.
 */
bool mobike_path_failed(struct ikesa *sa);
/*
 * An IKE rekey made n from old (task_ike_rekey.c, with the children and
 * the queue): n takes the MOBIKE state and the move count, and an update
 * still unanswered on old is sent again on n. Nothing is sent here.
 */
void mobike_adopt(struct ikesa *old, struct ikesa *n);
/*
 * Whether sa's request m moves the IKE SA by itself (UPDATE_SA_ADDRESSES
 * under MOBIKE): then the task manager leaves the addresses alone
 * (natt_follow) and task_mobike decides.
 */
bool mobike_moves_itself(const struct ikesa *sa, const struct ike_msg *m);
/* Whether an INFORMATIONAL request carries MOBIKE notifies (a task_mobike_r for it). */
bool mobike_informational(const struct ike_msg *m);

#endif
