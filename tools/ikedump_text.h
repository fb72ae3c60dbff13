/*
 * ikedump_text: ikedump's default, human-readable output.  One block per
 * frame: a first line with frame number, time (UTC), addresses and
 * ports, then for IKE a header line (exchange, who sends it, SPIs,
 * message ID, length) and one line per payload (continuation lines for
 * proposals and selectors).  The layout is described in doc/ikedump.1.
 */
#ifndef XIKED_TOOLS_IKEDUMP_TEXT_H
#define XIKED_TOOLS_IKEDUMP_TEXT_H

#include <stdio.h>

#include "daemon/message.h"
#include "tools/ikedump_cap.h"
#include "tools/ikedump_keys.h"

/*
 * A parsed IKE message (M, PKT, KR borrowed); RETRANSMISSION marks a copy
 * of an earlier message (ikedump_retx.h).
 */
void text_ike(FILE *out, const struct cap_packet *pkt, const struct ike_msg *m,
	      const struct keys_result *kr, bool retransmission);

/* An ESP, NAT-keepalive or IP-fragment frame (borrowed). */
void text_packet(FILE *out, const struct cap_packet *pkt);

/*
 * A frame that could not be decoded: LAYER ("IPv4", "UDP", "IKE"...) and
 * WHY say what was wrong; HDR (may be NULL) is the IKE header when it was
 * readable.  UNSUPPORTED marks a well-formed message of another IKE
 * version rather than a malformed one.
 */
void text_undecoded(FILE *out, const struct cap_packet *pkt, const char *layer,
		    const struct ike_hdr *hdr, bool unsupported, const char *why);

#endif
