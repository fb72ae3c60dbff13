/*
 * Payload body parsers (RFC 7296 section 3, RFC 7383 2.5, RFC 7427 3).
 * Contract and struct layouts: daemon/payload.h.
 *
 * Every read goes through struct rd (daemon/cursor.h). Every failure
 * writes a reason naming the payload, the field, what was got and what was
 * needed (design.md rule 7).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "daemon/payload.h"

const char *payload_status_name(enum payload_status s)
{
	switch (s) {
	case PAYLOAD_OK: return "OK";
	case PAYLOAD_TRUNCATED: return "TRUNCATED";
	case PAYLOAD_BAD_LENGTH: return "BAD_LENGTH";
	case PAYLOAD_BAD_VALUE: return "BAD_VALUE";
	case PAYLOAD_TOO_MANY: return "TOO_MANY";
	case PAYLOAD_BAD_MAJOR: return "BAD_MAJOR";
	case PAYLOAD_BAD_CHAIN: return "BAD_CHAIN";
	}
	return "UNKNOWN_STATUS";
}

enum payload_status payload_fail(struct payload_err *err, enum payload_status st, uint8_t type,
				 const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->status = st;
		err->payload = type;
		va_start(ap, fmt);
		vsnprintf(err->why, sizeof(err->why), fmt, ap);
		va_end(ap);
	}
	return st;
}

bool payload_type_known(uint8_t type)
{
	return (type >= PL_SA && type <= PL_EAP) || type == PL_SKF;
}

size_t payload_ts_addr_len(uint8_t ts_type)
{
	switch (ts_type) {
	case TS_IPV4_ADDR_RANGE: return 4;
	case TS_IPV6_ADDR_RANGE: return 16;
	}
	return 0;
}

uint32_t payload_delete_spi32(const struct ike_delete *d, uint16_t i)
{
	if (d->spi_len != 4 || i >= d->n_spis || (size_t)(i + 1) * 4 > d->spis.len)
		return 0;
	struct rd r = rd_init(d->spis.ptr + (size_t)i * 4, 4);
	uint32_t v = 0;
	rd_u32(&r, &v);
	return v;
}

/* ---- SA (RFC 7296 3.3) ---- */

/* 3.3.5: attributes; only Key Length is understood, the rest are counted. */
static enum payload_status parse_attrs(struct rd a, unsigned pnum, unsigned tnum,
				       struct ike_transform *t, struct payload_err *err)
{
	while (rd_left(&a) > 0) {
		uint16_t af_type, lv;
		size_t avail = rd_left(&a);
		if (!rd_u16(&a, &af_type) || !rd_u16(&a, &lv))
			return payload_fail(err, PAYLOAD_TRUNCATED, PL_SA,
					    "SA: proposal %u transform %u: attribute header truncated "
					    "(%zu octets left, needs 4)",
					    pnum, tnum, avail);
		uint16_t atype = af_type & (uint16_t)~TRANS_ATTR_TV;
		if (af_type & TRANS_ATTR_TV) {
			if (atype == TRANS_ATTR_KEY_LENGTH && t->key_len == 0 && lv != 0)
				t->key_len = lv;
			else if (t->unknown_attrs < UINT8_MAX)
				t->unknown_attrs++;
		} else {
			if (!rd_skip(&a, lv))
				return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
						    "SA: proposal %u transform %u: attribute %u length "
						    "%u overruns transform (%zu octets left)",
						    pnum, tnum, atype, lv, rd_left(&a));
			/* Key Length must be TV (3.3.5); TLV form is not understood. */
			if (t->unknown_attrs < UINT8_MAX)
				t->unknown_attrs++;
		}
	}
	return PAYLOAD_OK;
}

static enum payload_status parse_proposal(struct rd pr, unsigned idx, struct payload_pool *pool,
					  struct ike_proposal *p, struct payload_err *err)
{
	uint8_t spi_size, n_trans;
	const uint8_t *spi;

