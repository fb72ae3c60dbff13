/*
 * xiked's metrics (doc/xiked.conf.5, METRICS): what `xikectl metrics` and
 * the optional HTTP listener (metrics_http.h) return, in the OpenMetrics
 * text format (openmetrics.h).
 *
 * Two kinds of numbers:
 *  - counters kept as plain integers where things happen: daemon-wide ones
 *    in struct engine_stats and struct dos_stats, per-conn ones here
 *    (struct metrics_conn, by conn name, so they survive a reload);
 *  - gauges computed at scrape time by one walk over the IKE SAs: each
 *    conn's state (configured, connecting, established), its IKE and Child
 *    SAs by state, and its ESP bytes and packets from the kernel's
 *    counters.
 *
 * Nothing runs per packet. A scrape asks the kernel for the counters of at
 * most METRICS_QUERY_MAX Child SAs (two netlink round trips each); beyond
 * that the values seen last are used and the next scrape carries on where
 * this one stopped. The byte and packet counters stay monotonic: what a
 * Child SA carried is added to its conn's total when it is removed (at
 * least the last value a scrape saw, if the kernel already dropped it).
 */
#ifndef XIKED_METRICS_H
#define XIKED_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct engine;
struct ikesa;
struct child_sa;
struct om_writer;
struct event;

/* Child SAs whose kernel counters one scrape queries. */
#define METRICS_QUERY_MAX 4096
/* Distinct failure reasons kept per conn and kind; more count as "other". */
#define METRICS_REASONS_MAX 16
/* Longest reason label, octets (longer ones are cut at a character boundary). */
#define METRICS_REASON_LEN 64

enum metrics_fail_kind {
	METRICS_FAIL_IKE,   /* an IKE SA was not established */
	METRICS_FAIL_CHILD, /* a Child SA was not created or rekeyed */
	METRICS_FAIL_KINDS,
};

struct metrics_reason {
	char text[METRICS_REASON_LEN];
	uint64_t count;
};

/* Per-conn counters (by name: a conn reloaded with the same name keeps them). */
struct metrics_conn {
	struct metrics_conn *next; /* hash chain */
	char *name;                /* owned */
	uint64_t ike_setups, child_setups, auth_failures;
	uint64_t ike_rekeys, child_rekeys, collisions;
	uint64_t ike_down, child_down, mobike_moves, dpd_dead;
	uint64_t retransmits;
	/* What removed Child SAs carried (the kernel's counters when they went). */
	uint64_t gone_bytes_in, gone_bytes_out, gone_packets_in, gone_packets_out;
	struct metrics_reason reasons[METRICS_FAIL_KINDS][METRICS_REASONS_MAX];
	size_t n_reasons[METRICS_FAIL_KINDS];
	uint64_t other_reasons[METRICS_FAIL_KINDS];
};

struct metrics;

/* NULL on allocation failure. start_wall_ms: the daemon's start (CLOCK_REALTIME ms). */
struct metrics *metrics_new(uint64_t start_wall_ms);
void metrics_free(struct metrics *m); /* NULL-safe */

/* conn's counters, created at first use; NULL when m is NULL or memory is short. */
struct metrics_conn *metrics_conn(struct metrics *m, const char *conn);
/* Counts a failure of kind with reason (borrowed; NULL or "" = "unknown"). */
void metrics_count_failure(struct metrics_conn *mc, enum metrics_fail_kind kind,
			   const char *reason);
/*
 * The event bus's listener (event.h; ctx: the struct metrics): counts each
 * event for its conn. A failure counts under its reason's code, the token
 * before the first ':' ("NO_PROPOSAL_CHOSEN: the peer refused IKE_SA_INIT"
 * -> NO_PROPOSAL_CHOSEN; "kernel", "timeout", "invalid-response", ...):
 * the rest names SPIs and identities and would make a series per attempt.
 */
void metrics_on_event(void *ctx, const struct event *ev);
/* The code of a reason into out (METRICS_REASON_LEN octets): "other" when it has none. */
void metrics_reason_code(const char *reason, char *out);

/*
 * c (of sa) is being removed from the kernel: adds what it carried to
 * its conn's totals. Called by child_kernel_uninstall before the states go.
 */
void metrics_child_gone(struct ikesa *sa, struct child_sa *c);

/* Writes every family of e's metrics and the end ("# EOF") into w. */
void metrics_write(struct engine *e, struct om_writer *w);

#endif
