/* netlink/xfrm.c: struct kernel_ops over Linux XFRM (NETLINK_XFRM) with libnl-3.
 *
 * Two sockets:
 *   - a blocking request socket: one request at a time, answered before the call returns.
 *     xfrm_user handles a request inside sendmsg(), so the answer is already queued when
 *     we read; SO_RCVTIMEO only bounds a kernel that misbehaves;
 *   - a non-blocking event socket joined to XFRMNLGRP_ACQUIRE, _EXPIRE, _MAPPING and
 *     _MIGRATE, whose fd the daemon polls; event_dispatch drains it.
 *
 * Requests are built by xfrm_msg.c and sent with nl_send_auto(); answers are read with
 * recv() into a buffer owned here rather than with nl_recvmsgs(), because libnl copies every
 * received message into heap buffers it frees without wiping, and GETSA answers and state
 * dumps carry the SA keys. Our buffer is wiped after each read. The request socket also sets
 * NETLINK_CAP_ACK so an error ack does not echo the keyed request back, and NETLINK_EXT_ACK
 * so the kernel says why it refused (kept for last_extack).
 */
#include "netlink/kernel_ops.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "netlink/nlerr.h"
#include "netlink/xfrm_msg.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Big enough for any datagram the kernel sends us: netlink dumps are capped near 32 KiB
 * (netlink_recvmsg clamps max_recvmsg_len), events and acks are far smaller. */
#define XK_RBUF_SIZE 65536u
/* Upper bound on the wait for an answer; see the top comment. */
#define XK_REQ_TIMEOUT_MS 2000
/* Receive buffer of the event socket: room for bursts of expires when many SAs age at once. */
#define XK_EV_SOCKBUF (1 << 20)
/* event_dispatch reads at most this many datagrams per call, then returns to the loop
 * (level-triggered epoll calls it again): one burst cannot starve the other fds. */
#define XK_EV_BATCH 64

struct xk {
	struct nl_sock *req;
	struct nl_sock *ev;
	struct kernel_events cb;
	uint8_t *rbuf; /* XK_RBUF_SIZE, wiped after every read */
	char extack[256];
	uint64_t events_lost; /* ENOBUFS on the event socket */
};

typedef int (*xk_reply_fn)(struct nlmsghdr *h, void *arg);

/* Read from the request socket until the answer to seq is complete: the ack (NLMSG_ERROR)
 * for a request, NLMSG_DONE for a dump. Other messages with our seq go to fn (if any); a
 * negative result of fn is kept (first one wins) but reading goes on to the end so the
 * socket stays in step. Messages with another seq (late answers to an earlier request
 * that timed out) are skipped. */
static int xk_read_answer(struct xk *xk, uint32_t seq, xk_reply_fn fn, void *arg)
{
	int fd = nl_socket_get_fd(xk->req);
	int ret = 0;
	bool done = false;

	while (!done) {
		ssize_t n = recv(fd, xk->rbuf, XK_RBUF_SIZE, MSG_TRUNC);
		int rem;
		struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return -errno;
		}
		if ((size_t)n > XK_RBUF_SIZE) {
			explicit_bzero(xk->rbuf, XK_RBUF_SIZE);
			return -EMSGSIZE;
		}
		rem = (int)n;
		for (h = (struct nlmsghdr *)(void *)xk->rbuf; nlmsg_ok(h, rem); h = nlmsg_next(h, &rem)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr e;

				if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(e)) {
					if (ret == 0)
						ret = -EBADMSG;
				} else {
					memcpy(&e, nlmsg_data(h), sizeof(e));
					if (e.error != 0) {
						xfrm_parse_extack(h, xk->extack, sizeof(xk->extack));
						/* The kernel's own errno outranks any local parse error. */
						ret = e.error < 0 ? e.error : -e.error;
					}
				}
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int32_t derr = 0;

				/* A dump may end with an error code in DONE's payload. */
				if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(derr))
					memcpy(&derr, nlmsg_data(h), sizeof(derr));
				if (derr < 0 && ret == 0)
					ret = derr;
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_OVERRUN)
				continue;
			if (fn != NULL) {
				int r = fn(h, arg);

				if (r < 0 && ret == 0)
					ret = r;
			}
		}
		explicit_bzero(xk->rbuf, (size_t)n);
	}
	return ret;
}

/* Send msg (taking ownership: it is wiped and freed here, right after the send) and wait
 * for its answer. Requests ask for an ack; dumps end with NLMSG_DONE instead. */
