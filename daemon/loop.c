/*
 * epoll + timerfd + signalfd event loop; see loop.h.
 *
 * fds are looked up by number in a table rather than through a pointer in
 * epoll_event.data: a callback that deletes another fd of the same
 * epoll_wait batch would otherwise leave a dangling pointer. Each
 * registration gets a generation number (carried in the event data next to
 * the fd) so a stale event for a deleted and re-added fd is dropped too.
 */
#include "daemon/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "daemon/log.h"

/* Events taken from one epoll_wait call. */
#define LOOP_EVENTS_BATCH 64

struct fd_src {
	loop_fd_fn fn;
	void *ctx;
	uint32_t gen; /* 0: slot unused */
};

struct sig_src {
	loop_signal_fn fn;
	void *ctx;
};

struct loop {
	struct clock clk;
	int epfd;
	int tfd; /* timerfd: fires at the heap's earliest deadline */
	int sfd; /* signalfd, -1 until loop_on_signal() */
	bool stop;

	struct fd_src *fds; /* indexed by fd */
	size_t n_fds;
	uint32_t next_gen;

	struct timer **heap;
	size_t n_heap, cap_heap;
	uint64_t next_seq;
	uint64_t programmed; /* deadline the timerfd is set for, UINT64_MAX: none */

	sigset_t sigmask; /* signals routed to sfd */
	sigset_t oldmask; /* the process mask before we blocked them */
	struct sig_src sigs[_NSIG];
};

static void timerfd_cb(struct loop *loop, int fd, uint32_t events, void *ctx);
static void signalfd_cb(struct loop *loop, int fd, uint32_t events, void *ctx);

uint64_t loop_now(const struct loop *loop)
{
	return clock_now(&loop->clk);
}

struct loop *loop_new(const struct clock *clk)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	int err;

	if (!loop)
		return NULL;
	loop->clk = clk ? *clk : clock_boottime();
	loop->sfd = -1;
	loop->tfd = -1;
	loop->programmed = UINT64_MAX;
	loop->next_gen = 1;
	sigemptyset(&loop->sigmask);
	sigemptyset(&loop->oldmask);

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		goto fail;
	/* CLOCK_BOOTTIME like clock_boottime(): both keep counting in suspend. */
	loop->tfd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->tfd < 0)
		goto fail;
	err = loop_add_fd(loop, loop->tfd, EPOLLIN, timerfd_cb, NULL);
	if (err < 0) {
		errno = -err;
		goto fail;
	}
	return loop;
fail:
	err = errno;
	loop_free(loop);
	errno = err;
	return NULL;
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	/* Timers still armed belong to their owners; just drop our references. */
	for (size_t i = 0; i < loop->n_heap; i++)
		loop->heap[i]->heap_idx = TIMER_IDLE;
	free(loop->heap);
	if (loop->sfd >= 0) {
		close(loop->sfd);
		sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
		/* Re-block what was blocked before we started. */
		sigprocmask(SIG_BLOCK, &loop->oldmask, NULL);
	}
	if (loop->tfd >= 0)
		close(loop->tfd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	free(loop->fds);
	free(loop);
}

/* ---- fds ---- */

static struct fd_src *fd_lookup(struct loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->n_fds || loop->fds[fd].gen == 0)
		return NULL;
	return &loop->fds[fd];
}

