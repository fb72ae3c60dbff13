/*
 * Two engines in one process: an initiator ("a", 192.0.2.1) and a
 * responder ("b", 192.0.2.2), each with a recording fake kernel, sharing a
 * fake clock. Messages are queued by the send seam and delivered one by one
 * by the test, which may drop any of them, so every exchange is stepped
 * under a comment in RFC notation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rng.h"
#include "daemon/clock.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/message.h"
#include "daemon/spi_table.h"
#include "daemon/ts.h"
#include "netlink/kernel_fake.h"

#define QMAX 64

struct pkt {
	int to; /* 0 = a, 1 = b */
	struct sockaddr_storage from, dst;
	uint8_t *buf;
	size_t len;
};

struct side {
	struct engine *e;
	struct kernel kern;
	struct kernel_fake *fake;
	struct sockaddr_storage addr;
};

struct world {
	struct clock_fake cf;
	struct clock clk;
	struct loop *loop;
	struct rng *rng;
	struct side s[2];
	struct pkt q[QMAX];
	size_t nq;
};

static struct world *W;

static void mkaddr(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s4->sin_addr);
}

static int send_cb(void *ctx, const struct sockaddr_storage *from, const struct sockaddr_storage *to,
		   const uint8_t *buf, size_t len)
{
	struct side *self = ctx;
	int idx = self == &W->s[0] ? 1 : 0;
	assert_true(W->nq < QMAX);
	struct pkt *p = &W->q[W->nq++];
	p->to = idx;
	p->from = *from;
	p->dst = *to;
	p->buf = malloc(len);
	memcpy(p->buf, buf, len);
	p->len = len;
	return 0;
}

/* Header of queued message i. */
static struct ike_hdr qhdr(size_t i)
{
	struct ike_hdr h;
	struct payload_err err;
	assert_int_equal(message_parse_header(W->q[i].buf, W->q[i].len, &h, &err), PAYLOAD_OK);
	return h;
}

static void pop(size_t i, bool deliver)
{
	struct pkt p = W->q[i];
	memmove(&W->q[i], &W->q[i + 1], (W->nq - i - 1) * sizeof(struct pkt));
	W->nq--;
	if (deliver)
		engine_receive(W->s[p.to].e, &p.dst, &p.from, p.buf, p.len);
	free(p.buf);
}

/* Deliver the first queued message, checking its exchange and direction. */
static void step(int to, uint8_t exchange, bool response)
{
	assert_true(W->nq > 0);
	struct ike_hdr h = qhdr(0);
	assert_int_equal(W->q[0].to, to);
	assert_int_equal(h.exchange, exchange);
	assert_int_equal(ike_hdr_is_response(&h), response);
	pop(0, true);
}

static void drop(uint8_t exchange, bool response)
{
	assert_true(W->nq > 0);
	struct ike_hdr h = qhdr(0);
	assert_int_equal(h.exchange, exchange);
	assert_int_equal(ike_hdr_is_response(&h), response);
	pop(0, false);
}

static void advance(uint64_t ms)
{
	clock_fake_advance(&W->cf, ms);
	loop_run_timers_until(W->loop, W->cf.now_ms);
}

#define CONF_A \
	"[daemon]\n" \
	"log = error\n" \
	"[conn b]\n" \
	"local_addr = 192.0.2.1\n" \
	"remote_addr = 192.0.2.2\n" \
	"local_id = a.example\n" \
	"remote_id = b.example\n" \
	"auth = psk\n" \
	"psk = \"correct horse battery staple\"\n" \
	"ike = %s\n" \
	"esp = %s\n" \
	"local_ts = %s\n" \
	"remote_ts = %s\n" \
	"mode = %s\n"

