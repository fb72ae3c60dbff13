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

static void jsonout_frame(struct json_writer *w, const struct cap_packet *pkt, const char *kind)
{
	char t[48], a[FMT_ADDR_LEN];

	json_obj_begin(w);
	json_kv_uint(w, "frame", pkt->frame);
	snprintf(t, sizeof(t), "%" PRId64 ".%06u", pkt->ts_sec, pkt->ts_usec % 1000000);
	json_key(w, "time");
	json_number_text(w, t);
	json_kv_str(w, "kind", kind);
	if (pkt->family) {
		json_kv_str(w, "src", fmt_addr(pkt->family, pkt->src, a));
		json_kv_str(w, "dst", fmt_addr(pkt->family, pkt->dst, a));
	}
	if (pkt->have_ports) {
		json_kv_uint(w, "sport", pkt->sport);
		json_kv_uint(w, "dport", pkt->dport);
	}
}

static void jsonout_spi64(struct json_writer *w, const char *key, uint64_t spi)
{
	char s[17];

	snprintf(s, sizeof(s), "%016" PRIx64, spi);
	json_kv_str(w, key, s);
}

static void jsonout_hdr(struct json_writer *w, const struct ike_hdr *h)
{
	char ex[16], v[16];

	jsonout_spi64(w, "ispi", h->spi_i);
	jsonout_spi64(w, "rspi", h->spi_r);
	json_kv_str(w, "exchange", fmt_exchange(h->exchange, ex));
	json_kv_uint(w, "exchange_type", h->exchange);
	json_kv_bool(w, "initiator", ike_hdr_is_initiator(h));
	json_kv_bool(w, "response", ike_hdr_is_response(h));
	json_kv_uint(w, "msgid", h->msg_id);
	json_kv_uint(w, "length", h->length);
	snprintf(v, sizeof(v), "%u.%u", h->major, h->minor);
	json_kv_str(w, "version", v);
	json_kv_uint(w, "flags", h->flags);
}

