/*
 * The event bus: what happened to IKE and Child SAs, said once, where it
 * happens, to whoever listens (xikectl up/down waiting for their outcome,
 * xikectl monitor, the metrics). The engine emits; subscribers are a list
 * of callbacks, so the engine depends on nothing that listens (control.c
 * registers itself from main.c).
 *
 * The bus also keeps each conn's last error (reason and time), for
 * xikectl status.
 *
 * Event JSON (event_json; one object, the monitor's line; README and
 * doc/design.md have the schema):
 *   {"event":"child-up","time":"2026-12-07T16:48:31.123Z","conn":"site",
 *    "child":"net","ike_id":3,"initiator":true,"spi_i":"..","spi_r":"..",
 *    "local":"192.0.2.1","remote":"192.0.2.2","remote_id":"b.example",
 *    "spi_in":"c1a2b3c4","spi_out":"..","reason":".."}
 * Members that do not apply are left out.
 */
#ifndef XIKED_EVENT_H
#define XIKED_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct json_writer;

enum event_type {
	EV_IKE_UP,        /* IKE SA established (IKE_AUTH done) */
	EV_IKE_DOWN,      /* an established IKE SA is gone (reason: who or what ended it) */
	EV_IKE_REKEYED,   /* IKE SA replaced by its rekey (new_spi_i/new_spi_r, new_ike_id) */
	EV_IKE_FAILED,    /* IKE SA setup failed (the peer's notify, a timeout, our check) */
	EV_AUTH_FAILED,   /* authentication failed (either side); an ike-failed follows */
	EV_CHILD_UP,      /* Child SA installed */
	EV_CHILD_DOWN,    /* an installed Child SA is gone (not replaced by a rekey) */
	EV_CHILD_REKEYED, /* Child SA replaced (spi_in/out: new; old_spi_in/out: replaced) */
	EV_CHILD_FAILED,  /* Child SA not created or not rekeyed (notify, kernel error, check) */
	EV_MOBIKE_MOVE,   /* the IKE SA (and its Child SAs) moved to a new path (MOBIKE or NAT) */
	EV_DPD_DEAD,      /* the peer did not answer (RFC 7296 2.4): an ike-down follows */
	EV_COLLISION,     /* rekey collision (RFC 7296 2.8.1/2.8.2): reason says who won */
	EV_TYPE_COUNT,
};

/* Reason texts, octets (longer ones are cut). */
#define EVENT_REASON_MAX 200

/*
 * One event; every pointer is borrowed for the emit call only. Zero / NULL
 * members do not apply. SPIs are host order.
 */
struct event {
	enum event_type type;
	const char *conn;             /* conn name (always) */
	const char *child;            /* child config name: Child SA events */
	uint32_t ike_id;              /* the IKE SA's unique id (xiked-wide, from 1) */
	uint32_t new_ike_id;          /* ike-rekeyed: the successor's */
	bool initiator;               /* we are the IKE SA's original initiator */
	uint64_t spi_i, spi_r;        /* the IKE SA's SPIs */
	uint64_t new_spi_i, new_spi_r; /* ike-rekeyed: the successor's */
	const struct sockaddr_storage *local, *remote; /* the IKE SA's path */
	const char *remote_id;        /* the peer's authenticated identity, if any */
	uint32_t spi_in, spi_out;     /* Child SA events */
	uint32_t old_spi_in, old_spi_out; /* child-rekeyed: the SA it replaced */
	uint32_t reqid;               /* Child SA events */
	const char *reason;           /* why (failures, down, collisions, moves) */
};

/* Called for each event, in emission order; must not emit events or unsubscribe others. */
typedef void (*event_fn)(void *ctx, const struct event *ev);

struct event_bus;

/* NULL on allocation failure. */
struct event_bus *event_bus_new(void);
/* NULL-safe. */
void event_bus_free(struct event_bus *b);
/* Adds fn(ctx) to the listeners (called after those before it). 0 or -ENOMEM. */
int event_subscribe(struct event_bus *b, event_fn fn, void *ctx);
/* Removes fn(ctx); it may be the listener being called. */
void event_unsubscribe(struct event_bus *b, event_fn fn, void *ctx);
/*
 * Hands ev to every listener. Failures (event_is_error) become the
 * conn's last error. b NULL: nothing.
 */
void event_emit(struct event_bus *b, const struct event *ev);
/* ike-failed, auth-failed, child-failed, dpd-dead: kept as a conn's last error. */
bool event_is_error(const struct event *ev);

/* A conn's last error: its event type, reason and wall-clock time. */
struct event_error {
	enum event_type type;
	char reason[EVENT_REASON_MAX];
	uint64_t wall_ms; /* CLOCK_REALTIME, ms since the epoch */
};
/* conn's last error, or NULL (borrowed until the next emit). */
const struct event_error *event_last_error(const struct event_bus *b, const char *conn);
/* Forgets conn's last error (a successful xikectl up, or the conn removed). */
void event_clear_error(struct event_bus *b, const char *conn);

/* "ike-up", "child-rekey"... ("?" when out of range). */
const char *event_type_name(enum event_type t);
/* The event as one JSON object (the monitor's line); time is wall_ms. */
void event_json(const struct event *ev, uint64_t wall_ms, struct json_writer *w);
/* "2026-12-07T16:48:31.123Z" of wall_ms, into buf (at least 32 octets). */
const char *event_time_text(uint64_t wall_ms, char *buf, size_t len);
/* CLOCK_REALTIME in ms. */
uint64_t event_wall_ms(void);

#endif