	if (!rd_u8(&pr, &p->num) || !rd_u8(&pr, &p->protocol) || !rd_u8(&pr, &spi_size) ||
	    !rd_u8(&pr, &n_trans))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_SA,
				    "SA: proposal %u: header truncated", idx);
	if (!rd_bytes(&pr, spi_size, &spi))
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
				    "SA: proposal %u: SPI size %u overruns proposal (%zu octets left)",
				    p->num, spi_size, rd_left(&pr));
	/* 3.3.1: IKE SPI size 0 (IKE_SA_INIT) or 8 (rekey); AH/ESP 4. */
	if ((p->protocol == PROTO_IKE && spi_size != 0 && spi_size != IKE_SPI_LEN) ||
	    ((p->protocol == PROTO_AH || p->protocol == PROTO_ESP) && spi_size != 4))
		return payload_fail(err, PAYLOAD_BAD_VALUE, PL_SA,
				    "SA: proposal %u: protocol %u with SPI size %u, needs %s",
				    p->num, p->protocol, spi_size,
				    p->protocol == PROTO_IKE ? "0 or 8" : "4");
	p->spi.ptr = spi;
	p->spi.len = spi_size;
	if (n_trans > IKE_TRANSFORMS_MAX)
		return payload_fail(err, PAYLOAD_TOO_MANY, PL_SA,
				    "SA: proposal %u: %u transforms, limit %d", p->num, n_trans,
				    IKE_TRANSFORMS_MAX);

	struct ike_transform *first = &pool->transforms[pool->n_transforms];
	unsigned count = 0;
	uint8_t last = IKE_LAST_SUBSTRUC_TRANSFORM;
	while (rd_left(&pr) > 0) {
		uint8_t res, ttype, res2;
		uint16_t tlen, tid;
		struct rd tr;

		if (last != IKE_LAST_SUBSTRUC_TRANSFORM)
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
					    "SA: proposal %u: %zu octets after the transform "
					    "marked last (%u)",
					    p->num, rd_left(&pr), count);
		size_t avail = rd_left(&pr);
		if (!rd_u8(&pr, &last) || !rd_u8(&pr, &res) || !rd_u16(&pr, &tlen))
			return payload_fail(err, PAYLOAD_TRUNCATED, PL_SA,
					    "SA: proposal %u transform %u: header truncated "
					    "(%zu octets left, needs 8)",
					    p->num, count + 1, avail);
		if (tlen < 8)
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
					    "SA: proposal %u transform %u: length %u, needs >= 8",
					    p->num, count + 1, tlen);
		if (!rd_sub(&pr, tlen - 4u, &tr))
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
					    "SA: proposal %u transform %u: length %u overruns "
					    "proposal (%zu octets left)",
					    p->num, count + 1, tlen, rd_left(&pr) + 4);
		if (last != IKE_LAST_SUBSTRUC_LAST && last != IKE_LAST_SUBSTRUC_TRANSFORM)
			return payload_fail(err, PAYLOAD_BAD_VALUE, PL_SA,
					    "SA: proposal %u transform %u: Last Substruc %u, "
					    "needs 0 or 3",
					    p->num, count + 1, last);
		if (count >= n_trans)
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
					    "SA: proposal %u: more transforms than Num Transforms %u",
					    p->num, n_trans);
		if (pool->n_transforms >= IKE_MSG_TRANSFORMS_MAX)
			return payload_fail(err, PAYLOAD_TOO_MANY, PL_SA,
					    "SA: more than %d transforms in the message",
					    IKE_MSG_TRANSFORMS_MAX);
		struct ike_transform *t = &pool->transforms[pool->n_transforms];
		memset(t, 0, sizeof(*t));
		if (!rd_u8(&tr, &ttype) || !rd_u8(&tr, &res2) || !rd_u16(&tr, &tid))
			return payload_fail(err, PAYLOAD_TRUNCATED, PL_SA,
					    "SA: proposal %u transform %u: truncated", p->num,
					    count + 1);
		t->type = ttype;
		t->id = tid;
		enum payload_status st = parse_attrs(tr, p->num, count + 1, t, err);
		if (st != PAYLOAD_OK)
			return st;
		pool->n_transforms++;
		count++;
	}
	if (count != n_trans)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
				    "SA: proposal %u: Num Transforms %u, found %u", p->num, n_trans,
				    count);
	if (count > 0 && last != IKE_LAST_SUBSTRUC_LAST)
		return payload_fail(err, PAYLOAD_BAD_VALUE, PL_SA,
				    "SA: proposal %u: last transform has Last Substruc %u, needs 0",
				    p->num, last);
	p->n_transforms = (uint16_t)count;
	p->transforms = count ? first : NULL;
	return PAYLOAD_OK;
}

