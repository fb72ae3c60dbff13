/*
 * NAT traversal (RFC 7296 2.23, RFC 3948) and dead peer detection (RFC 7296
 * 2.4) in the two-engine world. The NAT in front of the initiator a is
 * simulated by rewriting the addresses of queued messages: a's private
 * 192.0.2.1:500/4500 appear to b as 198.51.100.1:40500/44500.
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

#include "daemon/natt.h"
#include "daemon/task.h"
#include "tests/unit/engine_world.h"

#define PUB "198.51.100.1"

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static struct kaddr kaddr_of(const char *ip)
{
	struct kaddr k = {.family = AF_INET};
	inet_pton(AF_INET, ip, k.a);
	return k;
}

/* The NAT's port for a's private port (a fixed mapping unless changed by a test). */
static uint16_t nat_map[2] = {40500, 44500}; /* for 500, 4500 */

/* Translate queued message i as the NAT between a and b would, both ways. */
static void nat(size_t i)
{
	struct pkt *p = &W->q[i];
	struct sockaddr_storage ss;
	if (p->to == 1) {
		/* a -> b: source 192.0.2.1:P becomes PUB:map(P) */
		mkaddr(&ss, PUB, port_of(&p->from) == 4500 ? nat_map[1] : nat_map[0]);
		q_rewrite(i, &ss, NULL);
	} else {
		/* b -> a: destination PUB:map(P) goes back to 192.0.2.1:P */
		uint16_t d = port_of(&p->dst);
		mkaddr(&ss, "192.0.2.1", d == nat_map[1] ? 4500 : 500);
		q_rewrite(i, NULL, &ss);
	}
}

static void nat_step(int to, uint8_t exchange, bool response)
{
	nat(0);
	step(to, exchange, response);
}

static void establish_nat(void)
{
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	/* IKE_SA_INIT from 500 (no marker) */
	assert_int_equal(port_of(&W->q[0].from), 500);
	nat_step(1, IKE_SA_INIT, false);
	nat_step(0, IKE_SA_INIT, true);
	/* RFC 7296 2.23: the initiator behind the NAT floats to 4500 for IKE_AUTH */
	assert_int_equal(port_of(&W->q[0].from), 4500);
	assert_int_equal(port_of(&W->q[0].dst), 4500);
	nat_step(1, IKE_AUTH, false);
	/* the responder answers where the request came from: the NAT's 4500 mapping */
	assert_int_equal(port_of(&W->q[0].from), 4500);
	assert_int_equal(port_of(&W->q[0].dst), nat_map[1]);
	nat_step(0, IKE_AUTH, true);
	assert_int_equal(W->nq, 0);
}

static const struct kernel_fake_sa *state(int side, const char *dst, uint32_t spi)
{
	struct kaddr k = kaddr_of(dst);
	return kernel_fake_find_sa(W->s[side].fake, &k, spi, IPPROTO_ESP);
}

static void test_nat_float_and_encap(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "dpd = 0\n";
	p.extra_b = "dpd = 0\n";
	world_new(&p);
	establish_nat();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->state, IKESA_ESTABLISHED);
	assert_int_equal(b->state, IKESA_ESTABLISHED);
	assert_true(a->ext & EXT_NAT_LOCAL);
	assert_false(a->ext & EXT_NAT_REMOTE);
	assert_true(b->ext & EXT_NAT_REMOTE);
	assert_false(b->ext & EXT_NAT_LOCAL);
	assert_int_equal(port_of(&a->local), 4500);
	assert_int_equal(port_of(&a->remote), 4500);
	assert_int_equal(port_of(&b->local), 4500);
	assert_int_equal(port_of(&b->remote), nat_map[1]);
	/* ESP in UDP on all four states, between the IKE SA's current ports (RFC 3948). */
	struct child_sa *ca = a->children, *cb = b->children;
	const struct kernel_fake_sa *a_out = state(0, "192.0.2.2", ca->spi_out);
	const struct kernel_fake_sa *a_in = state(0, "192.0.2.1", ca->spi_in);
	const struct kernel_fake_sa *b_out = state(1, PUB, cb->spi_out);
	const struct kernel_fake_sa *b_in = state(1, "192.0.2.2", cb->spi_in);
	assert_non_null(a_out);
	assert_non_null(a_in);
	assert_non_null(b_out);
	assert_non_null(b_in);
	assert_true(a_out->sa.encap && a_in->sa.encap && b_out->sa.encap && b_in->sa.encap);
	assert_int_equal(a_out->sa.encap_sport, 4500);
	assert_int_equal(a_out->sa.encap_dport, 4500);
	assert_int_equal(a_in->sa.encap_sport, 4500);
	assert_int_equal(a_in->sa.encap_dport, 4500);
	assert_int_equal(b_out->sa.encap_sport, 4500);
	assert_int_equal(b_out->sa.encap_dport, nat_map[1]);
	assert_int_equal(b_in->sa.encap_sport, nat_map[1]);
	assert_int_equal(b_in->sa.encap_dport, 4500);
	world_free();
}

