/*
 * Streaming JSON writer for ikedump (see ikedump_jw.h).  Pretty-prints
 * with a two-space indent so that diffs of ikedump --json output stay
 * readable.
 */
#include "tools/ikedump_jw.h"

#include <inttypes.h>
#include <string.h>

void jw_init(struct jw *w, FILE *out)
{
	*w = (struct jw){ .out = out };
}

static void jw_indent(struct jw *w)
{
	fputc('\n', w->out);
	for (int i = 0; i < w->depth; i++)
		fputs("  ", w->out);
}

/* Separator and indentation before any value or key at the current level. */
static void jw_before_value(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		if (w->nonempty[w->depth - 1])
			fputc(',', w->out);
		w->nonempty[w->depth - 1] = true;
		jw_indent(w);
	}
}

static void jw_open(struct jw *w, char c)
{
	jw_before_value(w);
	fputc(c, w->out);
	if (w->depth >= JW_DEPTH_MAX) {
		w->overflow = true;
		return;
	}
	w->nonempty[w->depth++] = false;
}

static void jw_close(struct jw *w, char c)
{
	if (w->depth == 0) {
		w->overflow = true;
		return;
	}
	w->depth--;
	if (w->nonempty[w->depth])
		jw_indent(w);
	fputc(c, w->out);
	if (w->depth == 0)
		fputc('\n', w->out);
}

void jw_obj_begin(struct jw *w) { jw_open(w, '{'); }
void jw_obj_end(struct jw *w) { jw_close(w, '}'); }
void jw_arr_begin(struct jw *w) { jw_open(w, '['); }
void jw_arr_end(struct jw *w) { jw_close(w, ']'); }

static void jw_put_escaped(struct jw *w, const uint8_t *s, size_t len)
{
	fputc('"', w->out);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		switch (c) {
		case '"': fputs("\\\"", w->out); break;
		case '\\': fputs("\\\\", w->out); break;
		case '\n': fputs("\\n", w->out); break;
		case '\r': fputs("\\r", w->out); break;
		case '\t': fputs("\\t", w->out); break;
		default:
			/* RFC 8259 7: control characters must be escaped; bytes
			 * >= 0x7f are escaped too so the output stays valid UTF-8
			 * whatever the identity octets were. */
			if (c < 0x20 || c >= 0x7f)
				fprintf(w->out, "\\u%04x", c);
			else
				fputc(c, w->out);
		}
	}
	fputc('"', w->out);
}

void jw_key(struct jw *w, const char *key)
{
	jw_before_value(w);
	jw_put_escaped(w, (const uint8_t *)key, strlen(key));
	fputs(": ", w->out);
	w->after_key = true;
}

void jw_strn(struct jw *w, const uint8_t *s, size_t len)
{
	jw_before_value(w);
	jw_put_escaped(w, s, len);
}

void jw_str(struct jw *w, const char *s)
{
	jw_strn(w, (const uint8_t *)s, strlen(s));
}

void jw_hex(struct jw *w, const uint8_t *p, size_t len)
{
	jw_before_value(w);
	fputc('"', w->out);
	for (size_t i = 0; i < len; i++)
		fprintf(w->out, "%02x", p[i]);
	fputc('"', w->out);
}

void jw_uint(struct jw *w, uint64_t v)
{
	jw_before_value(w);
	fprintf(w->out, "%" PRIu64, v);
}

void jw_bool(struct jw *w, bool v)
{
	jw_before_value(w);
	fputs(v ? "true" : "false", w->out);
}

void jw_null(struct jw *w)
{
	jw_before_value(w);
	fputs("null", w->out);
}

void jw_number_text(struct jw *w, const char *digits)
{
	jw_before_value(w);
	fputs(digits, w->out);
}

void jw_kv_str(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kv_uint(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_uint(w, v);
}

void jw_kv_bool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_kv_hex(struct jw *w, const char *key, const uint8_t *p, size_t len)
{
	jw_key(w, key);
	jw_hex(w, p, len);
}

bool jw_done(const struct jw *w)
{
	return w->depth == 0 && !w->overflow && !w->after_key;
}
