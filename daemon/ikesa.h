/*
 * IKE SAs and their Child SAs: state, keys, addresses, and the one function
 * through which every state change goes (design.md rule 7).
 *
 * Named ikesa/child_sa (not ike_sa) because struct ike_sa is the SA
 * payload of the codec (daemon/payload.h).
 */
#ifndef XIKED_IKESA_H
#define XIKED_IKESA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/dh.h"
#include "crypto/keymat.h"
#include "crypto/sk.h"
#include "daemon/config.h"
#include "daemon/child_rekey.h"
#include "daemon/esp_alg.h"
#include "daemon/loop.h"
#include "daemon/payload.h"
#include "netlink/kaddr.h"

struct engine;
struct task;
struct cfg_ref;
struct sa_auth;
struct frag_reasm;
struct mobike;
struct vip_state;

/* RFC 7296 has no state names; these are strongSwan's few. */
enum ikesa_state {
	IKESA_CREATED,     /* nothing sent or received yet */
	IKESA_CONNECTING,  /* IKE_SA_INIT / IKE_AUTH under way */
	IKESA_ESTABLISHED, /* authenticated */
	IKESA_DELETING,    /* Delete sent or being processed */
	IKESA_DESTROYING,  /* gone at the end of the current event */
	IKESA_STATE_COUNT,
};

enum child_state {
	CHILD_CREATED,
	CHILD_INSTALLED,
	CHILD_DELETING,
	CHILD_FAILED,
	CHILD_STATE_COUNT,
};

/* Negotiated extensions (bit set). */
enum ikesa_ext {
	EXT_NATT = 1u << 0,            /* NAT_DETECTION_* exchanged */
	EXT_SIG_HASH = 1u << 1,        /* RFC 7427 SIGNATURE_HASH_ALGORITHMS exchanged */
	EXT_FRAGMENTATION = 1u << 2,   /* RFC 7383 */
	EXT_MOBIKE = 1u << 3,          /* RFC 4555 */
	EXT_NAT_LOCAL = 1u << 4,       /* we are behind a NAT */
	EXT_NAT_REMOTE = 1u << 5,      /* the peer is behind a NAT */
	EXT_PPK = 1u << 6,             /* RFC 8784: both sent USE_PPK in IKE_SA_INIT */
	EXT_PPK_USED = 1u << 7,        /* RFC 8784: the keys are mixed with a PPK */
};

#define CHILD_TS_MAX 8