static void test_no_nat_no_float(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	/* Offering MOBIKE floats anyway (RFC 4555 3.3, test_mobike.c). */
	p.extra_a = "mobike = no\n";
	world_new(&p);
	establish();
	assert_tunnel();
	struct ikesa *a = sa_of(0);
	assert_false(a->ext & (EXT_NAT_LOCAL | EXT_NAT_REMOTE));
	assert_int_equal(port_of(&a->local), 500);
	assert_int_equal(port_of(&a->remote), 500);
	const struct kernel_fake_sa *a_out = state(0, "192.0.2.2", a->children->spi_out);
	assert_false(a_out->sa.encap);
	/* Not behind a NAT: no keepalives, however long it stays quiet. */
	advance(60000);
	assert_int_equal(W->s[0].keepalives, 0);
	assert_int_equal(W->s[1].keepalives, 0);
	world_free();
}

static void test_encap_forced(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "encap = yes\n";
	world_new(&p);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	/* No NAT, but encap = yes: a floats anyway, and its bogus source hash makes b see one. */
	assert_int_equal(port_of(&W->q[0].from), 4500);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	struct ikesa *a = sa_of(0), *b = sa_of(1);
	assert_true(b->ext & EXT_NAT_REMOTE);
	assert_false(a->ext & EXT_NAT_LOCAL);
	const struct kernel_fake_sa *a_out = state(0, "192.0.2.2", a->children->spi_out);
	const struct kernel_fake_sa *b_out = state(1, "192.0.2.1", b->children->spi_out);
	assert_true(a_out->sa.encap);
	assert_true(b_out->sa.encap);
	assert_int_equal(b_out->sa.encap_dport, 4500);
	world_free();
}

static void test_keepalive(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "dpd = 0\nkeepalive = 20s\n";
	p.extra_b = "dpd = 0\n";
	world_new(&p);
	establish_nat();
	struct ikesa *a = sa_of(0);
	advance(19000);
	assert_int_equal(W->s[0].keepalives, 0);
	advance(1000);
	/* RFC 3948 2.3: from a's NAT-T port to b's, only from the side behind the NAT */
	assert_int_equal(W->s[0].keepalives, 1);
	assert_int_equal(W->s[1].keepalives, 0);
	assert_int_equal(port_of(&W->s[0].ka_from), 4500);
	assert_int_equal(port_of(&W->s[0].ka_to), 4500);
	assert_int_equal(W->nq, 0); /* not an IKE message */
	advance(20000);
	assert_int_equal(W->s[0].keepalives, 2);
	/* ESP leaving through the tunnel keeps the mapping: no keepalive then. */
	struct kaddr kb = kaddr_of("192.0.2.2");
	struct kernel_sa_stats s = {.bytes = 5000, .packets = 5};
	assert_int_equal(kernel_fake_set_stats(W->s[0].fake, &kb, a->children->spi_out,
					       IPPROTO_ESP, &s), 0);
	advance(20000);
	assert_int_equal(W->s[0].keepalives, 2);
	advance(20000);
	assert_int_equal(W->s[0].keepalives, 3);
	assert_int_equal(W->s[0].e->stats.keepalives_sent, 3);
	assert_int_equal(W->s[1].e->stats.keepalives_sent, 0);
	world_free();
}

