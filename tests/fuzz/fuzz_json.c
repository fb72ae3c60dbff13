/*
 * libFuzzer target for the JSON reader and writer (daemon/json.c), which
 * read control requests from local clients (JSON_FLAT) and xikectl's
 * replies (any shape). Input: the text of one request/reply line.
 *
 * Checks, each a crash (abort) when violated:
 *  - both flag values; a failure leaves *out NULL and an "offset N: ..."
 *    message; JSON_FLAT only restricts: what it accepts, 0 accepts too;
 *  - walking the tree: strings hold no NUL and are len long, every object
 *    key is found again by json_get* with the member's own type, and keys
 *    are unique (the reader rejects duplicates);
 *  - writer/reader agreement: a tree without fractional numbers, written
 *    back with the writer, parses to an equal tree;
 *  - the writer turns any octets into a valid JSON string: the input as
 *    a string value always parses back (unless it holds a NUL, which the
 *    reader rejects by design), to the very octets when they are UTF-8.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
	fprintf(stderr, "fuzz_json: %s\n", what);
	abort();
}

/* True when v holds a number the writer cannot reproduce (no float writer). */
static bool has_fraction(const struct json_value *v)
{
	switch (v->type) {
	case JSON_NUMBER:
		return !v->u.num.is_int;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->u.arr.n; i++)
			if (has_fraction(&v->u.arr.items[i]))
				return true;
		return false;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->u.obj.n; i++)
			if (has_fraction(&v->u.obj.members[i].value))
				return true;
		return false;
	default:
		return false;
	}
}

/* Walks v with the accessors, checking the invariants in the top comment. */
static void walk(const struct json_value *v, unsigned depth)
{
	if (depth > JSON_DEPTH_MAX + 1)
		die("tree deeper than JSON_DEPTH_MAX");
	switch (v->type) {
	case JSON_NULL:
	case JSON_BOOL:
	case JSON_NUMBER:
		break;
	case JSON_STRING:
		if (!v->u.str.s || strlen(v->u.str.s) != v->u.str.len)
			die("string length disagrees with its NUL");
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->u.arr.n; i++)
			walk(&v->u.arr.items[i], depth + 1);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->u.obj.n; i++) {
			const struct json_member *m = &v->u.obj.members[i];
			int64_t iv;
			bool bv;

			if (json_get(v, m->key) != &m->value)
				die("json_get does not find the member (duplicate key?)");
			if ((json_get_str(v, m->key) != NULL) != (m->value.type == JSON_STRING))
				die("json_get_str disagrees with the member type");
			if (json_get_int(v, m->key, &iv) !=
			    (m->value.type == JSON_NUMBER && m->value.u.num.is_int))
				die("json_get_int disagrees with the member type");
			if (json_get_bool(v, m->key, &bv) != (m->value.type == JSON_BOOL))
				die("json_get_bool disagrees with the member type");
			walk(&m->value, depth + 1);
		}
		break;
	default:
		die("unknown value type");
	}
}

static void write_value(struct json_writer *w, const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL:
		json_null(w);
		break;
	case JSON_BOOL:
		json_bool(w, v->u.b);
		break;
	case JSON_NUMBER:
		json_int(w, v->u.num.i);
		break;
	case JSON_STRING:
		json_strn(w, v->u.str.s, v->u.str.len);
		break;
	case JSON_ARRAY:
		json_arr_begin(w);
		for (size_t i = 0; i < v->u.arr.n; i++)
			write_value(w, &v->u.arr.items[i]);
		json_arr_end(w);
		break;
	case JSON_OBJECT:
		json_obj_begin(w);
		for (size_t i = 0; i < v->u.obj.n; i++) {
			json_key(w, v->u.obj.members[i].key);
			write_value(w, &v->u.obj.members[i].value);
		}
		json_obj_end(w);
		break;
	}
}

