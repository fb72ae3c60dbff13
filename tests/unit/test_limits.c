/*
 * Per-peer limits (dos.h, issue 12): max_child_sas and NO_ADDITIONAL_SAS
 * (RFC 7296 3.10.1), sources counted per IPv6 /64, ike_sa_per_ip, the
 * authentication failure back-off and its log summary, and the RFC 7383
 * reassembly budget under a fragment flood that fills half_open_max (with
 * the process's resident memory before, at the peak and after expiry).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sk.h"
#include "daemon/dos.h"
#include "daemon/engine.h"
#include "daemon/engine_index.h"
#include "daemon/engine_teardown.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/message.h"
#include "tests/unit/engine_world.h"

/* Log lines at warn and above, for the tests that count them. */
static unsigned warn_lines, not_auth_lines, summary_lines, no_more_lines;
static char last_summary[256];

static void sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx;
	(void)g;
	if (getenv("XIKED_TEST_LOG"))
		fprintf(stderr, "log: %s\n", msg);
	if (l > LOG_LVL_WARN)
		return;
	warn_lines++;
	not_auth_lines += strstr(msg, "not authenticated") != NULL;
	no_more_lines += strstr(msg, "more than max_child_sas") != NULL;
	if (strstr(msg, "suppressed")) {
		summary_lines++;
		snprintf(last_summary, sizeof(last_summary), "%s", msg);
	}
}

static void sink_on(void)
{
	warn_lines = not_auth_lines = summary_lines = no_more_lines = 0;
	last_summary[0] = 0;
	log_set_level(LOG_LVL_WARN);
	log_set_sink(sink, NULL);
}

static void sink_off(void)
{
	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_ERROR);
}

/* Delivers every queued message (and what they cause) until the world is quiet. */
static void run(void)
{
	while (W->nq)
		pop(0, true);
}

static size_t installed(int side)
{
	size_t n = 0;
	struct ikesa *sa = sa_of(side);
	assert_non_null(sa);
	for (struct child_sa *c = sa->children; c; c = c->next)
		n += c->state == CHILD_INSTALLED;
	return n;
}

/* max_child_sas = 1: the second Child SA is answered NO_ADDITIONAL_SAS. */
static void test_max_child_sas(void **st)
{
	(void)st;
	const char *a = "[conn b]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\n"
			"local_id = a.example\nremote_id = b.example\nauth = psk\npsk = \"k\"\n"
			"[child b.c0]\nlocal_ts = 10.1.0.0/26\nremote_ts = 10.2.0.0/24\n"
			"[child b.c1]\nlocal_ts = 10.1.0.64/26\nremote_ts = 10.2.0.0/24\n";
	const char *b = "[conn a]\nlocal_addr = 192.0.2.2\nremote_addr = %any\n"
			"local_id = b.example\nremote_id = a.example\nauth = psk\npsk = \"k\"\n"
			"local_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/24\nmax_child_sas = 1\n";
	world_new_text(a, b, 11);
	sink_on();
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	/* IKE_AUTH carries c0, CREATE_CHILD_SA c1: refused. */
	run();
	assert_int_equal(installed(1), 1);
	assert_int_equal(installed(0), 1);
	assert_int_equal(no_more_lines, 1);
	/* A rekey replaces a Child SA: not refused at the limit. */
	assert_int_equal(engine_rekey(W->s[0].e, "b", false, err, sizeof(err)), 0);
	run();
	advance(1000);
	run();
	assert_int_equal(installed(1), 1);
	assert_int_equal(W->s[1].e->stats.child_installed, 2);
	assert_int_equal(no_more_lines, 1);
	sink_off();
	world_free();
}

/* A responder config with the given [daemon] lines, any peer. */
static void responder_text(char *buf, size_t cap, const char *daemon)
{
	snprintf(buf, cap, "[daemon]\n%s[conn any]\nremote_addr = %%any\nlocal_id = b.example\n"
		 "remote_id = %%any\nauth = psk\npsk = \"k\"\nlocal_ts = 10.2.0.0/24\n"
		 "remote_ts = 10.1.0.0/16\n", daemon);
}

