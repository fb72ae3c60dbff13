/*
 * libFuzzer target for the IKEv2 codec (design.md rule 2: every parser has
 * one). Input: one UDP payload as the engine receives it (no non-ESP
 * marker).
 *
 * It runs what the engine runs on the receive path: header parser, message
 * parser, outer acceptance check, the inner-chain parser, full acceptance
 * check. The inner chain is, in order of preference:
 *  - the SK/SKF body itself, parsed as if it were the decrypted plaintext
 *    (the seeds *-plain.bin hold real decrypted chains there), or
 *  - without SK, the octets after the header's Length: the first of them
 *    names the first inner payload, the rest is the chain.
 *
 * Then a build/parse property: rebuilding a parsed message (outer payloads,
 * or the inner chain) with the builder must give bytes that parse again and
 * rebuild to the very same bytes. Lossy fields (reserved octets, unknown
 * transform attributes, the C bit of known payloads) may differ from the
 * input, but after one rebuild the codec must be a fixed point. A
 * violation aborts, so the fuzzer reports it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/acceptance.h"
#include "daemon/message.h"
#include "daemon/names.h"
#include "daemon/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ike_msg m, m2;
static uint8_t out1[IKE_MSG_MAX], out2[IKE_MSG_MAX];

static void die(const char *what, const struct payload_err *err)
{
	fprintf(stderr, "fuzz_message: %s: %s\n", what, err ? err->why : "");
	abort();
}

/*
 * Rebuild the payloads of msg with in_sk == inner into out. For the outer
 * message an SK/SKF is re-emitted with the same body octets. Returns the
 * length, or 0 when the builder refuses (e.g. a TS type it cannot encode).
 */
static size_t rebuild(const struct ike_msg *msg, bool inner, uint8_t *out)
{
	struct ike_builder b;
	size_t len;

	if (inner)
		message_build_inner_init(&b, out, IKE_MSG_MAX);
	else
		message_build_init(&b, out, IKE_MSG_MAX, &msg->hdr);
	for (unsigned i = 0; i < msg->n_payloads; i++) {
		const struct ike_payload *p = &msg->payloads[i];
		if (p->in_sk != inner)
			continue;
		if (p->type == PL_SK || p->type == PL_SKF) {
			const uint8_t *src = msg->raw + (p->type == PL_SK ? p->u.sk.body_off
									   : p->u.skf.body_off);
			uint32_t n = p->type == PL_SK ? p->u.sk.body_len : p->u.skf.body_len;
			uint8_t *body = p->type == PL_SK
						? message_build_sk(&b, p->u.sk.first_inner, n)
						: message_build_skf(&b, p->u.skf.first_inner,
								    p->u.skf.frag_num, p->u.skf.total, n);
			if (!body)
				return 0;
			memcpy(body, src, n);
		} else {
			payload_build(&b, p);
		}
	}
	if (message_build_finish(&b, &len) != 0)
		return 0;
	return len;
}

static void check_fixed_point(bool inner, uint8_t first)
{
	struct payload_err err;
	size_t l1 = rebuild(&m, inner, out1);
	if (l1 == 0)
		return;
	/* parse the rebuilt bytes */
	enum payload_status st;
	if (inner) {
		message_reset(&m2);
		st = message_parse_inner(&m2, first, out1, l1, &err);
	} else {
		st = message_parse(&m2, out1, l1, &err);
	}
	if (st != PAYLOAD_OK)
		die(inner ? "rebuilt inner chain does not parse" : "rebuilt message does not parse",
		    &err);
	size_t l2 = rebuild(&m2, inner, out2);
	if (l2 != l1 || memcmp(out1, out2, l1) != 0)
		die("rebuild is not a fixed point", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct payload_err err;
	struct acceptance_result res;
	struct ike_hdr h;
	struct names_buf nb;

	/* the dispatch-only parser must agree with the full one on the header */
	enum payload_status hs = message_parse_header(data, size, &h, &err);
	enum payload_status ms = message_parse(&m, data, size, &err);
	if (hs != PAYLOAD_OK && ms == PAYLOAD_OK)
		die("header parser rejects what the message parser accepts", &err);
	if (ms != PAYLOAD_OK) {
		/* reason strings are always terminated and name a status */
		if (strlen(err.why) >= sizeof(err.why) || !payload_status_name(ms))
			abort();
		return 0;
	}
	(void)names_exchange(m.hdr.exchange, &nb);
	acceptance_check_outer(&m, &res);
	check_fixed_point(false, PL_NONE);

	const struct ike_payload *sk = message_sk(&m);
	uint8_t first;
	const uint8_t *plain;
	size_t plen;
	if (sk) {
		bool is_sk = sk->type == PL_SK;
		first = is_sk ? sk->u.sk.first_inner : sk->u.skf.first_inner;
		plain = data + (is_sk ? sk->u.sk.body_off : sk->u.skf.body_off);
		plen = is_sk ? sk->u.sk.body_len : sk->u.skf.body_len;
	} else if (size > m.hdr.length) {
		first = data[m.hdr.length];
		plain = data + m.hdr.length + 1;
		plen = size - m.hdr.length - 1;
	} else {
		acceptance_check(&m, &res);
		return 0;
	}
	if (message_parse_inner(&m, first, plain, plen, &err) == PAYLOAD_OK) {
		for (unsigned i = 0; i < m.n_payloads; i++)
			(void)names_payload(m.payloads[i].type, &nb);
		check_fixed_point(true, first);
	}
	acceptance_check(&m, &res);
	return 0;
}
