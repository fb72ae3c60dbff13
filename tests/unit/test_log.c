/* daemon/log.c: stderr line forms (journald priorities, ISO 8601 times) and levels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/log.h"
#include "daemon/message.h"
#include "daemon/message_str.h"

static void test_log_journal_stream_match(void **state)
{
	(void)state;
	char path[] = "/tmp/xiked-test-log.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	char env[64];
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_true(log_is_journal_stream(env, fd));
	/* Another inode: stderr was redirected after systemd set the variable. */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	assert_false(log_is_journal_stream(env, fd));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev + 1,
		 (unsigned long long)st.st_ino);
	assert_false(log_is_journal_stream(env, fd));
	assert_false(log_is_journal_stream(NULL, fd));
	assert_false(log_is_journal_stream("", fd));
	assert_false(log_is_journal_stream("12", fd));
	snprintf(env, sizeof(env), "%llu:%llux", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_false(log_is_journal_stream(env, fd));
	close(fd);
	assert_false(log_is_journal_stream("1:1", fd)); /* closed fd */
}

static void test_log_format_journal(void **state)
{
	(void)state;
	char out[128];
	struct timespec t = { 0 };
	size_t n = log_format_line(out, sizeof(out), LOG_STYLE_JOURNAL, &t, LOG_KNL, LOG_LVL_ERROR,
				   "no ESP support");
	assert_string_equal(out, "<3>[KNL] no ESP support\n");
	assert_int_equal(n, strlen(out));
	log_format_line(out, sizeof(out), LOG_STYLE_JOURNAL, &t, LOG_IKE, LOG_LVL_WARN, "w");
	assert_string_equal(out, "<4>[IKE] w\n");
	log_format_line(out, sizeof(out), LOG_STYLE_JOURNAL, &t, LOG_CFG, LOG_LVL_INFO, "i");
	assert_string_equal(out, "<6>[CFG] i\n");
	log_format_line(out, sizeof(out), LOG_STYLE_JOURNAL, &t, LOG_ENC, LOG_LVL_DEBUG, "d");
	assert_string_equal(out, "<7>[ENC] d\n");
}

static void test_log_format_time(void **state)
{
	(void)state;
	char out[128];
	/* 2026-12-07T16:50:01Z plus 123.9 ms: milliseconds are truncated, not rounded. */
	struct timespec t = { .tv_sec = 1796662201, .tv_nsec = 123900000 };
	log_format_line(out, sizeof(out), LOG_STYLE_TIME, &t, LOG_DMN, LOG_LVL_INFO, "started");
	assert_string_equal(out, "2026-12-07T16:50:01.123Z [DMN] started\n");
	t = (struct timespec){ .tv_sec = 0, .tv_nsec = 7000000 };
	log_format_line(out, sizeof(out), LOG_STYLE_TIME, &t, LOG_CTL, LOG_LVL_DEBUG, "x");
	assert_string_equal(out, "1970-01-01T00:00:00.007Z [CTL] x\n");
	/* Truncated: still one line. */
	size_t n = log_format_line(out, 20, LOG_STYLE_TIME, &t, LOG_CTL, LOG_LVL_DEBUG, "x");
	assert_int_equal(n, 19);
	assert_int_equal(out[18], '\n');
	assert_int_equal(strlen(out), 19);
}

static void levels_ok(const char *spec, const char *want)
{
	struct log_levels lv;
	char err[160] = "", got[160];
	size_t off = 0;

	if (log_levels_parse(spec, &lv, err, sizeof(err)) != 0)
		fail_msg("'%s': %s", spec, err);
	for (size_t i = 0; i < LOG_GROUP_COUNT; i++)
		off += (size_t)snprintf(got + off, sizeof(got) - off, "%s%c", i ? " " : "",
					log_level_key(lv.level[i])[0]);
	if (strcmp(got, want) != 0)
		fail_msg("'%s': got %s, want %s", spec, got, want);
}

