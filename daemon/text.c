/* Escaping outside text for terminals and logs; see text.h. */
#include "daemon/text.h"

#include <stdio.h>
#include <string.h>

size_t utf8_seq_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* The code point of a well-formed sequence of n octets. */
static uint32_t code_point(const unsigned char *p, size_t n)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = p[0] & lead_mask[n];
	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

/* Characters shown escaped although well-formed: controls and bidi overrides. */
static int shown_escaped(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The escaped form of the character at p (n octets of it, n >= 1 if not UTF-8) into piece. */
static size_t escape_one(const unsigned char *p, size_t left, char piece[32], size_t *n_out)
{
	size_t n = utf8_seq_len(p, left), plen = 0;
	if (n == 0 || shown_escaped(code_point(p, n))) {
		size_t k = n ? n : 1; /* every octet of it: \xNN */
		for (size_t j = 0; j < k; j++)
			plen += (size_t)snprintf(piece + plen, 32 - plen, "\\x%02x", p[j]);
		n = k;
	} else if (p[0] == '\\') {
		memcpy(piece, "\\\\", 2);
		plen = 2;
	} else {
		memcpy(piece, p, n);
		plen = n;
	}
	*n_out = n;
	return plen;
}

char *text_escape(const void *s, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = s;
	char piece[32];
	size_t n, total = 0;
	if (outlen == 0)
		return out;
	for (size_t i = 0; i < len; i += n)
		total += escape_one(p + i, len - i, piece, &n);
	/* All of it, or as much as leaves room for "..." */
	size_t limit = total < outlen ? outlen : (outlen > 3 ? outlen - 3 : 0);
	size_t o = 0;
	for (size_t i = 0; i < len; i += n) {
		size_t plen = escape_one(p + i, len - i, piece, &n);
		if (o + plen >= limit)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
	}
	if (total >= outlen && o + 3 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
