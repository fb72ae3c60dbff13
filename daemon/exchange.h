/*
 * The exchanges xiked runs, as one declarative table (libreswan's
 * transition table): for each exchange and role, the acceptance rows
 * (acceptance.c) that say which payloads its messages carry, and the
 * tasks (task.h) that run it, in order. The initiator's setup
 * (engine_up), reauthentication (task_reauth.c) and the responder
 * (task_manager.c) all take their task lists from here, so a new exchange
 * (IKE_INTERMEDIATE, IKE_FOLLOWUP_KE, an EAP round) is a new row.
 */
#ifndef XIKED_EXCHANGE_H
#define XIKED_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/message.h"

struct child_cfg;
struct child_sa;
struct ikesa;
struct task;

/* One row each; the values index nothing, they name the rows for the initiator. */
enum exchange_kind {
	EXCH_IKE_SA_INIT,   /* RFC 7296 1.2: proposals, KE, nonces */
	EXCH_IKE_AUTH,      /* 1.2: authentication with the first Child SA */
	EXCH_IKE_REKEY,     /* 1.3.2: CREATE_CHILD_SA rekeying the IKE SA */
	EXCH_CHILD_SA,      /* 1.3.1, 1.3.3: CREATE_CHILD_SA for a Child SA, new or rekeyed */
	EXCH_INFORMATIONAL, /* 1.4: Delete, liveness, errors; RFC 4555 address updates */
};

/* What the row's task constructors take; unused fields stay zero. */
struct exchange_args {
	const struct ike_msg *request;   /* responder: the peer's request */
	const struct child_cfg *child;   /* initiator: the Child SA to create */
	const struct child_sa *remake;   /* reauthentication: the old Child SA to make again */
	bool reauth;                     /* initiator: the new IKE SA of a reauthentication */
};

#define EXCHANGE_STEPS_MAX 6

/* Which side runs a step: we initiate the exchange, we respond, or both. */
#define EXCH_I 1
#define EXCH_R 2

struct exchange_step {
	const char *task;                                   /* the task's name, for the table */
	uint8_t roles;                                      /* EXCH_I | EXCH_R */
	struct task *(*make)(const struct exchange_args *a);
	/* Whether the step runs; NULL = always. */
	bool (*when)(const struct exchange_args *a);
};

struct exchange_row {
	enum exchange_kind kind;
	uint8_t exchange;                /* enum ike_exchange */
	const char *name;
	/* acceptance.c's default rows for the request and the response. */
	const char *accept_request, *accept_response;
	/* Responder: whether a request of `exchange` is of this row; NULL = all of them. */
	bool (*is)(const struct ike_msg *m);
	struct exchange_step steps[EXCHANGE_STEPS_MAX]; /* ends at make == NULL */
};

/* The table itself, for tests and status: n rows. */
const struct exchange_row *exchange_rows(size_t *n);
/* The row of kind. */
const struct exchange_row *exchange_row(enum exchange_kind kind);
/* The responder's row for request m; NULL when we take no such request. */
const struct exchange_row *exchange_row_for(const struct ike_msg *m);
/*
 * The tasks of row (a list linked by next, ownership to the caller), in
 * the row's order, those of our role (the responder's when a->request is
 * set) whose `when` holds; NULL when there are none or one cannot be
 * allocated (none are returned then).
 */
struct task *exchange_tasks(const struct exchange_row *row, const struct exchange_args *a);
/*
 * Initiator: queues the tasks of kind on sa (tm_queue, which may start the
 * exchange at once and, when that fails, destroy sa). -ENOMEM, and nothing
 * queued, when a task cannot be allocated.
 */
int exchange_queue(struct ikesa *sa, enum exchange_kind kind, const struct exchange_args *a);

#endif
