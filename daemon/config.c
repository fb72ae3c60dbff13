/*
 * Configuration parser; see config.h and doc/xiked.conf.5.
 *
 * Two passes: the lexer turns the text into sections of (key, value, line)
 * entries, then each section is interpreted. Connections may be referred to
 * by [child] sections anywhere in the file, so children are attached after
 * every connection is known. Everything is staged in a new xiked_config and
 * only handed out when the whole file is valid.
 */
#include "daemon/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/dn.h"
#include "crypto/pubkey.h"
#include "crypto/secret.h"
#include "crypto/x509.h"

enum sec_kind {
	SEC_DAEMON,
	SEC_CONN,
	SEC_CHILD,
};

struct entry {
	char *key;
	char *value; /* unquoted; may hold a key, wiped on free */
	bool quoted;
	unsigned line;
};

struct section {
	enum sec_kind kind;
	char name[CONFIG_NAME_MAX + 1]; /* conn name, or child name */
	char conn[CONFIG_NAME_MAX + 1]; /* child: its connection */
	unsigned line;
	bool dup; /* a [conn] defined before: reported, not interpreted */
	struct entry *e;
	size_t n, cap;
};

struct parse {
	const char *name; /* file name for messages */
	char *err;
	size_t errlen;
	config_error_fn on_error; /* every error, or NULL */
	void *on_error_ctx;
	unsigned n_err;
	bool skip; /* entries after a bad section header are dropped, not misfiled */
	struct section *secs;
	size_t n_secs, cap_secs;
	bool has_psk; /* the text itself holds a psk = value */
};

static void perr(struct parse *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parse *ps, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	char full[768];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(full, sizeof(full), "%s:%u: %s", ps->name, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", ps->name, msg);
	/* The first error is the one err reports; all of them go to on_error. */
	if (ps->n_err++ == 0 && ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "%s", full);
	if (ps->on_error)
		ps->on_error(ps->on_error_ctx, full);
}

static void free_sections(struct parse *ps)
{
	for (size_t i = 0; i < ps->n_secs; i++) {
		struct section *s = &ps->secs[i];

		for (size_t j = 0; j < s->n; j++) {
			crypto_wipe(s->e[j].value, strlen(s->e[j].value));
			free(s->e[j].value);
			free(s->e[j].key);
		}
		free(s->e);
	}
	free(ps->secs);
	ps->secs = NULL;
	ps->n_secs = 0;
}

/* ---- lexer ---- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len > CONFIG_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	}
	return true;
}

/* The rest of a line after a value or header: only blanks and a comment. */
static bool rest_is_blank(const char *p, const char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p == end || *p == '#';
}

static int lex_header(struct parse *ps, unsigned line, const char *p, const char *end)
{
	const char *close = memchr(p, ']', (size_t)(end - p));
	const char *a, *b, *w;
	struct section *s;

	if (!close) {
		perr(ps, line, "section header without ']'");
		return -1;
	}
	if (!rest_is_blank(close + 1, end)) {
		perr(ps, line, "text after section header");
		return -1;
	}
	a = p + 1;
	b = close;
	while (a < b && is_ws(*a))
		a++;
	while (b > a && is_ws(b[-1]))
		b--;
	w = a;
	while (w < b && !is_ws(*w))
		w++;

	if (ps->n_secs == ps->cap_secs) {
		size_t cap = ps->cap_secs ? ps->cap_secs * 2 : 16;
		struct section *n = realloc(ps->secs, cap * sizeof(*n));

		if (!n) {
			perr(ps, line, "out of memory");
			return -1;
		}
		ps->secs = n;
		ps->cap_secs = cap;
	}
	s = &ps->secs[ps->n_secs];
	memset(s, 0, sizeof(*s));
	s->line = line;

	const char *arg = w;

	while (arg < b && is_ws(*arg))
		arg++;
	size_t kw = (size_t)(w - a), alen = (size_t)(b - arg);

	if (kw == 6 && memcmp(a, "daemon", 6) == 0) {
		if (alen) {
			perr(ps, line, "[daemon] takes no name");
			return -1;
		}
		s->kind = SEC_DAEMON;
	} else if (kw == 4 && memcmp(a, "conn", 4) == 0) {
		if (!valid_name(arg, alen)) {
			perr(ps, line,
			     "bad connection name '%.*s' (1-%d letters, digits, '_' or '-')",
			     (int)alen, arg, CONFIG_NAME_MAX);
			return -1;
		}
		s->kind = SEC_CONN;
		memcpy(s->name, arg, alen);
	} else if (kw == 5 && memcmp(a, "child", 5) == 0) {
		const char *dot = memchr(arg, '.', alen);

		if (!dot) {
			perr(ps, line, "child section must be named CONN.NAME, got '%.*s'", (int)alen,
			     arg);
			return -1;
		}
		size_t clen = (size_t)(dot - arg), nlen = alen - clen - 1;

		if (!valid_name(arg, clen) || !valid_name(dot + 1, nlen)) {
			perr(ps, line, "bad child name '%.*s' (CONN.NAME, each 1-%d letters, digits, '_' or '-')",
			     (int)alen, arg, CONFIG_NAME_MAX);
			return -1;
		}
		s->kind = SEC_CHILD;
		memcpy(s->conn, arg, clen);
		memcpy(s->name, dot + 1, nlen);
	} else {
		perr(ps, line, "unknown section '[%.*s]' (daemon, conn NAME, child CONN.NAME)",
		     (int)(b - a), a);
		return -1;
	}
	ps->n_secs++;
	return 0;
}

static int lex_entry(struct parse *ps, unsigned line, const char *p, const char *end)
{
	const char *k = p, *v, *vend;
	struct section *s;
	struct entry *e;
	char *value;
	size_t klen, vlen = 0, value_size;
	bool quoted = false;

	while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
		p++;
	klen = (size_t)(p - k);
	while (p < end && is_ws(*p))
		p++;
	if (klen == 0 || p == end || *p != '=') {
		perr(ps, line, "expected 'key = value' or '[section]'");
		return -1;
	}
	if (ps->skip)
		return 0;
	if (ps->n_secs == 0) {
		perr(ps, line, "'%.*s' outside any section", (int)klen, k);
		return -1;
	}
	p++;
	while (p < end && is_ws(*p))
		p++;

	value_size = (size_t)(end - p) + 1;
	value = malloc(value_size);
	if (!value) {
		perr(ps, line, "out of memory");
		return -1;
	}
	if (p < end && *p == '"') {
		/* Quoted: '#' is literal inside; \" and \\ are the escapes. */
		quoted = true;
		p++;
		while (p < end && *p != '"') {
			if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
				p++;
			value[vlen++] = *p++;
		}
		if (p == end) {
			perr(ps, line, "unterminated quoted value");
			goto fail;
		}
		if (!rest_is_blank(p + 1, end)) {
			perr(ps, line, "text after the closing quote");
			goto fail;
		}
	} else {
		/* A comment starts at a '#' that begins the value or follows a blank. */
		v = p;
		vend = p;
		while (vend < end && !(*vend == '#' && (vend == v || is_ws(vend[-1]))))
			vend++;
		while (vend > v && is_ws(vend[-1]))
			vend--;
		vlen = (size_t)(vend - v);
		memcpy(value, v, vlen);
	}
	value[vlen] = '\0';
	if (vlen == 0) {
		perr(ps, line, "'%.*s' has an empty value", (int)klen, k);
		goto fail;
	}
	if (memchr(value, '\0', vlen)) {
		perr(ps, line, "NUL character in value");
		goto fail;
	}

	s = &ps->secs[ps->n_secs - 1];
	/* cacert = may name several files, address = several prefixes, one per line. */
	bool repeatable = (klen == 6 && memcmp(k, "cacert", 6) == 0) ||
			  (klen == 7 && memcmp(k, "address", 7) == 0);

	for (size_t i = 0; i < s->n && !repeatable; i++) {
		if (strlen(s->e[i].key) == klen && memcmp(s->e[i].key, k, klen) == 0) {
			perr(ps, line, "'%.*s' given twice in this section (first at line %u)",
			     (int)klen, k, s->e[i].line);
			goto fail;
		}
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct entry *n = realloc(s->e, cap * sizeof(*n));

		if (!n) {
			perr(ps, line, "out of memory");
			goto fail;
		}
		s->e = n;
		s->cap = cap;
	}
	e = &s->e[s->n];
	e->key = strndup(k, klen);
	if (!e->key) {
		perr(ps, line, "out of memory");
		goto fail;
	}
	e->value = value;
	e->quoted = quoted;
	e->line = line;
	s->n++;
	if (strcmp(e->key, "psk") == 0)
		ps->has_psk = true;
	return 0;
fail:
	crypto_wipe(value, value_size);
	free(value);
	return -1;
}

static int lex(struct parse *ps, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;
	int rc = 0;

	if (memchr(text, '\0', len)) {
		perr(ps, 0, "contains a NUL character");
		return -1;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;

		line++;
		if (le > p && le[-1] == '\r')
			le--;
		while (p < le && is_ws(*p))
			p++;
		if (p < le && *p != '#' && *p != ';') {
			/* On an error go on with the next line, to report every error. */
			if (*p == '[') {
				ps->skip = lex_header(ps, line, p, le) < 0;
				rc |= ps->skip ? -1 : 0;
			} else if (lex_entry(ps, line, p, le) < 0) {
				rc = -1;
			}
		}
		p = eol ? eol + 1 : end;
	}
	return rc;
}

/* ---- value parsers: fill a message in msg and return -1 on error ---- */

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
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
static int parse_addr(const char *s, struct sockaddr_storage *ss)
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
static int parse_addr_port(const char *s, struct sockaddr_storage *ss)
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
	if (parse_addr(host, ss) < 0 || bracketed != (ss->ss_family == AF_INET6))
		return -1;
	if (parse_uint(colon + 1, 65535, &port) < 0 || port == 0)
		return -1;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
	return 0;
}