enum payload_status payload_parse_sa(struct rd body, struct payload_pool *pool, struct ike_sa *out,
				     struct payload_err *err)
{
	struct ike_proposal *first = &pool->proposals[pool->n_proposals];
	unsigned count = 0;
	uint8_t last = IKE_LAST_SUBSTRUC_PROPOSAL;

	if (rd_left(&body) == 0)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
				    "SA: empty body, needs at least one proposal");
	while (rd_left(&body) > 0) {
		uint8_t res;
		uint16_t plen;
		struct rd pr;

		if (last != IKE_LAST_SUBSTRUC_PROPOSAL)
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
					    "SA: %zu octets after proposal %u marked last",
					    rd_left(&body), count);
		size_t avail = rd_left(&body);
		if (!rd_u8(&body, &last) || !rd_u8(&body, &res) || !rd_u16(&body, &plen))
			return payload_fail(err, PAYLOAD_TRUNCATED, PL_SA,
					    "SA: proposal %u header truncated (%zu octets left, "
					    "needs 8)",
					    count + 1, avail);
		if (plen < 8)
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
					    "SA: proposal %u length %u, needs >= 8", count + 1, plen);
		if (!rd_sub(&body, plen - 4u, &pr))
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_SA,
					    "SA: proposal %u length %u overruns SA body "
					    "(%zu octets left)",
					    count + 1, plen, rd_left(&body) + 4);
		if (last != IKE_LAST_SUBSTRUC_LAST && last != IKE_LAST_SUBSTRUC_PROPOSAL)
			return payload_fail(err, PAYLOAD_BAD_VALUE, PL_SA,
					    "SA: proposal %u: Last Substruc %u, needs 0 or 2",
					    count + 1, last);
		if (count >= IKE_PROPOSALS_MAX)
			return payload_fail(err, PAYLOAD_TOO_MANY, PL_SA,
					    "SA: more than %d proposals", IKE_PROPOSALS_MAX);
		if (pool->n_proposals >= IKE_MSG_PROPOSALS_MAX)
			return payload_fail(err, PAYLOAD_TOO_MANY, PL_SA,
					    "SA: more than %d proposals in the message",
					    IKE_MSG_PROPOSALS_MAX);
		struct ike_proposal *p = &pool->proposals[pool->n_proposals];
		memset(p, 0, sizeof(*p));
		enum payload_status st = parse_proposal(pr, count + 1, pool, p, err);
		if (st != PAYLOAD_OK)
			return st;
		pool->n_proposals++;
		count++;
	}
	if (last != IKE_LAST_SUBSTRUC_LAST)
		return payload_fail(err, PAYLOAD_BAD_VALUE, PL_SA,
				    "SA: last proposal (%u) has Last Substruc %u, needs 0", count,
				    last);
	out->n_proposals = (uint16_t)count;
	out->proposals = first;
	return PAYLOAD_OK;
}

/* ---- simple payloads ---- */

enum payload_status payload_parse_ke(struct rd body, struct ike_ke *out, struct payload_err *err)
{
	uint16_t res;
	size_t got = rd_left(&body);
	if (!rd_u16(&body, &out->group) || !rd_u16(&body, &res))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_KE,
				    "KE: body %zu octets, needs >= 4", got);
	out->data.len = rd_left(&body);
	rd_bytes(&body, out->data.len, &out->data.ptr);
	return PAYLOAD_OK;
}

enum payload_status payload_parse_id(struct rd body, struct ike_id *out, struct payload_err *err)
{
	size_t got = rd_left(&body);
	if (!rd_u8(&body, &out->type) || !rd_skip(&body, 3))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_IDI, "ID: body %zu octets, needs >= 4",
				    got);
	out->data.len = rd_left(&body);
	rd_bytes(&body, out->data.len, &out->data.ptr);
	/* 3.5: address IDs have fixed sizes. */
	size_t need = out->type == ID_IPV4_ADDR ? 4 : out->type == ID_IPV6_ADDR ? 16 : 0;
	if (need && out->data.len != need)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_IDI,
				    "ID: type %u data %zu octets, needs %zu", out->type,
				    out->data.len, need);
	return PAYLOAD_OK;
}

