/*
 * The configuration lexer: text into sections of (key, value, line)
 * entries (struct section, daemon/config_int.h). It only checks the
 * syntax (headers, names, quoting, keys given twice); what the keys mean
 * is the interpreters' work.
 */
#include "daemon/config_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secret.h"

void cfg_free_sections(struct parse *ps)
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
	while (p < end && cfg_is_ws(*p))
		p++;
	return p == end || *p == '#';
}

static int lex_header(struct parse *ps, unsigned line, const char *p, const char *end)
{
	const char *close = memchr(p, ']', (size_t)(end - p));
	const char *a, *b, *w;
	struct section *s;

	if (!close) {
		cfg_err(ps, line, "section header without ']'");
		return -1;
	}
	if (!rest_is_blank(close + 1, end)) {
		cfg_err(ps, line, "text after section header");
		return -1;
	}
	a = p + 1;
	b = close;
	while (a < b && cfg_is_ws(*a))
		a++;
	while (b > a && cfg_is_ws(b[-1]))
		b--;
	w = a;
	while (w < b && !cfg_is_ws(*w))
		w++;

	if (ps->n_secs == ps->cap_secs) {
		size_t cap = ps->cap_secs ? ps->cap_secs * 2 : 16;
		struct section *n = realloc(ps->secs, cap * sizeof(*n));

		if (!n) {
			cfg_err(ps, line, "out of memory");
			return -1;
		}
		ps->secs = n;
		ps->cap_secs = cap;
	}
	s = &ps->secs[ps->n_secs];
	memset(s, 0, sizeof(*s));
	s->line = line;

	const char *arg = w;

	while (arg < b && cfg_is_ws(*arg))
		arg++;
	size_t kw = (size_t)(w - a), alen = (size_t)(b - arg);

	if (kw == 6 && memcmp(a, "daemon", 6) == 0) {
		if (alen) {
			cfg_err(ps, line, "[daemon] takes no name");
			return -1;
		}
		s->kind = SEC_DAEMON;
	} else if (kw == 4 && memcmp(a, "conn", 4) == 0) {
		if (!valid_name(arg, alen)) {
			cfg_err(ps, line,
				"bad connection name '%.*s' (1-%d letters, digits, '_' or '-')",
				(int)alen, arg, CONFIG_NAME_MAX);
			return -1;
		}
		s->kind = SEC_CONN;
		memcpy(s->name, arg, alen);
	} else if (kw == 5 && memcmp(a, "child", 5) == 0) {
		const char *dot = memchr(arg, '.', alen);

		if (!dot) {
			cfg_err(ps, line, "child section must be named CONN.NAME, got '%.*s'", (int)alen,
				arg);
			return -1;
		}
		size_t clen = (size_t)(dot - arg), nlen = alen - clen - 1;

		if (!valid_name(arg, clen) || !valid_name(dot + 1, nlen)) {
			cfg_err(ps, line, "bad child name '%.*s' (CONN.NAME, each 1-%d letters, digits, '_' or '-')",
				(int)alen, arg, CONFIG_NAME_MAX);
			return -1;
		}
		s->kind = SEC_CHILD;
		memcpy(s->conn, arg, clen);
		memcpy(s->name, dot + 1, nlen);
	} else {
		cfg_err(ps, line, "unknown section '[%.*s]' (daemon, conn NAME, child CONN.NAME)",
			(int)(b - a), a);
		return -1;
	}
	ps->n_secs++;
	return 0;
}

/*
 * The value of an entry, p..end after the '=' and its blanks, into value
 * (end - p + 1 octets, not terminated): quoted or up to a comment.
 */