/* Initiator conns c0.. from the given local addresses to remote (psk k, ids aN.example). */
static void initiator_text(char *buf, size_t cap, const char *const *local, size_t n,
			   const char *remote, const char *psk)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, cap - off,
			"[conn c%zu]\nlocal_addr = %s\nremote_addr = %s\nlocal_id = a%zu.example\n"
			"remote_id = b.example\nauth = psk\npsk = \"%s\"\nlocal_ts = 10.1.%zu.0/24\n"
			"remote_ts = 10.2.0.0/24\n", i, local[i], remote, i, psk, i);
}

static void up(const char *name)
{
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, name, err, sizeof(err)), 0);
}

/* IPv6 sources count per /64: three addresses of one /64 are one source. */
static void test_ipv6_prefix(void **st)
{
	(void)st;
	static const char *const local[] = {"2001:db8:1:1::10", "2001:db8:1:1::11",
					    "2001:db8:1:1:ffff::12", "2001:db8:1:2::10"};
	char a[4096], b[1024];
	initiator_text(a, sizeof(a), local, 4, "2001:db8::2", "k");
	responder_text(b, sizeof(b), "half_open_per_ip = 2\n");
	world_new_text(a, b, 12);
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof(name), "c%d", i);
		up(name);
	}
	for (int i = 0; i < 4; i++)
		step(1, IKE_SA_INIT, false);
	/* Two from 2001:db8:1:1::/64, the third of that /64 dropped, 2001:db8:1:2::/64 in. */
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 3);
	assert_int_equal(dos_stats(W->s[1].e->dos)->dropped_per_ip_cap, 1);
	assert_int_equal(dos_source(&W->q[0].dst) == dos_source(&W->q[1].dst), true);
	world_free();
}

/* ike_sa_per_ip: established IKE SAs count too. */
static void test_ike_sa_per_ip(void **st)
{
	(void)st;
	static const char *const local[] = {"192.0.2.1", "192.0.2.1", "192.0.2.1"};
	char a[4096], b[1024];
	initiator_text(a, sizeof(a), local, 3, "192.0.2.2", "k");
	responder_text(b, sizeof(b), "ike_sa_per_ip = 2\n");
	world_new_text(a, b, 13);
	up("c0");
	run();
	up("c1");
	run();
	assert_int_equal(W->s[1].e->stats.ike_established, 2);
	up("c2");
	step(1, IKE_SA_INIT, false); /* dropped unanswered */
	assert_int_equal(W->nq, 0);
	assert_int_equal(dos_stats(W->s[1].e->dos)->dropped_ike_per_ip, 1);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 2);
	world_free();
}

/*
 * A peer with a wrong PSK: after auth_fail_limit failures its source backs
 * off (IKE_SA_INIT dropped, 1 s then 2 s), one failure line per 5 s and a
 * summary of the rest; its identity backs off from another source too.
 */
