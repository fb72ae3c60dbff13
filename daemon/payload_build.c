/*
 * Payload builders (RFC 7296 section 3). Contract: daemon/payload.h.
 *
 * Each builder opens a payload with payload_begin (which chains the
 * previous Next Payload field to it), writes the body through struct wr,
 * and closes it with payload_end (which back-fills Payload Length). Field
 * overflows (a length over 65535, more than 255 proposals) set b->err;
 * buffer overflows set b->w.err. Both are reported by message_build_finish.
 */
#include <stdint.h>
#include <string.h>

#include "daemon/payload.h"

size_t payload_begin(struct ike_builder *b, uint8_t type, bool critical)
{
	if (b->closed) {
		/*
		 * RFC 7296 3.14: SK must be the last payload. Freeze the writer so
		 * the refused payload's body cannot land after the SK body.
		 */
		b->err = true;
		b->w.cap = b->w.len;
		return SIZE_MAX;
	}
	size_t off = wr_mark(&b->w);
	if (b->first == PL_NONE)
		b->first = type;
	if (b->np_off != SIZE_MAX)
		wr_patch_u8(&b->w, b->np_off, type);
	wr_u8(&b->w, PL_NONE);
	wr_u8(&b->w, critical ? IKE_PAYLOAD_CRITICAL : 0);
	wr_u16(&b->w, 0); /* Payload Length, patched by payload_end */
	if (!b->w.err)
		b->np_off = off;
	return off;
}

void payload_end(struct ike_builder *b, size_t hdr_off)
{
	if (hdr_off == SIZE_MAX || b->w.err)
		return;
	size_t len = wr_mark(&b->w) - hdr_off;
	if (len > UINT16_MAX) {
		b->err = true;
		return;
	}
	wr_patch_u16(&b->w, hdr_off + 2, (uint16_t)len);
}

/* Length-bounded helpers: mark b->err when a count does not fit its field. */
static uint8_t fit8(struct ike_builder *b, size_t v)
{
	if (v > UINT8_MAX)
		b->err = true;
	return (uint8_t)v;
}

static uint16_t fit16(struct ike_builder *b, size_t v)
{
	if (v > UINT16_MAX)
		b->err = true;
	return (uint16_t)v;
}

static void put_bytes(struct ike_builder *b, struct ike_bytes x)
{
	if (x.len && !x.ptr) {
		b->err = true;
		return;
	}
	wr_bytes(&b->w, x.ptr, x.len);
}

/* ---- SA (3.3) ---- */

static void build_transform(struct ike_builder *b, const struct ike_transform *t, bool last)
{
	size_t off = wr_mark(&b->w);
	wr_u8(&b->w, last ? IKE_LAST_SUBSTRUC_LAST : IKE_LAST_SUBSTRUC_TRANSFORM);
	wr_u8(&b->w, 0);
	wr_u16(&b->w, 0);
	wr_u8(&b->w, t->type);
	wr_u8(&b->w, 0);
	wr_u16(&b->w, t->id);
	if (t->key_len) {
		wr_u16(&b->w, TRANS_ATTR_TV | TRANS_ATTR_KEY_LENGTH);
		wr_u16(&b->w, t->key_len);
	}
	wr_patch_u16(&b->w, off + 2, fit16(b, wr_mark(&b->w) - off));
}

static void build_proposal(struct ike_builder *b, const struct ike_proposal *p, bool last)
{
	size_t off = wr_mark(&b->w);
	wr_u8(&b->w, last ? IKE_LAST_SUBSTRUC_LAST : IKE_LAST_SUBSTRUC_PROPOSAL);
	wr_u8(&b->w, 0);
	wr_u16(&b->w, 0);
	wr_u8(&b->w, p->num);
	wr_u8(&b->w, p->protocol);
	wr_u8(&b->w, fit8(b, p->spi.len));
	wr_u8(&b->w, fit8(b, p->n_transforms));
	put_bytes(b, p->spi);
	if (p->n_transforms && !p->transforms)
		b->err = true;
	else
		for (uint16_t i = 0; i < p->n_transforms; i++)
			build_transform(b, &p->transforms[i], i + 1 == p->n_transforms);
	wr_patch_u16(&b->w, off + 2, fit16(b, wr_mark(&b->w) - off));
}

