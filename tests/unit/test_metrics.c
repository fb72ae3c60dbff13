/*
 * Metrics (daemon/openmetrics.h, daemon/metrics.h): the text writer's
 * format and escaping, bounded failure reasons, the per-conn gauges and
 * the byte counters of a two-engine world across a Child SA rekey, and the
 * whole exposition checked by the reference parsers: `promtool check
 * metrics` (Prometheus' text format) and the OpenMetrics parser of
 * python3-prometheus-client (both in tools/setup's test packages).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/rng.h"
#include "daemon/engine.h"
#include "daemon/event.h"
#include "daemon/ikesa.h"
#include "daemon/metrics.h"
#include "daemon/openmetrics.h"
#include "netlink/kernel_fake.h"
#include "tests/unit/engine_world.h"

static void assert_has(const char *text, const char *line)
{
	if (!text || !strstr(text, line))
		fail_msg("missing: %s\n--- in:\n%s", line, text ? text : "(nothing)");
}

static void test_metrics_writer_format(void **st)
{
	struct om_writer w;
	(void)st;
	om_init(&w, OM_OPENMETRICS);
	om_family(&w, "x_requests", OM_COUNTER, NULL, "Requests \"served\" \\ here.\nnext");
	om_sample(&w, (struct om_label[]){ { "conn", "a\\b\"c\nd" } }, 1, 42);
	om_family(&w, "x_bytes", OM_COUNTER, "bytes", NULL);
	om_sample(&w, NULL, 0, 7);
	om_family(&w, "x_build", OM_INFO, NULL, "Build.");
	om_sample(&w, (struct om_label[]){ { "version", "1.0" } }, 1, 1);
	om_family(&w, "x_state", OM_STATESET, NULL, "State.");
	om_sample(&w, (struct om_label[]){ { "x_state", "up" } }, 1, 1);
	om_family(&w, "x_start_time_seconds", OM_GAUGE, "seconds", "Start.");
	om_sample_double(&w, NULL, 0, 1765000000.25);
	om_eof(&w);
	assert_true(om_ok(&w));
	assert_string_equal(om_str(&w),
			    "# TYPE x_requests counter\n"
			    "# HELP x_requests Requests \\\"served\\\" \\\\ here.\\nnext\n"
			    "x_requests_total{conn=\"a\\\\b\\\"c\\nd\"} 42\n"
			    "# TYPE x_bytes counter\n"
			    "# UNIT x_bytes bytes\n"
			    "x_bytes_total 7\n"
			    "# TYPE x_build info\n"
			    "# HELP x_build Build.\n"
			    "x_build_info{version=\"1.0\"} 1\n"
			    "# TYPE x_state stateset\n"
			    "# HELP x_state State.\n"
			    "x_state{x_state=\"up\"} 1\n"
			    "# TYPE x_start_time_seconds gauge\n"
			    "# UNIT x_start_time_seconds seconds\n"
			    "# HELP x_start_time_seconds Start.\n"
			    "x_start_time_seconds 1765000000.25\n"
			    "# EOF\n");
	om_free(&w);

	/* Prometheus 0.0.4: TYPE/HELP name the samples, no UNIT/EOF, HELP without \". */
	om_init(&w, OM_PROMETHEUS);
	om_family(&w, "x_requests", OM_COUNTER, NULL, "Requests \"served\" \\ here.");
	om_sample(&w, NULL, 0, 1);
	om_family(&w, "x_bytes", OM_COUNTER, "bytes", NULL);
	om_sample(&w, NULL, 0, 2);
	om_family(&w, "x_build", OM_INFO, NULL, NULL);
	om_sample(&w, NULL, 0, 1);
	om_eof(&w);
	assert_true(om_ok(&w));
	assert_string_equal(om_str(&w), "# TYPE x_requests_total counter\n"
					"# HELP x_requests_total Requests \"served\" \\\\ here.\n"
					"x_requests_total 1\n"
					"# TYPE x_bytes_total counter\n"
					"x_bytes_total 2\n"
					"# TYPE x_build_info gauge\n"
					"x_build_info 1\n");
	om_free(&w);
}

