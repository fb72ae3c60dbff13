/*
 * IKEv2 message header and payload chain (RFC 7296 3.1, 3.2, 3.14; RFC
 * 7383 2.5). Contract: daemon/message.h.
 */
#include <errno.h>
#include <string.h>

#include "daemon/message.h"
#include "daemon/names.h"

/* RFC 7296 3.1: offsets of the header fields the builder patches. */
#define HDR_OFF_NEXT_PAYLOAD 16
#define HDR_OFF_LENGTH 24

enum payload_status message_parse_header(const uint8_t *buf, size_t len, struct ike_hdr *hdr,
					 struct payload_err *err)
{
	struct rd r = rd_init(buf, len);
	uint8_t ver = 0;

	if (err) {
		err->offset = 0;
		err->why[0] = '\0';
	}
	if (len < IKE_HDR_LEN)
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_NONE,
				    "header: datagram %zu octets, needs >= %d", len, IKE_HDR_LEN);
	rd_u64(&r, &hdr->spi_i);
	rd_u64(&r, &hdr->spi_r);
	rd_u8(&r, &hdr->next_payload);
	rd_u8(&r, &ver);
	rd_u8(&r, &hdr->exchange);
	rd_u8(&r, &hdr->flags);
	rd_u32(&r, &hdr->msg_id);
	rd_u32(&r, &hdr->length);
	hdr->major = ver >> 4;
	hdr->minor = ver & 0x0f;
	/* RFC 7296 2.5: a different major version is answered, not parsed. */
	if (hdr->major != IKE_VERSION_MAJOR)
		return payload_fail(err, PAYLOAD_BAD_MAJOR, PL_NONE,
				    "header: major version %u, needs %d", hdr->major,
				    IKE_VERSION_MAJOR);
	if (hdr->length < IKE_HDR_LEN)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_NONE,
				    "header: Length %u, needs >= %d", hdr->length, IKE_HDR_LEN);
	if (hdr->length > len)
		return payload_fail(err, PAYLOAD_TRUNCATED, PL_NONE,
				    "header: Length %u, datagram has only %zu octets", hdr->length,
				    len);
	if (hdr->length > IKE_MSG_MAX)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, PL_NONE,
				    "header: Length %u, limit %d", hdr->length, IKE_MSG_MAX);
	return PAYLOAD_OK;
}

/*
 * Walk a payload chain from `type` over r (which lies in base). SK/SKF
 * ends an outer chain; inside SK they are errors. Unknown payload types are
 * skipped by their length and recorded (RFC 7296 2.5).
 */