/* Splits a comma-separated list in place: calls fn on each trimmed item. */
static int split_list(char *s, int (*fn)(void *ctx, const char *item, char *msg, size_t msglen),
		      void *ctx, char *msg, size_t msglen)
{
	char *p = s;

	for (;;) {
		char *comma = strchr(p, ',');
		char *a = p, *b = comma ? comma : p + strlen(p);
		char save = *b;
		int r;

		while (a < b && is_ws(*a))
			a++;
		while (b > a && is_ws(b[-1]))
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
static int parse_hex(const char *s, uint8_t *out, size_t max)
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

/*
 * Identities, strongSwan's conventions (identification_create_from_string):
 * an IP literal is an address ID; "@#hex" or "keyid:hex" a KEY_ID; a
 * leading '@' forces FQDN ("@@" RFC822); otherwise an '@' after a local
 * part makes an RFC822 address and everything else is an FQDN. Explicit
 * "fqdn:", "email:"/"rfc822:"/"userfqdn:", "ipv4:", "ipv6:" prefixes too.
 */
static int parse_id(const char *s, bool allow_any, struct config_id *id, char *msg, size_t msglen)
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
		int n = parse_hex(hex, id->data, sizeof(id->data));

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

		if (parse_addr(s + 5, &ss) < 0 || ss.ss_family != want) {
			snprintf(msg, msglen, "bad address in ID '%s'", s);
			return -1;
		}
	} else if (parse_addr(s, &ss) < 0) {
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
			/* RFC 7296 3.5 ID_DER_ASN1_DN: "C=CH, O=example, CN=host". */
			size_t dlen;
			char m[160];

			if (dn_from_text(strncasecmp(s, "dn:", 3) == 0 ? s + 3 : s, id->data,
					 sizeof(id->data), &dlen, m, sizeof(m)) != 0) {
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

static const struct {
	const char *name;
	uint8_t proto;
} ip_protos[] = {
	{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "gre", 47 }, { "esp", 50 },
	{ "ah", 51 }, { "icmpv6", 58 }, { "ipv6-icmp", 58 }, { "sctp", 132 },
};

static const char *ip_proto_name(uint8_t proto)
{
	for (size_t i = 0; i < sizeof(ip_protos) / sizeof(ip_protos[0]); i++) {
		if (ip_protos[i].proto == proto)
			return ip_protos[i].name;
	}
	return NULL;
}

/* "[proto]" / "[proto/port]" / "[proto/lo-hi]", text between the brackets. */
static int parse_ts_proto(const char *s, struct ts_cfg *ts, char *msg, size_t msglen)
{
	char proto[32];
	const char *slash = strchr(s, '/');
	size_t plen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long v, hi;

	ts->ip_proto = 0;
	ts->start_port = 0;
	ts->end_port = 65535;
	if (plen >= sizeof(proto)) {
		snprintf(msg, msglen, "unknown protocol '%.*s'", (int)plen, s);
		return -1;
	}
	memcpy(proto, s, plen);
	proto[plen] = '\0';
	if (plen && strcmp(proto, "%any") != 0) {
		bool found = false;

		for (size_t i = 0; i < sizeof(ip_protos) / sizeof(ip_protos[0]); i++) {
			if (strcasecmp(proto, ip_protos[i].name) == 0) {
				ts->ip_proto = ip_protos[i].proto;
				found = true;
			}
		}
		if (!found) {
			if (parse_uint(proto, 255, &v) < 0) {
				snprintf(msg, msglen, "unknown protocol '%s'", proto);
				return -1;
			}
			ts->ip_proto = (uint8_t)v;
		}
	}
	if (!slash || strcmp(slash + 1, "%any") == 0)
		return 0;

	char port[32];
	const char *dash;

	if (strlen(slash + 1) >= sizeof(port)) {
		snprintf(msg, msglen, "bad port '%s'", slash + 1);
		return -1;
	}
	strcpy(port, slash + 1);
	dash = strchr(port, '-');
	if (dash) {
		port[dash - port] = '\0';
		if (parse_uint(port, 65535, &v) < 0 || parse_uint(dash + 1, 65535, &hi) < 0 ||
		    v > hi) {
			snprintf(msg, msglen, "bad port range '%s'", slash + 1);
			return -1;
		}
	} else {
		if (parse_uint(port, 65535, &v) < 0) {
			snprintf(msg, msglen, "bad port '%s'", slash + 1);
			return -1;
		}
		hi = v;
	}
	/* RFC 7296 3.13.1: ports are only defined together with a protocol. */
	if (ts->ip_proto == 0 && !(v == 0 && hi == 65535)) {
		snprintf(msg, msglen, "a port needs a protocol ('[tcp/%s]')", slash + 1);
		return -1;
	}
	ts->start_port = (uint16_t)v;
	ts->end_port = (uint16_t)hi;
	return 0;
}

static void ss_addr_bytes(const struct sockaddr_storage *ss, uint8_t *out)
{
	if (ss->ss_family == AF_INET)
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else
		memcpy(out, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

/* One traffic selector: CIDR, address, range a-b or %dynamic, then [proto/port]. */
static int parse_ts(const char *s, struct ts_cfg *ts, char *msg, size_t msglen)
{
	char addr[128];
	const char *br = strchr(s, '[');
	size_t alen = br ? (size_t)(br - s) : strlen(s);
	struct sockaddr_storage a, b;
	char *sep;

	memset(ts, 0, sizeof(*ts));
	ts->end_port = 65535;
	while (alen && is_ws(s[alen - 1]))
		alen--;
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(msg, msglen, "bad traffic selector '%s'", s);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (br) {
		char inner[64];
		size_t ilen = strlen(br + 1);

		if (ilen == 0 || br[ilen] != ']' || ilen - 1 >= sizeof(inner)) {
			snprintf(msg, msglen, "bad protocol/port suffix in '%s'", s);
			return -1;
		}
		memcpy(inner, br + 1, ilen - 1);
		inner[ilen - 1] = '\0';
		if (parse_ts_proto(inner, ts, msg, msglen) < 0)
			return -1;
	}

	if (strcmp(addr, "%dynamic") == 0) {
		ts->dynamic = true;
		return 0;
	}
	if ((sep = strchr(addr, '/'))) {
		unsigned long prefix;
		size_t alen_bytes;

		*sep = '\0';
		if (parse_addr(addr, &a) < 0) {
			snprintf(msg, msglen, "bad address '%s' in traffic selector", addr);
			return -1;
		}
		alen_bytes = a.ss_family == AF_INET ? 4 : 16;
		if (parse_uint(sep + 1, alen_bytes * 8, &prefix) < 0) {
			snprintf(msg, msglen, "bad prefix length '/%s' in traffic selector", sep + 1);
			return -1;
		}
		ss_addr_bytes(&a, ts->start);
		memcpy(ts->end, ts->start, alen_bytes);
		/* Host bits cleared in the start, set in the end. */
		for (size_t i = 0; i < alen_bytes; i++) {
			size_t bits = prefix > i * 8 ? prefix - i * 8 : 0;
			uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

			ts->start[i] &= mask;
			ts->end[i] |= (uint8_t)~mask;
		}
	} else if ((sep = strchr(addr, '-'))) {
		*sep = '\0';
		if (parse_addr(addr, &a) < 0 || parse_addr(sep + 1, &b) < 0 ||
		    a.ss_family != b.ss_family) {
			snprintf(msg, msglen, "bad address range '%s-%s'", addr, sep + 1);
			return -1;
		}
		ss_addr_bytes(&a, ts->start);
		ss_addr_bytes(&b, ts->end);
		if (memcmp(ts->start, ts->end, a.ss_family == AF_INET ? 4 : 16) > 0) {
			snprintf(msg, msglen, "address range '%s-%s' ends before it starts", addr,
				 sep + 1);
			return -1;
		}
	} else {
		if (parse_addr(addr, &a) < 0) {
			snprintf(msg, msglen, "bad traffic selector '%s' (address, CIDR, range or %%dynamic)",
				 addr);
			return -1;
		}
		ss_addr_bytes(&a, ts->start);
		ss_addr_bytes(&a, ts->end);
	}
	ts->type = a.ss_family == AF_INET ? TS_IPV4_ADDR_RANGE : TS_IPV6_ADDR_RANGE;
	return 0;
}

static int ts_list_add(void *ctx, const char *item, char *msg, size_t msglen)
{
	struct ts_cfg_list *l = ctx;
	struct ts_cfg ts;
	struct ts_cfg *n;

	if (parse_ts(item, &ts, msg, msglen) < 0)
		return -1;
	if (l->n == IKE_TS_MAX) {
		snprintf(msg, msglen, "more than %d traffic selectors", IKE_TS_MAX);
		return -1;
	}
	n = realloc(l->ts, (l->n + 1) * sizeof(*n));
	if (!n) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	l->ts = n;
	l->ts[l->n++] = ts;
	return 0;
}

static int parse_ts_list(char *s, struct ts_cfg_list *l, char *msg, size_t msglen)
{
	memset(l, 0, sizeof(*l));
	if (split_list(s, ts_list_add, l, msg, msglen) < 0) {
		free(l->ts);
		memset(l, 0, sizeof(*l));
		return -1;
	}
	return 0;
}

static int ts_list_dynamic(struct ts_cfg_list *l)
{
	l->ts = calloc(1, sizeof(*l->ts));
	if (!l->ts)
		return -1;
	l->ts[0].dynamic = true;
	l->ts[0].end_port = 65535;
	l->n = 1;
	return 0;
}

struct listen_ctx {
	struct daemon_cfg *d;
	bool any;
};

static int listen_add(void *ctx, const char *item, char *msg, size_t msglen)
{
	struct listen_ctx *lc = ctx;

	if (strcmp(item, "%any") == 0) {
		lc->any = true;
		return 0;
	}
	if (lc->d->n_listen == CONFIG_LISTEN_MAX) {
		snprintf(msg, msglen, "more than %d listen addresses", CONFIG_LISTEN_MAX);
		return -1;
	}
	if (parse_addr(item, &lc->d->listen[lc->d->n_listen]) < 0) {
		snprintf(msg, msglen, "bad listen address '%s'", item);
		return -1;
	}
	lc->d->n_listen++;
	return 0;
}

/* ---- sections ---- */

static int parse_duration(const char *s, uint32_t *out);
static int parse_size(const char *s, uint64_t *out);

/* fragment_size ([daemon] or [conn]): 0 (the default) or IKE_FRAG_SIZE_MIN..65535 octets. */
static int parse_fragment_size(struct parse *ps, const struct entry *e, uint16_t *out)
{
	unsigned long v;
	if (parse_uint(e->value, 65535, &v) < 0 || (v != 0 && v < IKE_FRAG_SIZE_MIN)) {
		perr(ps, e->line, "fragment_size: '%s' is not 0 or %u-65535 (octets)", e->value,
		     IKE_FRAG_SIZE_MIN);
		return -1;
	}
	*out = (uint16_t)v;
	return 0;
}

/* One [daemon] entry: -1 after reporting its error. */
static int daemon_entry(struct parse *ps, const struct entry *e, struct daemon_cfg *d,
			unsigned *port_line)
{
	char msg[256];
	unsigned long v;

	if (strcmp(e->key, "listen") == 0) {
		struct listen_ctx lc = { .d = d };
		char *copy = strdup(e->value);
		int r;

		if (!copy) {
			perr(ps, e->line, "out of memory");
			return -1;
		}
		d->n_listen = 0;
		r = split_list(copy, listen_add, &lc, msg, sizeof(msg));
		free(copy);
		if (r < 0) {
			perr(ps, e->line, "listen: %s", msg);
			return -1;
		}
		if (lc.any && d->n_listen) {
			perr(ps, e->line, "listen: %%any together with addresses");
			return -1;
		}
	} else if (strcmp(e->key, "control") == 0) {
		if (e->value[0] != '/') {
			perr(ps, e->line, "control: '%s' is not an absolute path", e->value);
			return -1;
		}
		if (strlen(e->value) >= sizeof(d->control)) {
			perr(ps, e->line, "control: path longer than %zu characters",
			     sizeof(d->control) - 1);
			return -1;
		}
		strcpy(d->control, e->value);
	} else if (strcmp(e->key, "keylog") == 0) {
		if (e->value[0] != '/' || strlen(e->value) >= sizeof(d->keylog)) {
			perr(ps, e->line, "keylog: '%s' is not an absolute path of at most %zu "
			     "characters", e->value, sizeof(d->keylog) - 1);
			return -1;
		}
		strcpy(d->keylog, e->value);
	} else if (strcmp(e->key, "user") == 0) {
		/* A POSIX portable user name; whether it exists is checked at start (xiked -t too). */
		size_t n = strspn(e->value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789._-");
		if (e->value[n] || e->value[0] == '-' || n > CONFIG_USER_MAX) {
			perr(ps, e->line, "user: '%s' is not a user name (1-%d letters, digits, '.', "
			     "'_' or '-', not first)", e->value, CONFIG_USER_MAX);
			return -1;
		}
		strcpy(d->user, e->value);
	} else if (strcmp(e->key, "log") == 0) {
		if (log_levels_parse(e->value, &d->log_levels, msg, sizeof(msg)) < 0) {
			perr(ps, e->line, "log: %s", msg);
			return -1;
		}
	} else if (strcmp(e->key, "port") == 0 || strcmp(e->key, "natt_port") == 0) {
		if (parse_uint(e->value, 65535, &v) < 0) {
			perr(ps, e->line, "%s: '%s' is not a port number (0-65535)", e->key,
			     e->value);
			return -1;
		}
		if (e->key[0] == 'p')
			d->port = (uint16_t)v;
		else
			d->natt_port = (uint16_t)v;
		*port_line = e->line;
	} else if (strcmp(e->key, "cookie_threshold") == 0 ||
		   strcmp(e->key, "half_open_max") == 0 ||
		   strcmp(e->key, "half_open_per_ip") == 0 ||
		   strcmp(e->key, "half_open_timeout") == 0) {
		uint32_t *dst = e->key[0] == 'c'	 ? &d->cookie_threshold
				: strcmp(e->key, "half_open_max") == 0 ? &d->half_open_max
				: strcmp(e->key, "half_open_per_ip") == 0 ? &d->half_open_per_ip
							      : &d->half_open_timeout_s;
		if (dst == &d->half_open_timeout_s ? parse_duration(e->value, dst) < 0
						   : parse_uint(e->value, UINT32_MAX, &v) < 0) {
			perr(ps, e->line, "%s: '%s' is not a %s", e->key, e->value,
			     dst == &d->half_open_timeout_s ? "duration" : "number");
			return -1;
		}
		if (dst != &d->half_open_timeout_s)
			*dst = (uint32_t)v;
		if (dst != &d->cookie_threshold && *dst == 0) {
			perr(ps, e->line, "%s: must be at least 1", e->key);
			return -1;
		}
	} else if (strcmp(e->key, "route_table") == 0) {
		/* 253-255 are the kernel's default, main and local tables. */
		if (parse_uint(e->value, UINT32_MAX, &v) < 0 || (v >= 253 && v <= 255)) {
			perr(ps, e->line, "route_table: '%s' is not 0 (no routes) or a table "
			     "number other than 253-255 (default, main, local)", e->value);
			return -1;
		}
		d->route_table = (uint32_t)v;
	} else if (strcmp(e->key, "route_rule_priority") == 0) {
		/* Before the main table's rule (32766); 0 is the local table's. */
		if (parse_uint(e->value, 32765, &v) < 0 || v == 0) {
			perr(ps, e->line, "route_rule_priority: '%s' is not 1-32765", e->value);
			return -1;
		}
		d->route_rule_priority = (uint32_t)v;
	} else if (strcmp(e->key, "metrics") == 0) {
		if (strcmp(e->value, "off") == 0) {
			memset(&d->metrics, 0, sizeof(d->metrics));
		} else if (parse_addr_port(e->value, &d->metrics) < 0) {
			perr(ps, e->line, "metrics: '%s' is not ADDRESS:PORT (192.0.2.1:9100, "
			     "[::1]:9100) or off", e->value);
			return -1;
		}
	} else if (strcmp(e->key, "fragment_size") == 0) {
		if (parse_fragment_size(ps, e, &d->fragment_size) < 0)
			return -1;
	} else if (strcmp(e->key, "ike_sa_per_ip") == 0 ||
		   strcmp(e->key, "auth_fail_limit") == 0) {
		if (parse_uint(e->value, UINT32_MAX, &v) < 0 ||
		    (v == 0 && e->key[0] == 'i')) {
			perr(ps, e->line, "%s: '%s' is not a number%s", e->key, e->value,
			     e->key[0] == 'i' ? " of at least 1" : "");
			return -1;
		}
		*(e->key[0] == 'i' ? &d->ike_sa_per_ip : &d->auth_fail_limit) = (uint32_t)v;
	} else if (strcmp(e->key, "auth_backoff_max") == 0) {
		if (parse_duration(e->value, &d->auth_backoff_max_s) < 0 ||
		    d->auth_backoff_max_s > 86400) {
			perr(ps, e->line, "auth_backoff_max: '%s' is not a duration of 0-1d",
			     e->value);
			return -1;
		}
	} else if (strcmp(e->key, "frag_mem_max") == 0 ||
		   strcmp(e->key, "frag_mem_per_ip") == 0) {
		uint64_t *dst = e->key[9] == 'm' ? &d->frag_mem_max : &d->frag_mem_per_ip;
		if (parse_size(e->value, dst) < 0 || *dst < 65536) {
			perr(ps, e->line, "%s: '%s' is not a size of at least 64k (octets, "
			     "k/M/G suffixes: 1024s)", e->key, e->value);
			return -1;
		}
	} else if (strcmp(e->key, "retransmit_timeout") == 0) {
		uint32_t secs;
		if (parse_duration(e->value, &secs) < 0 || secs == 0 || secs > 3600) {
			perr(ps, e->line, "retransmit_timeout: '%s' is not a duration of 1s-1h",
			     e->value);
			return -1;
		}
		d->retransmit_timeout_ms = secs * 1000;
	} else if (strcmp(e->key, "retransmit_tries") == 0) {
		if (parse_uint(e->value, 20, &v) < 0) {
			perr(ps, e->line, "retransmit_tries: '%s' is not a number of 0-20",
			     e->value);
			return -1;
		}
		d->retransmit_tries = (uint32_t)v;
	} else if (strcmp(e->key, "retransmit_base") == 0) {
		char *end;
		double b = strtod(e->value, &end);
		if (*end || b < 1.0 || b > 4.0) {
			perr(ps, e->line, "retransmit_base: '%s' is not a factor of 1.0-4.0",
			     e->value);
			return -1;
		}
		d->retransmit_base_tenths = (uint32_t)(b * 10 + 0.5);
	} else {
		perr(ps, e->line, "unknown key '%s' in [daemon]", e->key);
		return -1;
	}
	return 0;
}

static int interpret_daemon(struct parse *ps, const struct section *s, struct daemon_cfg *d)
{
	unsigned port_line = 0;
	int rc = 0;

	for (size_t i = 0; i < s->n; i++)
		if (daemon_entry(ps, &s->e[i], d, &port_line) < 0)
			rc = -1;
	if (rc == 0 && d->port != 0 && d->port == d->natt_port) {
		perr(ps, port_line, "port and natt_port must differ (both %u)", d->port);
		return -1;
	}
	return rc;
}

/* Settings a [conn] may give to its children: [child] values override them. */
struct child_defaults {
	char *local_ts, *remote_ts, *esp, *mode; /* borrowed entry values or NULL */
	unsigned local_ts_line, remote_ts_line, esp_line, mode_line;
};

static void child_cfg_clear(struct child_cfg *c)
{
	free(c->local_ts.ts);
	free(c->remote_ts.ts);
	proposal_cfg_list_free(&c->esp);
	memset(c, 0, sizeof(*c));
}

static void conn_cfg_clear(struct conn_cfg *c)
{
	for (size_t i = 0; i < c->n_children; i++)
		child_cfg_clear(&c->children[i]);
	free(c->children);
	secret_free(c->psk);
	privkey_free(c->key);
	for (size_t i = 0; i < c->n_certs; i++)
		x509_free(c->certs[i]);
	free(c->certs);
	for (size_t i = 0; i < c->n_cacerts; i++)
		x509_free(c->cacerts[i]);
	free(c->cacerts);
	pubkey_free(c->remote_pubkey);
	proposal_cfg_list_free(&c->ike);
	memset(c, 0, sizeof(*c));
}

/*
 * Builds a child from its own section (may be NULL: the implicit child of a
 * conn without [child] sections) on top of the conn's defaults.
 */
static int build_child(struct parse *ps, const struct section *s, const char *name, unsigned line,
		       const struct child_defaults *def, struct child_cfg *c)
{
	char *lts = def->local_ts, *rts = def->remote_ts, *esp = def->esp, *mode = def->mode;
	unsigned lts_l = def->local_ts_line, rts_l = def->remote_ts_line, esp_l = def->esp_line,
		 mode_l = def->mode_line;
	char msg[256];

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->line = line;
	for (size_t i = 0; s && i < s->n; i++) {
		const struct entry *e = &s->e[i];

		if (strcmp(e->key, "local_ts") == 0) {
			lts = e->value;
			lts_l = e->line;
		} else if (strcmp(e->key, "remote_ts") == 0) {
			rts = e->value;
			rts_l = e->line;
		} else if (strcmp(e->key, "esp") == 0) {
			esp = e->value;
			esp_l = e->line;
		} else if (strcmp(e->key, "mode") == 0) {
			mode = e->value;
			mode_l = e->line;
		} else {
			perr(ps, e->line, "unknown key '%s' in [child %s.%s]", e->key, s->conn,
			     s->name);
			return -1;
		}
	}

	if (lts ? parse_ts_list(lts, &c->local_ts, msg, sizeof(msg)) < 0 :
		  ts_list_dynamic(&c->local_ts) < 0) {
		perr(ps, lts_l, "local_ts: %s", lts ? msg : "out of memory");
		goto fail;
	}
	if (rts ? parse_ts_list(rts, &c->remote_ts, msg, sizeof(msg)) < 0 :
		  ts_list_dynamic(&c->remote_ts) < 0) {
		perr(ps, rts_l, "remote_ts: %s", rts ? msg : "out of memory");
		goto fail;
	}
	if (proposal_cfg_parse(esp ? esp : PROPOSAL_CFG_ESP_DEFAULT, PROTO_ESP, &c->esp, msg,
			       sizeof(msg)) < 0) {
		perr(ps, esp_l, "esp: %s", msg);
		goto fail;
	}
	c->mode = CONFIG_MODE_TUNNEL;
	if (mode) {
		if (strcmp(mode, "tunnel") == 0) {
			c->mode = CONFIG_MODE_TUNNEL;
		} else if (strcmp(mode, "transport") == 0) {
			c->mode = CONFIG_MODE_TRANSPORT;
		} else {
			perr(ps, mode_l, "mode: '%s' is not tunnel or transport", mode);
			goto fail;
		}
	}
	return 0;
fail:
	child_cfg_clear(c);
	return -1;
}

/* A file named in the configuration: relative names are taken from its directory. */
static void conf_path(const struct parse *ps, const char *value, char *path, size_t len)
{
	if (value[0] == '/' || !strchr(ps->name, '/')) {
		snprintf(path, len, "%s", value);
	} else {
		const char *slash = strrchr(ps->name, '/');

		snprintf(path, len, "%.*s/%s", (int)(slash - ps->name), ps->name, value);
	}
}

static int read_psk_file(struct parse *ps, const struct entry *e, struct secret **out)
{
	char path[PATH_MAX];
	uint8_t buf[CONFIG_PSK_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc = -1;

	conf_path(ps, e->value, path, sizeof(path));
	/* Non-blocking and regular files only: a FIFO or terminal named here
	 * would otherwise block the single-threaded daemon on (re)load. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		perr(ps, e->line, "psk_file: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		perr(ps, e->line, "psk_file: %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & S_IROTH)
		log_msg(LOG_CFG, LOG_LVL_WARN,
			"%s: holds a pre-shared key but is readable by everyone (chmod 600)", path);
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0) {
		len += (size_t)n;
		if (len == sizeof(buf))
			break;
	}
	if (n < 0) {
		perr(ps, e->line, "psk_file: %s: %s", path, strerror(errno));
		goto out;
	}
	if (len > CONFIG_PSK_FILE_MAX) {
		perr(ps, e->line, "psk_file: %s: larger than %d octets", path, CONFIG_PSK_FILE_MAX);
		goto out;
	}
	/* One trailing newline is how editors end files, not part of the key. */
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	if (len == 0) {
		perr(ps, e->line, "psk_file: %s: empty", path);
		goto out;
	}
	*out = secret_dup(buf, len);
	if (!*out) {
		perr(ps, e->line, "out of memory");
		goto out;
	}
	rc = 0;
out:
	crypto_wipe(buf, sizeof(buf));
	close(fd);
	return rc;
}

/* psk = "text" | 0xHEX */
static int parse_psk(struct parse *ps, const struct entry *e, struct secret **out)
{
	uint8_t buf[CONFIG_PSK_FILE_MAX];
	int n;

	if (e->quoted) {
		*out = secret_dup(e->value, strlen(e->value));
	} else if (strncasecmp(e->value, "0x", 2) == 0) {
		n = parse_hex(e->value + 2, buf, sizeof(buf));
		if (n <= 0) {
			crypto_wipe(buf, sizeof(buf));
			perr(ps, e->line, "psk: bad hex after 0x (an even number of hex digits)");
			return -1;
		}
		*out = secret_dup(buf, (size_t)n);
		crypto_wipe(buf, sizeof(buf));
	} else {
		perr(ps, e->line, "psk: a quoted string or 0x<hex> expected");
		return -1;
	}
	if (!*out) {
		perr(ps, e->line, "out of memory");
		return -1;
	}
	return 0;
}

static const struct entry *find_entry(const struct section *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->e[i].key, key) == 0)
			return &s->e[i];
	}
	return NULL;
}

static const char *const conn_keys[] = {
	"local_addr", "remote_addr", "local_id", "remote_id", "auth", "psk", "psk_file",
	"local_auth", "remote_auth", "cert", "key", "cacert", "remote_pubkey", "rsa_padding",
	"ike", "esp", "local_ts", "remote_ts", "mode", "start",
	"lifetime", "lifetime_bytes", "lifetime_packets", "rekey_margin", "rand_margin",
	"ike_lifetime", "idle_timeout", "reauth",
	"encap", "keepalive", "dpd", "dpd_action", "mobike", "mobike_check", "mobike_no_nats",
	"fragmentation", "fragment_size", "max_child_sas", "unique",
	"if_id", "interface", "interface_link", "vti", "mark", "mtu", "address", "routes",
};

/* "90", "90s", "15m", "4h", "1d" -> seconds (at most about 136 years). */
static int parse_duration(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || s[0] == '-')
		return -1;
	unsigned long long mul = 1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mul = 60, end++;
	else if (*end == 'h')
		mul = 3600, end++;
	else if (*end == 'd')
		mul = 86400, end++;
	if (*end || v > UINT32_MAX / mul)
		return -1;
	*out = (uint32_t)(v * mul);
	return 0;
}

/* "65536", "64k", "16M", "1G" (powers of 1024) -> octets. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || s[0] == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10, end++;
	else if (*end == 'M')
		shift = 20, end++;
	else if (*end == 'G')
		shift = 30, end++;
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* "1000000", "500k", "100M", "2G" (powers of 1000, as strongSwan) -> count. */
static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || s[0] == '-')
		return -1;
	unsigned long long mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1000ULL, end++;
	else if (*end == 'M')
		mul = 1000000ULL, end++;
	else if (*end == 'G')
		mul = 1000000000ULL, end++;
	if (*end || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* unique = replace|keep|never of a [conn] (enum config_unique). */
static int interpret_unique(struct parse *ps, const struct section *s, struct conn_cfg *c)
{
	static const char *const names[] = {"replace", "keep", "never"};
	const struct entry *e = find_entry(s, "unique");
	c->unique = CONFIG_UNIQUE_REPLACE;
	if (!e)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(e->value, names[i]) == 0) {
			c->unique = (enum config_unique)i;
			return 0;
		}
	perr(ps, e->line, "unique: '%s' is not replace, keep or never", e->value);
	return -1;
}

/* The lifetime keys of a [conn] (struct lifetime_cfg in config.h). */
/* fragmentation = yes|no and fragment_size of a [conn] (RFC 7383). */
static int interpret_fragmentation(struct parse *ps, const struct section *s,
				   struct conn_cfg *c)
{
	const struct entry *e;
	c->fragmentation = true;
	if ((e = find_entry(s, "fragmentation"))) {
		if (strcmp(e->value, "no") == 0) {
			c->fragmentation = false;
		} else if (strcmp(e->value, "yes") != 0) {
			perr(ps, e->line, "fragmentation: '%s' is not yes or no", e->value);
			return -1;
		}
	}
	if ((e = find_entry(s, "fragment_size")) && parse_fragment_size(ps, e, &c->fragment_size) < 0)
		return -1;
	/* Not fragmentation, but a per-peer limit read with the other single knobs. */
	unsigned long v = 128;
	if ((e = find_entry(s, "max_child_sas")) &&
	    (parse_uint(e->value, 65535, &v) < 0 || v == 0)) {
		perr(ps, e->line, "max_child_sas: '%s' is not a number of 1-65535", e->value);
		return -1;
	}
	c->max_child_sas = (uint32_t)v;
	return 0;
}

static int interpret_lifetimes(struct parse *ps, const struct section *s, struct lifetime_cfg *l)
{
	static const struct {
		const char *key;
		size_t off;
	} durations[] = {
		{"lifetime", offsetof(struct lifetime_cfg, lifetime_s)},
		{"rekey_margin", offsetof(struct lifetime_cfg, rekey_margin_s)},
		{"rand_margin", offsetof(struct lifetime_cfg, rand_margin_s)},
		{"ike_lifetime", offsetof(struct lifetime_cfg, ike_lifetime_s)},
		{"idle_timeout", offsetof(struct lifetime_cfg, idle_timeout_s)},
	};
	const struct entry *e;
	*l = (struct lifetime_cfg){
		.lifetime_s = CONFIG_LIFETIME_DEFAULT,
		.rekey_margin_s = CONFIG_REKEY_MARGIN_DEFAULT,
		.ike_lifetime_s = CONFIG_IKE_LIFETIME_DEFAULT,
	};
	bool rand_given = false;
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		if (!(e = find_entry(s, durations[i].key)))
			continue;
		if (parse_duration(e->value, (uint32_t *)((char *)l + durations[i].off)) < 0) {
			perr(ps, e->line, "%s: '%s' is not a duration (e.g. 3600, 60s, 15m, 4h, 1d)",
			     e->key, e->value);
			return -1;
		}
		rand_given |= strcmp(e->key, "rand_margin") == 0;
	}
	if (!rand_given)
		l->rand_margin_s = l->rekey_margin_s;
	if ((e = find_entry(s, "lifetime_bytes")) && parse_count(e->value, &l->lifetime_bytes) < 0) {
		perr(ps, e->line, "lifetime_bytes: '%s' is not a count (e.g. 1000000, 500k, 2G)",
		     e->value);
		return -1;
	}
	if ((e = find_entry(s, "lifetime_packets")) &&
	    parse_count(e->value, &l->lifetime_packets) < 0) {
		perr(ps, e->line, "lifetime_packets: '%s' is not a count", e->value);
		return -1;
	}
	if ((e = find_entry(s, "reauth"))) {
		if (strcmp(e->value, "yes") == 0) {
			l->reauth = true; /* make-before-break, daemon/task_reauth.h */
		} else if (strcmp(e->value, "no") != 0) {
			perr(ps, e->line, "reauth: '%s' is not yes or no", e->value);
			return -1;
		}
	}
	/* The soft limit must come before the hard one, with room for the random part. */
	const struct entry *le = find_entry(s, "lifetime");
	if (l->lifetime_s && (uint64_t)l->rekey_margin_s + l->rand_margin_s >= l->lifetime_s) {
		perr(ps, le ? le->line : s->line,
		     "lifetime %us must exceed rekey_margin + rand_margin (%us + %us)", l->lifetime_s,
		     l->rekey_margin_s, l->rand_margin_s);
		return -1;
	}
	if (l->ike_lifetime_s && (uint64_t)l->rekey_margin_s + l->rand_margin_s >= l->ike_lifetime_s) {
		e = find_entry(s, "ike_lifetime");
		perr(ps, e ? e->line : s->line,
		     "ike_lifetime %us must exceed rekey_margin + rand_margin (%us + %us)",
		     l->ike_lifetime_s, l->rekey_margin_s, l->rand_margin_s);
		return -1;
	}
	return 0;
}

/* The NAT traversal and dead peer detection keys of a [conn] (struct liveness_cfg). */
static int interpret_liveness(struct parse *ps, const struct section *s, struct liveness_cfg *l)
{
	const struct entry *e;
	*l = (struct liveness_cfg){
		.keepalive_s = CONFIG_KEEPALIVE_DEFAULT,
		.dpd_s = CONFIG_DPD_DEFAULT,
		.dpd_action = CONFIG_DPD_CLEAR,
		.mobike = true,
	};
	static const char *const flags[] = {"mobike", "mobike_check", "mobike_no_nats"};
	bool *const dst[] = {&l->mobike, &l->mobike_check, &l->mobike_no_nats};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (!(e = find_entry(s, flags[i])))
			continue;
		if (strcmp(e->value, "yes") == 0) {
			*dst[i] = true;
		} else if (strcmp(e->value, "no") == 0) {
			*dst[i] = false;
		} else {
			perr(ps, e->line, "%s: '%s' is not yes or no", flags[i], e->value);
			return -1;
		}
	}
	if ((e = find_entry(s, "encap"))) {
		if (strcmp(e->value, "yes") == 0) {
			l->encap = true;
		} else if (strcmp(e->value, "no") != 0) {
			perr(ps, e->line, "encap: '%s' is not yes or no", e->value);
			return -1;
		}
	}
	if ((e = find_entry(s, "keepalive")) && parse_duration(e->value, &l->keepalive_s) < 0) {
		perr(ps, e->line, "keepalive: '%s' is not a duration (e.g. 20, 20s, 1m)", e->value);
		return -1;
	}
	if ((e = find_entry(s, "dpd")) && parse_duration(e->value, &l->dpd_s) < 0) {
		perr(ps, e->line, "dpd: '%s' is not a duration (e.g. 30, 30s, 2m; 0 = off)", e->value);
		return -1;
	}
	if ((e = find_entry(s, "dpd_action"))) {
		if (strcmp(e->value, "clear") == 0) {
			l->dpd_action = CONFIG_DPD_CLEAR;
		} else if (strcmp(e->value, "restart") == 0) {
			l->dpd_action = CONFIG_DPD_RESTART;
		} else if (strcmp(e->value, "trap") == 0) {
			l->dpd_action = CONFIG_DPD_TRAP;
		} else {
			perr(ps, e->line, "dpd_action: '%s' is not clear, restart or trap", e->value);
			return -1;
		}
	}
	return 0;
}