void payload_build_sa(struct ike_builder *b, const struct ike_sa *sa)
{
	size_t off = payload_begin(b, PL_SA, false);
	if (sa->n_proposals && !sa->proposals)
		b->err = true;
	else
		for (uint16_t i = 0; i < sa->n_proposals; i++)
			build_proposal(b, &sa->proposals[i], i + 1 == sa->n_proposals);
	payload_end(b, off);
}

/* ---- simple payloads ---- */

void payload_build_ke(struct ike_builder *b, const struct ike_ke *ke)
{
	size_t off = payload_begin(b, PL_KE, false);
	wr_u16(&b->w, ke->group);
	wr_u16(&b->w, 0);
	put_bytes(b, ke->data);
	payload_end(b, off);
}

void payload_build_id(struct ike_builder *b, uint8_t type, const struct ike_id *id)
{
	if (type != PL_IDI && type != PL_IDR)
		b->err = true;
	size_t off = payload_begin(b, type, false);
	wr_u8(&b->w, id->type);
	wr_zeros(&b->w, 3);
	put_bytes(b, id->data);
	payload_end(b, off);
}

void payload_build_cert(struct ike_builder *b, uint8_t type, const struct ike_cert *c)
{
	if (type != PL_CERT && type != PL_CERTREQ)
		b->err = true;
	size_t off = payload_begin(b, type, false);
	wr_u8(&b->w, c->encoding);
	put_bytes(b, c->data);
	payload_end(b, off);
}

void payload_build_auth(struct ike_builder *b, const struct ike_auth *a)
{
	size_t off = payload_begin(b, PL_AUTH, false);
	wr_u8(&b->w, a->method);
	wr_zeros(&b->w, 3);
	put_bytes(b, a->data);
	payload_end(b, off);
}

void payload_build_nonce(struct ike_builder *b, const struct ike_nonce *n)
{
	size_t off = payload_begin(b, PL_NONCE, false);
	put_bytes(b, n->data);
	payload_end(b, off);
}

void payload_build_notify(struct ike_builder *b, const struct ike_notify *n)
{
	size_t off = payload_begin(b, PL_NOTIFY, false);
	wr_u8(&b->w, n->protocol);
	wr_u8(&b->w, fit8(b, n->spi.len));
	wr_u16(&b->w, n->type);
	put_bytes(b, n->spi);
	put_bytes(b, n->data);
	payload_end(b, off);
}

void payload_build_notify_simple(struct ike_builder *b, uint8_t protocol, uint16_t type,
				 const void *spi, size_t spi_len, const void *data, size_t data_len)
{
	struct ike_notify n = {
		.protocol = protocol,
		.type = type,
		.spi = { spi, spi_len },
		.data = { data, data_len },
	};
	payload_build_notify(b, &n);
}

void payload_build_delete(struct ike_builder *b, const struct ike_delete *d)
{
	size_t off = payload_begin(b, PL_DELETE, false);
	wr_u8(&b->w, d->protocol);
	wr_u8(&b->w, d->spi_len);
	wr_u16(&b->w, d->n_spis);
	if ((size_t)d->n_spis * d->spi_len != d->spis.len)
		b->err = true;
	put_bytes(b, d->spis);
	payload_end(b, off);
}

void payload_build_vendor(struct ike_builder *b, const struct ike_vendor *v)
{
	size_t off = payload_begin(b, PL_VENDOR, false);
	put_bytes(b, v->data);
	payload_end(b, off);
}

/* ---- TS (3.13) ---- */