static enum payload_status parse_chain(struct ike_msg *m, uint8_t type, struct rd r,
				       const uint8_t *base, bool in_sk, struct payload_err *err)
{
	struct names_buf nb;

	while (type != PL_NONE) {
		uint32_t off = (uint32_t)(r.p - base);
		uint8_t next, flags;
		uint16_t plen;
		struct rd body;

		if (err)
			err->offset = off;
		size_t avail = rd_left(&r);
		if (!rd_u8(&r, &next) || !rd_u8(&r, &flags) || !rd_u16(&r, &plen))
			return payload_fail(err, PAYLOAD_TRUNCATED, type,
					    "%s at offset %u: generic header truncated "
					    "(%zu octets left, needs 4)",
					    names_payload(type, &nb), off, avail);
		if (plen < IKE_GENERIC_HDR_LEN)
			return payload_fail(err, PAYLOAD_BAD_LENGTH, type,
					    "%s at offset %u: Payload Length %u, needs >= 4",
					    names_payload(type, &nb), off, plen);
		if (!rd_sub(&r, plen - IKE_GENERIC_HDR_LEN, &body))
			return payload_fail(err, PAYLOAD_BAD_LENGTH, type,
					    "%s at offset %u: Payload Length %u overruns the %s "
					    "(%zu octets left)",
					    names_payload(type, &nb), off, plen,
					    in_sk ? "plaintext" : "message",
					    rd_left(&r) + IKE_GENERIC_HDR_LEN);
		if (m->n_payloads >= IKE_PAYLOADS_MAX)
			return payload_fail(err, PAYLOAD_TOO_MANY, type,
					    "more than %d payloads in the message",
					    IKE_PAYLOADS_MAX);
		bool is_sk = type == PL_SK || type == PL_SKF;
		if (in_sk && is_sk)
			return payload_fail(err, PAYLOAD_BAD_CHAIN, type,
					    "%s at offset %u inside an encrypted payload",
					    names_payload(type, &nb), off);

		struct ike_payload *p = &m->payloads[m->n_payloads];
		p->type = type;
		p->critical = (flags & IKE_PAYLOAD_CRITICAL) != 0;
		p->in_sk = in_sk;
		p->off = off;
		p->body.ptr = body.p;
		p->body.len = body.left;
		if (payload_type_known(type)) {
			enum payload_status st =
				payload_parse_body(type, next, body, base, &m->pool, p, err);
			if (st != PAYLOAD_OK) {
				if (err)
					err->offset = off;
				return st;
			}
		} else {
			p->known = false;
			memset(&p->u, 0, sizeof(p->u));
			if (m->n_unknown < UINT16_MAX)
				m->n_unknown++;
			if (p->critical && m->unknown_critical == PL_NONE)
				m->unknown_critical = type;
		}
		m->n_payloads++;
		if (is_sk) {
			/*
			 * RFC 7296 3.14: SK is the last payload; its Next Payload is
			 * the first inner one, so the outer chain ends here and any
			 * octets after it are ignored.
			 */
			m->sk_index = (int8_t)(m->n_payloads - 1);
			return PAYLOAD_OK;
		}
		type = next;
	}
	if (rd_left(&r) != 0) {
		if (err)
			err->offset = (uint32_t)(r.p - base);
		return payload_fail(err, PAYLOAD_BAD_CHAIN, PL_NONE,
				    "%zu octets after the last payload of the %s, needs 0",
				    rd_left(&r), in_sk ? "plaintext" : "message");
	}
	return PAYLOAD_OK;
}

void message_reset(struct ike_msg *m)
{
	/* Only the bookkeeping: payload slots are written before use. */
	memset(&m->hdr, 0, sizeof(m->hdr));
	m->raw = NULL;
	m->plain = NULL;
	m->plain_len = 0;
	m->n_payloads = 0;
	m->sk_index = -1;
	m->decrypted = false;
	m->unknown_critical = PL_NONE;
	m->n_unknown = 0;
	m->pool.n_proposals = m->pool.n_transforms = m->pool.n_ts = m->pool.n_cp_attrs = 0;
}

enum payload_status message_parse(struct ike_msg *m, const uint8_t *buf, size_t len,
				  struct payload_err *err)
{
	message_reset(m);
	enum payload_status st = message_parse_header(buf, len, &m->hdr, err);
	if (st != PAYLOAD_OK)
		return st;
	m->raw = buf;
	struct rd r = rd_init(buf + IKE_HDR_LEN, m->hdr.length - IKE_HDR_LEN);
	return parse_chain(m, m->hdr.next_payload, r, buf, false, err);
}

enum payload_status message_parse_inner(struct ike_msg *m, uint8_t first, const uint8_t *plain,
					size_t len, struct payload_err *err)
{
	if (err) {
		err->offset = 0;
		err->why[0] = '\0';
	}
	if (m->decrypted || m->plain)
		return payload_fail(err, PAYLOAD_BAD_CHAIN, first,
				    "inner chain parsed twice for one message");
	if (len > IKE_MSG_MAX)
		return payload_fail(err, PAYLOAD_BAD_LENGTH, first, "plaintext %zu octets, limit %d",
				    len, IKE_MSG_MAX);
	m->plain = plain;
	m->plain_len = len;
	enum payload_status st = parse_chain(m, first, rd_init(plain, len), plain, true, err);
	if (st == PAYLOAD_OK)
		m->decrypted = true;
	return st;
}

/* ---- lookups ---- */

const struct ike_payload *message_find(const struct ike_msg *m, uint8_t type,
				       const struct ike_payload *after)
{
	unsigned i = after ? (unsigned)(after - m->payloads) + 1 : 0;
	for (; i < m->n_payloads; i++)
		if (m->payloads[i].type == type)
			return &m->payloads[i];
	return NULL;
}

unsigned message_count(const struct ike_msg *m, uint8_t type)
{
	unsigned n = 0;
	for (unsigned i = 0; i < m->n_payloads; i++)
		n += m->payloads[i].type == type;
	return n;
}

