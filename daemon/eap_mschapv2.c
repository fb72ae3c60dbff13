/* EAP-MSCHAPv2 packets; see eap_mschapv2.h. */
#include "daemon/eap_mschapv2.h"

#include <stdio.h>
#include <string.h>

#include "daemon/cursor.h"

int eap_mschapv2_parse(const struct ike_bytes *data, bool request, struct eap_mschapv2 *out,
		       char *why, size_t whylen)
{
	struct rd r = rd_init(data->ptr, data->len);
	uint16_t mslen;
	*out = (struct eap_mschapv2){0};
	if (!rd_u8(&r, &out->op)) {
		snprintf(why, whylen, "EAP-MSCHAPv2: no OpCode");
		return -1;
	}
	/* The peer acknowledges Success and Failure with the OpCode alone. */
	if (!request && (out->op == MSCHAPV2_OP_SUCCESS || out->op == MSCHAPV2_OP_FAILURE)) {
		if (data->len != 1) {
			snprintf(why, whylen, "EAP-MSCHAPv2 %s response: got %zu octets, need 1",
				 out->op == MSCHAPV2_OP_SUCCESS ? "Success" : "Failure", data->len);
			return -1;
		}
		return 0;
	}
	if (!rd_u8(&r, &out->id) || !rd_u16(&r, &mslen)) {
		snprintf(why, whylen, "EAP-MSCHAPv2 header: got %zu octets, need 4", data->len);
		return -1;
	}
	if (mslen != data->len) {
		snprintf(why, whylen, "EAP-MSCHAPv2 MS-Length %u: got %zu octets", mslen, data->len);
		return -1;
	}
	uint8_t want = 0, vsize = 0;
	if (request && out->op == MSCHAPV2_OP_CHALLENGE)
		want = 16;
	else if (!request && out->op == MSCHAPV2_OP_RESPONSE)
		want = MSCHAPV2_RESPONSE_VALUE_LEN;
	else if (!request || (out->op != MSCHAPV2_OP_SUCCESS && out->op != MSCHAPV2_OP_FAILURE)) {
		snprintf(why, whylen, "EAP-MSCHAPv2 OpCode %u in a %s: need %s", out->op,
			 request ? "request" : "response",
			 request ? "1 (Challenge), 3 (Success) or 4 (Failure)"
				 : "2 (Response), 3 or 4");
		return -1;
	}
	if (want) {
		if (!rd_u8(&r, &vsize) || vsize != want || rd_left(&r) < want) {
			snprintf(why, whylen, "EAP-MSCHAPv2 %s: Value-Size %u with %zu octets left, "
				 "need %u", want == 16 ? "Challenge" : "Response", vsize, rd_left(&r),
				 want);
			return -1;
		}
		out->value = (struct ike_bytes){r.p, want};
		rd_skip(&r, want);
	}
	out->text = (struct ike_bytes){r.p, rd_left(&r)};
	return 0;
}

size_t eap_mschapv2_build(const struct eap_mschapv2 *m, bool request, uint8_t *out, size_t cap)
{
	struct wr w = wr_init(out, cap);
	wr_u8(&w, m->op);
	if (!request && (m->op == MSCHAPV2_OP_SUCCESS || m->op == MSCHAPV2_OP_FAILURE))
		return w.err ? 0 : 1;
	size_t len = 4 + (m->value.len ? 1 + m->value.len : 0) + m->text.len;
	if (len > EAP_MSCHAPV2_MAX || m->value.len > 255)
		return 0;
	wr_u8(&w, m->id);
	wr_u16(&w, (uint16_t)len);
	if (m->value.len) {
		wr_u8(&w, (uint8_t)m->value.len);
		wr_bytes(&w, m->value.ptr, m->value.len);
	}
	wr_bytes(&w, m->text.ptr, m->text.len);
	return w.err ? 0 : len;
}
