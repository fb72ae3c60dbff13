/*
 * The engine's shared context, at the bottom of the engine's layers: the
 * seams (struct engine_env), the settings and counters, the SA tables'
 * heads (struct engine) and what every module of the engine asks of it
 * that is not about one SA: the clock, SPIs, reqids, the route source, the
 * configuration references. It knows no SA (struct ikesa is above it,
 * ikesa.h; the tables' operations on SAs are engine_index.h), so the data
 * model, the tasks and the kernel modules include it without a circle
 * (doc/design.md, "Layers").
 */
#ifndef XIKED_ENGINE_CTX_H
#define XIKED_ENGINE_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/rng.h"
#include "daemon/config.h"
#include "daemon/loop.h"
#include "netlink/kernel_ops.h"
#include "netlink/link.h"

struct ikesa;
struct spi_table;
struct trap;
struct dos;
struct metrics;
struct ike_msg;
struct event_bus;
struct frag_reasm;
struct route_ifaces;
struct croutes;
struct addr_pools;

/* Sends one IKE message; from may carry a wildcard address. 0 or -errno. */
typedef int (*engine_send_fn)(void *ctx, const struct sockaddr_storage *from,
			      const struct sockaddr_storage *to, const uint8_t *buf, size_t len);

/* Sends a NAT keepalive (RFC 3948 2.3) from the NAT-T port; 0 or -errno. */
typedef int (*engine_keepalive_fn)(void *ctx, const struct sockaddr_storage *from,
				   const struct sockaddr_storage *to);

struct engine_env {
	struct loop *loop;        /* timers and the clock (borrowed) */
	const struct rng *rng;    /* borrowed */
	struct kernel kernel;     /* borrowed ops/handle */
	struct link link;         /* borrowed; ops NULL: no interfaces (route_iface.h) */
	engine_send_fn send;
	engine_keepalive_fn keepalive; /* may be NULL: no keepalives */
	void *send_ctx;           /* for send and keepalive */
	uint16_t port, natt_port; /* our IKE ports, for NAT detection and floating */
	/*
	 * RFC 4555 path selection (daemon/mobike.h), ctx = net_ctx. route_source:
	 * the source address the routes pick for dst, 0/-errno (NULL: a UDP
	 * connect, engine_route_source). local_addrs: our usable addresses,
	 * their number, at most cap (NULL: unknown, none announced).
	 */
	int (*route_source)(void *ctx, const struct sockaddr_storage *dst, struct sockaddr_storage *src);
	size_t (*local_addrs)(void *ctx, struct sockaddr_storage *out, size_t cap);
	void *net_ctx;
};

/* Retransmission (RFC 7296 2.1, 2.4): timeout * base^n, tries then give up. */
struct engine_timing {
	uint32_t retransmit_timeout_ms; /* first timeout (default 4000, as strongSwan) */
	double retransmit_base;         /* 1.8 */
	unsigned retransmit_tries;      /* 5: about 165 s until the peer is declared dead */
};

/* A reference-counted configuration: SAs keep the one they were made with. */
struct cfg_ref {
	struct xiked_config *cfg; /* owned */
	unsigned refs;
};
struct cfg_ref *cfg_ref_get(struct cfg_ref *r);
void cfg_ref_put(struct cfg_ref *r);

struct engine_stats {
	uint64_t rx, tx, rx_dropped, rx_malformed, retransmits;
	uint64_t ike_established, ike_failed, child_installed, child_failed;
	uint64_t ikesa_state_changes, child_state_changes;
	/* RFC 7383: SKF datagrams sent / received, messages reassembled, fragments dropped */
	uint64_t frag_tx, frag_rx, frag_reassembled, frag_dropped;
	/* partial messages dropped to make room under frag_mem_max (dos.h) */
	uint64_t frag_evicted;
	/* RFC 3948 2.3 keepalives sent; NATed peers followed (kernel mapping event / IKE message) */
	uint64_t keepalives_sent, nat_mapping_events, nat_peer_moves;
	/* RFC 7296 2.4 liveness checks sent, peers declared dead; half-open SAs expired (2.6) */
	uint64_t dpd_probes, peers_dead, half_open_expired;
};

struct engine {
	struct engine_env env;
	struct engine_timing timing;
	struct cfg_ref *cfg;            /* current configuration */
	struct spi_table *by_spi;       /* our IKE SPI -> struct ikesa */
	struct spi_table *half_open;    /* hash(peer SPIi, peer address) -> struct ikesa */
	struct spi_table *child_by_spi; /* our inbound ESP SPI -> struct ikesa (kernel events) */
	size_t child_sa_count;          /* Child SAs in child_by_spi by inbound SPI (STATUS=) */
	struct spi_table *by_conn;      /* hash(conn name) -> the IKE SA we initiated for it */
	struct spi_table *by_peer;      /* hash(conn, peer identity) -> list of IKE SAs */
	struct spi_table *policy_refs;  /* reqid -> Child SAs holding its policies (a list, reqid_next) */
	struct spi_table *policy_by_sel; /* hash(selector, dir, mark, if_id) -> reqid holding it */
	struct spi_table *traps;        /* trap reqid -> struct trap (trap.h) */
	struct trap *trap_list;
	struct dos *dos;                /* half-open limits and cookies (dos.h) */
	struct ikesa *ho_first, *ho_last; /* half-open SAs, oldest first (the one to replace) */
	struct frag_reasm *frag_first, *frag_last; /* reassemblies, oldest first (fragment.h) */
	struct ike_msg *scratch_msg;    /* parsed IKE_SA_INIT requests, judged before any state */
	uint32_t next_reqid;
	struct route_ifaces *ifaces;    /* route-based bindings and their index (route_iface.c) */
	uint32_t next_unique_if_id;     /* if_id = %unique: next candidate */
	struct croutes *croutes;        /* policy-based routes in xiked's table (child_route.c) */
	struct addr_pools *pools;       /* virtual IP pools and leases (addr_pool.h), made on first use */
	struct spi_table *vips;         /* virtual IPs put on devices, counted (vip.c) */
	struct engine_stats stats;
	struct metrics *metrics;        /* per-conn counters (metrics.h) */
	uint8_t *rxbuf, *txbuf;         /* scratch: decrypted payloads, messages being built */
	/* RFC 4555: address/route changes are handled MOBIKE_DEBOUNCE_MS after the first (mobike.h). */
	struct timer roam_timer;
	bool roam_pending;
	bool shutting_down;
	/* What happened, for whoever listens (event.h: xikectl, metrics); owned. */
	struct event_bus *events;
	uint32_t next_uid;              /* the next IKE SA's unique id */
	/* The last kernel error as text (child_kernel.c), for the child-failed event. */
	char kernel_err[160];
};

/* A new reference (refs 1) to cfg (ownership taken); NULL on allocation failure. */
struct cfg_ref *cfg_ref_new(struct xiked_config *cfg);

/* The loop's clock, in milliseconds. */
uint64_t engine_now(const struct engine *e);
/* A random non-zero 64-bit SPI. */
uint64_t engine_random_spi(struct engine *e);
/* The next reqid of xiked's range (XIKED_REQID_BASE..MAX, wrapping). */
uint32_t engine_alloc_reqid(struct engine *e);
/* The source address the routing table picks for dst (a UDP connect; nothing sent). 0/-errno. */
int engine_route_source(const struct sockaddr_storage *dst, struct sockaddr_storage *src);
/* The same through e's route_source seam (engine_env) when it has one. 0/-errno. */
int engine_source_for(struct engine *e, const struct sockaddr_storage *dst, struct sockaddr_storage *src);

#endif
