/*
 * The timers of IKE and Child SAs, decided in one place (as WireGuard's
 * timers.c). Every rule; the constants, with units, are in daemon/timing.h
 * (here in capitals):
 *
 *  - Retransmission (RFC 7296 2.1, 2.4): armed by the task manager when a
 *    request leaves, retransmit_timeout * retransmit_base^n (4 s * 1.8^n),
 *    retransmit_tries (5) retransmits, then the IKE SA is torn down
 *    (task_manager.c; CONFIG_RETRANSMIT_*_DEFAULT).
 *  - Half-open expiry: a responder SA not established within
 *    half_open_timeout (CONFIG_HALF_OPEN_TIMEOUT_DEFAULT, 30 s) is
 *    dropped (engine_teardown.c, armed at the first IKE_SA_INIT).
 *  - IKE SA rekey (2.8): when an IKE SA is established (IKE_AUTH or a
 *    rekey), at ike_lifetime less rekey_margin and a random part of
 *    rand_margin; firing queues a rekey. After TEMPORARY_FAILURE (2.25) it
 *    is tried again 5-10 s later (REKEY_RETRY_MS), and the SA is deleted if
 *    the peer keeps refusing for IKE_REKEY_GIVE_UP_MS. With reauth = yes,
 *    on the side that initiated the conn, firing starts a reauthentication
 *    instead (task_reauth.h), retried the same way when it fails.
 *  - Child SA idle timeout (idle_timeout): from installation, the kernel's
 *    byte counters of both states are read every quarter of idle_timeout
 *    (at least 1 s); when they have not moved for idle_timeout, the Child
 *    SA is deleted (the IKE SA stays; with start = trap, the next packet
 *    brings it back).
 *  - Child SA rekey: no timer of ours; the kernel's soft lifetime (set by
 *    child_kernel.c with the same margins) raises XFRM_MSG_EXPIRE. After
 *    TEMPORARY_FAILURE it is retried 5-10 s later (CHILD_RETRY_MS), or
 *    within half the time left before the SA's hard lifetime when that is
 *    sooner (at least CHILD_RETRY_MIN_MS; task_child_create.c).
 *  - NAT keepalive (RFC 3948 2.3): on an established IKE SA behind a NAT
 *    (EXT_NAT_LOCAL), every keepalive seconds (CONFIG_KEEPALIVE_DEFAULT) a
 *    0xFF octet goes to the peer's NAT-T port unless an IKE message was
 *    sent or the Child SAs' outbound byte counters moved within that
 *    interval.
 *  - Dead peer detection (RFC 7296 2.4): on an established IKE SA with
 *    dpd > 0, when nothing was received for dpd seconds (CONFIG_DPD_DEFAULT;
 *    no authenticated IKE message and the Child SAs' inbound byte counters
 *    standing still, read at each check) an empty INFORMATIONAL is queued
 *    unless an exchange is already under way; it retransmits as any
 *    request, and when the task manager gives up, dpd_action decides
 *    (timers_on_peer_dead: clear, restart, trap).
 *  - Replaced IKE SA (RFC 7296 2.8: the initiator of a rekey deletes the
 *    old IKE SA): when the peer rekeyed, the old one waits for the peer's
 *    Delete at most IKE_REPLACED_WAIT_MS (30 s), then we send the Delete
 *    ourselves; unanswered, it goes after the retransmission schedule
 *    (about 2 minutes more). An IKE SA that unique = replace lets the
 *    peer delete (its reauthentication, daemon/unique.h) waits
 *    REAUTH_OUT_WAIT_MS the same way.
 *  - Not armed here, listed for completeness: on-demand traps keep further
 *    ACQUIREs away for TRAP_PENDING_MS (trap.c); MOBIKE handles address
 *    events MOBIKE_DEBOUNCE_MS after the first of a burst (task_mobike.c);
 *    partial fragmented messages go after IKE_FRAG_TIMEOUT_MS (fragment.c);
 *    the cookie secret rotates every DOS_SECRET_LIFETIME_MS and failure
 *    lines are limited to one per DOS_LOG_INTERVAL_MS (dos.c).
 */
#ifndef XIKED_TIMERS_H
#define XIKED_TIMERS_H

#include <stdint.h>

#include "daemon/timing.h"

struct ikesa;
struct child_sa;

/* sa became ESTABLISHED (IKE_AUTH or as a rekey's successor): arm its rekey. */
void timers_on_ike_established(struct ikesa *sa);
/* Our IKE rekey met TEMPORARY_FAILURE: try again soon. */
void timers_on_ike_rekey_deferred(struct ikesa *sa);
/* Child SA c of sa was installed: start its idle checks if idle_timeout is set. */
void timers_on_child_installed(struct ikesa *sa, struct child_sa *c);
/*
 * The task manager gave up on sa's peer (no response after the last
 * retransmit): destroys sa and, if it was established, applies the conn's
 * dpd_action (restart: initiate again; trap: install its trap policies).
 */
void timers_on_peer_dead(struct ikesa *sa);
/*
 * sa's path or its NAT state changed (MOBIKE, daemon/task_mobike.c): NAT
 * keepalives start if we are now behind a NAT and they were not running.
 */
void timers_on_path_changed(struct ikesa *sa);
/*
 * sa was replaced (a rekey the peer made, or unique = replace) and the peer
 * should delete it: if it is still established in ms, we send its Delete.
 */
void timers_on_ike_replaced(struct ikesa *sa, uint32_t ms);
/* Seconds until sa's IKE rekey, or -1 when none is planned. */
int64_t timers_ike_rekey_in_s(const struct ikesa *sa);

#endif