/* A device name (or, with template, an interface name that may hold one "%d"). */
static bool valid_ifname(const char *v, bool template)
{
	size_t n = strlen(v), pct = 0;
	if (n == 0 || n >= CONFIG_IFNAME_MAX || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return false;
	for (const char *p = v; *p; p++) {
		if (*p == '%') {
			if (!template || p[1] != 'd' || pct++)
				return false;
			p++;
		} else if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.') {
			return false;
		}
	}
	return true;
}

/* The route-based VPN keys of a [conn] (struct route_cfg). */
static int interpret_route(struct parse *ps, const struct section *s, struct conn_cfg *c)
{
	struct route_cfg *r = &c->route;
	const struct entry *e;
	unsigned long v;
	*r = (struct route_cfg){.routes = true};
	if ((e = find_entry(s, "if_id"))) {
		if (strcmp(e->value, "%unique") == 0) {
			r->if_id_unique = true;
		} else if (parse_uint(e->value, CONFIG_IF_ID_UNIQUE_BASE - 1, &v) < 0 || v == 0) {
			perr(ps, e->line, "if_id: '%s' is not %%unique or 1-%u", e->value,
			     CONFIG_IF_ID_UNIQUE_BASE - 1);
			return -1;
		} else {
			r->if_id = (uint32_t)v;
		}
	}
	if ((e = find_entry(s, "interface"))) {
		if (!valid_ifname(e->value, true)) {
			perr(ps, e->line, "interface: '%s' is not an interface name (at most %u "
			     "characters of A-Z a-z 0-9 - _ ., and one %%d for the if_id)", e->value,
			     CONFIG_IFNAME_MAX - 1);
			return -1;
		}
		if (!r->if_id && !r->if_id_unique) {
			perr(ps, e->line, "interface = %s needs an if_id (N or %%unique)", e->value);
			return -1;
		}
		if (r->if_id_unique && !strstr(e->value, "%d")) {
			perr(ps, e->line, "interface: with if_id = %%unique the name needs a %%d "
			     "(one interface per IKE SA, e.g. xfrm-%%d)");
			return -1;
		}
		strcpy(r->interface, e->value);
	}
	if ((e = find_entry(s, "interface_link"))) {
		if (!valid_ifname(e->value, false) || !r->interface[0]) {
			perr(ps, e->line, "interface_link: '%s' must name a device, with interface =",
			     e->value);
			return -1;
		}
		strcpy(r->interface_link, e->value);
	}
	if ((e = find_entry(s, "mark"))) {
		if (parse_uint(e->value, UINT32_MAX, &v) < 0 || v == 0) {
			perr(ps, e->line, "mark: '%s' is not 1-%u", e->value, UINT32_MAX);
			return -1;
		}
		r->mark = (uint32_t)v;
	}
	if ((e = find_entry(s, "vti"))) {
		if (!valid_ifname(e->value, false)) {
			perr(ps, e->line, "vti: '%s' is not an interface name", e->value);
			return -1;
		}
		if (!r->mark || r->if_id || r->if_id_unique) {
			perr(ps, e->line, "vti = %s needs a mark = N and no if_id", e->value);
			return -1;
		}
		strcpy(r->vti, e->value);
	}
	bool iface = r->interface[0] || r->vti[0];
	if ((e = find_entry(s, "mtu"))) {
		if (parse_uint(e->value, 65535, &v) < 0 || v < 576 || !iface) {
			perr(ps, e->line, "mtu: '%s' needs 576-65535 and an interface = or vti =",
			     e->value);
			return -1;
		}
		r->mtu = (uint32_t)v;
	}
	if ((e = find_entry(s, "routes"))) {
		if (strcmp(e->value, "no") == 0) {
			r->routes = false;
		} else if (strcmp(e->value, "yes") != 0) {
			perr(ps, e->line, "routes: '%s' is not yes or no", e->value);
			return -1;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->e[i].key, "address") != 0)
			continue;
		e = &s->e[i];
		char buf[INET6_ADDRSTRLEN + 8];
		struct config_prefix *p = &r->addresses[r->n_addresses];
		char *slash;
		if (!iface || r->n_addresses == CONFIG_ADDRESSES_MAX || strlen(e->value) >= sizeof(buf)) {
			perr(ps, e->line, "address: at most %u, with an interface = or vti =",
			     CONFIG_ADDRESSES_MAX);
			return -1;
		}
		strcpy(buf, e->value);
		slash = strchr(buf, '/');
		if (slash)
			*slash = '\0';
		if (parse_addr(buf, &p->addr) < 0 ||
		    (slash && parse_uint(slash + 1, p->addr.ss_family == AF_INET ? 32 : 128, &v) < 0)) {
			perr(ps, e->line, "address: '%s' is not an IPv4 or IPv6 address/prefix", e->value);
			return -1;
		}
		p->plen = (uint8_t)(slash ? v : p->addr.ss_family == AF_INET ? 32 : 128);
		r->n_addresses++;
	}
	if (r->if_id_unique && c->start == CONFIG_START_TRAP) {
		/* A trap is installed before any IKE SA exists; %unique if_ids come with one. */
		perr(ps, find_entry(s, "start")->line, "start = trap needs a fixed if_id = N: "
		     "if_id = %%unique is given per IKE SA, so there is none to trap with");
		return -1;
	}
	return 0;
}