#define CONF_B \
	"[daemon]\n" \
	"log = error\n" \
	"[conn a]\n" \
	"local_addr = 192.0.2.2\n" \
	"remote_addr = %%any\n" \
	"local_id = b.example\n" \
	"remote_id = a.example\n" \
	"auth = psk\n" \
	"psk = \"%s\"\n" \
	"ike = %s\n" \
	"esp = %s\n" \
	"local_ts = %s\n" \
	"remote_ts = %s\n" \
	"mode = %s\n"

struct params {
	const char *ike_a, *esp_a, *ts_la, *ts_ra, *mode_a;
	const char *psk_b, *ike_b, *esp_b, *ts_lb, *ts_rb, *mode_b;
};

static const struct params DEFAULTS = {
	"aes256gcm16-prfsha256-x25519", "aes256gcm16", "10.1.0.0/24", "10.2.0.0/24", "tunnel",
	"correct horse battery staple", "aes256gcm16-prfsha256-x25519", "aes256gcm16", "10.2.0.0/24",
	"10.1.0.0/24", "tunnel",
};

static struct xiked_config *conf(const char *text)
{
	struct xiked_config *c = NULL;
	char err[256];
	if (config_parse(text, strlen(text), "test.conf", &c, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	return c;
}

static void world_new(const struct params *p)
{
	char a[2048], b[2048];
	snprintf(a, sizeof(a), CONF_A, p->ike_a, p->esp_a, p->ts_la, p->ts_ra, p->mode_a);
	snprintf(b, sizeof(b), CONF_B, p->psk_b, p->ike_b, p->esp_b, p->ts_lb, p->ts_rb, p->mode_b);
	W = calloc(1, sizeof(*W));
	clock_fake_set(&W->cf, 1000000);
	W->clk = clock_fake_clock(&W->cf);
	W->loop = loop_new(&W->clk);
	W->rng = rng_fixed_new(42);
	const char *ips[2] = {"192.0.2.1", "192.0.2.2"};
	const char *texts[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		struct side *s = &W->s[i];
		struct kernel_events ev = {.expire = engine_on_expire};
		s->fake = kernel_fake_new(&ev, &s->kern);
		mkaddr(&s->addr, ips[i], 500);
		struct engine_env env = {.loop = W->loop, .rng = W->rng, .kernel = s->kern,
					 .send = send_cb, .send_ctx = s, .port = 500,
					 .natt_port = 4500};
		s->e = engine_new(&env, conf(texts[i]));
		assert_non_null(s->e);
	}
	log_set_level(getenv("XIKED_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
}

static void world_free(void)
{
	for (int i = 0; i < 2; i++) {
		engine_free(W->s[i].e);
		kernel_free(&W->s[i].kern);
	}
	while (W->nq)
		pop(0, false);
	loop_free(W->loop);
	rng_fixed_free(W->rng);
	free(W);
	W = NULL;
}

static void grab(uint64_t k, void *v, void *ctx)
{
	(void)k;
	*(struct ikesa **)ctx = v;
}

static struct ikesa *sa_of(int side)
{
	struct ikesa *sa = NULL;
	spi_table_each(W->s[side].e->by_spi, grab, &sa);
	return engine_ike_sa_count(W->s[side].e) == 1 ? sa : NULL;
}

/* Both sides established with one installed child whose keys and SPIs match crosswise. */
static void assert_tunnel(void)
{
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->state, IKESA_ESTABLISHED);
	assert_int_equal(b->state, IKESA_ESTABLISHED);
	assert_non_null(a->children);
	assert_non_null(b->children);
	struct child_sa *ca = a->children, *cb = b->children;
	assert_int_equal(ca->state, CHILD_INSTALLED);
	assert_int_equal(cb->state, CHILD_INSTALLED);
	assert_int_equal(ca->spi_out, cb->spi_in);
	assert_int_equal(ca->spi_in, cb->spi_out);
	/* 2 states and 3 policies (out, in, fwd) on each side. */
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 2);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), ca->mode == CONFIG_MODE_TUNNEL ? 3 : 2);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), cb->mode == CONFIG_MODE_TUNNEL ? 3 : 2);
	/* a's outbound key is b's inbound key and vice versa. */
	struct kaddr ka = {.family = AF_INET}, kb = {.family = AF_INET};
	inet_pton(AF_INET, "192.0.2.1", ka.a);
	inet_pton(AF_INET, "192.0.2.2", kb.a);
	const struct kernel_fake_sa *a_out = kernel_fake_find_sa(W->s[0].fake, &kb, ca->spi_out, IPPROTO_ESP);
	const struct kernel_fake_sa *b_in = kernel_fake_find_sa(W->s[1].fake, &kb, cb->spi_in, IPPROTO_ESP);
	const struct kernel_fake_sa *a_in = kernel_fake_find_sa(W->s[0].fake, &ka, ca->spi_in, IPPROTO_ESP);
	const struct kernel_fake_sa *b_out = kernel_fake_find_sa(W->s[1].fake, &ka, cb->spi_out, IPPROTO_ESP);
	assert_non_null(a_out);
	assert_non_null(b_in);
	assert_non_null(a_in);
	assert_non_null(b_out);
	assert_false(b_in->larval);
	assert_int_equal(a_out->sa.enc_key_len, b_in->sa.enc_key_len);
	assert_memory_equal(a_out->sa.enc_key, b_in->sa.enc_key, a_out->sa.enc_key_len);
	assert_memory_equal(a_in->sa.enc_key, b_out->sa.enc_key, a_in->sa.enc_key_len);
	assert_memory_not_equal(a_in->sa.enc_key, a_out->sa.enc_key, a_in->sa.enc_key_len);
	if (a_out->sa.integ_key_len)
		assert_memory_equal(a_out->sa.integ_key, b_in->sa.integ_key, a_out->sa.integ_key_len);
}