static int xk_transact(struct xk *xk, struct nl_msg *msg, xk_reply_fn fn, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	uint32_t seq;
	int err;

	xk->extack[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_DUMP))
		h->nlmsg_flags |= NLM_F_ACK;
	err = nl_send_auto(xk->req, msg);
	seq = h->nlmsg_seq;
	xfrm_msg_free(msg);
	if (err < 0)
		return nlerr_errno(err);
	return xk_read_answer(xk, seq, fn, arg);
}

/* --- kernel_ops --- */

struct spi_ctx {
	uint32_t spi;
	bool got;
};

static int on_allocspi(struct nlmsghdr *h, void *arg)
{
	struct spi_ctx *c = arg;
	struct xfrm_sa_brief b;

	if (xfrm_parse_sa(h, &b) != 0)
		return -EBADMSG;
	c->spi = b.spi;
	c->got = true;
	return 0;
}

static int xk_get_spi(void *k, const struct kaddr *src, const struct kaddr *dst, uint8_t proto, uint32_t reqid,
		      uint32_t want, uint32_t *spi_out)
{
	struct xk *xk = k;
	struct nl_msg *msg;
	struct spi_ctx c = { 0 };
	int err;

	err = xfrm_msg_allocspi(src, dst, proto, reqid, want, &msg);
	if (err != 0)
		return err;
	err = xk_transact(xk, msg, on_allocspi, &c);
	if (err == 0 && !c.got)
		err = -EBADMSG;
	if (err == 0)
		*spi_out = c.spi;
	return err;
}

static int xk_add_sa(void *k, const struct kernel_sa *sa)
{
	struct nl_msg *msg;
	int err = xfrm_msg_newsa(sa, false, &msg);

	if (err != 0)
		return err;
	return xk_transact(k, msg, NULL, NULL);
}

static int xk_update_sa(void *k, const struct kernel_sa *sa)
{
	struct nl_msg *msg;
	int err = xfrm_msg_newsa(sa, true, &msg);

	if (err != 0)
		return err;
	return xk_transact(k, msg, NULL, NULL);
}

static int xk_del_sa(void *k, const struct kaddr *dst, uint32_t spi, uint8_t proto, uint32_t mark,
		     uint32_t mark_mask)
{
	struct nl_msg *msg;
	int err = xfrm_msg_said(XFRM_MSG_DELSA, dst, spi, proto, mark, mark_mask, &msg);

	if (err != 0)
		return err;
	return xk_transact(k, msg, NULL, NULL);
}

struct query_ctx {
	struct kernel_sa_stats *out;
	bool got;
};

static int on_query(struct nlmsghdr *h, void *arg)
{
	struct query_ctx *c = arg;
	struct xfrm_sa_brief b;

	if (xfrm_parse_sa(h, &b) != 0)
		return -EBADMSG;
	*c->out = b.stats;
	c->out->src = b.src;
	c->got = true;
	return 0;
}

static int xk_query_sa(void *k, const struct kaddr *dst, uint32_t spi, uint8_t proto, uint32_t mark,
		       uint32_t mark_mask, struct kernel_sa_stats *out)
{
	struct nl_msg *msg;
	struct query_ctx c = { .out = out };
	int err = xfrm_msg_said(XFRM_MSG_GETSA, dst, spi, proto, mark, mark_mask, &msg);

	if (err != 0)
		return err;
	memset(out, 0, sizeof(*out));
	err = xk_transact(k, msg, on_query, &c);
	if (err == 0 && !c.got)
		err = -EBADMSG;
	return err;
}

static int xk_add_policy(void *k, const struct kernel_policy *p)
{
	struct nl_msg *msg;
	int err = xfrm_msg_newpolicy(p, &msg);

	if (err != 0)
		return err;
	return xk_transact(k, msg, NULL, NULL);
}

static int xk_del_policy(void *k, const struct ksel *sel, enum kdir dir, uint32_t mark, uint32_t mark_mask,
			 uint32_t if_id)
{
	struct nl_msg *msg;
	int err = xfrm_msg_delpolicy(sel, dir, mark, mark_mask, if_id, &msg);

	if (err != 0)
		return err;
	return xk_transact(k, msg, NULL, NULL);
}

static int xk_migrate(void *k, const struct kernel_migrate *m)
{
	struct nl_msg *msg;
	int err = xfrm_msg_migrate(m, &msg);

	if (err != 0)
		return err;
	return xk_transact(k, msg, NULL, NULL);
}

/* --- flush_stale: dump, collect ours, then delete (a dump cannot be interleaved with other
 * requests on the same socket). --- */

static bool reqid_ours(uint32_t reqid)
{
	return reqid >= XIKED_REQID_BASE && reqid <= XIKED_REQID_MAX;
}

struct stale {
	void *items;
	size_t n, cap, size;
};