static bool equal(const struct json_value *a, const struct json_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case JSON_NULL:
		return true;
	case JSON_BOOL:
		return a->u.b == b->u.b;
	case JSON_NUMBER:
		return a->u.num.is_int == b->u.num.is_int && a->u.num.i == b->u.num.i;
	case JSON_STRING:
		return a->u.str.len == b->u.str.len &&
		       memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
	case JSON_ARRAY:
		if (a->u.arr.n != b->u.arr.n)
			return false;
		for (size_t i = 0; i < a->u.arr.n; i++)
			if (!equal(&a->u.arr.items[i], &b->u.arr.items[i]))
				return false;
		return true;
	case JSON_OBJECT:
		if (a->u.obj.n != b->u.obj.n)
			return false;
		for (size_t i = 0; i < a->u.obj.n; i++)
			if (strcmp(a->u.obj.members[i].key, b->u.obj.members[i].key) != 0 ||
			    !equal(&a->u.obj.members[i].value, &b->u.obj.members[i].value))
				return false;
		return true;
	}
	return false;
}

static void check_error(int rc, const struct json_value *v, const char *err)
{
	if (rc == 0)
		return;
	if (rc != -1 || v != NULL)
		die("failure must be -1 with *out NULL");
	if (strncmp(err, "offset ", 7) != 0)
		die("error text does not start with the offset");
}

/* Writes v and parses the text again: the same tree must come back. */
static void round_trip(const struct json_value *v, unsigned flags)
{
	struct json_writer w;
	struct json_value *again = NULL;
	char err[200];

	if (has_fraction(v))
		return;
	json_writer_init(&w);
	write_value(&w, v);
	if (!json_writer_ok(&w))
		die("writer refused a tree the reader built");
	if (json_parse(json_writer_str(&w), json_writer_len(&w), flags, &again, err,
		       sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_json: %s\n%s\n", err, json_writer_str(&w));
		die("written tree does not parse again");
	}
	if (!equal(v, again))
		die("written tree parses to a different tree");
	json_value_free(again);
	json_writer_free(&w);
}

/* The writer's escaping of arbitrary octets, read back by the reader. */
static void string_property(const uint8_t *data, size_t size)
{
	struct json_writer w;
	struct json_value *v = NULL;
	char err[200];

	json_writer_init(&w);
	json_strn(&w, (const char *)data, size);
	if (!json_writer_ok(&w))
		die("writer failed on a string");
	int rc = json_parse(json_writer_str(&w), json_writer_len(&w), 0, &v, err, sizeof(err));
	if (memchr(data, 0, size) != NULL) {
		/* NUL is written as \u0000, which the reader refuses by design. */
		if (rc == 0)
			die("reader accepted \\u0000");
	} else {
		if (rc != 0 || v->type != JSON_STRING) {
			fprintf(stderr, "fuzz_json: %s\n", err);
			die("written string does not parse again");
		}
		/* Without invalid UTF-8 the octets come back unchanged. */
		if (!strstr(json_writer_str(&w), "\\ufffd") &&
		    (v->u.str.len != size || memcmp(v->u.str.s, data, size) != 0))
			die("valid UTF-8 string changed by write + read");
	}
	json_value_free(v);
	json_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct json_value *any = NULL, *flat = NULL;
	char err[200];

	int rc_any = json_parse(text, size, 0, &any, err, sizeof(err));
	check_error(rc_any, any, err);
	int rc_flat = json_parse(text, size, JSON_FLAT, &flat, err, sizeof(err));
	check_error(rc_flat, flat, err);
	if (rc_flat == 0 && rc_any != 0)
		die("JSON_FLAT accepted what the unrestricted reader refused");
	if (any) {
		walk(any, 0);
		round_trip(any, 0);
	}
	if (flat) {
		if (flat->type != JSON_OBJECT)
			die("JSON_FLAT returned something else than an object");
		for (size_t i = 0; i < flat->u.obj.n; i++) {
			enum json_type t = flat->u.obj.members[i].value.type;
			if (t == JSON_ARRAY || t == JSON_OBJECT)
				die("JSON_FLAT returned a nested member");
		}
		if (!equal(any, flat))
			die("JSON_FLAT and unrestricted trees differ");
		walk(flat, 0);
		round_trip(flat, JSON_FLAT);
	}
	json_value_free(any);
	json_value_free(flat);
	string_property(data, size);
	return 0;
}