/* ---- authentication: psk, keys and certificates ---- */

/*
 * Reads a credential file named by e (cert, key, cacert, remote_pubkey) as
 * psk_file is read: non-blocking, a regular file, at most
 * CONFIG_CRED_FILE_MAX octets. *buf (caller wipes and frees) and the
 * resolved path. -1 with a file:line message.
 */
static int read_cred_file(struct parse *ps, const struct entry *e, bool secret, uint8_t **buf,
			  size_t *len, char *path, size_t pathlen)
{
	struct stat st;
	ssize_t n;
	int fd;

	*buf = NULL;
	*len = 0;
	conf_path(ps, e->value, path, pathlen);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		perr(ps, e->line, "%s: %s: %s", e->key, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		perr(ps, e->line, "%s: %s: not a regular file", e->key, path);
		goto fail;
	}
	if ((uint64_t)st.st_size > CONFIG_CRED_FILE_MAX) {
		perr(ps, e->line, "%s: %s: larger than %u octets", e->key, path, CONFIG_CRED_FILE_MAX);
		goto fail;
	}
	if (secret && (st.st_mode & S_IROTH))
		log_msg(LOG_CFG, LOG_LVL_WARN,
			"%s: holds a private key but is readable by everyone (chmod 600)", path);
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		perr(ps, e->line, "out of memory");
		goto fail;
	}
	while (*len < (size_t)st.st_size &&
	       (n = read(fd, *buf + *len, (size_t)st.st_size - *len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perr(ps, e->line, "%s: %s: %s", e->key, path, strerror(errno));
			goto fail;
		}
		*len += (size_t)n;
	}
	if (*len == 0) {
		perr(ps, e->line, "%s: %s: empty", e->key, path);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	if (*buf) {
		crypto_wipe(*buf, *len);
		free(*buf);
		*buf = NULL;
	}
	close(fd);
	return -1;
}

/* Certificates of a cert or cacert file appended to *list (grown). */
static int load_certs(struct parse *ps, const struct entry *e, struct x509 ***list, size_t *n,
		      size_t max)
{
	char path[PATH_MAX], err[200];
	struct x509 *got[X509_FILE_MAX];
	size_t ngot = 0, len;
	uint8_t *buf;
	int rc = -1;

	if (read_cred_file(ps, e, false, &buf, &len, path, sizeof(path)) < 0)
		return -1;
	if (x509_load(buf, len, got, X509_FILE_MAX, &ngot, err, sizeof(err)) < 0) {
		perr(ps, e->line, "%s: %s: %s", e->key, path, err);
		goto out;
	}
	if (*n + ngot > max) {
		perr(ps, e->line, "%s: more than %zu certificates", e->key, max);
		goto out;
	}
	struct x509 **l = realloc(*list, (*n + ngot) * sizeof(*l));

	if (!l) {
		perr(ps, e->line, "out of memory");
		goto out;
	}
	*list = l;
	for (size_t i = 0; i < ngot; i++)
		l[(*n)++] = got[i];
	ngot = 0;
	rc = 0;
out:
	while (ngot)
		x509_free(got[--ngot]);
	free(buf);
	return rc;
}

static int parse_auth_value(struct parse *ps, const struct entry *e, enum config_auth *out)
{
	if (strcmp(e->value, "psk") == 0) {
		*out = CONFIG_AUTH_PSK;
	} else if (strcmp(e->value, "pubkey") == 0) {
		*out = CONFIG_AUTH_PUBKEY;
	} else {
		perr(ps, e->line, "%s: '%s' is not psk or pubkey", e->key, e->value);
		return -1;
	}
	return 0;
}

/* Keys that belong to one side's pubkey authentication. */
static int only_with(struct parse *ps, const struct section *s, const char *const *keys,
		     const char *which)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t k = 0; keys[k]; k++) {
			if (strcmp(s->e[i].key, keys[k]) == 0) {
				perr(ps, s->e[i].line, "%s is only used with %s = pubkey", keys[k],
				     which);
				return -1;
			}
		}
	}
	return 0;
}

