/*
 * Reauthentication, make-before-break (RFC 7296 2.8.3; conn reauth = yes).
 *
 * Instead of rekeying an IKE SA in place (2.18), the side that initiated
 * the conn builds a brand-new IKE SA to the same peer: IKE_SA_INIT and
 * IKE_AUTH with fresh authentication and without INITIAL_CONTACT (which
 * would make the peer drop the old SA at once, 2.4), every Child SA of
 * the old IKE SA made again on it (the first in IKE_AUTH, the others with
 * CREATE_CHILD_SA), with the same selectors and the same reqid, so the
 * kernel policies, counted per reqid (child_kernel.c), stay as they are.
 * Only then is the old IKE SA deleted, and its Child SAs with it.
 *
 * The peer needs nothing but to keep both: a responder whose new Child
 * SA has the config and selectors of an installed one of the same peer
 * and conn takes that one's reqid and sends on the new SA only when the
 * old one goes (its IKE SA's Delete), so it never sends on an SA the
 * initiator has not installed; at most REAUTH_OUT_WAIT_MS later it sends
 * on the new one anyway (a peer that restarted without INITIAL_CONTACT
 * never deletes the old one).
 *
 * An IKE SA without Child SAs is deleted instead (as strongSwan does; a
 * trap brings a new one up with the next packet).
 *
 * A reauthentication that fails (the new IKE SA goes before it is done)
 * leaves the old IKE SA up and is tried again like a refused IKE rekey:
 * 5-10 s later, until IKE_REKEY_GIVE_UP_MS have passed (timers.h).
 */
#ifndef XIKED_TASK_REAUTH_H
#define XIKED_TASK_REAUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/timing.h"

struct ikesa;

/* REAUTH_OUT_WAIT_MS (daemon/timing.h): the longest a reauthentication's responder sends on
 * the old Child SA. */

/*
 * Starts reauthenticating sa (borrowed; established, ours to initiate:
 * conn_sa of its conn). 0, -EALREADY (a rekey or reauthentication of sa
 * under way), -EINVAL (sa is not established or not ours to initiate),
 * or -errno.
 */
int reauth_start(struct ikesa *sa);
/* Whether sa (borrowed) is reauthenticated rather than rekeyed when its ike_lifetime comes. */
bool reauth_wanted(struct ikesa *sa);
/* sa (borrowed) is going: a reauthentication it was making failed, or the one of it stops. */
void reauth_on_destroy(struct ikesa *sa);

#endif