enum payload_status payload_parse_cert(struct rd body, struct ike_cert *out,
				       struct payload_err *err)
{
	if (!rd_u8(&body, &out->encoding))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_CERT,
				    "CERT: empty body, needs >= 1 (encoding)");
	out->data.len = rd_left(&body);
	rd_bytes(&body, out->data.len, &out->data.ptr);
	return PAYLOAD_OK;
}

enum payload_status payload_parse_auth(struct rd body, struct ike_auth *out,
				       struct payload_err *err)
{
	size_t got = rd_left(&body);
	memset(out, 0, sizeof(*out));
	if (!rd_u8(&body, &out->method) || !rd_skip(&body, 3))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_AUTH,
				    "AUTH: body %zu octets, needs >= 4", got);
	out->data.len = rd_left(&body);
	rd_bytes(&body, out->data.len, &out->data.ptr);
	if (out->method == AUTH_DIGITAL_SIGNATURE) {
		/* RFC 7427 3: 1-octet ASN.1 length, AlgorithmIdentifier, signature. */
		struct rd d = rd_init(out->data.ptr, out->data.len);
		uint8_t alen;
		if (!rd_u8(&d, &alen) || alen == 0 || !rd_bytes(&d, alen, &out->sig_alg.ptr))
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_AUTH,
					    "AUTH: RFC 7427 AlgorithmIdentifier length %u, needs "
					    "1..%zu",
					    out->data.len ? out->data.ptr[0] : 0,
					    out->data.len ? out->data.len - 1 : 0);
		out->sig_alg.len = alen;
		out->sig.len = rd_left(&d);
		rd_bytes(&d, out->sig.len, &out->sig.ptr);
	}
	return PAYLOAD_OK;
}

enum payload_status payload_parse_nonce(struct rd body, struct ike_nonce *out,
					struct payload_err *err)
{
	size_t n = rd_left(&body);
	if (n < IKE_NONCE_MIN || n > IKE_NONCE_MAX)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_NONCE,
				    "Nonce: data length %zu, needs %d..%d", n, IKE_NONCE_MIN,
				    IKE_NONCE_MAX);
	out->data.len = n;
	rd_bytes(&body, n, &out->data.ptr);
	return PAYLOAD_OK;
}

enum payload_status payload_parse_notify(struct rd body, struct ike_notify *out,
					 struct payload_err *err)
{
	uint8_t spi_size;
	size_t got = rd_left(&body);
	if (!rd_u8(&body, &out->protocol) || !rd_u8(&body, &spi_size) ||
	    !rd_u16(&body, &out->type))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_NOTIFY,
				    "N: body %zu octets, needs >= 4", got);
	if (!rd_bytes(&body, spi_size, &out->spi.ptr))
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_NOTIFY,
				    "N(%u): SPI size %u overruns body (%zu octets left)", out->type,
				    spi_size, rd_left(&body));
	out->spi.len = spi_size;
	out->data.len = rd_left(&body);
	rd_bytes(&body, out->data.len, &out->data.ptr);
	return PAYLOAD_OK;
}

enum payload_status payload_parse_delete(struct rd body, struct ike_delete *out,
					 struct payload_err *err)
{
	size_t got = rd_left(&body);
	if (!rd_u8(&body, &out->protocol) || !rd_u8(&body, &out->spi_len) ||
	    !rd_u16(&body, &out->n_spis))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_DELETE,
				    "D: body %zu octets, needs >= 4", got);
	/* 3.11: IKE SA deletes carry no SPI; AH/ESP SPIs are 4 octets. */
	if (out->protocol == PROTO_IKE && (out->spi_len != 0 || out->n_spis != 0))
		return payload_fail(err, PAYLOAD_BAD_VALUE, PL_DELETE,
				    "D: IKE with SPI size %u and %u SPIs, needs 0 and 0",
				    out->spi_len, out->n_spis);
	if ((out->protocol == PROTO_AH || out->protocol == PROTO_ESP) && out->spi_len != 4)
		return payload_fail(err, PAYLOAD_BAD_VALUE, PL_DELETE,
				    "D: protocol %u with SPI size %u, needs 4", out->protocol,
				    out->spi_len);
	if (out->n_spis > IKE_DELETE_SPIS_MAX)
		return payload_fail(err, PAYLOAD_TOO_MANY, PL_DELETE, "D: %u SPIs, limit %d",
				    out->n_spis, IKE_DELETE_SPIS_MAX);
	size_t need = (size_t)out->n_spis * out->spi_len;
	if (rd_left(&body) != need)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_DELETE,
				    "D: %u SPIs of %u octets need %zu octets, got %zu", out->n_spis,
				    out->spi_len, need, rd_left(&body));
	out->spis.len = need;
	rd_bytes(&body, need, &out->spis.ptr);
	return PAYLOAD_OK;
}

