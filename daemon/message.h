/*
 * IKEv2 messages: header, payload chain, outer and inner (decrypted) parse,
 * and building (RFC 7296 sections 3.1, 3.2, 3.14; RFC 7383).
 *
 * Receive path of the engine:
 *   message_parse_header()  - alone, for dispatch (SPIs, exchange, flags,
 *                              message ID) before any payload is touched;
 *                              PAYLOAD_BAD_MAJOR -> INVALID_MAJOR_VERSION
 *   message_parse()         - header + outer payload chain; SK/SKF ends it
 *   acceptance_check_outer()- (daemon/acceptance.h)
 *   decrypt SK using m->payloads[m->sk_index].u.sk offsets
 *   message_parse_inner()   - plaintext chain, appended with in_sk = true
 *   acceptance_check()
 *
 * Send path:
 *   message_build_inner_init() + payload_build_*() -> plaintext chain
 *   message_build_init(hdr) + message_build_sk(first, sealed_len) -> header
 *       and SK header final; encrypt into the returned body pointer
 *       (AAD = buf[0 .. body - buf))
 *   message_build_finish() -> total length
 *
 * Memory: struct ike_msg is a fixed-size value (about 12 KiB; no malloc)
 * holding up to IKE_PAYLOADS_MAX payloads and a struct payload_pool. It
 * BORROWS the raw datagram and the plaintext: both must outlive it and stay
 * unmodified while it is used. It contains pointers into itself (the pool):
 * do not memcpy it and use the copy after the original is gone.
 */
#ifndef XIKED_MESSAGE_H
#define XIKED_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr_storage;

#include "daemon/ikev2.h"
#include "daemon/payload.h"

/*
 * RFC 7296 3.1 IKE Header:
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Initiator's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Responder's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Message ID                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Length                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * SPIs are read big-endian into uint64_t, so printing them with %016llx
 * shows the wire octets. Flags keep every bit as received (reserved bits
 * are ignored, RFC 7296 3.1, but kept for logging).
 */
struct ike_hdr {
	uint64_t spi_i, spi_r;
	uint8_t next_payload;
	uint8_t major, minor;
	uint8_t exchange; /* enum ike_exchange */
	uint8_t flags;    /* IKE_FLAG_* */
	uint32_t msg_id;
	uint32_t length;  /* whole message in octets, header included */
};

static inline bool ike_hdr_is_response(const struct ike_hdr *h)
{
	return (h->flags & IKE_FLAG_RESPONSE) != 0;
}

static inline bool ike_hdr_is_initiator(const struct ike_hdr *h)
{
	return (h->flags & IKE_FLAG_INITIATOR) != 0;
}

/*
 * Parse the 28-octet header of buf[0..len) (borrowed for the call). Checks
 * IKE_HDR_LEN <= Length <= len (octets after Length are not part of the
 * message and are ignored). On PAYLOAD_BAD_MAJOR *hdr is still fully filled
 * so the engine can answer INVALID_MAJOR_VERSION (RFC 7296 2.5) to the
 * right SPIs and message ID; the length checks are then skipped because
 * another version may define them differently. Minor version is not checked
 * (RFC 7296 2.5: ignore it).
 */
enum payload_status message_parse_header(const uint8_t *buf, size_t len, struct ike_hdr *hdr,
					 struct payload_err *err);

struct ike_msg {
	struct ike_hdr hdr;
	const uint8_t *raw;     /* borrowed: the message, hdr.length octets */
	const uint8_t *plain;   /* borrowed: decrypted inner chain, NULL until parsed */
	size_t plain_len;
	uint8_t n_payloads;     /* outer ones first, then inner ones (in_sk) */
	int8_t sk_index;        /* index of the SK or SKF payload, -1 if none */
	bool decrypted;         /* message_parse_inner() succeeded */
	uint8_t unknown_critical; /* type of the first unrecognised payload with C set, 0 = none */
	uint16_t n_unknown;     /* unrecognised payloads skipped (critical or not) */
	struct ike_payload payloads[IKE_PAYLOADS_MAX];
	struct payload_pool pool;
	/*
	 * The datagram's addresses, ours and the peer's, while the tasks
	 * process it (borrowed; set by the task manager, which answers a
	 * request there, RFC 7296 2.11, and MOBIKE reads them, RFC 4555 3.5;
	 * NULL otherwise). The parsers leave them alone.
	 */
	const struct sockaddr_storage *rx_local, *rx_remote;
};