static void levels_bad(const char *spec, const char *want)
{
	struct log_levels lv;
	char err[160] = "";

	assert_int_equal(log_levels_parse(spec, &lv, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void test_log_levels_parse(void **state)
{
	(void)state;
	/* Order of groups: dmn net enc ike chd knl cfg ctl. */
	levels_ok("info", "i i i i i i i i");
	levels_ok("debug", "d d d d d d d d");
	levels_ok("info, knl=debug", "i i i i i d i i");
	levels_ok("knl=debug,info", "i i i i i d i i");
	levels_ok("warn,KNL = Debug , ike=error", "w w w e w d w w");
	levels_ok("ctl=debug", "i i i i i i i d"); /* no default: info */
	levels_ok("  error  ", "e e e e e e e e");
	levels_bad("loud", "'loud' is not one of error, warn, info, debug");
	levels_bad("info,", "empty item");
	levels_bad(",info", "empty item");
	levels_bad("", "empty item");
	levels_bad("info, debug", "two default levels ('debug')");
	levels_bad("knl=debug, knl=info", "group KNL named twice");
	levels_bad("kernel=debug", "unknown group 'kernel' (one of dmn, net, enc, ike, chd, knl, "
				   "cfg, ctl)");
	levels_bad("knl=", "knl: '' is not one of error, warn, info, debug");
	levels_bad("knl=verbose", "knl: 'verbose' is not one of error, warn, info, debug");
	levels_bad("=debug", "unknown group '' (one of dmn, net, enc, ike, chd, knl, cfg, ctl)");
}

static int sunk;
static void count_sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx;
	(void)g;
	(void)l;
	(void)msg;
	sunk++;
}

static void test_log_levels_filter(void **state)
{
	(void)state;
	struct log_levels lv, now;
	char err[160];

	assert_int_equal(log_levels_parse("warn, knl=debug, ike=info", &lv, err, sizeof(err)), 0);
	log_levels_set(&lv);
	log_levels_get(&now);
	assert_true(log_levels_equal(&lv, &now));
	log_set_sink(count_sink, NULL);
	sunk = 0;
	log_msg(LOG_KNL, LOG_LVL_DEBUG, "shown");
	log_msg(LOG_IKE, LOG_LVL_INFO, "shown");
	log_msg(LOG_IKE, LOG_LVL_DEBUG, "hidden");
	log_msg(LOG_CHD, LOG_LVL_INFO, "hidden");
	log_msg(LOG_CHD, LOG_LVL_WARN, "shown");
	log_msg(LOG_DMN, LOG_LVL_ERROR, "shown");
	assert_int_equal(sunk, 4);
	log_set_group_level(LOG_CHD, LOG_LVL_DEBUG);
	log_msg(LOG_CHD, LOG_LVL_DEBUG, "shown");
	assert_int_equal(sunk, 5);
	log_levels_get(&now);
	assert_false(log_levels_equal(&lv, &now));
	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_INFO);
}

/* The payload list of a debug line, over messages built with the codec (issue 13.4). */
static void test_log_message_str(void **state)
{
	(void)state;
	static uint8_t plain[1024], buf[2048];
	static struct ike_msg m;
	struct ike_builder b;
	size_t plen, len;
	char s[MESSAGE_STR_MAX];
	struct payload_err perr;
	const uint8_t fqdn[] = "a.example", auth[32] = { 1 };
	struct ike_ts ts = { .type = TS_IPV4_ADDR_RANGE, .end_port = 65535,
			     .start = { 10, 1 }, .end = { 10, 1, 255, 255 } };
	struct ike_ts_list tsl = { .n = 1, .ts = &ts };
	struct ike_cp_attr attr = { .type = 1 }; /* INTERNAL_IP4_ADDRESS, empty: a request */
	struct ike_cp cp = { .type = CFG_REQUEST, .n_attrs = 1, .attrs = &attr };
	struct ike_hdr h = { .spi_i = 1, .spi_r = 2, .exchange = IKE_AUTH,
			     .flags = IKE_FLAG_INITIATOR, .msg_id = 1 };

	/* The plaintext: what goes inside SK. */
	message_build_inner_init(&b, plain, sizeof(plain));
	payload_build_id(&b, PL_IDI, &(struct ike_id){ .type = ID_FQDN,
						       .data = { fqdn, sizeof(fqdn) - 1 } });
	payload_build_auth(&b, &(struct ike_auth){ .method = AUTH_SHARED_KEY_MIC,
						   .data = { auth, sizeof(auth) } });
	payload_build_cp(&b, &cp);
	payload_build_ts(&b, PL_TSI, &tsl);
	payload_build_ts(&b, PL_TSR, &tsl);
	payload_build_notify_simple(&b, PROTO_NONE, N_MOBIKE_SUPPORTED, NULL, 0, NULL, 0);
	payload_build_notify_simple(&b, PROTO_NONE, 40000, NULL, 0, NULL, 0);
	payload_build_raw(&b, 200, false, "x", 1);
	assert_int_equal(message_build_finish(&b, &plen), 0);
	uint8_t first = b.first;

	/* As received, before decryption: SK only. */
	message_build_init(&b, buf, sizeof(buf), &h);
	assert_non_null(message_build_sk(&b, first, plen + 32));
	assert_int_equal(message_build_finish(&b, &len), 0);
	assert_int_equal(message_parse(&m, buf, len, &perr), PAYLOAD_OK);
	assert_string_equal(message_str(&m, s, sizeof(s)), "IKE_AUTH request 1 [ SK ]");
	/* Decrypted: the inner payloads in place of SK, notifies and CP by name. */
	assert_int_equal(message_parse_inner(&m, first, plain, plen, &perr), PAYLOAD_OK);
	assert_string_equal(message_str(&m, s, sizeof(s)),
			    "IKE_AUTH request 1 [ IDi AUTH CP(CFG_REQUEST) TSi TSr "
			    "N(MOBIKE_SUPPORTED) N(UNKNOWN_NOTIFY(40000)) UNKNOWN_PAYLOAD(200) ]");
	/* Truncated with "...", never past the buffer. */
	memset(s, 'z', sizeof(s));
	message_str(&m, s, 30);
	assert_int_equal(strlen(s), 29);
	assert_string_equal(s + 26, "...");

	/* An RFC 7383 fragment as received: EF(n/N); a response. */
	h.flags = IKE_FLAG_RESPONSE;
	h.msg_id = 7;
	message_build_init(&b, buf, sizeof(buf), &h);
	assert_non_null(message_build_skf(&b, PL_NONE, 2, 3, 48));
	assert_int_equal(message_build_finish(&b, &len), 0);
	assert_int_equal(message_parse(&m, buf, len, &perr), PAYLOAD_OK);
	assert_string_equal(message_str(&m, s, sizeof(s)), "IKE_AUTH response 7 [ EF(2/3) ]");

	/* In the clear, and empty (a DPD). */
	h = (struct ike_hdr){ .spi_i = 1, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_RESPONSE };
	message_build_init(&b, buf, sizeof(buf), &h);
	payload_build_notify_simple(&b, PROTO_NONE, N_COOKIE, NULL, 0, "0123456789abcdef", 16);
	assert_int_equal(message_build_finish(&b, &len), 0);
	assert_int_equal(message_parse(&m, buf, len, &perr), PAYLOAD_OK);
	assert_string_equal(message_str(&m, s, sizeof(s)), "IKE_SA_INIT response 0 [ N(COOKIE) ]");
	message_build_inner_init(&b, plain, sizeof(plain));
	assert_int_equal(message_build_finish(&b, &plen), 0);
	message_reset(&m);
	m.hdr = (struct ike_hdr){ .exchange = INFORMATIONAL, .msg_id = 5 };
	assert_int_equal(message_parse_inner(&m, b.first, plain, plen, &perr), PAYLOAD_OK);
	assert_string_equal(message_str(&m, s, sizeof(s)), "INFORMATIONAL request 5 [ ]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_journal_stream_match),
		cmocka_unit_test(test_log_format_journal),
		cmocka_unit_test(test_log_format_time),
		cmocka_unit_test(test_log_levels_parse),
		cmocka_unit_test(test_log_levels_filter),
		cmocka_unit_test(test_log_message_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
