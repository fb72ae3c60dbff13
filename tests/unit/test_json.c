/* JSON writer and reader (daemon/json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/json.h"

static void test_writer_nesting(void **state)
{
	struct json_writer w;

	(void)state;
	json_writer_init(&w);
	json_obj_begin(&w);
	json_kv_bool(&w, "ok", true);
	json_key(&w, "ike_sas");
	json_arr_begin(&w);
	json_obj_begin(&w);
	json_kv_str(&w, "name", "site-b");
	json_kv_uint(&w, "bytes", UINT64_MAX);
	json_kv_int(&w, "neg", INT64_MIN);
	json_key(&w, "ts");
	json_arr_begin(&w);
	json_str(&w, "10.1.0.0/24");
	json_str(&w, "10.2.0.0/24");
	json_arr_end(&w);
	json_key(&w, "none");
	json_null(&w);
	json_key(&w, "empty");
	json_obj_begin(&w);
	json_obj_end(&w);
	json_obj_end(&w);
	json_int(&w, 7);
	json_bool(&w, false);
	json_arr_end(&w);
	json_obj_end(&w);
	assert_true(json_writer_ok(&w));
	assert_string_equal(json_writer_str(&w),
			    "{\"ok\":true,\"ike_sas\":[{\"name\":\"site-b\","
			    "\"bytes\":18446744073709551615,\"neg\":-9223372036854775808,"
			    "\"ts\":[\"10.1.0.0/24\",\"10.2.0.0/24\"],\"none\":null,\"empty\":{}},"
			    "7,false]}");
	assert_int_equal(json_writer_len(&w), strlen(json_writer_str(&w)));
	json_writer_free(&w);
}

static void test_writer_escaping(void **state)
{
	struct json_writer w;
	/* quote, backslash, controls, DEL, UTF-8 (é, €, U+1F600), then invalid bytes */
	const char in[] = "a\"b\\c\n\r\t\b\f\x01\x1f\x7f/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			  "\xff\xc3(\xed\xa0\x80";

	(void)state;
	json_writer_init(&w);
	json_strn(&w, in, sizeof(in) - 1);
	assert_true(json_writer_ok(&w));
	assert_string_equal(json_writer_str(&w),
			    "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f/"
			    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			    "\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\"");

	/* Whatever we write, the reader takes back. */
	struct json_value *v;
	char err[128];

	assert_int_equal(json_parse(json_writer_str(&w), json_writer_len(&w), 0, &v, err,
				    sizeof(err)), 0);
	assert_int_equal(v->type, JSON_STRING);
	assert_memory_equal(v->u.str.s, "a\"b\\c\n\r\t\b\f\x01\x1f\x7f/\xc3\xa9", 16);
	json_value_free(v);

	/* Embedded NUL via json_strn is escaped, not truncated. */
	json_writer_reset(&w);
	json_strn(&w, "a\0b", 3);
	assert_string_equal(json_writer_str(&w), "\"a\\u0000b\"");
	json_writer_free(&w);
}

