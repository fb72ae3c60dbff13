/*
 * Traffic selectors: narrowing (RFC 7296 2.9) and conversion to the
 * kernel's prefix-based selectors.
 */
#ifndef XIKED_TS_H
#define XIKED_TS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/payload.h"
#include "netlink/kernel_ops.h"

/* Intersection of a and b into *out; false when empty (or the types differ). */
bool ts_intersect(const struct ike_ts *a, const struct ike_ts *b, struct ike_ts *out);

/* Whether inner lies entirely within outer. */
bool ts_contains(const struct ike_ts *outer, const struct ike_ts *inner);

/*
 * Narrowing (RFC 7296 2.9): every non-empty intersection of a proposed
 * selector with a configured one, in the order of the proposal, into
 * out[0..cap). Returns the count (0 = TS_UNACCEPTABLE). Duplicates are
 * dropped.
 */
size_t ts_narrow(const struct ike_ts *proposed, size_t n_proposed, const struct ike_ts *cfg,
		 size_t n_cfg, struct ike_ts *out, size_t cap);

/*
 * Whether every selector in got[] lies within some selector of sent[]
 * (the initiator's check of the responder's narrowed selectors).
 */
bool ts_all_within(const struct ike_ts *got, size_t n_got, const struct ike_ts *sent,
		   size_t n_sent);

struct ts_cfg_list;
struct sockaddr_storage;
/*
 * Configured selectors as wire selectors (at most cap of them),
 * %dynamic becoming addr (host prefix). Returns the count.
 */
size_t ts_from_cfg(const struct ts_cfg_list *l, const struct sockaddr_storage *addr,
		   struct ike_ts *out, size_t cap);

/* A selector from an address prefix (addr in network order, 4 or 16 octets). */
void ts_from_prefix(struct ike_ts *ts, int family, const uint8_t *addr, unsigned plen,
		    uint8_t proto, uint16_t start_port, uint16_t end_port);

/*
 * The kernel selectors covering local x remote exactly: each address range
 * split into prefixes, each port range into port/mask blocks. Fills
 * out[0..cap) (src = local, dst = remote, the outbound orientation) and
 * returns the count; -E2BIG when the exact split needs more than cap.
 */
int ts_to_ksel(const struct ike_ts *local, const struct ike_ts *remote, struct ksel *out,
	       size_t cap);

/* "10.1.0.0/24", "10.1.0.5-10.1.0.9[tcp/443]"... into buf; returns buf. */
#define TS_STRLEN 128
const char *ts_to_string(const struct ike_ts *ts, char *buf, size_t len);

#endif