/* Label values that are not UTF-8 become U+FFFD; valid multi-octet characters stay. */
static void test_metrics_writer_utf8(void **st)
{
	struct om_writer w;
	(void)st;
	om_init(&w, OM_OPENMETRICS);
	om_family(&w, "x_up", OM_GAUGE, NULL, NULL);
	om_sample(&w, (struct om_label[]){ { "conn", "gr\xc3\xbc\xff\xc3" } }, 1, 1);
	om_eof(&w);
	assert_true(om_ok(&w));
	assert_has(om_str(&w), "x_up{conn=\"gr\xc3\xbc\xef\xbf\xbd\xef\xbf\xbd\"} 1\n");
	om_free(&w);
}

/* Misuse is an error: the text is never handed out half right. */
static void test_metrics_writer_misuse(void **st)
{
	struct om_writer w;
	(void)st;
	static const struct {
		const char *name, *unit;
		enum om_type type;
	} bad[] = {
		{ "x_total", NULL, OM_COUNTER },   /* the suffix is the writer's */
		{ "x_info", NULL, OM_INFO },
		{ "9x", NULL, OM_GAUGE },          /* not a name */
		{ "x-y", NULL, OM_GAUGE },
		{ "x_size", "bytes", OM_GAUGE },   /* unit not the name's suffix */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		om_init(&w, OM_OPENMETRICS);
		om_family(&w, bad[i].name, bad[i].type, bad[i].unit, NULL);
		om_eof(&w);
		assert_false(om_ok(&w));
		om_free(&w);
	}
	om_init(&w, OM_OPENMETRICS);
	om_sample(&w, NULL, 0, 1); /* no family */
	om_eof(&w);
	assert_false(om_ok(&w));
	om_free(&w);
	om_init(&w, OM_OPENMETRICS);
	om_family(&w, "x_up", OM_GAUGE, NULL, NULL);
	om_sample(&w, (struct om_label[]){ { "bad-label", "v" } }, 1, 1);
	om_eof(&w);
	assert_false(om_ok(&w));
	om_free(&w);
	om_init(&w, OM_OPENMETRICS);
	om_family(&w, "x_up", OM_GAUGE, NULL, NULL);
	assert_false(om_ok(&w)); /* no EOF yet */
	om_eof(&w);
	assert_true(om_ok(&w));
	om_eof(&w); /* twice */
	assert_false(om_ok(&w));
	om_free(&w);
}

/* A peer cannot grow the reason labels without bound; long ones are cut on a character. */
static void test_metrics_reasons_bounded(void **st)
{
	struct metrics *m = metrics_new(0);
	char r[32];
	(void)st;
	assert_non_null(m);
	struct metrics_conn *mc = metrics_conn(m, "site");
	assert_ptr_equal(mc, metrics_conn(m, "site"));
	for (int i = 0; i < METRICS_REASONS_MAX + 4; i++) {
		snprintf(r, sizeof(r), "reason %d", i);
		metrics_count_failure(mc, METRICS_FAIL_IKE, r);
		metrics_count_failure(mc, METRICS_FAIL_IKE, r);
	}
	assert_int_equal(mc->n_reasons[METRICS_FAIL_IKE], METRICS_REASONS_MAX);
	assert_int_equal(mc->reasons[METRICS_FAIL_IKE][0].count, 2);
	assert_int_equal(mc->other_reasons[METRICS_FAIL_IKE], 8);
	metrics_count_failure(mc, METRICS_FAIL_CHILD, NULL);
	assert_string_equal(mc->reasons[METRICS_FAIL_CHILD][0].text, "unknown");
	/* 62 'a' then a 3-octet character: it does not fit in 63 octets, so it goes whole. */
	char longr[80];
	memset(longr, 'a', 62);
	memcpy(longr + 62, "\xe2\x82\xac" "tail", 8);
	metrics_count_failure(mc, METRICS_FAIL_CHILD, longr);
	assert_int_equal(strlen(mc->reasons[METRICS_FAIL_CHILD][1].text), 62);
	/* Many conns: the table grows and finds each. */
	for (int i = 0; i < 500; i++) {
		snprintf(r, sizeof(r), "c%d", i);
		struct metrics_conn *x = metrics_conn(m, r);
		assert_non_null(x);
		x->ike_setups = (uint64_t)i;
	}
	for (int i = 0; i < 500; i++) {
		snprintf(r, sizeof(r), "c%d", i);
		assert_int_equal(metrics_conn(m, r)->ike_setups, (uint64_t)i);
	}
	metrics_free(m);
}

