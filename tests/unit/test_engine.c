/*
 * IKE_SA_INIT, IKE_AUTH, Child SA creation and deletion between two engines
 * in one process (tests/unit/engine_world.h), stepped message by message.
 */
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

#include "crypto/rng.h"
#include "daemon/clock.h"
#include "daemon/child_kernel.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/engine_index.h"
#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/message.h"
#include "daemon/spi_table.h"
#include "daemon/ts.h"
#include "netlink/kernel_fake.h"

#include "daemon/dos.h"
#include "tests/unit/engine_world.h"

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

/*
 * Three [child] sections of one conn: the first rides IKE_AUTH, each other one
 * gets a CREATE_CHILD_SA exchange of its own (RFC 7296 1.3: one SA payload
 * per exchange); a batch of two drew INVALID_SYNTAX from the responder.
 */
static void test_engine_children_one_per_exchange(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "[child b.web]\nlocal_ts = 10.1.0.0/24[tcp/80]\n"
		    "[child b.dns]\nlocal_ts = 10.1.0.0/24[udp/53]\n"
		    "[child b.ssh]\nlocal_ts = 10.1.0.0/24[tcp/22]\n";
	world_new(&p);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	step(1, CREATE_CHILD_SA, false);
	step(0, CREATE_CHILD_SA, true);
	step(1, CREATE_CHILD_SA, false);
	step(0, CREATE_CHILD_SA, true);
	assert_int_equal(W->nq, 0);
	for (int s = 0; s < 2; s++) {
		size_t n = 0;
		for (struct child_sa *c = sa_of(s)->children; c; c = c->next)
			n++;
		assert_int_equal(n, 3);
	}
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

/* Under DoS protection (cookie_threshold = 0): COOKIE round trip, then the usual exchange. */
static void test_cookie(void **st)
{
	(void)st;
	char a[1024], b[1024];
	snprintf(a, sizeof(a), "[conn b]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\n"
		 "local_id = a.example\nremote_id = b.example\nauth = psk\npsk = \"k\"\n"
		 "local_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\n");
	snprintf(b, sizeof(b), "[daemon]\ncookie_threshold = 0\n[conn a]\nlocal_addr = 192.0.2.2\n"
		 "remote_addr = %%any\nlocal_id = b.example\nremote_id = a.example\nauth = psk\n"
		 "psk = \"k\"\nlocal_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/24\n");
	world_new_text(a, b, 7);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	/* IKE_SA_INIT { SAi1, KEi, Ni } --> */
	step(1, IKE_SA_INIT, false);
	/* <-- { N(COOKIE) }: b keeps no state */
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	step(0, IKE_SA_INIT, true);
	/* IKE_SA_INIT { N(COOKIE), SAi1, KEi, Ni } --> */
	step(1, IKE_SA_INIT, false);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 1);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	world_free();
}

/* half_open_per_ip and half_open_max: over a cap, IKE_SA_INIT is dropped unanswered. */
static void test_half_open_caps(void **st)
{
	(void)st;
	char a[2048], b[1024];
	size_t off = 0;
	for (int i = 0; i < 4; i++)
		off += (size_t)snprintf(a + off, sizeof(a) - off,
			"[conn b%d]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\n"
			"local_id = a.example\nremote_id = b.example\nauth = psk\npsk = \"k\"\n", i);
	snprintf(b, sizeof(b), "[daemon]\nhalf_open_per_ip = 2\n[conn a]\nlocal_addr = 192.0.2.2\n"
		 "remote_addr = %%any\nlocal_id = b.example\nremote_id = a.example\nauth = psk\n"
		 "psk = \"k\"\n");
	world_new_text(a, b, 9);
	char err[128], name[8];
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		assert_int_equal(engine_up(W->s[0].e, name, err, sizeof(err)), 0);
	}
	/* Four IKE_SA_INIT from one address: two half-open SAs, two dropped. */
	for (int i = 0; i < 4; i++)
		step(1, IKE_SA_INIT, false);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 2);
	assert_int_equal(W->nq, 2);
	assert_int_equal(dos_stats(W->s[1].e->dos)->dropped_per_ip_cap, 2);
	/* Half-open SAs expire (half_open_timeout, 30 s) and free the slots. */
	while (W->nq)
		pop(0, false);
	advance(31000);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 0);
	assert_int_equal(dos_half_open(W->s[1].e->dos), 0);
	assert_int_equal(W->s[1].e->stats.half_open_expired, 2);
	world_free();
}


