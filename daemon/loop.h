/*
 * The event loop: one epoll for every fd, one timerfd for every timer, one
 * signalfd for signals (design.md rule 10).
 *
 * Timers are caller-owned struct timer objects (embedded in IKE SAs, tasks,
 * ...) kept in a binary min-heap ordered by deadline, so arming and
 * cancelling cost O(log n) whatever the number of timers; the timerfd is
 * programmed for the earliest deadline only. Times come from the injected
 * struct clock (clock.h); with a fake clock, tests step time themselves
 * with loop_run_timers_until() and never need epoll_wait.
 *
 * Callbacks may add, modify and delete fds and arm and cancel timers
 * (including their own) freely; an fd deleted by one callback receives no
 * further events from the batch in progress.
 */
#ifndef XIKED_LOOP_H
#define XIKED_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/clock.h"

struct loop;
struct timer;

typedef void (*loop_fd_fn)(struct loop *loop, int fd, uint32_t events, void *ctx);
typedef void (*loop_signal_fn)(struct loop *loop, int signo, void *ctx);
typedef void (*timer_fn)(struct loop *loop, struct timer *t, void *ctx);

/* heap_idx of a timer that is not armed. */
#define TIMER_IDLE SIZE_MAX

/*
 * A timer, embedded by its owner and set up with timer_init(). The fields
 * are the loop's; read them only through timer_armed()/timer_deadline().
 * The owner must cancel an armed timer before freeing its memory.
 */
struct timer {
	uint64_t deadline_ms;
	uint64_t seq; /* arm order: equal deadlines fire first-armed first */
	size_t heap_idx; /* index in the loop's heap, TIMER_IDLE when not armed */
	timer_fn fn;
	void *ctx;
};

/*
 * A new loop using clk (copied; its ctx is borrowed and must outlive the
 * loop); NULL means clock_boottime(). NULL on failure (errno set).
 */
struct loop *loop_new(const struct clock *clk);
/* Frees the loop; does not close registered fds (their owners do) and
 * unblocks the signals loop_on_signal() blocked. Armed timers are simply
 * forgotten. NULL-safe. */
void loop_free(struct loop *loop);

/* The loop's clock, now. */
uint64_t loop_now(const struct loop *loop);

/* Watches fd (borrowed: the caller closes it after loop_del_fd) for events
 * (EPOLLIN, EPOLLOUT...). 0 or -errno (-EEXIST if fd is already watched). */
int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *ctx);
/* Changes the events watched for fd. 0 or -errno (-ENOENT if not watched). */
int loop_mod_fd(struct loop *loop, int fd, uint32_t events);
/* Stops watching fd. 0 or -errno (-ENOENT if not watched). */
int loop_del_fd(struct loop *loop, int fd);

/*
 * Calls fn when signo arrives (SIGTERM, SIGINT, SIGHUP...). The signal is
 * blocked for the process and read from the loop's signalfd, so the
 * callback runs in normal context. One handler per signal; 0 or -errno.
 */
int loop_on_signal(struct loop *loop, int signo, loop_signal_fn fn, void *ctx);

/* Runs until loop_stop(). 0 after loop_stop(), -errno on an epoll error. */
int loop_run(struct loop *loop);
/* Makes loop_run() return once the current callback returns. */
void loop_stop(struct loop *loop);

/* Prepares t (caller-owned) to call fn(loop, t, ctx) when it expires. */
void timer_init(struct timer *t, timer_fn fn, void *ctx);
/* Arms t for deadline_ms (clock milliseconds), re-positioning it if it is
 * already armed. 0, or -ENOMEM if the heap could not grow (t stays as it was). */
int timer_arm(struct loop *loop, struct timer *t, uint64_t deadline_ms);
/* timer_arm(loop, t, loop_now(loop) + delay_ms). */
int timer_arm_in(struct loop *loop, struct timer *t, uint64_t delay_ms);
/* Disarms t; nothing happens if it is not armed. */
void timer_cancel(struct loop *loop, struct timer *t);
bool timer_armed(const struct timer *t);
/* The deadline of an armed timer (meaningless when not armed). */
uint64_t timer_deadline(const struct timer *t);

/* Number of armed timers. */
size_t loop_timers_armed(const struct loop *loop);
/* The earliest deadline; false when no timer is armed. */
bool loop_next_deadline(const struct loop *loop, uint64_t *deadline_ms);

/*
 * Runs, in deadline order, every timer whose deadline is <= now_ms,
 * including timers that the callbacks arm for a deadline <= now_ms; a timer
 * is disarmed before its callback runs. For tests with a fake clock (set
 * the clock to now_ms first so callbacks see it). Returns how many ran.
 */
size_t loop_run_timers_until(struct loop *loop, uint64_t now_ms);

#endif