static void test_mapping_event(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "dpd = 0\n";
	p.extra_b = "dpd = 0\n";
	world_new(&p);
	establish_nat();
	struct ikesa *b = sa_of(1);
	struct child_sa *cb = b->children;
	struct kaddr pub = kaddr_of(PUB), other = kaddr_of("203.0.113.9");
	/* The NAT gave a new port: the kernel reports ESP in UDP from it (XFRM_MSG_MAPPING). */
	assert_int_equal(kernel_fake_inject_mapping(W->s[1].fake, cb->spi_in, &pub, nat_map[1], &pub,
						    45000), 0);
	kernel_events();
	assert_int_equal(port_of(&b->remote), 45000);
	assert_int_equal(W->s[1].e->stats.nat_mapping_events, 1);
	const struct kernel_fake_sa *b_out = state(1, PUB, cb->spi_out);
	const struct kernel_fake_sa *b_in = state(1, "192.0.2.2", cb->spi_in);
	assert_non_null(b_out);
	assert_int_equal(b_out->sa.encap_dport, 45000);
	assert_int_equal(b_in->sa.encap_sport, 45000);
	assert_true(kernel_fake_calls(W->s[1].fake, KFAKE_UPDATE_SA) >= 2);
	uint64_t hard = b_out->sa.hard_add_s, soft = b_out->sa.soft_add_s;
	assert_true(hard > 0 && soft > 0);
	advance(100000);
	/* A new address too: states and policies move with XFRM_MSG_MIGRATE, nothing is deleted. */
	unsigned dels = kernel_fake_calls(W->s[1].fake, KFAKE_DEL_SA);
	assert_int_equal(kernel_fake_inject_mapping(W->s[1].fake, cb->spi_in, &pub, 45000, &other,
						    45001), 0);
	kernel_events();
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &((struct sockaddr_in *)&b->remote)->sin_addr, ip, sizeof(ip));
	assert_string_equal(ip, "203.0.113.9");
	assert_null(state(1, PUB, cb->spi_out));
	b_out = state(1, "203.0.113.9", cb->spi_out);
	assert_non_null(b_out);
	assert_true(b_out->sa.encap);
	assert_int_equal(b_out->sa.encap_dport, 45001);
	/* moved, not added again: the kernel keeps its lifetimes and counters */
	assert_int_equal(b_out->sa.hard_add_s, hard);
	assert_int_equal(b_out->sa.soft_add_s, soft);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_DEL_SA), dels);
	assert_int_equal(kernel_fake_calls(W->s[1].fake, KFAKE_MIGRATE), 3); /* out, in, fwd */
	assert_int_equal(kernel_fake_sa_count(W->s[1].fake), 2);
	assert_int_equal(kernel_fake_policy_count(W->s[1].fake), 3);
	/* A mapping for an SPI we do not know changes nothing. */
	assert_int_equal(kernel_fake_inject_mapping(W->s[1].fake, 0x12345678, &pub, 1, &pub, 2), 0);
	kernel_events();
	assert_int_equal(port_of(&b->remote), 45001);
	assert_int_equal(W->s[1].e->stats.nat_mapping_events, 2);
	world_free();
}

static void test_nated_peer_moves(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "dpd = 30s\n";
	p.extra_b = "dpd = 0\n";
	world_new(&p);
	establish_nat();
	struct ikesa *b = sa_of(1);
	struct child_sa *cb = b->children;
	/* The NAT forgets a's mapping; a's next request (a liveness check) comes from a new port. */
	nat_map[1] = 46000;
	advance(30000);
	assert_int_equal(W->nq, 1);
	nat_step(1, INFORMATIONAL, false);
	/* RFC 7296 2.23: b follows the NATed peer, and so do its Child SAs. */
	assert_int_equal(port_of(&b->remote), 46000);
	assert_int_equal(W->s[1].e->stats.nat_peer_moves, 1);
	assert_int_equal(W->s[1].e->stats.nat_mapping_events, 0);
	const struct kernel_fake_sa *b_out = state(1, PUB, cb->spi_out);
	assert_non_null(b_out);
	assert_int_equal(b_out->sa.encap_dport, 46000);
	assert_int_equal(port_of(&W->q[0].dst), 46000);
	nat_step(0, INFORMATIONAL, true);
	assert_non_null(sa_of(0));
	nat_map[1] = 44500;
	world_free();
}