static void test_writer_misuse(void **state)
{
	struct json_writer w;

	(void)state;
	/* value without key in an object */
	json_writer_init(&w);
	json_obj_begin(&w);
	json_str(&w, "x");
	json_obj_end(&w);
	assert_false(json_writer_ok(&w));
	json_writer_free(&w);

	/* key inside an array */
	json_writer_init(&w);
	json_arr_begin(&w);
	json_key(&w, "k");
	json_arr_end(&w);
	assert_false(json_writer_ok(&w));
	json_writer_free(&w);

	/* mismatched end, unclosed, key without value, two top-level values */
	json_writer_init(&w);
	json_obj_begin(&w);
	json_arr_end(&w);
	assert_false(json_writer_ok(&w));
	json_writer_free(&w);

	json_writer_init(&w);
	json_obj_begin(&w);
	assert_false(json_writer_ok(&w));
	json_key(&w, "k");
	json_obj_end(&w);
	assert_false(json_writer_ok(&w));
	json_writer_free(&w);

	json_writer_init(&w);
	json_int(&w, 1);
	assert_true(json_writer_ok(&w));
	json_int(&w, 2);
	assert_false(json_writer_ok(&w));
	json_writer_free(&w);

	/* nesting beyond the limit */
	json_writer_init(&w);
	for (int i = 0; i < JSON_DEPTH_MAX + 1; i++)
		json_arr_begin(&w);
	assert_false(json_writer_ok(&w));
	json_writer_free(&w);

	/* exactly the limit is fine */
	json_writer_init(&w);
	for (int i = 0; i < JSON_DEPTH_MAX; i++)
		json_arr_begin(&w);
	for (int i = 0; i < JSON_DEPTH_MAX; i++)
		json_arr_end(&w);
	assert_true(json_writer_ok(&w));
	json_writer_free(&w);

	/* reset gives a clean writer */
	json_writer_init(&w);
	json_str(&w, "a");
	json_writer_reset(&w);
	assert_string_equal(json_writer_str(&w), "");
	json_bool(&w, true);
	assert_true(json_writer_ok(&w));
	assert_string_equal(json_writer_str(&w), "true");
	json_writer_free(&w);
}

static struct json_value *parse_ok(const char *s, unsigned flags)
{
	struct json_value *v = NULL;
	char err[128];

	if (json_parse(s, strlen(s), flags, &v, err, sizeof(err)) != 0)
		fail_msg("'%s' rejected: %s", s, err);
	return v;
}

static void parse_bad(const char *s, unsigned flags, const char *needle)
{
	struct json_value *v = (struct json_value *)1;
	char err[128];

	assert_int_equal(json_parse(s, strlen(s), flags, &v, err, sizeof(err)), -1);
	assert_null(v);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", s, err, needle);
}

/* The file writer as ikedump --json uses it: pretty, octet strings, hex, preformatted numbers. */
static void test_writer_file_pretty_octets(void **state)
{
	struct json_writer w;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	static const uint8_t id[] = {'a', '"', 0x00, 0x08, 0x7f, 0xe9, '\n'};
	static const uint8_t spi[] = {0x01, 0xab, 0xff};

	(void)state;
	assert_non_null(f);
	json_writer_init_file(&w, f, JSON_PRETTY | JSON_OCTETS);
	json_arr_begin(&w);
	json_obj_begin(&w);
	json_key(&w, "time");
	json_number_text(&w, "12.000345");
	json_key(&w, "id");
	json_strn(&w, (const char *)id, sizeof(id));
	json_kv_hex(&w, "spi", spi, sizeof(spi));
	json_key(&w, "empty");
	json_arr_begin(&w);
	json_arr_end(&w);
	json_obj_end(&w);
	json_uint(&w, 7);
	json_arr_end(&w);
	assert_true(json_writer_ok(&w));
	assert_int_equal(fclose(f), 0);
	assert_string_equal(text, "[\n"
				  "  {\n"
				  "    \"time\": 12.000345,\n"
				  "    \"id\": \"a\\\"\\u0000\\u0008\\u007f\\u00e9\\n\",\n"
				  "    \"spi\": \"01abff\",\n"
				  "    \"empty\": []\n"
				  "  },\n"
				  "  7\n"
				  "]\n");
	assert_int_equal(json_writer_len(&w), len);
	assert_string_equal(json_writer_str(&w), "");
	free(text);

	/* Compact buffer writer: the same hex and number calls, no layout. */
	json_writer_init(&w);
	json_obj_begin(&w);
	json_kv_hex(&w, "k", spi, 2);
	json_key(&w, "t");
	json_number_text(&w, "1.5");
	json_obj_end(&w);
	assert_true(json_writer_ok(&w));
	assert_string_equal(json_writer_str(&w), "{\"k\":\"01ab\",\"t\":1.5}");
	json_writer_free(&w);
}

