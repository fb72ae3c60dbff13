/* Real and fake clocks; see clock.h. */
#include "daemon/clock.h"

#include <time.h>

static uint64_t boottime_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	/* Cannot fail for a valid clock id and pointer on Linux >= 2.6.39. */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct clock clock_boottime(void)
{
	return (struct clock){ .now_ms = boottime_now, .ctx = NULL };
}

static uint64_t fake_now(void *ctx)
{
	return ((const struct clock_fake *)ctx)->now_ms;
}

struct clock clock_fake_clock(struct clock_fake *f)
{
	return (struct clock){ .now_ms = fake_now, .ctx = f };
}

void clock_fake_set(struct clock_fake *f, uint64_t now_ms)
{
	f->now_ms = now_ms;
}

void clock_fake_advance(struct clock_fake *f, uint64_t delta_ms)
{
	f->now_ms += delta_ms;
}