const struct ike_notify *message_find_notify(const struct ike_msg *m, uint16_t notify_type)
{
	for (unsigned i = 0; i < m->n_payloads; i++) {
		const struct ike_payload *p = &m->payloads[i];
		if (p->type == PL_NOTIFY && p->known && p->u.notify.type == notify_type)
			return &p->u.notify;
	}
	return NULL;
}

const struct ike_notify *message_find_error_notify(const struct ike_msg *m)
{
	for (unsigned i = 0; i < m->n_payloads; i++) {
		const struct ike_payload *p = &m->payloads[i];
		if (p->type == PL_NOTIFY && p->known && p->u.notify.type <= N_ERROR_MAX)
			return &p->u.notify;
	}
	return NULL;
}

const struct ike_payload *message_sk(const struct ike_msg *m)
{
	return m->sk_index >= 0 ? &m->payloads[m->sk_index] : NULL;
}

/* ---- building ---- */

void message_build_init(struct ike_builder *b, void *buf, size_t cap, const struct ike_hdr *hdr)
{
	memset(b, 0, sizeof(*b));
	b->w = wr_init(buf, cap);
	b->np_off = SIZE_MAX;
	b->has_hdr = true;
	wr_u64(&b->w, hdr->spi_i);
	wr_u64(&b->w, hdr->spi_r);
	wr_u8(&b->w, PL_NONE);
	wr_u8(&b->w, IKE_VERSION_MAJOR << 4 | IKE_VERSION_MINOR);
	wr_u8(&b->w, hdr->exchange);
	wr_u8(&b->w, hdr->flags);
	wr_u32(&b->w, hdr->msg_id);
	wr_u32(&b->w, IKE_HDR_LEN); /* patched by _sk/_skf/_finish */
	if (!b->w.err)
		b->np_off = HDR_OFF_NEXT_PAYLOAD;
}

void message_build_inner_init(struct ike_builder *b, void *buf, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->w = wr_init(buf, cap);
	b->np_off = SIZE_MAX;
}

static void patch_total(struct ike_builder *b)
{
	if (!b->has_hdr || b->w.err || b->err)
		return;
	if (wr_mark(&b->w) > IKE_MSG_MAX) {
		b->err = true;
		return;
	}
	wr_patch_u32(&b->w, HDR_OFF_LENGTH, (uint32_t)wr_mark(&b->w));
}

/* Common tail of SK and SKF: the encrypted body, then close the chain. */
static uint8_t *reserve_body(struct ike_builder *b, size_t hdr_off, size_t sealed_len)
{
	uint8_t *body = wr_reserve(&b->w, sealed_len);
	if (body && sealed_len)
		memset(body, 0, sealed_len);
	payload_end(b, hdr_off);
	b->closed = true;
	patch_total(b);
	return b->w.err || b->err ? NULL : body;
}

uint8_t *message_build_sk(struct ike_builder *b, uint8_t first_inner, size_t sealed_len)
{
	size_t off = payload_begin(b, PL_SK, false);
	if (off == SIZE_MAX)
		return NULL;
	wr_patch_u8(&b->w, off, first_inner);
	return reserve_body(b, off, sealed_len);
}

uint8_t *message_build_skf(struct ike_builder *b, uint8_t first_inner, uint16_t frag_num,
			   uint16_t total, size_t sealed_len)
{
	/* RFC 7383 2.5: numbers start at 1; only fragment 1 names the inner type. */
	if (frag_num == 0 || frag_num > total || (frag_num != 1 && first_inner != PL_NONE)) {
		b->err = true;
		return NULL;
	}
	size_t off = payload_begin(b, PL_SKF, false);
	if (off == SIZE_MAX)
		return NULL;
	wr_patch_u8(&b->w, off, first_inner);
	wr_u16(&b->w, frag_num);
	wr_u16(&b->w, total);
	return reserve_body(b, off, sealed_len);
}

int message_build_finish(struct ike_builder *b, size_t *len)
{
	patch_total(b);
	if (b->err)
		return -EINVAL;
	if (b->w.err)
		return -ENOSPC;
	if (len)
		*len = wr_mark(&b->w);
	return 0;
}
