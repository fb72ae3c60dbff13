/* Wycheproof vector files for the unit tests; see wycheproof.h. */
#include "tests/unit/wycheproof.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *wp_hex(const struct json_value *t, const char *key, size_t *len)
{
	const char *s = json_get_str(t, key);
	size_t n = s ? strlen(s) : 0;
	uint8_t *out = malloc(n / 2 + 1);

	assert_non_null(out);
	if (n % 2)
		fail_msg("tcId %lld: odd-length hex in %s", (long long)wp_tcid(t), key);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			fail_msg("tcId %lld: bad hex in %s", (long long)wp_tcid(t), key);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

bool wp_flag(const struct json_value *t, const char *flag)
{
	const struct json_value *f = json_get(t, "flags");

	if (!f || f->type != JSON_ARRAY)
		return false;
	for (size_t i = 0; i < f->u.arr.n; i++)
		if (f->u.arr.items[i].type == JSON_STRING && strcmp(f->u.arr.items[i].u.str.s, flag) == 0)
			return true;
	return false;
}

const char *wp_result(const struct json_value *t)
{
	const char *r = json_get_str(t, "result");

	return r ? r : "";
}

int64_t wp_tcid(const struct json_value *t)
{
	int64_t id = 0;

	json_get_int(t, "tcId", &id);
	return id;
}

void wp_run(const char *file, wp_check_fn check, void *ctx)
{
	const char *dir = getenv("XIKED_FIXTURES");
	char path[4096], err[128];
	struct json_value *doc = NULL;
	const struct json_value *groups;
	struct wp_tally tally = { .file = file };
	int64_t declared = -1;
	size_t len = 0;
	char *text;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/wycheproof/%s", dir, file);
	text = read_file(path, &len);
	if (!text)
		fail_msg("cannot read %s", path);
	if (json_parse(text, len, 0, &doc, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	free(text);
	assert_true(json_get_int(doc, "numberOfTests", &declared));
	groups = json_get(doc, "testGroups");
	assert_non_null(groups);
	assert_int_equal(groups->type, JSON_ARRAY);
	for (size_t g = 0; g < groups->u.arr.n; g++) {
		const struct json_value *grp = &groups->u.arr.items[g];
		const struct json_value *tests = json_get(grp, "tests");

		assert_non_null(tests);
		assert_int_equal(tests->type, JSON_ARRAY);
		for (size_t i = 0; i < tests->u.arr.n; i++) {
			const struct json_value *t = &tests->u.arr.items[i];
			const char *r = wp_result(t);

			tally.total++;
			if (strcmp(r, "valid") == 0)
				tally.valid++;
			else if (strcmp(r, "invalid") == 0)
				tally.invalid++;
			else if (strcmp(r, "acceptable") == 0)
				tally.acceptable++;
			else
				fail_msg("%s tcId %lld: result '%s'", file, (long long)wp_tcid(t), r);
			if (check(grp, t, &tally, ctx))
				tally.passed++;
		}
	}
	json_value_free(doc);
	printf("wycheproof %s: %u vectors, %u passed (valid %u, invalid %u, acceptable %u"
	       ", of which refused %u)\n", file, tally.total, tally.passed, tally.valid,
	       tally.invalid, tally.acceptable, tally.refused_acceptable);
	assert_int_equal(tally.total, declared);
	assert_int_equal(tally.passed, tally.total);
}