static void test_dpd_only_when_idle(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "dpd = 30s\n";
	p.extra_b = "dpd = 0\n";
	world_new(&p);
	establish();
	struct ikesa *a = sa_of(0);
	struct kaddr ka = kaddr_of("192.0.2.1");
	advance(20000);
	/* inbound ESP arrives: the peer is alive, no probe at 30 s */
	struct kernel_sa_stats s = {.bytes = 1000, .packets = 1};
	assert_int_equal(kernel_fake_set_stats(W->s[0].fake, &ka, a->children->spi_in, IPPROTO_ESP,
					       &s), 0);
	advance(10000);
	assert_int_equal(W->nq, 0);
	advance(29000);
	assert_int_equal(W->nq, 0);
	/* 30 s after the traffic stopped: HDR, SK { } --> */
	advance(1000);
	assert_int_equal(W->nq, 1);
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_tunnel();
	/* an IKE message from the peer counts too: the next probe waits 30 s from it */
	advance(29000);
	assert_int_equal(W->nq, 0);
	advance(1000);
	assert_int_equal(W->nq, 1);
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	world_free();
}

/* The peer goes silent: drop everything until a's IKE SA established first is gone. */
static void silence_until_dead(uint64_t key)
{
	unsigned probes = 0;
	for (int i = 0; i < 400 && engine_find(W->s[0].e, key); i++) {
		while (W->nq) {
			if (W->q[0].to == 1 && qhdr(0).exchange == INFORMATIONAL)
				probes++;
			pop(0, false);
		}
		advance(1000);
	}
	assert_null(engine_find(W->s[0].e, key));
	/* the probe and its 5 retransmits (4 s * 1.8^n: about 165 s) */
	assert_int_equal(probes, 6);
}

static void test_dpd_clear(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "dpd = 10s\n";
	p.extra_b = "dpd = 0\n";
	world_new(&p);
	establish();
	uint64_t key = sa_of(0)->local_spi_key;
	uint64_t t0 = W->cf.now_ms;
	silence_until_dead(key);
	uint64_t took = W->cf.now_ms - t0;
	assert_true(took >= 10000 + 165000 && took <= 10000 + 170000);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 0);
	assert_int_equal(W->nq, 0);
	assert_int_equal(W->s[0].e->stats.dpd_probes, 1);
	assert_int_equal(W->s[0].e->stats.peers_dead, 1);
	world_free();
}

static void test_dpd_restart(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "dpd = 10s\ndpd_action = restart\n";
	p.extra_b = "dpd = 0\n";
	world_new(&p);
	establish();
	uint64_t key = sa_of(0)->local_spi_key;
	silence_until_dead(key);
	/* torn down, and the conn initiated again at once */
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 1);
	assert_int_equal(W->nq, 1);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	/* N(INITIAL_CONTACT) in IKE_AUTH: b drops its stale SA and takes the new one */
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	world_free();
}

/*
 * dpd_action = restart while the peer is still down: the re-initiation goes
 * unanswered too and is tried again (each try a whole retransmission
 * schedule), so the tunnel returns once the peer does.
 */
static void test_dpd_restart_until_peer_back(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "dpd = 10s\ndpd_action = restart\n";
	p.extra_b = "dpd = 0\n";
	world_new(&p);
	establish();
	silence_until_dead(sa_of(0)->local_spi_key);
	assert_int_equal(W->s[0].e->stats.peers_dead, 1);
	/* two restarts find nobody: IKE_SA_INIT and its 5 retransmits, each time */
	for (int round = 0; round < 2; round++) {
		assert_int_equal(engine_ike_sa_count(W->s[0].e), 1);
		uint64_t key = sa_of(0)->local_spi_key;
		unsigned sent = 0;
		uint64_t t0 = W->cf.now_ms;
		for (int i = 0; i < 400 && engine_find(W->s[0].e, key); i++) {
			while (W->nq) {
				assert_int_equal(qhdr(0).exchange, IKE_SA_INIT);
				sent++;
				pop(0, false);
			}
			advance(1000);
		}
		assert_null(engine_find(W->s[0].e, key));
		assert_int_equal(sent, 6);
		assert_true(W->cf.now_ms - t0 >= 165000);
	}
	/* a dead initiation is no dead peer: the counter stays */
	assert_int_equal(W->s[0].e->stats.peers_dead, 1);
	/* the peer is back: the third try goes through */
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 1);
	while (W->nq)
		pop(0, false); /* the try's first IKE_SA_INIT was lost: its retransmit succeeds */
	advance(4000);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_tunnel();
	/* once up, a later give-up is a dead peer again (restart as configured) */
	assert_false(sa_of(0)->dpd_restart && !sa_of(0)->established_ms);
	world_free();
}