static void assert_nothing_left(void)
{
	for (int i = 0; i < 2; i++) {
		assert_int_equal(kernel_fake_sa_count(W->s[i].fake), 0);
		assert_int_equal(kernel_fake_policy_count(W->s[i].fake), 0);
	}
}

/* The full successful dance, message by message. */
static void establish(void)
{
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	/* IKE_SA_INIT { HDR, SAi1, KEi, Ni, N(NATD_S), N(NATD_D), N(SIG_HASH) } --> */
	step(1, IKE_SA_INIT, false);
	/* <-- { HDR, SAr1, KEr, Nr, N(NATD_S), N(NATD_D), N(SIG_HASH) } */
	step(0, IKE_SA_INIT, true);
	/* IKE_AUTH { HDR, SK { IDi, IDr, AUTH, SAi2, TSi, TSr } } --> */
	step(1, IKE_AUTH, false);
	/* <-- { HDR, SK { IDr, AUTH, SAr2, TSi, TSr } } */
	step(0, IKE_AUTH, true);
	assert_int_equal(W->nq, 0);
}

static void run_family(const char *ike, const char *esp)
{
	struct params p = DEFAULTS;
	p.ike_a = p.ike_b = ike;
	p.esp_a = p.esp_b = esp;
	world_new(&p);
	establish();
	assert_tunnel();
	world_free();
}

static void test_gcm_x25519(void **st)
{
	(void)st;
	run_family("aes256gcm16-prfsha256-x25519", "aes256gcm16");
}

static void test_cbc_ecp256(void **st)
{
	(void)st;
	run_family("aes128-sha256-ecp256", "aes128-sha256");
}

static void test_cbc_modp3072(void **st)
{
	(void)st;
	run_family("aes256-sha384-modp3072", "aes256-sha384");
}

static void test_chacha_x25519(void **st)
{
	(void)st;
	run_family("chacha20poly1305-prfsha256-x25519", "chacha20poly1305");
}

static void test_ecp384_sha512(void **st)
{
	(void)st;
	run_family("aes256-sha512-ecp384", "aes128gcm16");
}