static char *scrape(int side, enum om_format f)
{
	struct om_writer w;
	om_init(&w, f);
	metrics_write(W->s[side].e, &w);
	assert_true(om_ok(&w));
	char *s = strdup(om_str(&w));
	om_free(&w);
	return s;
}

/* The value of the sample line starting with prefix (the whole "name{labels}"). */
static uint64_t value_of(const char *text, const char *prefix)
{
	char want[256];
	snprintf(want, sizeof(want), "\n%s ", prefix);
	const char *p = strstr(text, want);
	if (!p)
		fail_msg("no sample %s in:\n%s", prefix, text ? text : "(nothing)");
	return strtoull(p + strlen(want), NULL, 10);
}

static struct kaddr kaddr4(const char *ip)
{
	struct kaddr k = { .family = AF_INET };
	inet_pton(AF_INET, ip, k.a);
	return k;
}

static void set_stats(int side, uint32_t spi, const char *dst, uint64_t bytes, uint64_t packets)
{
	struct kaddr k = kaddr4(dst);
	struct kernel_sa_stats s = { .bytes = bytes, .packets = packets };
	assert_int_equal(kernel_fake_set_stats(W->s[side].fake, &k, spi, IPPROTO_ESP, &s), 0);
}

/* Conn gauges in the three states, and ESP counters that go on across a Child SA rekey. */
static void test_metrics_world(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	char *t = scrape(0, OM_OPENMETRICS);
	assert_has(t, "\nxiked_conn_up{conn=\"b\"} 0\n");
	assert_has(t, "\nxiked_conn_state{conn=\"b\",xiked_conn_state=\"configured\"} 1\n");
	assert_has(t, "\nxiked_conn_info{conn=\"b\",local=\"192.0.2.1\",remote=\"192.0.2.2\","
		      "local_id=\"a.example\",remote_id=\"b.example\",start=\"none\"} 1\n");
	assert_has(t, "\nxiked_conns 1\n");
	assert_has(t, "\nxiked_build_info{version=\"");
	free(t);

	/* IKE_SA_INIT sent, no answer yet: connecting. */
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	t = scrape(0, OM_OPENMETRICS);
	assert_has(t, "\nxiked_conn_state{conn=\"b\",xiked_conn_state=\"connecting\"} 1\n");
	assert_has(t, "\nxiked_conn_up{conn=\"b\"} 0\n");
	free(t);
	world_free();

	world_new(&DEFAULTS);
	establish();
	t = scrape(0, OM_OPENMETRICS);
	assert_has(t, "\nxiked_conn_up{conn=\"b\"} 1\n");
	assert_has(t, "\nxiked_conn_state{conn=\"b\",xiked_conn_state=\"established\"} 1\n");
	assert_has(t, "\nxiked_ike_sas{conn=\"b\",state=\"established\"} 1\n");
	assert_has(t, "\nxiked_child_sas{conn=\"b\",child=\"b\",state=\"installed\"} 1\n");
	assert_has(t, "\nxiked_conn_esp_bytes_total{conn=\"b\",direction=\"in\"} 0\n");
	free(t);

	struct child_sa *c = sa_of(0)->children;
	set_stats(0, c->spi_in, "192.0.2.1", 1000, 10);
	set_stats(0, c->spi_out, "192.0.2.2", 2000, 20);
	t = scrape(0, OM_OPENMETRICS);
	assert_int_equal(value_of(t, "xiked_conn_esp_bytes_total{conn=\"b\",direction=\"in\"}"), 1000);
	assert_int_equal(value_of(t, "xiked_conn_esp_bytes_total{conn=\"b\",direction=\"out\"}"), 2000);
	assert_int_equal(value_of(t, "xiked_conn_esp_packets_total{conn=\"b\",direction=\"in\"}"), 10);
	free(t);
	/* More traffic that no scrape saw before the rekey removes the SA. */
	set_stats(0, c->spi_in, "192.0.2.1", 1500, 15);

	/* a rekeys the Child SA: the old pair goes, its counts stay in the conn's totals. */
	assert_int_equal(engine_rekey(W->s[0].e, "b", false, err, sizeof(err)), 0);
	for (int i = 0; i < 20 && W->nq; i++)
		pop(0, true);
	assert_int_equal(W->nq, 0);
	assert_tunnel();
	c = sa_of(0)->children;
	t = scrape(0, OM_OPENMETRICS);
	assert_int_equal(value_of(t, "xiked_conn_esp_bytes_total{conn=\"b\",direction=\"in\"}"), 1500);
	assert_int_equal(value_of(t, "xiked_conn_esp_bytes_total{conn=\"b\",direction=\"out\"}"), 2000);
	assert_int_equal(value_of(t, "xiked_child_sas{conn=\"b\",child=\"b\",state=\"installed\"}"), 1);
	free(t);
	set_stats(0, c->spi_in, "192.0.2.1", 100, 1);
	t = scrape(0, OM_OPENMETRICS);
	assert_int_equal(value_of(t, "xiked_conn_esp_bytes_total{conn=\"b\",direction=\"in\"}"), 1600);
	assert_int_equal(value_of(t, "xiked_conn_esp_packets_total{conn=\"b\",direction=\"in\"}"), 16);
	free(t);

	/* The responder's view: established, the conn's %any remote. */
	t = scrape(1, OM_OPENMETRICS);
	assert_has(t, "\nxiked_conn_up{conn=\"a\"} 1\n");
	assert_has(t, "remote=\"%any\"");
	free(t);
	world_free();
}