void payload_build_ts(struct ike_builder *b, uint8_t type, const struct ike_ts_list *ts)
{
	if (type != PL_TSI && type != PL_TSR)
		b->err = true;
	size_t off = payload_begin(b, type, false);
	wr_u8(&b->w, ts->n);
	wr_zeros(&b->w, 3);
	if (ts->n && !ts->ts)
		b->err = true;
	else
		for (unsigned i = 0; i < ts->n; i++) {
			const struct ike_ts *t = &ts->ts[i];
			size_t alen = payload_ts_addr_len(t->type);
			if (alen == 0) {
				b->err = true; /* cannot encode other TS types */
				break;
			}
			wr_u8(&b->w, t->type);
			wr_u8(&b->w, t->ip_proto);
			wr_u16(&b->w, (uint16_t)(8 + 2 * alen));
			wr_u16(&b->w, t->start_port);
			wr_u16(&b->w, t->end_port);
			wr_bytes(&b->w, t->start, alen);
			wr_bytes(&b->w, t->end, alen);
		}
	payload_end(b, off);
}

/* ---- CP (3.15), EAP (3.16) ---- */

void payload_build_cp(struct ike_builder *b, const struct ike_cp *cp)
{
	size_t off = payload_begin(b, PL_CP, false);
	wr_u8(&b->w, cp->type);
	wr_zeros(&b->w, 3);
	if (cp->n_attrs && !cp->attrs)
		b->err = true;
	else
		for (uint16_t i = 0; i < cp->n_attrs; i++) {
			const struct ike_cp_attr *a = &cp->attrs[i];
			if (a->type > CFG_ATTR_TYPE_MASK)
				b->err = true;
			wr_u16(&b->w, a->type & CFG_ATTR_TYPE_MASK);
			wr_u16(&b->w, fit16(b, a->value.len));
			put_bytes(b, a->value);
		}
	payload_end(b, off);
}

void payload_build_eap(struct ike_builder *b, const struct ike_eap *e)
{
	size_t off = payload_begin(b, PL_EAP, false);
	bool typed = e->code == EAP_CODE_REQUEST || e->code == EAP_CODE_RESPONSE;
	wr_u8(&b->w, e->code);
	wr_u8(&b->w, e->id);
	wr_u16(&b->w, fit16(b, 4 + (typed ? 1 : 0) + e->data.len));
	if (typed)
		wr_u8(&b->w, e->type);
	put_bytes(b, e->data);
	payload_end(b, off);
}

void payload_build_raw(struct ike_builder *b, uint8_t type, bool critical, const void *body,
		       size_t len)
{
	size_t off = payload_begin(b, type, critical);
	put_bytes(b, (struct ike_bytes){ body, len });
	payload_end(b, off);
}

void payload_build(struct ike_builder *b, const struct ike_payload *p)
{
	if (!p->known) {
		payload_build_raw(b, p->type, p->critical, p->body.ptr, p->body.len);
		return;
	}
	switch (p->type) {
	case PL_SA: payload_build_sa(b, &p->u.sa); break;
	case PL_KE: payload_build_ke(b, &p->u.ke); break;
	case PL_IDI:
	case PL_IDR: payload_build_id(b, p->type, &p->u.id); break;
	case PL_CERT:
	case PL_CERTREQ: payload_build_cert(b, p->type, &p->u.cert); break;
	case PL_AUTH: payload_build_auth(b, &p->u.auth); break;
	case PL_NONCE: payload_build_nonce(b, &p->u.nonce); break;
	case PL_NOTIFY: payload_build_notify(b, &p->u.notify); break;
	case PL_DELETE: payload_build_delete(b, &p->u.del); break;
	case PL_VENDOR: payload_build_vendor(b, &p->u.vendor); break;
	case PL_TSI:
	case PL_TSR: payload_build_ts(b, p->type, &p->u.ts); break;
	case PL_CP: payload_build_cp(b, &p->u.cp); break;
	case PL_EAP: payload_build_eap(b, &p->u.eap); break;
	default:
		b->err = true; /* SK/SKF: message_build_sk/_skf */
		break;
	}
}