static void jsonout_sa(struct json_writer *w, const struct ike_sa *sa)
{
	struct names_buf nb;

	json_key(w, "proposals");
	json_arr_begin(w);
	for (uint16_t i = 0; i < sa->n_proposals; i++) {
		const struct ike_proposal *p = &sa->proposals[i];

		json_obj_begin(w);
		json_kv_uint(w, "number", p->num);
		json_kv_str(w, "protocol", names_protocol(p->protocol, &nb));
		json_kv_hex(w, "spi", p->spi.ptr, p->spi.len);
		json_key(w, "transforms");
		json_arr_begin(w);
		for (uint16_t j = 0; j < p->n_transforms; j++) {
			const struct ike_transform *t = &p->transforms[j];

			json_obj_begin(w);
			json_kv_str(w, "type", names_transform_type(t->type, &nb));
			json_kv_uint(w, "type_id", t->type);
			json_kv_str(w, "name", names_transform(t->type, t->id, &nb));
			json_kv_uint(w, "id", t->id);
			if (t->key_len)
				json_kv_uint(w, "keylen", t->key_len);
			if (t->unknown_attrs)
				json_kv_uint(w, "unknown_attributes", t->unknown_attrs);
			json_obj_end(w);
		}
		json_arr_end(w);
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void jsonout_notify(struct json_writer *w, const struct ike_notify *n)
{
	struct names_buf nb;
	struct rd r = rd_init(n->data.ptr, n->data.len);
	char a[FMT_ADDR_LEN];
	uint16_t v;

	json_kv_str(w, "notify", names_notify(n->type, &nb));
	json_kv_uint(w, "notify_type", n->type);
	json_kv_bool(w, "error_type", n->type <= N_ERROR_MAX);
	json_kv_str(w, "protocol", names_protocol(n->protocol, &nb));
	json_kv_hex(w, "spi", n->spi.ptr, n->spi.len);
	json_kv_uint(w, "data_length", n->data.len);
	json_kv_hex(w, "data", n->data.ptr, n->data.len);
	switch (n->type) {
	case N_SIGNATURE_HASH_ALGORITHMS:
		/* RFC 7427 4: 2-octet hash algorithm numbers. */
		json_key(w, "hash_algorithms");
		json_arr_begin(w);
		while (rd_u16(&r, &v))
			json_str(w, names_hash_alg(v, &nb));
		json_arr_end(w);
		break;
	case N_INVALID_KE_PAYLOAD:
		if (n->data.len == 2 && rd_u16(&r, &v)) {
			json_kv_str(w, "group", names_dh(v, &nb));
			json_kv_uint(w, "group_id", v);
		}
		break;
	case N_NAT_DETECTION_SOURCE_IP:
	case N_NAT_DETECTION_DESTINATION_IP:
		json_kv_hex(w, "hash", n->data.ptr, n->data.len);
		break;
	case N_COOKIE:
		json_kv_uint(w, "cookie_length", n->data.len);
		break;
	case N_ADDITIONAL_IP4_ADDRESS:
		if (n->data.len == 4)
			json_kv_str(w, "address", fmt_addr(AF_INET, n->data.ptr, a));
		break;
	case N_ADDITIONAL_IP6_ADDRESS:
		if (n->data.len == 16)
			json_kv_str(w, "address", fmt_addr(AF_INET6, n->data.ptr, a));
		break;
	default:
		break;
	}
}

static void jsonout_ts(struct json_writer *w, const struct ike_ts_list *l)
{
	struct names_buf nb;
	char a[FMT_ADDR_LEN];

	json_key(w, "selectors");
	json_arr_begin(w);
	for (uint8_t i = 0; i < l->n; i++) {
		const struct ike_ts *t = &l->ts[i];
		int fam = t->type == TS_IPV4_ADDR_RANGE ? AF_INET
			: t->type == TS_IPV6_ADDR_RANGE ? AF_INET6 : 0;

		json_obj_begin(w);
		json_kv_str(w, "ts_type", names_ts_type(t->type, &nb));
		if (fam) {
			json_kv_uint(w, "ip_proto", t->ip_proto);
			json_kv_uint(w, "start_port", t->start_port);
			json_kv_uint(w, "end_port", t->end_port);
			json_kv_str(w, "start", fmt_addr(fam, t->start, a));
			json_kv_str(w, "end", fmt_addr(fam, t->end, a));
		}
		json_obj_end(w);
	}
	json_arr_end(w);
}

static void jsonout_payload(struct json_writer *w, const struct ike_payload *p)
{
	char buf[FMT_VALUE_LEN];
	struct names_buf nb;

	json_obj_begin(w);
	json_kv_str(w, "type", names_payload(p->type, &nb));
	json_kv_uint(w, "type_id", p->type);
	json_kv_bool(w, "critical", p->critical);
	json_kv_uint(w, "length", p->body.len + IKE_GENERIC_HDR_LEN);
	if (!p->known) {
		json_kv_bool(w, "decoded", false);
		json_obj_end(w);
		return;
	}
	switch (p->type) {
	case PL_SA:
		jsonout_sa(w, &p->u.sa);
		break;
	case PL_KE:
		json_kv_str(w, "group", names_dh(p->u.ke.group, &nb));
		json_kv_uint(w, "group_id", p->u.ke.group);
		json_kv_uint(w, "data_length", p->u.ke.data.len);
		break;
	case PL_IDI:
	case PL_IDR:
		json_kv_str(w, "id_type", names_id_type(p->u.id.type, &nb));
		json_kv_str(w, "value", fmt_id_value(&p->u.id, buf));
		break;
	case PL_CERT:
	case PL_CERTREQ:
		json_kv_str(w, "encoding", names_cert_encoding(p->u.cert.encoding, &nb));
		json_kv_uint(w, "data_length", p->u.cert.data.len);
		break;
	case PL_AUTH:
		json_kv_str(w, "method", names_auth_method(p->u.auth.method, &nb));
		json_kv_uint(w, "data_length", p->u.auth.data.len);
		if (p->u.auth.sig_alg.len)
			json_kv_hex(w, "algorithm_identifier", p->u.auth.sig_alg.ptr,
				  p->u.auth.sig_alg.len);
		break;
	case PL_NONCE:
		json_kv_uint(w, "data_length", p->u.nonce.data.len);
		break;
	case PL_NOTIFY:
		jsonout_notify(w, &p->u.notify);
		break;
	case PL_DELETE:
		json_kv_str(w, "protocol", names_protocol(p->u.del.protocol, &nb));
		json_key(w, "spis");
		json_arr_begin(w);
		for (uint16_t i = 0; i < p->u.del.n_spis; i++)
			json_hex(w, p->u.del.spis.ptr + (size_t)i * p->u.del.spi_len, p->u.del.spi_len);
		json_arr_end(w);
		break;
	case PL_VENDOR:
		json_kv_hex(w, "data", p->u.vendor.data.ptr, p->u.vendor.data.len);
		break;
	case PL_TSI:
	case PL_TSR:
		jsonout_ts(w, &p->u.ts);
		break;
	case PL_SK:
		json_kv_str(w, "first", names_payload(p->u.sk.first_inner, &nb));
		json_kv_uint(w, "encrypted_length", p->u.sk.body_len);
		break;
	case PL_SKF:
		json_kv_uint(w, "fragment", p->u.skf.frag_num);
		json_kv_uint(w, "total", p->u.skf.total);
		json_kv_str(w, "first", names_payload(p->u.skf.first_inner, &nb));
		json_kv_uint(w, "encrypted_length", p->u.skf.body_len);
		break;
	case PL_CP:
		json_kv_str(w, "cfg_type", names_cfg_type(p->u.cp.type, &nb));
		json_key(w, "attributes");
		json_arr_begin(w);
		for (uint16_t i = 0; i < p->u.cp.n_attrs; i++) {
			const struct ike_cp_attr *a = &p->u.cp.attrs[i];

			json_obj_begin(w);
			json_kv_str(w, "type", names_cfg_attr(a->type, &nb));
			json_kv_uint(w, "length", a->value.len);
			json_kv_str(w, "value", fmt_cp_value(a, buf));
			json_obj_end(w);
		}
		json_arr_end(w);
		break;
	case PL_EAP:
		json_kv_str(w, "code", names_eap_code(p->u.eap.code, &nb));
		json_kv_uint(w, "identifier", p->u.eap.id);
		if (p->u.eap.code == EAP_CODE_REQUEST || p->u.eap.code == EAP_CODE_RESPONSE) {
			json_kv_uint(w, "eap_type", p->u.eap.type);
			json_kv_uint(w, "data_length", p->u.eap.data.len);
		}
		break;
	default:
		break;
	}
	json_obj_end(w);
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

void jsonout_ike(struct json_writer *w, const struct cap_packet *pkt, const struct ike_msg *m,
		 const struct keys_result *kr, bool retransmission)
{
	jsonout_frame(w, pkt, "ike");
	json_kv_bool(w, "non_esp_marker", pkt->non_esp_marker);
	jsonout_hdr(w, &m->hdr);
	json_kv_bool(w, "retransmission", retransmission);
	json_key(w, "payloads");
	json_arr_begin(w);
	for (uint8_t i = 0; i < m->n_payloads; i++)
		if (!m->payloads[i].in_sk)
			jsonout_payload(w, &m->payloads[i]);
	json_arr_end(w);
	if (kr->state != KEYS_NONE) {
		json_kv_str(w, "decryption", jsonout_keys_state(kr->state));
		if (kr->state == KEYS_FAILED)
			json_kv_str(w, "decryption_error", kr->why);
		if (kr->state == KEYS_OPENED || kr->state == KEYS_REASSEMBLED) {
			json_key(w, "inner");
			json_arr_begin(w);
			for (uint8_t i = 0; i < m->n_payloads; i++)
				if (m->payloads[i].in_sk)
					jsonout_payload(w, &m->payloads[i]);
			json_arr_end(w);
		}
	}
	json_obj_end(w);
}

void jsonout_packet(struct json_writer *w, const struct cap_packet *pkt)
{
	char spi[9];

	switch (pkt->kind) {
	case CAP_ESP_UDP:
	case CAP_ESP:
		jsonout_frame(w, pkt, "esp");
		json_kv_str(w, "encap", pkt->kind == CAP_ESP_UDP ? "udp" : "none");
		snprintf(spi, sizeof(spi), "%08" PRIx32, pkt->esp_spi);
		json_kv_str(w, "spi", spi);
		json_kv_uint(w, "seq", pkt->esp_seq);
		json_kv_uint(w, "length", pkt->len);
		break;
	case CAP_KEEPALIVE:
		jsonout_frame(w, pkt, "keepalive");
		break;
	case CAP_IP_FRAGMENT:
		jsonout_frame(w, pkt, "ip-fragment");
		json_kv_uint(w, "id", pkt->frag_id);
		json_kv_uint(w, "offset", pkt->frag_offset);
		json_kv_bool(w, "more", pkt->frag_more);
		json_kv_uint(w, "ip_proto", pkt->ip_proto);
		json_kv_uint(w, "length", pkt->len);
		json_kv_bool(w, "reassembled", false);
		break;
	default:
		return;
	}
	json_obj_end(w);
}

void jsonout_undecoded(struct json_writer *w, const struct cap_packet *pkt, const char *layer,
		       const struct ike_hdr *hdr, bool unsupported, const char *why)
{
	jsonout_frame(w, pkt, unsupported ? "unsupported" : "malformed");
	json_kv_str(w, "layer", layer);
	json_kv_str(w, "error", why);
	if (hdr) {
		json_key(w, "header");
		json_obj_begin(w);
		jsonout_hdr(w, hdr);
		json_obj_end(w);
	}
	json_obj_end(w);
}
