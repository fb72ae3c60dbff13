/*
 * Human-readable rendering of captured IKE traffic (see ikedump_text.h).
 * All names come from the codec (daemon/names.h); notify data that the
 * codec leaves opaque is decoded here for the few types where it helps
 * (RFC 7427 4 hash lists, RFC 7296 2.23 NAT hashes, 2.6 cookies, 1.3
 * INVALID_KE_PAYLOAD group, RFC 4555 additional addresses).
 */
#include "tools/ikedump_text.h"

#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/cursor.h"
#include "daemon/ikev2.h"
#include "daemon/names.h"
#include "tools/ikedump_fmt.h"

/* Width of the payload-name column. */
#define TEXT_COL 8
/* Hex shown for long opaque data (V, notify data) before "...". */
#define TEXT_HEX_MAX 96

static void text_frame_line(FILE *out, const struct cap_packet *pkt)
{
	char t[64], s[FMT_ADDR_LEN], d[FMT_ADDR_LEN];

	fprintf(out, "#%" PRIu64 " %s", pkt->frame, fmt_time(pkt->ts_sec, pkt->ts_usec, t, sizeof(t)));
	if (pkt->family == 0) {
		fputc('\n', out);
		return;
	}
	fmt_addr(pkt->family, pkt->src, s);
	fmt_addr(pkt->family, pkt->dst, d);
	if (pkt->have_ports)
		fprintf(out, pkt->family == AF_INET6 ? " [%s]:%u -> [%s]:%u" : " %s:%u -> %s:%u",
			s, pkt->sport, d, pkt->dport);
	else
		fprintf(out, " %s -> %s", s, d);
	fputc('\n', out);
}

static const char *text_role(const struct ike_hdr *h)
{
	if (ike_hdr_is_initiator(h))
		return ike_hdr_is_response(h) ? "initiator response" : "initiator request";
	return ike_hdr_is_response(h) ? "responder response" : "responder request";
}

static void text_hdr_line(FILE *out, const struct ike_hdr *h, bool retransmission)
{
	struct names_buf nb;

	fprintf(out, "  %s %s ispi %016" PRIx64 " rspi %016" PRIx64 " msgid %" PRIu32
		" length %" PRIu32, names_exchange(h->exchange, &nb), text_role(h), h->spi_i,
		h->spi_r, h->msg_id, h->length);
	if (h->major != IKE_VERSION_MAJOR || h->minor != IKE_VERSION_MINOR)
		fprintf(out, " version %u.%u", h->major, h->minor);
	if (retransmission)
		fputs(" (retransmission)", out);
	fputc('\n', out);
}

static void text_transform(FILE *out, const struct ike_transform *t)
{
	struct names_buf nb;

	/* RFC 9370: an additional key exchange's method says which slot it fills. */
	if (TRANS_IS_ADDKE(t->type))
		fprintf(out, " %s=", names_transform_type(t->type, &nb));
	else
		fputc(' ', out);
	fprintf(out, "%s", names_transform(t->type, t->id, &nb));
	if (t->key_len)
		fprintf(out, "/%u", t->key_len);
	if (t->unknown_attrs)
		fprintf(out, "(+%u unknown attributes)", t->unknown_attrs);
}

static void text_sa(FILE *out, const struct ike_sa *sa, const char *pad)
{
	char hex[2 * 8 + 4];

	for (uint16_t i = 0; i < sa->n_proposals; i++) {
		const struct ike_proposal *p = &sa->proposals[i];
		struct names_buf nb;

		fprintf(out, "%s#%u %s", i ? pad : "", p->num, names_protocol(p->protocol, &nb));
		if (p->spi.len)
			fprintf(out, " spi %s", fmt_hex(p->spi.ptr, p->spi.len, hex, sizeof(hex)));
		fputc(':', out);
		for (uint16_t j = 0; j < p->n_transforms; j++)
			text_transform(out, &p->transforms[j]);
		fputc('\n', out);
	}
	if (sa->n_proposals == 0)
		fputs("no proposals\n", out);
}