static int lex_value(struct parse *ps, unsigned line, const char *p, const char *end, char *value,
		     size_t *vlen, bool *quoted)
{
	if (p < end && *p == '"') {
		/* Quoted: '#' is literal inside; \" and \\ are the escapes. */
		*quoted = true;
		p++;
		while (p < end && *p != '"') {
			if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
				p++;
			value[(*vlen)++] = *p++;
		}
		if (p == end) {
			cfg_err(ps, line, "unterminated quoted value");
			return -1;
		}
		if (!rest_is_blank(p + 1, end)) {
			cfg_err(ps, line, "text after the closing quote");
			return -1;
		}
	} else {
		/* A comment starts at a '#' that begins the value or follows a blank. */
		const char *v = p, *vend = p;

		while (vend < end && !(*vend == '#' && (vend == v || cfg_is_ws(vend[-1]))))
			vend++;
		while (vend > v && cfg_is_ws(vend[-1]))
			vend--;
		*vlen = (size_t)(vend - v);
		memcpy(value, v, *vlen);
	}
	return 0;
}

static int lex_entry(struct parse *ps, unsigned line, const char *p, const char *end)
{
	const char *k = p;
	struct section *s;
	struct entry *e;
	char *value;
	size_t klen, vlen = 0, value_size;
	bool quoted = false;

	while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
		p++;
	klen = (size_t)(p - k);
	while (p < end && cfg_is_ws(*p))
		p++;
	if (klen == 0 || p == end || *p != '=') {
		cfg_err(ps, line, "expected 'key = value' or '[section]'");
		return -1;
	}
	if (ps->skip)
		return 0;
	if (ps->n_secs == 0) {
		cfg_err(ps, line, "'%.*s' outside any section", (int)klen, k);
		return -1;
	}
	p++;
	while (p < end && cfg_is_ws(*p))
		p++;

	value_size = (size_t)(end - p) + 1;
	value = malloc(value_size);
	if (!value) {
		cfg_err(ps, line, "out of memory");
		return -1;
	}
	if (lex_value(ps, line, p, end, value, &vlen, &quoted) < 0)
		goto fail;
	value[vlen] = '\0';
	if (vlen == 0) {
		cfg_err(ps, line, "'%.*s' has an empty value", (int)klen, k);
		goto fail;
	}
	if (memchr(value, '\0', vlen)) {
		cfg_err(ps, line, "NUL character in value");
		goto fail;
	}

	s = &ps->secs[ps->n_secs - 1];
	/* cacert = may name several files, address = several prefixes, one per line; pool =... */
	bool repeatable = (klen == 6 && memcmp(k, "cacert", 6) == 0) ||
			  (klen == 7 && memcmp(k, "address", 7) == 0) ||
			  /* remote access: several pools, servers, networks, domains */
			  (klen == 4 && memcmp(k, "pool", 4) == 0) ||
			  (klen == 3 && memcmp(k, "dns", 3) == 0) ||
			  (klen == 5 && memcmp(k, "split", 5) == 0) ||
			  (klen == 10 && memcmp(k, "dns_domain", 10) == 0);

	for (size_t i = 0; i < s->n && !repeatable; i++) {
		if (strlen(s->e[i].key) == klen && memcmp(s->e[i].key, k, klen) == 0) {
			cfg_err(ps, line, "'%.*s' given twice in this section (first at line %u)",
				(int)klen, k, s->e[i].line);
			goto fail;
		}
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct entry *n = realloc(s->e, cap * sizeof(*n));

		if (!n) {
			cfg_err(ps, line, "out of memory");
			goto fail;
		}
		s->e = n;
		s->cap = cap;
	}
	e = &s->e[s->n];
	e->key = strndup(k, klen);
	if (!e->key) {
		cfg_err(ps, line, "out of memory");
		goto fail;
	}
	e->value = value;
	e->quoted = quoted;
	e->line = line;
	s->n++;
	if (strcmp(e->key, "psk") == 0 || strcmp(e->key, "ppk") == 0)
		ps->has_psk = true;
	return 0;
fail:
	crypto_wipe(value, value_size);
	free(value);
	return -1;
}

int cfg_lex(struct parse *ps, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;
	int rc = 0;

	if (memchr(text, '\0', len)) {
		cfg_err(ps, 0, "contains a NUL character");
		return -1;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;

		line++;
		if (le > p && le[-1] == '\r')
			le--;
		while (p < le && cfg_is_ws(*p))
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