static void test_auth_backoff(void **st)
{
	(void)st;
	static const char *const local[] = {"192.0.2.1", "192.0.2.5"};
	char a[4096], b[1024];
	initiator_text(a, sizeof(a), local, 2, "192.0.2.2", "wrong");
	/* c1 claims c0's identity. */
	char *id1 = strstr(a, "a1.example");
	memcpy(id1, "a0", 2);
	responder_text(b, sizeof(b), "auth_fail_limit = 2\nauth_backoff_max = 8s\n");
	world_new_text(a, b, 14);
	sink_on();
	struct engine *r = W->s[1].e;
	const struct dos_stats *ds = dos_stats(r->dos);
	for (int i = 0; i < 3; i++) {
		up("c0");
		run();
	}
	assert_int_equal(ds->auth_failures, 3);
	assert_int_equal(r->stats.ike_failed, 3);
	/* One line for three failures (5 s apart at most one). */
	assert_int_equal(not_auth_lines, 1);
	/* Backing off 1 s: the next IKE_SA_INIT is dropped before any state. */
	up("c0");
	step(1, IKE_SA_INIT, false);
	assert_int_equal(W->nq, 0);
	assert_int_equal(ds->dropped_auth_backoff, 1);
	assert_int_equal(engine_ike_sa_count(r), 0);
	engine_destroy_sa(W->s[0].e, sa_of(0)); /* the initiator gives up */
	/* The identity backs off too: from another source it is not verified. */
	up("c1");
	run();
	assert_int_equal(ds->auth_id_backoff, 1);
	/* After 1 s the source may try again (and fails: 2 s now). */
	advance(1100);
	up("c0");
	run();
	assert_int_equal(ds->auth_failures, 5);
	advance(1100);
	up("c0");
	step(1, IKE_SA_INIT, false);
	assert_int_equal(W->nq, 0);
	assert_int_equal(ds->dropped_auth_backoff, 2);
	engine_destroy_sa(W->s[0].e, sa_of(0));
	/* The suppressed lines are summarized once DOS_LOG_INTERVAL_MS is over. */
	advance(DOS_LOG_INTERVAL_MS);
	assert_int_equal(not_auth_lines, 1);
	assert_true(summary_lines >= 1);
	assert_non_null(strstr(last_summary, "more authentication failures from 192.0.2.1 "
					    "suppressed"));
	sink_off();
	world_free();
}

/* ---- fragment flood ---- */

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define FLOOD_SOURCES 50
#define FLOOD_PER_SOURCE 20
#define FLOOD_FRAGS 63 /* of 64: the message never completes */
#define FLOOD_INNER 1000

/*
 * conn cN up to the point where a sends IKE_AUTH (cookies as b asks):
 * that request is taken off the queue, a's half-open SA returned.
 */
static struct ikesa *half_open(const char *name)
{
	up(name);
	for (;;) {
		assert_true(W->nq > 0);
		struct ike_hdr h = qhdr(0);
		if (W->q[0].to == 1 && h.exchange == IKE_AUTH) {
			pop(0, false);
			struct ikesa *sa = engine_find(W->s[0].e, h.spi_i);
			assert_non_null(sa);
			return sa;
		}
		pop(0, true);
	}
}

/* 63 of 64 authentic fragments of ~1,000 octets of an IKE_AUTH request from sa to b. */
static void fragments(struct ikesa *sa)
{
	static uint8_t buf[2048], inner[FLOOD_INNER];
	memset(inner, 0x5a, sizeof(inner));
	for (uint16_t num = 1; num <= FLOOD_FRAGS; num++) {
		struct ike_hdr h = {.spi_i = sa->spi_i, .spi_r = sa->spi_r, .exchange = IKE_AUTH,
				    .flags = IKE_FLAG_INITIATOR, .msg_id = 1};
		struct ike_builder b;
		message_build_init(&b, buf, sizeof(buf), &h);
		uint8_t *body = message_build_skf(&b, num == 1 ? PL_IDI : PL_NONE, num,
						  FLOOD_FRAGS + 1,
						  sk_sealed_len(sa->c_out, sizeof(inner)));
		assert_non_null(body);
		size_t len = 0;
		assert_int_equal(message_build_finish(&b, &len), 0);
		assert_int_equal(sk_seal(sa->c_out, buf, (size_t)(body - buf), inner,
					 sizeof(inner), W->rng), 0);
		engine_receive(W->s[1].e, &sa->remote, &sa->local, buf, len);
	}
}

/*
 * 50 sources answering cookies, each holding 20 half-open SAs with 63 of 64
 * fragments (63 MB if all were kept), fill half_open_max = 1000: the
 * reassembly budgets hold, a legitimate initiator still gets in (cookie,
 * then the oldest half-open SA makes room), and after expiry the memory
 * is returned.
 */