int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *ctx)
{
	struct epoll_event ev = { .events = events };
	uint32_t gen;

	if (fd < 0 || !fn)
		return -EINVAL;
	if (fd_lookup(loop, fd))
		return -EEXIST;
	if ((size_t)fd >= loop->n_fds) {
		size_t n = loop->n_fds ? loop->n_fds : 64;
		struct fd_src *p;

		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(loop->fds, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		memset(p + loop->n_fds, 0, (n - loop->n_fds) * sizeof(*p));
		loop->fds = p;
		loop->n_fds = n;
	}
	gen = loop->next_gen++;
	if (loop->next_gen == 0)
		loop->next_gen = 1;
	ev.data.u64 = ((uint64_t)gen << 32) | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	loop->fds[fd] = (struct fd_src){ .fn = fn, .ctx = ctx, .gen = gen };
	return 0;
}

int loop_mod_fd(struct loop *loop, int fd, uint32_t events)
{
	struct fd_src *s = fd_lookup(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!s)
		return -ENOENT;
	ev.data.u64 = ((uint64_t)s->gen << 32) | (uint32_t)fd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_del_fd(struct loop *loop, int fd)
{
	struct fd_src *s = fd_lookup(loop, fd);
	int err = 0;

	if (!s)
		return -ENOENT;
	/* EBADF: the owner closed it first, which already removed it from epoll. */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF)
		err = -errno;
	memset(s, 0, sizeof(*s));
	return err;
}

/* ---- timers: binary min-heap on (deadline, seq) ---- */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	if (a->deadline_ms != b->deadline_ms)
		return a->deadline_ms < b->deadline_ms;
	return a->seq < b->seq;
}

static void heap_set(struct loop *loop, size_t i, struct timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i;
}

