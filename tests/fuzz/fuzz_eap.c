/*
 * libFuzzer target for IKE_AUTH's EAP payloads: the codec's EAP header
 * parser (daemon/payload_parse.c, RFC 3748 4) and, for type 26, the
 * EAP-MSCHAPv2 packet parser (daemon/eap_mschapv2.c) in both directions.
 * Input: one EAP payload body.
 *
 * Checks, each a crash (abort) when violated:
 *  - a refused EAP-MSCHAPv2 packet says why; what parses points inside
 *    the input;
 *  - build/parse agreement: a parsed EAP-MSCHAPv2 packet built again is
 *    the input, and parses to the same fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cursor.h"
#include "daemon/eap_mschapv2.h"
#include "daemon/ikev2.h"
#include "daemon/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz_eap: %s\n", what);
	abort();
}

static uint8_t out[65536];

static bool inside(const struct ike_bytes *b, const struct ike_bytes *in)
{
	return b->len == 0 || (b->ptr >= in->ptr && b->ptr + b->len <= in->ptr + in->len);
}

static void check_mschapv2(const struct ike_bytes *td, bool request)
{
	struct eap_mschapv2 m, m2;
	char why[160] = "";
	if (eap_mschapv2_parse(td, request, &m, why, sizeof(why)) != 0) {
		if (!why[0])
			die("refused without a reason");
		return;
	}
	if (!inside(&m.value, td) || !inside(&m.text, td))
		die("a field outside the input");
	size_t n = eap_mschapv2_build(&m, request, out, sizeof(out));
	if (n != td->len || memcmp(out, td->ptr, n) != 0)
		die("build(parse(x)) != x");
	struct ike_bytes again = {out, n};
	if (eap_mschapv2_parse(&again, request, &m2, why, sizeof(why)) != 0 || m2.op != m.op ||
	    m2.id != m.id || m2.value.len != m.value.len || m2.text.len != m.text.len)
		die("parse(build(m)) != m");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ike_eap e;
	struct payload_err err;
	if (payload_parse_eap(rd_init(data, size), &e, &err) != PAYLOAD_OK)
		return 0;
	if (e.type == EAP_TYPE_MSCHAPV2) {
		check_mschapv2(&e.data, true);
		check_mschapv2(&e.data, false);
	}
	return 0;
}