static void test_reader_requests(void **state)
{
	struct json_value *v;
	int64_t i;
	bool b;

	(void)state;
	v = parse_ok("{\"cmd\":\"status\"}", JSON_FLAT);
	assert_string_equal(json_get_str(v, "cmd"), "status");
	assert_null(json_get_str(v, "conn"));
	json_value_free(v);

	v = parse_ok(" \t{ \"cmd\" : \"up\" , \"conn\":\"site-b\", \"n\": -42, \"f\": 1.5e3,"
		     " \"t\": true, \"z\": null }\r\n", JSON_FLAT);
	assert_string_equal(json_get_str(v, "cmd"), "up");
	assert_string_equal(json_get_str(v, "conn"), "site-b");
	assert_true(json_get_int(v, "n", &i));
	assert_int_equal(i, -42);
	assert_false(json_get_int(v, "f", &i)); /* not an integer */
	assert_true(json_get(v, "f")->u.num.d == 1500.0);
	assert_true(json_get_bool(v, "t", &b));
	assert_true(b);
	assert_int_equal(json_get(v, "z")->type, JSON_NULL);
	assert_false(json_get_bool(v, "cmd", &b));
	assert_int_equal(v->u.obj.n, 6);
	json_value_free(v);

	/* escapes decode, including a surrogate pair */
	v = parse_ok("{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}", JSON_FLAT);
	assert_string_equal(json_get_str(v, "s"), "\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
	json_value_free(v);

	v = parse_ok("{}", JSON_FLAT);
	assert_int_equal(v->u.obj.n, 0);
	json_value_free(v);

	/* integer range edges */
	v = parse_ok("{\"a\":9223372036854775807,\"b\":9223372036854775808,\"c\":-0}", JSON_FLAT);
	assert_true(json_get_int(v, "a", &i));
	assert_true(i == INT64_MAX);
	assert_false(json_get_int(v, "b", &i));
	assert_true(json_get_int(v, "c", &i));
	assert_int_equal(i, 0);
	json_value_free(v);
}

static void test_reader_rejects(void **state)
{
	(void)state;
	parse_bad("", 0, "value expected");
	parse_bad("[1]", JSON_FLAT, "an object expected");
	parse_bad("\"cmd\"", JSON_FLAT, "an object expected");
	parse_bad("{\"cmd\":{\"x\":1}}", JSON_FLAT, "nested");
	parse_bad("{\"cmd\":[1]}", JSON_FLAT, "nested");
	parse_bad("{\"cmd\":\"a\",\"cmd\":\"b\"}", JSON_FLAT, "duplicate key");
	parse_bad("{\"cmd\":\"status\"} x", JSON_FLAT, "trailing");
	parse_bad("{\"cmd\":\"status\"}{}", JSON_FLAT, "trailing");
	parse_bad("{\"cmd\":\"status\"", JSON_FLAT, "unterminated object");
	parse_bad("{\"cmd\":\"stat", JSON_FLAT, "unterminated string");
	parse_bad("{\"cmd\" \"x\"}", JSON_FLAT, "':' expected");
	parse_bad("{cmd:\"x\"}", JSON_FLAT, "member name");
	parse_bad("{\"a\":1,}", JSON_FLAT, "member name");
	parse_bad("{\"a\":1 \"b\":2}", JSON_FLAT, "',' or '}'");
	parse_bad("{\"a\":tru}", JSON_FLAT, "unexpected");
	parse_bad("{\"a\":'x'}", JSON_FLAT, "unexpected");
	parse_bad("{\"a\":01}", JSON_FLAT, "',' or '}'");
	parse_bad("{\"a\":1.}", JSON_FLAT, "digit expected");
	parse_bad("{\"a\":1e}", JSON_FLAT, "exponent");
	parse_bad("{\"a\":-}", JSON_FLAT, "bad number");
	parse_bad("{\"a\":+1}", JSON_FLAT, "unexpected");
	parse_bad("{\"a\":\"x\ny\"}", JSON_FLAT, "control character");
	parse_bad("{\"a\":\"\\x\"}", JSON_FLAT, "unknown escape");
	parse_bad("{\"a\":\"\\u12g4\"}", JSON_FLAT, "bad hex");
	parse_bad("{\"a\":\"\\u0000\"}", JSON_FLAT, "\\u0000");
	parse_bad("{\"a\":\"\\ud800\"}", JSON_FLAT, "lone high surrogate");
	parse_bad("{\"a\":\"\\udc00\"}", JSON_FLAT, "lone low surrogate");
	parse_bad("{\"a\":\"\\ud800\\u0041\"}", JSON_FLAT, "bad surrogate pair");
	parse_bad("{\"a\":\"\xff\"}", JSON_FLAT, "invalid UTF-8");
	parse_bad("{\"a\":\"\xc0\xaf\"}", JSON_FLAT, "invalid UTF-8"); /* overlong '/' */
	parse_bad("{\"a\":\"\xed\xa0\x80\"}", JSON_FLAT, "invalid UTF-8"); /* surrogate */
}

static void test_reader_nul_and_length(void **state)
{
	struct json_value *v;
	char err[128];
	const char with_nul[] = "{\"a\":\"b\"}\0junk";

	(void)state;
	/* The length bounds the input; bytes after it are never read. */
	assert_int_equal(json_parse(with_nul, 9, JSON_FLAT, &v, err, sizeof(err)), 0);
	json_value_free(v);
	/* A NUL inside the given length is garbage. */
	assert_int_equal(json_parse(with_nul, sizeof(with_nul) - 1, JSON_FLAT, &v, err,
				    sizeof(err)), -1);
	assert_non_null(strstr(err, "trailing"));
	/* Error offsets point at the problem. */
	assert_int_equal(json_parse("{\"a\":1,x}", 9, JSON_FLAT, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "offset 7"));
}

static void test_reader_nested(void **state)
{
	struct json_value *v;
	char err[128];
	char deep[2 * (JSON_DEPTH_MAX + 1) + 1];
	const struct json_value *sas, *sa;

	(void)state;
	v = parse_ok("{\"ok\":true,\"ike_sas\":[{\"name\":\"x\",\"child_sas\":[{\"name\":\"c\","
		     "\"local_ts\":[\"10.1.0.0/24\"]}]},{\"name\":\"y\",\"child_sas\":[]}]}",
		     0);
	sas = json_get(v, "ike_sas");
	assert_int_equal(sas->type, JSON_ARRAY);
	assert_int_equal(sas->u.arr.n, 2);
	sa = &sas->u.arr.items[0];
	assert_string_equal(json_get_str(sa, "name"), "x");
	assert_string_equal(
		json_get(&json_get(sa, "child_sas")->u.arr.items[0], "local_ts")->u.arr.items[0].u.str.s,
		"10.1.0.0/24");
	json_value_free(v);

	/* depth limit: JSON_DEPTH_MAX nested arrays are fine, one more is not */
	memset(deep, '[', JSON_DEPTH_MAX);
	memset(deep + JSON_DEPTH_MAX, ']', JSON_DEPTH_MAX);
	assert_int_equal(json_parse(deep, 2 * JSON_DEPTH_MAX, 0, &v, err, sizeof(err)), 0);
	json_value_free(v);
	memset(deep, '[', JSON_DEPTH_MAX + 1);
	memset(deep + JSON_DEPTH_MAX + 1, ']', JSON_DEPTH_MAX + 1);
	assert_int_equal(json_parse(deep, 2 * (JSON_DEPTH_MAX + 1), 0, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "deeper"));

	/* an error deep inside frees everything built so far (checked under ASan/valgrind) */
	{
		const char *bad = "[{\"a\":[1,2,{\"b\":\"c\"}]},{\"d\":[\"e\",x]}]";

		assert_int_equal(json_parse(bad, strlen(bad), 0, &v, err, sizeof(err)), -1);
		assert_null(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_nesting),
		cmocka_unit_test(test_writer_escaping),
		cmocka_unit_test(test_writer_misuse),
		cmocka_unit_test(test_writer_file_pretty_octets),
		cmocka_unit_test(test_reader_requests),
		cmocka_unit_test(test_reader_rejects),
		cmocka_unit_test(test_reader_nul_and_length),
		cmocka_unit_test(test_reader_nested),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