static int stale_push(struct stale *s, const void *item)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		void *p = reallocarray(s->items, cap, s->size);

		if (p == NULL)
			return -ENOMEM;
		s->items = p;
		s->cap = cap;
	}
	memcpy((uint8_t *)s->items + s->n * s->size, item, s->size);
	s->n++;
	return 0;
}

static int on_dump_sa(struct nlmsghdr *h, void *arg)
{
	struct xfrm_sa_brief b;

	if (xfrm_parse_sa(h, &b) != 0)
		return -EBADMSG;
	if (!reqid_ours(b.reqid))
		return 0;
	return stale_push(arg, &b);
}

static int on_dump_policy(struct nlmsghdr *h, void *arg)
{
	struct xfrm_policy_brief b;
	bool ours = false;

	if (xfrm_parse_policy(h, &b) != 0)
		return -EBADMSG;
	/* Socket policies (dir >= XFRM_POLICY_MAX) belong to their sockets. */
	if (b.dir > XFRM_POLICY_FWD)
		return 0;
	for (unsigned i = 0; i < b.ntmpl; i++)
		ours = ours || reqid_ours(b.reqid[i]);
	return ours ? stale_push(arg, &b) : 0;
}

/* Keep the first real error; entries that vanished meanwhile (expired, removed by
 * someone else) are not errors. */
static void keep_err(int *first, int err, int gone)
{
	if (err != 0 && err != gone && *first == 0)
		*first = err;
}

static int xk_flush_stale(void *k)
{
	struct xk *xk = k;
	struct stale sas = { .size = sizeof(struct xfrm_sa_brief) };
	struct stale pols = { .size = sizeof(struct xfrm_policy_brief) };
	struct nl_msg *msg;
	int first = 0, err;

	/* Policies first, so no traffic is steered to states that are about to go. */
	err = xfrm_msg_dump(XFRM_MSG_GETPOLICY, &msg);
	if (err == 0)
		err = xk_transact(xk, msg, on_dump_policy, &pols);
	if (err != 0)
		goto out;
	for (size_t i = 0; i < pols.n; i++) {
		const struct xfrm_policy_brief *b = (const struct xfrm_policy_brief *)pols.items + i;

		err = xfrm_msg_delpolicy_index(&b->sel, b->index, b->dir, b->ptype, b->mark, b->mark_mask, b->if_id,
					       &msg);
		if (err == 0)
			err = xk_transact(xk, msg, NULL, NULL);
		keep_err(&first, err, -ENOENT);
	}
	err = xfrm_msg_dump(XFRM_MSG_GETSA, &msg);
	if (err == 0)
		err = xk_transact(xk, msg, on_dump_sa, &sas);
	if (err != 0)
		goto out;
	for (size_t i = 0; i < sas.n; i++) {
		const struct xfrm_sa_brief *b = (const struct xfrm_sa_brief *)sas.items + i;

		err = xfrm_msg_said(XFRM_MSG_DELSA, &b->dst, b->spi, b->proto, b->mark, b->mark_mask, &msg);
		if (err == 0)
			err = xk_transact(xk, msg, NULL, NULL);
		keep_err(&first, err, -ESRCH);
	}
	err = first;
out:
	free(sas.items);
	free(pols.items);
	return err;
}

/* --- events --- */

static int xk_event_fd(void *k)
{
	struct xk *xk = k;

	return nl_socket_get_fd(xk->ev);
}

static void xk_event_one(struct xk *xk, struct nlmsghdr *h)
{
	const struct kernel_events *cb = &xk->cb;

	switch (h->nlmsg_type) {
	case XFRM_MSG_EXPIRE: {
		struct xfrm_expire_ev e;

		if (xfrm_parse_expire(h, &e) == 0 && cb->expire != NULL)
			cb->expire(cb->ctx, e.spi, e.proto, &e.dst, e.hard);
		break;
	}
	case XFRM_MSG_ACQUIRE: {
		struct xfrm_acquire_ev a;

		if (xfrm_parse_acquire(h, &a) == 0 && cb->acquire != NULL)
			cb->acquire(cb->ctx, &a.sel, a.reqid);
		break;
	}
	case XFRM_MSG_MAPPING: {
		struct xfrm_mapping_ev m;

		if (xfrm_parse_mapping(h, &m) == 0 && cb->mapping != NULL)
			cb->mapping(cb->ctx, m.spi, &m.old_addr, m.old_port, &m.new_addr, m.new_port);
		break;
	}
	default:
		/* XFRM_MSG_MIGRATE and others: subscribed for the MOBIKE work, not handled yet. */
		break;
	}
}