static void test_dpd_trap(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.extra_a = "dpd = 10s\ndpd_action = trap\n";
	p.extra_b = "dpd = 0\n";
	world_new(&p);
	establish();
	assert_null(W->s[0].e->trap_list);
	uint64_t key = sa_of(0)->local_spi_key;
	silence_until_dead(key);
	/* no SA, but the trap policies (out, in, fwd) wait for the next packet */
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	assert_int_equal(kernel_fake_policy_count(W->s[0].fake), 3);
	assert_non_null(W->s[0].e->trap_list);
	assert_int_equal(W->nq, 0);
	world_free();
}

static void test_initial_contact(void **st)
{
	(void)st;
	world_new(&DEFAULTS);
	establish();
	assert_tunnel();
	uint64_t stale = sa_of(1)->local_spi_key;
	/* a crashes: its SAs are gone without a word to b */
	engine_destroy_sa(W->s[0].e, sa_of(0));
	assert_int_equal(kernel_fake_sa_count(W->s[0].fake), 0);
	/* a comes back: RFC 7296 2.4, b forgets the IKE SA and Child SA a forgot */
	establish();
	assert_null(engine_find(W->s[1].e, stale));
	assert_tunnel();
	world_free();
}

static void test_natt_config_keys(void **st)
{
	(void)st;
	struct xiked_config *c = NULL;
	char err[256];
	const char *bad[] = {"encap = maybe\n", "dpd = soon\n", "dpd_action = hold\n",
			     "keepalive = -1\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), "[conn x]\nremote_addr = 192.0.2.2\nauth = psk\n"
			 "psk = \"0123456789abcdef\"\n%s", bad[i]);
		assert_int_not_equal(config_parse(text, strlen(text), "t.conf", &c, err, sizeof(err)),
				     0);
		assert_non_null(strstr(err, "t.conf:5"));
	}
	const char *ok = "[conn x]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"0123456789abcdef\"\n"
			 "encap = yes\nkeepalive = 1m\ndpd = 0\ndpd_action = restart\n";
	assert_int_equal(config_parse(ok, strlen(ok), "t.conf", &c, err, sizeof(err)), 0);
	assert_true(c->conns[0].live.encap);
	assert_int_equal(c->conns[0].live.keepalive_s, 60);
	assert_int_equal(c->conns[0].live.dpd_s, 0);
	assert_int_equal(c->conns[0].live.dpd_action, CONFIG_DPD_RESTART);
	config_free(c);
	const char *def = "[conn x]\nremote_addr = 192.0.2.2\nauth = psk\npsk = \"0123456789abcdef\"\n";
	assert_int_equal(config_parse(def, strlen(def), "t.conf", &c, err, sizeof(err)), 0);
	assert_false(c->conns[0].live.encap);
	assert_int_equal(c->conns[0].live.keepalive_s, 20);
	assert_int_equal(c->conns[0].live.dpd_s, 30);
	assert_int_equal(c->conns[0].live.dpd_action, CONFIG_DPD_CLEAR);
	config_free(c);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nat_float_and_encap),
		cmocka_unit_test(test_no_nat_no_float),
		cmocka_unit_test(test_encap_forced),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_mapping_event),
		cmocka_unit_test(test_nated_peer_moves),
		cmocka_unit_test(test_dpd_only_when_idle),
		cmocka_unit_test(test_dpd_clear),
		cmocka_unit_test(test_dpd_restart),
		cmocka_unit_test(test_dpd_restart_until_peer_back),
		cmocka_unit_test(test_dpd_trap),
		cmocka_unit_test(test_initial_contact),
		cmocka_unit_test(test_natt_config_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
