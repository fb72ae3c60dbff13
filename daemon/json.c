/* JSON writer and bounded reader; see json.h. */
#include "daemon/json.h"
#include "daemon/text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Members per object the reader accepts (keeps duplicate detection cheap). */
#define JSON_MEMBERS_MAX 1024
/* Longest number literal, characters. */
#define JSON_NUMBER_MAX 64


/* ---- writer ---- */

void json_writer_init(struct json_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void json_writer_init_file(struct json_writer *w, FILE *out, unsigned flags)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->flags = flags;
}

void json_writer_free(struct json_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void json_writer_reset(struct json_writer *w)
{
	char *buf = w->buf;
	size_t cap = w->cap;
	FILE *out = w->out;
	unsigned flags = w->flags;

	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	w->out = out;
	w->flags = flags;
	if (buf)
		buf[0] = '\0';
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (w->out) {
		if (n && fwrite(s, 1, n, w->out) != n)
			w->err = true;
		w->len += n;
		return;
	}
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		char *p;

		while (w->len + n + 1 > cap) {
			if (cap > SIZE_MAX / 2) {
				w->err = true;
				return;
			}
			cap *= 2;
		}
		p = realloc(w->buf, cap);
		if (!p) {
			w->err = true;
			return;
		}
		w->buf = p;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void putc_(struct json_writer *w, char c)
{
	put(w, &c, 1);
}

/* JSON_PRETTY: a new line indented for the current level. */
static void newline(struct json_writer *w, unsigned depth)
{
	if (!(w->flags & JSON_PRETTY))
		return;
	putc_(w, '\n');
	for (unsigned i = 0; i < depth; i++)
		put(w, "  ", 2);
}

/* Called before every value: commas, and the key rule of objects. */
static void before_value(struct json_writer *w)
{
	if (w->depth == 0) {
		/* One top-level value per writer. */
		if (w->len > 0)
			w->err = true;
		return;
	}
	if (w->in_object[w->depth]) {
		if (!w->after_key)
			w->err = true;
		w->after_key = false;
		return;
	}
	if (w->has_items[w->depth])
		putc_(w, ',');
	w->has_items[w->depth] = true;
	newline(w, w->depth);
}

static void open_container(struct json_writer *w, bool object)
{
	before_value(w);
	if (w->depth >= JSON_DEPTH_MAX) {
		w->err = true;
		return;
	}
	putc_(w, object ? '{' : '[');
	w->depth++;
	w->in_object[w->depth] = object;
	w->has_items[w->depth] = false;
}

static void close_container(struct json_writer *w, bool object)
{
	if (w->depth == 0 || w->in_object[w->depth] != object || w->after_key) {
		w->err = true;
		return;
	}
	if (w->has_items[w->depth])
		newline(w, w->depth - 1);
	putc_(w, object ? '}' : ']');
	w->depth--;
	if (w->depth == 0 && (w->flags & JSON_PRETTY))
		putc_(w, '\n');
}

void json_obj_begin(struct json_writer *w)
{
	open_container(w, true);
}

void json_obj_end(struct json_writer *w)
{
	close_container(w, true);
}

void json_arr_begin(struct json_writer *w)
{
	open_container(w, false);
}

void json_arr_end(struct json_writer *w)
{
	close_container(w, false);
}

static void put_escaped(struct json_writer *w, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	bool octets = w->flags & JSON_OCTETS;

	putc_(w, '"');
	while (i < len) {
		size_t run = i;

		/* Copy the longest stretch that needs no escaping in one go. */
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		put(w, s + i, run - i);
		i = run;
		if (i >= len)
			break;

		unsigned char c = p[i];
		char esc[8];

		switch (c) {
		case '"':
			put(w, "\\\"", 2);
			i++;
			break;
		case '\\':
			put(w, "\\\\", 2);
			i++;
			break;
		case '\n':
			put(w, "\\n", 2);
			i++;
			break;
		case '\r':
			put(w, "\\r", 2);
			i++;
			break;
		case '\t':
			put(w, "\\t", 2);
			i++;
			break;
		default:
			/* JSON_OCTETS names only the five above, and escapes from 0x80 too, read
			 * as Latin-1 (json.h). */
			if (!octets && (c == '\b' || c == '\f')) {
				put(w, c == '\b' ? "\\b" : "\\f", 2);
				i++;
			} else if (c < 0x20 || c == 0x7f || (octets && c >= 0x80)) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				put(w, esc, 6);
				i++;
			} else {
				size_t n = utf8_seq_len(p + i, len - i);

				if (n == 0) {
					put(w, "\\ufffd", 6);
					i++;
				} else {
					put(w, s + i, n);
					i += n;
				}
			}
		}
	}
	putc_(w, '"');
}

void json_key(struct json_writer *w, const char *key)
{
	if (w->depth == 0 || !w->in_object[w->depth] || w->after_key || !key) {
		w->err = true;
		return;
	}
	if (w->has_items[w->depth])
		putc_(w, ',');
	w->has_items[w->depth] = true;
	newline(w, w->depth);
	put_escaped(w, key, strlen(key));
	if (w->flags & JSON_PRETTY)
		put(w, ": ", 2);
	else
		putc_(w, ':');
	w->after_key = true;
}

void json_strn(struct json_writer *w, const char *s, size_t len)
{
	before_value(w);
	put_escaped(w, s, len);
}

void json_str(struct json_writer *w, const char *s)
{
	if (!s) {
		json_null(w);
		return;
	}
	json_strn(w, s, strlen(s));
}

void json_int(struct json_writer *w, int64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%" PRId64, v);

	before_value(w);
	put(w, b, (size_t)n);
}

void json_uint(struct json_writer *w, uint64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%" PRIu64, v);

	before_value(w);
	put(w, b, (size_t)n);
}

void json_bool(struct json_writer *w, bool v)
{
	before_value(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void json_null(struct json_writer *w)
{
	before_value(w);
	put(w, "null", 4);
}

void json_hex(struct json_writer *w, const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char b[2];

	before_value(w);
	putc_(w, '"');
	for (size_t i = 0; i < len; i++) {
		b[0] = digits[p[i] >> 4];
		b[1] = digits[p[i] & 15];
		put(w, b, 2);
	}
	putc_(w, '"');
}

void json_number_text(struct json_writer *w, const char *digits)
{
	before_value(w);
	put(w, digits, strlen(digits));
}

void json_kv_str(struct json_writer *w, const char *key, const char *s)
{
	json_key(w, key);
	json_str(w, s);
}

void json_kv_int(struct json_writer *w, const char *key, int64_t v)
{
	json_key(w, key);
	json_int(w, v);
}

void json_kv_uint(struct json_writer *w, const char *key, uint64_t v)
{
	json_key(w, key);
	json_uint(w, v);
}

void json_kv_bool(struct json_writer *w, const char *key, bool v)
{
	json_key(w, key);
	json_bool(w, v);
}

void json_kv_hex(struct json_writer *w, const char *key, const uint8_t *p, size_t len)
{
	json_key(w, key);
	json_hex(w, p, len);
}

bool json_writer_ok(const struct json_writer *w)
{
	return !w->err && w->depth == 0 && !w->after_key && w->len > 0;
}

const char *json_writer_str(const struct json_writer *w)
{
	return w->buf ? w->buf : "";
}

size_t json_writer_len(const struct json_writer *w)
{
	return w->len;
}

/* ---- reader ---- */

struct parser {
	const char *p;
	size_t len, pos;
	unsigned flags;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct parser *ps, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "offset %zu: %s", ps->pos, msg);
}

static void skip_ws(struct parser *ps)
{
	while (ps->pos < ps->len) {
		char c = ps->p[ps->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		ps->pos++;
	}
}

static bool peek(struct parser *ps, char *c)
{
	if (ps->pos >= ps->len)
		return false;
	*c = ps->p[ps->pos];
	return true;
}

static void free_value_contents(struct json_value *v)
{
	switch (v->type) {
	case JSON_STRING:
		free(v->u.str.s);
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->u.arr.n; i++)
			free_value_contents(&v->u.arr.items[i]);
		free(v->u.arr.items);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->u.obj.n; i++) {
			free(v->u.obj.members[i].key);
			free_value_contents(&v->u.obj.members[i].value);
		}
		free(v->u.obj.members);
		break;
	default:
		break;
	}
	v->type = JSON_NULL;
}

void json_value_free(struct json_value *v)
{
	if (!v)
		return;
	free_value_contents(v);
	free(v);
}

static int hex4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;

	if (ps->len - ps->pos < 4) {
		fail(ps, "truncated \\u escape");
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		char c = ps->p[ps->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else {
			ps->pos--;
			fail(ps, "bad hex digit in \\u escape");
			return -1;
		}
	}
	*out = v;
	return 0;
}

static size_t utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Parses a string at ps->pos (the opening quote) into a new NUL-terminated buffer. */
static char *parse_string(struct parser *ps, size_t *out_len)
{
	size_t start = ++ps->pos; /* past '"' */
	size_t end = start;
	char *o;
	size_t n = 0;

	/*
	 * Decoded text is never longer than the raw text up to the closing
	 * quote (an escape of 2, 6 or 12 characters yields at most 1, 3 or 4
	 * octets), so find that quote first and allocate that much.
	 */
	while (end < ps->len && ps->p[end] != '"')
		end += ps->p[end] == '\\' ? 2 : 1;
	if (end > ps->len)
		end = ps->len;
	o = malloc(end - start + 1);
	if (!o) {
		fail(ps, "out of memory");
		return NULL;
	}
	for (;;) {
		unsigned char c;

		if (ps->pos >= ps->len) {
			fail(ps, "unterminated string");
			goto bad;
		}
		c = (unsigned char)ps->p[ps->pos];
		if (c == '"') {
			ps->pos++;
			break;
		}
		if (c < 0x20) {
			fail(ps, "control character in string");
			goto bad;
		}
		if (c == '\\') {
			uint32_t cp;

			if (++ps->pos >= ps->len) {
				fail(ps, "unterminated escape");
				goto bad;
			}
			c = (unsigned char)ps->p[ps->pos++];
			switch (c) {
			case '"':
			case '\\':
			case '/':
				o[n++] = (char)c;
				break;
			case 'b':
				o[n++] = '\b';
				break;
			case 'f':
				o[n++] = '\f';
				break;
			case 'n':
				o[n++] = '\n';
				break;
			case 'r':
				o[n++] = '\r';
				break;
			case 't':
				o[n++] = '\t';
				break;
			case 'u':
				if (hex4(ps, &cp) < 0)
					goto bad;
				if (cp >= 0xdc00 && cp <= 0xdfff) {
					fail(ps, "lone low surrogate");
					goto bad;
				}
				if (cp >= 0xd800 && cp <= 0xdbff) {
					uint32_t lo;

					if (ps->len - ps->pos < 2 || ps->p[ps->pos] != '\\' ||
					    ps->p[ps->pos + 1] != 'u') {
						fail(ps, "lone high surrogate");
						goto bad;
					}
					ps->pos += 2;
					if (hex4(ps, &lo) < 0)
						goto bad;
					if (lo < 0xdc00 || lo > 0xdfff) {
						fail(ps, "bad surrogate pair");
						goto bad;
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (cp == 0) {
					fail(ps, "\\u0000 is not accepted");
					goto bad;
				}
				/* 6 raw characters decode to at most 3 octets, 12 to 4. */
				n += utf8_put(o + n, cp);
				break;
			default:
				ps->pos--;
				fail(ps, "unknown escape \\%c", c >= 0x20 && c < 0x7f ? c : '?');
				goto bad;
			}
			continue;
		}
		size_t sl = utf8_seq_len((const unsigned char *)ps->p + ps->pos, ps->len - ps->pos);

		if (sl == 0) {
			fail(ps, "invalid UTF-8 in string");
			goto bad;
		}
		memcpy(o + n, ps->p + ps->pos, sl);
		n += sl;
		ps->pos += sl;
	}
	o[n] = '\0';
	*out_len = n;
	return o;
bad:
	free(o);
	return NULL;
}

static int parse_number(struct parser *ps, struct json_value *v)
{
	size_t start = ps->pos;
	bool integral = true;
	char buf[JSON_NUMBER_MAX + 1];
	char c;

	if (peek(ps, &c) && c == '-')
		ps->pos++;
	if (!peek(ps, &c) || c < '0' || c > '9') {
		fail(ps, "bad number");
		return -1;
	}
	if (c == '0') {
		ps->pos++;
	} else {
		while (peek(ps, &c) && c >= '0' && c <= '9')
			ps->pos++;
	}
	if (peek(ps, &c) && c == '.') {
		integral = false;
		ps->pos++;
		if (!peek(ps, &c) || c < '0' || c > '9') {
			fail(ps, "bad number: digit expected after '.'");
			return -1;
		}
		while (peek(ps, &c) && c >= '0' && c <= '9')
			ps->pos++;
	}
	if (peek(ps, &c) && (c == 'e' || c == 'E')) {
		integral = false;
		ps->pos++;
		if (peek(ps, &c) && (c == '+' || c == '-'))
			ps->pos++;
		if (!peek(ps, &c) || c < '0' || c > '9') {
			fail(ps, "bad number: digit expected in exponent");
			return -1;
		}
		while (peek(ps, &c) && c >= '0' && c <= '9')
			ps->pos++;
	}
	if (ps->pos - start > JSON_NUMBER_MAX) {
		fail(ps, "number longer than %d characters", JSON_NUMBER_MAX);
		return -1;
	}
	memcpy(buf, ps->p + start, ps->pos - start);
	buf[ps->pos - start] = '\0';
	v->type = JSON_NUMBER;
	v->u.num.d = strtod(buf, NULL);
	v->u.num.is_int = false;
	if (integral) {
		long long ll;

		errno = 0;
		ll = strtoll(buf, NULL, 10);
		if (errno == 0) {
			v->u.num.i = ll;
			v->u.num.is_int = true;
		}
	}
	return 0;
}

static int parse_literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if (ps->len - ps->pos < n || memcmp(ps->p + ps->pos, word, n) != 0) {
		fail(ps, "unexpected character");
		return -1;
	}
	ps->pos += n;
	return 0;
}

static int parse_value(struct parser *ps, struct json_value *v, unsigned depth);

static int parse_array(struct parser *ps, struct json_value *v, unsigned depth)
{
	size_t cap = 0;
	char c;

	v->type = JSON_ARRAY;
	v->u.arr.items = NULL;
	v->u.arr.n = 0;
	ps->pos++; /* '[' */
	skip_ws(ps);
	if (peek(ps, &c) && c == ']') {
		ps->pos++;
		return 0;
	}
	for (;;) {
		if (v->u.arr.n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct json_value *p = realloc(v->u.arr.items, ncap * sizeof(*p));

			if (!p) {
				fail(ps, "out of memory");
				return -1;
			}
			v->u.arr.items = p;
			cap = ncap;
		}
		skip_ws(ps);
		/* Counted before parsing so a half-built item is freed on error. */
		v->u.arr.items[v->u.arr.n].type = JSON_NULL;
		v->u.arr.n++;
		if (parse_value(ps, &v->u.arr.items[v->u.arr.n - 1], depth + 1) < 0)
			return -1;
		skip_ws(ps);
		if (!peek(ps, &c)) {
			fail(ps, "unterminated array");
			return -1;
		}
		ps->pos++;
		if (c == ']')
			return 0;
		if (c != ',') {
			ps->pos--;
			fail(ps, "',' or ']' expected");
			return -1;
		}
	}
}

static int parse_object(struct parser *ps, struct json_value *v, unsigned depth)
{
	size_t cap = 0;
	char c;

	v->type = JSON_OBJECT;
	v->u.obj.members = NULL;
	v->u.obj.n = 0;
	ps->pos++; /* '{' */
	skip_ws(ps);
	if (peek(ps, &c) && c == '}') {
		ps->pos++;
		return 0;
	}
	for (;;) {
		struct json_member *m;
		size_t klen, key_pos;

		skip_ws(ps);
		if (!peek(ps, &c) || c != '"') {
			fail(ps, "member name (a string) expected");
			return -1;
		}
		if (v->u.obj.n == JSON_MEMBERS_MAX) {
			fail(ps, "more than %d members in an object", JSON_MEMBERS_MAX);
			return -1;
		}
		if (v->u.obj.n == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct json_member *p = realloc(v->u.obj.members, ncap * sizeof(*p));

			if (!p) {
				fail(ps, "out of memory");
				return -1;
			}
			v->u.obj.members = p;
			cap = ncap;
		}
		m = &v->u.obj.members[v->u.obj.n];
		key_pos = ps->pos;
		m->key = parse_string(ps, &klen);
		if (!m->key)
			return -1;
		m->value.type = JSON_NULL;
		v->u.obj.n++; /* counted now so the key is freed on any error below */
		for (size_t i = 0; i + 1 < v->u.obj.n; i++) {
			if (strcmp(v->u.obj.members[i].key, m->key) == 0) {
				ps->pos = key_pos;
				fail(ps, "duplicate key \"%.40s\"", m->key);
				return -1;
			}
		}
		skip_ws(ps);
		if (!peek(ps, &c) || c != ':') {
			fail(ps, "':' expected");
			return -1;
		}
		ps->pos++;
		skip_ws(ps);
		if ((ps->flags & JSON_FLAT) && peek(ps, &c) && (c == '{' || c == '[')) {
			fail(ps, "nested value not accepted here");
			return -1;
		}
		if (parse_value(ps, &m->value, depth + 1) < 0)
			return -1;
		skip_ws(ps);
		if (!peek(ps, &c)) {
			fail(ps, "unterminated object");
			return -1;
		}
		ps->pos++;
		if (c == '}')
			return 0;
		if (c != ',') {
			ps->pos--;
			fail(ps, "',' or '}' expected");
			return -1;
		}
	}
}

static int parse_value(struct parser *ps, struct json_value *v, unsigned depth)
{
	char c;

	v->type = JSON_NULL;
	if (!peek(ps, &c)) {
		fail(ps, "value expected");
		return -1;
	}
	switch (c) {
	case '{':
	case '[':
		if (depth >= JSON_DEPTH_MAX) {
			fail(ps, "nested deeper than %d", JSON_DEPTH_MAX);
			return -1;
		}
		return c == '{' ? parse_object(ps, v, depth) : parse_array(ps, v, depth);
	case '"': {
		size_t n;
		char *s = parse_string(ps, &n);

		if (!s)
			return -1;
		v->type = JSON_STRING;
		v->u.str.s = s;
		v->u.str.len = n;
		return 0;
	}
	case 't':
		if (parse_literal(ps, "true") < 0)
			return -1;
		v->type = JSON_BOOL;
		v->u.b = true;
		return 0;
	case 'f':
		if (parse_literal(ps, "false") < 0)
			return -1;
		v->type = JSON_BOOL;
		v->u.b = false;
		return 0;
	case 'n':
		return parse_literal(ps, "null");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(ps, v);
		fail(ps, "unexpected character");
		return -1;
	}
}

int json_parse(const char *text, size_t len, unsigned flags, struct json_value **out,
	       char *err, size_t errlen)
{
	struct parser ps = { .p = text, .len = len, .flags = flags, .err = err, .errlen = errlen };
	struct json_value *v = calloc(1, sizeof(*v));
	char c;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!v) {
		fail(&ps, "out of memory");
		return -1;
	}
	skip_ws(&ps);
	if ((flags & JSON_FLAT) && (!peek(&ps, &c) || c != '{')) {
		fail(&ps, "an object expected");
		goto bad;
	}
	if (parse_value(&ps, v, 0) < 0)
		goto bad;
	skip_ws(&ps);
	if (ps.pos != ps.len) {
		fail(&ps, "trailing characters after the value");
		goto bad;
	}
	*out = v;
	return 0;
bad:
	json_value_free(v);
	return -1;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->u.obj.n; i++) {
		if (strcmp(v->u.obj.members[i].key, key) == 0)
			return &v->u.obj.members[i].value;
	}
	return NULL;
}

const char *json_get_str(const struct json_value *v, const char *key)
{
	const struct json_value *m = json_get(v, key);

	return m && m->type == JSON_STRING ? m->u.str.s : NULL;
}

bool json_get_int(const struct json_value *v, const char *key, int64_t *out)
{
	const struct json_value *m = json_get(v, key);

	if (!m || m->type != JSON_NUMBER || !m->u.num.is_int)
		return false;
	*out = m->u.num.i;
	return true;
}

bool json_get_bool(const struct json_value *v, const char *key, bool *out)
{
	const struct json_value *m = json_get(v, key);

	if (!m || m->type != JSON_BOOL)
		return false;
	*out = m->u.b;
	return true;
}
