/*
 * Child SA rekeying (RFC 7296 1.3.3, 2.8) and its collisions (2.8.1,
 * 2.25.1), task_child_rekey.c: a Child SA's rekey sub-state (enum
 * child_rekey, ikesa.h), its one setter and the one "may this SA be
 * rekeyed" predicate, for the task, the kernel's soft expires, the retry
 * timer and xikectl rekey alike.
 */
#ifndef XIKED_CHILD_REKEY_H
#define XIKED_CHILD_REKEY_H

#include <stdbool.h>

#include "daemon/ikesa.h"

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