/* ---- TS (RFC 7296 3.13) ---- */

enum payload_status payload_parse_ts(struct rd body, struct payload_pool *pool,
				     struct ike_ts_list *out, struct payload_err *err)
{
	uint8_t n;
	size_t got = rd_left(&body);
	if (!rd_u8(&body, &n) || !rd_skip(&body, 3))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_TSI, "TS: body %zu octets, needs >= 4",
				    got);
	if (n == 0)
		return payload_fail(err, PAYLOAD_BAD_VALUE, PL_TSI,
				    "TS: Number of TSs 0, needs >= 1");
	if (n > IKE_TS_MAX)
		return payload_fail(err, PAYLOAD_TOO_MANY, PL_TSI, "TS: %u selectors, limit %d", n,
				    IKE_TS_MAX);
	if (pool->n_ts + n > IKE_MSG_TS_MAX)
		return payload_fail(err, PAYLOAD_TOO_MANY, PL_TSI,
				    "TS: %u selectors with %u already in the message, limit %d", n,
				    pool->n_ts, IKE_MSG_TS_MAX);
	struct ike_ts *first = &pool->ts[pool->n_ts];
	for (unsigned i = 0; i < n; i++) {
		struct ike_ts *t = &first[i];
		uint16_t slen;
		struct rd s;
		size_t avail = rd_left(&body);
		memset(t, 0, sizeof(*t));
		if (!rd_u8(&body, &t->type) || !rd_u8(&body, &t->ip_proto) || !rd_u16(&body, &slen))
			return payload_fail(err, PAYLOAD_TRUNCATED, PL_TSI,
					    "TS: selector %u of %u truncated (%zu octets left, "
					    "needs >= 4)",
					    i + 1, n, avail);
		if (slen < 4 || !rd_sub(&body, slen - 4u, &s))
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_TSI,
					    "TS: selector %u length %u, needs 4..%zu", i + 1, slen,
					    rd_left(&body) + 4);
		size_t alen = payload_ts_addr_len(t->type);
		if (alen == 0) /* other TS types: kept by type only (payload.h) */
			continue;
		if (slen != 8 + 2 * alen)
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_TSI,
					    "TS: selector %u type %u length %u, needs %zu", i + 1,
					    t->type, slen, 8 + 2 * alen);
		rd_u16(&s, &t->start_port);
		rd_u16(&s, &t->end_port);
		rd_copy(&s, t->start, alen);
		rd_copy(&s, t->end, alen);
		bool opaque = t->start_port == IKE_TS_PORT_OPAQUE_START &&
			      t->end_port == IKE_TS_PORT_OPAQUE_END;
		if (t->start_port > t->end_port && !opaque)
			return payload_fail(err, PAYLOAD_BAD_VALUE, PL_TSI,
					    "TS: selector %u start port %u > end port %u", i + 1,
					    t->start_port, t->end_port);
		if (memcmp(t->start, t->end, alen) > 0)
			return payload_fail(err, PAYLOAD_BAD_VALUE, PL_TSI,
					    "TS: selector %u start address > end address", i + 1);
	}
	if (rd_left(&body) != 0)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_TSI,
				    "TS: %zu octets after %u selectors, needs 0", rd_left(&body), n);
	pool->n_ts = (uint16_t)(pool->n_ts + n);
	out->n = n;
	out->ts = first;
	return PAYLOAD_OK;
}

/* ---- CP (RFC 7296 3.15) ---- */