/* Our side of pubkey authentication: key, cert (chain), local_id from or in the certificate. */
static int interpret_local_pubkey(struct parse *ps, const struct section *s, unsigned auth_line,
				  struct conn_cfg *c)
{
	const struct entry *ke = find_entry(s, "key"), *ce = find_entry(s, "cert");
	const struct entry *pad = find_entry(s, "rsa_padding"), *lid = find_entry(s, "local_id");
	char path[PATH_MAX], err[200];
	uint8_t *buf;
	size_t len;

	if (!ke) {
		perr(ps, auth_line, "local_auth = pubkey needs key = (and cert =, or the peer pins "
		     "our public key)");
		return -1;
	}
	if (read_cred_file(ps, ke, true, &buf, &len, path, sizeof(path)) < 0)
		return -1;
	c->key = privkey_load(buf, len, err, sizeof(err));
	crypto_wipe(buf, len);
	free(buf);
	if (!c->key) {
		perr(ps, ke->line, "key: %s: %s", path, err);
		return -1;
	}
	if (pad) {
		if (strcmp(pad->value, "pss") != 0 && strcmp(pad->value, "pkcs1") != 0) {
			perr(ps, pad->line, "rsa_padding: '%s' is not pss or pkcs1", pad->value);
			return -1;
		}
		c->rsa_pkcs1 = strcmp(pad->value, "pkcs1") == 0;
	}
	if (!ce)
		return 0;
	if (load_certs(ps, ce, &c->certs, &c->n_certs, X509_FILE_MAX) < 0)
		return -1;
	conf_path(ps, ce->value, path, sizeof(path));
	if (!pubkey_equal(privkey_public(c->key), x509_pubkey(c->certs[0]))) {
		perr(ps, ke->line, "key: %s does not match the certificate %s ('%s')", ke->value,
		     path, x509_subject_text(c->certs[0]));
		return -1;
	}
	size_t sl;
	const uint8_t *subj = x509_subject_der(c->certs[0], &sl);