/* kernel_fake_foreach_policy: how many policies carry reqid (0 = any). */
struct pol_count {
	uint32_t reqid;
	size_t n;
};
static void count_policy(void *arg, const struct kernel_policy *p)
{
	struct pol_count *pc = arg;
	if (!pc->reqid || p->reqid == pc->reqid)
		pc->n++;
}
static size_t policies_of(int side, uint32_t reqid)
{
	struct pol_count pc = {reqid, 0};
	kernel_fake_foreach_policy(W->s[side].fake, count_policy, &pc);
	return pc.n;
}

/*
 * Issue 12.1: a Child SA whose policies collide with another tunnel's
 * (NEWPOLICY answers EEXIST) must not take that tunnel's policies with it
 * when it rolls back: the kernel deletes policies by selector, so only
 * what this install added is deleted. Here the new holder's first selector
 * pair (10.9.0.0/24) installs, the second collides with b's tunnel.
 */
static void test_policy_collision_rollback(void **state)
{
	(void)state;
	world_new(&DEFAULTS);
	establish();
	assert_tunnel();
	struct ikesa *sa = sa_of(1);
	assert_non_null(sa);
	struct child_sa *held = sa->children;
	assert_non_null(held);
	assert_int_equal(policies_of(1, held->reqid), 3);

	struct child_sa c2 = *held;
	c2.next = NULL;
	c2.reqid_next = NULL;
	c2.holds_policies = false;
	c2.installed_in = c2.installed_out = false;
	c2.reqid = engine_alloc_reqid(W->s[1].e);
	c2.remote_ts[1] = held->remote_ts[0];
	c2.remote_ts[0] = held->remote_ts[0];
	c2.remote_ts[0].start[1] = c2.remote_ts[0].end[1] = 9; /* 10.9.0.0/24 */
	c2.n_remote_ts = 2;
	int rc = child_kernel_hold_policies(W->s[1].e, &sa->local, &sa->remote, "collide", &c2);
	assert_int_equal(rc, -EEXIST);
	assert_false(c2.holds_policies);
	/* b's tunnel keeps its three policies; nothing of the failed install is left. */
	assert_int_equal(policies_of(1, held->reqid), 3);
	assert_int_equal(policies_of(1, c2.reqid), 0);
	assert_int_equal(policies_of(1, 0), 3);
	world_free();
}

/*
 * Issue 12.1: on a gateway with fixed selectors, a second identity asking
 * for the first one's selectors in IKE_AUTH is refused (TS_UNACCEPTABLE,
 * its IKE SA stays without a Child SA) and the first tunnel keeps its
 * policies and states.
 */
static void test_policy_collision_second_identity(void **state)
{
	(void)state;
	struct params p = DEFAULTS;
	p.extra_a = "[conn b2]\nlocal_addr = 192.0.2.1\nremote_addr = 192.0.2.2\n"
		    "local_id = a2.example\nremote_id = b.example\nauth = psk\n"
		    "psk = \"correct horse battery staple\"\nike = aes256gcm16-prfsha256-x25519\n"
		    "esp = aes256gcm16\nlocal_ts = 10.1.0.0/24\nremote_ts = 10.2.0.0/24\n";
	p.extra_b = "[conn a2]\nlocal_addr = 192.0.2.2\nremote_addr = %any\n"
		    "local_id = b.example\nremote_id = a2.example\nauth = psk\n"
		    "psk = \"correct horse battery staple\"\nike = aes256gcm16-prfsha256-x25519\n"
		    "esp = aes256gcm16\nlocal_ts = 10.2.0.0/24\nremote_ts = 10.1.0.0/24\n";
	world_new(&p);
	establish();
	assert_tunnel();
	uint32_t reqid = sa_of(1)->children->reqid;
	assert_int_equal(policies_of(1, 0), 3);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2);

	char err[128];
	log_set_level(LOG_LVL_WARN); /* shows the refusal line naming the holder */
	assert_int_equal(engine_up(W->s[0].e, "b2", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(engine_ike_sa_count(W->s[1].e), 2);
	/* b's first tunnel is untouched; nothing of the refused one is left. */
	assert_int_equal(policies_of(1, reqid), 3);
	assert_int_equal(policies_of(1, 0), 3);
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 2);
	/* a's second IKE SA is up without a Child SA (the peer answered TS_UNACCEPTABLE). */
	struct ikesa *b2 = engine_conn_sa(W->s[0].e, "b2");
	assert_non_null(b2);
	assert_int_equal(b2->state, IKESA_ESTABLISHED);
	assert_null(b2->children);
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
		cmocka_unit_test(test_engine_children_one_per_exchange),
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
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_half_open_caps),
		cmocka_unit_test(test_policy_collision_rollback),
		cmocka_unit_test(test_policy_collision_second_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
