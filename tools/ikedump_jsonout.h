/*
 * ikedump_jsonout: ikedump --json.  The output is one JSON array; each
 * element is an object for one frame, told apart by "kind":
 *
 *   "ike"        a decoded IKE message (schema in doc/ikedump.1)
 *   "esp"        ESP, in UDP ("encap": "udp") or as IP protocol 50
 *   "keepalive"  an RFC 3948 NAT-keepalive
 *   "ip-fragment" an IP fragment (not reassembled)
 *   "unsupported" an IKE message of another major version (e.g. IKEv1)
 *   "malformed"  a frame that could not be decoded ("layer", "error")
 *
 * Frames that are neither IKE nor ESP (other protocols and ports) are
 * left out.  Every object has "frame", "time", and, when the IP header
 * was read, "src", "dst" (and "sport", "dport" once UDP was read).
 */
#ifndef XIKED_TOOLS_IKEDUMP_JSONOUT_H
#define XIKED_TOOLS_IKEDUMP_JSONOUT_H

#include "daemon/json.h"
#include "daemon/message.h"
#include "tools/ikedump_cap.h"
#include "tools/ikedump_keys.h"

/* A parsed IKE message (all borrowed). */
void jsonout_ike(struct json_writer *w, const struct cap_packet *pkt, const struct ike_msg *m,
		 const struct keys_result *kr, bool retransmission);

/* An ESP, NAT-keepalive or IP-fragment frame. */
void jsonout_packet(struct json_writer *w, const struct cap_packet *pkt);

/* See text_undecoded() in ikedump_text.h; same arguments. */
void jsonout_undecoded(struct json_writer *w, const struct cap_packet *pkt, const char *layer,
		       const struct ike_hdr *hdr, bool unsupported, const char *why);

#endif
