/*
 * The event bus (daemon/event.h) as the engine drives it: two engines in
 * one process (engine_world.h), each event recorded as its JSON line, for
 * a tunnel's life (up, rekeys, down) and its failures (the peer's
 * NO_PROPOSAL_CHOSEN, a wrong PSK, the kernel refusing the ESP state,
 * a dead peer, no SPI from the kernel), a MOBIKE move. Also the bus itself: listeners, and each conn's last error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/event.h"
#include "daemon/json.h"
#include "daemon/mobike.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"
#include "tests/unit/engine_world.h"

#define REC_MAX 64

/* The events one side emitted, as JSON lines. */
struct rec {
	char *line[REC_MAX];
	size_t n;
};
static struct rec REC[2];

static void on_event(void *ctx, const struct event *ev)
{
	struct rec *r = ctx;
	struct json_writer w;
	json_writer_init(&w);
	event_json(ev, 0, &w);
	assert_true(json_writer_ok(&w));
	assert_true(r->n < REC_MAX);
	r->line[r->n++] = strdup(json_writer_str(&w));
	json_writer_free(&w);
}

static void rec_clear(void)
{
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < REC[s].n; i++)
			free(REC[s].line[i]);
		REC[s].n = 0;
	}
}

static void start(const struct params *p)
{
	rec_clear();
	world_new(p);
	for (int s = 0; s < 2; s++)
		assert_int_equal(event_subscribe(W->s[s].e->events, on_event, &REC[s]), 0);
}

static void stop(void)
{
	world_free();
	rec_clear();
}

/* The event names of a side, space separated: "ike-up child-up". */
static const char *names(int side)
{
	static char buf[1024];
	buf[0] = 0;
	for (size_t i = 0; i < REC[side].n; i++) {
		struct json_value *v = NULL;
		char err[64];
		assert_int_equal(json_parse(REC[side].line[i], strlen(REC[side].line[i]), 0, &v, err,
					    sizeof(err)), 0);
		const char *name = json_get_str(v, "event");
		assert_non_null(name);
		if (buf[0])
			strcat(buf, " ");
		strcat(buf, name);
		json_value_free(v);
	}
	return buf;
}

/* Member key of side's event i, as text ("" when absent). */
static const char *member(int side, size_t i, const char *key)
{
	static char buf[512];
	struct json_value *v = NULL;
	char err[64];
	assert_true(i < REC[side].n);
	assert_int_equal(json_parse(REC[side].line[i], strlen(REC[side].line[i]), 0, &v, err,
				    sizeof(err)), 0);
	const struct json_value *m = json_get(v, key);
	buf[0] = 0;
	if (m && m->type == JSON_STRING)
		snprintf(buf, sizeof(buf), "%s", m->u.str.s);
	else if (m && m->type == JSON_NUMBER)
		snprintf(buf, sizeof(buf), "%lld", (long long)m->u.num.i);
	else if (m && m->type == JSON_BOOL)
		snprintf(buf, sizeof(buf), "%s", m->u.b ? "true" : "false");
	json_value_free(v);
	return buf;
}

static void expire_soft(int side)
{
	struct child_sa *c = sa_of(side)->children;
	struct kaddr dst;
	kaddr_from_sockaddr(&W->s[side].addr, &dst);
	assert_int_equal(kernel_fake_inject_expire(W->s[side].fake, c->spi_in, IPPROTO_ESP, &dst,
						   false), 0);
	kernel_events();
}

