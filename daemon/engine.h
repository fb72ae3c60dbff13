/*
 * The IKEv2 engine's top: dispatches received datagrams to their IKE SAs
 * (the task manager runs the exchanges), starts and stops connections,
 * takes kernel expire events and reloads. Everything outside (sockets, the
 * kernel, the clock, randomness, timers) comes in through struct
 * engine_env (engine_ctx.h), so two engines can run in one process against
 * a fake kernel and a fake clock (tests/unit/test_engine.c). The modules of
 * the engine include what they use below this file: the context
 * (engine_ctx.h), the SA index (engine_index.h), teardown
 * (engine_teardown.h); status is engine_status.h.
 */
#ifndef XIKED_ENGINE_H
#define XIKED_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/config.h"
#include "daemon/engine_ctx.h"
#include "netlink/kernel_ops.h"

struct reload_report;

/*
 * A new engine on cfg (ownership taken; freed with the engine once no SA
 * uses it). env is copied. NULL on allocation failure.
 */
struct engine *engine_new(const struct engine_env *env, struct xiked_config *cfg);
/* Deletes every SA from the kernel (no messages) and frees. NULL-safe. */
void engine_free(struct engine *e);

/* A datagram for us (all borrowed for the call). */
void engine_receive(struct engine *e, const struct sockaddr_storage *local,
		    const struct sockaddr_storage *remote, const uint8_t *buf, size_t len);

/* Start conns with start = initiate. */
void engine_start(struct engine *e);
/* Initiate conn by name; 0, or -ENOENT (no such conn) / -EALREADY / -errno with err text. */
int engine_up(struct engine *e, const char *conn, char *err, size_t errlen);
/* Delete every IKE SA of conn (sending Delete); 0 or -ENOENT. */
int engine_down(struct engine *e, const char *conn, char *err, size_t errlen);
/*
 * Rekey every installed Child SA of conn's IKE SAs, or (ike) the IKE SAs
 * themselves; 0 or -ENOENT (no such conn / no established IKE SA).
 */
int engine_rekey(struct engine *e, const char *conn, bool ike, char *err, size_t errlen);
/*
 * Reauthenticate (make-before-break, RFC 7296 2.8.3; task_reauth.h) the
 * IKE SA we initiated for conn; 0, -ENOENT (none established), -EALREADY
 * (a rekey or reauthentication under way) or -errno, with err text.
 */
int engine_reauth(struct engine *e, const char *conn, char *err, size_t errlen);
/*
 * Replace the configuration (ownership taken) and apply it (reload.h: traps
 * installed and removed, added start = initiate conns initiated, removed
 * conns' SAs deleted; running SAs of changed conns keep their settings),
 * filling *rep (free with reload_report_free). 0, or -ENOMEM with the
 * running configuration kept (cfg freed) and *rep empty.
 */
int engine_reload(struct engine *e, struct xiked_config *cfg, struct reload_report *rep);
/* Send Delete for every IKE SA (SIGTERM); true when none is left to wait for. */
void engine_shutdown(struct engine *e);
/* How many IKE SAs exist. */
size_t engine_ike_sa_count(const struct engine *e);

/* Kernel event callbacks (struct kernel_events.ctx = the engine; trap.h has the ACQUIRE one). */
void engine_on_expire(void *ctx, uint32_t spi, uint8_t proto, const struct kaddr *dst, bool hard);

#endif
