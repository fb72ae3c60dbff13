/*
 * Child SA rekeying (RFC 7296 1.3.3, 2.8) and its collisions (2.8.1,
 * 2.25.1), task_child_rekey.c: a Child SA's rekey sub-state (enum
 * child_rekey, the field rekey of struct child_sa), its one setter and the one "may this SA be
 * rekeyed" predicate, for the task, the kernel's soft expires, the retry
 * timer and xikectl rekey alike. Kept free of the engine's headers
 * (ikesa.h includes it for the field).
 */
#ifndef XIKED_CHILD_REKEY_H
#define XIKED_CHILD_REKEY_H

#include <stdbool.h>

struct child_sa;
struct ikesa;

/*
 * A Child SA's part in rekeying (RFC 7296 1.3.3, 2.8, 2.8.1), changed only
 * through child_set_rekey (which logs it); whether it may be rekeyed is
 * child_may_rekey.
 */
enum child_rekey {
	CHILD_REKEY_NONE,      /* not being rekeyed: rekeyable once installed */
	CHILD_REKEY_ACTIVE,    /* our CREATE_CHILD_SA rekeying it is in flight */
	CHILD_REKEY_REPLACED,  /* our rekey replaced it: no more rekeys, deleted soon */
	CHILD_REKEY_REDUNDANT, /* a successor that lost a collision (2.8.1): never sends */
	CHILD_REKEY_COUNT,
};

/*
 * Whether c (in IKE SA sa) may be rekeyed now: sa established, c installed
 * and not being rekeyed, replaced or redundant.
 */
bool child_may_rekey(const struct ikesa *sa, const struct child_sa *c);
/* Whether c is installed and neither replaced nor redundant: it carries the traffic. */
bool child_live(const struct child_sa *c);
/* The one setter of c->rekey; logs the change (sa: the IKE SA holding c, for the tag). */
void child_set_rekey(struct ikesa *sa, struct child_sa *c, enum child_rekey r);
/* Stable name of a rekey sub-state ("ACTIVE", ...); never NULL. */
const char *child_rekey_name(enum child_rekey r);

#endif