static void text_notify_data(FILE *out, const struct ike_notify *n)
{
	char buf[2 * TEXT_HEX_MAX + 4];
	struct names_buf nb;
	struct rd r = rd_init(n->data.ptr, n->data.len);
	uint16_t v;

	switch (n->type) {
	case N_SIGNATURE_HASH_ALGORITHMS:
		/* RFC 7427 4: a list of 2-octet hash algorithm numbers. */
		fputc(':', out);
		while (rd_u16(&r, &v))
			fprintf(out, " %s", names_hash_alg(v, &nb));
		if (rd_left(&r))
			fprintf(out, " (+%zu stray octet)", rd_left(&r));
		return;
	case N_INVALID_KE_PAYLOAD:
		/* RFC 7296 1.3: the 2-octet group the responder wants. */
		if (n->data.len == 2 && rd_u16(&r, &v)) {
			fprintf(out, ": wants %s", names_dh(v, &nb));
			return;
		}
		break;
	case N_COOKIE:
		fprintf(out, ": %zu-octet cookie", n->data.len);
		return;
	case N_ADDITIONAL_IP4_ADDRESS:
		if (n->data.len == 4) {
			fprintf(out, ": %s", fmt_addr(AF_INET, n->data.ptr, buf));
			return;
		}
		break;
	case N_ADDITIONAL_IP6_ADDRESS:
		if (n->data.len == 16) {
			fprintf(out, ": %s", fmt_addr(AF_INET6, n->data.ptr, buf));
			return;
		}
		break;
	default:
		break;
	}
	if (n->data.len)
		fprintf(out, ": %zu octets %s", n->data.len,
			fmt_hex(n->data.ptr, n->data.len, buf, sizeof(buf)));
}

static void text_ts(FILE *out, const struct ike_ts_list *l, const char *pad)
{
	for (uint8_t i = 0; i < l->n; i++) {
		const struct ike_ts *t = &l->ts[i];
		int fam = t->type == TS_IPV4_ADDR_RANGE ? AF_INET
			: t->type == TS_IPV6_ADDR_RANGE ? AF_INET6 : 0;
		char a[FMT_ADDR_LEN], b[FMT_ADDR_LEN];
		struct names_buf nb;

		if (i)
			fputs(pad, out);
		if (!fam) {
			fprintf(out, "%s (not decoded)\n", names_ts_type(t->type, &nb));
			continue;
		}
		size_t alen = payload_ts_addr_len(t->type);

		fmt_addr(fam, t->start, a);
		fmt_addr(fam, t->end, b);
		if (memcmp(t->start, t->end, alen) == 0)
			fputs(a, out);
		else
			fprintf(out, "%s-%s", a, b);
		if (t->ip_proto)
			fprintf(out, " proto %u", t->ip_proto);
		else
			fputs(" proto any", out);
		if (t->start_port == IKE_TS_PORT_OPAQUE_START && t->end_port == IKE_TS_PORT_OPAQUE_END)
			fputs(" ports opaque", out);
		else if (t->start_port == 0 && t->end_port == 65535)
			fputs(" ports any", out);
		else if (t->start_port == t->end_port)
			fprintf(out, " port %u", t->start_port);
		else
			fprintf(out, " ports %u-%u", t->start_port, t->end_port);
		fputc('\n', out);
	}
	if (l->n == 0)
		fputs("no selectors\n", out);
}