struct child_sa {
	struct child_sa *next;
	struct ikesa *ike;           /* the IKE SA it belongs to (changes on IKE rekey) */
	const struct child_cfg *cfg; /* borrowed from the IKE SA's config */
	enum child_state state;
	uint32_t reqid;
	uint32_t spi_in, spi_out; /* network order */
	bool spi_in_allocated;    /* a larval inbound state exists in the kernel */
	struct kaddr spi_in_dst;  /* where it was allocated (the IKE SA may move before install) */
	bool indexed;             /* in the engine's child_by_spi table */
	bool installed_in, installed_out;
	/*
	 * Where the installed states are (their destination addresses, kept
	 * through MIGRATE and re-adds): deletes and queries go there, not to
	 * the IKE SA's current addresses, which may have moved without them
	 * (RFC 7296 2.11: an IKE SA follows a request's source; its Child SAs
	 * only when the peer is behind a NAT, 2.23).
	 */
	struct kaddr in_at, out_at;
	bool holds_policies;      /* on the engine's per-reqid list of policy holders */
	struct child_sa *reqid_next; /* the next holder of this reqid's policies (policy_refs) */
	enum config_mode mode;
	struct esp_suite suite;
	struct ike_ts local_ts[CHILD_TS_MAX], remote_ts[CHILD_TS_MAX];
	size_t n_local_ts, n_remote_ts;
	uint64_t installed_ms;
	/* Lifetimes as installed (absolute clock ms; 0 = none), for status. */
	uint64_t soft_ms, hard_ms;
	uint32_t jitter_s;        /* rekey_margin + random part, drawn once */
	bool jitter_drawn;
	/*
	 * Rekeying (RFC 7296 1.3.3, 2.8). A rekey creates a successor with the
	 * same reqid (so the policies stay). The responder of a rekey installs
	 * the successor's outbound state only when the old SA goes (the
	 * initiator deletes it), so it never sends on an SA the initiator has
	 * not installed yet: pending_out holds those keys until then.
	 */
	enum child_rekey rekey;   /* task_child_rekey.c's sub-state */
	uint32_t replaces;        /* spi_in of the SA this one replaces, 0 = none */
	struct secret *pending_out; /* responder: outbound keys not yet installed */
	/* Collision bookkeeping: the lowest nonce of the exchange that made this SA. */
	uint8_t min_nonce[IKE_NONCE_MAX];
	size_t min_nonce_len;
	bool peer_created;        /* made by an exchange the peer initiated */
	bool indexed_out;         /* its outbound SPI is in child_by_spi too */
	struct timer retry_timer; /* rekey again after TEMPORARY_FAILURE (2.25) */
	struct timer idle_timer;  /* idle_timeout checks of the kernel's counters */
	/*
	 * Reauthentication (task_reauth.h), responder: a Child SA the peer made
	 * in a new IKE SA with the same config and selectors as this one sends
	 * only once this one goes; heir is its spi_in (0 = none). The heir
	 * itself arms out_timer so that it never waits for ever.
	 */
	uint32_t heir;
	struct timer out_timer;
	uint64_t idle_bytes, idle_since; /* bytes in+out at the last change, and when */
	/*
	 * What the kernel's counters held before a move (XFRM_MSG_MIGRATE, or
	 * a delete and add, starts a state's byte and packet counters at
	 * zero): child_kernel_query adds it, so status, idle_timeout and DPD
	 * count on across MOBIKE and NAT moves.
	 */
	uint64_t carried_bytes_in, carried_packets_in, carried_bytes_out, carried_packets_out;
	/* The highest totals a metrics scrape saw (metrics.h): kept if the kernel drops the states first. */
	uint64_t seen_bytes_in, seen_packets_in, seen_bytes_out, seen_packets_out;
	/*
	 * The keys as installed (inbound then outbound; wiping type), kept so
	 * that the states can be installed again with new UDP encapsulation
	 * or addresses when a NATed peer moves (RFC 7296 2.23, RFC 3948).
	 */
	struct secret *keymat;
	bool keymat_we_initiated;
	/* Route-based (route_iface.h): what the states and policies carry, and the binding. */
	uint32_t if_id, mark;     /* 0 = none */
	struct route_iface *iface; /* shared binding, NULL = none */
	bool routed;              /* counted in the binding's routes */
	/* Policy-based: its routes in xiked's table (child_route.h), NULL = none. */
	struct child_routes *troutes;
	/* Why it goes, for its child-down event (a static string; NULL: "deleted"). */
	const char *down_why;
};

/* Message state of the task manager (RFC 7296 2.1-2.3; window size 1). */
struct tm_state {
	uint32_t next_out_id;  /* message ID of our next request */
	uint32_t next_in_id;   /* message ID the peer's next request must carry */
	struct task *queue;    /* tasks waiting to be initiated, in order */
	struct task *active_i; /* tasks of our request in flight */
	uint8_t *req;          /* our request in flight, as sent (for retransmits) */
	size_t req_len;
	uint32_t req_id;
	bool req_pending;
	unsigned retransmits;
	struct timer retransmit_timer;
	uint8_t *resp;         /* our last response (RFC 7296 2.1 response cache) */
	size_t resp_len;
	uint32_t resp_id;
	bool resp_valid;
	struct frag_reasm *frag; /* owned: RFC 7383 reassembly (daemon/fragment.h), or NULL */
};

