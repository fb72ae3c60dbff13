/* Event loop and timer heap (daemon/loop.c, daemon/clock.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "daemon/clock.h"
#include "daemon/loop.h"

struct rec {
	int order[64];
	size_t n;
	struct loop *loop;
	struct clock_fake *fake;
};

struct tctx {
	struct rec *rec;
	int id;
	struct timer *other; /* cancelled / re-armed by the callback */
	uint64_t rearm_step;
	uint64_t rearm_until;
	bool saw_armed;
};

static void record_cb(struct loop *loop, struct timer *t, void *ctx)
{
	struct tctx *c = ctx;

	c->saw_armed = timer_armed(t);
	if (c->rec->n < 64)
		c->rec->order[c->rec->n++] = c->id;
	if (c->other)
		timer_cancel(loop, c->other);
	if (c->rearm_step && timer_deadline(t) + c->rearm_step <= c->rearm_until)
		assert_int_equal(timer_arm(loop, t, timer_deadline(t) + c->rearm_step), 0);
}

static void test_fake_clock(void **state)
{
	struct clock_fake f = { 0 };
	struct clock c = clock_fake_clock(&f);
	struct clock b = clock_boottime();
	uint64_t t0;

	(void)state;
	clock_fake_set(&f, 1000);
	assert_int_equal(clock_now(&c), 1000);
	clock_fake_advance(&f, 234);
	assert_int_equal(clock_now(&c), 1234);
	t0 = clock_now(&b);
	assert_true(clock_now(&b) >= t0);
	assert_true(t0 > 0);
}

static void test_timer_order(void **state)
{
	struct clock_fake f = { .now_ms = 0 };
	struct clock c = clock_fake_clock(&f);
	struct loop *loop = loop_new(&c);
	struct rec rec = { 0 };
	struct timer t[5];
	struct tctx ctx[5];
	const uint64_t deadlines[5] = { 30, 10, 20, 10, 40 };
	uint64_t next;

	(void)state;
	assert_non_null(loop);
	assert_false(loop_next_deadline(loop, &next));
	for (int i = 0; i < 5; i++) {
		ctx[i] = (struct tctx){ .rec = &rec, .id = i };
		timer_init(&t[i], record_cb, &ctx[i]);
		assert_false(timer_armed(&t[i]));
		assert_int_equal(timer_arm(loop, &t[i], deadlines[i]), 0);
		assert_true(timer_armed(&t[i]));
	}
	assert_int_equal(loop_timers_armed(loop), 5);
	assert_true(loop_next_deadline(loop, &next));
	assert_int_equal(next, 10);

	/* Nothing is due before its deadline. */
	assert_int_equal(loop_run_timers_until(loop, 9), 0);
	/* Equal deadlines fire in the order they were armed (1 before 3). */
	assert_int_equal(loop_run_timers_until(loop, 30), 4);
	assert_int_equal(rec.n, 4);
	assert_int_equal(rec.order[0], 1);
	assert_int_equal(rec.order[1], 3);
	assert_int_equal(rec.order[2], 2);
	assert_int_equal(rec.order[3], 0);
	/* A timer is disarmed before its callback runs. */
	assert_false(ctx[0].saw_armed);
	assert_false(timer_armed(&t[0]));
	assert_true(timer_armed(&t[4]));
	assert_int_equal(loop_timers_armed(loop), 1);
	assert_int_equal(loop_run_timers_until(loop, 1000), 1);
	assert_int_equal(rec.order[4], 4);
	assert_int_equal(loop_timers_armed(loop), 0);
	loop_free(loop);
}

static void test_timer_cancel_rearm(void **state)
{
	struct loop *loop = loop_new(NULL); /* real clock; timers driven by hand */
	struct rec rec = { 0 };
	struct timer t[4];
	struct tctx ctx[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		ctx[i] = (struct tctx){ .rec = &rec, .id = i };
		timer_init(&t[i], record_cb, &ctx[i]);
	}
	/* cancel an unarmed timer: nothing happens */
	timer_cancel(loop, &t[0]);

	assert_int_equal(timer_arm(loop, &t[0], 100), 0);
	assert_int_equal(timer_arm(loop, &t[1], 200), 0);
	assert_int_equal(timer_arm(loop, &t[2], 300), 0);
	timer_cancel(loop, &t[1]);
	assert_false(timer_armed(&t[1]));
	timer_cancel(loop, &t[1]); /* twice is fine */
	/* re-arming moves a timer, it does not duplicate it */
	assert_int_equal(timer_arm(loop, &t[0], 350), 0);
	assert_int_equal(timer_arm(loop, &t[0], 250), 0);
	assert_int_equal(loop_timers_armed(loop), 2);
	assert_int_equal(timer_deadline(&t[0]), 250);

	assert_int_equal(loop_run_timers_until(loop, 200), 0);
	assert_int_equal(loop_run_timers_until(loop, 400), 2);
	assert_int_equal(rec.n, 2);
	assert_int_equal(rec.order[0], 0);
	assert_int_equal(rec.order[1], 2);

	/* A callback cancelling another due timer stops it from running. */
	rec.n = 0;
	ctx[2].other = &t[3];
	assert_int_equal(timer_arm(loop, &t[2], 500), 0);
	assert_int_equal(timer_arm(loop, &t[3], 500), 0);
	assert_int_equal(loop_run_timers_until(loop, 500), 1);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.order[0], 2);
	assert_false(timer_armed(&t[3]));

	/* A periodic timer re-arming itself runs at every step up to now. */
	rec.n = 0;
	ctx[2].other = NULL;
	ctx[2].rearm_step = 10;
	ctx[2].rearm_until = 1100;
	assert_int_equal(timer_arm(loop, &t[2], 1000), 0);
	assert_int_equal(loop_run_timers_until(loop, 1055), 6); /* 1000..1050 */
	assert_true(timer_armed(&t[2]));
	assert_int_equal(timer_deadline(&t[2]), 1060);
	assert_int_equal(loop_run_timers_until(loop, 5000), 5); /* 1060..1100 */
	assert_false(timer_armed(&t[2]));
	loop_free(loop);
}

