/*
 * The table of exchanges (see exchange.h). Each row cites the RFC figure
 * of its exchange; the tasks of a row run in the listed order, each
 * task's build and process functions in turn (task_manager.c).
 */
#include "daemon/exchange.h"

#include <errno.h>
#include <stdlib.h>

#include "daemon/ikesa.h"
#include "daemon/log.h"
#include "daemon/mobike.h"
#include "daemon/task.h"
#include "daemon/task_manager.h"

/* ---- constructors: the row's arguments to each task's own ---- */

static struct task *make_ike_init(const struct exchange_args *a)
{
	(void)a;
	return task_ike_init_new();
}

static struct task *make_ike_auth(const struct exchange_args *a)
{
	(void)a;
	return task_ike_auth_new();
}

static struct task *make_initial_contact(const struct exchange_args *a)
{
	(void)a;
	return task_initial_contact_new();
}

static struct task *make_config(const struct exchange_args *a)
{
	(void)a;
	return task_config_new();
}

static struct task *make_mobike_auth(const struct exchange_args *a)
{
	(void)a;
	return task_mobike_auth_new();
}

/* IKE_AUTH's Child SA (RFC 7296 1.2); a responder's takes its config from the request. */
static struct task *make_child_auth(const struct exchange_args *a)
{
	return a->remake ? task_child_reauth_new(a->remake, true) : task_child_create_new(a->child);
}

/* A Child SA in its own CREATE_CHILD_SA (1.3.1); the responder's also serves a rekey (1.3.3). */
static struct task *make_child_ccsa(const struct exchange_args *a)
{
	return a->remake ? task_child_reauth_new(a->remake, false)
			 : task_child_create_ccsa_new(a->child);
}

static struct task *make_ike_rekey(const struct exchange_args *a)
{
	(void)a;
	return task_ike_rekey_new();
}

static struct task *make_informational_r(const struct exchange_args *a)
{
	(void)a;
	return task_informational_r_new();
}

static struct task *make_mobike_r(const struct exchange_args *a)
{
	(void)a;
	return task_mobike_r_new();
}

/* ---- conditions ---- */

/* RFC 7296 2.4: no INITIAL_CONTACT from a reauthentication, the peer must keep the old SA. */
static bool not_reauth(const struct exchange_args *a)
{
	return !a->reauth;
}

/* A Child SA in IKE_AUTH: the initiator has one to make, the request carries SAi2. */
static bool with_child(const struct exchange_args *a)
{
	if (a->request)
		return message_find(a->request, PL_SA, NULL) != NULL;
	return a->child || a->remake;
}

/*
 * RFC 7296 2.19: the responder answers a CP in the request; the initiator's
 * task asks when its conn has vip = (task_config.c).
 */
static bool with_cp(const struct exchange_args *a)
{
	return !a->request || message_find(a->request, PL_CP, NULL) != NULL;
}

/* RFC 4555 notifies in an INFORMATIONAL request (task_mobike.c answers them). */
static bool mobike_request(const struct exchange_args *a)
{
	return mobike_informational(a->request);
}

/* RFC 7296 1.3.2: an SA payload whose proposals are for protocol IKE rekeys the IKE SA. */
static bool is_ike_rekey(const struct ike_msg *m)
{
	const struct ike_payload *sap = message_find(m, PL_SA, NULL);
	return sap && sap->u.sa.n_proposals && sap->u.sa.proposals[0].protocol == PROTO_IKE;
}

/* ---- the table ---- */

