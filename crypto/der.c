/* DER reader and writer (see der.h). */
#include "crypto/der.h"

#include <stdio.h>
#include <string.h>

int der_next(struct der *d, uint8_t *tag, struct der *value, struct der *whole)
{
	const uint8_t *p = d->p;
	size_t left = d->left, len, hdr;

	if (left < 2)
		return -1;
	/* X.690 8.1.2.4: tag number 31 announces a multi-octet tag. */
	if ((p[0] & 0x1f) == 0x1f)
		return -1;
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else {
		size_t n = p[1] & 0x7f;

		/* 0x80 is the indefinite form, which DER forbids (X.690 10.1). */
		if (n == 0 || n > 4 || left < 2 + n)
			return -1;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | p[2 + i];
		hdr = 2 + n;
	}
	if (len > left - hdr)
		return -1;
	if (tag)
		*tag = p[0];
	if (value)
		*value = der_init(p + hdr, len);
	if (whole)
		*whole = der_init(p, hdr + len);
	d->p = p + hdr + len;
	d->left = left - hdr - len;
	return 0;
}

int der_expect(struct der *d, uint8_t tag, struct der *value)
{
	if (!der_peek(d, tag))
		return -1;
	return der_next(d, NULL, value, NULL);
}

bool der_peek(const struct der *d, uint8_t tag)
{
	return d->left > 0 && d->p[0] == tag;
}

int der_uint(struct der *d, struct der *mag)
{
	struct der v;

	if (der_expect(d, DER_INTEGER, &v) < 0 || v.left == 0 || (v.p[0] & 0x80))
		return -1;
	while (v.left > 1 && v.p[0] == 0) {
		v.p++;
		v.left--;
	}
	*mag = v;
	return 0;
}

int der_small_uint(struct der *d, uint32_t *v)
{
	struct der m;
	struct der save = *d;

	if (der_uint(d, &m) < 0 || m.left > 4) {
		*d = save;
		return -1;
	}
	*v = 0;
	for (size_t i = 0; i < m.left; i++)
		*v = *v << 8 | m.p[i];
	return 0;
}

int der_bits(struct der *d, struct der *bits)
{
	struct der v;
	struct der save = *d;

	if (der_expect(d, DER_BIT_STRING, &v) < 0 || v.left < 1 || v.p[0] != 0) {
		*d = save;
		return -1;
	}
	*bits = der_init(v.p + 1, v.left - 1);
	return 0;
}

bool der_oid_is(const struct der *oid, const uint8_t *want, size_t len)
{
	return oid->left == len && memcmp(oid->p, want, len) == 0;
}

/* ---- writing ---- */

static void put_bytes(struct der_out *o, const void *p, size_t n)
{
	if (o->pos + n <= o->cap && !o->err)
		memcpy(o->buf + o->pos, p, n);
	else
		o->err = true;
	o->pos += n;
}

void der_put_raw(struct der_out *o, const void *p, size_t n)
{
	if (n)
		put_bytes(o, p, n);
}

void der_put_len(struct der_out *o, size_t len)
{
	uint8_t b[5];
	size_t n = 0;

	if (len < 0x80) {
		b[n++] = (uint8_t)len;
	} else {
		size_t octets = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;

		b[n++] = (uint8_t)(0x80 | octets);
		for (size_t i = octets; i > 0; i--)
			b[n++] = (uint8_t)(len >> (8 * (i - 1)));
	}
	put_bytes(o, b, n);
}

void der_put(struct der_out *o, uint8_t tag, const void *val, size_t len)
{
	put_bytes(o, &tag, 1);
	der_put_len(o, len);
	if (len)
		put_bytes(o, val, len);
}

void der_put_uint(struct der_out *o, const uint8_t *mag, size_t len)
{
	uint8_t tag = DER_INTEGER, zero = 0;

	while (len > 1 && mag[0] == 0) {
		mag++;
		len--;
	}
	if (len == 0) {
		mag = &zero;
		len = 1;
	}
	bool sign = (mag[0] & 0x80) != 0;

	put_bytes(o, &tag, 1);
	der_put_len(o, len + sign);
	if (sign)
		put_bytes(o, &zero, 1);
	put_bytes(o, mag, len);
}

void der_oid_text(const struct der *oid, char *buf, size_t len)
{
	size_t pos = 0;
	uint64_t v = 0;
	bool first = true;

	if (len == 0)
		return;
	buf[0] = 0;
	if (oid->left == 0 || (oid->p[oid->left - 1] & 0x80)) {
		snprintf(buf, len, "?");
		return;
	}
	for (size_t i = 0; i < oid->left; i++) {
		if (v > (UINT64_MAX >> 7)) {
			snprintf(buf, len, "?");
			return;
		}
		v = v << 7 | (oid->p[i] & 0x7f);
		if (oid->p[i] & 0x80)
			continue;
		int n;

		if (first) {
			/* X.690 8.19.4: the first subidentifier packs two arcs. */
			unsigned a = v < 40 ? 0 : v < 80 ? 1 : 2;

			n = snprintf(buf + pos, len - pos, "%u.%llu", a,
				     (unsigned long long)(v - 40u * a));
			first = false;
		} else {
			n = snprintf(buf + pos, len - pos, ".%llu", (unsigned long long)v);
		}
		if (n < 0 || (size_t)n >= len - pos) {
			snprintf(buf, len, "?");
			return;
		}
		pos += (size_t)n;
		v = 0;
	}
}