static void test_fragment_flood(void **st)
{
	(void)st;
	char *a = malloc(FLOOD_SOURCES * 300 + 1024), b[1024];
	size_t off = 0;
	for (int i = 0; i < FLOOD_SOURCES; i++)
		off += (size_t)sprintf(a + off, "[conn c%d]\nlocal_addr = 198.18.0.%d\n"
				       "remote_addr = 192.0.2.2\nlocal_id = x%d.example\n"
				       "remote_id = b.example\nauth = psk\npsk = \"wrong\"\n",
				       i, i + 1, i);
	sprintf(a + off, "[conn legit]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\n"
		"local_id = a.example\nremote_id = b.example\nauth = psk\npsk = \"k\"\n"
		"local_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\n");
	responder_text(b, sizeof(b), "half_open_max = 1000\nhalf_open_timeout = 10s\n");
	world_new_text(a, b, 15);
	free(a);
	struct engine *r = W->s[1].e;
	const struct daemon_cfg *dc = &r->cfg->cfg->d;
	/* Warm up the allocator and crypto once, so that "before" is the idle daemon. */
	struct ikesa *sa = half_open("c0");
	engine_destroy_sa(W->s[0].e, sa);
	advance(11000);
	assert_int_equal(engine_ike_sa_count(r), 0);
	long before = rss_kib(), peak = before;
	for (int s = 0; s < FLOOD_SOURCES; s++) {
		char name[8];
		snprintf(name, sizeof(name), "c%d", s);
		for (int k = 0; k < FLOOD_PER_SOURCE; k++) {
			sa = half_open(name);
			fragments(sa);
			engine_destroy_sa(W->s[0].e, sa); /* the attacker keeps nothing */
			assert_true(dos_frag_bytes(r->dos) <= dc->frag_mem_max);
		}
		long now = rss_kib();
		peak = now > peak ? now : peak;
	}
	const struct dos_stats *ds = dos_stats(r->dos);
	assert_int_equal(dos_half_open(r->dos), 1000);
	/* A legitimate initiator now: cookie, then it takes the oldest half-open SA's place. */
	up("legit");
	run();
	assert_int_equal(W->s[1].e->stats.ike_established, 1);
	assert_int_equal(ds->half_open_evicted, 1);
	long flood_peak = peak;
	printf("fragment flood: %d sources x %d half-open SAs x %d of %d fragments of %d octets "
	       "(%.1f MB sent)\n", FLOOD_SOURCES, FLOOD_PER_SOURCE, FLOOD_FRAGS, FLOOD_FRAGS + 1,
	       FLOOD_INNER,
	       FLOOD_SOURCES * FLOOD_PER_SOURCE * FLOOD_FRAGS * (double)FLOOD_INNER / 1e6);
	printf("fragment flood: reassembly memory peak %llu KiB (frag_mem_max %llu KiB, "
	       "frag_mem_per_ip %llu KiB), %llu fragments over a budget, %llu partial messages "
	       "dropped for room\n", (unsigned long long)ds->frag_bytes_peak / 1024,
	       (unsigned long long)dc->frag_mem_max / 1024,
	       (unsigned long long)dc->frag_mem_per_ip / 1024,
	       (unsigned long long)ds->frag_over_budget,
	       (unsigned long long)r->stats.frag_evicted);
	assert_true(ds->frag_bytes_peak <= dc->frag_mem_max);
	assert_true(ds->frag_over_budget > 0);
	/* Everything half-open expires; the trim follows a second later. */
	advance(11000);
	advance(1100);
	assert_int_equal(dos_half_open(r->dos), 0);
	assert_int_equal(dos_frag_bytes(r->dos), 0);
	long after = rss_kib();
	printf("fragment flood: resident memory %ld KiB before, peak %ld KiB (+%ld), %ld KiB "
	       "after expiry (+%ld)%s\n", before, flood_peak, flood_peak - before, after,
	       after - before, SANITIZED ? " (under a sanitizer: not judged)" : "");
	if (!SANITIZED) {
		/* Budget 16 MiB plus 1,000 half-open SAs; all of it back after expiry. */
		assert_true(flood_peak - before < 40 * 1024);
		assert_true(after - before < 8 * 1024);
	}
	world_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_child_sas),
		cmocka_unit_test(test_ipv6_prefix),
		cmocka_unit_test(test_ike_sa_per_ip),
		cmocka_unit_test(test_auth_backoff),
		cmocka_unit_test(test_fragment_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
