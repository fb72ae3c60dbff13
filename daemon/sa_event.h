/*
 * Events about IKE and Child SAs (event.h), filled from the SAs: the
 * engine's side of the event bus. Emission sites call these where the
 * thing happens; an IKE SA's ike-down / ike-failed is emitted by
 * engine_destroy_sa with the reason given to ikesa_set_reason.
 */
#ifndef XIKED_SA_EVENT_H
#define XIKED_SA_EVENT_H

#include "daemon/event.h"

struct ikesa;
struct child_sa;
struct child_cfg;
struct engine;

/* An IKE SA event about sa; fmt (may be NULL) is the reason. */
void sa_event(struct ikesa *sa, enum event_type t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * A Child SA event: c (may be NULL when it never existed; then cfg names
 * it) of sa; fmt (may be NULL) is the reason.
 */
void sa_event_child(struct ikesa *sa, const struct child_sa *c, const struct child_cfg *cfg,
		    enum event_type t, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* ike-rekey: old is replaced by n (by a rekey, or a reauthentication: reason says). */
void sa_event_ike_rekeyed(struct ikesa *old, struct ikesa *n, const char *reason);
/* child-rekey: c (installed) replaces the Child SA with inbound SPI old_in / outbound old_out. */
void sa_event_child_rekeyed(struct ikesa *sa, const struct child_sa *c, uint32_t old_in,
			    uint32_t old_out);
/*
 * Why sa ends, for its ike-down / ike-failed (and its Child SAs'
 * child-down): the first reason given is kept (the cause, not what
 * followed from it).
 */
void ikesa_set_reason(struct ikesa *sa, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Called by engine_destroy_sa before sa is freed: emits its ike-down or ike-failed, if any. */
struct sa_event_end {
	bool emit;
	enum event_type type;
	char conn[128];
	char reason[EVENT_REASON_MAX];
	char remote_id[160];
	struct sockaddr_storage local, remote;
	uint64_t spi_i, spi_r;
	uint32_t uid;
	bool initiator;
};
void sa_event_end_prepare(struct ikesa *sa, struct sa_event_end *end);
/* ... and after: emits it (the Child SAs' child-down events came first). */
void sa_event_end_emit(struct engine *e, const struct sa_event_end *end);

#endif