static const struct exchange_row rows[] = {
	/* RFC 7296 1.2: HDR, SAi1, KEi, Ni -->  <-- HDR, SAr1, KEr, Nr, [CERTREQ] */
	{ EXCH_IKE_SA_INIT, IKE_SA_INIT, "IKE_SA_INIT", "IKE_SA_INIT request",
	  "IKE_SA_INIT response", NULL,
	  { { "IKE_INIT", EXCH_I | EXCH_R, make_ike_init, NULL } } },
	/*
	 * RFC 7296 1.2: HDR, SK {IDi, [CERT,] [CERTREQ,] [IDr,] AUTH, SAi2, TSi, TSr} -->
	 * Authentication first; INITIAL_CONTACT (2.4) before the Child SA takes
	 * its policies; MOBIKE_SUPPORTED (RFC 4555 3.1) once authenticated; the
	 * CP (2.19) before the Child SA, whose selectors take the virtual IPs.
	 */
	{ EXCH_IKE_AUTH, IKE_AUTH, "IKE_AUTH", "IKE_AUTH request", "IKE_AUTH response", NULL,
	  { { "IKE_AUTH", EXCH_I | EXCH_R, make_ike_auth, NULL },
	    { "initial_contact", EXCH_I | EXCH_R, make_initial_contact, not_reauth },
	    { "mobike_auth", EXCH_I | EXCH_R, make_mobike_auth, NULL },
	    { "config", EXCH_I | EXCH_R, make_config, with_cp },
	    { "CHILD_CREATE", EXCH_I | EXCH_R, make_child_auth, with_child } } },
	/* RFC 7296 1.3.2: HDR, SK {SA, Ni, KEi} -->  <-- HDR, SK {SA, Nr, KEr} */
	{ EXCH_IKE_REKEY, CREATE_CHILD_SA, "IKE SA rekey", "CREATE_CHILD_SA request",
	  "CREATE_CHILD_SA response", is_ike_rekey,
	  { { "IKE_REKEY", EXCH_I | EXCH_R, make_ike_rekey, NULL } } },
	/* RFC 7296 1.3.1, 1.3.3: HDR, SK {[N(REKEY_SA),] SA, Ni, [KEi,] TSi, TSr} --> */
	{ EXCH_CHILD_SA, CREATE_CHILD_SA, "Child SA", "CREATE_CHILD_SA request",
	  "CREATE_CHILD_SA response", NULL,
	  { { "CHILD_CREATE", EXCH_I | EXCH_R, make_child_ccsa, NULL } } },
	/*
	 * RFC 7296 1.4: HDR, SK {[N,] [D,] [CP,] ...} -->; RFC 4555 3.5's
	 * address updates after the Deletes and errors. Our own requests (a
	 * Delete, a liveness check, an address update) are one task each,
	 * queued by what decides on them (task_delete.c, task_dpd.c, task_mobike.c).
	 */
	{ EXCH_INFORMATIONAL, INFORMATIONAL, "INFORMATIONAL", "INFORMATIONAL request",
	  "INFORMATIONAL response", NULL,
	  { { "INFORMATIONAL_R", EXCH_R, make_informational_r, NULL },
	    { "mobike_r", EXCH_R, make_mobike_r, mobike_request } } },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))

const struct exchange_row *exchange_rows(size_t *n)
{
	*n = N_ROWS;
	return rows;
}

const struct exchange_row *exchange_row(enum exchange_kind kind)
{
	for (size_t i = 0; i < N_ROWS; i++)
		if (rows[i].kind == kind)
			return &rows[i];
	return NULL;
}

const struct exchange_row *exchange_row_for(const struct ike_msg *m)
{
	for (size_t i = 0; i < N_ROWS; i++)
		if (rows[i].exchange == m->hdr.exchange && (!rows[i].is || rows[i].is(m)))
			return &rows[i];
	return NULL;
}

static void free_list(struct task *t)
{
	while (t) {
		struct task *n = t->next;
		t->ops->free(t);
		t = n;
	}
}

struct task *exchange_tasks(const struct exchange_row *row, const struct exchange_args *a)
{
	uint8_t role = a->request ? EXCH_R : EXCH_I;
	struct task *head = NULL, **tail = &head;
	for (const struct exchange_step *s = row->steps;
	     s < row->steps + EXCHANGE_STEPS_MAX && s->make; s++) {
		if (!(s->roles & role) || (s->when && !s->when(a)))
			continue;
		struct task *t = s->make(a);
		if (!t) {
			free_list(head);
			return NULL;
		}
		t->next = NULL;
		*tail = t;
		tail = &t->next;
	}
	return head;
}

int exchange_queue(struct ikesa *sa, enum exchange_kind kind, const struct exchange_args *a)
{
	const struct exchange_row *row = exchange_row(kind);
	struct task *t = row ? exchange_tasks(row, a) : NULL;
	if (!t) {
		log_msg(LOG_IKE, LOG_LVL_ERROR, "%s: cannot queue %s: out of memory", ikesa_tag(sa),
			row ? row->name : "an exchange");
		return -ENOMEM;
	}
	/* All at once: tm_queue may start the exchange, or destroy sa if it cannot. */
	return tm_queue(sa, t);
}