/* Allowed value lengths; a zero-length value is a request (3.15.1). */
static bool cp_len_ok(uint16_t type, uint16_t len, const char **need)
{
	switch (type) {
	case CFG_INTERNAL_IP4_ADDRESS:
	case CFG_INTERNAL_IP4_NETMASK:
	case CFG_INTERNAL_IP4_DNS:
	case CFG_INTERNAL_IP4_NBNS:
	case CFG_INTERNAL_IP4_DHCP:
	case CFG_P_CSCF_IP4_ADDRESS:
		*need = "0 or 4";
		return len == 0 || len == 4;
	case CFG_INTERNAL_IP6_ADDRESS:
	case CFG_INTERNAL_IP6_SUBNET: /* 3.15.1 lists 17; 0 accepted as a request */
		*need = "0 or 17";
		return len == 0 || len == 17;
	case CFG_INTERNAL_IP6_DNS:
	case CFG_INTERNAL_IP6_DHCP:
	case CFG_P_CSCF_IP6_ADDRESS:
		*need = "0 or 16";
		return len == 0 || len == 16;
	case CFG_INTERNAL_IP4_SUBNET:
		*need = "0 or 8";
		return len == 0 || len == 8;
	case CFG_SUPPORTED_ATTRIBUTES:
		*need = "a multiple of 2";
		return len % 2 == 0;
	}
	return true;
}

enum payload_status payload_parse_cp(struct rd body, struct payload_pool *pool, struct ike_cp *out,
				     struct payload_err *err)
{
	size_t got = rd_left(&body);
	if (!rd_u8(&body, &out->type) || !rd_skip(&body, 3))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_CP, "CP: body %zu octets, needs >= 4",
				    got);
	struct ike_cp_attr *first = &pool->cp_attrs[pool->n_cp_attrs];
	unsigned count = 0;
	while (rd_left(&body) > 0) {
		uint16_t type, len;
		const char *need = "";
		size_t avail = rd_left(&body);
		if (!rd_u16(&body, &type) || !rd_u16(&body, &len))
			return payload_fail(err, PAYLOAD_TRUNCATED, PL_CP,
					    "CP: attribute %u header truncated (%zu octets left, "
					    "needs 4)",
					    count + 1, avail);
		type &= CFG_ATTR_TYPE_MASK;
		if (count >= IKE_CP_ATTRS_MAX)
			return payload_fail(err, PAYLOAD_TOO_MANY, PL_CP, "CP: more than %d attributes",
					    IKE_CP_ATTRS_MAX);
		if (pool->n_cp_attrs >= IKE_MSG_CP_ATTRS_MAX)
			return payload_fail(err, PAYLOAD_TOO_MANY, PL_CP,
					    "CP: more than %d attributes in the message",
					    IKE_MSG_CP_ATTRS_MAX);
		struct ike_cp_attr *a = &pool->cp_attrs[pool->n_cp_attrs];
		a->type = type;
		a->value.len = len;
		if (!rd_bytes(&body, len, &a->value.ptr))
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_CP,
					    "CP: attribute %u length %u overruns body (%zu octets "
					    "left)",
					    type, len, rd_left(&body));
		if (!cp_len_ok(type, len, &need))
			return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_CP,
					    "CP: attribute %u length %u, needs %s", type, len, need);
		pool->n_cp_attrs++;
		count++;
	}
	out->n_attrs = (uint16_t)count;
	out->attrs = count ? first : NULL;
	return PAYLOAD_OK;
}

/* ---- EAP (RFC 7296 3.16, RFC 3748 4) ---- */

enum payload_status payload_parse_eap(struct rd body, struct ike_eap *out,
				      struct payload_err *err)
{
	uint16_t len;
	size_t got = rd_left(&body);
	memset(out, 0, sizeof(*out));
	if (!rd_u8(&body, &out->code) || !rd_u8(&body, &out->id) || !rd_u16(&body, &len))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_EAP,
				    "EAP: body %zu octets, needs >= 4", got);
	if (len != got)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_EAP,
				    "EAP: Length %u, payload body has %zu", len, got);
	if (out->code == EAP_CODE_REQUEST || out->code == EAP_CODE_RESPONSE) {
		if (!rd_u8(&body, &out->type))
			return payload_fail(err, PAYLOAD_TRUNCATED, PL_EAP,
					    "EAP: code %u with Length 4, needs >= 5 (Type)",
					    out->code);
	} else if ((out->code == EAP_CODE_SUCCESS || out->code == EAP_CODE_FAILURE) && len != 4) {
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_EAP,
				    "EAP: code %u with Length %u, needs 4", out->code, len);
	}
	out->data.len = rd_left(&body);
	rd_bytes(&body, out->data.len, &out->data.ptr);
	return PAYLOAD_OK;
}