static int run(const char *cmd)
{
	int rc = system(cmd);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/*
 * The whole exposition of an established world through the reference
 * parsers: promtool (lint included: _total suffixes, help texts, base
 * units) and the OpenMetrics parser, which rejects what the format does
 * not allow (a family's samples not together, a missing EOF, bad escapes).
 */
static void test_metrics_reference_parsers(void **st)
{
	(void)st;
	char dir[] = "/tmp/xiked-metrics-XXXXXX", path[128], cmd[512];
	assert_non_null(mkdtemp(dir));
	if (run("command -v promtool >/dev/null") != 0)
		fail_msg("promtool not found: tools/setup installs Debian's prometheus package");
	if (run("/usr/bin/python3 -c 'import prometheus_client.openmetrics.parser' 2>/dev/null") != 0)
		fail_msg("python3-prometheus-client not found: tools/setup installs it");
	world_new(&DEFAULTS);
	establish();
	struct metrics_conn *mc = metrics_conn(W->s[0].e->metrics, "b");
	metrics_count_failure(mc, METRICS_FAIL_IKE, "NO_PROPOSAL_CHOSEN \"quoted\" \\ from the peer");
	metrics_count_failure(mc, METRICS_FAIL_CHILD, "TS_UNACCEPTABLE");
	char *prom = scrape(0, OM_PROMETHEUS), *om = scrape(0, OM_OPENMETRICS);
	world_free();

	snprintf(path, sizeof(path), "%s/m.prom", dir);
	write_file(path, prom);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	assert_int_equal(run(cmd), 0);
	snprintf(path, sizeof(path), "%s/m.om", dir);
	write_file(path, om);
	snprintf(path, sizeof(path), "%s/check.py", dir);
	write_file(path,
		   "import sys\n"
		   "from prometheus_client.openmetrics.parser import text_string_to_metric_families as p\n"
		   "fams = list(p(open(sys.argv[1]).read()))\n"
		   "s = {(x.name, tuple(sorted(x.labels.items()))): x.value for f in fams for x in f.samples}\n"
		   "assert s[('xiked_conn_up', (('conn', 'b'),))] == 1, s\n"
		   "r = [k for k in s if k[0] == 'xiked_ike_setup_failures_total']\n"
		   "assert r == [('xiked_ike_setup_failures_total', (('conn', 'b'),\n"
		   "     ('reason', 'NO_PROPOSAL_CHOSEN \"quoted\" \\\\ from the peer')))], r\n"
		   "print(len(fams), 'families,', len(s), 'samples')\n");
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/check.py %s/m.om", dir, dir);
	assert_int_equal(run(cmd), 0);
	free(prom);
	free(om);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
}

/* The event bus drives the per-conn counters; failures count under their reason's code. */
static void test_metrics_events(void **st)
{
	char code[METRICS_REASON_LEN], err[128];
	(void)st;
	metrics_reason_code("NO_PROPOSAL_CHOSEN: the peer refused IKE_SA_INIT", code);
	assert_string_equal(code, "NO_PROPOSAL_CHOSEN");
	metrics_reason_code("invalid-response: IKE_AUTH answer without IDr/AUTH", code);
	assert_string_equal(code, "invalid-response");
	metrics_reason_code("reauthenticated", code);
	assert_string_equal(code, "reauthenticated");
	metrics_reason_code("peer 'x.example' said: no", code);
	assert_string_equal(code, "other");
	metrics_reason_code(NULL, code);
	assert_string_equal(code, "unknown");

	world_new(&DEFAULTS);
	establish();
	char *t = scrape(0, OM_OPENMETRICS);
	assert_int_equal(value_of(t, "xiked_ike_setups_total{conn=\"b\"}"), 1);
	assert_int_equal(value_of(t, "xiked_child_setups_total{conn=\"b\"}"), 1);
	assert_int_equal(value_of(t, "xiked_child_rekeys_total{conn=\"b\"}"), 0);
	free(t);
	assert_int_equal(engine_rekey(W->s[0].e, "b", false, err, sizeof(err)), 0);
	for (int i = 0; i < 20 && W->nq; i++)
		pop(0, true);
	assert_int_equal(engine_rekey(W->s[0].e, "b", true, err, sizeof(err)), 0);
	for (int i = 0; i < 20 && W->nq; i++)
		pop(0, true);
	for (int side = 0; side < 2; side++) {
		const char *cn = side ? "a" : "b";
		char k[96];
		t = scrape(side, OM_OPENMETRICS);
		snprintf(k, sizeof(k), "xiked_child_rekeys_total{conn=\"%s\"}", cn);
		assert_int_equal(value_of(t, k), 1);
		snprintf(k, sizeof(k), "xiked_ike_rekeys_total{conn=\"%s\"}", cn);
		assert_int_equal(value_of(t, k), 1);
		snprintf(k, sizeof(k), "xiked_child_setups_total{conn=\"%s\"}", cn);
		assert_int_equal(value_of(t, k), 1); /* a rekey is no setup */
		snprintf(k, sizeof(k), "xiked_conn_up{conn=\"%s\"}", cn);
		assert_int_equal(value_of(t, k), 1);
		free(t);
	}
	world_free();

	/* A wrong PSK on b: both count the failure under AUTHENTICATION_FAILED. */
	struct params p = DEFAULTS;
	p.psk_b = "not the right one";
	world_new(&p);
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	for (int i = 0; i < 20 && W->nq; i++)
		pop(0, true);
	t = scrape(0, OM_OPENMETRICS);
	assert_int_equal(value_of(t, "xiked_ike_setup_failures_total{conn=\"b\",reason=\"AUTHENTICATION_FAILED\"}"), 1);
	assert_int_equal(value_of(t, "xiked_auth_failures_total{conn=\"b\"}"), 1);
	assert_int_equal(value_of(t, "xiked_ike_setups_total{conn=\"b\"}"), 0);
	free(t);
	t = scrape(1, OM_OPENMETRICS);
	assert_int_equal(value_of(t, "xiked_ike_setup_failures_total{conn=\"a\",reason=\"AUTHENTICATION_FAILED\"}"), 1);
	free(t);
	world_free();

	/* The kernel refuses the ESP state: a Child SA failure with reason code "kernel". */
	world_new(&DEFAULTS);
	kernel_fake_fail(W->s[0].fake, KFAKE_UPDATE_SA, -ENOSYS, 1);
	kernel_fake_fail(W->s[0].fake, KFAKE_ADD_SA, -ENOSYS, 1);
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	for (int i = 0; i < 20 && W->nq; i++)
		pop(0, true);
	t = scrape(0, OM_OPENMETRICS);
	assert_int_equal(value_of(t, "xiked_child_setup_failures_total{conn=\"b\",reason=\"kernel\"}"), 1);
	assert_int_equal(value_of(t, "xiked_ike_setups_total{conn=\"b\"}"), 1);
	free(t);
	world_free();
}

/* [daemon] metrics = ADDR:PORT (IPv6 in brackets) or off; anything else names its line. */
static void test_metrics_config(void **st)
{
	(void)st;
	static const char *good[] = { "127.0.0.1:9464", "[::1]:9464", "[2001:db8::1]:1", "off" };
	static const char *bad[] = { "127.0.0.1", "::1:9464", "[::1]9464", "[127.0.0.1]:9",
				     "127.0.0.1:0", "127.0.0.1:65536", "host:80", "[::1]:", ":9464" };
	char text[256], err[256];
	struct xiked_config *cfg;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[daemon]\nmetrics = %s\n", good[i]);
		if (config_parse(text, strlen(text), "t.conf", &cfg, err, sizeof(err)) != 0)
			fail_msg("%s: %s", good[i], err);
		if (strcmp(good[i], "off") == 0)
			assert_int_equal(cfg->d.metrics.ss_family, AF_UNSPEC);
		else
			assert_int_not_equal(cfg->d.metrics.ss_family, AF_UNSPEC);
		config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[daemon]\nmetrics = %s\n", bad[i]);
		if (config_parse(text, strlen(text), "t.conf", &cfg, err, sizeof(err)) == 0)
			fail_msg("accepted metrics = %s", bad[i]);
		assert_non_null(strstr(err, "t.conf:2: metrics:"));
	}
	/* Off by default. */
	assert_int_equal(config_parse("[daemon]\n", 9, "t.conf", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg->d.metrics.ss_family, AF_UNSPEC);
	config_free(cfg);
	/* The port is kept. */
	snprintf(text, sizeof(text), "[daemon]\nmetrics = [::1]:9100\n");
	assert_int_equal(config_parse(text, strlen(text), "t.conf", &cfg, err, sizeof(err)), 0);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&cfg->d.metrics)->sin6_port), 9100);
	config_free(cfg);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_writer_format),
		cmocka_unit_test(test_metrics_writer_utf8),
		cmocka_unit_test(test_metrics_writer_misuse),
		cmocka_unit_test(test_metrics_reasons_bounded),
		cmocka_unit_test(test_metrics_world),
		cmocka_unit_test(test_metrics_reference_parsers),
		cmocka_unit_test(test_metrics_config),
		cmocka_unit_test(test_metrics_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