struct ikesa {
	struct engine *e;
	struct cfg_ref *cfgref;      /* reference that keeps conn alive */
	const struct conn_cfg *conn; /* borrowed from cfgref */
	enum ikesa_state state;
	bool initiator;              /* we were the original initiator */
	uint64_t spi_i, spi_r;       /* wire order, as in struct ike_hdr */
	uint64_t local_spi_key;      /* our SPI: the key in the engine's table */
	bool in_table;
	bool in_half_open;
	/* Established IKE SAs by (conn, authenticated peer identity): INITIAL_CONTACT. */
	bool in_peer_index;
	uint64_t peer_key;
	struct ikesa *peer_next, **peer_prev;
	uint64_t half_open_key;
	/*
	 * The source that opened it (a responder's): counted in dos.h per
	 * source while half-open, and for ike_sa_per_ip while dos_counted.
	 */
	struct sockaddr_storage half_open_from;
	bool dos_counted;
	struct ikesa *ho_prev, *ho_next; /* the engine's half-open SAs, oldest first */
	struct sockaddr_storage local, remote; /* with ports */
	uint32_t ext;                /* enum ikesa_ext */
	struct ike_suite suite;
	struct dh *dh;               /* until the keys are derived */
	uint8_t *ni, *nr;
	size_t ni_len, nr_len;
	uint8_t *init_req, *init_resp; /* IKE_SA_INIT messages, until IKE_AUTH is done (2.15) */
	size_t init_req_len, init_resp_len;
	uint8_t *cookie;             /* RFC 7296 2.6 cookie to echo */
	size_t cookie_len;
	struct ike_keys keys;
	struct sk_cipher *c_in, *c_out;
	uint8_t peer_id_type;        /* authenticated peer identity, for status */
	uint8_t peer_id[CONFIG_ID_MAX];
	uint16_t peer_id_len;
	uint8_t peer_sig_hashes;     /* RFC 7427 4: bit n set = the peer announced hash n */
	struct sa_auth *auth;        /* owned: signature authentication state (daemon/auth.h) */
	struct child_sa *children;
	struct tm_state tm;
	struct timer life_timer;     /* half-open expiry */
	struct timer rekey_timer;    /* IKE SA rekey (ike_lifetime less the margins) */
	struct timer keepalive_timer; /* NAT keepalives (RFC 3948 2.3), behind a NAT only */
	struct timer dpd_timer;      /* dead peer detection (RFC 7296 2.4) */
	struct timer reap_timer;     /* replaced, and the peer has not deleted it (timers.h) */
	uint64_t last_tx_ms;         /* our last IKE message or keepalive sent */
	uint64_t last_rx_ms;         /* the peer's last authenticated message or inbound ESP */
	uint64_t dpd_bytes_in;       /* inbound bytes of the Child SAs at the last DPD check */
	uint64_t ka_bytes_out;       /* outbound bytes of the Child SAs at the last keepalive check */
	bool ike_rekeying;           /* our IKE SA rekey is in flight (2.25.2) */
	bool ike_rekeyed;            /* replaced by a successor: only its Delete is left */
	bool is_successor;           /* made by an IKE rekey */
	bool redundant_successor;    /* lost a rekey collision (2.8.2): its creator deletes it */
	bool dpd_restart;            /* initiated by dpd_action = restart: retried while unreachable */
	uint64_t rekey_ms;           /* when rekey_timer fires, 0 = not armed */
	uint64_t rekey_deferred_since; /* first TEMPORARY_FAILURE to our IKE rekey, 0 = none */
	/*
	 * Reauthentication (RFC 7296 2.8.3, task_reauth.h): reauth_by is the
	 * local SPI of the new IKE SA replacing this one, reauth_of the local
	 * SPI of the one this SA replaces (cleared once that is being deleted).
	 */
	uint64_t reauth_by, reauth_of;
	/*
	 * The IKE SA this one replaced by reauthentication, while its Delete is
	 * under way (local SPI, 0 = none): its Child SAs share our reqids, so
	 * XFRM_MSG_MIGRATE may move their states with ours, and it follows our
	 * path moves until it goes (child_kernel_migrate).
	 */
	uint64_t predecessor;
	/* An IKE rekey the peer made while ours was in flight (2.8.2), by its local SPI. */
	uint64_t peer_successor;
	uint64_t created_ms, established_ms;
	struct mobike *mobike;       /* owned: RFC 4555 state (daemon/mobike.h), or NULL */
	uint32_t moves;              /* times the IKE SA moved to a new path (MOBIKE, NAT) */
	char proposal_text[96];
	uint32_t uid;                /* unique id, xiked-wide (events, status) */
	char *end_reason;            /* owned: why it ends (sa_event.h), the first given, or NULL */
	bool rekey_told;             /* its ike-rekey event was emitted: no ike-down */
	struct vip_state *vip;       /* owned: virtual IPs leased or given (daemon/vip.h), or NULL */
};

