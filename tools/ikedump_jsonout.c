/*
 * JSON rendering of captured IKE traffic (see ikedump_jsonout.h and the
 * JSON OUTPUT section of doc/ikedump.1).  Names come from the codec
 * (daemon/names.h); numbers are given next to names where a consumer may
 * want to compare them ("notify_type", "group_id", transform "id").
 */
#include "tools/ikedump_jsonout.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/cursor.h"
#include "daemon/ikev2.h"
#include "daemon/names.h"
#include "tools/ikedump_fmt.h"

static void jsonout_frame(struct jw *w, const struct cap_packet *pkt, const char *kind)
{
	char t[48], a[FMT_ADDR_LEN];

	jw_obj_begin(w);
	jw_kv_uint(w, "frame", pkt->frame);
	snprintf(t, sizeof(t), "%" PRId64 ".%06u", pkt->ts_sec, pkt->ts_usec % 1000000);
	jw_key(w, "time");
	jw_number_text(w, t);
	jw_kv_str(w, "kind", kind);
	if (pkt->family) {
		jw_kv_str(w, "src", fmt_addr(pkt->family, pkt->src, a));
		jw_kv_str(w, "dst", fmt_addr(pkt->family, pkt->dst, a));
	}
	if (pkt->have_ports) {
		jw_kv_uint(w, "sport", pkt->sport);
		jw_kv_uint(w, "dport", pkt->dport);
	}
}

static void jsonout_spi64(struct jw *w, const char *key, uint64_t spi)
{
	char s[17];

	snprintf(s, sizeof(s), "%016" PRIx64, spi);
	jw_kv_str(w, key, s);
}

static void jsonout_hdr(struct jw *w, const struct ike_hdr *h)
{
	char ex[16], v[16];

	jsonout_spi64(w, "ispi", h->spi_i);
	jsonout_spi64(w, "rspi", h->spi_r);
	jw_kv_str(w, "exchange", fmt_exchange(h->exchange, ex));
	jw_kv_uint(w, "exchange_type", h->exchange);
	jw_kv_bool(w, "initiator", ike_hdr_is_initiator(h));
	jw_kv_bool(w, "response", ike_hdr_is_response(h));
	jw_kv_uint(w, "msgid", h->msg_id);
	jw_kv_uint(w, "length", h->length);
	snprintf(v, sizeof(v), "%u.%u", h->major, h->minor);
	jw_kv_str(w, "version", v);
	jw_kv_uint(w, "flags", h->flags);
}