/* A tunnel's life: up, Child SA rekey, IKE SA rekey, down, on both sides. */
static void test_events_lifecycle(void **st)
{
	(void)st;
	start(&DEFAULTS);
	establish();
	assert_string_equal(names(0), "ike-up child-up");
	assert_string_equal(names(1), "ike-up child-up");
	/* systemd's STATUS= counts Child SAs: one each, though indexed by both SPIs. */
	assert_int_equal(W->s[0].e->child_sa_count, 1);
	assert_int_equal(W->s[1].e->child_sa_count, 1);
	assert_string_equal(member(0, 0, "conn"), "b");
	assert_string_equal(member(0, 0, "initiator"), "true");
	assert_string_equal(member(1, 0, "initiator"), "false");
	assert_string_equal(member(0, 0, "remote"), "192.0.2.2");
	assert_string_equal(member(0, 0, "local"), "192.0.2.1");
	assert_string_not_equal(member(0, 0, "spi_r"), "");
	assert_string_equal(member(0, 0, "ike_id"), "1");
	assert_string_equal(member(0, 1, "child"), "b");
	char spi_in[16];
	snprintf(spi_in, sizeof(spi_in), "%08x", ntohl(sa_of(0)->children->spi_in));
	assert_string_equal(member(0, 1, "spi_in"), spi_in);
	/* Child SA rekey: child-rekey on both sides, no child-down of the old SA. */
	expire_soft(0);
	settle();
	assert_string_equal(names(0), "ike-up child-up child-rekey");
	assert_string_equal(names(1), "ike-up child-up child-rekey");
	assert_int_equal(W->s[0].e->child_sa_count, 1);
	assert_int_equal(W->s[1].e->child_sa_count, 1);
	assert_string_equal(member(0, 2, "old_spi_in"), spi_in);
	snprintf(spi_in, sizeof(spi_in), "%08x", ntohl(sa_of(0)->children->spi_in));
	assert_string_equal(member(0, 2, "spi_in"), spi_in);
	/* IKE SA rekey: ike-rekey naming the successor, no ike-down of the old one. */
	tm_queue(sa_of(0), task_ike_rekey_new());
	settle();
	assert_string_equal(names(0), "ike-up child-up child-rekey ike-rekey");
	assert_string_equal(names(1), "ike-up child-up child-rekey ike-rekey");
	char spi_i[24];
	snprintf(spi_i, sizeof(spi_i), "%016" PRIx64, sa_of(0)->spi_i);
	assert_string_equal(member(0, 3, "new_spi_i"), spi_i);
	assert_string_equal(member(0, 3, "new_ike_id"), "2");
	/* down: child-down then ike-down, with who ended it. */
	char err[128];
	assert_int_equal(engine_down(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	assert_string_equal(names(0), "ike-up child-up child-rekey ike-rekey child-down ike-down");
	assert_int_equal(W->s[0].e->child_sa_count, 0);
	assert_int_equal(W->s[1].e->child_sa_count, 0);
	assert_string_equal(names(1), "ike-up child-up child-rekey ike-rekey child-down ike-down");
	assert_string_equal(member(0, 5, "reason"), "deleted: down requested");
	assert_string_equal(member(1, 5, "reason"), "deleted: by the peer");
	assert_string_equal(member(1, 4, "reason"), "IKE SA down: deleted: by the peer");
	/* Nothing failed: no last error. */
	assert_null(event_last_error(W->s[0].e->events, "b"));
	stop();
}

/* The responder refuses our IKE proposal: ike-failed with the peer's notify, kept as last error. */
static void test_events_no_proposal(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.ike_b = "aes128-sha256-modp2048";
	start(&p);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	assert_string_equal(names(0), "ike-failed");
	assert_string_equal(member(0, 0, "reason"), "NO_PROPOSAL_CHOSEN: the peer refused IKE_SA_INIT");
	const struct event_error *le = event_last_error(W->s[0].e->events, "b");
	assert_non_null(le);
	assert_int_equal(le->type, EV_IKE_FAILED);
	assert_string_equal(le->reason, "NO_PROPOSAL_CHOSEN: the peer refused IKE_SA_INIT");
	assert_true(le->wall_ms > 0);
	/* b says why it refused. */
	assert_string_equal(names(1), "ike-failed");
	assert_string_equal(member(1, 0, "reason"),
			    "NO_PROPOSAL_CHOSEN: no acceptable proposal in the peer's IKE_SA_INIT");
	stop();
}

/* A wrong PSK: auth-failed then ike-failed on both sides. */
static void test_events_wrong_psk(void **st)
{
	(void)st;
	struct params p = DEFAULTS;
	p.psk_b = "not the right one";
	start(&p);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	step(1, IKE_SA_INIT, false);
	step(0, IKE_SA_INIT, true);
	step(1, IKE_AUTH, false);
	step(0, IKE_AUTH, true);
	assert_string_equal(names(1), "auth-failed ike-failed");
	assert_non_null(strstr(member(1, 1, "reason"), "AUTHENTICATION_FAILED: "));
	assert_string_equal(names(0), "auth-failed ike-failed");
	assert_string_equal(member(0, 1, "reason"),
			    "AUTHENTICATION_FAILED: the peer refused IKE_AUTH");
	stop();
}

/* The kernel refuses the ESP state: child-failed with the kernel's reason; the IKE SA stays. */
static void test_events_kernel_failure(void **st)
{
	(void)st;
	start(&DEFAULTS);
	kernel_fake_fail(W->s[0].fake, KFAKE_UPDATE_SA, -ENOSYS, 1);
	kernel_fake_fail(W->s[0].fake, KFAKE_ADD_SA, -ENOSYS, 1);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	const char *n = names(0);
	assert_non_null(strstr(n, "ike-up child-failed"));
	size_t i = 1;
	assert_string_equal(member(0, i, "event"), "child-failed");
	assert_string_equal(member(0, i, "child"), "b");
	assert_non_null(strstr(member(0, i, "reason"), "kernel: ENOSYS "));
	const struct event_error *le = event_last_error(W->s[0].e->events, "b");
	assert_non_null(le);
	assert_int_equal(le->type, EV_CHILD_FAILED);
	stop();
}

/* The kernel gives no SPI (XFRM_MSG_ALLOCSPI): child-failed names the kernel's reason. */
static void test_events_allocspi_failure(void **st)
{
	(void)st;
	/* Our own request: no Child SA is offered, the event says why. */
	start(&DEFAULTS);
	kernel_fake_fail(W->s[0].fake, KFAKE_GET_SPI, -ENOENT, 1);
	char err[128];
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	const char *n = names(0);
	assert_non_null(strstr(n, "child-failed"));
	size_t i = 0;
	while (strcmp(member(0, i, "event"), "child-failed") != 0)
		i++;
	assert_string_equal(member(0, i, "child"), "b");
	assert_string_equal(member(0, i, "reason"), "kernel: ENOENT allocating an SPI: no free SPI in "
			    "the kernel's range (injected failure)");
	assert_int_equal(event_last_error(W->s[0].e->events, "b")->type, EV_CHILD_FAILED);
	stop();
	/* The peer's request: it hears NO_PROPOSAL_CHOSEN, our event names the kernel's errno. */
	start(&DEFAULTS);
	kernel_fake_fail(W->s[1].fake, KFAKE_GET_SPI, -ENOMEM, 1);
	assert_int_equal(engine_up(W->s[0].e, "b", err, sizeof(err)), 0);
	settle();
	n = names(1);
	assert_non_null(strstr(n, "child-failed"));
	for (i = 0; strcmp(member(1, i, "event"), "child-failed") != 0; i++)
		;
	assert_non_null(strstr(member(1, i, "reason"), "kernel: ENOMEM allocating an SPI: "));
	assert_null(strstr(names(1), "child-failed child-failed"));
	assert_non_null(strstr(names(0), "child-failed"));
	for (i = 0; strcmp(member(0, i, "event"), "child-failed") != 0; i++)
		;
	assert_non_null(strstr(member(0, i, "reason"), "NO_PROPOSAL_CHOSEN"));
	stop();
}

/* MOBIKE (RFC 4555): a's path changes; ike-move on both sides, with the old and new addresses. */
static void test_events_ike_move(void **st)
{
	(void)st;
	start(&DEFAULTS);
	establish();
	rec_clear();
	mkaddr(&W->s[0].route_src, "192.0.2.11", 0);
	mobike_roam(W->s[0].e);
	/* INFORMATIONAL { N(UPDATE_SA_ADDRESSES), N(NAT_D*), N(COOKIE2) } and its answer */
	step(1, INFORMATIONAL, false);
	step(0, INFORMATIONAL, true);
	assert_int_equal(W->nq, 0);
	assert_string_equal(names(0), "ike-move");
	assert_string_equal(names(1), "ike-move");
	assert_string_equal(member(0, 0, "conn"), "b");
	assert_string_equal(member(0, 0, "local"), "192.0.2.11");
	assert_string_equal(member(0, 0, "remote"), "192.0.2.2");
	assert_string_equal(member(1, 0, "remote"), "192.0.2.11");
	assert_non_null(strstr(member(0, 0, "reason"), "MOBIKE: "));
	assert_non_null(strstr(member(0, 0, "reason"), "from 192.0.2.1"));
	assert_non_null(strstr(member(1, 0, "reason"), "MOBIKE: "));
	assert_non_null(strstr(member(1, 0, "reason"), "192.0.2.1"));
	/* A move is no failure. */
	assert_null(event_last_error(W->s[0].e->events, "b"));
	assert_null(event_last_error(W->s[1].e->events, "b"));
	stop();
}

/* No answer to an established SA's request: dpd-dead, then ike-down saying so. */
static void test_events_dead_peer(void **st)
{
	(void)st;
	start(&DEFAULTS);
	establish();
	rec_clear();
	tm_queue(sa_of(0), task_ike_rekey_new());
	/* Every request and retransmit is lost. */
	for (int i = 0; i < 400 && engine_ike_sa_count(W->s[0].e); i++) {
		while (W->nq)
			pop(0, false);
		advance(1000);
	}
	assert_int_equal(engine_ike_sa_count(W->s[0].e), 0);
	assert_string_equal(names(0), "dpd-dead child-down ike-down");
	assert_non_null(strstr(member(0, 0, "reason"), "dead-peer: no response after "));
	assert_non_null(strstr(member(0, 2, "reason"), "dead-peer: no response after "));
	stop();
}

/* The bus alone: order, a listener leaving during an emit, the last error per conn. */
static int calls_a, calls_b;
static void count_a(void *ctx, const struct event *ev)
{
	(void)ev;
	calls_a++;
	event_unsubscribe(ctx, count_a, ctx); /* leaves while called */
}
static void count_b(void *ctx, const struct event *ev)
{
	(void)ctx;
	(void)ev;
	calls_b++;
}

static void test_events_bus(void **st)
{
	(void)st;
	struct event_bus *b = event_bus_new();
	assert_non_null(b);
	assert_int_equal(event_subscribe(b, count_a, b), 0);
	assert_int_equal(event_subscribe(b, count_b, b), 0);
	struct event ev = {.type = EV_IKE_FAILED, .conn = "c1", .reason = "timeout: x"};
	event_emit(b, &ev);
	event_emit(b, &ev);
	assert_int_equal(calls_a, 1);
	assert_int_equal(calls_b, 2);
	assert_string_equal(event_last_error(b, "c1")->reason, "timeout: x");
	assert_null(event_last_error(b, "c2"));
	/* Many conns: the table grows, each keeps its own. */
	char name[32], why[32];
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "conn%d", i);
		snprintf(why, sizeof(why), "reason %d", i);
		event_emit(b, &(struct event){.type = EV_CHILD_FAILED, .conn = name, .reason = why});
	}
	for (int i = 0; i < 500; i += 37) {
		snprintf(name, sizeof(name), "conn%d", i);
		snprintf(why, sizeof(why), "reason %d", i);
		assert_string_equal(event_last_error(b, name)->reason, why);
	}
	/* An up is no error; clearing forgets. */
	event_emit(b, &(struct event){.type = EV_IKE_UP, .conn = "c1"});
	assert_non_null(event_last_error(b, "c1"));
	event_clear_error(b, "c1");
	assert_null(event_last_error(b, "c1"));
	event_bus_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_lifecycle),
		cmocka_unit_test(test_events_no_proposal),
		cmocka_unit_test(test_events_wrong_psk),
		cmocka_unit_test(test_events_kernel_failure),
		cmocka_unit_test(test_events_allocspi_failure),
		cmocka_unit_test(test_events_ike_move),
		cmocka_unit_test(test_events_dead_peer),
		cmocka_unit_test(test_events_bus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
