/*
 * How IKE SAs end, above the tasks: the data model (ikesa.h) only frees
 * its own data, and this file takes down what the modules above it hang on
 * an SA first (queued tasks, Child SAs with their kernel state,
 * authentication and MOBIKE state), files it out of the index and says
 * that it ended (sa_event.h). Half-open expiry (RFC 7296 2.6) ends here too.
 */
#ifndef XIKED_ENGINE_TEARDOWN_H
#define XIKED_ENGINE_TEARDOWN_H

#include "daemon/engine_ctx.h"

struct ikesa;

/*
 * Frees sa with everything it holds: tasks, Child SAs (uninstalled from
 * the kernel, child-down events), keys, authentication and MOBIKE state.
 * For an SA in no table (never indexed, or already removed). NULL-safe.
 */
void engine_free_sa(struct ikesa *sa);
/* Removes sa from the tables and frees it; its ike-down or ike-failed event last. */
void engine_destroy_sa(struct engine *e, struct ikesa *sa);
/*
 * sa goes unless it is established within half_open_timeout (a responder's
 * half-open SA, or an IKE rekey's successor whose exchange was abandoned).
 */
void engine_arm_setup_timeout(struct ikesa *sa);

#endif