static void test_wrong_psk(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.psk_b = "not the right one";
	world_new(&p);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	/* <-- { HDR, SK { N(AUTHENTICATION_FAILED) } }: b already forgot the SA */
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	step(0, IKE_AUTH, true);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_nothing_left();
	assert_int_equal(W->s[0].e->stats.ike_failed, 1);
	world_free();
}

static void test_no_proposal(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ike_b = "aes128-sha256-modp2048";
	world_new(&p);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	/* <-- { HDR, N(NO_PROPOSAL_CHOSEN) } */
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	step(0, IKE_SA_INIT, true);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_nothing_left();
	world_free();
}

static void test_esp_no_proposal(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.esp_b = "aes128-sha1";
	world_new(&p);
	establish();
	/* IKE SA up, Child SA refused with NO_PROPOSAL_CHOSEN, nothing in either kernel. */
	assert_non_null(sa_of(0));
	assert_int_equal(sa_of(0)->state, IKESA_ESTABLISHED);
	assert_null(sa_of(0)->children);
	assert_null(sa_of(1)->children);
	assert_nothing_left();
	world_free();
}

static void test_ts_narrowing(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ts_la = "10.1.0.0/16";
	p.ts_ra = "10.2.0.0/16";
	world_new(&p);
	establish();
	assert_tunnel();
	struct child_sa *c = sa_of(0)->children;
	char buf[128];
	assert_string_equal(ts_to_string(&c->local_ts[0], buf, sizeof(buf)), "10.1.0.0/24");
	assert_string_equal(ts_to_string(&c->remote_ts[0], buf, sizeof(buf)), "10.2.0.0/24");
	world_free();
}

static void test_ts_unacceptable(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ts_ra = "10.9.0.0/24";
	world_new(&p);
	establish();
	assert_null(sa_of(0)->children);
	assert_nothing_left();
	world_free();
}

static void test_invalid_ke_retry(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ike_a = "aes256gcm16-prfsha256-ecp256-x25519";
	p.ike_b = "aes256gcm16-prfsha256-x25519";
	world_new(&p);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	/* IKE_SA_INIT { SAi1, KEi(ECP_256), Ni } --> */
	step(1, IKE_SA_INIT, false);
	/* <-- { N(INVALID_KE_PAYLOAD, Curve25519) } */
	step(0, IKE_SA_INIT, true);
	/* IKE_SA_INIT { SAi1, KEi(Curve25519), Ni } --> ... */
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	assert_int_equal(sa_of(0)->suite.dh, 31);
	world_free();
}

static void test_lost_request(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	/* IKE_AUTH request lost on the way */
	drop(IKE_AUTH, false);
	assert_int_equal(W->nq, 0);
	advance(4000); /* first retransmission timeout */
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	assert_int_equal(W->s[0].e->stats.retransmits, 1);
	world_free();
}

static void test_lost_response(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	/* <-- IKE_AUTH response lost */
	drop(IKE_AUTH, true);
	unsigned spis = kernel_fake_calls(W->s[1].fake, KFAKE_GET_SPI);
	advance(4000);
	/* The retransmitted request gets the cached response: nothing is recomputed. */
	step(1, IKE_AUTH, false);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_GET_SPI), spis);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	world_free();
}

static void test_lost_init_response(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	drop(IKE_SA_INIT, true);
	advance(4000);
	/* The retransmitted IKE_SA_INIT finds the half-open SA: still one SA on b. */
	step(1, IKE_SA_INIT, false);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 1);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	world_free();
}

static void test_peer_gone(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	/* Nothing answers: 5 retransmits (4 s * 1.8^n), then the SA is gone. */
	for (int i = 0; i < 10 && engine_ike_sa_count(W->s[0].e); i++) {
		while (W->nq)
			pop(0, false);
		advance(60000);
	}
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(W->s[0].e->stats.retransmits, 5);
	world_free();
}

