/*
 * One-line summary of an IKE message for debug logs, in the notation an
 * administrator knows from charon:
 *   IKE_AUTH request 1 [ IDi AUTH SA TSi TSr N(MOBIKE_SUPPORTED) ]
 * Names are the codec's (daemon/names.h): payloads as RFC 7296 abbreviates
 * them, notifies as N(IANA name), configuration payloads as CP(type).
 * A decrypted message lists its inner (SK) payloads in place of SK; one
 * that is not (yet) decrypted shows SK, or EF(n/N) for an RFC 7383
 * fragment.
 */
#ifndef XIKED_MESSAGE_STR_H
#define XIKED_MESSAGE_STR_H

#include <stddef.h>

#include "daemon/message.h"

/* Longest summary worth printing; longer ones end in "...". */
#define MESSAGE_STR_MAX 512

/*
 * Writes the summary of m (borrowed) into buf[0..len) (always terminated
 * when len > 0) and returns buf.
 */
const char *message_str(const struct ike_msg *m, char *buf, size_t len);

#endif