/* 100k timers: every deadline order, cancels and moves, against a model. */
struct big {
	struct timer t;
	uint64_t deadline;
	bool live;
};

static uint64_t last_fired;
static size_t fired;
static bool order_ok = true;

static void big_cb(struct loop *loop, struct timer *t, void *ctx)
{
	struct big *b = ctx;

	(void)loop;
	(void)t;
	if (!b->live || b->deadline < last_fired)
		order_ok = false;
	last_fired = b->deadline;
	b->live = false;
	fired++;
}

static void test_timer_100k(void **state)
{
	enum { N = 100000 };
	struct clock_fake f = { 0 };
	struct clock c = clock_fake_clock(&f);
	struct loop *loop = loop_new(&c);
	struct big *b = calloc(N, sizeof(*b));
	uint32_t rnd = 12345;
	size_t live = 0;
	struct timespec t0, t1;

	(void)state;
	assert_non_null(b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < N; i++) {
		rnd = rnd * 1103515245u + 12345u;
		b[i].deadline = (rnd >> 8) % 1000000;
		b[i].live = true;
		timer_init(&b[i].t, big_cb, &b[i]);
		assert_int_equal(timer_arm(loop, &b[i].t, b[i].deadline), 0);
	}
	for (size_t i = 0; i < N; i += 3) {
		timer_cancel(loop, &b[i].t);
		b[i].live = false;
	}
	for (size_t i = 1; i < N; i += 5) {
		rnd = rnd * 1103515245u + 12345u;
		b[i].deadline = (rnd >> 8) % 1000000;
		b[i].live = true;
		assert_int_equal(timer_arm(loop, &b[i].t, b[i].deadline), 0);
	}
	for (size_t i = 0; i < N; i++)
		live += b[i].live;
	assert_int_equal(loop_timers_armed(loop), live);

	/* Step time in chunks as an engine test would. */
	for (uint64_t now = 0; now < 1000000; now += 50000) {
		clock_fake_set(&f, now + 49999);
		loop_run_timers_until(loop, now + 49999);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(order_ok);
	assert_int_equal(fired, live);
	assert_int_equal(loop_timers_armed(loop), 0);
	for (size_t i = 0; i < N; i++)
		assert_false(b[i].live);
	/* O(log n) per operation: well under a second even unoptimized. */
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	print_message("100k timers: arm, cancel 1/3, move 1/5, fire all: %.3f s\n", secs);
	assert_true(secs < 5.0);
	loop_free(loop);
	free(b);
}

/* ---- fds, real timers, signals through loop_run ---- */

struct fdctx {
	int fds[2][2]; /* two pipes */
	int calls[2];
	int read_bytes;
	struct timer stop; /* stops the loop after the whole batch is dispatched */
};

static void stop_now_cb(struct loop *loop, struct timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
	loop_stop(loop);
}

static void pipe_cb(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct fdctx *c = ctx;
	char buf[16];
	int which = fd == c->fds[0][0] ? 0 : 1;
	ssize_t n;

	assert_true(events & EPOLLIN);
	c->calls[which]++;
	n = read(fd, buf, sizeof(buf));
	assert_true(n > 0);
	c->read_bytes += (int)n;
	/* Delete the other pipe: if its event is in the same batch it must not run. */
	loop_del_fd(loop, c->fds[!which][0]);
	/* Not loop_stop(): the rest of the epoll batch must still be dispatched. */
	assert_int_equal(timer_arm(loop, &c->stop, 0), 0);
}

static void test_fd_callbacks(void **state)
{
	struct loop *loop = loop_new(NULL);
	struct fdctx c = { 0 };

	(void)state;
	timer_init(&c.stop, stop_now_cb, NULL);
	assert_int_equal(pipe(c.fds[0]), 0);
	assert_int_equal(pipe(c.fds[1]), 0);
	assert_int_equal(loop_add_fd(loop, c.fds[0][0], EPOLLIN, pipe_cb, &c), 0);
	assert_int_equal(loop_add_fd(loop, c.fds[1][0], EPOLLIN, pipe_cb, &c), 0);
	assert_int_equal(loop_add_fd(loop, c.fds[0][0], EPOLLIN, pipe_cb, &c), -EEXIST);
	assert_int_equal(loop_mod_fd(loop, 1000, EPOLLIN), -ENOENT);
	assert_int_equal(loop_del_fd(loop, 1000), -ENOENT);

	assert_int_equal(write(c.fds[0][1], "abc", 3), 3);
	assert_int_equal(write(c.fds[1][1], "de", 2), 2);
	assert_int_equal(loop_run(loop), 0);
	/* Exactly one ran; it deleted the other before its event was dispatched. */
	assert_int_equal(c.calls[0] + c.calls[1], 1);
	assert_true(c.read_bytes == 3 || c.read_bytes == 2);

	/* The deleted fd can be added again and works. */
	int other = c.calls[0] ? 1 : 0;

	assert_int_equal(loop_add_fd(loop, c.fds[other][0], EPOLLIN, pipe_cb, &c), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(c.calls[other], 1);
	assert_int_equal(c.read_bytes, 5);

	/* loop_mod_fd: watching for nothing readable means no callback. */
	assert_int_equal(loop_mod_fd(loop, c.fds[other][0], EPOLLOUT), 0);
	loop_free(loop);
	for (int i = 0; i < 2; i++) {
		close(c.fds[i][0]);
		close(c.fds[i][1]);
	}
}

static void stop_cb(struct loop *loop, struct timer *t, void *ctx)
{
	(void)t;
	*(uint64_t *)ctx = loop_now(loop);
	loop_stop(loop);
}

static void test_real_timer(void **state)
{
	struct loop *loop = loop_new(NULL);
	struct timer t, never;
	uint64_t start, fired_at = 0;

	(void)state;
	timer_init(&t, stop_cb, &fired_at);
	timer_init(&never, stop_cb, &fired_at);
	start = loop_now(loop);
	assert_int_equal(timer_arm(loop, &never, start + 10), 0);
	assert_int_equal(timer_arm_in(loop, &t, 30), 0);
	/* Moving `never` past `t` re-programs the timerfd for t. */
	assert_int_equal(timer_arm(loop, &never, start + 100000), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_true(fired_at >= start + 30);
	assert_true(fired_at < start + 5000);
	assert_true(timer_armed(&never));
	timer_cancel(loop, &never);
	loop_free(loop);
}

/* A timer re-arming itself for "now" must not starve fds. */
static void busy_cb(struct loop *loop, struct timer *t, void *ctx)
{
	(*(int *)ctx)++;
	timer_arm(loop, t, loop_now(loop));
}

static void stop_fd_cb(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	char b;

	(void)events;
	(void)ctx;
	assert_int_equal(read(fd, &b, 1), 1);
	loop_stop(loop);
}

static void test_no_starvation(void **state)
{
	struct loop *loop = loop_new(NULL);
	struct timer t;
	int runs = 0, p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_add_fd(loop, p[0], EPOLLIN, stop_fd_cb, NULL), 0);
	timer_init(&t, busy_cb, &runs);
	assert_int_equal(timer_arm(loop, &t, 0), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_true(runs >= 1);
	assert_true(runs < 100);
	timer_cancel(loop, &t);
	loop_free(loop);
	close(p[0]);
	close(p[1]);
}

static void sig_cb(struct loop *loop, int signo, void *ctx)
{
	*(int *)ctx = signo;
	loop_stop(loop);
}

static void test_signals(void **state)
{
	struct loop *loop = loop_new(NULL);
	int got = 0;
	sigset_t cur;

	(void)state;
	assert_int_equal(loop_on_signal(loop, SIGHUP, sig_cb, &got), 0);
	assert_int_equal(loop_on_signal(loop, SIGTERM, sig_cb, &got), 0);
	/* Replacing a handler: still unblocked by loop_free below. */
	assert_int_equal(loop_on_signal(loop, SIGTERM, sig_cb, &got), 0);
	assert_int_equal(loop_on_signal(loop, 0, sig_cb, &got), -EINVAL);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(got, SIGTERM);
	got = 0;
	assert_int_equal(raise(SIGHUP), 0);
	assert_int_equal(loop_run(loop), 0);
	assert_int_equal(got, SIGHUP);
	loop_free(loop);
	/* loop_free restores the signal mask. */
	sigprocmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGHUP));
	assert_false(sigismember(&cur, SIGTERM));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fake_clock),
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_timer_cancel_rearm),
		cmocka_unit_test(test_timer_100k),
		cmocka_unit_test(test_fd_callbacks),
		cmocka_unit_test(test_real_timer),
		cmocka_unit_test(test_no_starvation),
		cmocka_unit_test(test_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
