/*
 * One IKE SA per peer identity and conn (conn unique =, as strongSwan's
 * uniqueids), and INITIAL_CONTACT (RFC 7296 2.4). Judged by the responder
 * of IKE_AUTH once the peer has authenticated, over the engine's (conn,
 * identity) index, never a walk of all SAs. The IKE SA we initiated for the
 * conn (engine_conn_sa) is never a duplicate: two gateways starting the
 * conn at once would otherwise each delete or refuse the other's.
 *
 *  - replace (default): the duplicates are deleted, with a Delete to the
 *    peer, once the new IKE SA and its IKE_AUTH Child SA are in. One from
 *    the new one's address without INITIAL_CONTACT is taken for the peer's
 *    own reauthentication (RFC 7296 2.8.3): the peer deletes it itself,
 *    and we do only after REAUTH_OUT_WAIT_MS. A new Child SA with the same
 *    config and selectors as a duplicate's takes its reqid, so the kernel
 *    policies stay as they are (make-before-break, task_child_create.c);
 *    from another address, whose policy templates name the old peer, the
 *    duplicate's Child SA is removed just before the new one goes in.
 *  - keep: the new IKE SA is refused with AUTHENTICATION_FAILED while a
 *    duplicate is established (so a peer cannot reauthenticate
 *    make-before-break either).
 *  - never: several IKE SAs of one identity stay; INITIAL_CONTACT is
 *    ignored (clients sharing a certificate would otherwise drop each
 *    other's SAs).
 *
 * With replace and keep, INITIAL_CONTACT drops every other IKE SA of the
 * identity on the conn at once, without a Delete (the peer forgot them).
 */
#ifndef XIKED_UNIQUE_H
#define XIKED_UNIQUE_H

#include <stdbool.h>

struct ikesa;
struct child_sa;

/* keep: whether sa (authenticated, peer_id set) must be refused; logs why. */
bool unique_refuse(struct ikesa *sa);
/* sa's IKE_AUTH request carried INITIAL_CONTACT: drop the identity's other IKE SAs. */
void unique_initial_contact(struct ikesa *sa);
/*
 * replace: whether IKE SA o (another of sa's identity on its conn) is one
 * that sa replaces, so that sa's Child SAs may take over its selectors.
 */
bool unique_replaces(const struct ikesa *sa, const struct ikesa *o);
/* replace: sa (responder) is established with its IKE_AUTH Child SA: the duplicates go. */
void unique_replace(struct ikesa *sa, bool initial_contact);

#endif
