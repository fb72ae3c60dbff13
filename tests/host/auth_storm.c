/*
 * A wrong-PSK storm against a responder engine (dos.h, issue 12.3), with
 * real crypto and the real clock, all in this process: an attacker engine
 * keeps 64 IKE SAs from 4 source addresses in flight with a wrong
 * pre-shared key (each failure is retried at once), and half a second in
 * a valid peer from another address connects. Run twice, with the
 * authentication back-off off (auth_backoff_max = 0) and at its defaults,
 * it prints the attempts per second the responder answered, the log
 * lines it wrote (at the default level, info) and the valid peer's setup
 * time, and checks that with the back-off the responder answers few
 * attempts, writes few lines and the valid peer gets in at once.
 *
 *   auth_storm [SECONDS]   (default 2 per run)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/rng.h"
#include "daemon/clock.h"
#include "daemon/config.h"
#include "daemon/dos.h"
#include "daemon/engine.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "netlink/kernel_fake.h"

#define SOURCES 4
#define PER_SOURCE 16

struct pkt {
	struct sockaddr_storage from, to;
	uint8_t *buf;
	size_t len;
	struct pkt *next;
};

static struct pkt *q_first, *q_last;
static struct engine *R, *A, *V;
static unsigned long lines_r;

static int send_cb(void *ctx, const struct sockaddr_storage *from,
		   const struct sockaddr_storage *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	struct pkt *p = calloc(1, sizeof(*p));
	if (!p || !(p->buf = malloc(len))) {
		free(p);
		return -1;
	}
	p->from = *from;
	p->to = *to;
	memcpy(p->buf, buf, len);
	p->len = len;
	if (q_last)
		q_last->next = p;
	else
		q_first = p;
	q_last = p;
	return 0;
}

static struct engine *dest(const struct sockaddr_storage *to)
{
	const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)to)->sin_addr;
	if (a[0] == 198)
		return A;
	return a[3] == 2 ? R : V;
}

static void pump(void)
{
	while (q_first) {
		struct pkt *p = q_first;
		q_first = p->next;
		if (!q_first)
			q_last = NULL;
		engine_receive(dest(&p->to), &p->to, &p->from, p->buf, p->len);
		free(p->buf);
		free(p);
	}
}

/* The responder's lines (the others' conns are named atk* and valid). */
static void sink(void *ctx, enum log_group g, enum log_level l, const char *msg)
{
	(void)ctx;
	(void)g;
	if (l > LOG_LVL_INFO || strncmp(msg, "atk", 3) == 0 || strncmp(msg, "valid", 5) == 0)
		return;
	lines_r++;
	if (getenv("XIKED_STORM_LOG"))
		fprintf(stderr, "  | %s\n", msg);
}