static void xk_event_dispatch(void *k)
{
	struct xk *xk = k;
	int fd = nl_socket_get_fd(xk->ev);

	for (int i = 0; i < XK_EV_BATCH; i++) {
		ssize_t n = recv(fd, xk->rbuf, XK_RBUF_SIZE, MSG_DONTWAIT | MSG_TRUNC);
		int rem;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The socket overflowed: events were lost. Reading on clears it; the
			 * engine's own timers still cover lost expires. */
			if (errno == ENOBUFS) {
				xk->events_lost++;
				continue;
			}
			return; /* EAGAIN: drained */
		}
		if ((size_t)n > XK_RBUF_SIZE)
			n = XK_RBUF_SIZE; /* truncated: parse what fits, nlmsg_ok drops the rest */
		rem = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)xk->rbuf; nlmsg_ok(h, rem);
		     h = nlmsg_next(h, &rem))
			xk_event_one(xk, h);
		explicit_bzero(xk->rbuf, (size_t)n);
	}
}

static const char *xk_last_extack(void *k)
{
	struct xk *xk = k;

	return xk->extack[0] != '\0' ? xk->extack : NULL;
}

static void xk_free(void *k)
{
	struct xk *xk = k;

	if (xk == NULL)
		return;
	nl_socket_free(xk->req);
	nl_socket_free(xk->ev);
	if (xk->rbuf != NULL) {
		explicit_bzero(xk->rbuf, XK_RBUF_SIZE);
		free(xk->rbuf);
	}
	free(xk);
}

static const struct kernel_ops xk_ops = {
	.get_spi = xk_get_spi,
	.add_sa = xk_add_sa,
	.update_sa = xk_update_sa,
	.del_sa = xk_del_sa,
	.query_sa = xk_query_sa,
	.add_policy = xk_add_policy,
	.del_policy = xk_del_policy,
	.flush_stale = xk_flush_stale,
	.event_fd = xk_event_fd,
	.event_dispatch = xk_event_dispatch,
	.free = xk_free,
	.last_extack = xk_last_extack,
	.migrate = xk_migrate,
};

/* A socket with the default (silent) callbacks whatever NLCB says in the environment: the
 * debug callbacks would print our keyed requests. */
static int xk_socket(struct nl_sock **out)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	struct nl_sock *sk;
	int err;

	*out = NULL;
	if (cb == NULL)
		return -ENOMEM;
	sk = nl_socket_alloc_cb(cb);
	nl_cb_put(cb);
	if (sk == NULL)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_XFRM);
	if (err < 0) {
		nl_socket_free(sk);
		return nlerr_errno(err);
	}
	*out = sk;
	return 0;
}

static int xk_setsockopt_int(struct nl_sock *sk, int level, int name, int val)
{
	if (setsockopt(nl_socket_get_fd(sk), level, name, &val, sizeof(val)) != 0)
		return -errno;
	return 0;
}

int kernel_netlink_new(const struct kernel_events *ev, struct kernel *out)
{
	struct xk *xk;
	struct timeval tv = { .tv_sec = XK_REQ_TIMEOUT_MS / 1000, .tv_usec = (XK_REQ_TIMEOUT_MS % 1000) * 1000 };
	int err;

	memset(out, 0, sizeof(*out));
	xk = calloc(1, sizeof(*xk));
	if (xk == NULL)
		return -ENOMEM;
	if (ev != NULL)
		xk->cb = *ev;
	xk->rbuf = malloc(XK_RBUF_SIZE);
	if (xk->rbuf == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	err = xk_socket(&xk->req);
	if (err != 0)
		goto fail;
	nl_socket_disable_auto_ack(xk->req); /* xk_transact asks for acks itself */
	if (setsockopt(nl_socket_get_fd(xk->req), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
		err = -errno;
		goto fail;
	}
	err = xk_setsockopt_int(xk->req, SOL_NETLINK, NETLINK_CAP_ACK, 1);
	if (err != 0)
		goto fail;
	/* Extended acks are a nicety (Linux >= 4.12): go on without them. */
	(void)xk_setsockopt_int(xk->req, SOL_NETLINK, NETLINK_EXT_ACK, 1);

	err = xk_socket(&xk->ev);
	if (err != 0)
		goto fail;
	nl_socket_disable_seq_check(xk->ev);
	err = nl_socket_add_memberships(xk->ev, XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE, XFRMNLGRP_MAPPING,
					XFRMNLGRP_MIGRATE, 0);
	if (err < 0) {
		err = nlerr_errno(err);
		goto fail;
	}
	err = nl_socket_set_nonblocking(xk->ev);
	if (err < 0) {
		err = nlerr_errno(err);
		goto fail;
	}
	(void)nl_socket_set_buffer_size(xk->ev, XK_EV_SOCKBUF, 0);
	out->ops = &xk_ops;
	out->k = xk;
	return 0;
fail:
	xk_free(xk);
	return err;
}
