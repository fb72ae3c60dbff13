/*
 * IKE fragmentation (RFC 7383): negotiation in IKE_SA_INIT, splitting a
 * protected message into Encrypted Fragment (SKF) payloads on send, and
 * authenticated reassembly on receive.
 *
 * The task manager calls in at three points and keeps everything else:
 *   build: frag_seal() instead of sealing one SK payload when the message
 *          would not fit the fragment size; the fragments are written back
 *          to back into the send buffer, so the stored request and the
 *          response cache hold "a list of datagrams" without a new type
 *          (each datagram is an IKE message whose header Length says where
 *          the next begins);
 *   send:  frag_send() sends every datagram of such a buffer (retransmits
 *          resend all fragments, RFC 7383 2.6);
 *   receive: frag_open() for a message whose outer chain ends in SKF.
 *
 * Reassembly state lives per IKE SA (struct tm_state.frag, owned), one slot
 * for the peer's request and one for the response to ours (window size 1:
 * at most one message ID of each), with limits IKE_FRAG_MAX fragments,
 * IKE_FRAG_REASM_MAX octets and IKE_FRAG_TIMEOUT_MS (daemon/ikev2.h).
 * Every fragment's ICV is verified before it is stored (2.6): only the
 * authenticated peer can make us keep anything.
 */
#ifndef XIKED_FRAGMENT_H
#define XIKED_FRAGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/message.h"

struct ikesa;
struct frag_reasm;

/*
 * IKE_SA_INIT (RFC 7383 2.3). frag_build_init_notify adds
 * IKEV2_FRAGMENTATION_SUPPORTED: in a request when sa's connection allows
 * fragmentation, in a response only when the request had it too (EXT_FRAGMENTATION
 * already set by frag_note_init). frag_note_init looks at the peer's
 * message and sets EXT_FRAGMENTATION when both sides announce it.
 */
void frag_build_init_notify(struct ikesa *sa, struct ike_builder *b, bool response);
void frag_note_init(struct ikesa *sa, const struct ike_msg *m);

/*
 * The largest IP datagram sa sends (RFC 7383 2.5.1): the connection's
 * fragment_size, else [daemon]'s, else 576 (IPv4) / 1280 (IPv6).
 */
size_t frag_size(const struct ikesa *sa);

/*
 * Protects a message as fragments when needed. h is the message's header;
 * inner[0..inner_len) its plaintext chain (borrowed, not wiped here) whose
 * first payload is first_inner. When fragmentation was negotiated, the
 * exchange is not IKE_SA_INIT and the message sealed as one SK payload
 * would exceed frag_size(), writes the SKF messages back to back into
 * out[0..cap), sets *out_len and returns 1. Returns 0 when one SK payload
 * is to be used, <0 on error (too many fragments, no room, sealing
 * failed; logged).
 */
int frag_seal(struct ikesa *sa, const struct ike_hdr *h, uint8_t first_inner,
	      const uint8_t *inner, size_t inner_len, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Sends buf[0..len) (borrowed): one IKE message, or several back to back as
 * frag_seal wrote them, each as its own datagram.
 */
void frag_send(struct ikesa *sa, const uint8_t *buf, size_t len);

/*
 * A message of sa whose outer chain (m, parsed from raw, borrowed) ends in
 * SKF, its header already matched to sa by the task manager. Verifies the
 * fragment's ICV and stores it. Returns
 *   0        the message is complete: its plaintext is in sa->e->rxbuf and
 *            parsed into m as the inner chain (m then borrows rxbuf); or, for
 *            a retransmitted request already answered, this is its
 *            authentic fragment 1 (RFC 7383 2.6.1: only that one makes the
 *            response go again) and m is left as it was;
 *   -EINPROGRESS  stored or ignored (duplicate, later fragment of an
 *            answered request): nothing more to do;
 *   -EBADMSG dropped (not negotiated, failed ICV, inconsistent, over a limit);
 *   -EPROTO  complete and authentic but the inner chain is malformed.
 */
int frag_open(struct ikesa *sa, struct ike_msg *m, const uint8_t *raw);

/* Frees sa's reassembly state (wiping it) and cancels its timer. */
void frag_clear(struct ikesa *sa);

#endif
