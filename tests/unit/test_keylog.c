/*
 * [daemon] keylog = FILE (daemon/keylog.h, issue 13.8): each IKE SA's keys
 * in ikedump's --keys format, after IKE_SA_INIT and for the new IKE SA of
 * a rekey; the file 0600; never a key in a log line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/secret.h"
#include "daemon/keylog.h"
#include "daemon/log.h"
#include "engine_world.h"

static char dir[64];
static char key_hex[2][300]; /* SK_ei of the IKE SAs, as hex: must never be logged */
static int logged_keys, warnings;

static void hex(const struct secret *s, char *out)
{
	for (size_t i = 0; i < s->len; i++)
		sprintf(out + 2 * i, "%02x", s->data[i]);
	out[2 * s->len] = '\0';
}

static void sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx;
	(void)g;
	for (int i = 0; i < 2; i++)
		if (key_hex[i][0] && strstr(msg, key_hex[i]))
			logged_keys++;
	if (l == LOG_LVL_WARN && strstr(msg, "keylog = ") && strstr(msg, "debugging only"))
		warnings++;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The line keylog must have written for sa. */
static void want_line(const struct ikesa *sa, const char *conn, const char *encr, char *out,
		      size_t len)
{
	char ei[300], er[300], ai[300] = "", ar[300] = "";

	hex(sa->keys.sk_ei, ei);
	hex(sa->keys.sk_er, er);
	if (sa->keys.sk_ai) {
		hex(sa->keys.sk_ai, ai);
		hex(sa->keys.sk_ar, ar);
		snprintf(out, len, "# conn %s\n%016llx %016llx %s %s %s %s %s AUTH_HMAC_SHA2_256_128\n",
			 conn, (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r, encr, ei, er,
			 ai, ar);
	} else {
		snprintf(out, len, "# conn %s\n%016llx %016llx %s %s %s\n",
			 conn, (unsigned long long)sa->spi_i, (unsigned long long)sa->spi_r, encr, ei, er);
	}
}

static void keylog_world(const char *ike, const char *encr)
{
	char a_path[128], b_path[128], want[2048], want2[2048], wantb[2048], want2b[2048];
	struct stat st;
	char err[256];

	struct params p = DEFAULTS;
	p.ike_a = p.ike_b = ike;
	strcpy(dir, "/tmp/xiked-test-keylog-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(a_path, sizeof(a_path), "%s/a.keys", dir);
	snprintf(b_path, sizeof(b_path), "%s/b.keys", dir);
	/* a's file exists, readable by all: made 0600 before a key goes in. */
	FILE *f = fopen(a_path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(a_path, 0644), 0);
	world_new(&p);
	strcpy(W->s[0].e->cfg->cfg->d.keylog, a_path);
	strcpy(W->s[1].e->cfg->cfg->d.keylog, b_path);
	log_set_level(LOG_LVL_DEBUG);
	log_set_sink(sink, NULL);
	logged_keys = warnings = 0;
	keylog_warn(W->s[0].e->cfg->cfg);
	assert_int_equal(warnings, 1);

	establish();
	hex(sa_of(0)->keys.sk_ei, key_hex[0]);
	want_line(sa_of(0), "b", encr, want, sizeof(want));
	want_line(sa_of(1), "a", encr, wantb, sizeof(wantb)); /* the same SA, b's conn name */
	assert_string_equal(slurp(a_path), want);
	assert_string_equal(slurp(b_path), wantb);
	assert_int_equal(stat(a_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(b_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* An IKE rekey (RFC 7296 2.18): the new SA's SPIs and keys are appended. */
	assert_int_equal(engine_rekey(W->s[0].e, "b", true, err, sizeof(err)), 0);
	step(1, CREATE_CHILD_SA, false);
	step(0, CREATE_CHILD_SA, true);
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_non_null(sa_of(0));
	hex(sa_of(0)->keys.sk_ei, key_hex[1]);
	assert_string_not_equal(key_hex[0], key_hex[1]);
	want_line(sa_of(0), "b", encr, want2, sizeof(want2));
	want_line(sa_of(1), "a", encr, want2b, sizeof(want2b));
	strcat(want, want2);
	strcat(wantb, want2b);
	assert_string_equal(slurp(a_path), want);
	assert_string_equal(slurp(b_path), wantb);

	/* Removed from the configuration (a reload): nothing more is written. */
	W->s[0].e->cfg->cfg->d.keylog[0] = '\0';
	assert_int_equal(engine_rekey(W->s[0].e, "b", true, err, sizeof(err)), 0);
	step(1, CREATE_CHILD_SA, false);
	step(0, CREATE_CHILD_SA, true);
	assert_string_equal(slurp(a_path), want);
	assert_true(strlen(slurp(b_path)) > strlen(wantb));

	assert_int_equal(logged_keys, 0);
	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_ERROR);
	world_free();
	unlink(a_path);
	unlink(b_path);
	rmdir(dir);
	key_hex[0][0] = key_hex[1][0] = '\0';
}

static void test_keylog_aead(void **state)
{
	(void)state;
	keylog_world("aes256gcm16-prfsha256-x25519", "ENCR_AES_GCM_16/256");
}

static void test_keylog_cbc_hmac(void **state)
{
	(void)state;
	keylog_world("aes128-sha256-prfsha256-x25519", "ENCR_AES_CBC/128");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keylog_aead),
		cmocka_unit_test(test_keylog_cbc_hmac),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
