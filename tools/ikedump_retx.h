/*
 * ikedump_retx: recognises retransmissions.  RFC 7296 2.1: a request is
 * retransmitted unchanged, and a responder answers a retransmitted request
 * with its cached response, also unchanged; fragments are retransmitted
 * as they were (RFC 7383 2.6).  Two copies of one message carry the same
 * SPIs, message ID and flags (direction) in their header, so "the same
 * message ID and direction seen again with identical content" is "an
 * identical IKE message seen again".  Content is remembered (hashed, then
 * compared octet by octet) up to RETX_MEM_MAX octets; later messages are
 * still checked against what was remembered.
 */
#ifndef XIKED_TOOLS_IKEDUMP_RETX_H
#define XIKED_TOOLS_IKEDUMP_RETX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RETX_MEM_MAX (256u << 20)

struct retx_set;

/* NULL when out of memory. */
struct retx_set *retx_new(void);
void retx_free(struct retx_set *s);

/*
 * True when msg[0..len) (one IKE message, borrowed) was given before;
 * otherwise remembers it (within RETX_MEM_MAX) and returns false.
 */
bool retx_seen(struct retx_set *s, const uint8_t *msg, size_t len);

#endif
