/* sd_notify(3) for xiked; see sdnotify.h. */
#include "daemon/sdnotify.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "daemon/log.h"
#include "daemon/loop.h"

static struct {
	struct timer timer;
	bool started;
	uint64_t tick_ms;
	uint64_t wd_usec; /* 0: no watchdog */
	sdnotify_counts_fn counts;
	void *ctx;
	size_t last_ike, last_child;
	bool sent; /* a STATUS= went out */
} sn;

static bool under_manager(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	return s && *s;
}

static void notify(const char *text)
{
	if (!under_manager())
		return;
	int r = sd_notify(0, text);
	if (r < 0)
		log_msg(LOG_DMN, LOG_LVL_WARN, "sd_notify(%s): %s", text, strerror(-r));
}

void sdnotify_ready(void)
{
	notify("READY=1");
}

void sdnotify_reloading(void)
{
	struct timespec ts;
	char buf[80];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
	notify(buf);
}

void sdnotify_stopping(void)
{
	notify("STOPPING=1");
}

unsigned long long sdnotify_watchdog_usec(void)
{
	uint64_t usec = 0;

	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) is us. */
	if (!under_manager() || sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

static void send_status(void)
{
	size_t ike = 0, child = 0;
	char buf[96];

	sn.counts(sn.ctx, &ike, &child);
	if (sn.sent && ike == sn.last_ike && child == sn.last_child)
		return;
	snprintf(buf, sizeof(buf), "STATUS=%zu IKE SA%s, %zu Child SA%s", ike,
		 ike == 1 ? "" : "s", child, child == 1 ? "" : "s");
	notify(buf);
	sn.last_ike = ike;
	sn.last_child = child;
	sn.sent = true;
}

static void on_tick(struct loop *loop, struct timer *t, void *ctx)
{
	(void)ctx;
	if (sn.wd_usec)
		notify("WATCHDOG=1");
	send_status();
	timer_arm_in(loop, t, sn.tick_ms);
}

int sdnotify_start(struct loop *loop, sdnotify_counts_fn fn, void *ctx)
{
	if (!under_manager() || sn.started)
		return 0;
	sn.counts = fn;
	sn.ctx = ctx;
	sn.wd_usec = sdnotify_watchdog_usec();
	sn.tick_ms = SDNOTIFY_STATUS_MS;
	if (sn.wd_usec) {
		uint64_t half = sn.wd_usec / 2000;
		if (half < sn.tick_ms)
			sn.tick_ms = half ? half : 1;
		log_msg(LOG_DMN, LOG_LVL_INFO, "systemd watchdog: %llu ms, pinging every %llu ms",
			(unsigned long long)(sn.wd_usec / 1000), (unsigned long long)sn.tick_ms);
	}
	timer_init(&sn.timer, on_tick, NULL);
	int r = timer_arm_in(loop, &sn.timer, sn.tick_ms);
	if (r < 0)
		return r;
	sn.started = true;
	send_status();
	return 0;
}

void sdnotify_stop(struct loop *loop)
{
	if (!sn.started || !loop)
		return;
	timer_cancel(loop, &sn.timer);
	sn.started = false;
}
