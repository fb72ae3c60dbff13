/*
 * Bounds-checked byte cursors (design.md rule 2).
 *
 * struct rd reads network bytes: every reader checks `left` before it
 * touches memory, and on failure leaves both the cursor and the output
 * untouched and returns false. Multi-octet integers are big-endian
 * (network order), as every IKEv2 field is (RFC 7296 section 3).
 *
 * struct wr writes into a buffer the caller owns. Overflow does not
 * write past `cap`: it sets the sticky `err` flag, after which every
 * further write is a no-op. Callers check `err` once at the end, so
 * builders need not test every append.
 *
 * Everything here is static inline: these run per octet on the hot path.
 */
#ifndef XIKED_CURSOR_H
#define XIKED_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- reading ---- */

struct rd {
	const uint8_t *p; /* borrowed: next unread octet */
	size_t left;      /* octets remaining after p */
};

/* A cursor over buf[0..len). Borrows buf, which must outlive the cursor. */
static inline struct rd rd_init(const void *buf, size_t len)
{
	struct rd r = { .p = buf, .left = buf ? len : 0 };
	return r;
}

static inline size_t rd_left(const struct rd *r)
{
	return r->left;
}

static inline bool rd_u8(struct rd *r, uint8_t *v)
{
	if (r->left < 1)
		return false;
	*v = r->p[0];
	r->p += 1;
	r->left -= 1;
	return true;
}

static inline bool rd_u16(struct rd *r, uint16_t *v)
{
	if (r->left < 2)
		return false;
	*v = (uint16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->left -= 2;
	return true;
}

static inline bool rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
	     (uint32_t)r->p[3];
	r->p += 4;
	r->left -= 4;
	return true;
}

static inline bool rd_u64(struct rd *r, uint64_t *v)
{
	if (r->left < 8)
		return false;
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x = x << 8 | r->p[i];
	*v = x;
	r->p += 8;
	r->left -= 8;
	return true;
}

/*
 * Borrow the next n octets: *out points into the cursor's buffer (no copy),
 * valid as long as that buffer. n == 0 succeeds with *out = current position.
 */
static inline bool rd_bytes(struct rd *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return false;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

/* Copy the next n octets into dst (caller-owned, at least n octets). */
static inline bool rd_copy(struct rd *r, void *dst, size_t n)
{
	if (r->left < n)
		return false;
	if (n)
		memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

static inline bool rd_skip(struct rd *r, size_t n)
{
	if (r->left < n)
		return false;
	r->p += n;
	r->left -= n;
	return true;
}

/*
 * Split off the next n octets as an independent sub-cursor and advance past
 * them. Used for length-delimited structures: the sub-parser cannot read
 * beyond the length its header declared.
 */
static inline bool rd_sub(struct rd *r, size_t n, struct rd *sub)
{
	if (r->left < n)
		return false;
	sub->p = r->p;
	sub->left = n;
	r->p += n;
	r->left -= n;
	return true;
}

/* ---- writing ---- */

struct wr {
	uint8_t *buf; /* borrowed, caller-owned, cap octets */
	size_t len;   /* octets written so far */
	size_t cap;
	bool err;     /* sticky: set on overflow or bad patch, never cleared */
};

/* A writer over buf[0..cap). Borrows buf. buf == NULL makes every write fail. */
static inline struct wr wr_init(void *buf, size_t cap)
{
	struct wr w = { .buf = buf, .len = 0, .cap = buf ? cap : 0, .err = false };
	return w;
}

/*
 * Reserve n octets and return a pointer to them (contents undefined), or
 * NULL with err set when they do not fit or err was already set.
 */
static inline uint8_t *wr_reserve(struct wr *w, size_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = true;
		return NULL;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

static inline void wr_u8(struct wr *w, uint8_t v)
{
	uint8_t *p = wr_reserve(w, 1);
	if (p)
		p[0] = v;
}

static inline void wr_u16(struct wr *w, uint16_t v)
{
	uint8_t *p = wr_reserve(w, 2);
	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void wr_u32(struct wr *w, uint32_t v)
{
	uint8_t *p = wr_reserve(w, 4);
	if (p) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

static inline void wr_u64(struct wr *w, uint64_t v)
{
	uint8_t *p = wr_reserve(w, 8);
	if (p)
		for (int i = 0; i < 8; i++)
			p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Append n octets from src (borrowed; may be NULL only when n == 0). */
static inline void wr_bytes(struct wr *w, const void *src, size_t n)
{
	uint8_t *p = wr_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}

static inline void wr_zeros(struct wr *w, size_t n)
{
	uint8_t *p = wr_reserve(w, n);
	if (p && n)
		memset(p, 0, n);
}

/* Current offset, to patch a length written later (wr_patch_u16). */
static inline size_t wr_mark(const struct wr *w)
{
	return w->len;
}

/* Overwrite already-written octets at off. Out of range sets err. */
static inline void wr_patch_u8(struct wr *w, size_t off, uint8_t v)
{
	if (w->err || off >= w->len) {
		w->err = true;
		return;
	}
	w->buf[off] = v;
}

static inline void wr_patch_u16(struct wr *w, size_t off, uint16_t v)
{
	if (w->err || off > w->len || w->len - off < 2) {
		w->err = true;
		return;
	}
	w->buf[off] = (uint8_t)(v >> 8);
	w->buf[off + 1] = (uint8_t)v;
}

static inline void wr_patch_u32(struct wr *w, size_t off, uint32_t v)
{
	if (w->err || off > w->len || w->len - off < 4) {
		w->err = true;
		return;
	}
	w->buf[off] = (uint8_t)(v >> 24);
	w->buf[off + 1] = (uint8_t)(v >> 16);
	w->buf[off + 2] = (uint8_t)(v >> 8);
	w->buf[off + 3] = (uint8_t)v;
}

#endif
