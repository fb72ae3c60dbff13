/* The two-engine test world (see engine_world.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/natt.h"
#include "daemon/spi_table.h"
#include "daemon/trap.h"
#include "tests/unit/engine_world.h"

struct world *W;

void mkaddr(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		return;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	inet_pton(AF_INET, ip, &s4->sin_addr);
}

static int send_cb(void *ctx, const struct sockaddr_storage *from,
		   const struct sockaddr_storage *to, const uint8_t *buf, size_t len)
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

static int keepalive_cb(void *ctx, const struct sockaddr_storage *from,
			const struct sockaddr_storage *to)
{
	struct side *self = ctx;
	self->keepalives++;
	self->ka_from = *from;
	self->ka_to = *to;
	return 0;
}

static void on_mapping(void *ctx, uint32_t spi, const struct kaddr *old_addr, uint16_t old_port,
		       const struct kaddr *new_addr, uint16_t new_port)
{
	struct side *s = ctx;
	natt_on_mapping(s->e, spi, old_addr, old_port, new_addr, new_port);
}

/* Kernel events reach the engine of their side (the fake kernel is made before the engine). */
static void on_expire(void *ctx, uint32_t spi, uint8_t proto, const struct kaddr *dst, bool hard)
{
	struct side *s = ctx;
	engine_on_expire(s->e, spi, proto, dst, hard);
}

static void on_acquire(void *ctx, const struct ksel *sel, uint32_t reqid)
{
	struct side *s = ctx;
	trap_on_acquire(s->e, sel, reqid);
}

/*
 * RFC 4555 path selection: the side's route (route_src, or its own address;
 * none if down); to a destination of another family, the first of its
 * local_addrs of that family, as a dual-stack host's routes would give.
 */
static int route_cb(void *ctx, const struct sockaddr_storage *dst, struct sockaddr_storage *src)
{
	struct side *s = ctx;
	if (s->no_route)
		return -ENETUNREACH;
	const struct sockaddr_storage *r = s->route_src.ss_family ? &s->route_src : &s->addr;
	if (r->ss_family == dst->ss_family) {
		*src = *r;
		return 0;
	}
	for (size_t i = 0; i < s->n_local_addrs; i++) {
		if (s->local_addrs[i].ss_family == dst->ss_family) {
			*src = s->local_addrs[i];
			return 0;
		}
	}
	return -ENETUNREACH;
}

static size_t local_addrs_cb(void *ctx, struct sockaddr_storage *out, size_t cap)
{
	struct side *s = ctx;
	size_t n = s->n_local_addrs < cap ? s->n_local_addrs : cap;
	memcpy(out, s->local_addrs, n * sizeof(*out));
	return n;
}

struct ike_hdr qhdr(size_t i)
{
	struct ike_hdr h;
	struct payload_err err;
	assert_true(i < W->nq);
	assert_int_equal(message_parse_header(W->q[i].buf, W->q[i].len, &h, &err), PAYLOAD_OK);
	return h;
}

void q_rewrite(size_t i, const struct sockaddr_storage *from, const struct sockaddr_storage *dst)
{
	assert_true(i < W->nq);
	if (from)
		W->q[i].from = *from;
	if (dst)
		W->q[i].dst = *dst;
}

void pop(size_t i, bool deliver)
{
	struct pkt p = W->q[i];
	memmove(&W->q[i], &W->q[i + 1], (W->nq - i - 1) * sizeof(struct pkt));
	W->nq--;
	if (deliver)
		engine_receive(W->s[p.to].e, &p.dst, &p.from, p.buf, p.len);
	free(p.buf);
}

void step_at(size_t i, int to, uint8_t exchange, bool response)
{
	assert_true(W->nq > i);
	struct ike_hdr h = qhdr(i);
	assert_int_equal(W->q[i].to, to);
	assert_int_equal(h.exchange, exchange);
	assert_int_equal(ike_hdr_is_response(&h), response);
	pop(i, true);
}

size_t q_find(int to)
{
	for (size_t i = 0; i < W->nq; i++)
		if (W->q[i].to == to)
			return i;
	fail_msg("no message queued for side %d", to);
	return 0;
}

void step(int to, uint8_t exchange, bool response)
{
	step_at(0, to, exchange, response);
}

