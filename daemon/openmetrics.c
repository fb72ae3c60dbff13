/* OpenMetrics / Prometheus text writer; see openmetrics.h. */
#include "daemon/openmetrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/text.h"

void om_init(struct om_writer *w, enum om_format format)
{
	*w = (struct om_writer){ .format = format };
}

void om_free(struct om_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static bool reserve(struct om_writer *w, size_t more)
{
	size_t cap;
	char *p;

	if (w->err)
		return false;
	if (w->len + more + 1 <= w->cap)
		return true;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + more + 1) {
		if (cap > SIZE_MAX / 2) {
			w->err = true;
			return false;
		}
		cap *= 2;
	}
	p = realloc(w->buf, cap);
	if (!p) {
		w->err = true;
		return false;
	}
	w->buf = p;
	w->cap = cap;
	return true;
}

static void put(struct om_writer *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void puts_(struct om_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static void putf(struct om_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct om_writer *w, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		w->err = true;
		return;
	}
	put(w, tmp, (size_t)n);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* (metric names); without ':' for label names. */
static bool valid_name(const char *s, bool colon)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || (colon && c == ':')))
			return false;
	}
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/*
 * Escapes s for a label value (quote: true) or a HELP text. OpenMetrics
 * escapes \, " and newline in both; the 0.0.4 format's HELP knows only \\
 * and \n (a \" there is an error), and a raw " is fine in it.
 */
static void escape(struct om_writer *w, const char *s, size_t len, bool quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(p + i, len - i);

		if (n == 0) {
			puts_(w, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
			continue;
		}
		if (n == 1 && p[i] == '\\')
			puts_(w, "\\\\");
		else if (n == 1 && p[i] == '\n')
			puts_(w, "\\n");
		else if (n == 1 && p[i] == '"' && (quote || w->format == OM_OPENMETRICS))
			puts_(w, "\\\"");
		else
			put(w, s + i, n);
		i += n;
	}
}

void om_escape_value(struct om_writer *w, const char *s, size_t len)
{
	escape(w, s, len, true);
}

static const char *type_word(const struct om_writer *w, enum om_type t)
{
	switch (t) {
	case OM_COUNTER:
		return "counter";
	case OM_GAUGE:
		return "gauge";
	case OM_INFO:
		return w->format == OM_OPENMETRICS ? "info" : "gauge";
	case OM_STATESET:
		return w->format == OM_OPENMETRICS ? "stateset" : "gauge";
	}
	return "unknown";
}

/* The name samples carry: NAME_total for counters, NAME_info for info. */
static const char *sample_suffix(enum om_type t)
{
	return t == OM_COUNTER ? "_total" : t == OM_INFO ? "_info" : "";
}

void om_family(struct om_writer *w, const char *name, enum om_type type, const char *unit,
	       const char *help)
{
	char unit_suffix[40];
	/* 0.0.4 names the metric by its samples' name in TYPE and HELP. */
	const char *meta_suffix = w->format == OM_OPENMETRICS ? "" : sample_suffix(type);

	if (w->eof || !valid_name(name, true) || strlen(name) + 8 > sizeof(w->family) ||
	    ends_with(name, "_total") || ends_with(name, "_info")) {
		w->err = true;
		return;
	}
	if (unit) {
		snprintf(unit_suffix, sizeof(unit_suffix), "_%s", unit);
		if (!valid_name(unit, false) || !ends_with(name, unit_suffix)) {
			w->err = true;
			return;
		}
	}
	snprintf(w->family, sizeof(w->family), "%s", name);
	w->type = type;
	puts_(w, "# TYPE ");
	puts_(w, name);
	puts_(w, meta_suffix);
	putf(w, " %s\n", type_word(w, type));
	if (unit && w->format == OM_OPENMETRICS) {
		puts_(w, "# UNIT ");
		puts_(w, name);
		putf(w, " %s\n", unit);
	}
	if (help) {
		puts_(w, "# HELP ");
		puts_(w, name);
		puts_(w, meta_suffix);
		puts_(w, " ");
		escape(w, help, strlen(help), false);
		puts_(w, "\n");
	}
}

static void sample_head(struct om_writer *w, const struct om_label *labels, size_t n)
{
	if (w->eof || !w->family[0]) {
		w->err = true;
		return;
	}
	puts_(w, w->family);
	puts_(w, sample_suffix(w->type));
	if (n == 0)
		return;
	puts_(w, "{");
	for (size_t i = 0; i < n; i++) {
		if (!labels[i].name || !valid_name(labels[i].name, false) || !labels[i].value) {
			w->err = true;
			return;
		}
		if (i)
			puts_(w, ",");
		puts_(w, labels[i].name);
		puts_(w, "=\"");
		escape(w, labels[i].value, strlen(labels[i].value), true);
		puts_(w, "\"");
	}
	puts_(w, "}");
}

void om_sample(struct om_writer *w, const struct om_label *labels, size_t n, uint64_t value)
{
	sample_head(w, labels, n);
	putf(w, " %llu\n", (unsigned long long)value);
}

void om_sample_double(struct om_writer *w, const struct om_label *labels, size_t n, double value)
{
	if (!isfinite(value)) {
		w->err = true;
		return;
	}
	sample_head(w, labels, n);
	putf(w, " %.17g\n", value);
}

void om_eof(struct om_writer *w)
{
	if (w->eof) {
		w->err = true;
		return;
	}
	if (w->format == OM_OPENMETRICS)
		puts_(w, "# EOF\n");
	w->eof = true;
}

bool om_ok(const struct om_writer *w)
{
	return !w->err && w->eof;
}

const char *om_str(const struct om_writer *w)
{
	return w->buf ? w->buf : "";
}

size_t om_len(const struct om_writer *w)
{
	return w->len;
}

const char *om_content_type(enum om_format format)
{
	return format == OM_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
					: "text/plain; version=0.0.4; charset=utf-8";
}