static struct engine *make(struct loop *loop, struct kernel *k, const char *text)
{
	struct xiked_config *cfg = NULL;
	char err[256];
	if (config_parse(text, strlen(text), "storm.conf", &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "config: %s\n", err);
		exit(2);
	}
	kernel_fake_new(NULL, k);
	struct engine_env env = {.loop = loop, .rng = rng_system(), .kernel = *k, .send = send_cb,
				 .port = 500, .natt_port = 4500};
	struct engine *e = engine_new(&env, cfg);
	if (!e) {
		fprintf(stderr, "engine_new failed\n");
		exit(1);
	}
	return e;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

struct result {
	double answered_per_s, attempts_per_s, setup_s;
	unsigned long lines, dropped, answered;
	bool valid_up;
};

static struct result storm(double seconds, bool backoff)
{
	struct clock clk = clock_boottime();
	struct loop *loop = loop_new(&clk);
	struct kernel kr, ka, kv;
	char conf[512];
	snprintf(conf, sizeof(conf),
		 "[daemon]\nlog = info\n%s[conn gw]\nlocal_addr = 192.0.2.2\nremote_addr = %%any\n"
		 "local_id = gw.example\nremote_id = %%any\nauth = psk\n"
		 "psk = \"correct horse battery staple\"\nlocal_ts = 10.2.0.0/24\n"
		 "remote_ts = 10.1.0.0/16\n", backoff ? "" : "auth_backoff_max = 0\n");
	R = make(loop, &kr, conf);
	size_t cap = 512 + SOURCES * PER_SOURCE * 300;
	char *ac = malloc(cap);
	size_t off = (size_t)snprintf(ac, cap, "[daemon]\nretransmit_timeout = 1s\n"
				      "retransmit_tries = 0\n");
	for (int s = 0; s < SOURCES; s++)
		for (int i = 0; i < PER_SOURCE; i++)
			off += (size_t)snprintf(ac + off, cap - off,
				"[conn atk%d_%d]\nlocal_addr = 198.18.0.%d\nremote_addr = 192.0.2.2\n"
				"local_id = mallory%d.example\nremote_id = gw.example\nauth = psk\n"
				"psk = \"guess\"\nlocal_ts = 10.1.%d.0/24\nremote_ts = 10.2.0.0/24\n",
				s, i, s + 1, s, i);
	A = make(loop, &ka, ac);
	free(ac);
	V = make(loop, &kv, "[conn valid]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\n"
			    "local_id = alice.example\nremote_id = gw.example\nauth = psk\n"
			    "psk = \"correct horse battery staple\"\nlocal_ts = 10.1.200.0/24\n"
			    "remote_ts = 10.2.0.0/24\n");
	lines_r = 0;
	log_set_level(LOG_LVL_INFO);
	log_set_sink(sink, NULL);
	struct result res = {0};
	unsigned long attempts = 0;
	double t0 = now_s(), tv = 0;
	while (now_s() - t0 < seconds) {
		char name[32], err[128];
		for (int s = 0; s < SOURCES; s++)
			for (int i = 0; i < PER_SOURCE; i++) {
				snprintf(name, sizeof(name), "atk%d_%d", s, i);
				attempts += engine_up(A, name, err, sizeof(err)) == 0;
			}
		if (!tv && now_s() - t0 >= 0.5) {
			tv = now_s();
			engine_up(V, "valid", err, sizeof(err));
		}
		pump();
		loop_run_timers_until(loop, loop_now(loop));
		if (tv && !res.valid_up && V->stats.ike_established) {
			res.valid_up = true;
			res.setup_s = now_s() - tv;
		}
	}
	double wall = now_s() - t0;
	const struct dos_stats *ds = dos_stats(R->dos);
	res.answered = ds->auth_failures;
	res.answered_per_s = ds->auth_failures / wall;
	res.attempts_per_s = attempts / wall;
	res.dropped = ds->dropped_auth_backoff;
	res.lines = lines_r;
	log_set_sink(NULL, NULL);
	log_set_level(LOG_LVL_ERROR);
	engine_free(A);
	engine_free(V);
	engine_free(R);
	pump(); /* Deletes sent while freeing: discarded with the queue */
	while (q_first) {
		struct pkt *p = q_first;
		q_first = p->next;
		free(p->buf);
		free(p);
	}
	q_last = NULL;
	kernel_free(&kr);
	kernel_free(&ka);
	kernel_free(&kv);
	loop_free(loop);
	printf("auth storm, back-off %s: %.0f attempts/s made, %.0f/s answered "
	       "AUTHENTICATION_FAILED (%lu), %lu IKE_SA_INIT dropped while backing off, "
	       "%lu responder log lines in %.1f s (%.1f per answered attempt), valid peer %s",
	       backoff ? "on (defaults)" : "off", res.attempts_per_s, res.answered_per_s,
	       res.answered, res.dropped, res.lines, wall,
	       res.answered ? (double)res.lines / res.answered : 0.0,
	       res.valid_up ? "established in" : "NOT established");
	if (res.valid_up)
		printf(" %.3f s", res.setup_s);
	printf("\n");
	return res;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	crypto_init();
	log_set_level(LOG_LVL_ERROR);
	struct result off = storm(secs, false), on = storm(secs, true);
	int failed = 0;
#define CHECK(c, what) do { if (c) printf("ok   - %s\n", what); \
			    else { printf("FAIL - %s\n", what); failed++; } } while (0)
	CHECK(on.valid_up && on.setup_s < 0.5, "the valid peer is up within 0.5 s during the storm");
	CHECK(on.dropped > 0, "IKE_SA_INIT from backing-off sources is dropped");
	/* auth_fail_limit (5) + about log2(seconds) more per source, then silence. */
	CHECK(on.answered <= SOURCES * 16, "a backing-off storm is answered a bounded number of times");
	/* One failure line per source per 5 s, its IKE_SA_INIT line, the pressure lines. */
	CHECK(on.lines <= 20 * SOURCES, "log lines stay bounded (not one per attempt)");
	CHECK(off.answered == 0 || off.lines < off.answered, "without back-off, fewer lines than attempts");
	printf("auth_storm: %d failed\n", failed);
	return failed ? 1 : 0;
}
