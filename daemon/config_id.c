/*
 * Identities (see config_id.h): as text, and whether a peer's is the
 * configured one. Used at run time by authentication, status and logs;
 * parsing them from the configuration is config_value.c's.
 */
#include "daemon/config_id.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "crypto/dn.h"
#include "daemon/ikev2.h"

int config_id_format(const struct config_id *id, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (id->any)
		return snprintf(buf, len, "%%any");
	switch (id->type) {
	case 0:
		return snprintf(buf, len, "%s", "");
	case ID_IPV4_ADDR:
	case ID_IPV6_ADDR:
		if (!inet_ntop(id->type == ID_IPV4_ADDR ? AF_INET : AF_INET6, id->data, a, sizeof(a)))
			return snprintf(buf, len, "?");
		return snprintf(buf, len, "%s", a);
	case ID_FQDN:
	case ID_RFC822_ADDR:
		return snprintf(buf, len, "%.*s", (int)id->len, (const char *)id->data);
	case ID_DER_ASN1_DN: {
		char dn[1024];

		dn_to_text(id->data, id->len, dn, sizeof(dn));
		return snprintf(buf, len, "%s", dn);
	}
	default: {
		int total = snprintf(buf, len, "%s", id->type == ID_KEY_ID ? "keyid:" : "?:");

		for (size_t i = 0; i < id->len && total >= 0; i++) {
			size_t off = (size_t)total;

			total += snprintf(off < len ? buf + off : NULL, off < len ? len - off : 0,
					  "%02x", id->data[i]);
		}
		return total;
	}
	}
}

/* '*' matches any run of characters; ASCII case is ignored (DNS, RFC 4343). */
static bool glob_nocase(const char *p, size_t plen, const uint8_t *s, size_t slen)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;

	while (si < slen) {
		if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < plen && tolower((unsigned char)p[pi]) == tolower(s[si])) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

bool config_id_match(const struct config_id *want, uint8_t type, const uint8_t *data,
		     size_t len)
{
	if (want->any || !want->type || want->type != type)
		return false;
	switch (type) {
	case ID_DER_ASN1_DN:
		return want->pattern ? dn_match(want->data, want->len, data, len)
				     : dn_equal(want->data, want->len, data, len);
	case ID_FQDN:
	case ID_RFC822_ADDR:
		if (want->pattern)
			return glob_nocase((const char *)want->data, want->len, data, len);
		if (want->len != len)
			return false;
		for (size_t i = 0; i < len; i++)
			if (tolower(want->data[i]) != tolower(data[i]))
				return false;
		return true;
	default:
		return want->len == len && memcmp(want->data, data, len) == 0;
	}
}
