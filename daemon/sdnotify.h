/*
 * systemd's notification protocol (sd_notify(3), Type=notify): READY=1
 * once sockets, configuration and control socket are up, RELOADING=1 and
 * READY=1 around a reload, STOPPING=1 on the way out, STATUS= with the SA
 * counts, and WATCHDOG=1 pings from the event loop when the unit sets
 * WatchdogSec=. Everything is a no-op when the service manager gave no
 * NOTIFY_SOCKET (not under systemd, or daemonized by xiked itself: the
 * pings' WATCHDOG_PID is then another process).
 */
#ifndef XIKED_SDNOTIFY_H
#define XIKED_SDNOTIFY_H

#include <stddef.h>

struct loop;

/* What STATUS= reports: O(1) counts (no walk over the SAs). */
typedef void (*sdnotify_counts_fn)(void *ctx, size_t *ike_sas, size_t *child_sas);

void sdnotify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC= (systemd 253+ wants it; older ones ignore it). */
void sdnotify_reloading(void);
void sdnotify_stopping(void);
/*
 * Starts the loop timer (only under a service manager): every tick pings
 * WATCHDOG=1 if the watchdog is on (tick = half of WATCHDOG_USEC, at most
 * SDNOTIFY_STATUS_MS) and sends STATUS= when the counts changed, so a
 * stalled loop stops pinging and the status costs nothing per packet.
 * 0, or -errno. Idempotent.
 */
#define SDNOTIFY_STATUS_MS 5000u
int sdnotify_start(struct loop *loop, sdnotify_counts_fn fn, void *ctx);
/* Cancels the timer. NULL-safe. */
void sdnotify_stop(struct loop *loop);
/* The watchdog interval systemd asked for, microseconds; 0 when off. */
unsigned long long sdnotify_watchdog_usec(void);

#endif