/* One payload: name column, then its fields; INDENT spaces before. */
static void text_payload(FILE *out, const struct ike_payload *p, int indent)
{
	char buf[FMT_VALUE_LEN], hex[2 * TEXT_HEX_MAX + 4];
	char pad[64];
	struct names_buf nb, nb2;
	int w = indent + TEXT_COL;

	snprintf(pad, sizeof(pad), "%*s", w, "");
	fprintf(out, "%*s%-*s", indent, "", TEXT_COL - 1, names_payload(p->type, &nb));
	fputc(' ', out);
	if (p->critical && p->type != PL_SK && p->type != PL_SKF)
		fputs("(critical) ", out);
	if (!p->known) {
		fprintf(out, "%zu octets, not decoded\n", p->body.len);
		return;
	}
	switch (p->type) {
	case PL_SA:
		text_sa(out, &p->u.sa, pad);
		return;
	case PL_KE:
		fprintf(out, "%s, %zu octets\n", names_dh(p->u.ke.group, &nb), p->u.ke.data.len);
		return;
	case PL_IDI:
	case PL_IDR:
		fprintf(out, "%s %s\n", names_id_type(p->u.id.type, &nb),
			fmt_id_value(&p->u.id, buf));
		return;
	case PL_CERT:
	case PL_CERTREQ:
		fprintf(out, "%s, %zu octets", names_cert_encoding(p->u.cert.encoding, &nb),
			p->u.cert.data.len);
		/* RFC 7296 3.7: X.509 CERTREQ data is a list of 20-octet CA key hashes. */
		if (p->type == PL_CERTREQ && p->u.cert.encoding == CERT_X509_SIGNATURE &&
		    p->u.cert.data.len % 20 == 0)
			fprintf(out, " (%zu CA hashes)", p->u.cert.data.len / 20);
		fputc('\n', out);
		return;
	case PL_AUTH:
		fprintf(out, "%s, %zu octets", names_auth_method(p->u.auth.method, &nb),
			p->u.auth.data.len);
		if (p->u.auth.sig_alg.len)
			fprintf(out, " (AlgorithmIdentifier %s, signature %zu octets)",
				fmt_hex(p->u.auth.sig_alg.ptr, p->u.auth.sig_alg.len, hex, sizeof(hex)),
				p->u.auth.sig.len);
		fputc('\n', out);
		return;
	case PL_NONCE:
		fprintf(out, "%zu octets\n", p->u.nonce.data.len);
		return;
	case PL_NOTIFY: {
		const struct ike_notify *n = &p->u.notify;

		fputs(names_notify(n->type, &nb), out);
		if (n->protocol)
			fprintf(out, " %s", names_protocol(n->protocol, &nb2));
		if (n->spi.len)
			fprintf(out, " spi %s", fmt_hex(n->spi.ptr, n->spi.len, hex, sizeof(hex)));
		text_notify_data(out, n);
		fputc('\n', out);
		return;
	}
	case PL_DELETE: {
		const struct ike_delete *d = &p->u.del;

		fputs(names_protocol(d->protocol, &nb), out);
		for (uint16_t i = 0; i < d->n_spis; i++) {
			if (d->spi_len == 4)
				fprintf(out, " %08" PRIx32, payload_delete_spi32(d, i));
			else
				fprintf(out, " %s", fmt_hex(d->spis.ptr + (size_t)i * d->spi_len,
							    d->spi_len, hex, sizeof(hex)));
		}
		fputc('\n', out);
		return;
	}
	case PL_VENDOR:
		fprintf(out, "%s\n", fmt_hex(p->u.vendor.data.ptr, p->u.vendor.data.len, hex,
					     sizeof(hex)));
		return;
	case PL_TSI:
	case PL_TSR:
		text_ts(out, &p->u.ts, pad);
		return;
	case PL_SK:
		/* RFC 7296 3.14: Next Payload 0 means nothing inside (e.g. a liveness check). */
		if (p->u.sk.first_inner == PL_NONE)
			fputs("empty", out);
		else
			fprintf(out, "first %s", names_payload(p->u.sk.first_inner, &nb));
		fprintf(out, ", %" PRIu32 " octets encrypted\n", p->u.sk.body_len);
		return;
	case PL_SKF:
		fprintf(out, "fragment %u of %u", p->u.skf.frag_num, p->u.skf.total);
		if (p->u.skf.frag_num == 1)
			fprintf(out, ", first %s", names_payload(p->u.skf.first_inner, &nb));
		fprintf(out, ", %" PRIu32 " octets encrypted\n", p->u.skf.body_len);
		return;
	case PL_CP:
		fputs(names_cfg_type(p->u.cp.type, &nb), out);
		for (uint16_t i = 0; i < p->u.cp.n_attrs; i++) {
			const struct ike_cp_attr *a = &p->u.cp.attrs[i];
			const char *v = fmt_cp_value(a, buf);

			fprintf(out, " %s%s%s", names_cfg_attr(a->type, &nb2), *v ? "=" : "", v);
		}
		fputc('\n', out);
		return;
	case PL_EAP: {
		const struct ike_eap *e = &p->u.eap;

		fprintf(out, "%s id %u", names_eap_code(e->code, &nb), e->id);
		/* RFC 3748 4: only Request and Response carry a Type. */
		if (e->code == EAP_CODE_REQUEST || e->code == EAP_CODE_RESPONSE)
			fprintf(out, " type %u, %zu octets of type data", e->type, e->data.len);
		fputc('\n', out);
		return;
	}
	default:
		fprintf(out, "%zu octets\n", p->body.len);
	}
}

