/*
 * Trap policies (start = trap): the policies of each child config are
 * installed at start-up with a reqid but no SA, so the kernel raises
 * XFRM_MSG_ACQUIRE for the first matching packet; that brings up the IKE SA
 * (or, on an established one, a CREATE_CHILD_SA) for that child. The
 * Child SA reuses the trap's reqid, so it shares the trap's policies
 * (child_kernel.h counts the holders) and deleting it (idle_timeout) leaves
 * the trap in place for the next packet. One negotiation per ACQUIRE
 * burst: further ACQUIREs for the same trap are ignored while one is under
 * way (TRAP_PENDING_MS at most).
 */
#ifndef XIKED_TRAP_H
#define XIKED_TRAP_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/timing.h"
#include "netlink/kernel_ops.h"

struct engine;
struct child_cfg;
struct conn_cfg;

/* TRAP_PENDING_MS (daemon/timing.h): how long an ACQUIRE-started negotiation keeps further
 * ACQUIREs away. */

/* Install the traps of every start = trap conn of the engine's configuration. */
void trap_install_all(struct engine *e);
/* Install the traps conn `name` (start = trap) lacks; how many were installed. */
size_t trap_install_start(struct engine *e, const char *name);
/*
 * Install the traps of conn `name` of the current configuration (its child
 * configs that have none yet), whatever its start: dpd_action = trap.
 */
void trap_install_conn(struct engine *e, const char *name);
/* Remove every trap and its policies (unless a Child SA still holds them). */
void trap_remove_all(struct engine *e);
/*
 * After a reload (e->cfg is the new configuration): a trap whose conn and
 * child config are still there, still ask for it (start = trap, or
 * dpd_action = trap for one that DPD installed) and make the same policies
 * (config_diff_same_policies) moves to the new configuration, keeping its
 * policies and reqid (no gap); every other trap is removed (its policies
 * go unless a Child SA still holds them), calling removed(ctx, conn name)
 * (may be NULL) first. Traps the new configuration adds are installed by
 * the caller (trap_install_start).
 */
void trap_reload(struct engine *e, void (*removed)(void *ctx, const char *conn), void *ctx);
/* The reqid of the trap of child config cfg of conn (or its like, find_cfg), or 0 if none. */
uint32_t trap_reqid(struct engine *e, const struct conn_cfg *conn, const struct child_cfg *cfg);
/* A Child SA of cfg was installed: its trap may serve the next ACQUIRE at once. */
void trap_on_child_installed(struct engine *e, const struct conn_cfg *conn,
			     const struct child_cfg *cfg);
/* struct kernel_events.acquire (ctx = the engine). */
void trap_on_acquire(void *ctx, const struct ksel *sel, uint32_t reqid);

#endif