	if (!c->local_id.type) {
		/* As strongSwan: without local_id, the certificate's subject is our identity. */
		if (sl > CONFIG_ID_MAX) {
			perr(ps, ce->line, "cert: subject of %s is longer than %d octets: set local_id",
			     path, CONFIG_ID_MAX);
			return -1;
		}
		c->local_id.type = ID_DER_ASN1_DN;
		c->local_id.len = (uint16_t)sl;
		memcpy(c->local_id.data, subj, sl);
		return 0;
	}
	/* A peer checks that our identity is in the certificate: so do we, now. */
	if (!x509_matches_id(c->certs[0], c->local_id.type, c->local_id.data, c->local_id.len)) {
		char id[CONFIG_ID_MAX * 2 + 8], san[256];

		config_id_format(&c->local_id, id, sizeof(id));
		x509_san_text(c->certs[0], san, sizeof(san));
		perr(ps, lid ? lid->line : ce->line, "local_id '%s' is not in the certificate %s "
		     "(subject '%s', subjectAltName '%s')", id, path,
		     x509_subject_text(c->certs[0]), san);
		return -1;
	}
	if (c->local_id.type == ID_DER_ASN1_DN) {
		/* Send the subject exactly as the certificate encodes it. */
		c->local_id.len = (uint16_t)sl;
		memcpy(c->local_id.data, subj, sl);
	}
	return 0;
}

/* The peer's side: CA certificates and/or a pinned public key. */
static int interpret_remote_pubkey(struct parse *ps, const struct section *s, unsigned auth_line,
				   struct conn_cfg *c)
{
	const struct entry *rp = find_entry(s, "remote_pubkey");
	char path[PATH_MAX], err[200];

	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->e[i].key, "cacert") == 0 &&
		    load_certs(ps, &s->e[i], &c->cacerts, &c->n_cacerts, CONFIG_CACERTS_MAX) < 0)
			return -1;
	}
	if (rp) {
		uint8_t *buf;
		size_t len;

		if (read_cred_file(ps, rp, false, &buf, &len, path, sizeof(path)) < 0)
			return -1;
		c->remote_pubkey = pubkey_load(buf, len, err, sizeof(err));
		free(buf);
		if (!c->remote_pubkey) {
			perr(ps, rp->line, "remote_pubkey: %s: %s", path, err);
			return -1;
		}
	}
	if (!c->n_cacerts && !c->remote_pubkey) {
		perr(ps, auth_line, "remote_auth = pubkey needs cacert = or remote_pubkey =");
		return -1;
	}
	return 0;
}

