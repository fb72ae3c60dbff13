/*
 * jw: a small streaming JSON writer for ikedump's --json output.
 *
 * Why not daemon/json: ikedump only writes, never reads, and must work
 * before the daemon's JSON module exists; this writer is ~150 lines and
 * keeps the comma/indent bookkeeping in one place so the renderer in
 * ikedump_jsonout.c only says what to emit.
 *
 * Output is always valid JSON (RFC 8259) as long as calls nest
 * correctly: keys are written only inside objects, and strings are
 * escaped.  Bytes >= 0x80 are not assumed to be UTF-8 (IKE identities
 * are arbitrary octets): they are written as \u00XX, i.e. read as
 * Latin-1, which keeps the document valid whatever the input.
 */
#ifndef XIKED_TOOLS_IKEDUMP_JW_H
#define XIKED_TOOLS_IKEDUMP_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_DEPTH_MAX 32

struct jw {
	FILE *out;        /* borrowed */
	int depth;        /* number of open containers */
	bool nonempty[JW_DEPTH_MAX]; /* container at depth i has a member */
	bool after_key;   /* a key was written; the value follows on the same line */
	bool overflow;    /* nesting exceeded JW_DEPTH_MAX: a programming error */
};

/* Start writing to OUT (borrowed; must outlive the writer). */
void jw_init(struct jw *w, FILE *out);

void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
/* Write an object key; the next call writes its value. */
void jw_key(struct jw *w, const char *key);

void jw_str(struct jw *w, const char *s);
/* A string of LEN octets that may contain NULs or any byte value. */
void jw_strn(struct jw *w, const uint8_t *s, size_t len);
/* LEN octets as a lower-case hex string, no separators. */
void jw_hex(struct jw *w, const uint8_t *p, size_t len);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* A number written verbatim from a preformatted decimal (e.g. "12.000345"). */
void jw_number_text(struct jw *w, const char *digits);

/* Convenience: key plus value. */
void jw_kv_str(struct jw *w, const char *key, const char *s);
void jw_kv_uint(struct jw *w, const char *key, uint64_t v);
void jw_kv_bool(struct jw *w, const char *key, bool v);
void jw_kv_hex(struct jw *w, const char *key, const uint8_t *p, size_t len);

/* True when every container was closed and nothing overflowed. */
bool jw_done(const struct jw *w);

#endif