/* A new IKE SA on conn (borrowed through ref, which it retains). Caller adds it to the engine. */
struct ikesa *ikesa_new(struct engine *e, struct cfg_ref *ref, const struct conn_cfg *conn,
			bool initiator);
/*
 * Frees the SA's own data (timers stopped, keys, buffers, its cfg_ref).
 * Its tasks, Child SAs, authentication and MOBIKE state must be gone:
 * engine_free_sa (engine_teardown.h) takes those first. NULL-safe.
 */
void ikesa_free(struct ikesa *sa);
/* Cancels the SA's own timers (life, rekey, keepalive, DPD, reap). */
void ikesa_stop_timers(struct ikesa *sa);

/*
 * Every IKE SA state change: logs "old -> new", counts. Becoming
 * ESTABLISHED goes through engine_set_established (engine_index.h).
 */
void ikesa_set_state(struct ikesa *sa, enum ikesa_state st);
const char *ikesa_state_name(enum ikesa_state st);
void child_set_state(struct ikesa *sa, struct child_sa *c, enum child_state st);
const char *child_state_name(enum child_state st);

/* "conn[#spi]" prefix for logs, into a static buffer. */
const char *ikesa_tag(const struct ikesa *sa);

/* Our SPI (the table key) and the peer's. */
static inline uint64_t ikesa_local_spi(const struct ikesa *sa)
{
	return sa->initiator ? sa->spi_i : sa->spi_r;
}

/*
 * Derive SK_* from the DH result (RFC 7296 2.14; with old_sk_d, the
 * rekey derivation of 2.18) and set up c_in/c_out. 0 or -errno. The
 * caller writes the key log (keylog.h) before the keys protect anything.
 */
int ikesa_derive_keys(struct ikesa *sa, const struct secret *shared, const struct secret *old_sk_d,
		      uint16_t old_prf);

/* The child whose inbound or outbound SPI is spi (network order), or NULL. */
struct child_sa *ikesa_find_child(struct ikesa *sa, uint32_t spi, bool inbound);
/*
 * Links c into sa and indexes its SPIs for kernel events (inbound once
 * known, outbound once installed): call again after each.
 */
void ikesa_link_child(struct ikesa *sa, struct child_sa *c);
/* Move c from sa to its successor n (RFC 7296 1.3.2), keeping it installed. */
void ikesa_move_child(struct ikesa *sa, struct ikesa *n, struct child_sa *c);
/* The Child SA with inbound or outbound SPI spi (network order) in any IKE SA, and its SA. */
struct child_sa *ikesa_find_child_any(struct engine *e, uint32_t spi, struct ikesa **sa_out);
/*
 * Takes c out of sa's list and the SPI index (nothing else: removing a
 * Child SA is child_kernel_remove, child_kernel.h).
 */
void ikesa_unlink_child(struct ikesa *sa, struct child_sa *c);

#endif