static void heap_sift_up(struct loop *loop, size_t i)
{
	struct timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(t, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void heap_sift_down(struct loop *loop, size_t i)
{
	struct timer *t = loop->heap[i];
	size_t n = loop->n_heap;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && timer_before(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!timer_before(loop->heap[c], t))
			break;
		heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	heap_set(loop, i, t);
}

static void heap_remove(struct loop *loop, struct timer *t)
{
	size_t i = t->heap_idx;
	struct timer *last = loop->heap[--loop->n_heap];

	t->heap_idx = TIMER_IDLE;
	if (last == t)
		return;
	heap_set(loop, i, last);
	if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
		heap_sift_up(loop, i);
	else
		heap_sift_down(loop, i);
}

void timer_init(struct timer *t, timer_fn fn, void *ctx)
{
	*t = (struct timer){ .heap_idx = TIMER_IDLE, .fn = fn, .ctx = ctx };
}

int timer_arm(struct loop *loop, struct timer *t, uint64_t deadline_ms)
{
	if (t->heap_idx != TIMER_IDLE) {
		heap_remove(loop, t);
	} else if (loop->n_heap == loop->cap_heap) {
		size_t cap = loop->cap_heap ? loop->cap_heap * 2 : 64;
		struct timer **p = realloc(loop->heap, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		loop->heap = p;
		loop->cap_heap = cap;
	}
	t->deadline_ms = deadline_ms;
	t->seq = loop->next_seq++;
	loop->heap[loop->n_heap] = t;
	t->heap_idx = loop->n_heap++;
	heap_sift_up(loop, t->heap_idx);
	return 0;
}

int timer_arm_in(struct loop *loop, struct timer *t, uint64_t delay_ms)
{
	return timer_arm(loop, t, loop_now(loop) + delay_ms);
}

void timer_cancel(struct loop *loop, struct timer *t)
{
	if (t->heap_idx == TIMER_IDLE)
		return;
	heap_remove(loop, t);
}

bool timer_armed(const struct timer *t)
{
	return t->heap_idx != TIMER_IDLE;
}

uint64_t timer_deadline(const struct timer *t)
{
	return t->deadline_ms;
}

size_t loop_timers_armed(const struct loop *loop)
{
	return loop->n_heap;
}

bool loop_next_deadline(const struct loop *loop, uint64_t *deadline_ms)
{
	if (loop->n_heap == 0)
		return false;
	*deadline_ms = loop->heap[0]->deadline_ms;
	return true;
}

/*
 * Runs due timers. With only_older, timers armed by the callbacks of this
 * pass wait for the next pass even when due: loop_run() then goes back to
 * epoll_wait between passes, so a timer re-arming itself for "now" cannot
 * starve the sockets.
 */
static size_t run_timers(struct loop *loop, uint64_t now_ms, bool only_older)
{
	uint64_t seq_limit = loop->next_seq;
	size_t ran = 0;

	while (loop->n_heap > 0) {
		struct timer *t = loop->heap[0];

		if (t->deadline_ms > now_ms || (only_older && t->seq >= seq_limit))
			break;
		heap_remove(loop, t);
		ran++;
		t->fn(loop, t, t->ctx);
	}
	return ran;
}

size_t loop_run_timers_until(struct loop *loop, uint64_t now_ms)
{
	return run_timers(loop, now_ms, false);
}

/* Points the timerfd at the earliest deadline if it moved. */
static int program_timerfd(struct loop *loop)
{
	uint64_t next = loop->n_heap ? loop->heap[0]->deadline_ms : UINT64_MAX;
	struct itimerspec its = { 0 };

	if (next == loop->programmed)
		return 0;
	if (next != UINT64_MAX) {
		uint64_t now = loop_now(loop);
		uint64_t delta = next > now ? next - now : 0;

		its.it_value.tv_sec = (time_t)(delta / 1000);
		its.it_value.tv_nsec = (long)(delta % 1000) * 1000000L;
		/* An all-zero it_value would disarm: fire as soon as possible. */
		if (delta == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(loop->tfd, 0, &its, NULL) < 0)
		return -errno;
	loop->programmed = next;
	return 0;
}

static void timerfd_cb(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	uint64_t expirations;

	(void)events;
	(void)ctx;
	/* Just drain it; due timers run at the top of the next iteration. */
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_msg(LOG_DMN, LOG_LVL_WARN, "timerfd read: %s", strerror(errno));
	loop->programmed = UINT64_MAX;
}

/* ---- signals ---- */

static void signalfd_cb(struct loop *loop, int fd, uint32_t events, void *ctx)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)ctx;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int signo = (int)si.ssi_signo;

		if (signo > 0 && signo < _NSIG && loop->sigs[signo].fn)
			loop->sigs[signo].fn(loop, signo, loop->sigs[signo].ctx);
	}
}

int loop_on_signal(struct loop *loop, int signo, loop_signal_fn fn, void *ctx)
{
	sigset_t one, old;
	int fd;

	if (signo <= 0 || signo >= _NSIG || !fn)
		return -EINVAL;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, &old) < 0)
		return -errno;
	/* Remember it was blocked before us, unless we are the ones who blocked it. */
	if (sigismember(&old, signo) && !sigismember(&loop->sigmask, signo))
		sigaddset(&loop->oldmask, signo);
	sigaddset(&loop->sigmask, signo);

	fd = signalfd(loop->sfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (loop->sfd < 0) {
		int err = loop_add_fd(loop, fd, EPOLLIN, signalfd_cb, NULL);

		if (err < 0) {
			close(fd);
			return err;
		}
		loop->sfd = fd;
	}
	loop->sigs[signo] = (struct sig_src){ .fn = fn, .ctx = ctx };
	return 0;
}

/* ---- running ---- */

void loop_stop(struct loop *loop)
{
	loop->stop = true;
}

int loop_run(struct loop *loop)
{
	struct epoll_event evs[LOOP_EVENTS_BATCH];

	loop->stop = false;
	while (!loop->stop) {
		int n, err;

		run_timers(loop, loop_now(loop), true);
		if (loop->stop)
			break;
		err = program_timerfd(loop);
		if (err < 0)
			return err;
		n = epoll_wait(loop->epfd, evs, LOOP_EVENTS_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !loop->stop; i++) {
			int fd = (int)(uint32_t)evs[i].data.u64;
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
			struct fd_src *s = fd_lookup(loop, fd);

			if (!s || s->gen != gen)
				continue; /* deleted by an earlier callback of this batch */
			s->fn(loop, fd, evs[i].events, s->ctx);
		}
	}
	return 0;
}
