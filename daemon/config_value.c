/*
 * The configuration's value parsers: numbers, durations, sizes, counts,
 * addresses, hex, lists and identities. Those taking msg fill it and
 * return -1 on error; those taking the parse report through cfg_err().
 */
#include "daemon/config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/dn.h"

int cfg_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *endp;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &endp, 10);
	if (errno || *endp || v > max)
		return -1;
	*out = v;
	return 0;
}

/* An IPv4 or IPv6 literal into ss (port 0). */
int cfg_parse_addr(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* "192.0.2.1:9" or "[2001:db8::1]:9" (port 1-65535) into ss; 0 or -1. */
int cfg_parse_addr_port(const char *s, struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned long port;
	bool bracketed = s[0] == '[';
	size_t n;

	if (bracketed) {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -1;
		n = (size_t)(close - s - 1);
		colon = close + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return -1; /* an IPv6 address needs its brackets */
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (cfg_parse_addr(host, ss) < 0 || bracketed != (ss->ss_family == AF_INET6))
		return -1;
	if (cfg_parse_uint(colon + 1, 65535, &port) < 0 || port == 0)
		return -1;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return 0;
}

/* Splits a comma-separated list in place: calls fn on each trimmed item. */
int cfg_split_list(char *s, int (*fn)(void *ctx, const char *item, char *msg, size_t msglen),
		   void *ctx, char *msg, size_t msglen)
{
	char *p = s;

	for (;;) {
		char *comma = strchr(p, ',');
		char *a = p, *b = comma ? comma : p + strlen(p);
		char save = *b;
		int r;

		while (a < b && cfg_is_ws(*a))
			a++;
		while (b > a && cfg_is_ws(b[-1]))
			b--;
		if (a == b) {
			snprintf(msg, msglen, "empty item in list");
			return -1;
		}
		save = *b;
		*b = '\0';
		r = fn(ctx, a, msg, msglen);
		*b = save;
		if (r < 0)
			return -1;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex digits (even count, optional ':' between octets) into out; length or -1. */
int cfg_parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (*s) {
		int hi, lo;

		if (*s == ':') {
			s++;
			continue;
		}
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (hi < 0 || lo < 0 || n == max)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	return (int)n;
}

/* RFC 7296 3.5 ID_DER_ASN1_DN: "C=CH, O=example, CN=host" (or "dn:..."). */
static int parse_id_dn(const char *s, bool allow_any, struct config_id *id, char *msg,
		       size_t msglen)
{
	size_t dlen;
	char m[160];

	if (dn_from_text(strncasecmp(s, "dn:", 3) == 0 ? s + 3 : s, id->data, sizeof(id->data),
			 &dlen, m, sizeof(m)) != 0) {
		snprintf(msg, msglen, "distinguished name '%s': %s", s, m);
		return -1;
	}
	id->type = ID_DER_ASN1_DN;
	id->len = (uint16_t)dlen;
	id->pattern = dn_has_wildcard(id->data, dlen);
	if (id->pattern && !allow_any) {
		snprintf(msg, msglen, "a pattern ('*') is only valid for remote_id");
		return -1;
	}
	return 0;
}

/*
 * Identities, strongSwan's conventions (identification_create_from_string):
 * an IP literal is an address ID; "@#hex" or "keyid:hex" a KEY_ID; a
 * leading '@' forces FQDN ("@@" RFC822); otherwise an '@' after a local
 * part makes an RFC822 address and everything else is an FQDN. Explicit
 * "fqdn:", "email:"/"rfc822:"/"userfqdn:", "ipv4:", "ipv6:" prefixes too.
 */
int cfg_parse_id(const char *s, bool allow_any, struct config_id *id, char *msg, size_t msglen)
{
	struct sockaddr_storage ss;
	const char *text = NULL;
	uint8_t type = 0;

	memset(id, 0, sizeof(*id));
	if (strcmp(s, "%any") == 0) {
		if (!allow_any) {
			snprintf(msg, msglen, "%%any is only valid for remote_id");
			return -1;
		}
		id->any = true;
		return 0;
	}
	if (strncasecmp(s, "keyid:", 6) == 0 || strncmp(s, "@#", 2) == 0) {
		const char *hex = s[0] == '@' ? s + 2 : s + 6;
		int n = cfg_parse_hex(hex, id->data, sizeof(id->data));

		if (n <= 0) {
			snprintf(msg, msglen, "bad key ID '%s' (hex octets expected)", s);
			return -1;
		}
		id->type = ID_KEY_ID;
		id->len = (uint16_t)n;
		return 0;
	}
	if (strncasecmp(s, "ipv4:", 5) == 0 || strncasecmp(s, "ipv6:", 5) == 0) {
		int want = s[3] == '4' ? AF_INET : AF_INET6;

		if (cfg_parse_addr(s + 5, &ss) < 0 || ss.ss_family != want) {
			snprintf(msg, msglen, "bad address in ID '%s'", s);
			return -1;
		}
	} else if (cfg_parse_addr(s, &ss) < 0) {
		ss.ss_family = AF_UNSPEC;
		if (strncasecmp(s, "fqdn:", 5) == 0) {
			type = ID_FQDN;
			text = s + 5;
		} else if (strncasecmp(s, "email:", 6) == 0 || strncasecmp(s, "rfc822:", 7) == 0 ||
			   strncasecmp(s, "userfqdn:", 9) == 0) {
			type = ID_RFC822_ADDR;
			text = strchr(s, ':') + 1;
		} else if (strncmp(s, "@@", 2) == 0) {
			type = ID_RFC822_ADDR;
			text = s + 2;
		} else if (s[0] == '@') {
			type = ID_FQDN;
			text = s + 1;
		} else if (strchr(s, '=')) {
			return parse_id_dn(s, allow_any, id, msg, msglen);
		} else {
			type = strchr(s, '@') ? ID_RFC822_ADDR : ID_FQDN;
			text = s;
		}
	}
	if (ss.ss_family == AF_INET) {
		id->type = ID_IPV4_ADDR;
		id->len = 4;
		memcpy(id->data, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		return 0;
	}
	if (ss.ss_family == AF_INET6) {
		id->type = ID_IPV6_ADDR;
		id->len = 16;
		memcpy(id->data, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		return 0;
	}
	size_t n = strlen(text);

	if (n == 0) {
		snprintf(msg, msglen, "empty identity in '%s'", s);
		return -1;
	}
	if (n > CONFIG_ID_MAX) {
		snprintf(msg, msglen, "identity longer than %d octets", CONFIG_ID_MAX);
		return -1;
	}
	id->type = type;
	id->len = (uint16_t)n;
	memcpy(id->data, text, n);
	if (memchr(text, '*', n)) {
		if (!allow_any) {
			snprintf(msg, msglen, "a pattern ('*') is only valid for remote_id");
			return -1;
		}
		id->pattern = true;
	}
	return 0;
}

/* fragment_size ([daemon] or [conn]): 0 (the default) or IKE_FRAG_SIZE_MIN..65535 octets. */
int cfg_parse_fragment_size(struct parse *ps, const struct entry *e, uint16_t *out)
{
	unsigned long v;
	if (cfg_parse_uint(e->value, 65535, &v) < 0 || (v != 0 && v < IKE_FRAG_SIZE_MIN)) {
		cfg_err(ps, e->line, "fragment_size: '%s' is not 0 or %u-65535 (octets)", e->value,
			IKE_FRAG_SIZE_MIN);
		return -1;
	}
	*out = (uint16_t)v;
	return 0;
}

const struct entry *cfg_find_entry(const struct section *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->e[i].key, key) == 0)
			return &s->e[i];
	}
	return NULL;
}

/* A unit suffix of a number and what it multiplies by. */
struct unit {
	char suffix;
	uint64_t factor;
};

/* A decimal number with at most one suffix of units (ending with {0}), at most max. */
static int parse_scaled(const char *s, const struct unit *units, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || s[0] == '-')
		return -1;
	uint64_t mul = 1;
	for (; units->suffix; units++) {
		if (*end == units->suffix) {
			mul = units->factor;
			end++;
			break;
		}
	}
	if (*end || v > max / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* "90", "90s", "15m", "4h", "1d" -> seconds (at most about 136 years). */
int cfg_parse_duration(const char *s, uint32_t *out)
{
	static const struct unit units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {0, 0}};
	uint64_t v;

	if (parse_scaled(s, units, UINT32_MAX, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* "65536", "64k", "16M", "1G" (powers of 1024) -> octets. */
int cfg_parse_size(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{'k', 1ULL << 10}, {'K', 1ULL << 10}, {'M', 1ULL << 20}, {'G', 1ULL << 30}, {0, 0},
	};

	return parse_scaled(s, units, UINT64_MAX, out);
}

/* "1000000", "500k", "100M", "2G" (powers of 1000, as strongSwan) -> count. */
int cfg_parse_count(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{'k', 1000ULL}, {'K', 1000ULL}, {'M', 1000000ULL}, {'G', 1000000000ULL}, {0, 0},
	};

	return parse_scaled(s, units, UINT64_MAX, out);
}
