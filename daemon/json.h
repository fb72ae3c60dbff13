/*
 * Small JSON writer and bounded reader for the control protocol
 * (doc/xiked.conf.5, CONTROL PROTOCOL): one JSON object per line.
 *
 * The writer appends to a growable buffer, or streams to a FILE
 * (json_writer_init_file: ikedump --json), and records misuse (a value
 * without a key inside an object, unbalanced ends, out of memory, a failed
 * write) in a sticky error flag checked once at the end, so emitters need
 * not check every call. Strings are escaped per RFC 8259 section 7; bytes
 * that are not valid UTF-8 become U+FFFD so the output is always valid
 * JSON (with JSON_OCTETS: \u00XX, see there).
 *
 * The reader builds a tree with hard limits (nesting depth, input size
 * given by the caller), rejects duplicate keys, "\u0000", invalid UTF-8
 * and trailing garbage, and reports what is wrong with a byte offset.
 * JSON_FLAT restricts it to what control requests use: one object whose
 * members are strings, numbers, booleans or null.
 */
#ifndef XIKED_JSON_H
#define XIKED_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Deepest nesting of arrays/objects either side accepts. */
#define JSON_DEPTH_MAX 32

/* ---- writer ---- */

/* Writer flags (json_writer_init_file). */
/* A member or item per line, indented two spaces per level, ": " after keys, a newline after
 * the top-level value (diffs of the output stay readable). */
#define JSON_PRETTY 1u
/* Strings are octets, not text (IKE identities): \" \\ \n \r \t are named, every other
 * octet below 0x20 or from 0x7f is \u00XX (read as Latin-1), so any input gives valid
 * JSON that says exactly which octets there were. */
#define JSON_OCTETS 2u

struct json_writer {
	char *buf; /* NUL-terminated; owned (NULL when writing to out) */
	size_t len, cap; /* len: octets written so far, also to out */
	FILE *out; /* borrowed; when set, text goes there instead of buf */
	unsigned flags; /* JSON_PRETTY, JSON_OCTETS */
	unsigned depth;
	bool in_object[JSON_DEPTH_MAX + 1]; /* per level: object (true) or array */
	bool has_items[JSON_DEPTH_MAX + 1]; /* per level: a comma goes before the next item */
	bool after_key; /* a key was written, its value is next */
	bool err;
};

/* Initializes a caller-owned writer (no allocation yet). */
void json_writer_init(struct json_writer *w);
/* A writer that streams to out (borrowed; must outlive the writer) with flags (JSON_*);
 * json_writer_str is then "". A failed write is an error (json_writer_ok). */
void json_writer_init_file(struct json_writer *w, FILE *out, unsigned flags);
/* Frees the buffer; the writer may be initialized again. */
void json_writer_free(struct json_writer *w);
/* Empties the writer for reuse (keeps the buffer). */
void json_writer_reset(struct json_writer *w);

void json_obj_begin(struct json_writer *w);
void json_obj_end(struct json_writer *w);
void json_arr_begin(struct json_writer *w);
void json_arr_end(struct json_writer *w);
/* An object member's key (borrowed); the value call follows. */
void json_key(struct json_writer *w, const char *key);
/* A string value (borrowed); NULL writes null. */
void json_str(struct json_writer *w, const char *s);
void json_strn(struct json_writer *w, const char *s, size_t len);
void json_int(struct json_writer *w, int64_t v);
void json_uint(struct json_writer *w, uint64_t v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);
/* len octets of p (borrowed) as a string of lower-case hex digits, no separators. */
void json_hex(struct json_writer *w, const uint8_t *p, size_t len);
/* A number written as it is from a preformatted decimal (borrowed; e.g. "12.000345"). */
void json_number_text(struct json_writer *w, const char *digits);

/* key + value shorthands. */
void json_kv_str(struct json_writer *w, const char *key, const char *s);
void json_kv_int(struct json_writer *w, const char *key, int64_t v);
void json_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);
void json_kv_hex(struct json_writer *w, const char *key, const uint8_t *p, size_t len);

/* True when no error happened and every object/array is closed. */
bool json_writer_ok(const struct json_writer *w);
/* The text so far (borrowed from the writer; "" when empty). */
const char *json_writer_str(const struct json_writer *w);
size_t json_writer_len(const struct json_writer *w);

/* ---- reader ---- */

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member;

struct json_value {
	enum json_type type;
	union {
		bool b;
		struct {
			double d;
			int64_t i; /* valid when is_int */
			bool is_int; /* an integer literal within int64_t */
		} num;
		struct {
			char *s; /* NUL-terminated UTF-8 without NULs */
			size_t len;
		} str;
		struct {
			struct json_value *items;
			size_t n;
		} arr;
		struct {
			struct json_member *members; /* in input order */
			size_t n;
		} obj;
	} u;
};

struct json_member {
	char *key;
	struct json_value value;
};

/* Only a flat object (members are scalars): the control request shape. */
#define JSON_FLAT 0x1u

/*
 * Parses text[0..len) (borrowed; need not be NUL-terminated) as one JSON
 * value, optionally surrounded by whitespace. On success *out is a new tree
 * the caller frees with json_value_free() and 0 is returned; on error -1
 * and err holds "offset N: what is wrong".
 */
int json_parse(const char *text, size_t len, unsigned flags, struct json_value **out,
	       char *err, size_t errlen);
/* Frees a tree from json_parse(). NULL-safe. */
void json_value_free(struct json_value *v);

/* Member key of object v (borrowed), or NULL if v is not an object or has no such key. */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* Member key's string, or NULL if absent or not a string. */
const char *json_get_str(const struct json_value *v, const char *key);
/* Member key's integer into *out; false if absent or not an integer. */
bool json_get_int(const struct json_value *v, const char *key, int64_t *out);
/* Member key's boolean into *out; false if absent or not a boolean. */
bool json_get_bool(const struct json_value *v, const char *key, bool *out);

#endif