static void jsonout_sa(struct jw *w, const struct ike_sa *sa)
{
	struct names_buf nb;

	jw_key(w, "proposals");
	jw_arr_begin(w);
	for (uint16_t i = 0; i < sa->n_proposals; i++) {
		const struct ike_proposal *p = &sa->proposals[i];

		jw_obj_begin(w);
		jw_kv_uint(w, "number", p->num);
		jw_kv_str(w, "protocol", names_protocol(p->protocol, &nb));
		jw_kv_hex(w, "spi", p->spi.ptr, p->spi.len);
		jw_key(w, "transforms");
		jw_arr_begin(w);
		for (uint16_t j = 0; j < p->n_transforms; j++) {
			const struct ike_transform *t = &p->transforms[j];

			jw_obj_begin(w);
			jw_kv_str(w, "type", names_transform_type(t->type, &nb));
			jw_kv_uint(w, "type_id", t->type);
			jw_kv_str(w, "name", names_transform(t->type, t->id, &nb));
			jw_kv_uint(w, "id", t->id);
			if (t->key_len)
				jw_kv_uint(w, "keylen", t->key_len);
			if (t->unknown_attrs)
				jw_kv_uint(w, "unknown_attributes", t->unknown_attrs);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void jsonout_notify(struct jw *w, const struct ike_notify *n)
{
	struct names_buf nb;
	struct rd r = rd_init(n->data.ptr, n->data.len);
	char a[FMT_ADDR_LEN];
	uint16_t v;

	jw_kv_str(w, "notify", names_notify(n->type, &nb));
	jw_kv_uint(w, "notify_type", n->type);
	jw_kv_bool(w, "error_type", n->type <= N_ERROR_MAX);
	jw_kv_str(w, "protocol", names_protocol(n->protocol, &nb));
	jw_kv_hex(w, "spi", n->spi.ptr, n->spi.len);
	jw_kv_uint(w, "data_length", n->data.len);
	jw_kv_hex(w, "data", n->data.ptr, n->data.len);
	switch (n->type) {
	case N_SIGNATURE_HASH_ALGORITHMS:
		/* RFC 7427 4: 2-octet hash algorithm numbers. */
		jw_key(w, "hash_algorithms");
		jw_arr_begin(w);
		while (rd_u16(&r, &v))
			jw_str(w, names_hash_alg(v, &nb));
		jw_arr_end(w);
		break;
	case N_INVALID_KE_PAYLOAD:
		if (n->data.len == 2 && rd_u16(&r, &v)) {
			jw_kv_str(w, "group", names_dh(v, &nb));
			jw_kv_uint(w, "group_id", v);
		}
		break;
	case N_NAT_DETECTION_SOURCE_IP:
	case N_NAT_DETECTION_DESTINATION_IP:
		jw_kv_hex(w, "hash", n->data.ptr, n->data.len);
		break;
	case N_COOKIE:
		jw_kv_uint(w, "cookie_length", n->data.len);
		break;
	case N_ADDITIONAL_IP4_ADDRESS:
		if (n->data.len == 4)
			jw_kv_str(w, "address", fmt_addr(AF_INET, n->data.ptr, a));
		break;
	case N_ADDITIONAL_IP6_ADDRESS:
		if (n->data.len == 16)
			jw_kv_str(w, "address", fmt_addr(AF_INET6, n->data.ptr, a));
		break;
	default:
		break;
	}
}

static void jsonout_ts(struct jw *w, const struct ike_ts_list *l)
{
	struct names_buf nb;
	char a[FMT_ADDR_LEN];

	jw_key(w, "selectors");
	jw_arr_begin(w);
	for (uint8_t i = 0; i < l->n; i++) {
		const struct ike_ts *t = &l->ts[i];
		int fam = t->type == TS_IPV4_ADDR_RANGE ? AF_INET
			: t->type == TS_IPV6_ADDR_RANGE ? AF_INET6 : 0;

		jw_obj_begin(w);
		jw_kv_str(w, "ts_type", names_ts_type(t->type, &nb));
		if (fam) {
			jw_kv_uint(w, "ip_proto", t->ip_proto);
			jw_kv_uint(w, "start_port", t->start_port);
			jw_kv_uint(w, "end_port", t->end_port);
			jw_kv_str(w, "start", fmt_addr(fam, t->start, a));
			jw_kv_str(w, "end", fmt_addr(fam, t->end, a));
		}
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void jsonout_payload(struct jw *w, const struct ike_payload *p)
{
	char buf[FMT_VALUE_LEN];
	struct names_buf nb;

	jw_obj_begin(w);
	jw_kv_str(w, "type", names_payload(p->type, &nb));
	jw_kv_uint(w, "type_id", p->type);
	jw_kv_bool(w, "critical", p->critical);
	jw_kv_uint(w, "length", p->body.len + IKE_GENERIC_HDR_LEN);
	if (!p->known) {
		jw_kv_bool(w, "decoded", false);
		jw_obj_end(w);
		return;
	}
	switch (p->type) {
	case PL_SA:
		jsonout_sa(w, &p->u.sa);
		break;
	case PL_KE:
		jw_kv_str(w, "group", names_dh(p->u.ke.group, &nb));
		jw_kv_uint(w, "group_id", p->u.ke.group);
		jw_kv_uint(w, "data_length", p->u.ke.data.len);
		break;
	case PL_IDI:
	case PL_IDR:
		jw_kv_str(w, "id_type", names_id_type(p->u.id.type, &nb));
		jw_kv_str(w, "value", fmt_id_value(&p->u.id, buf));
		break;
	case PL_CERT:
	case PL_CERTREQ:
		jw_kv_str(w, "encoding", names_cert_encoding(p->u.cert.encoding, &nb));
		jw_kv_uint(w, "data_length", p->u.cert.data.len);
		break;
	case PL_AUTH:
		jw_kv_str(w, "method", names_auth_method(p->u.auth.method, &nb));
		jw_kv_uint(w, "data_length", p->u.auth.data.len);
		if (p->u.auth.sig_alg.len)
			jw_kv_hex(w, "algorithm_identifier", p->u.auth.sig_alg.ptr,
				  p->u.auth.sig_alg.len);
		break;
	case PL_NONCE:
		jw_kv_uint(w, "data_length", p->u.nonce.data.len);
		break;
	case PL_NOTIFY:
		jsonout_notify(w, &p->u.notify);
		break;
	case PL_DELETE:
		jw_kv_str(w, "protocol", names_protocol(p->u.del.protocol, &nb));
		jw_key(w, "spis");
		jw_arr_begin(w);
		for (uint16_t i = 0; i < p->u.del.n_spis; i++)
			jw_hex(w, p->u.del.spis.ptr + (size_t)i * p->u.del.spi_len, p->u.del.spi_len);
		jw_arr_end(w);
		break;
	case PL_VENDOR:
		jw_kv_hex(w, "data", p->u.vendor.data.ptr, p->u.vendor.data.len);
		break;
	case PL_TSI:
	case PL_TSR:
		jsonout_ts(w, &p->u.ts);
		break;
	case PL_SK:
		jw_kv_str(w, "first", names_payload(p->u.sk.first_inner, &nb));
		jw_kv_uint(w, "encrypted_length", p->u.sk.body_len);
		break;
	case PL_SKF:
		jw_kv_uint(w, "fragment", p->u.skf.frag_num);
		jw_kv_uint(w, "total", p->u.skf.total);
		jw_kv_str(w, "first", names_payload(p->u.skf.first_inner, &nb));
		jw_kv_uint(w, "encrypted_length", p->u.skf.body_len);
		break;
	case PL_CP:
		jw_kv_str(w, "cfg_type", names_cfg_type(p->u.cp.type, &nb));
		jw_key(w, "attributes");
		jw_arr_begin(w);
		for (uint16_t i = 0; i < p->u.cp.n_attrs; i++) {
			const struct ike_cp_attr *a = &p->u.cp.attrs[i];

			jw_obj_begin(w);
			jw_kv_str(w, "type", names_cfg_attr(a->type, &nb));
			jw_kv_uint(w, "length", a->value.len);
			jw_kv_str(w, "value", fmt_cp_value(a, buf));
			jw_obj_end(w);
		}
		jw_arr_end(w);
		break;
	case PL_EAP:
		jw_kv_str(w, "code", names_eap_code(p->u.eap.code, &nb));
		jw_kv_uint(w, "identifier", p->u.eap.id);
		if (p->u.eap.code == EAP_CODE_REQUEST || p->u.eap.code == EAP_CODE_RESPONSE) {
			jw_kv_uint(w, "eap_type", p->u.eap.type);
			jw_kv_uint(w, "data_length", p->u.eap.data.len);
		}
		break;
	default:
		break;
	}
	jw_obj_end(w);
}

static const char *jsonout_keys_state(enum keys_state s)
{
	switch (s) {
	case KEYS_NONE: return "none";
	case KEYS_NO_SA: return "no-key";
	case KEYS_OPENED: return "opened";
	case KEYS_FAILED: return "failed";
	case KEYS_FRAG_STORED: return "fragment-stored";
	case KEYS_REASSEMBLED: return "reassembled";
	}
	return "none";
}

void jsonout_ike(struct jw *w, const struct cap_packet *pkt, const struct ike_msg *m,
		 const struct keys_result *kr, bool retransmission)
{
	jsonout_frame(w, pkt, "ike");
	jw_kv_bool(w, "non_esp_marker", pkt->non_esp_marker);
	jsonout_hdr(w, &m->hdr);
	jw_kv_bool(w, "retransmission", retransmission);
	jw_key(w, "payloads");
	jw_arr_begin(w);
	for (uint8_t i = 0; i < m->n_payloads; i++)
		if (!m->payloads[i].in_sk)
			jsonout_payload(w, &m->payloads[i]);
	jw_arr_end(w);
	if (kr->state != KEYS_NONE) {
		jw_kv_str(w, "decryption", jsonout_keys_state(kr->state));
		if (kr->state == KEYS_FAILED)
			jw_kv_str(w, "decryption_error", kr->why);
		if (kr->state == KEYS_OPENED || kr->state == KEYS_REASSEMBLED) {
			jw_key(w, "inner");
			jw_arr_begin(w);
			for (uint8_t i = 0; i < m->n_payloads; i++)
				if (m->payloads[i].in_sk)
					jsonout_payload(w, &m->payloads[i]);
			jw_arr_end(w);
		}
	}
	jw_obj_end(w);
}

void jsonout_packet(struct jw *w, const struct cap_packet *pkt)
{
	char spi[9];

	switch (pkt->kind) {
	case CAP_ESP_UDP:
	case CAP_ESP:
		jsonout_frame(w, pkt, "esp");
		jw_kv_str(w, "encap", pkt->kind == CAP_ESP_UDP ? "udp" : "none");
		snprintf(spi, sizeof(spi), "%08" PRIx32, pkt->esp_spi);
		jw_kv_str(w, "spi", spi);
		jw_kv_uint(w, "seq", pkt->esp_seq);
		jw_kv_uint(w, "length", pkt->len);
		break;
	case CAP_KEEPALIVE:
		jsonout_frame(w, pkt, "keepalive");
		break;
	case CAP_IP_FRAGMENT:
		jsonout_frame(w, pkt, "ip-fragment");
		jw_kv_uint(w, "id", pkt->frag_id);
		jw_kv_uint(w, "offset", pkt->frag_offset);
		jw_kv_bool(w, "more", pkt->frag_more);
		jw_kv_uint(w, "ip_proto", pkt->ip_proto);
		jw_kv_uint(w, "length", pkt->len);
		jw_kv_bool(w, "reassembled", false);
		break;
	default:
		return;
	}
	jw_obj_end(w);
}

void jsonout_undecoded(struct jw *w, const struct cap_packet *pkt, const char *layer,
		       const struct ike_hdr *hdr, bool unsupported, const char *why)
{
	jsonout_frame(w, pkt, unsupported ? "unsupported" : "malformed");
	jw_kv_str(w, "layer", layer);
	jw_kv_str(w, "error", why);
	if (hdr) {
		jw_key(w, "header");
		jw_obj_begin(w);
		jsonout_hdr(w, hdr);
		jw_obj_end(w);
	}
	jw_obj_end(w);
}