static void test_delete(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	char err[128];
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	/* INFORMATIONAL { HDR, SK { D(IKE) } } --> */
	step(1, INFORMATIONAL, false);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	/* <-- { HDR, SK { } } */
	step(0, INFORMATIONAL, true);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_nothing_left();
	world_free();
}

static void test_transport(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.mode_a = p.mode_b = "transport";
	p.ts_la = p.ts_rb = "192.0.2.1/32";
	p.ts_ra = p.ts_lb = "192.0.2.2/32";
	world_new(&p);
	establish();
	assert_tunnel();
	assert_int_equal(sa_of(1)->children->mode, CONFIG_MODE_TRANSPORT);
	world_free();
}

static void test_ikev1_and_garbage(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	/* An IKEv1 Main Mode header: version 1.0, exchange 2 (Identity Protection). */
	uint8_t v1[28] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 2, 0,
			  0, 0, 0, 0, 0, 0, 0, 28};
	engine_receive(W->s[1].e, &W->s[1].addr, &W->s[0].addr, v1, sizeof(v1));
	assert_int_equal(W->nq, 1);
	struct ike_msg *m = malloc(sizeof(*m));
	struct payload_err perr;
	assert_int_equal(message_parse(m, W->q[0].buf, W->q[0].len, &perr), PAYLOAD_OK);
	const struct ike_notify *n = message_find_notify(m, N_INVALID_MAJOR_VERSION);
	assert_non_null(n);
	assert_int_equal(m->hdr.major, 2);
	free(m);
	pop(0, false);
	/* Random garbage and truncations of a real message: no crash, no state. */
	uint8_t junk[300];
	for (int i = 0; i < 200; i++) {
		rng_fill(W->rng, junk, sizeof(junk));
		size_t len = (size_t)(junk[0] + 1);
		if (i % 2)
			memcpy(junk + 16, "\x00\x00\x00\x00\x00\x00\x00\x00\x21\x20\x22\x08", 12);
		engine_receive(W->s[1].e, &W->s[1].addr, &W->s[0].addr, junk, len);
		while (W->nq)
			pop(0, false);
	}
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	world_free();
}

static void test_redirect_response(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	struct ike_hdr req = qhdr(0);
	pop(0, false);
	/* <-- IKE_SA_INIT { HDR, N(REDIRECT) }: no SA, KE or Nonce (RFC 5685), not followed */
	struct ike_hdr h = {.spi_i = req.spi_i, .spi_r = 0x1122334455667788ULL,
			    .exchange = IKE_SA_INIT, .flags = IKE_FLAG_RESPONSE};
	uint8_t buf[256], gw[6] = {1, 4, 192, 0, 2, 9};
	struct ike_builder b;
	size_t len;
	message_build_init(&b, buf, sizeof(buf), &h);
	payload_build_notify_simple(&b, PROTO_NONE, N_REDIRECT, NULL, 0, gw, sizeof(gw));
	assert_int_equal(message_build_finish(&b, &len), 0);
	engine_receive(W->s[0].e, &W->s[0].addr, &W->s[1].addr, buf, len);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_nothing_left();
	world_free();
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_x25519),
		cmocka_unit_test(test_cbc_ecp256),
		cmocka_unit_test(test_cbc_modp3072),
		cmocka_unit_test(test_chacha_x25519),
		cmocka_unit_test(test_ecp384_sha512),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_no_proposal),
		cmocka_unit_test(test_esp_no_proposal),
		cmocka_unit_test(test_ts_narrowing),
		cmocka_unit_test(test_ts_unacceptable),
		cmocka_unit_test(test_invalid_ke_retry),
		cmocka_unit_test(test_lost_request),
		cmocka_unit_test(test_lost_response),
		cmocka_unit_test(test_lost_init_response),
		cmocka_unit_test(test_peer_gone),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_transport),
		cmocka_unit_test(test_ikev1_and_garbage),
		cmocka_unit_test(test_redirect_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