static void text_keys_line(FILE *out, const struct keys_result *kr)
{
	switch (kr->state) {
	case KEYS_NONE:
	case KEYS_OPENED:
		return;
	case KEYS_REASSEMBLED:
		fprintf(out, "    (reassembled from %u fragments)\n", kr->frags_total);
		return;
	case KEYS_NO_SA:
		fputs("    (not decrypted: no key for these SPIs)\n", out);
		return;
	case KEYS_FRAG_STORED:
		fprintf(out, "    (fragment opened, %u of %u seen)\n", kr->frags_have,
			kr->frags_total);
		return;
	case KEYS_FAILED:
		fprintf(out, "    (not decrypted: %s)\n", kr->why);
		return;
	}
}

void text_ike(FILE *out, const struct cap_packet *pkt, const struct ike_msg *m,
	      const struct keys_result *kr, bool retransmission)
{
	text_frame_line(out, pkt);
	text_hdr_line(out, &m->hdr, retransmission);
	for (uint8_t i = 0; i < m->n_payloads; i++) {
		const struct ike_payload *p = &m->payloads[i];

		text_payload(out, p, p->in_sk ? 6 : 4);
		if (i == m->sk_index)
			text_keys_line(out, kr);
	}
}

void text_packet(FILE *out, const struct cap_packet *pkt)
{
	text_frame_line(out, pkt);
	switch (pkt->kind) {
	case CAP_ESP_UDP:
	case CAP_ESP:
		fprintf(out, "  ESP%s spi %08" PRIx32 " seq %" PRIu32 ", %zu octets\n",
			pkt->kind == CAP_ESP_UDP ? " in UDP" : "", pkt->esp_spi, pkt->esp_seq,
			pkt->len);
		return;
	case CAP_KEEPALIVE:
		fputs("  NAT-keepalive\n", out);
		return;
	case CAP_IP_FRAGMENT:
		fprintf(out, "  IP fragment id %" PRIu32 " offset %" PRIu32 "%s, protocol %u, "
			"%zu octets (not reassembled)\n", pkt->frag_id, pkt->frag_offset,
			pkt->frag_more ? " more" : " last", pkt->ip_proto, pkt->len);
		return;
	default:
		return;
	}
}

void text_undecoded(FILE *out, const struct cap_packet *pkt, const char *layer,
		    const struct ike_hdr *hdr, bool unsupported, const char *why)
{
	text_frame_line(out, pkt);
	if (hdr && unsupported) {
		/* Another major version: IKEv2's exchange names would mislead. */
		fprintf(out, "  UNSUPPORTED %s: %s; ispi %016" PRIx64 " rspi %016" PRIx64
			" exchange %u flags 0x%02x msgid %" PRIu32 " length %" PRIu32 "\n", layer, why,
			hdr->spi_i, hdr->spi_r, hdr->exchange, hdr->flags, hdr->msg_id, hdr->length);
		return;
	}
	if (hdr)
		text_hdr_line(out, hdr, false);
	fprintf(out, "  %s %s: %s\n", unsupported ? "UNSUPPORTED" : "MALFORMED", layer, why);
}