void drop(uint8_t exchange, bool response)
{
	assert_true(W->nq > 0);
	struct ike_hdr h = qhdr(0);
	assert_int_equal(h.exchange, exchange);
	assert_int_equal(ike_hdr_is_response(&h), response);
	pop(0, false);
}

void advance(uint64_t ms)
{
	clock_fake_advance(&W->cf, ms);
	loop_run_timers_until(W->loop, W->cf.now_ms);
}

void kernel_events(void)
{
	for (int i = 0; i < 2; i++)
		W->s[i].kern.ops->event_dispatch(W->s[i].kern.k);
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
	"mode = %s\n" \
	"%s"

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
	"mode = %s\n" \
	"%s"

const struct params DEFAULTS = {
	"aes256gcm16-prfsha256-x25519", "aes256gcm16", "10.1.0.0/24", "10.2.0.0/24", "tunnel",
	"correct horse battery staple", "aes256gcm16-prfsha256-x25519", "aes256gcm16", "10.2.0.0/24",
	"10.1.0.0/24", "tunnel", NULL, NULL,
};

struct xiked_config *conf(const char *text)
{
	struct xiked_config *c = NULL;
	char err[256];
	if (config_parse(text, strlen(text), "test.conf", &c, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	return c;
}

void world_new_text(const char *conf_a, const char *conf_b, uint64_t seed)
{
	W = calloc(1, sizeof(*W));
	clock_fake_set(&W->cf, 1000000);
	W->clk = clock_fake_clock(&W->cf);
	W->loop = loop_new(&W->clk);
	W->rng = rng_fixed_new(seed);
	const char *ips[2] = {"192.0.2.1", "192.0.2.2"};
	const char *texts[2] = {conf_a, conf_b};
	for (int i = 0; i < 2; i++) {
		struct side *s = &W->s[i];
		struct kernel_events ev = {.expire = on_expire, .acquire = on_acquire,
					   .mapping = on_mapping, .ctx = s};
		s->fake = kernel_fake_new(&ev, &s->kern);
		s->lfake = link_fake_new(&s->link);
		mkaddr(&s->addr, ips[i], 500);
		struct engine_env env = {.loop = W->loop, .rng = W->rng, .kernel = s->kern,
					 .link = s->link,
					 .send = send_cb, .keepalive = keepalive_cb,
					 .send_ctx = s, .port = 500,
					 .natt_port = 4500, .route_source = route_cb,
					 .local_addrs = local_addrs_cb, .net_ctx = s};
		struct xiked_config *c = conf(texts[i]);
		/*
		 * Dead peer detection (on by default) only where a test asks for
		 * it: the other tests count every message and move the clock.
		 */
		if (!strstr(texts[i], "dpd"))
			for (size_t k = 0; k < c->n_conns; k++)
				c->conns[k].live.dpd_s = 0;
		s->e = engine_new(&env, c);
		assert_non_null(s->e);
	}
	log_set_level(getenv("XIKED_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
}

void world_new(const struct params *p)
{
	char a[4096], b[4096];
	snprintf(a, sizeof(a), CONF_A, p->ike_a, p->esp_a, p->ts_la, p->ts_ra, p->mode_a,
		 p->extra_a ? p->extra_a : "");
	snprintf(b, sizeof(b), CONF_B, p->psk_b, p->ike_b, p->esp_b, p->ts_lb, p->ts_rb, p->mode_b,
		 p->extra_b ? p->extra_b : "");
	world_new_text(a, b, 42);
}

void world_free(void)
{
	for (int i = 0; i < 2; i++) {
		engine_free(W->s[i].e);
		kernel_free(&W->s[i].kern);
		link_free(&W->s[i].link);
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

struct ikesa *sa_of(int side)
{
	struct ikesa *sa = NULL;
	spi_table_each(W->s[side].e->by_spi, grab, &sa);
	return engine_ike_sa_count(W->s[side].e) == 1 ? sa : NULL;
}

void assert_tunnel(void)
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

void assert_nothing_left(void)
{
	for (int i = 0; i < 2; i++) {
		assert_int_equal(kernel_fake_sa_count(W->s[i].fake), 0);
		assert_int_equal(kernel_fake_policy_count(W->s[i].fake), 0);
	}
}

void settle(void)
{
	for (int i = 0; i < 64 && W->nq; i++)
		pop(0, true);
	assert_int_equal(W->nq, 0);
}

/* The full successful dance, message by message. */
void establish(void)
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