/* auth, local_auth, remote_auth and what each needs. local_id is already parsed. */
static int interpret_auth(struct parse *ps, const struct section *s, struct conn_cfg *c)
{
	static const char *const local_keys[] = {"key", "cert", "rsa_padding", NULL};
	static const char *const remote_keys[] = {"cacert", "remote_pubkey", NULL};
	const struct entry *a = find_entry(s, "auth"), *la = find_entry(s, "local_auth");
	const struct entry *ra = find_entry(s, "remote_auth");
	const struct entry *psk = find_entry(s, "psk"), *pf = find_entry(s, "psk_file");

	if (a && parse_auth_value(ps, a, &c->local_auth) < 0)
		return -1;
	c->remote_auth = c->local_auth;
	if ((la && parse_auth_value(ps, la, &c->local_auth) < 0) ||
	    (ra && parse_auth_value(ps, ra, &c->remote_auth) < 0))
		return -1;
	if (!c->local_auth || !c->remote_auth) {
		if (!a && !la && !ra)
			perr(ps, s->line, "[conn %s]: auth missing (auth = psk or pubkey)", s->name);
		else
			perr(ps, s->line, "[conn %s]: %s missing (auth = sets both sides)", s->name,
			     !c->local_auth ? "local_auth" : "remote_auth");
		return -1;
	}
	const struct entry *le = la ? la : a, *re = ra ? ra : a;
	unsigned lline = le->line, rline = re->line;

	if (c->local_auth == CONFIG_AUTH_PSK || c->remote_auth == CONFIG_AUTH_PSK) {
		if (psk && pf) {
			perr(ps, pf->line, "psk and psk_file both given");
			return -1;
		}
		if (!psk && !pf) {
			const struct entry *pe = c->local_auth == CONFIG_AUTH_PSK ? le : re;

			perr(ps, pe->line, "%s = psk needs psk = or psk_file =", pe->key);
			return -1;
		}
		if (psk ? parse_psk(ps, psk, &c->psk) < 0 : read_psk_file(ps, pf, &c->psk) < 0)
			return -1;
	} else if (psk || pf) {
		perr(ps, (psk ? psk : pf)->line, "%s given, but neither side uses psk authentication",
		     psk ? "psk" : "psk_file");
		return -1;
	}
	if (c->local_auth == CONFIG_AUTH_PUBKEY
		    ? interpret_local_pubkey(ps, s, lline, c) < 0
		    : only_with(ps, s, local_keys, "local_auth") < 0)
		return -1;
	if (c->remote_auth == CONFIG_AUTH_PUBKEY
		    ? interpret_remote_pubkey(ps, s, rline, c) < 0
		    : only_with(ps, s, remote_keys, "remote_auth") < 0)
		return -1;
	return 0;
}

/*
 * Interprets a [conn] section; children (sections whose indexes are in
 * kids[0..n_kids)) are built on top of its child defaults.
 */
static int interpret_conn(struct parse *ps, const struct section *s, const size_t *kids,
			  size_t n_kids, struct conn_cfg *c)
{
	struct child_defaults def = { 0 };
	const struct entry *e;
	char msg[256];
	bool bad = false; /* an error reported: go on checking, fail at the end */

	memset(c, 0, sizeof(*c));
	memcpy(c->name, s->name, sizeof(c->name));
	c->line = s->line;

	for (size_t i = 0; i < s->n; i++) {
		bool known = false;

		for (size_t k = 0; k < sizeof(conn_keys) / sizeof(conn_keys[0]); k++)
			known |= strcmp(s->e[i].key, conn_keys[k]) == 0;
		if (!known) {
			perr(ps, s->e[i].line, "unknown key '%s' in [conn %s]", s->e[i].key, s->name);
			bad = true;
		}
	}

	if ((e = find_entry(s, "local_addr")) && strcmp(e->value, "%any") != 0 &&
	    parse_addr(e->value, &c->local_addr) < 0) {
		perr(ps, e->line, "local_addr: '%s' is not an IP address", e->value);
		bad = true;
		memset(&c->local_addr, 0, sizeof(c->local_addr));
	}
	if ((e = find_entry(s, "remote_addr")) && strcmp(e->value, "%any") != 0 &&
	    parse_addr(e->value, &c->remote_addr) < 0) {
		perr(ps, e->line, "remote_addr: '%s' is not an IP address (host names are not supported)",
		     e->value);
		bad = true;
		memset(&c->remote_addr, 0, sizeof(c->remote_addr));
	}
	bool remote_bad = bad && find_entry(s, "remote_addr");
	if (c->local_addr.ss_family != AF_UNSPEC && c->remote_addr.ss_family != AF_UNSPEC &&
	    c->local_addr.ss_family != c->remote_addr.ss_family) {
		perr(ps, find_entry(s, "remote_addr")->line,
		     "local_addr and remote_addr are of different address families");
		bad = true;
	}
	if ((e = find_entry(s, "local_id")) && parse_id(e->value, false, &c->local_id, msg,
							 sizeof(msg)) < 0) {
		perr(ps, e->line, "local_id: %s", msg);
		bad = true;
	}
	if ((e = find_entry(s, "remote_id")) && parse_id(e->value, true, &c->remote_id, msg,
							  sizeof(msg)) < 0) {
		perr(ps, e->line, "remote_id: %s", msg);
		bad = true;
	}

	if (interpret_auth(ps, s, c) < 0)
		bad = true;

	e = find_entry(s, "ike");
	if (proposal_cfg_parse(e ? e->value : PROPOSAL_CFG_IKE_DEFAULT, PROTO_IKE, &c->ike, msg,
			       sizeof(msg)) < 0) {
		perr(ps, e ? e->line : s->line, "ike: %s", msg);
		bad = true;
	}

	c->start = CONFIG_START_NONE;
	if ((e = find_entry(s, "start"))) {
		if (strcmp(e->value, "none") == 0) {
			c->start = CONFIG_START_NONE;
		} else if (strcmp(e->value, "initiate") == 0) {
			c->start = CONFIG_START_INITIATE;
		} else if (strcmp(e->value, "trap") == 0) {
			c->start = CONFIG_START_TRAP;
		} else {
			perr(ps, e->line, "start: '%s' is not initiate, none or trap", e->value);
			bad = true;
		}
		/* Not when remote_addr is there but wrong (reported above). */
		if (c->start != CONFIG_START_NONE && c->remote_addr.ss_family == AF_UNSPEC &&
		    !remote_bad) {
			perr(ps, e->line, "start = %s needs a remote_addr", e->value);
			bad = true;
		}
	}

	/* Each group stops at its first error. */
	bad |= interpret_lifetimes(ps, s, &c->life) < 0;
	bad |= interpret_fragmentation(ps, s, c) < 0;
	bad |= interpret_unique(ps, s, c) < 0;
	bad |= interpret_liveness(ps, s, &c->live) < 0;
	bad |= interpret_route(ps, s, c) < 0;

#define DEFAULT_FROM(field, key)                        \
	if ((e = find_entry(s, key))) {                 \
		def.field = e->value;                   \
		def.field##_line = e->line;             \
	}
	DEFAULT_FROM(local_ts, "local_ts")
	DEFAULT_FROM(remote_ts, "remote_ts")
	DEFAULT_FROM(esp, "esp")
	DEFAULT_FROM(mode, "mode")
#undef DEFAULT_FROM
	/* Messages about the built-in defaults point at the conn header. */
	if (!def.local_ts_line)
		def.local_ts_line = s->line;
	if (!def.remote_ts_line)
		def.remote_ts_line = s->line;
	if (!def.esp_line)
		def.esp_line = s->line;
	if (!def.mode_line)
		def.mode_line = s->line;

	c->children = calloc(n_kids ? n_kids : 1, sizeof(*c->children));
	if (!c->children) {
		perr(ps, s->line, "out of memory");
		goto fail;
	}
	if (n_kids == 0) {
		if (build_child(ps, NULL, c->name, s->line, &def, &c->children[0]) < 0)
			goto fail;
		c->n_children = 1;
	}
	/* Built children are packed: children[0..n_children) are all valid. */
	for (size_t i = 0; i < n_kids; i++) {
		const struct section *k = &ps->secs[kids[i]];

		for (size_t j = 0; j < i; j++) {
			if (strcmp(ps->secs[kids[j]].name, k->name) == 0) {
				perr(ps, k->line, "[child %s.%s] already defined at line %u",
				     k->conn, k->name, ps->secs[kids[j]].line);
				bad = true;
			}
		}
		if (build_child(ps, k, k->name, k->line, &def, &c->children[c->n_children]) < 0)
			bad = true;
		else
			c->n_children++;
	}
	if (bad)
		goto fail;
	return 0;
fail:
	conn_cfg_clear(c);
	return -1;
}

/* ---- the whole file ---- */

