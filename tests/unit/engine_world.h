/*
 * The two-engine test world shared by the engine tests: an initiator ("a",
 * 192.0.2.1) and a responder ("b", 192.0.2.2), each with a recording fake
 * kernel, sharing a fake clock and a deterministic RNG. Messages are
 * queued by the send seam and delivered one by one by the test, which may
 * drop or reorder them, so every exchange can be stepped under a comment in
 * RFC notation.
 */
#ifndef XIKED_TEST_ENGINE_WORLD_H
#define XIKED_TEST_ENGINE_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/rng.h"
#include "daemon/clock.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/engine_index.h"
#include "daemon/engine_status.h"
#include "daemon/engine_teardown.h"
#include "daemon/ikesa.h"
#include "daemon/loop.h"
#include "daemon/message.h"
#include "netlink/kernel_fake.h"
#include "netlink/link_fake.h"

#define QMAX 64 /* queued datagrams at most */

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
	struct link link;          /* the link seam: a recording fake */
	struct link_fake *lfake;
	struct sockaddr_storage addr;
	/* NAT keepalives sent (the keepalive seam): how many, and the last one's addresses. */
	unsigned keepalives;
	struct sockaddr_storage ka_from, ka_to;
	/* RFC 4555 path selection seams: the routes' source (family 0: addr), no route at all,
	 * and the addresses announced as ours (none by default). */
	struct sockaddr_storage route_src;
	bool no_route;
	struct sockaddr_storage local_addrs[4];
	size_t n_local_addrs;
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


extern struct world *W;

/* Config knobs of the default two-site setup (see CONF_A/CONF_B in engine_world.c). */
struct params {
	const char *ike_a, *esp_a, *ts_la, *ts_ra, *mode_a;
	const char *psk_b, *ike_b, *esp_b, *ts_lb, *ts_rb, *mode_b;
	const char *extra_a, *extra_b; /* more [conn] lines, may be NULL */
};
extern const struct params DEFAULTS;

void mkaddr(struct sockaddr_storage *ss, const char *ip, uint16_t port);
/* Header of queued message i. */
struct ike_hdr qhdr(size_t i);
/* Remove queued message i, delivering it first if deliver. */
void pop(size_t i, bool deliver);
/*
 * Rewrite the addresses of queued message i as a NAT would: from (the
 * source the receiver sees) and/or dst (where it arrives); NULL keeps one.
 */
void q_rewrite(size_t i, const struct sockaddr_storage *from, const struct sockaddr_storage *dst);
/* Deliver the first queued message, checking its destination, exchange and direction. */
void step(int to, uint8_t exchange, bool response);
/* Deliver queued message i (not necessarily the first), with the same checks. */
void step_at(size_t i, int to, uint8_t exchange, bool response);
/* Index of the first queued message for side `to` (fails if none). */
size_t q_find(int to);
/* Drop the first queued message, with the same checks. */
void drop(uint8_t exchange, bool response);
/* Deliver every queued message in order, replies included, until none is left (at most 64). */
void settle(void);
/* Move the fake clock and run due timers. */
void advance(uint64_t ms);
/* Deliver the fake kernels' pending events to the engines. */
void kernel_events(void);
struct xiked_config *conf(const char *text);
void world_new(const struct params *p);
/* A world from two whole configuration texts; seed for the shared RNG. */
void world_new_text(const char *conf_a, const char *conf_b, uint64_t seed);
void world_free(void);
/* The only IKE SA of a side, or NULL if it has none or several. */
struct ikesa *sa_of(int side);
/* Both sides established with one installed Child SA pair matching crosswise. */
void assert_tunnel(void);
void assert_nothing_left(void);
/* engine_up on a, then IKE_SA_INIT and IKE_AUTH stepped message by message. */
void establish(void);

#endif
