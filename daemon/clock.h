/*
 * The clock seam (design.md rule 11): everything that needs
 * the time asks a struct clock, so tests can step time by hand.
 *
 * Times are milliseconds of CLOCK_BOOTTIME: monotonic, and it keeps counting
 * during suspend, so lifetimes and DPD see the time that really passed.
 */
#ifndef XIKED_CLOCK_H
#define XIKED_CLOCK_H

#include <stdint.h>

struct clock {
	uint64_t (*now_ms)(void *ctx);
	void *ctx;
};

static inline uint64_t clock_now(const struct clock *c)
{
	return c->now_ms(c->ctx);
}

/* The real clock: CLOCK_BOOTTIME in milliseconds. */
struct clock clock_boottime(void);

/* A settable clock for tests. The returned struct clock borrows f. */
struct clock_fake {
	uint64_t now_ms;
};
struct clock clock_fake_clock(struct clock_fake *f);
void clock_fake_set(struct clock_fake *f, uint64_t now_ms);
void clock_fake_advance(struct clock_fake *f, uint64_t delta_ms);

#endif