/* ---- SK, SKF (RFC 7296 3.14, RFC 7383 2.5) ---- */

enum payload_status payload_parse_sk(struct rd body, uint32_t body_start_off, uint8_t first_inner,
				     struct ike_sk *out, struct payload_err *err)
{
	(void)err;
	out->first_inner = first_inner;
	out->hdr_off = body_start_off - IKE_GENERIC_HDR_LEN;
	out->body_off = body_start_off;
	out->body_len = (uint32_t)rd_left(&body);
	return PAYLOAD_OK;
}

enum payload_status payload_parse_skf(struct rd body, uint32_t body_start_off,
				      uint8_t first_inner, struct ike_skf *out,
				      struct payload_err *err)
{
	size_t got = rd_left(&body);
	if (!rd_u16(&body, &out->frag_num) || !rd_u16(&body, &out->total))
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_SKF,
				    "SKF: body %zu octets, needs >= 4", got);
	if (out->frag_num == 0 || out->total == 0 || out->frag_num > out->total)
		return payload_fail(err, PAYLOAD_BAD_VALUE, PL_SKF,
				    "SKF: Fragment Number %u of Total Fragments %u, needs "
				    "1 <= number <= total",
				    out->frag_num, out->total);
	out->first_inner = first_inner;
	out->hdr_off = body_start_off - IKE_GENERIC_HDR_LEN;
	out->body_off = body_start_off + 4;
	out->body_len = (uint32_t)rd_left(&body);
	return PAYLOAD_OK;
}

/* ---- dispatch ---- */

enum payload_status payload_parse_body(uint8_t type, uint8_t next_payload, struct rd body,
				       const uint8_t *base, struct payload_pool *pool,
				       struct ike_payload *p, struct payload_err *err)
{
	enum payload_status st = PAYLOAD_OK;

	memset(&p->u, 0, sizeof(p->u));
	p->known = false;
	switch (type) {
	case PL_SA: st = payload_parse_sa(body, pool, &p->u.sa, err); break;
	case PL_KE: st = payload_parse_ke(body, &p->u.ke, err); break;
	case PL_IDI:
	case PL_IDR: st = payload_parse_id(body, &p->u.id, err); break;
	case PL_CERT:
	case PL_CERTREQ: st = payload_parse_cert(body, &p->u.cert, err); break;
	case PL_AUTH: st = payload_parse_auth(body, &p->u.auth, err); break;
	case PL_NONCE: st = payload_parse_nonce(body, &p->u.nonce, err); break;
	case PL_NOTIFY: st = payload_parse_notify(body, &p->u.notify, err); break;
	case PL_DELETE: st = payload_parse_delete(body, &p->u.del, err); break;
	case PL_VENDOR:
		p->u.vendor.data.len = rd_left(&body);
		rd_bytes(&body, p->u.vendor.data.len, &p->u.vendor.data.ptr);
		break;
	case PL_TSI:
	case PL_TSR: st = payload_parse_ts(body, pool, &p->u.ts, err); break;
	case PL_CP: st = payload_parse_cp(body, pool, &p->u.cp, err); break;
	case PL_EAP: st = payload_parse_eap(body, &p->u.eap, err); break;
	case PL_SK:
	case PL_SKF: {
		if (!base || body.p < base)
			return payload_fail(err, PAYLOAD_BAD_CHAIN, type,
					    "%s: no base buffer for offsets",
					    type == PL_SK ? "SK" : "SKF");
		uint32_t off = (uint32_t)(body.p - base);
		st = type == PL_SK ? payload_parse_sk(body, off, next_payload, &p->u.sk, err)
				   : payload_parse_skf(body, off, next_payload, &p->u.skf, err);
		break;
	}
	default:
		return PAYLOAD_OK;
	}
	if (st == PAYLOAD_OK)
		p->known = true;
	else if (err)
		err->payload = type; /* the ID/CERT/TS parsers name one of a pair */
	return st;
}