static int cmp_sec_idx(const void *a, const void *b, void *ctx)
{
	const struct section *secs = ctx;
	const struct section *x = &secs[*(const size_t *)a];
	const struct section *y = &secs[*(const size_t *)b];
	int r = strcmp(x->kind == SEC_CHILD ? x->conn : x->name,
		       y->kind == SEC_CHILD ? y->conn : y->name);

	if (r)
		return r;
	/* Within one name: the conn first, then its children in file order. */
	if (x->kind != y->kind)
		return x->kind == SEC_CONN ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_conn_idx(const void *a, const void *b, void *ctx)
{
	const struct conn_cfg *conns = ctx;

	return strcmp(conns[*(const size_t *)a].name, conns[*(const size_t *)b].name);
}

static int build(struct parse *ps, struct xiked_config *cfg)
{
	size_t *order = NULL, n_order = 0, n_conns = 0;
	const struct section *daemon_sec = NULL;
	int rc = -1;

	for (size_t g = 0; g < LOG_GROUP_COUNT; g++)
		cfg->d.log_levels.level[g] = LOG_LVL_INFO;
	cfg->d.port = IKE_PORT;
	cfg->d.natt_port = IKE_NATT_PORT;
	cfg->d.cookie_threshold = 10;
	cfg->d.half_open_max = 5000;
	cfg->d.half_open_per_ip = 20;
	cfg->d.half_open_timeout_s = CONFIG_HALF_OPEN_TIMEOUT_DEFAULT;
	cfg->d.ike_sa_per_ip = 1000;
	cfg->d.auth_fail_limit = 5;
	cfg->d.auth_backoff_max_s = CONFIG_AUTH_BACKOFF_MAX_DEFAULT;
	cfg->d.frag_mem_max = 16u << 20;
	cfg->d.frag_mem_per_ip = 1u << 20;
	cfg->d.retransmit_timeout_ms = CONFIG_RETRANSMIT_TIMEOUT_MS_DEFAULT;
	cfg->d.retransmit_base_tenths = CONFIG_RETRANSMIT_BASE_TENTHS_DEFAULT;
	cfg->d.retransmit_tries = CONFIG_RETRANSMIT_TRIES_DEFAULT;
	cfg->d.route_table = 220;
	cfg->d.route_rule_priority = 220;
	strcpy(cfg->d.control, CONFIG_CONTROL_DEFAULT);

	for (size_t i = 0; i < ps->n_secs; i++) {
		if (ps->secs[i].kind != SEC_DAEMON)
			continue;
		if (daemon_sec) {
			perr(ps, ps->secs[i].line, "[daemon] already defined at line %u",
			     daemon_sec->line);
			continue;
		}
		daemon_sec = &ps->secs[i];
	}
	/* Errors do not stop the checks: every error in the file is reported (perr). */
	if (daemon_sec)
		interpret_daemon(ps, daemon_sec, &cfg->d);

	/*
	 * Group conns with their children by sorting section indexes by
	 * connection name: duplicates become neighbours and each conn's
	 * children follow it, in O(n log n) for large files.
	 */
	order = malloc((ps->n_secs ? ps->n_secs : 1) * sizeof(*order));
	if (!order) {
		perr(ps, 0, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < ps->n_secs; i++) {
		if (ps->secs[i].kind != SEC_DAEMON)
			order[n_order++] = i;
		n_conns += ps->secs[i].kind == SEC_CONN;
	}
	qsort_r(order, n_order, sizeof(*order), cmp_sec_idx, ps->secs);

	/* Errors first about structure, reported at the later line. */
	for (size_t i = 0; i < n_order; i++) {
		const struct section *s = &ps->secs[order[i]];

		if (s->kind == SEC_CONN && i + 1 < n_order) {
			const struct section *nx = &ps->secs[order[i + 1]];

			if (nx->kind == SEC_CONN && strcmp(nx->name, s->name) == 0) {
				/* The first one (s: sorted by line within a name) stays. */
				perr(ps, nx->line, "[conn %s] already defined at line %u", s->name,
				     s->line);
				ps->secs[order[i + 1]].dup = true;
			}
		}
		if (s->kind == SEC_CHILD) {
			size_t j = i;

			while (j > 0 && ps->secs[order[j - 1]].kind == SEC_CHILD)
				j--;
			const struct section *head = j > 0 ? &ps->secs[order[j - 1]] : NULL;

			if (!head || strcmp(head->name, s->conn) != 0) {
				perr(ps, s->line, "[child %s.%s]: no [conn %s] in this file", s->conn,
				     s->name, s->conn);
			}
		}
	}

	cfg->conns = calloc(n_conns ? n_conns : 1, sizeof(*cfg->conns));
	cfg->by_name = calloc(n_conns ? n_conns : 1, sizeof(*cfg->by_name));
	if (!cfg->conns || !cfg->by_name) {
		perr(ps, 0, "out of memory");
		goto out;
	}
	/* Interpret conns in file order, so the first error in the file is reported. */
	{
		size_t *kid_start = calloc(ps->n_secs ? ps->n_secs : 1, sizeof(*kid_start));
		size_t *kid_count = calloc(ps->n_secs ? ps->n_secs : 1, sizeof(*kid_count));

		if (!kid_start || !kid_count) {
			free(kid_start);
			free(kid_count);
			perr(ps, 0, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n_order;) {
			size_t conn = order[i], j = i + 1;

			while (j < n_order && ps->secs[order[j]].kind == SEC_CHILD)
				j++;
			kid_start[conn] = i + 1;
			kid_count[conn] = j - i - 1;
			i = j;
		}
		for (size_t i = 0; i < ps->n_secs; i++) {
			if (ps->secs[i].kind != SEC_CONN || ps->secs[i].dup)
				continue;
			if (interpret_conn(ps, &ps->secs[i], order + kid_start[i], kid_count[i],
					   &cfg->conns[cfg->n_conns]) == 0)
				cfg->n_conns++;
		}
		free(kid_start);
		free(kid_count);
	}
	for (size_t i = 0; i < cfg->n_conns; i++)
		cfg->by_name[i] = i;
	qsort_r(cfg->by_name, cfg->n_conns, sizeof(*cfg->by_name), cmp_conn_idx, cfg->conns);
	rc = ps->n_err ? -1 : 0;
out:
	free(order);
	return rc;
}

/* config_parse(), also telling whether the text itself holds a psk = line. */
static int parse_text(struct parse *ps, const char *text, size_t len, struct xiked_config **out,
		      bool *inline_psk)
{
	struct xiked_config *cfg;
	int rc = -1;

	*out = NULL;
	if (ps->err && ps->errlen)
		ps->err[0] = '\0';
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		perr(ps, 0, "out of memory");
		return -1;
	}
	/* build() runs after lexer errors too: they drop lines, not the checks of the rest. */
	int lrc = lex(ps, text, len);
	if (build(ps, cfg) < 0 || lrc < 0 || ps->n_err) {
		config_free(cfg);
		goto out;
	}
	*inline_psk = ps->has_psk;
	*out = cfg;
	rc = 0;
out:
	free_sections(ps);
	return rc;
}

int config_parse(const char *text, size_t len, const char *name, struct xiked_config **out,
		 char *err, size_t errlen)
{
	struct parse ps = { .name = name, .err = err, .errlen = errlen };
	bool inline_psk;

	return parse_text(&ps, text, len, out, &inline_psk);
}

unsigned config_load_report(const char *path, struct xiked_config **out, config_error_fn on_error,
			    void *ctx, char *err, size_t errlen)
{
	struct parse ps = { .name = path, .err = err, .errlen = errlen, .on_error = on_error,
			    .on_error_ctx = ctx };
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd;
	bool inline_psk = false;
	ssize_t n;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perr(&ps, 0, "%s", strerror(errno));
		return ps.n_err;
	}
	if (fstat(fd, &st) < 0) {
		perr(&ps, 0, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		perr(&ps, 0, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > CONFIG_FILE_MAX) {
		perr(&ps, 0, "larger than %u octets", CONFIG_FILE_MAX);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		perr(&ps, 0, "out of memory");
		goto out;
	}
	while (len < (size_t)st.st_size &&
	       (n = read(fd, text + len, (size_t)st.st_size - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perr(&ps, 0, "%s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	/* psk_file keys are checked where they are read; this is about psk = lines. */
	if (parse_text(&ps, text, len, out, &inline_psk) == 0 && inline_psk &&
	    (st.st_mode & S_IROTH))
		log_msg(LOG_CFG, LOG_LVL_WARN,
			"%s: holds pre-shared keys but is readable by everyone (chmod 600)", path);
out:
	if (text) {
		crypto_wipe(text, len);
		free(text);
	}
	close(fd);
	return ps.n_err;
}

int config_load(const char *path, struct xiked_config **out, char *err, size_t errlen)
{
	return config_load_report(path, out, NULL, NULL, err, errlen) ? -1 : 0;
}

void config_free(struct xiked_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_conns; i++)
		conn_cfg_clear(&cfg->conns[i]);
	free(cfg->conns);
	free(cfg->by_name);
	free(cfg);
}

const struct conn_cfg *config_find_conn(const struct xiked_config *cfg, const char *name)
{
	size_t lo = 0, hi = cfg->n_conns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct conn_cfg *c = &cfg->conns[cfg->by_name[mid]];
		int r = strcmp(name, c->name);

		if (r == 0)
			return c;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct child_cfg *config_find_child(const struct conn_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_children; i++) {
		if (strcmp(c->children[i].name, name) == 0)
			return &c->children[i];
	}
	return NULL;
}

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

/* Prefix length if start..end is a CIDR block, else -1. */
static int ts_prefix(const uint8_t *s, const uint8_t *e, size_t n)
{
	int prefix = 0;
	size_t i = 0;

	while (i < n && s[i] == e[i]) {
		prefix += 8;
		i++;
	}
	if (i == n)
		return prefix;
	uint8_t diff = s[i] ^ e[i];
	int bits = 0;

	/* The differing bits must be a run of host bits: s has 0s, e has 1s. */
	while (bits < 8 && !(diff & (0x80 >> bits)))
		bits++;
	uint8_t host = (uint8_t)(0xff >> bits);

	if ((s[i] & host) != 0 || (e[i] & host) != host)
		return -1;
	for (size_t j = i + 1; j < n; j++) {
		if (s[j] != 0 || e[j] != 0xff)
			return -1;
	}
	return prefix + bits;
}

int config_ts_format(const struct ts_cfg *ts, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], addr[2 * INET6_ADDRSTRLEN + 8];
	char suffix[48] = "";

	if (ts->ip_proto || ts->start_port != 0 || ts->end_port != 65535) {
		const char *pn = ip_proto_name(ts->ip_proto);
		char proto[8];

		if (ts->ip_proto == 0)
			pn = "%any";
		else if (!pn) {
			snprintf(proto, sizeof(proto), "%u", ts->ip_proto);
			pn = proto;
		}
		if (ts->start_port == 0 && ts->end_port == 65535)
			snprintf(suffix, sizeof(suffix), "[%s]", pn);
		else if (ts->start_port == ts->end_port)
			snprintf(suffix, sizeof(suffix), "[%s/%u]", pn, ts->start_port);
		else
			snprintf(suffix, sizeof(suffix), "[%s/%u-%u]", pn, ts->start_port,
				 ts->end_port);
	}
	if (ts->dynamic)
		return snprintf(buf, len, "%%dynamic%s", suffix);

	int af = ts->type == TS_IPV4_ADDR_RANGE ? AF_INET : AF_INET6;
	size_t n = af == AF_INET ? 4 : 16;
	int prefix = ts_prefix(ts->start, ts->end, n);

	inet_ntop(af, ts->start, a, sizeof(a));
	inet_ntop(af, ts->end, b, sizeof(b));
	if (prefix == (int)n * 8)
		snprintf(addr, sizeof(addr), "%s", a);
	else if (prefix >= 0)
		snprintf(addr, sizeof(addr), "%s/%d", a, prefix);
	else
		snprintf(addr, sizeof(addr), "%s-%s", a, b);
	return snprintf(buf, len, "%s%s", addr, suffix);
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

const char *config_auth_name(enum config_auth a)
{
	switch (a) {
	case CONFIG_AUTH_PSK:
		return "psk";
	case CONFIG_AUTH_PUBKEY:
		return "pubkey";
	default:
		return "none";
	}
}