/*
 * Reset the bookkeeping of *m (no payloads, no SK, pool empty) without
 * clearing the payload slots. message_parse does this itself; call it
 * before message_parse_inner on a struct that has not been through
 * message_parse (e.g. a reassembled RFC 7383 message).
 */
void message_reset(struct ike_msg *m);

/*
 * Parse a whole message: header, then the payload chain from the header's
 * Next Payload. Every known payload body is parsed (payload.h); unknown
 * types are recorded with known = false (and unknown_critical when C is
 * set). SK or SKF ends the chain (RFC 7296 3.14 / RFC 7383 2.5: it must be
 * last; its Next Payload names the first inner payload); octets after it
 * up to Length are ignored. Without SK, the chain must end exactly at
 * Length. Borrows buf: it must outlive *m. Resets *m first.
 */
enum payload_status message_parse(struct ike_msg *m, const uint8_t *buf, size_t len,
				  struct payload_err *err);

/*
 * Parse a decrypted inner chain (plaintext with IV, padding, pad length and
 * ICV already removed) starting with payload type `first` (the SK/SKF Next
 * Payload, or fragment 1's for a reassembled SKF message), appending to
 * m->payloads with in_sk = true and offsets relative to `plain`. The chain
 * must end exactly at len; SK/SKF inside it is an error. Borrows plain: it
 * must outlive *m. May be called once per message (again is an error).
 */
enum payload_status message_parse_inner(struct ike_msg *m, uint8_t first, const uint8_t *plain,
					size_t len, struct payload_err *err);

/*
 * Lookups. message_find returns the first payload of `type` after `after`
 * (NULL: from the start), in chain order, or NULL. Counts include inner and
 * outer payloads.
 */
const struct ike_payload *message_find(const struct ike_msg *m, uint8_t type,
				       const struct ike_payload *after);
unsigned message_count(const struct ike_msg *m, uint8_t type);
/* First Notify of notify_type, or NULL. */
const struct ike_notify *message_find_notify(const struct ike_msg *m, uint16_t notify_type);
/* First Notify with an error type (< 16384, RFC 7296 3.10.1), or NULL. */
const struct ike_notify *message_find_error_notify(const struct ike_msg *m);
/* The SK or SKF payload, or NULL. */
const struct ike_payload *message_sk(const struct ike_msg *m);

/* ---- building ---- */

/*
 * Start a message in buf[0..cap) (borrowed until finish): writes the IKE
 * header from hdr (spi_i, spi_r, exchange, flags, msg_id; version is
 * always 2.0, next_payload and length are filled in later).
 */
void message_build_init(struct ike_builder *b, void *buf, size_t cap, const struct ike_hdr *hdr);

/*
 * Start a bare payload chain (the plaintext of an SK payload) in
 * buf[0..cap). After the payloads, message_build_finish gives its length
 * and b->first the type for the SK Next Payload (PL_NONE if empty).
 */
void message_build_inner_init(struct ike_builder *b, void *buf, size_t cap);

/*
 * Append the SK generic header announcing first_inner and a body of
 * sealed_len octets (IV + ciphertext + padding + pad length + ICV), reserve
 * that body (zeroed), and patch the IKE header Length to the final total.
 * Returns a pointer to the body for the engine to fill, or NULL on error.
 * Everything before the body is final when this returns: it is the AEAD
 * associated data (RFC 5282 5.1). No payload may be added afterwards.
 */
uint8_t *message_build_sk(struct ike_builder *b, uint8_t first_inner, size_t sealed_len);

/*
 * Same for an RFC 7383 Encrypted Fragment: first_inner must be PL_NONE
 * unless frag_num == 1; 1 <= frag_num <= total.
 */
uint8_t *message_build_skf(struct ike_builder *b, uint8_t first_inner, uint16_t frag_num,
			   uint16_t total, size_t sealed_len);

/*
 * Finish: for a message, patch the IKE header Length; for both, store the
 * total octets in *len. Returns 0, -ENOSPC (buffer too small) or -EINVAL
 * (a value did not fit its field, misuse, or the message exceeds
 * IKE_MSG_MAX).
 */
int message_build_finish(struct ike_builder *b, size_t *len);

#endif
